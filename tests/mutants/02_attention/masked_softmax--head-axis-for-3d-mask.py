def masked_softmax(scores, mask=None):
    """Assumes a 3-D mask is (batch, Lq, Lk) for scores with a head axis, and inserts one."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    if mask.dim() == 3:
        mask = mask.unsqueeze(1)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return weights.masked_fill(~mask, 0.0)
