"""Grading submissions of this course with nbgrader: build, submit, autograde, read scores.

Used by the round-trip tests and the benchmarks; every step is a plain nbgrader command
on a course directory laid out as nbgrader_config.py says.
"""
from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.course import nbgrader, release_path, solution_path

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def cells_by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    """nbgrader cells by grade_id."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def solved(lesson: str) -> NotebookNode:
    """The student notebook with every answer cell filled in from the solution, as a student would."""
    nb = nbformat.read(release_path(lesson), as_version=4)
    answers = cells_by_id(nbformat.read(solution_path(lesson), as_version=4))
    for gid, cell in cells_by_id(nb).items():
        if cell.metadata["nbgrader"].get("solution"):
            cell.source = _MARKER.sub("", answers[gid].source)
    return nb


def with_answer(nb: NotebookNode, answer_id: str, source: str) -> NotebookNode:
    """A copy of ``nb`` whose answer cell ``answer_id`` holds ``source``."""
    nb = copy.deepcopy(nb)
    cell = cells_by_id(nb).get(answer_id)
    if cell is None or not cell.metadata["nbgrader"].get("solution"):
        raise KeyError(f"{answer_id!r} is not an answer cell of this notebook")
    cell.source = source
    return nb


def submit(course_dir: Path, student: str, lesson: str, nb: NotebookNode) -> Path:
    """Place ``nb`` where nbgrader collects a submission."""
    path = course_dir / "grading" / "submitted" / student / lesson / f"{lesson}.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def autograde(course_dir: Path, lesson: str, student: str | None = None) -> str:
    """Autograde every submission of ``lesson`` (or one student's); returns nbgrader's log."""
    args = ["autograde", lesson, "--force"] + ([f"--student={student}"] if student else [])
    result = nbgrader(args, cwd=course_dir)
    return result.stdout + result.stderr


def scores(course_dir: Path, lesson: str) -> dict[str, dict[str, float | None]]:
    """Points per student and grade cell, read from the gradebook (None: needs manual grading)."""
    from nbgrader.api import Gradebook

    url = "sqlite:///" + str(course_dir / "grading" / "gradebook.db")
    result: dict[str, dict[str, float | None]] = {}
    with Gradebook(url) as gb:
        for submission in gb.assignment_submissions(lesson):
            notebook = submission.notebooks[0]
            result[submission.student.id] = {
                grade.name: grade.score if not grade.needs_manual_grade else None for grade in notebook.grades
            }
    return result
