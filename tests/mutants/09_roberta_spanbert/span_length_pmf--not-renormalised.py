# hint: not renormalised after truncation
def span_length_pmf(p=0.2, max_length=10):
    """The geometric's probabilities for 1..max_length, left as they are (they sum to less than 1)."""
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    return p * (1 - p) ** (lengths - 1)
