class SinusoidalPositionalEncoding(nn.Module):
    """Takes as many rows of the table as there are sequences in the batch."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.max_positions = max_positions
        self.register_buffer("encoding", sinusoidal_encoding(max_positions, d_model))

    def forward(self, embeddings):
        if embeddings.shape[1] > self.max_positions:
            raise ValueError("sequence too long")
        return embeddings + self.encoding[: len(embeddings)]
