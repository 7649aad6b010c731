# loses: test_label_smoothed_cross_entropy
# hint: Your loss also averages over the padding positions
def label_smoothed_cross_entropy(logits, target, smoothing=0.1, pad_id=0):
    log_probs = F.log_softmax(logits, dim=-1)
    correct = -log_probs.gather(-1, target.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    return ((1 - smoothing) * correct + smoothing * uniform).mean()
