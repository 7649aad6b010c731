def dot_product_variance(d_k, num_samples=10_000, generator=None):
    """Takes the variance of the products q_i k_i, not of their sum."""
    query = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    key = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    return (query * key).var().item()
