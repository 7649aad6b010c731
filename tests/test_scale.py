"""Grading as a class is put through it: from a fresh clone, by shards at once, past one machine.

- A fresh clone of the committed course (no gradebook) grades: the course's command registers the
  lesson from solutions/ without rewriting notebooks/, and refuses where they disagree.
- Shards finishing at once lose no student from the class report.
- A real PostgreSQL server, run by an ordinary account, holds the gradebook while shard processes
  grade one class at once: every student is in it once, with the right score, and ``nbgrader
  export`` agrees; then the same shards run as a job array on a single-node Slurm cluster, told
  the gradebook by ``--db-url`` instead of nbgrader_config.py.
"""
from __future__ import annotations

import csv
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from course_lib.grading import autograde, course
from course_lib.grading.autograde import Outcome
from lessons import ROOT

LESSON = "02_attention"
ACCOUNT = "coursegrader"  # the ordinary account that runs the database server when the suite runs as root
COMMAND = [sys.executable, "-m", "course_lib.grading.autograde"]
# The suite's economy: one worker per shard, experiments skipped (the same scores, see README).
FAST = ["--workers", "1", "--skip-experiments"]


def fresh_clone(into: Path) -> Path:
    """A git clone of the committed course, checked out as far as a course directory goes
    (nbgrader_config.py, solutions/, notebooks/); git ignores grading/, so there is no gradebook.
    course_lib is the installed one (a course_lib in a clone under /tmp is outside the sandbox's view)."""
    clone = into / "course"
    git = ["git", "-c", "safe.directory=*"]
    subprocess.run([*git, "clone", "--quiet", "--no-checkout", str(ROOT), str(clone)], check=True)
    subprocess.run([*git, "-C", str(clone), "sparse-checkout", "set", "--no-cone",
                    "/nbgrader_config.py", "/solutions/", "/notebooks/"], check=True)
    subprocess.run([*git, "-C", str(clone), "checkout", "--quiet"], check=True)
    return clone


def autograded(lesson: str) -> dict[str, float]:
    """The points of every autograded cell (a test cell, not a written answer) of ``lesson``'s release."""
    cells = autograde.cells_by_id(nbformat.read(course.release_path(lesson), as_version=4))
    return {gid: float(c.metadata["nbgrader"]["points"]) for gid, c in cells.items()
            if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution")}


def run_shards(course_dir: Path, lesson: str, count: int, *extra: str) -> list[str]:
    """Start ``count`` shards of the grading command at once and wait for all; their outputs."""
    shards = [subprocess.Popen([*COMMAND, "grade", lesson, "--course-dir", str(course_dir), "--shard", f"{i}/{count}",
                                *FAST, *extra], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
              for i in range(count)]
    outputs = [shard.communicate(timeout=900)[0] for shard in shards]
    for shard, output in zip(shards, outputs):
        assert shard.returncode == 0, output
    return outputs


def report(course_dir: Path, lesson: str) -> dict[str, dict]:
    return {o["student"]: o for o in json.loads((course_dir / "grading" / "reports" / f"{lesson}.json").read_text())}


def test_a_fresh_clone_grades_with_shards_at_once(tmp_path):
    """A new instructor's clone, no gradebook, two solved submissions graded by two shards started at
    once: both graded with full marks, the lesson registered once, notebooks/ untouched."""
    clone = fresh_clone(tmp_path)
    assert not (clone / "grading").exists()
    for student in ("ada", "bob"):
        autograde.submit(clone, student, LESSON, autograde.solved(LESSON))
    outputs = run_shards(clone, LESSON, 2)
    assert all("1 graded, 0 refused, 0 failed" in output for output in outputs), outputs
    assert {s: o["status"] for s, o in report(clone, LESSON).items()} == {"ada": "graded", "bob": "graded"}
    expected = autograded(LESSON)
    points = autograde.scores(clone, LESSON)
    assert {s: {gid: row[gid] for gid in expected} for s, row in points.items()} == {"ada": expected, "bob": expected}
    changed = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(clone), "status", "--porcelain"],
                             capture_output=True, text=True, check=True).stdout
    assert not changed, f"grading changed the committed tree:\n{changed}"


