"""Grading submissions of this course with nbgrader: build, submit, autograde, read scores,
and grade a whole class in parallel.

Instructors: ``python -m course_lib.grading.autograde grade LESSON`` registers the lesson in the
gradebook from solutions/ (``course_lib.grading.gradebook``) and grades every submission in
grading/submitted on all cores, each in its own nbgrader process with a time and memory limit,
its kernel sealed in a sandbox (``course_lib.grading.sandbox``: no network, no course files);
``--shard I/N`` grades a part of the class, so that several processes or machines share it.
``python -m course_lib.grading.autograde export LESSON`` writes a CSV with points per exercise.
Results go into nbgrader's gradebook (the course's ``db_url``, or ``--db-url``), so formgrader,
feedback and ``nbgrader export`` keep working.
"""
from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_lib.grading.course import ROOT, lessons, release_path, solution_path
from course_lib.grading.gradebook import ReleaseMismatch, locked, record_refusal, register, scores
from course_lib.grading.preprocessors import rubric
from course_lib.grading.sandbox import SandboxError
from course_lib.grading.sandbox import require as require_sandbox
from course_lib.grading.sandbox import sweep

_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$\n?", re.M)


def cells_by_id(nb: NotebookNode) -> dict[str, NotebookNode]:
    """nbgrader cells by grade_id."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def solved(lesson: str) -> NotebookNode:
    """The student notebook with every answer cell filled in from the solution, as a student would:
    a written answer gets the model answer, never the rubric that follows it for the grader."""
    nb = nbformat.read(release_path(lesson), as_version=4)
    answers = cells_by_id(nbformat.read(solution_path(lesson), as_version=4))
    for gid, cell in cells_by_id(nb).items():
        if cell.metadata["nbgrader"].get("solution"):
            source = _MARKER.sub("", answers[gid].source)
            cell.source = rubric(source)[0] if cell.cell_type == "markdown" else source
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


def autograde(course_dir: Path, lesson: str) -> list[Outcome]:
    """Autograde every submission of ``lesson`` one at a time, as the course does (``grade_class``:
    plain ``nbgrader autograde`` refuses to run student code)."""
    return grade_class(course_dir, lesson, workers=1)


# ---------------------------------------------------------------------------------------------
# Grading a whole class: every submission in its own nbgrader process, its kernel sealed, in parallel.
# ---------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    """What happened to one student's submission."""

    student: str
    status: str  # "graded", "refused" (not gradable as submitted) or "failed" (the grader could not finish)
    reasons: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _answer_ids(nb: NotebookNode) -> set[str]:
    return {gid for gid, c in cells_by_id(nb).items() if c.metadata["nbgrader"].get("solution")}


STAGED = Path("grading") / "staged"  # what nbgrader grades: a checked copy of each submission
UNSTAGED = (
    "This course does not grade with plain `nbgrader autograde`, which reads grading/submitted as it is: "
    "there a renamed notebook is not graded, an unparseable timestamp.txt fails the submission with a "
    "misleading error, and nbgrader copies whatever a symbolic link points to. Grade with "
    "`python -m course_lib.grading.autograde grade {assignment}` (or `make grade LESSON={assignment}`): it "
    f"grades a checked copy of each submission in {STAGED}, its kernel sealed, and fills the same gradebook.")


def refuse_unstaged(converter: type) -> None:
    """Make nbgrader's ``Autograde`` converter (``converter``) refuse to start on anything but the
    checked copies in grading/staged, with ``UNSTAGED`` as its message; nbgrader_config.py calls this,
    so it holds in every nbgrader process (the command line and the Jupyter server's Formgrader, whose
    Autograde button runs the converter with ``force=True``).

    The refusal has to come before nbgrader touches anything: with ``--force`` nbgrader removes the
    student's autograded folder before it converts, and an error while converting makes it delete the
    folder ("Removing failed assignment"), so a refusal from inside grading would destroy a grade
    the course's command had already made. ``start`` is where the converter begins, before it lists
    notebooks or prepares any destination.
    """
    from nbgrader.converters.base import NbGraderException

    if getattr(converter.start, "refuses_unstaged", False):  # the config file is loaded more than once
        return
    start = converter.start

    def guarded_start(self) -> None:
        root = Path(self.coursedir.root)
        if (root / self.coursedir.submitted_directory).resolve() != (root / STAGED).resolve():
            message = UNSTAGED.format(assignment=self.coursedir.assignment_id)
            self.log.error(message)
            raise NbGraderException(message)
        start(self)

    guarded_start.refuses_unstaged = True
    converter.start = guarded_start


