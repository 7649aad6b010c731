"""Whole-class grading throughput: a synthetic class of one lesson, graded with 1 and 2 workers,
each kernel sealed in its sandbox and, with ``--sandbox both``, also unsealed to show what the seal costs.

Usage: python benchmarks/class_grading.py [LESSON] [--students 100] [--workers 1 2] [--sandbox on|off|both]
The class mixes solved notebooks, untouched ones and every mutant of the lesson, in turn.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from course_lib.grading import autograde, course

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from test_roundtrip import mutants  # noqa: E402


def synthetic_class(lesson: str, students: int) -> list[nbformat.NotebookNode]:
    solved = autograde.solved(lesson)
    kinds = [solved, nbformat.read(course.release_path(lesson), as_version=4)]
    kinds += [autograde.with_answer(solved, m.answer_id, m.source) for m in mutants(lesson)]
    return [kinds[i % len(kinds)] for i in range(students)]


def grade(lesson: str, notebooks: list[nbformat.NotebookNode], workers: int, sandbox: bool) -> tuple[float, int]:
    """Seconds to grade the class in a fresh course directory, and how many were graded."""
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = course.scratch_course([lesson], Path(tmp))
        course.generate([lesson], course_dir)
        for i, nb in enumerate(notebooks):
            autograde.submit(course_dir, f"student{i:03d}", lesson, nb)
        start = time.perf_counter()
        outcomes = autograde.grade_class(course_dir, lesson, workers=workers, sandbox=sandbox)
        return time.perf_counter() - start, sum(o.status == "graded" for o in outcomes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lesson", nargs="?", default=course.lessons()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--sandbox", choices=["on", "off", "both"], default="on",
                        help="grade with each kernel sealed (on), unsealed (off), or both, to measure the seal's cost")
    args = parser.parse_args()
    notebooks = synthetic_class(args.lesson, args.students)
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.sandbox]
    print(f"{'lesson':16s} {'students':>8s} {'workers':>7s} {'sandbox':>7s} {'seconds':>8s} {'s/student':>9s} "
          f"{'per minute':>10s} {'graded':>6s} {'failed':>6s}")
    for workers in args.workers:
        for sandbox in modes:
            seconds, graded = grade(args.lesson, notebooks, workers, sandbox)
            print(f"{args.lesson:16s} {len(notebooks):8d} {workers:7d} {'on' if sandbox else 'off':>7s} {seconds:8.0f} "
                  f"{seconds / len(notebooks):9.2f} {60 * len(notebooks) / seconds:10.1f} {graded:6d} "
                  f"{len(notebooks) - graded:6d}", flush=True)


if __name__ == "__main__":
    main()
