"""A corpus of broken and hostile submissions, built from any lesson's solved notebook.

Each entry says how to build the submission and what grading must end with: the test
cells that lose their points, the status, and words the recorded reason must contain.

Most entries exercise machinery that is the same for every lesson (time and memory limits,
crash recovery, the rebuild on the release, refusals), so tests/test_hostile.py grades the
whole corpus on one lesson. The outcome of the entries in ``LESSON_DEPENDENT`` depends on
each lesson's own hidden tests (its reference made unusable, exact-type checks), so the round
trip (tests/test_roundtrip.py) grades those for every lesson, packed with the mutants.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbformat import NotebookNode

from course_lib.grading import autograde, course


@dataclass
class Hostile:
    name: str
    build: Callable[[str, Path], None]  # (lesson, submission folder) -> writes files
    loses: str = "none"  # "none", "first" (the first exercise's tests) or "all"
    status: str = "graded"
    reason: str = ""  # a phrase the recorded reason must contain ("" = no reason needed)


def first_exercise(lesson: str) -> tuple[str, str, str]:
    """(answer cell id, function name, course_lib reference) of the lesson's first exercise."""
    solved = autograde.solved(lesson)
    for gid, cell in autograde.cells_by_id(solved).items():
        match = re.search(r"^def (\w+)\(", cell.source, re.M)
        if cell.metadata["nbgrader"].get("solution") and match:
            test = autograde.cells_by_id(nbformat.read(course.solution_path(lesson), as_version=4))[f"test_{gid}"]
            reference = re.search(r"course_lib\.\w+\.%s" % match.group(1), test.source).group(0)
            return gid, match.group(1), reference
    raise ValueError(f"{lesson} has no function exercise")


def wrapped_answer(lesson: str, body: str) -> str:
    """The first exercise's answer cell, with its function replaced by one running ``body``."""
    gid, name, _ = first_exercise(lesson)
    source = autograde.cells_by_id(autograde.solved(lesson))[gid].source
    return f"{source}\n\ndef {name}(*args, **kwargs):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def reference_answer(lesson: str) -> str:
    """The first exercise's answer cell, delegating to the course's own reference."""
    _, name, reference = first_exercise(lesson)
    module, _, function = reference.rpartition(".")
    return f"import {module}\n\ndef {name}(*args, **kwargs):\n    return {module}.{function}(*args, **kwargs)\n"


ALWAYS_EQUAL = "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\nreturn AlwaysEqual()"

# The kinds whose outcome depends on the lesson: name -> the first exercise's answer cell.
LESSON_DEPENDENT: dict[str, Callable[[str], str]] = {
    "calls_reference": reference_answer,
    "always_equal_object": lambda lesson: wrapped_answer(lesson, ALWAYS_EQUAL),
}


def wrapped(body: str) -> Callable[[str], NotebookNode]:
    """The solved notebook whose first exercise's function is replaced by one running ``body``."""
    def make(lesson: str) -> NotebookNode:
        return autograde.with_answer(autograde.solved(lesson), first_exercise(lesson)[0], wrapped_answer(lesson, body))
    return make


def edited(change: Callable[[NotebookNode, str], None]) -> Callable[[str], NotebookNode]:
    def make(lesson: str) -> NotebookNode:
        nb = copy.deepcopy(autograde.solved(lesson))
        change(nb, lesson)
        return nb
    return make


