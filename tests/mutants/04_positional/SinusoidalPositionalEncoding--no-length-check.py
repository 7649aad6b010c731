class SinusoidalPositionalEncoding(nn.Module):
    """Never checks the length: a too-long sequence fails with a confusing shape error."""

    def __init__(self, max_positions, d_model):
        super().__init__()
        self.register_buffer("encoding", sinusoidal_encoding(max_positions, d_model))

    def forward(self, embeddings):
        return embeddings + self.encoding[: embeddings.shape[1]]
