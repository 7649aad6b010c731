def split_heads(x, num_heads):
    """Reshapes straight to the final shape: right shape, but each 'head' holds pieces of several positions."""
    batch, seq, d_model = x.shape
    if d_model % num_heads != 0:
        raise ValueError(f"d_model={d_model} is not divisible by num_heads={num_heads}")
    return x.reshape(batch, num_heads, seq, d_model // num_heads)
