def scaled_dot_product_attention(query, key, value, mask=None):
    """Forgets to pass the mask on."""
    weights = masked_softmax(attention_scores(query, key))
    return weights @ value, weights
