"""nbgrader preprocessors that make grading hold against broken and hostile submissions.

nbgrader runs the tests inside the student's own kernel, so before anything runs:

- ``RebuildFromRelease`` rebuilds the submission on the released notebook: every read-only
  and test cell comes from the release (deleted, edited, duplicated or re-pointed test cells
  do not matter). The student's work is found by what it is (grade id, then the release's cell
  id, then content), never lost to an editor's restructuring: split and copied cells, retyped
  answers and pasted images are kept, each fallback logged as a ``grading note``. Any of the
  student's code that reaches into the grader (patching torch or course_lib, IPython input
  transformers, builtins, frames, ``exec``, names built from strings, modules written while
  grading) is replaced by an error that says so (``course_lib.grading.screen``); a Python file
  submitted with it that does so is left out of grading.
- ``ResilientExecute`` runs the kernel sealed in bubblewrap (``course_lib.grading.sandbox``: it
  sees neither the notebook with the hidden tests nor any course file) and survives a kernel
  that dies (``os._exit``, a segfault, the memory limit): it marks the cell that killed it and
  reruns the notebook without it, so only that cell's points are lost and nothing else of the
  student's work. With ``skip_experiments`` it leaves out the read-only cells no graded cell
  needs (``experiment_cells``): the scores are the same and grading is faster (the test
  suite's round trips use it).
- ``HideHiddenTests`` keeps hidden test code out of feedback: test cells show their visible
  part, and errors show their one-line message, not a traceback through hidden code.

Written answers are graded by hand: in the solutions notebook each written-answer cell holds the
model answer and, after a ``<!-- rubric -->`` line, its rubric (release replaces the whole cell with
the answer stub, so neither reaches students). ``RebuildFromRelease`` puts a read-only rubric cell
(model answer and rubric) after each written answer of the autograded copy, which formgrader shows
the grader; ``HideHiddenTests`` leaves those cells out of feedback.
"""
from __future__ import annotations

import copy
import os
import re
import symtable
import uuid
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Bool, Integer

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from course_lib.grading.sandbox import SandboxedKernelManager, supporting_files
from course_lib.grading.screen import import_bindings, module_bindings, screen

REFUSED = "SubmissionRefused"
CRASHED = "KernelDied"
NOTE = "grading note"  # log lines with a fallback the grader took, read back by autograde

def refusal_source(cell_id: str, reasons: list[str]) -> str:
    """Code that stands in for a refused cell: it raises, so the cell's exercise scores nothing."""
    message = (f"The grader did not run cell {cell_id!r}: it {'; it '.join(reasons)}. "
               "Answers may only define their own functions and values.")
    return f"raise RuntimeError({message!r})  # {REFUSED}"


def student_files(config, info: dict) -> tuple[list[Path], list[str]]:
    """The files the kernel of a submission may see (``sandbox.supporting_files``: the release's and the
    student's, never a notebook), less any Python file of the student's that the screen refuses (it
    could otherwise be imported and run unscreened); and why any file was left out."""
    coursedir = CourseDirectory(config=config)
    submitted = Path(coursedir.format_path(coursedir.submitted_directory, info["student"], info["assignment"]))
    files, left_out = supporting_files(
        Path(coursedir.format_path(coursedir.release_directory, ".", info["assignment"])), submitted)
    names, kept = _module_names(files), []
    for path in files:
        sources = [] if path.parent != submitted else [path] if path.suffix == ".py" else sorted(path.rglob("*.py"))
        reasons = sorted({r for source in sources for r in screen(source.read_text(errors="replace"), names)})
        if reasons:
            left_out.append(f"{path.name} was left out of grading: it {'; it '.join(reasons)}")
        else:
            kept.append(path)
    return kept, left_out


def _module_names(files: list[Path]) -> set[str]:
    """The names under which the kernel can import these files (its working directory is on its path)."""
    return {path.name if path.is_dir() else path.name.split(".")[0] for path in files}


