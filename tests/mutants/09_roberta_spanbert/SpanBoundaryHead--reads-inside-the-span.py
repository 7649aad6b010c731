# hint: the boundaries are just outside
class SpanBoundaryHead(nn.Module):
    """SpanBERT's SBO head: [x_(s-1); x_(e+1); p_(i-s)] -> GeLU, LayerNorm -> GeLU, LayerNorm -> vocabulary logits."""

    def __init__(self, hidden_size, vocab_size, max_span_length=32, layer_norm_eps=1e-12):
        super().__init__()
        self.max_span_length = max_span_length
        self.position_embeddings = nn.Embedding(max_span_length, hidden_size)
        self.dense1 = nn.Linear(3 * hidden_size, hidden_size)
        self.norm1 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dense2 = nn.Linear(hidden_size, hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, hidden_states, labels):
        """hidden_states (batch, seq, hidden), labels (batch, seq) with -100 where unmasked -> (num_masked, vocab) logits."""
        rows, lefts, rights, offsets = [], [], [], []
        for b, row in enumerate((labels != IGNORE_INDEX).tolist()):
            i = 0
            while i < len(row):
                if not row[i]:
                    i += 1
                    continue
                s = i
                while i < len(row) and row[i]:
                    i += 1
                for k in range(s, i):  # the run is s..i-1, so e + 1 = i
                    rows.append(b)
                    lefts.append(s)
                    rights.append(i - 1)
                    offsets.append(k - s)
        index = lambda values: torch.tensor(values, dtype=torch.long, device=hidden_states.device)
        rows = index(rows)
        h0 = torch.cat([hidden_states[rows, index(lefts)], hidden_states[rows, index(rights)],
                        self.position_embeddings(index(offsets))], dim=-1)
        h1 = self.norm1(F.gelu(self.dense1(h0)))
        return self.decoder(self.norm2(F.gelu(self.dense2(h1))))

