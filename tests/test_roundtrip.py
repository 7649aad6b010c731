"""The nbgrader round trip for every lesson, in a scratch copy of the course.

One class per lesson, graded with the course's class-grading command: the solution submitted
as a student (full marks), the untouched student notebook (zero on every autograded cell, and
the run completes), and the mutants in tests/mutants/<lesson>/ together with the hostile kinds
whose outcome depends on the lesson (``hostile.LESSON_DEPENDENT``): each loses its exercise's
points and no other's.

Every exercise is graded in isolation (hidden tests provide the course's version of earlier
exercises), so one submission carries several mutants of *different* exercises at once: the
mutants are packed into as few submissions as the exercise with the most mutants needs, no two
in one submission touching the same answer cell or the same test cell. A submission must then
lose exactly the union of its mutants' test cells; each mutant must lose its own.
The same generation checks that the committed notebooks/ equal a fresh one.

A mutant file may name, on its first two lines, ``# loses: test_a, test_b`` (the test cells it must
fail; by default ``test_<answer cell>``) and ``# hint: <phrase>``: the targeted hint of a visible
check that names the mistake the mutant makes. The autograded notebook of the submission carrying it
must show that phrase in the error output of one of those test cells, so that every such hint is
proved to fire on the mistake it names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from hostile import LESSON_DEPENDENT, first_exercise
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
    hint: str | None = None

    @classmethod
    def load(cls, lesson: str, path: Path) -> "Mutant":
        source = path.read_text()
        answer_id = path.stem.split("--")[0]
        head = source.splitlines()[:2]
        named = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in head
                 if line.startswith(("# loses:", "# hint:"))}
        loses = [s.strip() for s in named["# loses"].split(",")] if "# loses" in named else [f"test_{answer_id}"]
        return cls(lesson, path.stem, answer_id, source, loses, named.get("# hint") or None)


def mutants(lesson: str) -> list[Mutant]:
    return [Mutant.load(lesson, p) for p in sorted((MUTANTS / lesson).glob("*.py"))]


def hostile_mutants(lesson: str) -> list[Mutant]:
    """The lesson-dependent hostile kinds, as mutants of the lesson's first exercise."""
    answer_id = first_exercise(lesson)[0]
    return [Mutant(lesson, name, answer_id, make(lesson), [f"test_{answer_id}"]) for name, make in LESSON_DEPENDENT.items()]


def packed(items: list[Mutant]) -> list[list[Mutant]]:
    """Mutants packed into submissions: first fit, no two in one touching the same answer or test cell."""
    submissions: list[list[Mutant]] = []
    for m in items:
        fits = next((s for s in submissions if all(m.answer_id != o.answer_id and not set(m.loses) & set(o.loses)
                                                   for o in s)), None)
        if fits is None:
            submissions.append(fits := [])
        fits.append(m)
    return submissions


def submissions(lesson: str) -> dict[str, list[Mutant]]:
    """Student id -> the mutants that student's submission carries."""
    return {f"packed{i:02d}": group for i, group in enumerate(packed(mutants(lesson) + hostile_mutants(lesson)))}


def carrier(lesson: str, name: str) -> str:
    return next(student for student, group in submissions(lesson).items() if any(m.name == name for m in group))


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
            for student, group in submissions(lesson).items():
                nb = solved
                for m in group:
                    nb = autograde.with_answer(nb, m.answer_id, m.source)
                autograde.submit(course_dir, student, lesson, nb)
            # one worker: pytest-xdist already runs a test on each core
            outcomes = autograde.grade_class(course_dir, lesson, workers=1, timeout=600, skip_experiments=True)
            failed = [o for o in outcomes if o.status != "graded"]
            assert not failed, f"{lesson}: submissions the grader could not grade: {failed}"
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
    "lesson, name",
    [pytest.param(lesson, m.name, marks=pytest.mark.xdist_group(lesson), id=f"{lesson}-{m.name}")
     for lesson in LESSONS for m in mutants(lesson) + hostile_mutants(lesson)],
)
def test_mutant_loses_exactly_its_points(lesson, name, graded):
    _, scores = graded(lesson)
    student = carrier(lesson, name)
    group = submissions(lesson)[student]
    mutant = next(m for m in group if m.name == name)
    got = scores[student]
    full = autograded(lesson)
    assert set(mutant.loses) <= set(full), f"{mutant.name} names unknown test cells {mutant.loses}"
    lost = {gid for gid, points in full.items() if got[gid] < points}
    assert set(mutant.loses) <= lost, f"{mutant.name} should lose {mutant.loses}; it lost only {sorted(lost)}"
    named = {gid for m in group for gid in m.loses}
    assert lost <= named, (f"{student} (carrying {[m.name for m in group]}) lost {sorted(lost - named)}, which none "
                           f"of its mutants names: one of them costs points outside its own exercise")


