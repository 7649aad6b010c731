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


def previous_and_partner_batch(
    batch_size: int, num_colours: int, num_numbers: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A task that needs two kinds of attention at once (lesson 03_multihead).

    A sequence has ``2 * num_colours`` tokens; each token is a (colour, number) pair with id
    ``colour * num_numbers + number``. Every colour appears exactly twice, at random places,
    and the numbers are uniform. At every position t there are two targets:

    - ``previous``: the number of the token at t - 1 (cyclically, position 0 looks at the last
      one), found by *position*;
    - ``partner``: the number of the other token with t's colour, found by *content*.

    Returns ``tokens``, ``previous`` and ``partner``, int64 tensors of shape
    (batch_size, 2 * num_colours).
    """
    if num_colours < 2 or num_numbers < 2:
        raise ValueError(
            f"need at least 2 colours and 2 numbers; got num_colours={num_colours}, num_numbers={num_numbers}"
        )
    length = 2 * num_colours
    # A random permutation of [0, 1, ..., length - 1] taken modulo num_colours: each colour twice.
    colours = torch.argsort(torch.rand(batch_size, length, generator=generator), dim=1) % num_colours
    numbers = torch.randint(num_numbers, (batch_size, length), generator=generator)
    tokens = colours * num_numbers + numbers
    previous = numbers.roll(1, dims=1)
    same_colour = (colours[:, :, None] == colours[:, None, :]) & ~torch.eye(length, dtype=torch.bool)
    partner = numbers.gather(1, same_colour.int().argmax(dim=-1))
    return tokens, previous, partner


def k_back_batch(
    batch_size: int, length: int, k: int, vocab_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Random tokens; at position t the target is the token k positions to the left (lesson 04_positional).

    Returns ``tokens`` and ``targets``, int64 of shape (batch_size, length), with
    ``targets[:, t] = tokens[:, t - k]`` wherever ``t - k`` lies inside the sequence and
    IGNORE_INDEX elsewhere. A negative ``k`` asks for the token ``-k`` positions to the *right*,
    which an encoder (it sees the whole sequence) can answer as well. For ``k >= 0`` the batch
    is the same as ``delayed_recall_batch(batch_size, length, k, vocab_size, generator)``; the
    framing differs: there an RNN has to carry the token through k steps, here an attention
    layer has to find the position t - k, and a model without positions only sees the set of
    tokens.
    """
    if not -length < k < length:
        raise ValueError(f"k must be in (-length, length) = ({-length}, {length}); got {k}")
    tokens = torch.randint(vocab_size, (batch_size, length), generator=generator)
    targets = torch.full_like(tokens, IGNORE_INDEX)
    if k >= 0:
        targets[:, k:] = tokens[:, : length - k]
    else:
        targets[:, : length + k] = tokens[:, -k:]
    return tokens, targets
