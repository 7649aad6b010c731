"""Grading holds against broken and hostile submissions.

One class: an honest student and every entry of tests/hostile.py, graded with the
instructor's class-grading command, each kernel sealed in its sandbox. Each must end with the
right score, a readable recorded reason, the submitted files untouched, and every other grade
intact; the intruders must have been stopped at every attempt and changed nothing outside their
sandbox (course files, gradebook, other students, files left behind, connections); feedback
must be generated for every graded student, with no hidden test in it.

The machinery proved here (limits, crash recovery, the rebuild on the release, refusals,
feedback, export) is the same for every lesson, so one lesson carries the whole corpus; the
kinds whose outcome depends on a lesson's own hidden tests (``hostile.LESSON_DEPENDENT``) are
graded for every lesson by the round trip.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from hostile import CORPUS, LISTENERS, PIXEL, first_exercise
from lessons import LESSONS

LESSON = LESSONS[0]  # the lesson that carries the whole corpus

CELL_TIMEOUT = 10


def digests(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (a symbolic link by its target), by relative path."""
    return {p.relative_to(folder).as_posix(): os.readlink(p) if p.is_symlink() else hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_symlink() or p.is_file()}


def selected_entries(session: pytest.Session) -> list:
    """The corpus entries the selected tests need: every entry when a test of the whole class is
    selected, else the selected entries and the honest student (the intruders aim at its files)."""
    def entry_of(item: pytest.Item):
        callspec = getattr(item, "callspec", None)
        return callspec.params.get("entry") if callspec else None

    needed = [entry_of(item) for item in session.items if item.module.__name__ == __name__]
    if None in needed:
        return CORPUS
    names = {"honest"} | {entry.name for entry in needed}
    return [entry for entry in CORPUS if entry.name in names]


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, request):
    cache: dict = {}
    corpus = selected_entries(request.session)

    def grade(lesson: str):
        if lesson not in cache:
            course_dir = course.scratch_course([lesson], tmp_path_factory.mktemp(f"class-{lesson}"))
            course.generate([lesson], course_dir)
            submitted = {}
            for entry in corpus:
                folder = course_dir / "grading" / "submitted" / entry.name / lesson
                folder.mkdir(parents=True)
                entry.build(lesson, folder)
                submitted[entry.name] = digests(folder)
            course_files = {name: digests(course_dir / name) for name in ("solutions", "notebooks")}
            # one worker: pytest-xdist already runs a test on each core
            outcomes = autograde.grade_class(course_dir, lesson, workers=1, timeout=600, memory_gb=3,
                                             cell_timeout=CELL_TIMEOUT)
            cache[lesson] = (course_dir, {o.student: o for o in outcomes}, autograde.scores(course_dir, lesson),
                             submitted, course_files)
        return cache[lesson]

    return grade


def autograded_cells(lesson: str) -> dict[str, float]:
    import nbformat

    nb = nbformat.read(course.release_path(lesson), as_version=4)
    return {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in autograde.cells_by_id(nb).items()
            if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}


@pytest.mark.parametrize("lesson, entry", [
    pytest.param(LESSON, entry, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=f"{LESSON}-{entry.name}")
    for entry in CORPUS])
def test_submission_ends_as_expected(lesson, entry, graded_class):
    course_dir, outcomes, scores, submitted, _ = graded_class(lesson)
    outcome = outcomes[entry.name]
    assert outcome.status == entry.status, f"{entry.name}: {outcome}"
    reasons = " | ".join(outcome.reasons).lower()
    assert entry.reason.lower() in reasons, f"{entry.name}: reason should mention {entry.reason!r}; got {reasons!r}"
    full = autograded_cells(lesson)
    got = scores.get(entry.name, {})
    lost = {gid for gid, points in full.items() if (got.get(gid) or 0) < points}
    expected = {"none": set(), "all": set(full), "first": {f"test_{first_exercise(lesson)[0]}"}}[entry.loses]
    assert lost == expected, f"{entry.name} should lose {sorted(expected)}; lost {sorted(lost)}"
    folder = course_dir / "grading" / "submitted" / entry.name / lesson
    assert digests(folder) == submitted[entry.name], f"{entry.name}: the submitted files were changed"


INTRUDERS = [entry for entry in CORPUS if entry.intrudes]


@pytest.mark.parametrize("lesson, entry", [
    pytest.param(LESSON, entry, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=f"{LESSON}-{entry.name}")
    for entry in INTRUDERS])
def test_intruder_is_stopped_at_every_attempt(lesson, entry, graded_class):
    course_dir, _, _, _, _ = graded_class(lesson)
    nb = nbformat.read(course_dir / "grading" / "autograded" / entry.name / lesson / f"{lesson}.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "BLOCKED" in printed, f"{entry.name}: its attempts did not run: {printed[:500]!r}"
    assert "STOLEN" not in printed, f"{entry.name}: an attempt reached past the sandbox:\n{printed}"


@pytest.mark.parametrize("lesson", [pytest.param(LESSON, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=LESSON)])
def test_intruders_change_nothing_outside_their_sandbox(lesson, graded_class):
    course_dir, _, _, _, course_files = graded_class(lesson)
    assert {name: digests(course_dir / name) for name in course_files} == course_files, "solutions/ or notebooks/ changed"
    assert not (course_dir / "escaped.txt").exists(), "a process of a submission wrote into the course directory"
    for listener in LISTENERS:
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):  # no connection is waiting
            listener.accept()


@pytest.mark.parametrize("lesson", [pytest.param(LESSON, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=LESSON)])
def test_every_student_is_in_the_export(lesson, graded_class, tmp_path):
    import csv

    course_dir, outcomes, _, _, _ = graded_class(lesson)
    target = tmp_path / "grades.csv"
    autograde.export_csv(course_dir, lesson, target)
    rows = {row["student"]: row for row in csv.DictReader(target.open())}
    assert set(rows) == {entry.name for entry in CORPUS}
    assert float(rows["honest"]["total"]) == sum(autograded_cells(lesson).values())
    assert rows["malformed_file"]["status"] == "refused" and "malformed" in rows["malformed_file"]["reasons"]
    assert all(gid in rows["honest"] for gid in autograded_cells(lesson))


@pytest.mark.parametrize("lesson", [pytest.param(LESSON, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=LESSON)])
def test_feedback_is_generated_for_every_graded_student(lesson, graded_class):
    course_dir, outcomes, _, _, _ = graded_class(lesson)
    course.nbgrader(["generate_feedback", lesson, "--force"], cwd=course_dir)
    feedback = {name: (course_dir / "grading" / "feedback" / name / lesson / f"{lesson}.html")
                for name, outcome in outcomes.items() if outcome.status == "graded"}
    missing = sorted(name for name, path in feedback.items() if not path.exists())
    assert not missing, f"no feedback for {missing}"
    assert not [name for name, path in feedback.items() if "BEGIN HIDDEN TESTS" in path.read_text()]
    assert PIXEL in feedback["pasted_image_in_written_answer"].read_text(), "the pasted image was lost"
