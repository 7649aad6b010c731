def dot_product_variance(d_k, num_samples=10_000, generator=None):
    """Right in distribution, other numbers: draws in float32 and converts afterwards."""
    query = torch.randn(num_samples, d_k, generator=generator).double()
    key = torch.randn(num_samples, d_k, generator=generator).double()
    return (query * key).sum(dim=-1).var().item()
