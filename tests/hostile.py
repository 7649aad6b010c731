"""A corpus of broken and hostile submissions, built from any lesson's solved notebook.

Each entry says how to build the submission and what grading must end with: the test
cells that lose their points, the status, and words the recorded reason must contain.
Entries marked ``intrudes`` run code of the student's that tries to reach past the kernel's
sandbox (read the hidden tests or solutions, write the gradebook or another student's files,
directly or from a subprocess, open a connection, start processes without end): it prints
``BLOCKED`` for each attempt that failed and ``STOLEN`` for each that worked, and must change
nothing outside the sandbox.
Entries for editor accidents (split, retyped and pasted-image cells, an HTML export, a bad
timestamp.txt) must be graded on the student's work with the fallback named in the reason.

Most entries exercise machinery that is the same for every lesson (time and memory limits,
crash recovery, the rebuild on the release, refusals), so tests/test_hostile.py grades the
whole corpus on one lesson. The outcome of the entries in ``LESSON_DEPENDENT`` depends on
each lesson's own hidden tests (its reference made unusable, exact-type checks), so the round
trip (tests/test_roundtrip.py) grades those for every lesson, packed with the mutants.
"""
from __future__ import annotations

import copy
import re
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import nbformat
from nbformat import NotebookNode

from course_lib.grading import autograde, course
from course_lib.grading.screen import import_bindings, module_bindings


@dataclass
class Hostile:
    name: str
    build: Callable[[str, Path], None]  # (lesson, submission folder) -> writes files
    loses: str = "none"  # "none", "first" (the first exercise's tests) or "all"
    status: str = "graded"
    reason: str = ""  # a phrase the recorded reason must contain ("" = no reason needed)
    intrudes: bool = False  # tries to reach past the sandbox: every attempt must print BLOCKED


def first_exercise(lesson: str) -> tuple[str, str, str]:
    """(answer cell id, function name, course_lib reference) of the lesson's first exercise."""
    solved = autograde.solved(lesson)
    for gid, cell in autograde.cells_by_id(solved).items():
        match = re.search(r"^def (\w+)\(", cell.source, re.M)
        if cell.metadata["nbgrader"].get("solution") and match:
            test = autograde.cells_by_id(nbformat.read(course.solution_path(lesson), as_version=4))[f"test_{gid}"]
            reference = re.search(r"course_lib\.\w+\.%s" % match.group(1), test.source).group(0)
            return gid, match.group(1), reference
    raise ValueError(f"{lesson} has no function exercise")


def wrapped_answer(lesson: str, body: str) -> str:
    """The first exercise's answer cell, with its function replaced by one running ``body``."""
    gid, name, _ = first_exercise(lesson)
    source = autograde.cells_by_id(autograde.solved(lesson))[gid].source
    return f"{source}\n\ndef {name}(*args, **kwargs):\n" + "".join(f"    {line}\n" for line in body.splitlines())


def reference_answer(lesson: str) -> str:
    """The first exercise's answer cell, delegating to the course's own reference."""
    _, name, reference = first_exercise(lesson)
    module, _, function = reference.rpartition(".")
    return f"import {module}\n\ndef {name}(*args, **kwargs):\n    return {module}.{function}(*args, **kwargs)\n"


# Processes started without end, as a fork bomb does (from a shell, whose forks are quick: forking the
# kernel itself takes seconds on a loaded machine), bounded so that it cannot hurt the machine if the
# sandbox's process limit fails: at most 1500 processes, each gone after 15 s. It prints BLOCKED when
# the limit stopped it (the shell's "Cannot fork").
FORK_BOMB = """import subprocess
# the sleepers must not hold the captured pipes open, or run() waits for all of them to end
shell = subprocess.run(["sh", "-c", "n=0; while [ $n -lt 1500 ]; do sleep 15 >/dev/null 2>&1 & n=$((n + 1)); done"],
                       capture_output=True, text=True)
print("BLOCKED fork bomb" if "fork" in shell.stderr.lower() else "STOLEN fork bomb: all 1500 processes started")"""

