class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: score(q, k) = v^T tanh(W_q q + W_k k)."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, hidden_size, bias=False)
        self.W_k = nn.Linear(key_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, query, key, value, mask=None):
        """Uses a plain softmax and never applies the mask."""
        hidden = torch.tanh(self.W_q(query).unsqueeze(-2) + self.W_k(key).unsqueeze(-3))
        weights = torch.softmax(self.v(hidden).squeeze(-1), dim=-1)
        return weights @ value, weights
