def merge_heads(heads):
    """Reshapes without moving the head axis back: features of different positions get mixed."""
    batch, num_heads, seq, head_dim = heads.shape
    return heads.reshape(batch, seq, num_heads * head_dim)
