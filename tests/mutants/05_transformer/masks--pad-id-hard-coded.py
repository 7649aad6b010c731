def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).tril()


def target_mask(tgt, pad_id):
    return (tgt != 0)[:, None, None, :] & causal_mask(tgt.shape[1])
