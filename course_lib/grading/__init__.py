"""The instructor's grading machinery; this module: what hidden tests use while they call a student's code.

The subpackage holds everything only an instructor needs: ``preprocessors`` (the nbgrader
preprocessors ``nbgrader_config.py`` wires in), ``sandbox`` (the bubblewrap seal each kernel
runs in), ``autograde`` (grading a whole class in parallel) and ``course`` (the repository as an
nbgrader course: paths, release, scratch copies). Lesson concepts and student notebooks never import it; hidden tests do.

``strict`` is the one entry point: it fixes the random seed, makes the exercise's
reference in course_lib (and any fresh copy of it the student made from its module's file or
source) and torch's built-in shortcut for the same thing unusable, and silences warnings and
stderr so that benign output never costs points::

    with grading.strict(forbid=["torch.nn.RNN", "course_lib.rnn.rnn_forward"]):
        outputs, h_n = rnn_forward(x, W_ih, W_hh, b_ih, b_hh)

The module is read-only once loaded (``_ReadOnly``): student code that reaches it by a computed
route the grader's screen of answer cells cannot see (an alias, ``pkgutil.resolve_name``, a name
built from strings) cannot rebind ``strict`` or anything else the hidden tests use.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import sys
import threading
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


def _package_message(package: str, called: str) -> str:
    return (f"Your code calls `{called}` from `{package}`, a library this exercise asks you to do without: "
            "write it yourself, from basic Python and tensor operations.")


def resolve(dotted: str) -> tuple[Any, str, Any]:
    """Return (owner, attribute, object) for a dotted name such as ``torch.nn.RNN``; a top-level package
    such as ``tokenizers`` gives (None, its name, the package)."""
    parts = dotted.split(".")
    if len(parts) == 1:
        try:
            return None, dotted, importlib.import_module(dotted)
        except ImportError:
            raise ValueError(f"cannot resolve {dotted!r}: no such package is installed") from None
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


def fingerprint(code: types.CodeType) -> tuple:
    """What a function's code is, wherever it was compiled: its bytecode, constants (docstring and
    nested code included), global and attribute names and variables; not its file, line or name.

    A fresh copy of a function (``runpy``, a module reloaded, ``exec`` of its source, a copied
    ``__code__``) has the fingerprint of the original.
    """
    def constant(value: Any) -> Any:
        if isinstance(value, types.CodeType):
            return fingerprint(value)
        if isinstance(value, (tuple, frozenset)):
            return type(value).__name__, tuple(constant(v) for v in value)
        return type(value).__name__, value

    return (code.co_code, code.co_argcount, code.co_posonlyargcount, code.co_kwonlyargcount,
            code.co_names, code.co_varnames, tuple(constant(c) for c in code.co_consts))


def _methods(cls: type) -> list[types.CodeType]:
    """The code of the functions a class defines itself."""
    return [f.__code__ for f in vars(cls).values() if isinstance(f, types.FunctionType)]


class _CallsRefused:
    """A profiler that refuses, during the block:

    - any call into a copy of a forbidden function or class: a function whose code has a forbidden
      function's fingerprint, or a method of a class whose own methods all have the fingerprints of a
      forbidden class's methods;
    - any call of a forbidden built-in method (written in C or Rust, as HF ``tokenizers``' are) on an
      object of its class, however the student reached it (a reference kept from before the block
      included): ``c_methods`` maps a method's name to (the class that defines it, or None for a static
      one, its qualified name, the forbidden name);
    - any call into a forbidden package (``packages``: its name -> the folders of its files), to its
      Python code or to its built-in functions and methods.

    Refusing raises ShortcutUsed in the call; the block then fails on exit even if the student's code
    caught that, since a profiler that raised is switched off for the rest of the block. Python
    runs slower while profiled (a few times, for code made of many small Python calls), which
    hidden tests, calling the student's code on small inputs, can afford.
    """

    def __init__(self, functions: dict[tuple, str], classes: dict[frozenset, str],
                 c_methods: dict[str, list[tuple[type | None, str, str]]], packages: dict[str, tuple[str, ...]]):
        self.functions, self.classes, self.c_methods, self.packages = functions, classes, c_methods, packages
        self.owners: dict[Any, str] = {}  # a built-in's class or module -> the forbidden package it is in, or ""
        self.methods = {key for methods in classes for key in methods}
        # id(code) -> (code, the refusal if it is a forbidden function's copy or a forbidden package's code,
        # whether it may be a forbidden class's method)
        self.verdicts: dict[int, tuple[types.CodeType, str | None, bool]] = {}
        self.used: list[str] = []

    def _refused(self, frame: types.FrameType) -> str | None:
        """The message refusing the call this frame runs, if it is forbidden."""
        code = frame.f_code
        known = self.verdicts.get(id(code))
        if known is None or known[0] is not code:
            key = fingerprint(code)
            package = next((p for p, folders in self.packages.items() if code.co_filename.startswith(folders)), None)
            refusal = (_package_message(package, code.co_qualname) if package
                       else _message(self.functions[key]) if key in self.functions else None)
            known = self.verdicts[id(code)] = (code, refusal, key in self.methods)
        _, refusal, method = known
        if refusal or not method or not code.co_varnames:
            return refusal
        owner = frame.f_locals.get(code.co_varnames[0])  # self, or cls
        for cls in (owner if isinstance(owner, type) else type(owner)).__mro__:
            if any(method is code for method in _methods(cls)):
                name = self.classes.get(frozenset(fingerprint(c) for c in _methods(cls)))
                return _message(name) if name else None
        return None

    def _c_refused(self, function: Any) -> str | None:
        """The message refusing a call of this built-in function or method, if it is forbidden (a
        ``c_call`` event's argument: a bound built-in method's ``__self__`` is its object)."""
        owner = getattr(function, "__self__", None)
        name = getattr(function, "__name__", None)
        for cls, qualname, forbidden_name in self.c_methods.get(name, ()):
            if (isinstance(owner, cls) or isinstance(owner, type) and issubclass(owner, cls) if cls is not None
                    else getattr(function, "__qualname__", None) == qualname):
                return _message(forbidden_name)
        if self.packages:
            kind = owner if isinstance(owner, (type, types.ModuleType)) or owner is None else type(owner)
            package = self.owners.get(kind)
            if package is None:
                module = kind.__name__ if isinstance(kind, types.ModuleType) else getattr(kind, "__module__", None)
                package = self.owners[kind] = next(
                    (p for p in self.packages if module and (module == p or module.startswith(p + "."))), "")
            if package:
                return _package_message(package, getattr(function, "__qualname__", name))
        return None

    def __call__(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and (self.c_methods or self.packages):
            refusal = self._c_refused(arg)
        elif event == "call":
            known = self.verdicts.get(id(frame.f_code))
            if known is not None and known[0] is frame.f_code and not known[1] and not known[2]:
                return  # the common case stops here
            refusal = self._refused(frame)
        else:
            return
        if refusal:
            self.used.append(refusal)
            raise ShortcutUsed(refusal)

    def __enter__(self) -> None:
        """Profile this thread and the threads started in the block (another profiler pauses meanwhile)."""
        self.previous, self.previous_threads = sys.getprofile(), threading.getprofile()
        sys.setprofile(self)
        threading.setprofile(self)

    def __exit__(self, error_type, error, traceback) -> None:
        replaced = sys.getprofile() is not self and not self.used  # after a refusal the profiler is off anyway
        sys.setprofile(self.previous)
        threading.setprofile(self.previous_threads)
        if self.used and error_type is None:
            raise ShortcutUsed(self.used[0])
        if replaced and error_type is None:
            raise ShortcutUsed("Your code removed or replaced the profiler that watches, during the hidden test, "
                               "which functions it calls; leave sys.setprofile alone.")


@contextlib.contextmanager
def forbidden(names: Sequence[str]) -> Iterator[None]:
    """Make the named functions, classes and packages unusable inside the block.

    Python functions have their code swapped (so every alias fails too); module classes
    have ``__init__`` and ``forward`` swapped; torch's built-in functions are refused by
    a torch-function mode and by replacing the module attribute. Copies made from the
    module's file or source fail too: a profiler refuses any call into code with the
    fingerprint of a forbidden function, or into a class whose methods are a forbidden class's.
    Other built-in methods (HF ``tokenizers``' Rust ones) are refused by the profiler on any object
    of their class, so a reference kept from before the block fails too. A top-level package
    (``"tokenizers"``, ``"transformers"``) is refused whole: its Python code and its built-ins.
    Raises ValueError for a name that does not resolve.
    """
    restore: list[Callable[[], None]] = []
    builtins: dict[Callable, str] = {}
    functions: dict[tuple, str] = {}
    classes: dict[frozenset, str] = {}
    c_methods: dict[str, list[tuple[type | None, str, str]]] = {}
    packages: dict[str, tuple[str, ...]] = {}
    try:
        for name in names:
            owner, attr, obj = resolve(name)
            if isinstance(obj, types.ModuleType):
                packages[obj.__name__] = tuple(getattr(obj, "__path__", None) or [obj.__file__])
            elif isinstance(obj, type):
                classes[frozenset(fingerprint(code) for code in _methods(obj))] = name
                for method in ("__init__", "forward"):
                    if method in vars(obj):
                        original = vars(obj)[method]
                        stub = types.FunctionType(_blocked_code(name), {})
                        setattr(obj, method, stub)
                        restore.append(lambda o=obj, m=method, f=original: setattr(o, m, f))
            elif isinstance(obj, types.FunctionType):
                if obj.__code__.co_freevars:
                    raise ValueError(f"cannot forbid {name}: it is a closure; forbid what it wraps")
                functions[fingerprint(obj.__code__)] = name
                restore.append(lambda o=obj, c=obj.__code__: setattr(o, "__code__", c))
                obj.__code__ = _blocked_code(name)
            else:
                builtins[obj] = name
                if not name.startswith("torch."):  # torch's are refused by the torch-function mode, by identity
                    defined_by = getattr(obj, "__objclass__", None)
                    c_methods.setdefault(obj.__name__, []).append((defined_by, obj.__qualname__, name))
                stub = types.FunctionType(_blocked_code(name), {})
                setattr(owner, attr, stub)
                restore.append(lambda o=owner, a=attr, f=obj: setattr(o, a, f))
        refused = (_CallsRefused(functions, classes, c_methods, packages) if functions or classes or c_methods or packages
                   else contextlib.nullcontext())
        with _BlockTorchFunctions(builtins), refused:
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


class _ReadOnly(types.ModuleType):
    """A module whose names cannot be rebound or deleted; the import system may still record its submodules."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and value.__name__ == f"{self.__name__}.{name}":
            return super().__setattr__(name, value)
        raise AttributeError(f"{self.__name__}.{name} cannot be changed: the hidden tests that grade your work rely on it")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{self.__name__}.{name} cannot be deleted: the hidden tests that grade your work rely on it")


sys.modules[__name__].__class__ = _ReadOnly
