"""Per lesson: solution run time at full budget, autograde time for one submission, points.

Usage: python benchmarks/lessons.py [LESSON ...]   (default: every lesson)
Budgets (COURSE_DESIGN.md section 5): run <= 180 s, autograde <= 30 s per submission.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.grading import autograde, course

RUN_BUDGET, GRADE_BUDGET = 180.0, 30.0


def run_seconds(lesson: str) -> float:
    path = course.solution_path(lesson)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def autograde_seconds(lesson: str) -> tuple[float, float]:
    """Seconds to autograde one solved submission, and the points it scored."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.scratch_course([lesson], Path(tmp))
        course.generate([lesson], course_dir)
        autograde.submit(course_dir, "student", lesson, autograde.solved(lesson))
        start = time.perf_counter()
        autograde.autograde(course_dir, lesson, student="student")
        seconds = time.perf_counter() - start
        scored = sum(v for v in autograde.scores(course_dir, lesson)["student"].values() if v is not None)
    return seconds, scored


def points(lesson: str) -> tuple[float, float]:
    """(autograded, manually graded) points of a lesson."""
    nb = nbformat.read(course.release_path(lesson), as_version=4)
    auto = manual = 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            if meta.get("solution"):
                manual += meta["points"]
            else:
                auto += meta["points"]
    return auto, manual


def main() -> None:
    chosen = sys.argv[1:] or course.lessons()
    print(f"{'lesson':22s} {'run (s)':>8s} {'autograde (s)':>14s} {'auto pts':>9s} {'scored':>7s} {'manual pts':>10s}  budget")
    total = 0.0
    for lesson in chosen:
        run = run_seconds(lesson)
        grade, scored = autograde_seconds(lesson)
        auto, manual = points(lesson)
        total += run
        ok = "ok" if run <= RUN_BUDGET and grade <= GRADE_BUDGET else "OVER"
        print(f"{lesson:22s} {run:8.1f} {grade:14.1f} {auto:9.0f} {scored:7.0f} {manual:10.0f}  {ok}", flush=True)
    print(f"{'whole series':22s} {total:8.1f}   (budget 1200 s)")


if __name__ == "__main__":
    main()
