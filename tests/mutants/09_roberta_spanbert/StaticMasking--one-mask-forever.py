# hint: Every visit of a sequence got the same mask
class StaticMasking:
    """BERT without duplication: one mask per sequence, for ever."""

    def __init__(self, duplicates=10):
        self.duplicates = duplicates
        self.masks = {}
        self.visits = {}

    def __call__(self, input_ids, special_tokens_mask, vocab_size, mask_token_id, generator):
        masked_ids, labels = input_ids.clone(), torch.full_like(input_ids, IGNORE_INDEX)
        for row in range(input_ids.shape[0]):
            positions = torch.nonzero(special_tokens_mask[row] == 0).flatten()
            if positions.numel() == 0:
                continue
            end = int(positions[-1]) + 1
            key = tuple(input_ids[row, :end].tolist())
            if key not in self.masks:
                self.masks[key] = mask_tokens(input_ids[row:row + 1, :end], special_tokens_mask[row:row + 1, :end],
                                              vocab_size, mask_token_id, generator)
            masked_ids[row, :end] = self.masks[key][0][0]
            labels[row, :end] = self.masks[key][1][0]
        return masked_ids, labels
