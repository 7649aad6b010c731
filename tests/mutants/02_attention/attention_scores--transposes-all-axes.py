def attention_scores(query, key):
    """key.T reverses every axis of a batched tensor, not just the last two."""
    return query @ key.T / math.sqrt(query.shape[-1])
