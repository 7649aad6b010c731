# loses: test_embed
# hint: Multiply the embeddings by math.sqrt(embedding.embedding_dim)
def embed(tokens, embedding, positional_encoding):
    return embedding(tokens) + positional_encoding[: tokens.shape[1]]
