def dot_product_variance(d_k, num_samples=10_000, generator=None):
    """Returns the standard deviation instead of the variance."""
    query = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    key = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    return (query * key).sum(dim=-1).std().item()
