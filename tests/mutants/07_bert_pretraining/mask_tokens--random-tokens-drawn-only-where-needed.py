def mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator, mlm_probability=0.15):
    """BERT's MLM corruption: (inputs, labels); 15% chosen among non-special positions, of those 80% [MASK], 10% random, 10% kept."""
    shape = input_ids.shape
    inputs, labels = input_ids.clone(), input_ids.clone()
    probability = torch.full(shape, mlm_probability).masked_fill(special_tokens_mask.bool(), 0.0)
    chosen = torch.bernoulli(probability, generator=generator).bool()
    labels[~chosen] = -100
    to_mask = torch.bernoulli(torch.full(shape, 0.8), generator=generator).bool() & chosen
    inputs[to_mask] = mask_token_id
    to_random = torch.bernoulli(torch.full(shape, 0.5), generator=generator).bool() & chosen & ~to_mask
    inputs[to_random] = torch.randint(vocab_size, (int(to_random.sum()),), generator=generator)
    return inputs, labels
