def label_smoothed_cross_entropy(logits, target, smoothing=0.1, pad_id=0):
    log_probs = F.log_softmax(logits, dim=-1)
    vocab = logits.shape[-1]
    correct = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    others = (-log_probs.sum(dim=-1) - correct) / (vocab - 1)
    per_token = (1 - smoothing) * correct + smoothing * others
    return per_token[target != pad_id].mean()
