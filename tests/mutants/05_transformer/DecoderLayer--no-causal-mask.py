class DecoderLayer(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.self_attn = MultiHeadAttention(d_model, num_heads)
        self.cross_attn = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.norm3 = LayerNorm(d_model)

    def forward(self, x, memory, tgt_mask=None, memory_mask=None):
        x = add_and_norm(x, lambda h: self.self_attn(h, h, h)[0], self.norm1, self.norm_first)
        x = add_and_norm(x, lambda h: self.cross_attn(h, memory, memory, memory_mask)[0], self.norm2, self.norm_first)
        return add_and_norm(x, self.feed_forward, self.norm3, self.norm_first)
