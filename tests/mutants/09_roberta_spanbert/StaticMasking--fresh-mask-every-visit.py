# hint: Each visit drew a new mask, which is dynamic masking
class StaticMasking:
    """Forgets its masks: dynamic masking under another name."""

    def __init__(self, duplicates=10):
        self.duplicates = duplicates
        self.masks = {}
        self.visits = {}

    def __call__(self, input_ids, special_tokens_mask, vocab_size, mask_token_id, generator):
        return mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)
