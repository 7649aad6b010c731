"""Sealed kernels: each submission's code runs in a bubblewrap sandbox that cannot reach the grader.

nbgrader runs a student's notebook, hidden tests included, in one Jupyter kernel. Without a seal
that kernel runs with the instructor's rights: ordinary Python in an answer cell could read the
notebook with the hidden tests from its working directory, read ``solutions/``, write the gradebook
or change another student's files. ``SandboxedKernelManager`` starts the kernel inside
`bubblewrap <https://github.com/containers/bubblewrap>`_ (Debian's ``bubblewrap`` package, the
sandbox Flatpak uses), which builds a new root from a few bind mounts in unprivileged Linux
namespaces. The kernel sees:

- read-only: ``/usr``, the Python install, the virtual environment, ``course_lib`` (the hidden
  tests import ``course_lib.grading``), the course's ``assets/`` (checkpoints it made) and a few
  files of ``/etc`` (the loader cache, fonts);
- a private, size-limited ``/tmp`` and home directory, which is also its working directory and
  holds the student's own supporting files (read-only), never a notebook;
- the directory with its connection file and sockets: nbclient talks to the kernel over
  jupyter_client's ``ipc`` transport (Unix sockets), so the kernel needs no network at all.

Nothing else exists there: not the course directory, the gradebook, ``solutions/``, the other
students' submissions or feedback, nor the instructor's home; it has its own network namespace
(no network), process namespace (it cannot see or signal the grader) and user namespace with no
capabilities, and it dies with the grader. The nbgrader process itself stays outside and writes
the gradebook as before.

A fork bomb in an answer cell is stopped by a limit on the kernel's processes and threads
(``PROCESS_LIMIT``). For an ordinary account it is ``RLIMIT_NPROC``, set with ``prlimit`` inside the
sandbox: Linux counts it per user namespace and uid, so it counts this kernel's tasks only, not the
grader's nor other kernels'. Linux never enforces ``RLIMIT_NPROC`` for root (a sandbox started by root
maps to uid 0 outside), so a kernel started by root is also put into a cgroup of its own in the
``pids`` controller (``pids.max``); where root can create none, the sandbox counts as unavailable.
Everything a kernel leaves on the grader's side (its socket directory, its cgroup) carries the
grader's process id and is removed when the kernel is shut down, and by ``sweep`` for graders that
were killed before they could (``SIGKILL``, a time limit).
"""
from __future__ import annotations

import contextlib
import functools
import importlib.machinery
import importlib.util
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from jupyter_client.manager import AsyncKernelManager

import course_lib

BWRAP = "bwrap"
HOME = "/home/student"  # the kernel's home and working directory inside the sandbox
TMPFS_BYTES = 512 * 2**20  # each of /tmp and the home directory
# Variables the kernel keeps; everything else in the grader's environment (tokens, paths) is dropped.
KEPT_VARIABLES = ("NBGRADER_EXECUTION", "COURSE_FAST", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "LANG", "LC_ALL", "TZ")
PROCESS_LIMIT = 512  # tasks (processes and threads) of one kernel: torch, BLAS and ipykernel need far fewer
RUNTIME_PREFIX = "kernel-"  # the grader's side of a kernel: <tempdir>/kernel-<grader pid>-*, <pids cgroup>/kernel-<grader pid>-*
_ETC = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/fonts", "/etc/localtime")
HINT = ("Install bubblewrap (`make sandbox`, or `apt-get install bubblewrap`) and allow unprivileged user "
        "namespaces (`sysctl user.max_user_namespaces` above 0; on Debian/Ubuntu kernels also "
        "`kernel.unprivileged_userns_clone=1`), or grade without the sandbox (`--no-sandbox`, or "
        "`--ResilientExecute.sandbox=False` for nbgrader itself): student code then runs with your rights "
        "and can read the hidden tests and write the gradebook.")


class SandboxError(RuntimeError):
    """The sandbox cannot start here, so student code must not run."""


def readonly_paths() -> list[str]:
    """What the kernel may read, at the paths Python knows them by: the installed environment, and
    nothing of the course but course_lib and assets/ (the checkpoints and files the course made
    itself, which experiment cells load); a path inside another one is not listed again."""
    package = Path(course_lib.__file__).parent
    paths = {"/usr", sys.base_prefix, sys.prefix, str(package)}
    if (package.parent / "assets").is_dir():
        paths.add(str(package.parent / "assets"))
    paths |= {p for p in _ETC if os.path.exists(p)}
    return sorted(p for p in paths if not any(p != q and Path(p).is_relative_to(q) for q in paths))


