def attention_scores(query, key):
    """Divides by d_k instead of its square root."""
    d_k = query.shape[-1]
    return query @ key.transpose(-2, -1) / d_k
