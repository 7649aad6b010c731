class LayerNorm(nn.LayerNorm):
    pass