ALWAYS_EQUAL = "class AlwaysEqual:\n    def __eq__(self, other):\n        return True\nreturn AlwaysEqual()"

def fresh_copy_answer(lesson: str) -> str:
    """The first exercise's answer cell, delegating to a fresh copy of the course's reference, run
    from its module's file (``runpy``): a function object ``grading.strict`` never swapped."""
    _, name, reference = first_exercise(lesson)
    module, _, function = reference.rpartition(".")
    return (f"import runpy\n\n_fresh = runpy.run_module({module!r})[{function!r}]\n\n"
            f"def {name}(*args, **kwargs):\n    return _fresh(*args, **kwargs)\n")


# The kinds whose outcome depends on the lesson: name -> the first exercise's answer cell.
LESSON_DEPENDENT: dict[str, Callable[[str], str]] = {
    "calls_reference": reference_answer,
    "always_equal_object": lambda lesson: wrapped_answer(lesson, ALWAYS_EQUAL),
    "fresh_copy_of_reference": fresh_copy_answer,
}


def wrapped(body: str) -> Callable[[str], NotebookNode]:
    """The solved notebook whose first exercise's function is replaced by one running ``body``."""
    def make(lesson: str) -> NotebookNode:
        return autograde.with_answer(autograde.solved(lesson), first_exercise(lesson)[0], wrapped_answer(lesson, body))
    return make


def edited(change: Callable[[NotebookNode, str], None]) -> Callable[[str], NotebookNode]:
    def make(lesson: str) -> NotebookNode:
        nb = copy.deepcopy(autograde.solved(lesson))
        change(nb, lesson)
        return nb
    return make


def tests_of(nb: NotebookNode) -> list[NotebookNode]:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade") and c.cell_type == "code"]


def _edit_tests(nb: NotebookNode, lesson: str) -> None:
    for cell in tests_of(nb):
        cell.source = "pass  # the student emptied this test"
        cell.metadata.nbgrader["points"] = 100


def _delete_tests(nb: NotebookNode, lesson: str) -> None:
    nb.cells = [c for c in nb.cells if c not in tests_of(nb)]


def _duplicate_tests(nb: NotebookNode, lesson: str) -> None:
    first = tests_of(nb)[0]
    nb.cells.insert(nb.cells.index(first) + 1, copy.deepcopy(first))
    nb.cells.insert(0, copy.deepcopy(tests_of(nb)[-1]))


def _unlock_and_demote(nb: NotebookNode, lesson: str) -> None:
    for cell in tests_of(nb):
        cell.metadata.nbgrader.update(locked=False, grade=False, solution=True)


def _stderr_everywhere(nb: NotebookNode, lesson: str) -> None:
    for gid, cell in autograde.cells_by_id(nb).items():
        if cell.metadata["nbgrader"].get("solution") and cell.cell_type == "code":
            cell.source = "import sys\nprint('debug: about to define my answer', file=sys.stderr)\n" + cell.source
    nb.cells.append(nbformat.v4.new_code_cell("import warnings\nwarnings.warn('a warning of my own')"))


def _monkeypatch(lesson: str) -> NotebookNode:
    gid, name, _ = first_exercise(lesson)
    return autograde.with_answer(autograde.solved(lesson), gid, (
        f"def {name}(*args, **kwargs):\n    return None\n\n"
        "torch.allclose = lambda *a, **k: True\n"
        "torch.testing.assert_close = lambda *a, **k: None\n"
        "checks.check_close = lambda *a, **k: None\n"))


def _input_transformer(lesson: str) -> NotebookNode:
    gid, _, _ = first_exercise(lesson)
    solved = autograde.solved(lesson)
    source = autograde.cells_by_id(solved)[gid].source
    return autograde.with_answer(solved, gid, source + "\n\nget_ipython().input_transformers_cleanup.append(lambda lines: [])\n")


