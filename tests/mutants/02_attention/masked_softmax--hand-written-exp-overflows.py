def masked_softmax(scores, mask=None):
    """exp(x) / sum(exp(x)) without subtracting the maximum: overflows for large scores."""
    exp = torch.exp(scores)
    if mask is not None:
        exp = exp * mask
    return exp / exp.sum(dim=-1, keepdim=True).clamp_min(1e-12)
