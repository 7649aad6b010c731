# hint: were masked as new ones
class StaticMasking:
    """Recognises a sequence by the whole row, padding included."""

    def __init__(self, duplicates=10):
        self.duplicates = duplicates
        self.masks = {}
        self.visits = {}

    def __call__(self, input_ids, special_tokens_mask, vocab_size, mask_token_id, generator):
        masked_ids, labels = input_ids.clone(), torch.full_like(input_ids, IGNORE_INDEX)
        for row in range(input_ids.shape[0]):
            if not bool((special_tokens_mask[row] == 0).any()):
                continue
            key = tuple(input_ids[row].tolist())
            if key not in self.masks:
                copies = input_ids[row].repeat(self.duplicates, 1)
                specials = special_tokens_mask[row].repeat(self.duplicates, 1)
                self.masks[key] = mask_tokens(copies, specials, vocab_size, mask_token_id, generator)
                self.visits[key] = 0
            which = self.visits[key] % self.duplicates
            self.visits[key] += 1
            masked_ids[row] = self.masks[key][0][which]
            labels[row] = self.masks[key][1][which]
        return masked_ids, labels
