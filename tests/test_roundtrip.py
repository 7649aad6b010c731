"""The nbgrader round trip for every lesson, in a scratch copy of the course.

One autograde batch per lesson grades: the solution submitted as a student (full marks),
the untouched student notebook (zero on every autograded cell, and the run completes),
and each mutant in tests/mutants/<lesson>/ (it loses its exercise's points and no other's).
The same generation checks that the committed notebooks/ equal a fresh one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from lessons import LESSONS, ROOT, per_lesson

MUTANTS = ROOT / "tests" / "mutants"


@dataclass
class Mutant:
    """A realistic wrong answer: which answer cell it replaces and which test cells it must fail."""

    lesson: str
    name: str
    answer_id: str
    source: str
    loses: list[str]

    @classmethod
    def load(cls, lesson: str, path: Path) -> "Mutant":
        source = path.read_text()
        answer_id = path.stem.split("--")[0]
        first = source.splitlines()[0]
        loses = [s.strip() for s in first.split(":", 1)[1].split(",")] if first.startswith("# loses:") else [f"test_{answer_id}"]
        return cls(lesson, path.stem, answer_id, source, loses)


def mutants(lesson: str) -> list[Mutant]:
    return [Mutant.load(lesson, p) for p in sorted((MUTANTS / lesson).glob("*.py"))]


@pytest.fixture(scope="module")
def graded(request, tmp_path_factory):
    """Grade every submission of every lesson this worker is given, once; cache by lesson."""
    cache: dict[str, tuple[Path, dict]] = {}

    def grade(lesson: str):
        if lesson not in cache:
            course_dir = course.scratch_course([lesson], tmp_path_factory.mktemp(lesson))
            course.generate([lesson], course_dir)
            solved = autograde.solved(lesson)
            autograde.submit(course_dir, "solution", lesson, solved)
            autograde.submit(course_dir, "blank", lesson, nbformat.read(course.release_path(lesson), as_version=4))
            for i, m in enumerate(mutants(lesson)):
                autograde.submit(course_dir, f"mutant{i:02d}", lesson, autograde.with_answer(solved, m.answer_id, m.source))
            autograde.autograde(course_dir, lesson)
            cache[lesson] = (course_dir, autograde.scores(course_dir, lesson))
        return cache[lesson]

    return grade


def max_points(lesson: str) -> dict[str, float]:
    nb = nbformat.read(course.release_path(lesson), as_version=4)
    return {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in autograde.cells_by_id(nb).items()
            if c.metadata["nbgrader"].get("grade")}


def autograded(lesson: str) -> dict[str, float]:
    nb = nbformat.read(course.release_path(lesson), as_version=4)
    return {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in autograde.cells_by_id(nb).items()
            if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}


@pytest.mark.parametrize("lesson", per_lesson())
def test_committed_release_equals_fresh_generation(lesson, graded):
    course_dir, _ = graded(lesson)
    fresh = nbformat.read(course_dir / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    committed = nbformat.read(course.release_path(lesson), as_version=4)
    assert committed == fresh, f"notebooks/{lesson} is stale: run `make release`"


@pytest.mark.parametrize("lesson", per_lesson())
def test_solution_scores_full_marks(lesson, graded):
    _, scores = graded(lesson)
    expected = autograded(lesson)
    assert len(expected) >= 5, "a lesson has at least four exercises and a quiz"
    assert {gid: scores["solution"][gid] for gid in expected} == expected


@pytest.mark.parametrize("lesson", per_lesson())
def test_untouched_notebook_scores_zero(lesson, graded):
    _, scores = graded(lesson)
    assert "blank" in scores, "the untouched student notebook must be graded, not crash the run"
    assert {gid: scores["blank"][gid] for gid in autograded(lesson)} == {gid: 0 for gid in autograded(lesson)}


@pytest.mark.parametrize("lesson", per_lesson())
def test_every_exercise_has_two_mutants(lesson):
    answers = [gid for gid, c in autograde.cells_by_id(nbformat.read(course.release_path(lesson), as_version=4)).items()
               if c.metadata["nbgrader"].get("solution") and c.cell_type == "code"]
    counts = {gid: sum(m.answer_id == gid for m in mutants(lesson)) for gid in answers}
    assert all(n >= 2 for n in counts.values()), f"each exercise needs at least two mutants: {counts}"


@pytest.mark.parametrize(
    "lesson, index",
    [pytest.param(lesson, i, marks=pytest.mark.xdist_group(lesson), id=f"{lesson}-{m.name}")
     for lesson in LESSONS for i, m in enumerate(mutants(lesson))],
)
def test_mutant_loses_exactly_its_points(lesson, index, graded):
    _, scores = graded(lesson)
    mutant = mutants(lesson)[index]
    got = scores[f"mutant{index:02d}"]
    full = autograded(lesson)
    assert set(mutant.loses) <= set(full), f"{mutant.name} names unknown test cells {mutant.loses}"
    lost = {gid for gid, points in full.items() if got[gid] < points}
    assert lost == set(mutant.loses), f"{mutant.name} should lose {mutant.loses}; it lost {sorted(lost)}"


def visible_text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("lesson", per_lesson())
def test_feedback_explains_failures_and_hides_hidden_tests(lesson, graded):
    course_dir, scores = graded(lesson)
    index = next(i for i, m in enumerate(mutants(lesson)) if not m.answer_id.startswith("quiz"))
    student = f"mutant{index:02d}"
    course.nbgrader(["generate_feedback", lesson, f"--student={student}", "--force"], cwd=course_dir)
    text = visible_text((course_dir / "grading" / "feedback" / student / lesson / f"{lesson}.html").read_text())
    failed = mutants(lesson)[index].loses[0]
    section = text.split(f"Grade cell: {failed}", 1)[1].split("Grade cell:", 1)[0]
    assert re.search(r"Score: 0(\.0)? /", section), "feedback should show the failed exercise's score"
    assert re.search(r"^\w*(Error|CheckFailed|ShortcutUsed): \S", section, re.M), "feedback should say why it failed"
    source = nbformat.read(course.solution_path(lesson), as_version=4)
    pattern = r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS"
    shown = {line.strip() for cell in source.cells for line in re.sub(pattern, "", cell.source, flags=re.S).splitlines()}
    hidden = [line.strip() for cell in source.cells for block in re.findall(pattern, cell.source, re.S)
              for line in block.splitlines() if len(line.strip()) > 25 and line.strip() not in shown]
    assert hidden, "the lesson has hidden tests"
    leaked = [line for line in hidden if line in text]
    assert leaked == [], f"feedback shows hidden test code: {leaked[:3]}"
