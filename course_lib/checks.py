"""Student-facing checks: each failure is one sentence a student can act on.

Every check raises :class:`CheckFailed` (an ``AssertionError``) whose message says
what is wrong, where, and what was expected. Visible tests in the notebooks and the
hidden tests both use them, so a student reads the same words in feedback.

Also what visible test cells need to run the student's code: ``seeded_generator`` (inputs that
never depend on earlier cells) and ``provided`` (the course's version of an earlier exercise,
so each exercise is checked on its own).
"""
from __future__ import annotations

import contextlib
import importlib
from typing import Any, Iterator, Sequence

import torch


class CheckFailed(AssertionError):
    """A check on a student's answer failed; the message says how to fix it."""


class Unanswered(NotImplementedError):
    """An answer the learner has not given yet (a quiz variable still None).

    Like the ``raise NotImplementedError()`` of an unfinished exercise, it costs the test's points;
    the notebook shows its message as one line that starts with ⏸.
    """


def _fmt_shape(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


def check_type(value: Any, expected: type, name: str) -> None:
    """``value`` must be exactly of type ``expected`` (no subclasses, no look-alikes)."""
    if type(value) is not expected:
        raise CheckFailed(
            f"`{name}` should be a {expected.__module__}.{expected.__qualname__}; "
            f"yours is a {type(value).__module__}.{type(value).__qualname__}."
        )


def check_tensor(value: Any, name: str) -> None:
    """``value`` must be a plain ``torch.Tensor``."""
    if type(value) is not torch.Tensor and type(value) is not torch.nn.Parameter:
        raise CheckFailed(
            f"`{name}` should be a torch.Tensor; yours is a {type(value).__name__}. "
            "Return the tensor itself, not a list, a NumPy array or a Python number."
        )


def check_shape(value: Any, expected: Sequence[int], name: str, dims: str = "") -> None:
    """``value`` must be a tensor of shape ``expected``; ``dims`` names the axes."""
    check_tensor(value, name)
    if tuple(value.shape) != tuple(expected):
        axes = f" {dims}" if dims else ""
        hint = ""
        if sorted(value.shape) == sorted(expected):
            hint = " The sizes are right but in the wrong order: check a transpose or permute."
        raise CheckFailed(
            f"`{name}` should have shape {_fmt_shape(expected)}{axes}; "
            f"yours has shape {_fmt_shape(value.shape)}.{hint}"
        )


def check_dtype(value: Any, expected: torch.dtype, name: str) -> None:
    """``value`` must be a tensor of dtype ``expected``."""
    check_tensor(value, name)
    if value.dtype != expected:
        raise CheckFailed(
            f"`{name}` should have dtype {expected}; yours has dtype {value.dtype}. "
            f"Convert with `.to({expected})` or build it with `dtype={expected}`."
        )


def check_finite(value: Any, name: str) -> None:
    """``value`` must contain no NaN or infinity."""
    check_tensor(value, name)
    bad = ~torch.isfinite(value)
    if bad.any():
        where = tuple(int(i) for i in bad.nonzero()[0])
        raise CheckFailed(
            f"`{name}` contains {int(bad.sum())} NaN or infinite values, the first at index {where} "
            f"(value {value[where].item()}). Look for a division by zero or a softmax over -inf only."
        )


def check_close(
    actual: Any,
    expected: torch.Tensor,
    name: str,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    slips: dict[str, torch.Tensor] | None = None,
) -> None:
    """``actual`` must match ``expected`` elementwise; the worst element is reported.

    ``slips`` maps a sentence naming a common mistake (what to do instead) to the value that
    mistake produces on the same inputs: a mismatch that matches one of them is reported with
    that sentence instead of the bare difference.
    """
    check_shape(actual, expected.shape, name)
    check_finite(actual, name)
    actual_d = actual.detach().to(torch.float64)
    expected_d = expected.detach().to(torch.float64)
    diff = (actual_d - expected_d).abs()
    allowed = atol + rtol * expected_d.abs()
    if bool((diff > allowed).any()):
        for hint, wrong in (slips or {}).items():
            wrong_d = wrong.detach().to(torch.float64)
            if wrong_d.shape == actual_d.shape and bool(((actual_d - wrong_d).abs() <= atol + rtol * wrong_d.abs()).all()):
                raise CheckFailed(f"`{name}` does not match the reference, but it matches what a common slip "
                                  f"gives: {hint}.")
        excess = diff - allowed
        flat = int(excess.argmax())
        where = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), tuple(diff.shape)))
        raise CheckFailed(
            f"`{name}` does not match the reference: {int((diff > allowed).sum())} of {diff.numel()} "
            f"values differ; the worst is at index {where}: yours {actual_d[where].item():.6g}, "
            f"expected {expected_d[where].item():.6g} (difference {diff[where].item():.3g}, "
            f"tolerance {allowed[where].item():.3g})."
        )


