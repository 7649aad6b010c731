# loses: test_label_smoothed_cross_entropy
# hint: The loss has no gradient
def label_smoothed_cross_entropy(logits, target, smoothing=0.1, pad_id=0):
    log_probs = F.log_softmax(logits, dim=-1)
    correct = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    per_token = (1 - smoothing) * correct + smoothing * uniform
    real = (target != pad_id).flatten().tolist()
    values = [value.item() for value, keep in zip(per_token.flatten(), real) if keep]
    return torch.tensor(sum(values) / len(values), dtype=logits.dtype)
