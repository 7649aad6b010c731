"""What the suite knows about the lessons: which exist, and the figures each must reach."""
from __future__ import annotations

import operator
from pathlib import Path

import pytest

from course_lib.course import lessons

ROOT = Path(__file__).resolve().parent.parent
LESSONS = lessons()

# The figure each lesson reports (notebook.report) at its full budget, and the floor or
# ceiling the suite holds it to. A lesson without an entry here fails the notebook test.
FIGURES: dict[str, dict[str, tuple[str, float]]] = {
    "01_rnn_limits": {
        "rnn_recall_accuracy_shortest_delay": (">=", 0.95),
        "rnn_recall_accuracy_longest_delay": ("<=", 0.3),
        "rnn_gradient_shrink_factor_over_20_steps": (">=", 1e3),
    },
}

COMPARE = {">=": operator.ge, "<=": operator.le}


def per_lesson(names: list[str] | None = None) -> list:
    """Parametrize values for each lesson, grouped so xdist keeps a lesson on one worker."""
    return [pytest.param(lesson, marks=pytest.mark.xdist_group(lesson), id=lesson) for lesson in (names or LESSONS)]