def _holds_work(path: Path, release: NotebookNode) -> bool:
    """Whether the notebook at ``path`` is one of this lesson's (it has one of its answer cells) and
    differs from the release in any cell's source: False for the release as handed out, run or not,
    for another assignment's notebook and for a file that is not a notebook."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception:  # any unreadable file: JSON, schema, encoding
        return False
    return bool(_answer_ids(nb) & _answer_ids(release)) and [c.source for c in nb.cells] != [c.source for c in release.cells]


def _unparseable_timestamp(path: Path) -> str | None:
    """Why nbgrader cannot read a submission's timestamp.txt (None when it can or there is none)."""
    from nbgrader.utils import parse_utc

    text = path.read_text(errors="replace").strip() if path.is_file() else ""
    try:
        parse_utc(text) if text else None
    except Exception as error:  # dateutil raises ValueError, OverflowError, TypeError...
        return f"{type(error).__name__}: {str(error)[:80]}"
    return None


def preflight(course_dir: Path, student: str, lesson: str) -> Outcome:
    """Check a submission and stage the copy nbgrader grades, or refuse it with a reason.

    The student's folder in grading/submitted is only read. The copy in grading/staged holds one
    notebook under the lesson's name, the student's other regular files, and no symbolic link
    (nbgrader would copy what it points to) nor an unparseable timestamp.txt (graded without a
    submission time); each fallback is a reason. The notebook graded is the lesson's, or a single
    renamed one; where the lesson's notebook is the release untouched and exactly one other notebook
    of the folder holds work on the lesson (a JupyterLab "Duplicate", ``LESSON-Copy1.ipynb``), that
    one; every other notebook left ungraded is named in a reason.
    """
    folder = course_dir / "grading" / "submitted" / student / lesson
    expected = folder / f"{lesson}.ipynb"
    staged = course_dir / STAGED / student / lesson
    if staged.exists():
        shutil.rmtree(staged)
    outcome = Outcome(student, "graded")
    release = nbformat.read(course_dir / "notebooks" / lesson / f"{lesson}.ipynb", as_version=4)
    others = sorted(p for p in folder.glob("*.ipynb") if p.is_file() and not p.is_symlink() and p != expected)
    notebook = expected
    if expected.is_symlink() or not expected.is_file():
        if len(others) != 1:
            found = ", ".join(p.name for p in others) or "no notebook"
            return Outcome(student, "refused", [f"empty or ambiguous submission: expected {expected.name}, found {found}"])
        notebook = others[0]
        outcome.reasons.append(f"renamed notebook {notebook.name} was graded as {expected.name}")
    elif others:
        worked = [p for p in others if _holds_work(p, release)]
        if len(worked) == 1 and not _holds_work(expected, release):
            notebook = worked[0]
            outcome.reasons.append(f"{expected.name} is the release untouched and {notebook.name} holds the work: "
                                   f"{notebook.name} was graded as {expected.name}")
        ungraded = [p.name for p in others if p != notebook]
        if ungraded:
            outcome.reasons.append(
                f"{', '.join(ungraded)} {'was' if len(ungraded) == 1 else 'were'} not graded: only {notebook.name} "
                f"is; to grade another instead, make it the submission's only notebook, named {expected.name}")
    try:
        nb = nbformat.read(notebook, as_version=4)
    except Exception as error:  # any unreadable file: JSON, schema, encoding
        return Outcome(student, "refused", [f"malformed notebook {expected.name}: {str(error).splitlines()[0][:200]}"])
    ours, theirs = _answer_ids(release), _answer_ids(nb)
    foreign = theirs - set(cells_by_id(release))  # answer cells this lesson has no cell for at all
    if not theirs & ours or len(foreign) > len(theirs & ours):
        other = "has no exercise cells" if not theirs else "belongs to another assignment"
        return Outcome(student, "refused", [f"{expected.name} {other}: it does not have the {lesson} answer cells"])
    timestamp = _unparseable_timestamp(folder / "timestamp.txt")
    if timestamp:
        outcome.reasons.append(f"timestamp.txt is not a time nbgrader can read ({timestamp}): graded without a submission time")
    links = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_symlink())
    if links:
        outcome.reasons.append(f"symbolic links are not graded: {', '.join(links)}")
    exports = sorted(p.name for p in folder.glob("*.html"))
    if exports:  # nbgrader_config.py leaves HTML out of grading: feedback is HTML written under the notebook's name
        outcome.reasons.append(f"HTML files are not graded ({', '.join(exports)}): the notebook is")
    shutil.copytree(folder, staged, ignore=lambda here, names: [
        n for n in names if os.path.islink(os.path.join(here, n)) or n.endswith(".ipynb")
        or (n == "timestamp.txt" and timestamp and Path(here) == folder)])
    shutil.copy(notebook, staged / expected.name)
    return outcome


