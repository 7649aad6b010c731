def merge_heads(heads):
    """Interleaves the heads (feature 0 of every head, then feature 1, ...) instead of concatenating them."""
    batch, num_heads, seq, head_dim = heads.shape
    return heads.permute(0, 2, 3, 1).reshape(batch, seq, num_heads * head_dim)
