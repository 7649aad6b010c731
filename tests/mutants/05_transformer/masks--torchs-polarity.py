# loses: test_masks
# hint: True means 'may attend'
def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).triu(diagonal=1)


def target_mask(tgt, pad_id):
    return (tgt != pad_id)[:, None, None, :] & causal_mask(tgt.shape[1])
