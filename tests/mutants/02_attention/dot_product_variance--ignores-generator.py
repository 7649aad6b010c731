def dot_product_variance(d_k, num_samples=10_000, generator=None):
    """Right statistics, but draws from the global random state."""
    query = torch.randn(num_samples, d_k, dtype=torch.float64)
    key = torch.randn(num_samples, d_k, dtype=torch.float64)
    return (query * key).sum(dim=-1).var().item()
