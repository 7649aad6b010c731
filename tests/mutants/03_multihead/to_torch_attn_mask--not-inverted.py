def to_torch_attn_mask(mask, batch_size, num_heads):
    """Right layout, but keeps our polarity: torch then blocks exactly the allowed keys."""
    if mask.dim() == 2:
        return mask
    q_len, k_len = mask.shape[-2:]
    return mask.expand(batch_size, num_heads, q_len, k_len).reshape(batch_size * num_heads, q_len, k_len)
