"""Self-study: `nbgrader validate` on this course's student notebooks, and friendly errors that
never hide a failure from the grader.

A learner runs `nbgrader validate notebooks/<id>/<id>.ipynb` from the course root (or presses
Validate in JupyterLab, which runs the same validator: tests/test_browser.py). On a finished
notebook it says so; on the untouched one it lists every graded cell that fails, each with the
one line the notebook itself shows. nbgrader validate reports and does not fail: it exits 0 either
way, and its verdict is in what it prints.

The one-line messages of `course_lib.notebook.setup` are still error outputs: nbgrader's
`determine_grade` (which validate and autograde share) scores every such cell zero, which the
validate run on every lesson shows, and a real `nbgrader autograde` of a small assignment using
every kind of friendly message shows end to end.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from lessons import ROOT, per_lesson

SUCCESS = "Success! Your notebook passes all the tests."
FAILED = re.compile(r"VALIDATION FAILED ON (\d+) CELL\(S\)")
NO_RESPONSE = "You did not provide a response."
FRIENDLY = re.compile(r"^[⏸✗] \S")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _scratch(tmp: Path) -> Path:
    """A course root like the learner's: nbgrader_config.py at the top, the notebook under notebooks/."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp / "nbgrader_config.py")
    return tmp


@pytest.fixture(scope="module")
def validate(tmp_path_factory):
    """`nbgrader validate` on one lesson's solved or untouched student notebook; cached."""
    cache: dict[tuple[str, str], tuple[int, str]] = {}

    def run(lesson: str, version: str) -> tuple[int, str]:
        if (lesson, version) not in cache:
            if not course.release_path(lesson).exists():
                pytest.fail(f"{lesson} has no student notebook notebooks/{lesson}/{lesson}.ipynb: run `make release`",
                            pytrace=False)
            root = _scratch(tmp_path_factory.mktemp(f"{lesson}-{version}"))
            nb = autograde.solved(lesson) if version == "solved" else nbformat.read(course.release_path(lesson), as_version=4)
            relative = Path("notebooks") / lesson / f"{lesson}.ipynb"
            (root / relative).parent.mkdir(parents=True)
            nbformat.write(nb, root / relative)
            result = course.nbgrader(["validate", str(relative)], cwd=root, check=False)
            cache[lesson, version] = (result.returncode, result.stdout + result.stderr)
        return cache[lesson, version]

    return run


def _graded_cells(lesson: str) -> list[str]:
    nb = nbformat.read(course.release_path(lesson), as_version=4)
    return [gid for gid, cell in autograde.cells_by_id(nb).items() if cell.metadata["nbgrader"].get("grade")]


def _reported_errors(output: str) -> list[list[str]]:
    """The lines under each "The error was:" of nbgrader validate's report."""
    errors = []
    for block in output.split("The error was:")[1:]:
        lines = []
        for line in block.lstrip("\n").splitlines():
            if not line.strip():
                break
            lines.append(line.strip())
        errors.append(lines)
    return errors


@pytest.mark.parametrize("lesson", per_lesson())
def test_validate_passes_the_finished_notebook(lesson, validate):
    code, output = validate(lesson, "solved")
    assert code == 0, f"nbgrader validate exited {code}:\n{output[-3000:]}"
    assert SUCCESS in output, f"nbgrader validate should pass {lesson} with the solution's answers:\n{output[-3000:]}"


@pytest.mark.parametrize("lesson", per_lesson())
def test_validate_lists_every_unfinished_exercise_in_one_line_each(lesson, validate):
    code, output = validate(lesson, "untouched")
    assert code == 0, f"nbgrader validate reports failures in its output and exits 0; it exited {code}:\n{output[-3000:]}"
    found = FAILED.search(output)
    graded = _graded_cells(lesson)
    assert found, f"nbgrader validate did not report the untouched {lesson} as failing:\n{output[-3000:]}"
    assert int(found.group(1)) == len(graded), (
        f"every graded cell of the untouched {lesson} should fail validation ({len(graded)}: {graded}); "
        f"{found.group(1)} did:\n{output[-3000:]}")
    errors = _reported_errors(output)
    assert len(errors) == len(graded), output[-3000:]
    long = [lines for lines in errors if len(lines) != 1 or not (FRIENDLY.match(lines[0]) or lines[0] == NO_RESPONSE)]
    assert not long, f"validate shows tracebacks instead of the one-line messages: {long}"
    assert "Traceback" not in output