def _limit_memory(limit_bytes: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return apply


def _cell_reasons(course_dir: Path, student: str, lesson: str) -> list[str]:
    """Refused, crashed and timed-out cells, read from the autograded notebook."""
    from course_lib.grading.preprocessors import CRASHED, REFUSED

    path = course_dir / "grading" / "autograded" / student / lesson / f"{lesson}.ipynb"
    reasons = []
    for gid, cell in cells_by_id(nbformat.read(path, as_version=4)).items():
        if REFUSED in cell.source or CRASHED in cell.source:
            reasons.append(f"{gid}: " + cell.source.split("RuntimeError(", 1)[1].rsplit(")", 1)[0].strip("'\""))
        for output in cell.get("outputs", []):
            if output.output_type == "error" and "Timeout" in output.ename:
                reasons.append(f"{gid}: this cell did not finish within the time limit")
    return reasons


def grade_one(course_dir: Path, lesson: str, student: str, timeout: float, memory_bytes: int,
              cell_timeout: int | None, skip_experiments: bool = False, sandbox: bool = True,
              db_url: str | None = None) -> Outcome:
    """Autograde one student in a separate, limited nbgrader process (its kernel sealed unless
    ``sandbox`` is False) into the gradebook at ``db_url`` (default: the course's configured one)."""
    start = time.perf_counter()
    outcome = preflight(course_dir, student, lesson)
    if outcome.status == "refused":
        record_refusal(course_dir, lesson, student, db_url)
        return outcome
    args = ["autograde", lesson, f"--student={student}", "--force", f"--CourseDirectory.submitted_directory={STAGED}"]
    if db_url:
        args.append(f"--CourseDirectory.db_url={db_url}")
    if cell_timeout:
        args.append(f"--Execute.timeout={cell_timeout}")
    if skip_experiments:
        args.append("--ResilientExecute.skip_experiments=True")
    if not sandbox:
        args.append("--ResilientExecute.sandbox=False")
    log_path = course_dir / "grading" / "logs" / lesson / f"{student}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    for attempt in range(2):  # a second try only when the shared gradebook was busy
        proc = subprocess.Popen([sys.executable, "-m", "nbgrader", *args], cwd=course_dir, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True, preexec_fn=_limit_memory(memory_bytes))
        try:
            log, _ = proc.communicate(timeout=timeout)
            log_path.write_text(log)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            sweep()  # the killed nbgrader could not remove its kernel's socket directory and cgroup
            outcome.status, outcome.reasons = "failed", outcome.reasons + [f"grading took longer than {timeout:.0f} s"]
            break
        if proc.returncode == 0 and "There was an error" not in log:
            outcome.reasons += _notes(log) + _cell_reasons(course_dir, student, lesson)
            break
        if "database is locked" not in log or attempt == 1:
            causes = re.findall(r"^\s*([\w.]+(?:Error|Exception): .+)$", log, re.M) or ["see the log"]
            outcome.status = "failed"
            outcome.reasons.append(f"nbgrader failed: {causes[-1].strip()[:300]} (log: {log_path.relative_to(course_dir)})")
            break
    outcome.seconds = time.perf_counter() - start
    return outcome


def _notes(log: str) -> list[str]:
    """The fallbacks grading took (``grading note`` lines of nbgrader's log: the rebuild of the
    notebook, files kept from the kernel), in order, once each."""
    from course_lib.grading.preprocessors import NOTE

    return list(dict.fromkeys(re.findall(rf"^\[AutogradeApp \| WARNING\] {NOTE}: (.+)$", log, re.M)))


def grade_class(course_dir: Path, lesson: str, workers: int = os.cpu_count() or 1, timeout: float = 900,
                memory_gb: float = 4.0, cell_timeout: int | None = None, shard: tuple[int, int] = (0, 1),
                skip_experiments: bool = False, sandbox: bool = True, db_url: str | None = None) -> list[Outcome]:
    """Grade every submission of ``lesson`` under grading/submitted, ``workers`` at a time, into the
    gradebook at ``db_url`` (default: the course's configured ``CourseDirectory.db_url``).

    ``shard=(i, n)`` grades only every n-th student starting at i, so n processes or machines can
    share a class at once. ``skip_experiments`` leaves out the cells no graded cell needs: the same
    scores in less time, but the autograded notebooks and feedback then show those cells unrun.
    Each kernel runs sealed (course_lib.grading.sandbox); where the sandbox cannot start, this
    raises ``SandboxError`` before any student code runs, unless ``sandbox`` is False. The lesson is
    first registered in the gradebook from solutions/ (``gradebook.register``, which raises
    ``ReleaseMismatch`` where solutions/ does not generate the committed notebooks/). The outcomes
    are merged into the class report (``record_outcomes``).
    """
    if sandbox:
        require_sandbox()
    register(course_dir, lesson, db_url)
    students = sorted(p.parent.name for p in (course_dir / "grading" / "submitted").glob(f"*/{lesson}"))
    students = students[shard[0]::shard[1]]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda s: grade_one(course_dir, lesson, s, timeout, int(memory_gb * 2**30),
                                                     cell_timeout, skip_experiments, sandbox, db_url),
                                 students))
    record_outcomes(course_dir, lesson, outcomes)
    return outcomes


