def delayed_recall_batch(batch_size, length, delay, vocab_size, generator):
    """Pads the first targets with token 0, which the loss then counts."""
    inputs = torch.randint(vocab_size, (batch_size, length), generator=generator)
    targets = torch.zeros_like(inputs)
    targets[:, delay:] = inputs[:, : length - delay]
    return inputs, targets
