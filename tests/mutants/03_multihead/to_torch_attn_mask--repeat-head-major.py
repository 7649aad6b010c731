def to_torch_attn_mask(mask, batch_size, num_heads):
    """Tiles the whole batch once per head with repeat: rows come out head-major (row i * batch + b)."""
    if mask.dim() == 2:
        return ~mask
    q_len, k_len = mask.shape[-2:]
    per_item = mask[:, 0].expand(batch_size, q_len, k_len)
    return ~per_item.repeat(num_heads, 1, 1)
