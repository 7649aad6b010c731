"""The homework loop through nbgrader's exchange, with the instructor and two students as separate
Unix accounts, and what a student can reach of another student's work.

The loop is the README's ("Homework through the exchange"), command for command: the instructor
generates and releases the assignment, each student fetches it, edits it and submits (one student
twice: the later submission counts; the other also forges a submission under the first one's name),
the instructor collects, grades with the course's command (kernels sealed), generates and releases
feedback, and each student fetches their own.

The permission model: one nbgrader exchange per student. nbgrader's shared exchange
(``/usr/local/share/nbgrader/exchange``) hides other students' work only behind names: ``inbound``
(mode 2733) and ``feedback`` (0711) cannot be listed, but nbgrader makes each submission folder 0777
with files 0644 and gives feedback the mode of the instructor's HTML (0644 under umask 022), so anyone who
learns a submission's name, or the hash that names a feedback file (made from the secret inside the
submission), can open it. Here each student has a folder ``<EXCHANGE>/<student>`` (``<EXCHANGE>``:
``/srv/nbgrader/students`` in the README, a temporary folder here) owned by the
instructor, group the student's own group (Debian gives each account one), mode 0750, made by an
administrator, with that student's nbgrader exchange (``Exchange.root``) inside it;
``<EXCHANGE>`` is 0711. Another student is neither the folder's owner nor in its group, so the kernel
refuses them the way in (no search permission) whatever modes nbgrader sets further down: they
cannot list or open anything of another student's, nor plant a submission there. The instructor runs
release_assignment, collect (``--update --student``: a submission forged under another student's name
in one's own exchange is never collected) and release_feedback (``--student``: each exchange gets only
its student's feedback) once per student's exchange. nbgrader_config.py's default exchange is the
running account's own, which the instructor has not got, so an instructor command without
``--Exchange.root`` fails.

This needs root, to act as each account (``runuser``) and to create the student folders; the
accounts are made by ``make test`` like ``coursegrader``.
"""
from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest

import test_sandbox
from course_lib.grading import autograde, course
from lessons import LESSONS

INSTRUCTOR, ALICE, BOB = "courseinstructor", "coursealice", "coursebob"
STUDENTS = (ALICE, BOB)
COURSE_ID = "attention-transformers-bert"  # CourseDirectory.course_id in nbgrader_config.py
LESSON = LESSONS[0]

pytestmark = pytest.mark.xdist_group("exchange")  # one worker runs the loop once for every test here


def accounts_or_skip() -> None:
    if os.geteuid() != 0:
        pytest.skip("the exchange is tested with separate accounts, which needs root to act as each (runuser)")
    missing = [a for a in (INSTRUCTOR, *STUDENTS) if not _exists(a)]
    if missing:
        pytest.fail(f"the accounts {missing} are missing: create them (`make test` does: "
                    "useradd --no-create-home --shell /usr/sbin/nologin NAME)")


def _exists(account: str) -> bool:
    try:
        pwd.getpwnam(account)
    except KeyError:
        return False
    return True


