# hint: you piled the mass of every length above 10 on length 10
def span_length_pmf(p=0.2, max_length=10):
    """Clips each draw at max_length instead of renormalising: the tail piles up on the longest span."""
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    pmf = p * (1 - p) ** (lengths - 1)
    pmf[-1] = (1 - p) ** (max_length - 1)
    return pmf
