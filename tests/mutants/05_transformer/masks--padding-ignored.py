# loses: test_masks
# hint: which is padding
def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).tril()


def target_mask(tgt, pad_id):
    return causal_mask(tgt.shape[1]).expand(tgt.shape[0], 1, tgt.shape[1], tgt.shape[1])
