"""What the first cell of every lesson sets up, and how lessons report their figures.

``setup`` makes a notebook friendly for a first-time learner: an exercise that is not
done yet shows one line naming it instead of a long traceback, a failed check shows its
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

from course_lib.checks import CheckFailed
from course_lib.training import device, fast_mode

RESULTS_ENV = "COURSE_RESULTS"


def _unfinished_exercise(tb: Any) -> str | None:
    """The notebook function that raised NotImplementedError, if any."""
    frames = [f for f in traceback.extract_tb(tb) if "ipykernel" in f.filename or f.filename.startswith("<")]
    return frames[-1].name if frames and frames[-1].name != "<module>" else None


def friendly_message(error: BaseException, tb: Any) -> str:
    """The one line a learner sees for an unfinished exercise or a failed check."""
    if isinstance(error, NotImplementedError):
        name = _unfinished_exercise(tb)
        if name:
            return (f"⏸ Finish the exercise `{name}` first: it still raises NotImplementedError. "
                    "Fill in its cell, run it, then run this cell again.")
        return "⏸ This exercise is not done yet: replace `raise NotImplementedError()` with your answer."
    return f"✗ {error}"


def _show_friendly(shell, etype, value, tb, tb_offset=None) -> list[str]:
    stb = [friendly_message(value, tb)]
    shell._showtraceback(etype, value, stb)
    return stb


def setup(lesson: str) -> None:
    """Prepare the notebook for ``lesson``: friendly errors, quiet libraries, seed, plots."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.set_custom_exc((NotImplementedError, CheckFailed), _show_friendly)
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