def _writes(make: Callable[[str], NotebookNode], filename: str | None = None) -> Callable[[str, Path], None]:
    def build(lesson: str, folder: Path) -> None:
        nbformat.write(make(lesson), folder / (filename or f"{lesson}.ipynb"))
    return build


def _raw(text: str) -> Callable[[str, Path], None]:
    def build(lesson: str, folder: Path) -> None:
        (folder / f"{lesson}.ipynb").write_text(text)
    return build


def _other_assignment(lesson: str, folder: Path) -> None:
    others = [other for other in course.lessons() if other != lesson and course.release_path(other).exists()]
    if others:
        nb = nbformat.read(course.release_path(others[0]), as_version=4)
    else:  # only one lesson exists: a notebook whose exercise cells all have foreign ids
        nb = nbformat.read(course.release_path(lesson), as_version=4)
        for cell in nb.cells:
            if "nbgrader" in cell.metadata:
                cell.metadata.nbgrader["grade_id"] = "other_" + cell.metadata.nbgrader["grade_id"]
    nbformat.write(nb, folder / f"{lesson}.ipynb")


def _empty_folder(lesson: str, folder: Path) -> None:
    (folder / "notes.txt").write_text("I ran out of time")


# ---------------------------------------------------------------------------------------------
# Intrusions: a cell of the student's own, after the first answer, that tries to reach past the sandbox.
# ---------------------------------------------------------------------------------------------

_ATTEMPT = """import pathlib, socket, sqlite3, subprocess

def attempt(what, action):
    try:
        result = action()
    except Exception as error:
        print(f"BLOCKED {what}: {type(error).__name__}")
    else:
        print(f"STOLEN {what}: {str(result)[:60]!r}")

"""


def _intrusion(attempts: Callable[[str, Path, Path], str]) -> Callable[[str, Path], None]:
    """The solved notebook with an extra cell running ``attempts(lesson, course_dir, folder)``."""
    def build(lesson: str, folder: Path) -> None:
        nb = autograde.solved(lesson)
        index = nb.cells.index(autograde.cells_by_id(nb)[first_exercise(lesson)[0]]) + 1
        nb.cells.insert(index, nbformat.v4.new_code_cell(_ATTEMPT + attempts(lesson, folder.parents[3], folder)))
        nbformat.write(nb, folder / f"{lesson}.ipynb")
    return build


def _on(what: str, path: str, action: str = "read_text()") -> str:
    """An attempt at ``action`` on the file ``path``."""
    return f'attempt({what!r}, lambda: pathlib.Path({path!r}).{action})'


def _reads(lesson: str, course: Path, folder: Path) -> str:
    """Read the hidden tests (the graded notebook in the working directory, the autograded copy),
    the solutions, the config and another student's work; also through a symbolic link in the submission."""
    (folder / "course").symlink_to(course)
    me, notebook = folder.parent.name, f"{lesson}/{lesson}.ipynb"
    return "\n".join([
        _on("the graded notebook in the working directory", f"{lesson}.ipynb"),
        'attempt("any notebook in the working directory", lambda: next(pathlib.Path.cwd().glob("*.ipynb")).read_text())',
        'attempt("the course root, searched from the working directory", lambda: next(p for p in '
        '[pathlib.Path.cwd(), *pathlib.Path.cwd().parents] if (p / "grading" / "gradebook.db").exists()))',
        _on("the autograded copy", f"{course}/grading/autograded/{me}/{notebook}"),
        _on("the solutions", f"{course}/solutions/{notebook}"),
        _on("the course config", f"{course}/nbgrader_config.py"),
        _on("another student's submission", f"{course}/grading/submitted/honest/{notebook}"),
        _on("the solutions through a link", f"course/solutions/{notebook}"),
    ])


