"""Per lesson: solution run time at full budget, autograde time for one submission, points,
and what the lesson costs CI.

Usage: python benchmarks/lessons.py [LESSON ...]   (default: every lesson)
Budgets: run <= 180 s, autograde <= 30 s per submission (full, as an instructor grades).
CI grades each lesson's round trip with experiments skipped: "CI round trip" estimates it as
the number of submissions the round trip grades times the skipped autograde time.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from course_lib.grading import autograde, course

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_roundtrip import submissions  # noqa: E402  (the round trip's packing of mutants)

RUN_BUDGET, GRADE_BUDGET = 180.0, 30.0


def run_seconds(lesson: str) -> float:
    path = course.solution_path(lesson)
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
    return time.perf_counter() - start


def autograde_seconds(lesson: str, skip_experiments: bool = False) -> tuple[float, float]:
    """Seconds to autograde one solved submission with the class-grading command (one worker,
    nbgrader's start and the kernel's included), and the points it scored."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.scratch_course([lesson], Path(tmp))
        course.generate([lesson], course_dir)
        autograde.submit(course_dir, "student", lesson, autograde.solved(lesson))
        start = time.perf_counter()
        autograde.grade_class(course_dir, lesson, workers=1, skip_experiments=skip_experiments)
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
    print(f"{'lesson':22s} {'run (s)':>8s} {'autograde (s)':>14s} {'skipped (s)':>12s} {'submissions':>12s} "
          f"{'CI round trip (s)':>18s} {'auto pts':>9s} {'scored':>7s} {'manual pts':>10s}  budget")
    total = ci = 0.0
    for lesson in chosen:
        run = run_seconds(lesson)
        grade, scored = autograde_seconds(lesson)
        skipped, _ = autograde_seconds(lesson, skip_experiments=True)
        count = 2 + len(submissions(lesson))  # the solution, the untouched notebook, the packed mutants
        auto, manual = points(lesson)
        total += run
        ci += run + count * skipped
        ok = "ok" if run <= RUN_BUDGET and grade <= GRADE_BUDGET else "OVER"
        print(f"{lesson:22s} {run:8.1f} {grade:14.1f} {skipped:12.1f} {count:12d} {count * skipped:18.1f} "
              f"{auto:9.0f} {scored:7.0f} {manual:10.0f}  {ok}", flush=True)
    print(f"{'whole series':22s} {total:8.1f}   (budget 1200 s); full-budget runs + round trips: {ci:.0f} s of CI")


if __name__ == "__main__":
    main()
