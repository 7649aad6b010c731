"""Whole-class grading throughput: a synthetic class of one lesson, graded with 1 and 2 workers.

Usage: python benchmarks/class_grading.py [LESSON] [--students 100] [--workers 1 2]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("lesson", nargs="?", default=course.lessons()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    notebooks = synthetic_class(args.lesson, args.students)
    print(f"{'lesson':16s} {'students':>8s} {'workers':>7s} {'seconds':>8s} {'per minute':>10s} {'graded':>6s} {'failed':>6s}")
    for workers in args.workers:
        with tempfile.TemporaryDirectory() as tmp:
            course_dir = course.scratch_course([args.lesson], Path(tmp))
            course.generate([args.lesson], course_dir)
            for i, nb in enumerate(notebooks):
                autograde.submit(course_dir, f"student{i:03d}", args.lesson, nb)
            start = time.perf_counter()
            outcomes = autograde.grade_class(course_dir, args.lesson, workers=workers)
            seconds = time.perf_counter() - start
        graded = sum(o.status == "graded" for o in outcomes)
        print(f"{args.lesson:16s} {len(outcomes):8d} {workers:7d} {seconds:8.0f} {60 * len(outcomes) / seconds:10.1f} "
              f"{graded:6d} {len(outcomes) - graded:6d}", flush=True)


if __name__ == "__main__":
    main()
