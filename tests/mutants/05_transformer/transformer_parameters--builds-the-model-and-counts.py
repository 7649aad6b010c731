def transformer_parameters(d_model, d_ff, num_layers, vocab):
    model = Transformer(vocab, vocab, d_model, 1, num_layers, d_ff, share_embeddings=True)
    return sum(p.numel() for p in model.parameters())