class Loop:
    """The accounts' folders and who runs what."""

    def __init__(self, top: Path):
        self.top = top
        self.course = top / "course"
        self.exchange = top / "students"  # /srv/nbgrader/students in the README
        self.prefixes = {account: test_sandbox.as_ordinary_account([], self.home(account), account) for account in (INSTRUCTOR, *STUDENTS)}

    def home(self, account: str) -> Path:
        return self.top / "homes" / account

    def root(self, student: str) -> Path:
        """The student's nbgrader exchange (``Exchange.root``)."""
        return self.exchange / student / "exchange"

    def run(self, account: str, *command: str) -> subprocess.CompletedProcess:
        """``command`` run as ``account``: the instructor in the course, a student in their home."""
        cwd = self.course if account == INSTRUCTOR else self.home(account)
        return subprocess.run([*self.prefixes[account], *command], cwd=cwd, capture_output=True, text=True)

    def nbgrader(self, account: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        result = self.run(account, sys.executable, "-m", "nbgrader", *args)
        if check:
            assert result.returncode == 0, f"{account}: nbgrader {' '.join(args)}\n{result.stdout}\n{result.stderr}"
        return result

    def instructor(self, *args: str) -> subprocess.CompletedProcess:
        return self.nbgrader(INSTRUCTOR, *args)

    def student(self, student: str, *args: str) -> subprocess.CompletedProcess:
        return self.nbgrader(student, *args, f"--course={COURSE_ID}", f"--Exchange.root={self.root(student)}")

    def solve(self, student: str, answer_id: str) -> None:
        """The student puts the solution of ``answer_id`` (from solutions/) into its answer cell."""
        path = self.home(student) / LESSON / f"{LESSON}.ipynb"
        source = autograde.cells_by_id(autograde.solved(LESSON))[answer_id].source
        edit = ("import json, sys\npath, answer_id, source = sys.argv[1:]\nnb = json.load(open(path))\n"
                "[cell] = [c for c in nb['cells'] if c['metadata'].get('nbgrader', {}).get('grade_id') == answer_id]\n"
                "cell['source'] = source\njson.dump(nb, open(path, 'w'))")
        result = self.run(student, sys.executable, "-c", edit, str(path), answer_id, source)
        assert result.returncode == 0, result.stderr

    def probe(self, account: str, actions: list[tuple[str, Path]]) -> list:
        """What ``account`` gets for each (list | open | write, path): the listing, "opened", "written",
        or the name of the error."""
        result = self.run(account, sys.executable, "-c", PROBE, json.dumps([(a, str(p)) for a, p in actions]))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def inbound(self, student: str) -> Path:
        return self.root(student) / COURSE_ID / "inbound"

    def submissions(self, student: str) -> list[Path]:
        """The student's submissions in their exchange, oldest first (nbgrader names them
        ``student+assignment+timestamp+random``)."""
        return sorted(self.inbound(student).glob(f"{student}+{LESSON}+*"), key=lambda p: p.name.split("+")[2])

    def released_feedback(self, student: str) -> Path:
        """The student's feedback as release_feedback left it in their exchange: one notebook, one file,
        and no other student's."""
        released = sorted((self.root(student) / COURSE_ID / "feedback").glob("*.html"))
        assert len(released) == 1, f"{student}'s exchange should hold their feedback alone: {released}"
        return released[0]


PROBE = """
import json, os, sys

def outcome(action, path):
    try:
        if action == "list":
            return sorted(os.listdir(path))
        if action == "open":
            open(path, "rb").close()
            return "opened"
        open(path, "x").close()
        return "written"
    except OSError as error:
        return type(error).__name__

print(json.dumps([outcome(action, path) for action, path in json.loads(sys.argv[1])]))
"""


def exercises() -> tuple[str, str]:
    """The first two function exercises of the lesson: Alice solves the first, Bob the second."""
    answers = [gid for gid, c in autograde.cells_by_id(autograde.solved(LESSON)).items()
               if c.metadata["nbgrader"].get("solution") and c.cell_type == "code" and "def " in c.source]
    return answers[0], answers[1]


@pytest.fixture(scope="module")
def loop():
    accounts_or_skip()
    ids = {a: pwd.getpwnam(a) for a in (INSTRUCTOR, *STUDENTS)}
    top = Path(tempfile.mkdtemp(prefix="exchange-"))
    try:
        top.chmod(0o711)
        loop = Loop(top)
        loop.course.mkdir()
        course.scratch_course([LESSON], loop.course)
        shutil.copytree(course.release_path(LESSON).parent, loop.course / "notebooks" / LESSON)  # committed, as in a clone
        for path in [loop.course, *loop.course.rglob("*")]:
            os.chown(path, ids[INSTRUCTOR].pw_uid, ids[INSTRUCTOR].pw_gid, follow_symlinks=False)
        (top / "homes").mkdir(mode=0o711)
        for account, entry in ids.items():
            loop.home(account).mkdir(mode=0o700)
            os.chown(loop.home(account), entry.pw_uid, entry.pw_gid)
        # the administrator, once per student: the folder only the instructor and that student can enter
        loop.exchange.mkdir(mode=0o711)
        for student in STUDENTS:
            (loop.exchange / student).mkdir(mode=0o750)
            os.chown(loop.exchange / student, ids[INSTRUCTOR].pw_uid, ids[student].pw_gid)

        first, second = exercises()
        register = loop.run(INSTRUCTOR, sys.executable, "-m", "course_lib.grading.autograde", "register", LESSON,
                            "--course-dir", str(loop.course))
        assert register.returncode == 0, register.stdout + register.stderr
        for student in STUDENTS:
            loop.instructor("release_assignment", LESSON, f"--Exchange.root={loop.root(student)}")
        for student in STUDENTS:
            loop.student(student, "fetch_assignment", LESSON)
        loop.student(ALICE, "submit", LESSON)  # the untouched notebook
        loop.solve(ALICE, first)
        loop.student(ALICE, "submit", LESSON)  # the one that counts
        loop.solve(BOB, second)
        loop.student(BOB, "submit", LESSON)
        loop.student(BOB, "submit", LESSON, f"--student={ALICE}")  # forged: Alice's name, later than hers
        for student in STUDENTS:
            loop.instructor("collect", LESSON, "--update", f"--student={student}", f"--Exchange.root={loop.root(student)}")
        grade = loop.run(INSTRUCTOR, sys.executable, "-m", "course_lib.grading.autograde", "grade", LESSON,
                         "--course-dir", str(loop.course))
        assert grade.returncode == 0, grade.stdout + grade.stderr
        loop.instructor("generate_feedback", LESSON)
        for student in STUDENTS:
            loop.instructor("release_feedback", LESSON, f"--student={student}", f"--Exchange.root={loop.root(student)}")
        for student in STUDENTS:
            loop.student(student, "fetch_feedback", LESSON)
        yield loop
    finally:
        shutil.rmtree(top)


def test_the_later_submission_counts_and_a_forged_one_is_never_collected(loop):
    first, second = exercises()
    scores = autograde.scores(loop.course, LESSON)
    assert sorted(scores) == sorted(STUDENTS)
    full = {gid: float(c.metadata["nbgrader"]["points"])
            for gid, c in autograde.cells_by_id(nbformat.read(loop.course / "notebooks" / LESSON / f"{LESSON}.ipynb",
                                                              as_version=4)).items() if gid in {f"test_{first}", f"test_{second}"}}
    assert {gid: scores[ALICE][gid] for gid in full} == {f"test_{first}": full[f"test_{first}"], f"test_{second}": 0}, (
        "Alice's grade must be her second submission's (the first exercise solved), not her first (nothing solved) "
        "nor the one Bob forged under her name (the second exercise solved)")
    assert {gid: scores[BOB][gid] for gid in full} == {f"test_{first}": 0, f"test_{second}": full[f"test_{second}"]}
    submitted = loop.course / "grading" / "submitted"
    alice = [p.name.split("+")[2] for p in loop.submissions(ALICE)]
    assert len(alice) == 2 and (submitted / ALICE / LESSON / "timestamp.txt").read_text() == alice[-1]
    forged = [p.name.split("+")[2] for p in loop.inbound(BOB).glob(f"{ALICE}+{LESSON}+*")]
    assert len(forged) == 1 and forged[0] > alice[-1], "Bob's forgery, later than Alice's submissions, is in his exchange"


def test_each_student_fetches_their_own_feedback(loop):
    for student in STUDENTS:
        timestamp = (loop.course / "grading" / "submitted" / student / LESSON / "timestamp.txt").read_text()
        fetched = sorted((loop.home(student) / LESSON / "feedback").glob(f"*/{LESSON}.html"))
        assert [p.parent.name for p in fetched] == [timestamp], f"{student} should fetch one feedback, on the submission graded"
        written = loop.course / "grading" / "feedback" / student / LESSON / f"{LESSON}.html"
        assert fetched[0].read_bytes() == written.read_bytes(), f"{student} fetched feedback that is not theirs"


@pytest.mark.parametrize("reader, owner", [(BOB, ALICE), (ALICE, BOB)])
def test_a_student_can_neither_list_nor_open_another_students_work(loop, reader, owner):
    [*_, submission] = loop.submissions(owner)
    actions = [
        ("list", loop.exchange),  # who has a folder
        ("list", loop.exchange / owner),
        ("list", loop.inbound(owner)),
        ("list", loop.released_feedback(owner).parent),
        ("open", submission / f"{LESSON}.ipynb"),
        ("open", submission / "submission_secret.txt"),  # the secret that names the feedback
        ("open", loop.released_feedback(owner)),
        ("write", loop.inbound(owner) / f"{owner}+{LESSON}+planted"),
    ]
    seen = dict(zip([f"{a} {p}" for a, p in actions], loop.probe(reader, actions)))
    assert seen == {key: "PermissionError" for key in seen}, f"{reader} reaches {owner}'s work: {seen}"


def test_a_student_reaches_their_own_exchange(loop):
    for student in STUDENTS:
        [*_, submission] = loop.submissions(student)
        seen = loop.probe(student, [("list", loop.root(student) / COURSE_ID / "outbound"),
                                    ("open", submission / f"{LESSON}.ipynb"),
                                    ("open", loop.released_feedback(student))])
        assert seen == [[LESSON], "opened", "opened"], f"{student}: {seen}"


def test_nbgrader_alone_leaves_submissions_and_feedback_open_to_anyone_who_knows_the_name(loop):
    """Why the per-student folder is needed: below it, nbgrader's own modes let every account in."""
    [*_, submission] = loop.submissions(ALICE)
    modes = {p: stat.S_IMODE(p.stat().st_mode) for p in
             [submission, submission / f"{LESSON}.ipynb", loop.released_feedback(ALICE)]}
    assert all(mode & stat.S_IROTH for mode in modes.values()) and modes[submission] & stat.S_IXOTH, (
        f"nbgrader no longer opens these to every account ({ {str(p): oct(m) for p, m in modes.items()} }): "
        "update the permission model's explanation in this docstring and the README")


def test_an_instructor_command_without_a_students_exchange_fails(loop):
    """nbgrader_config.py's default exchange is the running account's own folder, which the instructor has
    not got: forgetting --Exchange.root releases nothing, and never into nbgrader's shared exchange."""
    result = loop.nbgrader(INSTRUCTOR, "release_assignment", LESSON, check=False)
    assert result.returncode != 0 and f"/srv/nbgrader/students/{INSTRUCTOR}/exchange" in result.stdout + result.stderr, (
        result.stdout + result.stderr)