def error_text(nb: nbformat.NotebookNode, grade_ids: list[str]) -> str:
    """The error outputs (name and message) of the given cells, whitespace folded."""
    cells = autograde.cells_by_id(nb)
    found = [f"{output.get('ename', '')}: {output.get('evalue', '')}" for gid in grade_ids if gid in cells
             for output in cells[gid].get("outputs", []) if output.get("output_type") == "error"]
    return " ".join(" ".join(found).split())


@pytest.mark.parametrize(
    "lesson, name",
    [pytest.param(lesson, m.name, marks=pytest.mark.xdist_group(lesson), id=f"{lesson}-{m.name}")
     for lesson in LESSONS for m in mutants(lesson) if m.hint],
)
def test_mutant_shows_the_hint_it_names(lesson, name, graded):
    course_dir, _ = graded(lesson)
    mutant = next(m for m in mutants(lesson) if m.name == name)
    student = carrier(lesson, name)
    path = course_dir / "grading" / "autograded" / student / lesson / f"{lesson}.ipynb"
    shown = error_text(nbformat.read(path, as_version=4), mutant.loses)
    assert " ".join(mutant.hint.split()) in shown, (
        f"{name} names the hint {mutant.hint!r}, but the error output of {mutant.loses} in {student}'s autograded "
        f"notebook is: {shown[:600]!r}")


def test_mutant_header_names_what_it_loses_and_its_hint(tmp_path):
    path = tmp_path / "exercise--mistake.py"
    path.write_text("# loses: test_exercise, test_other\n# hint: Keep the diagonal\ndef exercise(): pass\n")
    mutant = Mutant.load("x", path)
    assert (mutant.loses, mutant.hint) == (["test_exercise", "test_other"], "Keep the diagonal")
    path.write_text("# hint: a phrase: with a colon\ndef exercise(): pass\n")
    mutant = Mutant.load("x", path)
    assert (mutant.loses, mutant.hint) == (["test_exercise"], "a phrase: with a colon")
    path.write_text("def exercise(): pass\n")
    assert Mutant.load("x", path).hint is None


def test_packing_keeps_exercises_apart():
    a = Mutant("x", "a1", "a", "", ["test_a"])
    b = Mutant("x", "b1", "b", "", ["test_b"])
    a2 = Mutant("x", "a2", "a", "", ["test_a"])
    q = Mutant("x", "q", "quiz", "", ["test_q1", "test_b"])
    groups = packed([a, b, a2, q])
    assert [[m.name for m in g] for g in groups] == [["a1", "b1"], ["a2", "q"]]


def visible_text(html: str) -> str:
    import html as html_lib

    return html_lib.unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("lesson", per_lesson())
def test_feedback_explains_failures_and_hides_hidden_tests(lesson, graded):
    course_dir, scores = graded(lesson)
    mutant = next(m for m in mutants(lesson) if not m.answer_id.startswith("quiz"))
    student = carrier(lesson, mutant.name)
    course.nbgrader(["generate_feedback", lesson, f"--student={student}", "--force"], cwd=course_dir)
    text = visible_text((course_dir / "grading" / "feedback" / student / lesson / f"{lesson}.html").read_text())
    failed = mutant.loses[0]
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
