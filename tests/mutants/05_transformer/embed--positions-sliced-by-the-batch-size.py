# loses: test_embed
# hint: one row per position
def embed(tokens, embedding, positional_encoding):
    return embedding(tokens) * math.sqrt(embedding.embedding_dim) + positional_encoding[: len(tokens)]