def _writes_outside(lesson: str, course: Path, folder: Path) -> str:
    """Zero everyone's scores in the gradebook, then overwrite it, another student's submission and
    feedback, and leave a file in the course directory. (Inside, ``/tmp`` is the sandbox's own: a
    write there that creates its parents would succeed and change nothing, so these do not.)"""
    gradebook = f"{course}/grading/gradebook.db"
    return "\n".join([
        f'attempt("the gradebook, through sqlite", lambda: sqlite3.connect("file:{gradebook}?mode=rw", '
        'uri=True).execute("UPDATE grade SET auto_score = 0").connection.commit())',
        _on("the gradebook, overwritten", gradebook, 'write_bytes(b"")'),
        _on("another student's submission", f"{course}/grading/submitted/honest/{lesson}/{lesson}.ipynb", 'write_text("{}")'),
        _on("another student's feedback", f"{course}/grading/feedback/honest/{lesson}/{lesson}.html", 'write_text("0/100")'),
        _on("a file in the course", f"{course}/escaped.txt", 'write_text("out")'),
    ])


def _subprocess(lesson: str, course: Path, folder: Path) -> str:
    """The same reads and writes from a shell the kernel starts, and a process meant to outlive it."""
    def shell(what: str, command: str) -> str:
        return f'attempt({what!r}, lambda: subprocess.run(["sh", "-c", {command!r}], capture_output=True, check=True).stdout)'
    return "\n".join([
        shell("the graded notebook, from a shell", f"cat {lesson}.ipynb"),
        shell("the solutions, from a shell", f"cat {course}/solutions/{lesson}/{lesson}.ipynb"),
        shell("the gradebook, from a shell", f": > {course}/grading/gradebook.db"),
        shell("another student's submission, from a shell",
              f"echo {{}} > {course}/grading/submitted/honest/{lesson}/{lesson}.ipynb"),
    ]) + f'\nsubprocess.Popen(["sh", "-c", "sleep 2; echo out > {course}/escaped.txt"])  # outlives the cell\n'


LISTENERS: list[socket.socket] = []  # the grader's side of the network intrusions: nothing may connect


def _network(lesson: str, course: Path, folder: Path) -> str:
    """Connect to a server the grader runs on its own loopback, and to the outside."""
    listener = socket.create_server(("127.0.0.1", 0))
    LISTENERS.append(listener)
    return "\n".join([
        f'attempt("the grader\'s loopback", lambda: socket.create_connection({listener.getsockname()!r}, timeout=5))',
        'attempt("the internet", lambda: socket.create_connection(("1.1.1.1", 53), timeout=5))',
    ])


# ---------------------------------------------------------------------------------------------
# Tampering with the grader by routes a screen of names alone would miss: each cell, run, would make the
# hidden tests' ``grading.strict`` do nothing, so an answer that calls the course's reference would pass.
# ---------------------------------------------------------------------------------------------

_NEUTERED = "lambda *args, **kwargs: contextlib.nullcontext()"
TAMPER_MODULE = f"import contextlib\nimport course_lib.grading as g\nvars(g)['strict'] = {_NEUTERED}\n"
TAMPERING = {
    "a module resolved from a name built of strings": (
        f'import contextlib, pkgutil\n_grading = pkgutil.resolve_name("course_lib." + "grading")\n_grading.strict = {_NEUTERED}'),
    "attributes fetched by names built of strings": (
        'import contextlib, pkgutil, sys\npkgutil.resolve_name("course_lib.grading")\n'
        f'getattr(getattr(sys, "mod" + "ules")["course_lib.grading"], "__di" + "ct__")["strict"] = {_NEUTERED}'),
    "an alias kept in a container": f"import contextlib\nfrom course_lib import grading as _g\n_alias = [_g]\n_alias[0].strict = {_NEUTERED}",
    "a module written while grading, then imported": f"import pathlib\npathlib.Path('tamper.py').write_text({TAMPER_MODULE!r})\nimport tamper",
    "a module submitted next to the notebook": "import helper",
}


