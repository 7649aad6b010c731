def to_torch_attn_mask(mask, batch_size, num_heads):
    """Assumes one mask per item: a (batch, heads, Lq, Lk) mask gets head 0's pattern in every head."""
    if mask.dim() == 2:
        return ~mask
    q_len, k_len = mask.shape[-2:]
    per_item = mask[:, :1].expand(batch_size, num_heads, q_len, k_len)
    return ~per_item.reshape(batch_size * num_heads, q_len, k_len)
