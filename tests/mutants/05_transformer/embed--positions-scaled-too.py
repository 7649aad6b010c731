# loses: test_embed
# hint: add the table unscaled
def embed(tokens, embedding, positional_encoding):
    return (embedding(tokens) + positional_encoding[: tokens.shape[1]]) * math.sqrt(embedding.embedding_dim)