def _tampers(lesson: str, folder: Path) -> None:
    """The first answer calls the course's reference, and cells of the student's own after it try
    each route in ``TAMPERING``; ``helper.py`` in the submission holds ``TAMPER_MODULE``."""
    gid = first_exercise(lesson)[0]
    nb = autograde.with_answer(autograde.solved(lesson), gid, reference_answer(lesson))
    index = nb.cells.index(autograde.cells_by_id(nb)[gid]) + 1
    nb.cells[index:index] = [nbformat.v4.new_code_cell(source) for source in TAMPERING.values()]
    nbformat.write(nb, folder / f"{lesson}.ipynb")
    (folder / "helper.py").write_text(TAMPER_MODULE)


# ---------------------------------------------------------------------------------------------
# Editor accidents: what JupyterLab and students do to a notebook without meaning any harm.
# ---------------------------------------------------------------------------------------------

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def _split_answer(nb: NotebookNode, lesson: str) -> None:
    """Split Cell in JupyterLab: both halves carry the answer cell's metadata; the def is in the second."""
    answer = autograde.cells_by_id(nb)[first_exercise(lesson)[0]]
    second = copy.deepcopy(answer)
    second["id"] = uuid.uuid4().hex[:8]
    answer.source = "# my notes: the recurrence is h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)"
    nb.cells.insert(nb.cells.index(answer) + 1, second)


def _retyped_answer(nb: NotebookNode, lesson: str) -> None:
    """The answer cell deleted and the answer typed again in a new cell at its place."""
    answer = autograde.cells_by_id(nb)[first_exercise(lesson)[0]]
    nb.cells[nb.cells.index(answer)] = nbformat.v4.new_code_cell(answer.source)


def _pasted_image(nb: NotebookNode, lesson: str) -> None:
    """An image pasted into the first written answer: JupyterLab stores it as a cell attachment."""
    written = next(c for c in autograde.cells_by_id(nb).values()
                   if c.cell_type == "markdown" and c.metadata["nbgrader"].get("solution"))
    written.source += "\n\n![sketch](attachment:sketch.png)"
    written["attachments"] = {"sketch.png": {"image/png": PIXEL}}


def _html_export(lesson: str, folder: Path) -> None:
    """The student's own HTML export next to the notebook, read-only as exports often are."""
    _writes(autograde.solved)(lesson, folder)
    export = folder / f"{lesson}.html"
    export.write_text("<html><body>my notebook, exported</body></html>")
    export.chmod(0o444)


def _shadowing_modules(lesson: str, folder: Path) -> None:
    """Files next to the notebook named like installed modules: in the kernel's working directory they
    would be imported instead (its own kernel launcher; a course_lib without the grader's checks)."""
    _writes(autograde.solved)(lesson, folder)
    (folder / "ipykernel_launcher.py").write_text("raise SystemExit('a kernel of my own')\n")
    (folder / "course_lib").mkdir()
    (folder / "course_lib" / "__init__.py").write_text("raise ImportError('a course_lib of my own')\n")


def _reads_the_tests_values(lesson: str) -> NotebookNode:
    """A first answer that returns a value its test computed, read when the test calls it: what a hidden
    test computes before calling the student's code (``_expected``, ``_cases``) would otherwise be an
    answer key for whoever guesses its name."""
    test = tests_of(autograde.solved(lesson))[0]
    value = sorted(module_bindings(test.source) - set(import_bindings(test.source)))[0]
    return autograde.with_answer(autograde.solved(lesson), first_exercise(lesson)[0],
                                 wrapped_answer(lesson, f"return {value}"))


def _rebinds_checks(lesson: str) -> NotebookNode:
    """A wrong first answer in a cell that also rebinds the notebook's ``checks`` to an object whose
    every check passes, so that tests calling ``checks.check_close(...)`` would find nothing wrong."""
    source = wrapped_answer(lesson, "return None") + (
        "\n\nclass _Passes:\n    def __getattr__(self, name):\n        return lambda *args, **kwargs: None\n\n\n"
        "checks = _Passes()\n")
    return autograde.with_answer(autograde.solved(lesson), first_exercise(lesson)[0], source)


