def delayed_recall_batch(batch_size, length, delay, vocab_size, generator):
    """Targets one step too recent."""
    inputs = torch.randint(vocab_size, (batch_size, length), generator=generator)
    targets = torch.full_like(inputs, tasks.IGNORE_INDEX)
    targets[:, delay:] = inputs[:, 1 : length - delay + 1]
    return inputs, targets
