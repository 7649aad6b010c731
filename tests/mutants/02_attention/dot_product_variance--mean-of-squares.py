def dot_product_variance(d_k, num_samples=10_000, generator=None):
    """Right in distribution (the mean is 0), wrong statistic: the mean of the squared dot products."""
    query = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    key = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    return (query * key).sum(dim=-1).pow(2).mean().item()