def _release_notebook(config, assignment: str, notebook: str) -> NotebookNode:
    coursedir = CourseDirectory(config=config)
    path = os.path.join(coursedir.root, coursedir.release_directory, assignment, f"{notebook}.ipynb")
    return nbformat.read(path, as_version=4)


def _grade_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


class RebuildFromRelease(NbGraderPreprocessor):
    """Put the student's work back into the released notebook and refuse tampering code.

    A student's cell is identified by what it is, never by its position: by its nbgrader grade_id,
    else by the release's cell id (metadata lost), else, for an answer cell the submission lacks
    (deleted and retyped), by content: the last of the student's code cells that defines every
    name the released answer cell defines takes its place, so the released stub never comes back
    over the student's own definition. The first cell found for an answer becomes that answer
    (source and attachments); every other cell of the student's (split halves, copies, cells of
    their own) is kept and runs in order, after the release cell it followed. Read-only and test
    cells always come from the release. Every fallback is logged as a ``grading note``.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        release = _release_notebook(self.config, info["assignment"], info["notebook"])
        known = {_grade_id(c): c for c in release.cells if _grade_id(c)}
        by_cell_id = {c.get("id"): gid for gid, c in known.items() if c.get("id")}
        answers: dict[str, NotebookNode] = {}
        extras: dict[str | None, list[NotebookNode]] = {}  # the student's own cells, after the release cell they followed
        notes: list[str] = []
        anchor: str | None = None
        for cell in nb.cells:
            gid = _grade_id(cell)
            if gid not in known and cell.get("id") in by_cell_id:
                gid = by_cell_id[cell.get("id")]
                if _is_answer(known[gid]):
                    notes.append(f"answer cell {gid} had lost its nbgrader metadata: it was recognised by its cell id")
            if gid in known and not _is_answer(known[gid]):
                anchor = gid  # a read-only or test cell: the release's own is used
            elif gid in known and gid not in answers:
                answers[gid], anchor = cell, gid
            elif cell.cell_type in ("code", "markdown"):
                if gid in known:
                    notes.append(f"answer cell {gid} appears more than once (a split or copied cell): "
                                 "every part was kept, in order")
                own = copy.deepcopy(cell)
                own.metadata.pop("nbgrader", None)
                extras.setdefault(anchor, []).append(own)
        for gid in [g for g, c in known.items() if _is_answer(c) and g not in answers]:
            answers.update(self._recognise(gid, known[gid], extras, notes))
        rebuilt = copy.deepcopy(release)
        cells = list(extras.get(None, []))
        for cell in rebuilt.cells:
            gid = _grade_id(cell)
            if gid in answers:
                cell.source = answers[gid].source
                if cell.cell_type == "markdown" and answers[gid].get("attachments"):
                    cell.attachments = copy.deepcopy(answers[gid].attachments)
            cells.append(cell)
            cells.extend(extras.get(gid, []))
        own_modules = _module_names(student_files(self.config, info)[0]) if "student" in info else set()
        protected = {name: module for cell in release.cells if cell.cell_type == "code" and not _is_answer(cell)
                     for name, module in import_bindings(cell.source).items()}
        source = _source_notebook(self.config, info)
        # the values the tests compute (what they import is the notebook's to use as well)
        test_names = set().union(*(module_bindings(cell.source) - set(import_bindings(cell.source))
                                   for cell in (source.cells if source else [])
                                   if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("grade")
                                   and not _is_answer(cell)))
        test_names -= set().union(*(module_bindings(cell.source) for cell in release.cells if cell.cell_type == "code"
                                    and not cell.metadata.get("nbgrader", {}).get("grade")))
        students = [cell for cell in cells if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("locked")]
        imported = {name: module for cell in students for name, module in import_bindings(cell.source).items()}
        for cell in students:
            reasons = screen(cell.source, own_modules, protected, imported, test_names)
            if reasons:
                self.log.warning("refused cell %s: %s", _grade_id(cell), "; ".join(reasons))
                cell.source = refusal_source(_grade_id(cell) or "added by the student", reasons)
        rebuilt.cells = _unique_ids(with_rubrics(cells, source))
        for note in dict.fromkeys(notes):
            self.log.warning("%s: %s", NOTE, note)
        return rebuilt, resources

    @staticmethod
    def _recognise(gid: str, released: NotebookNode, extras: dict[str | None, list[NotebookNode]],
                   notes: list[str]) -> dict[str, NotebookNode]:
        """The student's cell that is answer ``gid`` by content (taken out of ``extras``), if any."""
        names = (_bound_and_read(released.source) or (set(), set()))[0] if released.cell_type == "code" else set()
        candidates = [(anchor, cell) for anchor, cells in extras.items() for cell in cells if cell.cell_type == "code"
                      and names and names <= (_bound_and_read(cell.source) or (set(), set()))[0]]
        if not candidates:
            notes.append(f"answer cell {gid} is missing: its released version was graded in its place")
            return {}
        anchor, cell = candidates[-1]
        extras[anchor].remove(cell)
        notes.append(f"answer cell {gid} is missing: your cell that defines {', '.join(sorted(names))} was graded as it")
        return {gid: cell}

    def preprocess_cell(self, cell, resources, index):
        return cell, resources


