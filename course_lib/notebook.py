"""What the first cell of every lesson sets up, and how lessons report their figures.

``setup`` makes a notebook friendly for a first-time learner: an exercise that is not
done yet shows one line naming it instead of a long traceback (so does a later cell that
uses a name the unfinished exercise would have defined), a failed check shows its
sentence, and library warnings do not pile up. Errors are still errors: the cell fails
and nbgrader still scores it zero.
"""
from __future__ import annotations

import json
import os
import traceback
import warnings
from typing import Any

import matplotlib
import torch

from course_lib.checks import CheckFailed, Unanswered
from course_lib.training import device, fast_mode

RESULTS_ENV = "COURSE_RESULTS"


def _in_cell(filename: str) -> bool:
    return "ipykernel" in filename or filename.startswith("<")


def _unfinished_exercise(tb: Any) -> str | None:
    """The notebook function (``Class.method`` for a method) that raised NotImplementedError, if any."""
    name = None
    while tb is not None:
        code = tb.tb_frame.f_code
        if _in_cell(code.co_filename):
            name = getattr(code, "co_qualname", code.co_name).replace(".<locals>", "")
        tb = tb.tb_next
    return name if name and name != "<module>" else None


def _raised_at_cell_level(tb: Any) -> bool:
    """Whether the innermost frame is a notebook cell's own code (not a function it called)."""
    frames = traceback.extract_tb(tb)
    return bool(frames) and frames[-1].name == "<module>" and _in_cell(frames[-1].filename)


def friendly_message(error: BaseException, tb: Any) -> str | None:
    """The one line a learner sees for an unfinished exercise or a failed check.

    None for a NameError raised inside a function: that is a bug worth its traceback.
    """
    if isinstance(error, NameError):
        if not _raised_at_cell_level(tb) or not getattr(error, "name", None):
            return None
        name = error.name
        return (f"⏸ `{name}` is not defined yet: finish the exercise that defines it and run its cell first, "
                f"then run this cell again (if `{name}` is a typo, or text missing its quotes, fix it here).")
    if isinstance(error, CheckFailed) and isinstance(error.__context__, NotImplementedError):
        # A check caught the exercise's NotImplementedError (a RuntimeError) and explained it as a mistake.
        error, tb = error.__context__, error.__context__.__traceback__
    if isinstance(error, Unanswered):
        return f"⏸ {error}"
    if isinstance(error, NotImplementedError):
        name = _unfinished_exercise(tb)
        if name:
            return (f"⏸ Finish the exercise `{name}` first: it still raises NotImplementedError. "
                    "Fill in its cell, run it, then run this cell again.")
        return "⏸ This exercise is not done yet: replace `raise NotImplementedError()` with your answer."
    return f"✗ {error}"


def _show_friendly(shell, etype, value, tb, tb_offset=None) -> list[str]:
    message = friendly_message(value, tb)
    if message is None:
        stb = shell.InteractiveTB.structured_traceback(etype, value, tb, tb_offset=tb_offset)
    else:
        stb = [message]
        # A figure the cell had started is empty or half drawn: do not show it under the message.
        import matplotlib.pyplot as plt
        plt.close("all")
    shell._showtraceback(etype, value, stb)
    return stb


def setup(lesson: str) -> None:
    """Prepare the notebook for ``lesson``: friendly errors, quiet libraries, seed, plots."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError, CheckFailed, NameError), _show_friendly)
        shell.run_line_magic("matplotlib", "inline")
    for category in (DeprecationWarning, FutureWarning, UserWarning):
        for module in ("torch", "matplotlib", "transformers", "datasets", "tqdm", "ipywidgets"):
            warnings.filterwarnings("ignore", category=category, module=module)
    matplotlib.rcParams.update({"figure.figsize": (6.4, 3.6), "figure.dpi": 90, "axes.grid": True})
    torch.manual_seed(0)
    mode = "fast mode (small training budgets)" if fast_mode() else "full budgets"
    print(f"Lesson {lesson} · torch {torch.__version__} on {device()} · {mode}")


def report(name: str, value: float, unit: str = "") -> float:
    """Print a figure the lesson reaches and record it for the tests and benchmarks."""
    print(f"{name}: {value:.4g}{(' ' + unit) if unit else ''}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        results = json.loads(open(path).read()) if os.path.exists(path) else {}
        results[name] = float(value)
        with open(path, "w") as f:
            json.dump(results, f, indent=1)
    return value
