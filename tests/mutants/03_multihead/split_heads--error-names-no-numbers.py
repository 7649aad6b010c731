def split_heads(x, num_heads):
    """Right split, but the error message does not say which sizes were wrong."""
    batch, seq, d_model = x.shape
    if d_model % num_heads != 0:
        raise ValueError("d_model must be divisible by num_heads")
    return x.reshape(batch, seq, num_heads, d_model // num_heads).transpose(1, 2)
