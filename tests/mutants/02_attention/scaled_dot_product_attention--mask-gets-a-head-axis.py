def scaled_dot_product_attention(query, key, value, mask=None):
    """Treats every 3-D mask as (batch, Lq, Lk) for 4-D inputs and inserts a head axis."""
    if mask is not None and mask.dim() == 3:
        mask = mask[:, None]
    weights = masked_softmax(attention_scores(query, key), mask)
    return weights @ value, weights
