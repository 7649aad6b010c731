def embed(tokens, embedding, positional_encoding):
    return embedding(tokens) * embedding.embedding_dim + positional_encoding[: tokens.shape[1]]
