class LearnedPositionalEmbedding(nn.Module):
    """Numbers the sequences of the batch instead of the positions in a sequence."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.max_positions = max_positions
        self.position_embeddings = nn.Embedding(max_positions, d_model)
        nn.init.normal_(self.position_embeddings.weight, std=0.02)

    def forward(self, embeddings):
        if embeddings.shape[1] > self.max_positions:
            raise ValueError("too long")
        positions = torch.arange(embeddings.shape[0])
        return embeddings + self.position_embeddings(positions)
