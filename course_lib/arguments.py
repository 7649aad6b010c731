"""Checks on the arguments of course_lib's functions: an error that says what to pass instead."""
from __future__ import annotations


def check_int(name: str, value: object, meaning: str, minimum: int = 1) -> None:
    """Raise a ValueError saying what ``name`` is for unless ``value`` is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        bound = "a positive int" if minimum == 1 else f"an int >= {minimum}"
        raise ValueError(f"{name} must be {bound} ({meaning}); got {value!r}.")
