def scaled_dot_product_attention(query, key, value, mask=None):
    """Recomputes the scores itself and forgets the 1/sqrt(d_k)."""
    scores = query @ key.transpose(-2, -1)
    weights = masked_softmax(scores, mask)
    return weights @ value, weights
