def transformer_parameters(d_model, d_ff, num_layers, vocab):
    model = Transformer(vocab, d_model, 1, num_layers, d_ff)
    return sum(p.numel() for p in model.parameters())