def record_outcomes(course_dir: Path, lesson: str, outcomes: list[Outcome]) -> None:
    """Merge ``outcomes`` into the class report grading/reports/<lesson>.json (a later outcome of a
    student replaces an earlier one). The read-merge-write holds a lock on grading/reports/<lesson>.lock,
    so shards finishing at once (processes, or machines sharing the course directory) lose no
    student, and the report is replaced whole, so a reader never sees half of it."""
    report = course_dir / "grading" / "reports" / f"{lesson}.json"
    with locked(report.with_name(f"{lesson}.lock")):
        recorded = {o["student"]: o for o in json.loads(report.read_text())} if report.exists() else {}
        recorded.update({o.student: asdict(o) for o in outcomes})
        partial = report.with_name(f"{lesson}.json.{os.getpid()}")
        partial.write_text(json.dumps(sorted(recorded.values(), key=lambda o: o["student"]), indent=1))
        partial.replace(report)


def export_csv(course_dir: Path, lesson: str, path: Path, db_url: str | None = None) -> None:
    """Per-exercise points, total, status and reasons for every student of ``lesson``, from the
    gradebook at ``db_url`` (default: the course's configured one) and the class report."""
    table = scores(course_dir, lesson, db_url)
    report = course_dir / "grading" / "reports" / f"{lesson}.json"
    outcomes = {o["student"]: o for o in json.loads(report.read_text())} if report.exists() else {}
    cells = sorted({gid for row in table.values() for gid in row})
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *cells, "total", "status", "reasons"])
        for student in sorted(set(table) | set(outcomes)):
            row = table.get(student, {})
            outcome = outcomes.get(student, {"status": "graded", "reasons": []})
            points = [row.get(gid) for gid in cells]
            writer.writerow([student, *["" if p is None else p for p in points],
                             sum(p for p in points if p is not None), outcome["status"], " | ".join(outcome["reasons"])])


