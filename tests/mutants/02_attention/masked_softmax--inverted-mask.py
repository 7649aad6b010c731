def masked_softmax(scores, mask=None):
    """Reads the mask as True = blocked (nn.MultiheadAttention's convention)."""
    if mask is None:
        return torch.softmax(scores, dim=-1)
    weights = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
    return weights.masked_fill(mask, 0.0)
