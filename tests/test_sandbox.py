"""The sandbox each submission's kernel runs in: what it sees, that grading refuses to run without
it, and a class graded by an ordinary account (root ignores file permissions, so it hides bugs).

The kernel tests start sealed kernels directly (nbclient, no nbgrader): it must see the installed
environment read-only, its own working directory with the student's files and no notebook, none
of the grader's files, environment, processes or network, and it must still be interruptible.
"""
from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from course_lib.grading import autograde, course, sandbox
from course_lib.grading.sandbox import HOME, SandboxedKernelManager, SandboxError
from hostile import CORPUS, first_exercise
from lessons import LESSONS

ACCOUNT = "coursegrader"  # the ordinary account grading runs as when the suite runs as root (`make test` creates it)


def run_sealed(sources: list[str], files: tuple[Path, ...] = (), timeout: int = 60) -> list[nbformat.NotebookNode]:
    """Run code cells in a sealed kernel whose home holds ``files``, started and shut down by
    nbclient as in grading; the executed cells."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    manager = type("WithFiles", (SandboxedKernelManager,), {"files": files})
    NotebookClient(nb, kernel_manager_class=manager, kernel_name="python3", timeout=timeout, allow_errors=True,
                   interrupt_on_timeout=True).execute()
    return nb.cells


def printed(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs)


LOOK_AROUND = """
import json, os, pathlib, socket, sys

def outcome(action):
    try:
        return repr(action())
    except Exception as error:
        return type(error).__name__

def listing(path):
    return sorted(os.listdir(path)) if os.path.isdir(path) else None

print(json.dumps({
    "uid": os.getuid(), "cwd": os.getcwd(), "home": os.path.expanduser("~"), "here": listing("."),
    "variables": sorted(os.environ), "listings": {p: listing(p) for p in %(ancestors)r},
    "secret": outcome(lambda: pathlib.Path(%(secret)r).read_text()),
    "write_environment": outcome(lambda: pathlib.Path(sys.prefix, "planted.txt").write_text("x")),
    "connect": outcome(lambda: socket.create_connection(("127.0.0.1", %(port)d), timeout=5)),
    "processes": [pathlib.Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace")
                  for p in os.listdir("/proc") if p.isdigit()],
}))
"""


def test_kernel_sees_only_the_environment_and_its_own_files(tmp_path, monkeypatch):
    secret = tmp_path / "gradebook.db"
    secret.write_text("the instructor's")
    data = tmp_path / "measurements.csv"
    data.write_text("1,2,3\n")
    monkeypatch.setenv("COURSE_API_TOKEN", "the instructor's")
    visible = sandbox.readonly_paths()
    ancestors = sorted({str(parent) for path in [*visible, HOME] for parent in Path(path).parents
                        if not any(parent.is_relative_to(v) for v in visible)})
    with socket.create_server(("127.0.0.1", 0)) as listener:
        source = LOOK_AROUND % {"ancestors": ancestors, "secret": str(secret), "port": listener.getsockname()[1]}
        seen = json.loads(printed(run_sealed([source], files=(data,))[0]))
        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert seen["uid"] != 0, "the kernel must not run as root"
    assert seen["cwd"] == seen["home"] == HOME, "the kernel works in its own home"
    assert [n for n in seen["here"] if not n.startswith(".")] == [data.name], "its home holds the student's files, no notebook"
    mounted = [*visible, HOME, "/tmp", "/proc", "/dev", "/bin", "/lib", "/lib64", "/sbin"]
    sockets = Path(tempfile.gettempdir())  # the kernel's own socket directory, kernel-*, is bound at its own path
    for folder, names in seen["listings"].items():  # each folder on the way to what it may read shows only that way
        allowed = {Path(p).relative_to(folder).parts[0] for p in mounted if p != folder and Path(p).is_relative_to(folder)}
        if Path(folder) == sockets:
            allowed |= {name for name in names or [] if name.startswith("kernel-")}
        assert set(names or []) <= allowed, f"the kernel sees {sorted(set(names) - allowed)} in {folder}"
    assert "COURSE_API_TOKEN" not in seen["variables"]
    assert seen["secret"] == "FileNotFoundError"
    assert seen["write_environment"] == "OSError"  # a read-only file system
    assert seen["connect"] in {"ConnectionRefusedError", "OSError"}
    others = [p for p in seen["processes"] if not p.startswith("bwrap\0") and "ipykernel_launcher" not in p]
    assert not others, f"the kernel sees processes other than its own: {others}"


def test_kernel_is_interrupted_and_lives_on():
    cells = run_sealed(["import time\ntime.sleep(300)", "print('still here')"], timeout=5)
    assert any(o.output_type == "error" for o in cells[0].outputs)
    assert printed(cells[1]) == "still here\n"


def left_behind(grader: int) -> list[str]:
    """What the kernels of the grader with process id ``grader`` left on its side: anything in the
    temporary directory (their socket directories), and their pids cgroups (a kernel started by root)."""
    names = [p.name for p in Path(tempfile.gettempdir()).iterdir()]
    cgroups = sandbox.pids_cgroups()
    if cgroups:  # cgroups are shared by the whole machine: only this grader's
        names += [p.name for p in cgroups.glob(f"{sandbox.RUNTIME_PREFIX}{grader}-*")]
    return sorted(names)


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """A temporary directory of the test's own, where the kernels' socket directories go."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(tempfile, "tempdir", None)  # tempfile reads TMPDIR again
    return tmp_path


