"""Synthetic tasks that isolate one ability of a sequence model."""
from __future__ import annotations

import torch

IGNORE_INDEX = -100  # targets with this value are skipped by nn.CrossEntropyLoss


def delayed_recall_batch(
    batch_size: int, length: int, delay: int, vocab_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens and, at every step t >= delay, the target token seen ``delay`` steps earlier.

    Returns ``inputs`` and ``targets``, both int64 of shape (batch_size, length); targets
    before step ``delay`` are IGNORE_INDEX because nothing that old exists yet.
    """
    if not 0 <= delay < length:
        raise ValueError(f"delay must be in [0, length={length}); got {delay}")
    inputs = torch.randint(vocab_size, (batch_size, length), generator=generator)
    targets = torch.full_like(inputs, IGNORE_INDEX)
    targets[:, delay:] = inputs[:, : length - delay]
    return inputs, targets
