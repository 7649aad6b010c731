"""Grading holds against broken and hostile submissions.

One class: an honest student and every entry of tests/hostile.py, graded with the
instructor's class-grading command. Each must end with the right score, a readable recorded
reason, the submitted files untouched, and every other grade intact.

The machinery proved here (limits, crash recovery, the rebuild on the release, refusals,
feedback, export) is the same for every lesson, so one lesson carries the whole corpus; the
kinds whose outcome depends on a lesson's own hidden tests (``hostile.LESSON_DEPENDENT``) are
graded for every lesson by the round trip.
"""
from __future__ import annotations

import hashlib

import pytest

from course_lib.grading import autograde, course
from hostile import CORPUS, first_exercise
from lessons import LESSONS

LESSON = LESSONS[0]  # the lesson that carries the whole corpus

CELL_TIMEOUT = 10


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    cache: dict = {}

    def grade(lesson: str):
        if lesson not in cache:
            course_dir = course.scratch_course([lesson], tmp_path_factory.mktemp(f"class-{lesson}"))
            course.generate([lesson], course_dir)
            digests = {}
            for entry in CORPUS:
                folder = course_dir / "grading" / "submitted" / entry.name / lesson
                folder.mkdir(parents=True)
                entry.build(lesson, folder)
                digests[entry.name] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
            # one worker: pytest-xdist already runs a test on each core
            outcomes = autograde.grade_class(course_dir, lesson, workers=1, timeout=600, memory_gb=3,
                                             cell_timeout=CELL_TIMEOUT)
            cache[lesson] = (course_dir, {o.student: o for o in outcomes}, autograde.scores(course_dir, lesson), digests)
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
    course_dir, outcomes, scores, digests = graded_class(lesson)
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
    for name, digest in digests[entry.name].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, f"{entry.name}: {name} was changed"


@pytest.mark.parametrize("lesson", [pytest.param(LESSON, marks=pytest.mark.xdist_group(f"class-{LESSON}"), id=LESSON)])
def test_every_student_is_in_the_export(lesson, graded_class, tmp_path):
    import csv

    course_dir, outcomes, _, _ = graded_class(lesson)
    target = tmp_path / "grades.csv"
    autograde.export_csv(course_dir, lesson, target)
    rows = {row["student"]: row for row in csv.DictReader(target.open())}
    assert set(rows) == {entry.name for entry in CORPUS}
    assert float(rows["honest"]["total"]) == sum(autograded_cells(lesson).values())
    assert rows["malformed_file"]["status"] == "refused" and "malformed" in rows["malformed_file"]["reasons"]
    assert all(gid in rows["honest"] for gid in autograded_cells(lesson))
