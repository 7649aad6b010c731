# loses: test_masks
# hint: Keep the diagonal
def causal_mask(length):
    return torch.ones(length, length, dtype=torch.bool).tril(diagonal=-1)


def target_mask(tgt, pad_id):
    return (tgt != pad_id)[:, None, None, :] & causal_mask(tgt.shape[1])