def tests_of(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def _edit_tests(nb: NotebookNode, lesson: str) -> None:
    for cell in tests_of(nb):
        cell.source = "pass  # the student emptied this test"
        cell.metadata.nbgrader["points"] = 100


def _delete_tests(nb: NotebookNode, lesson: str) -> None:
    nb.cells = [c for c in nb.cells if c not in tests_of(nb)]


def _duplicate_tests(nb: NotebookNode, lesson: str) -> None:
    first = tests_of(nb)[0]
    nb.cells.insert(nb.cells.index(first) + 1, copy.deepcopy(first))
    nb.cells.insert(0, copy.deepcopy(tests_of(nb)[-1]))


def _unlock_and_demote(nb: NotebookNode, lesson: str) -> None:
    for cell in tests_of(nb):
        cell.metadata.nbgrader.update(locked=False, grade=False, solution=True)


def _stderr_everywhere(nb: NotebookNode, lesson: str) -> None:
    for gid, cell in autograde.cells_by_id(nb).items():
        if cell.metadata["nbgrader"].get("solution") and cell.cell_type == "code":
            cell.source = "import sys\nprint('debug: about to define my answer', file=sys.stderr)\n" + cell.source
    nb.cells.append(nbformat.v4.new_code_cell("import warnings\nwarnings.warn('a warning of my own')"))


def _monkeypatch(lesson: str) -> NotebookNode:
    gid, name, _ = first_exercise(lesson)
    return autograde.with_answer(autograde.solved(lesson), gid, (
        f"def {name}(*args, **kwargs):\n    return None\n\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "checks.check_close = lambda *a, **k: None\n"))


def _input_transformer(lesson: str) -> NotebookNode:
    gid, _, _ = first_exercise(lesson)
    solved = autograde.solved(lesson)
    source = autograde.cells_by_id(solved)[gid].source
    return autograde.with_answer(solved, gid, source + "\n\nget_ipython().input_transformers_cleanup.append(lambda lines: [])\n")


def _writes(make: Callable[[str], NotebookNode], filename: str | None = None) -> Callable[[str, Path], None]:
    def build(lesson: str, folder: Path) -> None:
        nbformat.write(make(lesson), folder / (filename or f"{lesson}.ipynb"))
    return build


def _raw(text: str) -> Callable[[str, Path], None]:
    def build(lesson: str, folder: Path) -> None:
        (folder / f"{lesson}.ipynb").write_text(text)
    return build


def _other_assignment(lesson: str, folder: Path) -> None:
    others = [other for other in course.lessons() if other != lesson and course.release_path(other).exists()]
    if others:
        nb = nbformat.read(course.release_path(others[0]), as_version=4)
    else:  # only one lesson exists: a notebook whose exercise cells all have foreign ids
        nb = nbformat.read(course.release_path(lesson), as_version=4)
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                cell.metadata.nbgrader["grade_id"] = "other_" + cell.metadata.nbgrader["grade_id"]
    nbformat.write(nb, folder / f"{lesson}.ipynb")


def _empty_folder(lesson: str, folder: Path) -> None:
    (folder / "notes.txt").write_text("I ran out of time")


CORPUS = [
    Hostile("honest", _writes(autograde.solved)),
    Hostile("infinite_loop", _writes(wrapped("while True:\n    pass")), loses="first", reason="time limit"),
    Hostile("kernel_crash", _writes(wrapped("import os\nos._exit(1)")), loses="first", reason="kernel died"),
    Hostile("memory_exhaustion", _writes(wrapped("hog = [torch.ones(2**27) for _ in range(1000)]\nreturn hog")), loses="first"),
    Hostile("long_sleep", _writes(wrapped("import time\ntime.sleep(10**6)")), loses="first", reason="time limit"),
    Hostile("stderr_from_correct_code", _writes(edited(_stderr_everywhere))),
    Hostile("always_equal_object", _writes(wrapped(ALWAYS_EQUAL)), loses="first"),
    Hostile("monkeypatched_torch", _writes(_monkeypatch), loses="first", reason="torch.allclose"),
    Hostile("input_transformer", _writes(_input_transformer), loses="first", reason="get_ipython"),
    Hostile("edited_tests_and_points", _writes(edited(_edit_tests))),
    Hostile("deleted_tests", _writes(edited(_delete_tests))),
    Hostile("duplicated_tests", _writes(edited(_duplicate_tests))),
    Hostile("tests_turned_into_answers", _writes(edited(_unlock_and_demote))),
    Hostile("calls_reference", _writes(lambda lesson: autograde.with_answer(
        autograde.solved(lesson), first_exercise(lesson)[0], reference_answer(lesson))), loses="first"),
    Hostile("renamed_notebook", _writes(autograde.solved, "my homework (final).ipynb"), reason="renamed notebook"),
    Hostile("malformed_file", _raw('{"cells": [ this is not json'), loses="all", status="refused", reason="malformed"),
    Hostile("zero_byte_file", _raw(""), loses="all", status="refused", reason="malformed"),
    Hostile("other_assignment", _other_assignment, loses="all", status="refused", reason="answer cells"),
    Hostile("empty_submission", _empty_folder, loses="all", status="refused", reason="no notebook"),
]
