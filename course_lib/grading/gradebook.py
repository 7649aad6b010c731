"""The gradebook the course's grading writes: which database it is, registering a lesson in it, and
reading it back, safe when several grading processes (shards, on one machine or many) run at once.

The database is nbgrader's ``CourseDirectory.db_url`` from the course's nbgrader_config.py (SQLite
under grading/ by default; any SQLAlchemy URL, e.g. PostgreSQL, for grading on several machines),
unless a command passes another (``--db-url``). A lesson is registered from solutions/ (grade cells,
points, hidden tests) into that database by the grading command itself, so a fresh clone of the
course, whose gradebook is absent, grades: the committed release in notebooks/ is never rewritten,
and grading refuses where solutions/ no longer generates it, since the students worked on it.
"""
from __future__ import annotations

import fcntl
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import nbformat

from course_lib.grading.course import nbgrader


class ReleaseMismatch(Exception):
    """solutions/<lesson> does not generate the committed notebooks/<lesson> the students were given."""


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive POSIX lock on the file ``path`` (created if missing) for the block: one
    process at a time, on this machine or, on a shared filesystem that supports POSIX locks (NFS
    with its lock service), on any machine. Raises ``OSError`` where the file cannot be created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.lockf(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.lockf(handle, fcntl.LOCK_UN)


def configured_db_url(course_dir: Path) -> str:
    """The gradebook URL nbgrader uses in ``course_dir``: ``CourseDirectory.db_url`` as its
    nbgrader_config.py sets it, else nbgrader's default (gradebook.db in the course directory)."""
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_dir)).load_config() \
        if (course_dir / "nbgrader_config.py").is_file() else Config()
    if "root" not in config.CourseDirectory:
        config.CourseDirectory.root = str(course_dir)
    return CourseDirectory(config=config).db_url


def scores(course_dir: Path, lesson: str, db_url: str | None = None) -> dict[str, dict[str, float | None]]:
    """Points per student and grade cell of ``lesson``, read from the gradebook at ``db_url`` (default:
    the course's configured one); None where a cell needs manual grading."""
    from nbgrader.api import Gradebook

    result: dict[str, dict[str, float | None]] = {}
    with Gradebook(db_url or configured_db_url(course_dir)) as gb:
        for submission in gb.assignment_submissions(lesson):
            notebook = submission.notebooks[0]
            result[submission.student.id] = {
                grade.name: grade.score if not grade.needs_manual_grade else None for grade in notebook.grades
            }
    return result


def record_refusal(course_dir: Path, lesson: str, student: str, db_url: str | None = None) -> None:
    """Enter a refused submission in the gradebook at ``db_url`` (default: the course's configured
    one) with no points, so exports list the student."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url or configured_db_url(course_dir)) as gb:
        gb.update_or_create_student(student)
        try:
            gb.find_submission(lesson, student)
        except MissingEntry:
            gb.add_submission(lesson, student)


def _files(folder: Path) -> set[Path]:
    """The files of ``folder``, relative to it, less what nbgrader ignores there by default (Jupyter's
    checkpoints, Python's caches)."""
    return {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()
            and not {".ipynb_checkpoints", "__pycache__"} & set(p.relative_to(folder).parts)}


def _fingerprint(course_dir: Path, lesson: str, url: str) -> str:
    """What a registration depends on: the lesson's sources, its committed release and the database."""
    digest = hashlib.sha256(url.encode())
    for folder in (course_dir / "solutions" / lesson, course_dir / "notebooks" / lesson):
        for name in sorted(_files(folder)):
            digest.update(f"{folder.parent.name}/{name}\0".encode() + (folder / name).read_bytes())
    return digest.hexdigest()


def _registered(url: str, lesson: str) -> bool:
    """Whether the gradebook at ``url`` holds the assignment ``lesson`` (False where it has no tables yet)."""
    from sqlalchemy import create_engine, inspect, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return inspect(connection).has_table("assignment") and connection.execute(
                text("SELECT 1 FROM assignment WHERE name = :name"), {"name": lesson}).first() is not None
    finally:
        engine.dispose()


def _differences(generated: Path, committed: Path) -> list[str]:
    """Files in which the folder ``generated`` differs from ``committed`` (notebooks by content)."""
    found = []
    for name in sorted(_files(generated) | _files(committed)):
        new, old = generated / name, committed / name
        if not (new.is_file() and old.is_file()):
            found.append(f"{name} is only in the {'generated' if new.is_file() else 'committed'} release")
        elif name.suffix == ".ipynb":
            if nbformat.read(new, as_version=4) != nbformat.read(old, as_version=4):
                found.append(f"{name} differs")
        elif new.read_bytes() != old.read_bytes():
            found.append(f"{name} differs")
    return found


def register(course_dir: Path, lesson: str, db_url: str | None = None) -> bool:
    """Register ``lesson`` (its notebook, grade cells, points and hidden tests) from solutions/ in the
    gradebook at ``db_url`` (default: the course's configured one), creating the gradebook's tables
    where it has none; True if it did, False where that registration was already made from the same
    sources, release and database (grading/registered/<lesson>.sha256 records it).

    ``nbgrader generate_assignment`` writes into a scratch release folder under grading/, never into
    notebooks/: first without the database, to check that it generates exactly the committed
    notebooks/<lesson>, then into the gradebook. Concurrent callers (shards) register one at a time
    (a lock on grading/register.lock), so only the first does the work.

    Raises ``FileNotFoundError`` where solutions/<lesson> or notebooks/<lesson> is missing,
    ``ReleaseMismatch`` where solutions/<lesson> does not generate notebooks/<lesson>, and
    ``RuntimeError`` (with nbgrader's output) where nbgrader fails.
    """
    for folder in ("solutions", "notebooks"):
        if not (course_dir / folder / lesson / f"{lesson}.ipynb").is_file():
            raise FileNotFoundError(f"cannot register {lesson}: {course_dir / folder / lesson / f'{lesson}.ipynb'} "
                                    "is missing (solutions/ holds the sources, notebooks/ the release students got)")
    url = db_url or configured_db_url(course_dir)
    grading = course_dir / "grading"
    stamp = grading / "registered" / f"{lesson}.sha256"
    override = [f"--CourseDirectory.db_url={db_url}"] if db_url else []
    with locked(grading / "register.lock"):
        fingerprint = _fingerprint(course_dir, lesson, url)
        if stamp.is_file() and stamp.read_text() == fingerprint and _registered(url, lesson):
            return False
        scratch = Path(tempfile.mkdtemp(prefix=f"release-{lesson}-", dir=grading))
        try:
            release = [f"--CourseDirectory.release_directory={scratch}", "--force"]
            nbgrader(["generate_assignment", lesson, "--no-db", *release], cwd=course_dir)
            differences = _differences(scratch / lesson, course_dir / "notebooks" / lesson)
            if differences:
                raise ReleaseMismatch(
                    f"refusing to grade {lesson}: solutions/{lesson} does not generate the committed release "
                    f"notebooks/{lesson} ({'; '.join(differences)}), and the students worked on that release. "
                    f"If solutions/{lesson} changed after you handed the lesson out, grade with the version the "
                    f"students got (git log -- solutions/{lesson}); if notebooks/{lesson} is merely stale and not "
                    "yet handed out, run `make release` and commit notebooks/.")
            nbgrader(["generate_assignment", lesson, *release, *override], cwd=course_dir)
        finally:
            shutil.rmtree(scratch)
        stamp.parent.mkdir(exist_ok=True)
        stamp.write_text(fingerprint)
    return True