def test_a_release_that_solutions_no_longer_generate_is_refused(tmp_path):
    """Where solutions/ has changed since the release students worked on, grading refuses, says what
    to do, and neither rewrites notebooks/ nor registers anything."""
    clone = fresh_clone(tmp_path)
    source = course.solution_path(LESSON, clone)
    nb = nbformat.read(source, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    first.source += "\n\nA sentence added after the release."
    nbformat.write(nb, source)
    autograde.submit(clone, "ada", LESSON, autograde.solved(LESSON))
    result = subprocess.run([*COMMAND, "grade", LESSON, "--course-dir", str(clone), *FAST], capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    says = f"solutions/{LESSON} does not generate the committed release notebooks/{LESSON} ({LESSON}.ipynb differs)"
    assert says in result.stderr and "`make release`" in result.stderr, result.stderr
    changed = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(clone), "status", "--porcelain", "notebooks"],
                             capture_output=True, text=True, check=True).stdout
    assert not changed, changed
    assert not (clone / "grading" / "gradebook.db").exists() and not (clone / "grading" / "autograded").exists()


MERGER = """
import sys, time
from pathlib import Path
from course_lib.grading.autograde import Outcome, record_outcomes
course_dir, shard = Path(sys.argv[1]), int(sys.argv[2])
(course_dir / f"ready{shard}").touch()
while not (course_dir / "go").exists():
    time.sleep(0.01)
for i in range(50):
    record_outcomes(course_dir, "lesson", [Outcome(f"s{shard}-{i:02d}", "graded")])
"""


def test_the_class_report_loses_no_student_when_shards_write_at_once(tmp_path):
    """Four processes, started together, each merge fifty students into one report, one at a time
    (the read-merge-write that ends every shard): every student is in the report, and so is one an
    earlier run recorded."""
    earlier = Outcome("earlier", "refused", ["kept from an earlier run"])
    autograde.record_outcomes(tmp_path, "lesson", [earlier])
    writers = [subprocess.Popen([sys.executable, "-c", MERGER, str(tmp_path), str(shard)]) for shard in range(4)]
    while not all((tmp_path / f"ready{shard}").exists() for shard in range(4)):
        assert all(w.poll() is None for w in writers), "a writer died before it began"
        time.sleep(0.05)
    (tmp_path / "go").touch()
    assert [w.wait(timeout=300) for w in writers] == [0] * 4
    recorded = report(tmp_path, "lesson")
    missing = {f"s{shard}-{i:02d}" for shard in range(4) for i in range(50)} - set(recorded)
    assert not missing, f"{len(missing)} students lost from the report, e.g. {sorted(missing)[:5]}"
    assert recorded["earlier"]["reasons"] == earlier.reasons


# ---------------------------------------------------------------------------------------------
# The gradebook on PostgreSQL, graded by shards at once and by a Slurm job array.
# ---------------------------------------------------------------------------------------------

def postgres_bin() -> Path | None:
    """The newest of Debian's PostgreSQL server binaries (initdb, pg_ctl), installed with
    ``make postgresql`` where they are missing and this runs as root; None where neither works."""
    def found() -> Path | None:
        versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
        return versions[-1].parent if versions else None

    if found() is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["make", "-C", str(ROOT), "postgresql"], capture_output=True)
    return found()


def as_account(command: list[str]) -> list[str]:
    """``command`` run as the ordinary account ``ACCOUNT`` when the suite runs as root (PostgreSQL
    refuses to run as root), else as ourselves."""
    if os.geteuid() != 0:
        return command
    try:
        pwd.getpwnam(ACCOUNT)
    except KeyError:
        pytest.fail(f"the suite runs as root, so PostgreSQL runs as the ordinary account {ACCOUNT!r}: "
                    "create it (`make test` does: useradd --create-home coursegrader)")
    return ["runuser", "-u", ACCOUNT, "--", *command]


