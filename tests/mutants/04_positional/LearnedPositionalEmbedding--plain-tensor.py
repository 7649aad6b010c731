class LearnedPositionalEmbedding(nn.Module):
    """A tensor attribute is not a parameter: the optimiser never sees it."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.max_positions = max_positions
        self.position_embeddings = torch.randn(max_positions, d_model) * 0.02

    def forward(self, embeddings):
        seq = embeddings.shape[1]
        if seq > self.max_positions:
            raise ValueError("too long")
        return embeddings + self.position_embeddings[:seq]