def check_equal(actual: Any, expected: Any, name: str) -> None:
    """``actual`` must equal ``expected`` (numbers, strings, tuples, integer tensors)."""
    if isinstance(expected, torch.Tensor):
        check_shape(actual, expected.shape, name)
        mismatch = actual != expected
        if bool(mismatch.any()):
            where = tuple(int(i) for i in mismatch.nonzero()[0])
            raise CheckFailed(
                f"`{name}` differs from the expected value at {int(mismatch.sum())} positions; "
                f"the first is index {where}: yours {actual[where].item()}, expected {expected[where].item()}."
            )
        return
    check_type(actual, type(expected), name)
    if actual != expected:
        raise CheckFailed(f"`{name}` should be {expected!r}; yours is {actual!r}.")


def check_normalised(weights: Any, dim: int, name: str, atol: float = 1e-5) -> None:
    """``weights`` must be non-negative and sum to 1 over axis ``dim``.

    If they instead sum to 1 over another axis, the message says which one.
    """
    check_tensor(weights, name)
    check_finite(weights, name)
    if bool((weights < -atol).any()):
        raise CheckFailed(f"`{name}` has negative entries; weights from a softmax are never negative.")
    sums = weights.sum(dim=dim)
    if bool(((sums - 1).abs() > atol).any()):
        axis = dim % weights.dim()
        others = [
            d for d in range(weights.dim())
            if d != axis and bool(((weights.sum(dim=d) - 1).abs() <= atol).all())
        ]
        hint = f"; yours sum to 1 over axis {others[0]} instead" if others else ""
        raise CheckFailed(
            f"`{name}` should sum to 1 over axis {axis} (dim={dim}){hint}. "
            "Apply the softmax over that axis."
        )


def check_masked(weights: Any, mask: torch.Tensor, name: str) -> None:
    """Weights must be zero wherever ``mask`` is False (True means "may attend")."""
    check_tensor(weights, name)
    mask = mask.expand_as(weights)
    leaked = (weights.abs() > 1e-6) & ~mask
    if bool(leaked.any()):
        kept = (weights.abs() > 1e-6) & mask
        if not bool(kept.any()):
            raise CheckFailed(
                f"`{name}` puts weight only where the mask is False: the mask polarity is inverted. "
                "In this course True means 'may attend'; fill the scores where the mask is False."
            )
        where = tuple(int(i) for i in leaked.nonzero()[0])
        raise CheckFailed(
            f"`{name}` gives weight {weights[where].item():.3g} at index {where}, where the mask is False. "
            "Set masked scores to -inf (not 0) before the softmax."
        )


def check_choice(answer: Any, options: Sequence[str], name: str) -> None:
    """A multiple-choice answer must be one of the option letters."""
    if not isinstance(answer, str) or answer.strip().lower() not in options:
        raise CheckFailed(
            f"`{name}` should be one of {', '.join(repr(o) for o in options)} (a string); yours is {answer!r}."
        )


# --- what visible test cells use to run the student's code ------------------------------------


def _student_namespace() -> dict:
    """The namespace the student's notebook code runs in."""
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:
        shell = None
    return shell.user_ns if shell is not None else vars(importlib.import_module("__main__"))


@contextlib.contextmanager
def provided(names: dict[str, Any]) -> Iterator[None]:
    """Give the student's code the course's version of earlier exercises inside the block.

    A later exercise is then graded on its own: a mistake in an earlier one does not
    cost its points twice.
    """
    namespace = _student_namespace()
    saved = {name: namespace[name] for name in names if name in namespace}
    namespace.update(names)
    try:
        yield
    finally:
        for name in names:
            if name in saved:
                namespace[name] = saved[name]
            else:
                namespace.pop(name, None)


def seeded_generator(seed: int) -> torch.Generator:
    """A fresh CPU generator, so hidden inputs never depend on earlier cells."""
    return torch.Generator().manual_seed(seed)