def main() -> None:
    parser = argparse.ArgumentParser(description="Grade a whole class of one lesson in parallel, or export its table; "
                                     "register: enter the lesson in the gradebook (and create its tables) once, before "
                                     "shards start (grade does it too, where it was not done)")
    parser.add_argument("command", choices=["grade", "export", "register"])
    parser.add_argument("lesson")
    parser.add_argument("--course-dir", type=Path, default=ROOT)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per submission")
    parser.add_argument("--memory-gb", type=float, default=4.0, help="address-space limit per process")
    parser.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (default: nbgrader_config.py)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run student code unsealed, with your rights (only where bubblewrap cannot run)")
    parser.add_argument("--skip-experiments", action="store_true",
                        help="leave out the cells no graded cell needs: same scores, faster, feedback shows them unrun")
    parser.add_argument("--shard", default="0/1", help="I/N: grade every N-th student from the I-th (one shard per process or machine, all at once)")
    parser.add_argument("--csv", type=Path, default=None, help="export: where to write (default grading/<lesson>.csv)")
    parser.add_argument("--db-url", default=None,
                        help="the gradebook's SQLAlchemy URL (default: CourseDirectory.db_url in nbgrader_config.py)")
    args = parser.parse_args()
    known = lessons(args.course_dir)
    if args.lesson not in known:
        parser.error(f"no lesson {args.lesson!r} in {args.course_dir / 'solutions'}; choose one of {', '.join(known)}")
    if args.command == "export":
        target = args.csv or args.course_dir / "grading" / f"{args.lesson}.csv"
        export_csv(args.course_dir, args.lesson, target, args.db_url)
        print(f"wrote {target}")
        return
    if args.command == "register":
        try:
            done = register(args.course_dir, args.lesson, args.db_url)
        except ReleaseMismatch as error:
            parser.exit(1, f"{error}\n")
        print(f"registered {args.lesson}" if done else f"{args.lesson} was already registered from these sources")
        return
    shard = re.fullmatch(r"(\d+)/(\d+)", args.shard)
    if not shard or not int(shard[1]) < int(shard[2]):
        parser.error(f"--shard must be I/N with 0 <= I < N (grade every N-th student from the I-th); got {args.shard!r}")
    index, count = int(shard[1]), int(shard[2])
    start = time.perf_counter()
    try:
        outcomes = grade_class(args.course_dir, args.lesson, args.workers, args.timeout, args.memory_gb,
                               args.cell_timeout, shard=(index, count), skip_experiments=args.skip_experiments,
                               sandbox=not args.no_sandbox, db_url=args.db_url)
    except SandboxError as error:
        parser.exit(1, f"refusing to grade: {error}\n")
    except ReleaseMismatch as error:
        parser.exit(1, f"{error}\n")
    for o in outcomes:
        print(f"{o.student:24s} {o.status:8s} {o.seconds:6.1f} s  {' | '.join(o.reasons)}")
    counts = {s: sum(o.status == s for o in outcomes) for s in ("graded", "refused", "failed")}
    elapsed = time.perf_counter() - start
    print(f"{len(outcomes)} submissions in {elapsed:.0f} s ({60 * len(outcomes) / max(elapsed, 1e-9):.1f} per minute) "
          f"with {args.workers} workers: {counts['graded']} graded, {counts['refused']} refused, {counts['failed']} failed")


if __name__ == "__main__":
    main()
