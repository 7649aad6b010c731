def label_smoothed_cross_entropy(logits, target, smoothing=0.1, pad_id=0):
    log_probs = logits.softmax(dim=-1).log()
    correct = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    per_token = (1 - smoothing) * correct + smoothing * uniform
    return per_token[target != pad_id].mean()
