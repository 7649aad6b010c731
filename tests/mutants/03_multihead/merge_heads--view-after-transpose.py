def merge_heads(heads):
    """Uses .view on a transposed, non-contiguous tensor: RuntimeError."""
    batch, num_heads, seq, head_dim = heads.shape
    return heads.transpose(1, 2).view(batch, seq, num_heads * head_dim)
