# loses: test_embed
# hint: Multiply the embeddings by math.sqrt(embedding.embedding_dim)
def embed(tokens, embedding, positional_encoding):
    return embedding(tokens) * embedding.embedding_dim + positional_encoding[: tokens.shape[1]]