@pytest.mark.parametrize("cell", ["open('left-behind', 'w').write('x')", "import os\nos.kill(os.getpid(), 9)"],
                         ids=["shut_down", "killed_mid_cell"])
def test_sandbox_files_are_removed_with_the_kernel(cell, private_tmp):
    before = left_behind(os.getpid())
    with contextlib.suppress(DeadKernelError):  # the kernel that killed itself
        run_sealed([cell])
    assert left_behind(os.getpid()) == before == []


GRADER = """
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError
from course_lib.grading.sandbox import SandboxedKernelManager
nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import time\\ntime.sleep(300)")])
NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, kernel_name="python3", timeout=600).execute()
"""


def test_what_a_killed_grader_left_is_swept(private_tmp):
    """A grader killed mid-cell (SIGKILL, as a time limit does) cannot clean up; the next kernel's start does."""
    grader = subprocess.Popen([sys.executable, "-c", GRADER], env={**os.environ, "TMPDIR": str(private_tmp)})
    try:
        for _ in range(1200):
            if any(private_tmp.glob(f"{sandbox.RUNTIME_PREFIX}{grader.pid}-*/ipc-*")):  # the kernel is up
                break
            assert grader.poll() is None, "the grader ended before its kernel started"
            time.sleep(0.1)
    finally:
        grader.kill()
        grader.wait()
    time.sleep(1)  # bubblewrap and the kernel die with the grader
    assert left_behind(grader.pid), "the killed grader should have left its kernel's files"
    sandbox.sweep()
    assert left_behind(grader.pid) == []


FORK_BOMB = """import os, time
pids = []
try:
    for _ in range({tries}):
        pid = os.fork()
        if pid == 0:
            time.sleep(15)
            os._exit(0)
        pids.append(pid)
except OSError:
    print("stopped after", len(pids))
for pid in pids:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(len(pids))
"""


def test_a_kernel_cannot_start_processes_without_end(private_tmp):
    """At most PROCESS_LIMIT tasks; the kernel lives on, and torch still runs on several threads."""
    tries = 3 * sandbox.PROCESS_LIMIT  # bounded, in case the limit fails
    threads = ("import torch\ntorch.set_num_threads(4)\na = torch.ones(1024, 1024, dtype=torch.float64)\n"
               "print(torch.get_num_threads(), int(a.mm(a).sum()))")
    cells = run_sealed([FORK_BOMB.format(tries=tries), threads])
    lines = printed(cells[0]).splitlines()
    assert lines[0].startswith("stopped after") and int(lines[-1]) < sandbox.PROCESS_LIMIT, printed(cells[0])
    assert printed(cells[1]) == f"4 {1024 ** 3}\n", cells[1].outputs


@pytest.mark.parametrize("bwrap, says", [
    ("/nonexistent/bwrap", "is not installed"),
    ("fails", "no user namespaces here"),
])
def test_grading_refuses_to_run_student_code_unsealed(bwrap, says, tmp_path, monkeypatch, capsys):
    course_dir = course.scratch_course([LESSONS[0]], tmp_path)
    if bwrap == "fails":
        bwrap = tmp_path / "bwrap"
        bwrap.write_text("#!/bin/sh\necho 'bwrap: no user namespaces here' >&2\nexit 1\n")
        bwrap.chmod(0o755)
    monkeypatch.setattr(sandbox, "BWRAP", str(bwrap))
    sandbox.unavailable.cache_clear()
    try:
        with pytest.raises(SandboxError, match=f"{says}.*--no-sandbox"):
            autograde.grade_class(course_dir, LESSONS[0])
        monkeypatch.setattr(sys, "argv", ["autograde", "grade", LESSONS[0], "--course-dir", str(course_dir)])
        with pytest.raises(SystemExit) as exit_:
            autograde.main()
        assert exit_.value.code == 1 and "refusing to grade" in capsys.readouterr().err
        assert not (course_dir / "grading").exists(), "nothing was graded"
    finally:
        monkeypatch.undo()
        sandbox.unavailable.cache_clear()


# ---------------------------------------------------------------------------------------------
# A class graded by an ordinary account.
# ---------------------------------------------------------------------------------------------

ORDINARY_CLASS = ["html_export_in_submission", "escapes_through_subprocess", "kernel_crash", "infinite_loop", "fork_bomb"]