def pids_cgroups() -> Path | None:
    """The folder of the ``pids`` cgroup controller in which this process may create cgroups (in
    practice: as root, on a system whose cgroup file system is writable), or None."""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mountpoint, kind, options = line.split()[:4]
        if kind == "cgroup" and "pids" in options.split(","):  # cgroup v1: our own cgroup in that hierarchy
            own = next(l.split(":", 2)[2] for l in Path("/proc/self/cgroup").read_text().splitlines()
                       if "pids" in l.split(":")[1].split(","))
            folder = Path(mountpoint, own.lstrip("/"))
        elif kind == "cgroup2" and "pids" in Path(mountpoint, "cgroup.subtree_control").read_text().split():
            folder = Path(mountpoint)  # cgroup v2: only the root may hold both processes and child cgroups
        else:
            continue
        return folder if os.access(folder, os.W_OK) else None
    return None


def bwrap_command(sockets: Path, files: Iterable[Path] = (), cgroup: Path | None = None) -> list[str]:
    """The bubblewrap command line (up to the sandboxed command) for one kernel.

    ``sockets`` is the directory holding the connection file, bound read-write at its own path;
    ``files`` are bound read-only into the kernel's home, under their own names; ``cgroup`` is the
    pids cgroup the sandbox joins before it starts (a kernel started by root). Inside, ``prlimit``
    limits the kernel's tasks (``PROCESS_LIMIT``).
    """
    join = f"echo $$ > {shlex.quote(str(cgroup / 'cgroup.procs'))} || exit 1; " if cgroup else ""
    command = ["sh", "-c", join + 'trap "" INT; exec "$0" "$@"',  # SIGINT must reach the kernel, not kill bwrap
               BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
               "--die-with-parent", "--uid", "1000", "--gid", "1000", "--hostname", "sandbox"]
    # The private /tmp and home first: a course or environment that lives under /tmp (a CI clone)
    # is then bound on top of them instead of being hidden by them.
    command += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(TMPFS_BYTES), "--tmpfs", "/tmp",
                "--size", str(TMPFS_BYTES), "--tmpfs", HOME]
    for path in readonly_paths():
        command += ["--ro-bind", path, path]
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{link}"):  # merged /usr: /bin -> usr/bin
            command += ["--symlink", os.readlink(f"/{link}"), f"/{link}"]
    command += ["--bind", str(sockets), str(sockets)]
    for file in files:
        command += ["--ro-bind", str(file), f"{HOME}/{file.name}"]
    command += ["--chdir", HOME, "--clearenv", "--setenv", "HOME", HOME, "--setenv", "USER", "student",
                "--setenv", "PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin"]
    for name in KEPT_VARIABLES:
        if name in os.environ:
            command += ["--setenv", name, os.environ[name]]
    return command + ["--", "prlimit", f"--nproc={PROCESS_LIMIT}", "--"]