def _bad_timestamp(lesson: str, folder: Path) -> None:
    _writes(autograde.solved)(lesson, folder)
    (folder / "timestamp.txt").write_text("submitted last tuesday, I think")


CORPUS = [
    Hostile("honest", _writes(autograde.solved)),
    Hostile("infinite_loop", _writes(wrapped("while True:\n    pass")), loses="first", reason="time limit"),
    Hostile("kernel_crash", _writes(wrapped("import os\nos._exit(1)")), loses="first", reason="kernel died"),
    Hostile("memory_exhaustion", _writes(wrapped("hog = [torch.ones(2**27) for _ in range(1000)]\nreturn hog")), loses="first"),
    Hostile("fork_bomb", _writes(wrapped(FORK_BOMB)), loses="first", intrudes=True),
    Hostile("long_sleep", _writes(wrapped("import time\ntime.sleep(10**6)")), loses="first", reason="time limit"),
    Hostile("stderr_from_correct_code", _writes(edited(_stderr_everywhere))),
    Hostile("always_equal_object", _writes(wrapped(ALWAYS_EQUAL)), loses="first"),
    Hostile("monkeypatched_torch", _writes(_monkeypatch), loses="first", reason="torch.allclose"),
    Hostile("input_transformer", _writes(_input_transformer), loses="first", reason="get_ipython"),
    Hostile("rebinds_the_notebooks_checks", _writes(_rebinds_checks), loses="first", reason="rebinds `checks`"),
    Hostile("reads_the_tests_values", _writes(_reads_the_tests_values), loses="first", reason="a value the notebook's tests compute"),
    Hostile("edited_tests_and_points", _writes(edited(_edit_tests))),
    Hostile("deleted_tests", _writes(edited(_delete_tests))),
    Hostile("duplicated_tests", _writes(edited(_duplicate_tests))),
    Hostile("tests_turned_into_answers", _writes(edited(_unlock_and_demote))),
    Hostile("calls_reference", _writes(lambda lesson: autograde.with_answer(
        autograde.solved(lesson), first_exercise(lesson)[0], reference_answer(lesson))), loses="first"),
    Hostile("renamed_notebook", _writes(autograde.solved, "my homework (final).ipynb"), reason="renamed notebook"),
    Hostile("malformed_file", _raw('{"cells": [ this is not json'), loses="all", status="refused", reason="malformed"),
    Hostile("zero_byte_file", _raw(""), loses="all", status="refused", reason="malformed"),
    Hostile("other_assignment", _other_assignment, loses="all", status="refused", reason="answer cells"),
    Hostile("empty_submission", _empty_folder, loses="all", status="refused", reason="no notebook"),
    Hostile("tampers_with_the_grader", _tampers, loses="first", reason="helper.py was left out of grading"),
    Hostile("fresh_copy_of_reference", _writes(lambda lesson: autograde.with_answer(
        autograde.solved(lesson), first_exercise(lesson)[0], fresh_copy_answer(lesson))), loses="first"),
    Hostile("reads_secrets", _intrusion(_reads), reason="symbolic links are not graded", intrudes=True),
    Hostile("writes_outside", _intrusion(_writes_outside), intrudes=True),
    Hostile("escapes_through_subprocess", _intrusion(_subprocess), intrudes=True),
    Hostile("opens_network", _intrusion(_network), intrudes=True),
    Hostile("split_answer_cell", _writes(edited(_split_answer)), reason="split or copied"),
    Hostile("retyped_answer_cell", _writes(edited(_retyped_answer)), reason="was graded as it"),
    Hostile("pasted_image_in_written_answer", _writes(edited(_pasted_image))),
    Hostile("html_export_in_submission", _html_export, reason="html files are not graded"),
    Hostile("unparseable_timestamp", _bad_timestamp, reason="timestamp.txt"),
    Hostile("files_named_like_installed_modules", _shadowing_modules, reason="instead of the installed module"),
]
