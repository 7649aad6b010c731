class SinusoidalPositionalEncoding(nn.Module):
    """Keeps the table as a trainable parameter: the optimiser would change the fixed encoding."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.max_positions = max_positions
        self.encoding = nn.Parameter(sinusoidal_encoding(max_positions, d_model))

    def forward(self, embeddings):
        seq = embeddings.shape[1]
        if seq > self.max_positions:
            raise ValueError("sequence too long")
        return embeddings + self.encoding[:seq]
