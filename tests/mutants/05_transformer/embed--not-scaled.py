def embed(tokens, embedding, positional_encoding):
    return embedding(tokens) + positional_encoding[: tokens.shape[1]]
