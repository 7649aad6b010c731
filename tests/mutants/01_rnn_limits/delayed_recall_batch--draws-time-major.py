# loses: test_delayed_recall_batch
# hint: draw them with one torch.randint call of shape (batch_size, length)
def delayed_recall_batch(batch_size, length, delay, vocab_size, generator):
    """Right distribution, wrong draw order: draws (length, batch_size) and transposes."""
    inputs = torch.randint(vocab_size, (length, batch_size), generator=generator).T
    targets = torch.full_like(inputs, tasks.IGNORE_INDEX)
    targets[:, delay:] = inputs[:, : length - delay]
    return inputs, targets
