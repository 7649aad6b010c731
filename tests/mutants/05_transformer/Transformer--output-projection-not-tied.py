# loses: test_Transformer
# hint: is not the embedding's weight
class Encoder(nn.Module):
    def __init__(self, d_model, num_heads, num_layers, d_ff, norm_first=False):
        super().__init__()
        self.layers = nn.ModuleList([EncoderLayer(d_model, num_heads, d_ff, norm_first) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)

    def forward(self, x, mask=None):
        for layer in self.layers:
            x = layer(x, mask)
        return self.norm(x)


class Decoder(nn.Module):
    def __init__(self, d_model, num_heads, num_layers, d_ff, norm_first=False):
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(d_model, num_heads, d_ff, norm_first) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)

    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        for layer in self.layers:
            x = layer(x, memory, tgt_mask, memory_mask)
        return self.norm(x)


class Transformer(nn.Module):
    def __init__(self, vocab, d_model, num_heads, num_layers, d_ff, max_len=512, pad_id=0, norm_first=False):
        super().__init__()
        self.d_model, self.pad_id = d_model, pad_id
        self.register_buffer("positional_encoding", sinusoidal_encoding(max_len, d_model), persistent=False)
        self.embedding = nn.Embedding(vocab, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        self.encoder = Encoder(d_model, num_heads, num_layers, d_ff, norm_first)
        self.decoder = Decoder(d_model, num_heads, num_layers, d_ff, norm_first)
        self.output_projection = nn.Linear(d_model, vocab)

    def encode(self, src, src_mask=None):
        return self.encoder(embed(src, self.embedding, self.positional_encoding), src_mask)

    def decode(self, tgt, memory, tgt_mask=None, memory_mask=None):
        states = self.decoder(embed(tgt, self.embedding, self.positional_encoding), memory, tgt_mask, memory_mask)
        return self.output_projection(states)

    def forward(self, src, tgt):
        src_mask = (src != self.pad_id)[:, None, None, :]
        return self.decode(tgt, self.encode(src, src_mask), target_mask(tgt, self.pad_id), src_mask)
