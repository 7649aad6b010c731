"""Checks on the arguments of course_lib's functions: an error that says what to pass instead."""
from __future__ import annotations

import torch
from torch import Tensor


def check_int(name: str, value: object, meaning: str, minimum: int = 1) -> None:
    """Raise a ValueError saying what ``name`` is for unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        bound = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {bound} ({meaning}); got {value!r}.")


def check_tokens(name: str, tokens: object) -> None:
    """Raise an error a learner can act on unless ``tokens`` is a (batch, length) integer tensor."""
    if not isinstance(tokens, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids; got {type(tokens).__name__}.")
    if tokens.is_floating_point() or tokens.dtype == torch.bool:
        raise TypeError(
            f"{name} must hold integer token ids (torch.long); got dtype {tokens.dtype}. "
            f"Embeddings are looked up by id: convert with {name}.long()."
        )
    if tokens.dim() != 2:
        hint = f" For one sequence use {name}.unsqueeze(0)." if tokens.dim() == 1 else ""
        raise ValueError(f"{name} must be (batch, length); got shape {tuple(tokens.shape)}.{hint}")