RUBRIC = "<!-- rubric -->"


def _source_notebook(config, info: dict) -> NotebookNode | None:
    """The solutions notebook (nbgrader's source) the submission's notebook was made from, if it is there."""
    coursedir = CourseDirectory(config=config)
    path = Path(coursedir.format_path(coursedir.source_directory, ".", info["assignment"])) / f"{info['notebook']}.ipynb"
    return nbformat.read(path, as_version=4) if path.is_file() else None


def rubric(source: str) -> tuple[str, str]:
    """(model answer, rubric) of a written-answer cell of the solutions notebook."""
    model, _, text = source.partition(RUBRIC)
    return model.strip(), text.strip()


def is_rubric(cell: NotebookNode) -> bool:
    return "rubric" in cell.get("metadata", {}).get("course", {})


def with_rubrics(cells: list[NotebookNode], source: NotebookNode | None) -> list[NotebookNode]:
    """``cells`` with a read-only rubric cell after each written answer (a graded markdown answer cell)
    whose solutions cell has a rubric: for the grader in formgrader, never in feedback."""
    written = {_grade_id(c): c for c in (source.cells if source else []) if c.cell_type == "markdown" and _is_answer(c)}
    result = []
    for cell in cells:
        result.append(cell)
        gid = _grade_id(cell) if cell.cell_type == "markdown" and _is_answer(cell) else None
        model, text = rubric(written[gid].source) if gid in written else ("", "")
        if text:
            points = cell.metadata["nbgrader"].get("points", 0)
            result.append(nbformat.v4.new_markdown_cell(
                f"**Rubric for `{gid}` ({points:g} points)**, for the grader: students never see this cell.\n\n"
                f"{text}\n\n*Model answer.* {model}",
                metadata={"editable": False, "deletable": False, "course": {"rubric": gid}}))
    return result


def _unique_ids(cells: list[NotebookNode]) -> list[NotebookNode]:
    """The cells, each with a cell id no other has (nbformat 4.5): the student's copies get new ones."""
    seen: set[str] = set()
    for cell in cells:
        if not cell.get("id") or cell["id"] in seen:
            cell["id"] = uuid.uuid4().hex[:8]
        seen.add(cell["id"])
    return cells


def _bound_and_read(source: str) -> tuple[set[str], set[str]] | None:
    """(global names a cell binds, global names it reads, in functions it defines too); None when
    it is not plain Python (an IPython magic, a syntax error)."""
    try:
        top = symtable.symtable(source, "<cell>", "exec")
    except SyntaxError:
        return None
    bound = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported() or s.is_namespace()}
    read: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        read |= {s.get_name() for s in table.get_symbols()
                 if s.is_referenced() and (table is top or s.is_global())}
        bound |= {s.get_name() for s in table.get_symbols() if table is not top and s.is_declared_global() and s.is_assigned()}
        tables.extend(table.get_children())
    return bound, read