@pytest.fixture(scope="module")
def postgres():
    """A PostgreSQL server of its own, run by an ordinary account, reachable only through a Unix
    socket in its 0700 directory (so only that account and root can connect; "trust" authentication
    inside). Yields a function that creates a database and returns its SQLAlchemy URL."""
    binaries = postgres_bin()
    if binaries is None:
        pytest.skip("PostgreSQL's server binaries are not installed (/usr/lib/postgresql/*/bin) and cannot be "
                    "installed here (`make postgresql` needs root and apt-get)")
    top = Path(tempfile.mkdtemp(prefix="gradebook-postgres-"))
    if os.geteuid() == 0:
        account = pwd.getpwnam(ACCOUNT)
        os.chown(top, account.pw_uid, account.pw_gid)
    data, log = top / "data", top / "server.log"
    try:
        subprocess.run(as_account([str(binaries / "initdb"), "-D", str(data), "-U", "grader", "-A", "trust",
                                   "-E", "UTF8"]), check=True, capture_output=True)
        started = subprocess.run(as_account([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-o",
                                             f"-c listen_addresses='' -k {top} -c max_connections=200", "start"]),
                                 capture_output=True, text=True)
        assert started.returncode == 0, started.stdout + started.stderr + (log.read_text() if log.exists() else "")

        def database(name: str) -> str:
            subprocess.run(as_account([str(binaries / "createdb"), "-h", str(top), "-U", "grader", name]), check=True)
            return f"postgresql+psycopg2://grader@/{name}?host={top}"

        yield database
    finally:
        subprocess.run(as_account([str(binaries / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(top, ignore_errors=True)


STUDENTS = ["blank", "empty", "mutant", "solved"]


def postgres_class(into: Path, url: str, configured: bool) -> tuple[Path, dict[str, dict[str, float]]]:
    """A scratch course whose gradebook is at ``url``, named in its nbgrader_config.py where
    ``configured`` (as the README says: every command then uses it), else given to each command; its
    lesson registered once (which creates the gradebook's tables), and four submissions: the solution,
    the release untouched, a mutant and an empty folder (refused). Returns it and, per student, the
    points each autograded cell must get."""
    into.mkdir()
    course_dir = course.scratch_course([LESSON], into)
    shutil.copytree(course.release_path(LESSON).parent, course_dir / "notebooks" / LESSON)
    if configured:
        with open(course_dir / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
    registered = subprocess.run([*COMMAND, "register", LESSON, "--course-dir", str(course_dir),
                                 *([] if configured else ["--db-url", url])],
                                capture_output=True, text=True)
    assert registered.returncode == 0 and "registered" in registered.stdout, registered.stdout + registered.stderr
    full = autograded(LESSON)
    # one wrong answer from tests/mutants: the round trip proves it loses exactly test_attention_scores
    mutant = (ROOT / "tests" / "mutants" / LESSON / "attention_scores--divides-by-d_k.py").read_text()
    solved = autograde.solved(LESSON)
    autograde.submit(course_dir, "solved", LESSON, solved)
    autograde.submit(course_dir, "blank", LESSON, nbformat.read(course.release_path(LESSON), as_version=4))
    autograde.submit(course_dir, "mutant", LESSON, autograde.with_answer(solved, "attention_scores", mutant))
    (course_dir / "grading" / "submitted" / "empty" / LESSON).mkdir(parents=True)
    expected = {"solved": full, "blank": dict.fromkeys(full, 0.0), "empty": {},
                "mutant": {gid: 0.0 if gid == "test_attention_scores" else points for gid, points in full.items()}}
    return course_dir, expected


def check_gradebook(course_dir: Path, url: str, expected: dict[str, dict[str, float]], configured: bool) -> None:
    """Every student in the PostgreSQL gradebook at ``url`` once, with the expected points, and both
    exports, the course's and ``nbgrader export`` (given ``url`` unless ``configured``), agreeing."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT student.id, count(*) FROM submitted_assignment JOIN student ON student.id = student_id "
            "JOIN assignment ON assignment.id = assignment_id WHERE assignment.name = :lesson GROUP BY student.id"),
            {"lesson": LESSON}).all()
    engine.dispose()
    assert dict(rows) == dict.fromkeys(STUDENTS, 1), rows
    points = autograde.scores(course_dir, LESSON, url)
    assert {s: {gid: row[gid] for gid in expected[s]} for s, row in points.items()} == expected, points
    exported = course.nbgrader(["export", "--to", str(course_dir / "grades.csv"), *([] if configured else [f"--db={url}"])],
                               cwd=course_dir)
    table = list(csv.DictReader(open(course_dir / "grades.csv")))
    assert sorted(row["student_id"] for row in table) == STUDENTS, exported.stdout
    totals = {s: sum(p or 0 for p in row.values()) for s, row in points.items()}
    assert {row["student_id"]: float(row["score"]) for row in table} == totals
    assert totals["solved"] > totals["mutant"] > 0 and totals["blank"] == totals["empty"] == 0, totals
    ours = subprocess.run([*COMMAND, "export", LESSON, "--course-dir", str(course_dir), *([] if configured else ["--db-url", url])],
                          capture_output=True, text=True)
    assert ours.returncode == 0, ours.stderr
    rows = {row["student"]: row for row in csv.DictReader(open(course_dir / "grading" / f"{LESSON}.csv"))}
    assert {s: float(row["total"]) for s, row in rows.items()} == totals
    assert {s: row["status"] for s, row in rows.items()} == {**dict.fromkeys(STUDENTS, "graded"), "empty": "refused"}


@pytest.mark.xdist_group("postgres")  # one server for both tests
def test_shards_at_once_grade_into_postgresql(postgres, tmp_path):
    """Three shard processes at once grade four students into a PostgreSQL gradebook."""
    url = postgres("gradebook_shards")
    course_dir, expected = postgres_class(tmp_path / "course", url, configured=True)
    start = time.perf_counter()
    outputs = run_shards(course_dir, LESSON, 3)
    print(f"3 shards at once graded {len(STUDENTS)} students in {time.perf_counter() - start:.0f} s")
    assert sum(output.count(" graded ") for output in outputs) == 3, outputs
    assert set(report(course_dir, LESSON)) == set(STUDENTS)
    check_gradebook(course_dir, url, expected, configured=True)


SLURM_CONF = """\
ClusterName=grading
SlurmctldHost={node}(127.0.0.1)
SlurmUser={user}
SlurmdUser=root
SlurmctldPort={ports[0]}
SlurmdPort={ports[1]}
AuthType=auth/munge
AuthInfo=socket={top}/munge.socket
CredType=cred/munge
StateSaveLocation={top}/state
SlurmdSpoolDir={top}/spool
SlurmctldPidFile={top}/slurmctld.pid
SlurmdPidFile={top}/slurmd.pid
SlurmctldLogFile={top}/slurmctld.log
SlurmdLogFile={top}/slurmd.log
PlugStackConfig={top}/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SlurmdParameters=config_overrides
ReturnToService=2
MpiDefault=none
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName=grading Nodes={node} Default=YES MaxTime=INFINITE State=UP
"""


def free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def slurm():
    """A single-node Slurm cluster of its own (Debian's slurm-wlm, authenticated by its own munge
    daemon and key): slurmctld and slurmd on localhost with a generated slurm.conf in a temporary
    folder, no cgroups (process tracking by /proc, no task plugin), CPUs declared for three tasks at
    once. slurmd runs as root, as it must to start jobs as their owners. Yields the environment the
    Slurm commands need (SLURM_CONF)."""
    if os.geteuid() != 0:
        pytest.skip("the Slurm test starts slurmd, which must run as root (the suite runs as root in CI)")
    if not all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "sbatch", "munged", "mungekey")):
        if shutil.which("apt-get"):
            subprocess.run(["make", "-C", str(ROOT), "slurm"], capture_output=True)
        if not all(shutil.which(tool) for tool in ("slurmctld", "slurmd", "sbatch", "munged", "mungekey")):
            pytest.skip("Slurm and munge are not installed and cannot be installed here (`make slurm` needs apt-get)")
    top = Path(tempfile.mkdtemp(prefix="grading-slurm-"))
    for folder in ("state", "spool"):
        (top / folder).mkdir()
    (top / "plugstack.conf").write_text("")
    node = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, check=True).stdout.split()[0].split("=")[1]
    (top / "slurm.conf").write_text(SLURM_CONF.format(node=node, user="root", ports=free_ports(2), top=top, cpus=3))
    env = {**os.environ, "SLURM_CONF": str(top / "slurm.conf")}
    munge = [f"--socket={top}/munge.socket", f"--key-file={top}/munge.key", f"--pid-file={top}/munged.pid",
             f"--log-file={top}/munged.log", f"--seed-file={top}/munged.seed"]
    daemons = []
    try:
        subprocess.run(["mungekey", "--create", f"--keyfile={top}/munge.key"], check=True, capture_output=True)
        subprocess.run(["munged", "--force", *munge], check=True, capture_output=True)
        daemons.append(top / "munged.pid")
        for daemon in (["slurmctld", "-i"], ["slurmd"]):
            started = subprocess.run(daemon, env=env, capture_output=True, text=True)
            assert started.returncode == 0, f"{daemon[0]} did not start: {started.stderr}"
            daemons.append(top / f"{daemon[0]}.pid")
        deadline = time.monotonic() + 60
        while "idle" not in subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True, text=True).stdout:
            assert time.monotonic() < deadline, "the node did not come up: " + (top / "slurmd.log").read_text()[-2000:]
            time.sleep(0.5)
        yield env
    finally:
        for pid_file in reversed(daemons):
            if pid_file.exists():
                subprocess.run(["kill", pid_file.read_text().strip()])
        time.sleep(1)
        shutil.rmtree(top, ignore_errors=True)


JOB = """\
#!/bin/sh
#SBATCH --job-name=grade-{lesson}
#SBATCH --cpus-per-task=1
echo "started $(date +%s.%N)"
{python} -m course_lib.grading.autograde grade {lesson} --course-dir {course_dir} --db-url {url} \\
  --shard "$SLURM_ARRAY_TASK_ID/{shards}" {fast} || exit
echo "ended $(date +%s.%N)"
"""


@pytest.mark.xdist_group("postgres")
def test_a_slurm_job_array_grades_into_postgresql(postgres, slurm, tmp_path):
    """The same three shards as a job array (``sbatch --array=0-2``) on a single-node Slurm cluster,
    into a PostgreSQL gradebook named by ``--db-url``: the tasks ran at once, every student is in
    that gradebook once with the right points, and the configured one was never written."""
    import shlex

    url = postgres("gradebook_slurm")
    course_dir, expected = postgres_class(tmp_path / "course", url, configured=False)
    script = tmp_path / "grade.sbatch"
    script.write_text(JOB.format(lesson=LESSON, python=sys.executable, course_dir=course_dir, url=shlex.quote(url),
                                 shards=3, fast=" ".join(FAST)))
    start = time.perf_counter()
    submitted = subprocess.run(["sbatch", "--wait", "--array=0-2", f"--output={tmp_path}/shard-%a.out", str(script)],
                               env=slurm, capture_output=True, text=True, timeout=900)
    outputs = {i: (tmp_path / f"shard-{i}.out").read_text() for i in range(3) if (tmp_path / f"shard-{i}.out").exists()}
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr + repr(outputs)
    print(f"a Slurm job array of 3 tasks graded {len(STUDENTS)} students in {time.perf_counter() - start:.0f} s")
    assert len(outputs) == 3 and all("ended" in out for out in outputs.values()), outputs
    started, ended = ([float(line.split()[1]) for out in outputs.values() for line in out.splitlines()
                       if line.startswith(word)] for word in ("started", "ended"))
    assert max(started) < min(ended), f"the three tasks did not run at once: {outputs}"
    assert set(report(course_dir, LESSON)) == set(STUDENTS)
    check_gradebook(course_dir, url, expected, configured=False)
    assert not (course_dir / "grading" / "gradebook.db").exists(), "the configured gradebook was written"