@functools.cache
def unavailable() -> str | None:
    """Why the sandbox cannot run a kernel here (None when it can): checked once per process by
    starting this Python in it and importing course_lib."""
    if shutil.which(BWRAP) is None:
        return f"`{BWRAP}` (bubblewrap) is not installed"
    with tempfile.TemporaryDirectory(prefix="sandbox-check-") as sockets:
        probe = subprocess.run([*bwrap_command(Path(sockets)), sys.executable, "-c", "import course_lib"],
                               capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"bubblewrap could not start a sandbox: {(probe.stderr.strip() or 'no message').splitlines()[-1]}"
    if os.geteuid() == 0 and pids_cgroups() is None:
        return ("grading runs as root, for whom Linux does not enforce the limit on a kernel's processes "
                "(RLIMIT_NPROC), and no pids cgroup can be created here to limit them instead, so a fork bomb "
                "in an answer could exhaust the machine; grade as an ordinary account")
    return None


def require() -> None:
    """Raise SandboxError, saying why and what to do, when the sandbox cannot run here."""
    reason = unavailable()
    if reason:
        raise SandboxError(f"Student code must run sealed, but {reason}. {HINT}")


def shadows_a_module(path: Path) -> bool:
    """Whether a file or folder in the kernel's working directory, which is first on its ``sys.path``,
    would be imported instead of an installed module (the kernel's own launcher, torch, course_lib)."""
    name = path.name if path.is_dir() else path.name.split(".")[0]
    importable = path.is_dir() or any(path.name.endswith(suffix) for suffix in importlib.machinery.all_suffixes())
    return importable and name.isidentifier() and importlib.util.find_spec(name) is not None


def supporting_files(*folders: Path) -> tuple[list[Path], list[str]]:
    """The files a kernel may see next to the notebook, by name (the first folder's win), and why
    any other was left out: regular files and folders, never a notebook (the one being graded holds
    the hidden tests), a symbolic link (bubblewrap would bind what it points to) or a module that
    would be imported instead of an installed one."""
    chosen: dict[str, Path] = {}
    left_out: list[str] = []
    for folder in folders:
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_symlink() or path.suffix == ".ipynb" or not (path.is_file() or path.is_dir()):
                continue
            if shadows_a_module(path):
                left_out.append(f"{path.name} was left out of grading: it would be imported instead of the "
                                f"installed module {path.name.split('.')[0]}")
            else:
                chosen.setdefault(path.name, path)
    return [chosen[name] for name in sorted(chosen)], left_out


def remove_tree(path: Path) -> None:
    """Remove a directory the kernel wrote into, even where it took away its own write permission."""
    if not path.exists():
        return
    for root, folders, _ in os.walk(path):  # top-down: each folder is opened up before it is entered
        for folder in folders:
            if not os.path.islink(os.path.join(root, folder)):
                os.chmod(os.path.join(root, folder), 0o700)
    shutil.rmtree(path)


def remove_cgroup(path: Path, seconds: float = 10) -> None:
    """Kill what is left in a kernel's cgroup and remove it (a cgroup can only be removed once empty)."""
    deadline = time.monotonic() + seconds
    while path.exists():
        for pid in (path / "cgroup.procs").read_text().split():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        try:
            path.rmdir()
        except OSError:  # EBUSY until the killed tasks are gone
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _runtime_name() -> str:
    return f"{RUNTIME_PREFIX}{os.getpid()}-"


def _grader_is_gone(path: Path) -> bool:
    """Whether ``path`` (``kernel-<pid>-*``) belongs to a grader of ours that no longer runs."""
    pid = path.name[len(RUNTIME_PREFIX):].split("-", 1)[0]
    if not pid.isdigit() or path.stat().st_uid != os.geteuid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # a process of another account's: not ours to judge
        pass
    return False


def sweep() -> None:
    """Remove what kernels of graders that were killed (SIGKILL, a time limit) left behind: socket
    directories in the temporary directory and pids cgroups."""
    for path in Path(tempfile.gettempdir()).glob(f"{RUNTIME_PREFIX}*"):
        if path.is_dir() and _grader_is_gone(path):
            remove_tree(path)
    cgroups = pids_cgroups()
    for path in cgroups.glob(f"{RUNTIME_PREFIX}*") if cgroups else ():
        if _grader_is_gone(path):
            remove_cgroup(path)


class SandboxedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel runs sealed in bubblewrap, with a limit on its processes, and
    talks over Unix sockets; nothing of it is left on the grader's side once it is shut down.

    Set ``files`` (the student's supporting files) before starting the kernel.
    """

    files: tuple[Path, ...] = ()
    _sockets: Path | None = None
    _cgroup: Path | None = None

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        require()
        sweep()
        self._sockets = Path(tempfile.mkdtemp(prefix=_runtime_name()))
        if os.geteuid() == 0:  # RLIMIT_NPROC does not hold for root: a pids cgroup does (require() checked one can be made)
            self._cgroup = Path(tempfile.mkdtemp(prefix=_runtime_name(), dir=pids_cgroups()))
            (self._cgroup / "pids.max").write_text(str(PROCESS_LIMIT))
        self.transport = "ipc"
        self.connection_file = str(self._sockets / "kernel.json")
        self.ip = str(self._sockets / "ipc")
        return await super()._async_pre_start_kernel(**kw)

    async def _async_start_kernel(self, **kw: Any) -> None:
        try:
            await super()._async_start_kernel(**kw)
        except BaseException:  # bubblewrap or the kernel failed to start, or the grader was interrupted
            self.remove_runtime()
            raise

    start_kernel = _async_start_kernel

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return bwrap_command(self._sockets, self.files, self._cgroup) + super().format_kernel_cmd(extra_arguments)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        try:
            await super()._async_cleanup_resources(restart=restart)
        finally:
            if not restart:
                self.remove_runtime()

    cleanup_resources = _async_cleanup_resources

    def remove_runtime(self) -> None:
        """Remove the kernel's socket directory and cgroup (it is shut down, or never started)."""
        if self._sockets is not None:
            remove_tree(self._sockets)
            self._sockets = None
        if self._cgroup is not None:
            remove_cgroup(self._cgroup)
            self._cgroup = None