def experiment_cells(nb: NotebookNode) -> set[int]:
    """Indices of the code cells that no graded cell needs: experiments, plots, widgets.

    Working backwards from the answer and test cells, a cell is needed when it binds a global name
    that a needed cell later reads (at top level or inside a function it defines); the first code
    cell (the lesson's set-up), every nbgrader cell and any cell that is not plain Python are always
    needed. A needed cell that only changes an object in place (training a model a test later
    reads) is kept through the name it binds; the round trip, graded this way, proves the rule.
    """
    code = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    needed: set[str] = set()
    skipped: set[int] = set()
    for index in reversed(code):
        cell = nb.cells[index]
        meta = cell.metadata.get("nbgrader", {})
        names = _bound_and_read(cell.source)
        if names is None or meta.get("grade") or meta.get("solution") or index == code[0] or names[0] & needed:
            needed |= names[1] if names else set()
        else:
            skipped.add(index)
    return skipped


class ResilientExecute(Execute):
    """nbgrader's Execute, but the kernel runs sealed (``sandbox``) and a dead or unresponsive kernel
    costs only the cell that caused it. It only ever sees the checked copy the course's command stages:
    nbgrader_config.py makes plain ``nbgrader autograde`` refuse before it starts
    (``course_lib.grading.autograde.refuse_unstaged``)."""

    max_crashes = Integer(20, help="Cells that may kill or hang the kernel before grading gives up").tag(config=True)
    skip_experiments = Bool(False, help="Leave out the cells no graded cell needs (same scores, less time)").tag(config=True)
    sandbox = Bool(True, help=(
        "Run the kernel sealed in bubblewrap (course_lib.grading.sandbox); grading refuses to run student "
        "code when the sandbox cannot start. False runs it with the grader's own rights.")).tag(config=True)

    def create_kernel_manager(self) -> AsyncKernelManager:
        self.kernel_manager_class = SandboxedKernelManager if self.sandbox else AsyncKernelManager
        km = super().create_kernel_manager()
        if self.sandbox:  # not the folder nbgrader grades in: it holds the notebook with the hidden tests
            files, left_out = student_files(self.config, self.resources["nbgrader"])
            km.files = tuple(files)
            for note in left_out:
                self.log.warning("%s: %s", NOTE, note)
        return km

    def on_cell_start(self, **kwargs) -> None:
        self._running = kwargs["cell_index"]

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        if self.skip_experiments:
            nb = copy.deepcopy(nb)
            for index in experiment_cells(nb):
                nb.cells[index].source = "# an experiment: left out while grading (skip_experiments)"
        skipped: dict[int, str] = {}
        while True:
            attempt = copy.deepcopy(nb)
            for index, why in skipped.items():
                attempt.cells[index].source = f"raise RuntimeError({why!r})  # {CRASHED}"
            self._running = None
            try:
                return super().preprocess(attempt, resources)
            except (DeadKernelError, CellTimeoutError) as error:
                if self._running is None or len(skipped) >= self.max_crashes:
                    raise
                self.log.warning("cell %d: %s; rerunning without it", self._running, type(error).__name__)
                skipped[self._running] = (
                    "The kernel died while running this cell (os._exit, a crash or the memory limit); it was skipped."
                    if isinstance(error, DeadKernelError) else
                    "This cell did not finish within the time limit and did not stop when interrupted; it was skipped.")


_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*$", re.S | re.M)


class HideHiddenTests(NbGraderPreprocessor):
    """Feedback shows visible tests and one-line failure messages, never hidden test code nor the
    graders' rubrics."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        nb.cells = [cell for cell in nb.cells if not is_rubric(cell)]
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            cell.source = _HIDDEN.sub("# (hidden tests run here when your work is graded)", cell.source)
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}".strip()]
        return cell, resources
