def masked_softmax(scores, mask=None):
    """Masks with -inf but leaves a row with no allowed key as 0/0 = NaN."""
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1)
