# loses: test_EncoderLayer
# hint: Name the parts self_attn
class EncoderLayer(nn.Module):
    def __init__(self, d_model, num_heads, d_ff, norm_first=False):
        super().__init__()
        self.norm_first = norm_first
        self.attention = MultiHeadAttention(d_model, num_heads)
        self.feed_forward = PositionwiseFeedForward(d_model, d_ff)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)

    def forward(self, x, mask=None):
        x = add_and_norm(x, lambda h: self.attention(h, h, h, mask)[0], self.norm1, self.norm_first)
        return add_and_norm(x, self.feed_forward, self.norm2, self.norm_first)
