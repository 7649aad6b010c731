class LearnedPositionalEmbedding(nn.Module):
    """Keeps nn.Embedding's own N(0, 1) initialisation: position vectors as large as the token signal."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.max_positions = max_positions
        self.position_embeddings = nn.Embedding(max_positions, d_model)

    def forward(self, embeddings):
        seq = embeddings.shape[1]
        if seq > self.max_positions:
            raise ValueError("too long")
        return embeddings + self.position_embeddings(torch.arange(seq))
