"""The instructor's grading machinery; this module: what hidden tests use while they call a student's code.

The subpackage holds everything only an instructor needs: ``preprocessors`` (the nbgrader
preprocessors ``nbgrader_config.py`` wires in), ``autograde`` (grading a whole class in
parallel) and ``course`` (the repository as an nbgrader course: paths, release, scratch
copies). Lesson concepts and student notebooks never import it; hidden tests do.

``strict`` is the one entry point: it fixes the random seed, makes the exercise's
reference in course_lib and torch's built-in shortcut for the same thing unusable,
and silences warnings and stderr so that benign output never costs points::

    with grading.strict(forbid=["torch.nn.RNN", "course_lib.rnn.rnn_forward"]):
        outputs, h_n = rnn_forward(x, W_ih, W_hh, b_ih, b_hh)
"""
from __future__ import annotations

import contextlib
import importlib
import io
import types
import warnings
from typing import Any, Callable, Iterator, Sequence

import torch
from torch.overrides import TorchFunctionMode

from course_lib.checks import CheckFailed, provided


class ShortcutUsed(CheckFailed):
    """The student's code called the reference or a built-in it was asked to implement."""


def _message(name: str) -> str:
    return (
        f"Your code calls `{name}`, which this exercise asks you to implement yourself. "
        "Build it from basic tensor operations instead."
    )


def resolve(dotted: str) -> tuple[Any, str, Any]:
    """Return (owner, attribute, object) for a dotted name such as ``torch.nn.RNN``."""
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            owner: Any = importlib.import_module(".".join(parts[:split]))
        except ImportError:
            continue
        for attr in parts[split:-1]:
            owner = getattr(owner, attr)
        return owner, parts[-1], getattr(owner, parts[-1])
    raise ValueError(f"cannot resolve {dotted!r}: give a full dotted name such as 'torch.nn.RNN'")


def _blocked_code(name: str) -> types.CodeType:
    """Code for a function that raises ShortcutUsed; it needs no globals of its own."""

    def blocked(*args, **kwargs):
        raise __import__("course_lib.grading", fromlist=["ShortcutUsed"]).ShortcutUsed(
            __import__("course_lib.grading", fromlist=["_message"])._message(
                __import__("sys")._getframe().f_code.co_qualname
            )
        )

    return blocked.__code__.replace(co_qualname=name, co_name=name.rsplit(".", 1)[-1])


class _BlockTorchFunctions(TorchFunctionMode):
    """Refuses calls to the given torch functions however the student reached them."""

    def __init__(self, blocked: dict[Callable, str]):
        super().__init__()
        self.blocked = blocked

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func in self.blocked:
            raise ShortcutUsed(_message(self.blocked[func]))
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def forbidden(names: Sequence[str]) -> Iterator[None]:
    """Make the named functions and modules unusable inside the block.

    Python functions have their code swapped (so every alias fails too); module classes
    have ``__init__`` and ``forward`` swapped; torch's built-in functions are refused by
    a torch-function mode and by replacing the module attribute.
    """
    restore: list[Callable[[], None]] = []
    builtins: dict[Callable, str] = {}
    try:
        for name in names:
            owner, attr, obj = resolve(name)
            if isinstance(obj, type):
                for method in ("__init__", "forward"):
                    if method in vars(obj):
                        original = vars(obj)[method]
                        stub = types.FunctionType(_blocked_code(name), {})
                        setattr(obj, method, stub)
                        restore.append(lambda o=obj, m=method, f=original: setattr(o, m, f))
            elif isinstance(obj, types.FunctionType):
                if obj.__code__.co_freevars:
                    raise ValueError(f"cannot forbid {name}: it is a closure; forbid what it wraps")
                restore.append(lambda o=obj, c=obj.__code__: setattr(o, "__code__", c))
                obj.__code__ = _blocked_code(name)
            else:
                builtins[obj] = name
                stub = types.FunctionType(_blocked_code(name), {})
                setattr(owner, attr, stub)
                restore.append(lambda o=owner, a=attr, f=obj: setattr(o, a, f))
        with _BlockTorchFunctions(builtins):
            yield
    finally:
        for undo in reversed(restore):
            undo()


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings and anything written to stderr inside the block."""
    with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def strict(forbid: Sequence[str] = (), provide: dict[str, Any] | None = None, seed: int = 0) -> Iterator[None]:
    """Seeded, shortcut-free, quiet: the conditions every hidden test runs under."""
    with torch.random.fork_rng(), quiet(), provided(provide or {}), forbidden(forbid):
        torch.manual_seed(seed)
        yield
