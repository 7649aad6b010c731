def masked_softmax(scores, mask=None):
    """Zeroes the masked weights after the softmax, so the rest no longer sum to 1."""
    weights = torch.softmax(scores, dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights
