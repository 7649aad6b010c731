def scaled_dot_product_attention(query, key, value, mask=None):
    """Returns (weights, output) instead of (output, weights)."""
    weights = masked_softmax(attention_scores(query, key), mask)
    return weights, weights @ value
