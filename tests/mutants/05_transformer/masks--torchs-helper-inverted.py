def causal_mask(length):
    return nn.Transformer.generate_square_subsequent_mask(length) == 0


def target_mask(tgt, pad_id):
    return (tgt != pad_id)[:, None, None, :] & causal_mask(tgt.shape[1])