def as_ordinary_account(command: list[str], home: Path, account: str = ACCOUNT) -> list[str]:
    """``command`` run as an ordinary account: ourselves, or ``account`` when the suite runs as root.

    Where the interpreter lives in a home the account may not enter (a pyenv Python under /root),
    the account runs in a view of the file system in which that home holds only the interpreter.
    """
    environment = ["env", "-i", f"HOME={home}", f"PATH={Path(sys.executable).parent}:/usr/bin:/bin",
                   "LANG=C.UTF-8", "OMP_NUM_THREADS=1", "MKL_NUM_THREADS=1"]
    if os.geteuid() != 0:
        return environment + command
    try:
        pwd.getpwnam(account)
    except KeyError:
        pytest.fail(f"the suite runs as root, so grading is tested as the ordinary account {account!r}: "
                    f"create it (`make test` does: useradd {account})")
    prefix = ["runuser", "-u", account, "--"]
    if subprocess.run([*prefix, sys.executable, "-c", "pass"], capture_output=True).returncode != 0:
        closed = next(p for p in Path(sys.base_prefix).parents if p != Path("/") and not os.stat(p).st_mode & 0o001)
        way = [p for p in reversed(Path(sys.base_prefix).parents) if p.is_relative_to(closed) and p != closed]
        prefix = [sandbox.BWRAP, "--dev-bind", "/", "/", "--perms", "0755", "--tmpfs", str(closed),
                  *[a for p in way for a in ("--perms", "0755", "--dir", str(p))],
                  "--ro-bind", sys.base_prefix, sys.base_prefix, "--", *prefix]
    return prefix + environment + command


@pytest.fixture(scope="module")
def ordinary_class():
    lesson = LESSONS[0]
    top = Path(tempfile.mkdtemp(prefix="ordinary-class-"))
    try:
        (top / "course").mkdir()
        course_dir = course.scratch_course([lesson], top / "course")
        course.generate([lesson], course_dir)
        for entry in CORPUS:
            if entry.name in ORDINARY_CLASS:
                folder = course_dir / "grading" / "submitted" / entry.name / lesson
                folder.mkdir(parents=True)
                entry.build(lesson, folder)
        (top / "home").mkdir()
        if os.geteuid() == 0:
            account = pwd.getpwnam(ACCOUNT)
            for path in [top, *top.rglob("*")]:
                os.chown(path, account.pw_uid, account.pw_gid, follow_symlinks=False)
        grade = subprocess.run(as_ordinary_account(
            [sys.executable, "-m", "course_lib.grading.autograde", "grade", lesson, "--course-dir", str(course_dir),
             "--workers", "1", "--cell-timeout", "10", "--memory-gb", "3"], top / "home"), capture_output=True, text=True)
        assert grade.returncode == 0, grade.stdout + grade.stderr
        feedback = subprocess.run(as_ordinary_account(
            [sys.executable, "-m", "nbgrader", "generate_feedback", lesson, "--force"], top / "home"),
            cwd=course_dir, capture_output=True, text=True)
        report = {o["student"]: o for o in json.loads((course_dir / "grading" / "reports" / f"{lesson}.json").read_text())}
        yield lesson, course_dir, report, autograde.scores(course_dir, lesson), feedback
    finally:
        shutil.rmtree(top)


@pytest.mark.xdist_group("ordinary-class")  # one worker grades the class once for every test of it
@pytest.mark.parametrize("name", ORDINARY_CLASS)
def test_ordinary_account_grades_each_submission(name, ordinary_class):
    lesson, course_dir, report, scores, feedback = ordinary_class
    entry = next(e for e in CORPUS if e.name == name)
    assert report[name]["status"] == entry.status, report[name]
    assert entry.reason.lower() in " | ".join(report[name]["reasons"]).lower(), report[name]
    cells = autograde.cells_by_id(nbformat.read(course.release_path(lesson), as_version=4))
    lost = {gid for gid, points in scores[name].items()
            if points is not None and points < float(cells[gid].metadata["nbgrader"]["points"])}
    assert lost == ({f"test_{first_exercise(lesson)[0]}"} if entry.loses == "first" else set()), f"{name} lost {sorted(lost)}"
    assert (course_dir / "grading" / "feedback" / name / lesson / f"{lesson}.html").exists(), feedback.stdout + feedback.stderr
    if entry.intrudes:  # as an ordinary account the process limit is RLIMIT_NPROC, not root's pids cgroup
        graded = nbformat.read(course_dir / "grading" / "autograded" / name / lesson / f"{lesson}.ipynb", as_version=4)
        shown = "".join(o.get("text", "") for c in graded.cells if c.cell_type == "code" for o in c.outputs)
        assert "BLOCKED" in shown and "STOLEN" not in shown, f"{name}: {shown[:500]!r}"


@pytest.mark.xdist_group("ordinary-class")
def test_ordinary_account_leaves_nothing_outside_the_sandbox(ordinary_class):
    _, course_dir, _, _, feedback = ordinary_class
    assert feedback.returncode == 0, feedback.stdout + feedback.stderr
    assert not (course_dir / "escaped.txt").exists()