# A small assignment with every kind of failure a learner meets, graded by real nbgrader autograde
# with the course's configuration: an unfinished function (used by its test and a later cell), an
# unfinished method whose test re-raises the RuntimeError as a check, an unfinished top-level answer
# (so its test meets an undefined name), and wrong answers (failed checks).
_LOCKED = {"grade": False, "locked": True, "solution": False, "task": False, "schema_version": 3}
_PROBE = [
    ("setup", "code", {}, 'from course_lib import notebook\nnotebook.setup("friendly_probe")\n'
                          'from course_lib.checks import CheckFailed, check_equal'),
    ("double", "code", {"solution": True, "locked": False},
     "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION"),
    ("test_double", "code", {"grade": True, "points": 2}, 'check_equal(double(3), 6, "double(3)")'),
    ("Doubler", "code", {"solution": True, "locked": False},
     "class Doubler:\n    def __call__(self, x):\n        ### BEGIN SOLUTION\n        return 2 * x\n        ### END SOLUTION"),
    # A test that turns the learner's RuntimeError into an explanation (NotImplementedError is one too).
    ("test_Doubler", "code", {"grade": True, "points": 1},
     'try:\n    _out = Doubler()(3)\nexcept RuntimeError as _error:\n'
     '    raise CheckFailed(f"Doubler fails: {_error}") from None\ncheck_equal(_out, 6, "Doubler()(3)")'),
    ("answers", "code", {"solution": True, "locked": False}, '### BEGIN SOLUTION\nanswer_q1 = "b"\n### END SOLUTION'),
    ("test_q1", "code", {"grade": True, "points": 1}, 'check_equal(answer_q1, "b", "answer_q1")'),
    ("use_double", "code", {}, "print(double(5))"),
]
_WRONG = {"double": "def double(x):\n    return x + 2", "answers": 'answer_q1 = "a"',
          "Doubler": "class Doubler:\n    def __call__(self, x):\n        return x + 2"}
_RIGHT = {"double": "def double(x):\n    return 2 * x", "answers": 'answer_q1 = "b"',
          "Doubler": "class Doubler:\n    def __call__(self, x):\n        return 2 * x"}


def _probe_source() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for gid, kind, meta, source in _PROBE:
        cell = nbformat.v4.new_code_cell(source)
        cell.metadata["nbgrader"] = {**_LOCKED, **meta, "grade_id": gid}
        nb.cells.append(cell)
    return nb


def test_friendly_messages_are_still_failures_for_the_grader(tmp_path):
    lesson = "friendly_probe"
    root = _scratch(tmp_path)
    (root / "solutions" / lesson).mkdir(parents=True)
    nbformat.write(_probe_source(), root / "solutions" / lesson / f"{lesson}.ipynb")
    course.generate([lesson], root)
    release = nbformat.read(root / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    autograde.submit(root, "untouched", lesson, release)
    for student, answers in (("wrong", _WRONG), ("finished", _RIGHT)):
        nb = release
        for gid, source in answers.items():
            nb = autograde.with_answer(nb, gid, source)
        autograde.submit(root, student, lesson, nb)
    autograde.autograde(root, lesson)
    scores = autograde.scores(root, lesson)
    assert scores["finished"] == {"test_double": 2, "test_Doubler": 1, "test_q1": 1}, scores
    assert scores["untouched"] == {"test_double": 0, "test_Doubler": 0, "test_q1": 0}, scores
    assert scores["wrong"] == {"test_double": 0, "test_Doubler": 0, "test_q1": 0}, scores

    expected = {"untouched": {"test_double": "⏸ Finish the exercise `double` first",
                              "test_Doubler": "⏸ Finish the exercise `Doubler.__call__` first",
                              "test_q1": "⏸ `answer_q1` is not defined yet",
                              "use_double": "⏸ Finish the exercise `double` first"},
                "wrong": {"test_double": "✗ ", "test_Doubler": "✗ ", "test_q1": "✗ "}}
    for student, cells in expected.items():
        graded = autograde.cells_by_id(nbformat.read(
            root / "grading" / "autograded" / student / lesson / f"{lesson}.ipynb", as_version=4))
        for gid, start in cells.items():
            errors = [o for o in graded[gid].outputs if o.output_type == "error"]
            assert len(errors) == 1, f"{student}/{gid}: the failure must stay an error output: {graded[gid].outputs}"
            shown = ANSI.sub("", "\n".join(errors[0].traceback))
            assert shown.startswith(start) and "\n" not in shown.strip(), f"{student}/{gid} shows {shown!r}"
