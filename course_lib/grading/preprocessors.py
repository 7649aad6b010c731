"""nbgrader preprocessors that make grading hold against broken and hostile submissions.

nbgrader runs the tests inside the student's own kernel, so before anything runs:

- ``RebuildFromRelease`` rebuilds the submission on the released notebook: every read-only
  and test cell comes from the release (deleted, edited, duplicated or re-pointed test cells
  do not matter). The student's work is found by what it is (grade id, then the release's cell
  id, then content), never lost to an editor's restructuring: split and copied cells, retyped
  answers and pasted images are kept, each fallback logged as a ``grading note``. Any of the
  student's code that reaches into the grader (patching torch or course_lib, IPython input
  transformers, builtins, frames, ``exec``, names built from strings, modules written while
  grading) is replaced by an error that says so; a Python file submitted with it that does so is
  left out of grading.
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

import ast
import copy
import importlib.util
import os
import re
import symtable
import sys
import uuid
from pathlib import Path
from collections.abc import Collection, Mapping

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Bool, Integer

from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

from course_lib.grading.sandbox import SandboxedKernelManager, supporting_files

REFUSED = "SubmissionRefused"
CRASHED = "KernelDied"
NOTE = "grading note"  # log lines with a fallback the grader took, read back by autograde

# Modules whose import from an answer gives access to the grader's machinery.
_MODULES = {"IPython", "ipykernel", "builtins", "ctypes", "gc", "importlib", "inspect", "traitlets",
            "jupyter_client", "zmq", "nbgrader", "nbclient", "course_lib.grading", "course_lib.checks",
            "course_lib.quiz", "course_lib.notebook", "unittest.mock", "types",
            # names built from strings (pkgutil.resolve_name, operator.attrgetter) and code run from strings
            "pkgutil", "operator.attrgetter", "operator.methodcaller", "pickle", "_pickle", "marshal", "copyreg",
            "code", "codeop", "timeit",
            "pdb", "bdb", "cProfile", "profile", "trace", "doctest"}
# Callables that reach around the code a student writes.
_CALLS = {"exec", "eval", "compile", "globals", "setattr", "delattr", "__import__", "get_ipython",
          "breakpoint", "vars"}
# Attributes that touch the interpreter, the kernel or other objects' code.
_ATTRS = {"modules", "settrace", "setprofile", "_getframe", "meta_path", "path_hooks", "excepthook",
          "displayhook", "f_globals", "f_locals", "f_back", "gi_frame", "input_transformers_cleanup",
          "input_transformers_post", "ast_transformers", "user_ns", "events", "set_custom_exc",
          "register_magic_function", "environ", "putenv", "run_path", "attrgetter", "methodcaller"}
_DUNDER_OK = {"__init__", "__call__", "__name__", "__doc__", "__len__", "__getitem__", "__repr__", "__str__", "__iter__"}
_BY_NAME = {"getattr", "hasattr"}  # attribute access by a name given as a value
_ON_SELF = {"setattr", "delattr"}  # allowed on the object a method belongs to: setattr(self, f"layer{i}", ...)
_PLOTS = ("matplotlib",)  # modules whose settings an answer may change (plt.rcParams[...] = ...): no test reads them


def _reaches_in(attribute: str) -> bool:
    """Whether an attribute of this name touches the interpreter, the kernel or an object's internals."""
    return attribute in _ATTRS or (attribute.startswith("__") and attribute.endswith("__") and attribute not in _DUNDER_OK)


def _local_names(scope: ast.AST) -> set[str]:
    """Names a function (or a cell) binds itself: parameters, assignments, loop variables, defs."""
    a = scope.args
    names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
    names |= {x.arg for x in (a.vararg, a.kwarg) if x is not None}
    for node in _scope_nodes(scope):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (*_SCOPES[:2], ast.ClassDef)):
            names.add(node.name)
    return names


def _base_name(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _scope_nodes(scope: ast.AST):
    """Nodes of one scope, not descending into nested functions."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


def _check_assignments(scope: ast.AST, modules: Mapping[str, str], reasons: list[str]) -> None:
    """Flag assignments to attributes or items of modules (``modules``: name -> module, the names bound
    by imports in the notebook) or of objects reached through a call or a container, in ``scope`` and
    the functions inside it; a function's own names (parameters, locals) shadow the modules."""
    if not isinstance(scope, ast.Module):
        modules = {name: module for name, module in modules.items() if name not in _local_names(scope)}
    for node in _scope_nodes(scope):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            base = _base_name(target)
            if not isinstance(target, (ast.Attribute, ast.Subscript)) or base == "self":
                continue
            # base None: an object reached through a call or a container, `[torch][0].allclose`
            if base is None or base in modules and not modules[base].startswith(_PLOTS):
                reasons.append(f"changes `{ast.unparse(target)}`, which it does not own")
        if isinstance(node, _SCOPES):
            _check_assignments(node, modules, reasons)


def import_bindings(source: str) -> dict[str, str]:
    """The names a cell's top-level imports bind, each with what it binds: ``import torch`` ->
    {"torch": "torch"}, ``import torch.nn.functional as F`` -> {"F": "torch.nn.functional"},
    ``from course_lib import checks`` -> {"checks": "course_lib.checks"}. Empty if it does not parse."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    bound: dict[str, str] = {}
    for node in _module_scope(tree):
        if isinstance(node, ast.Import):
            bound.update({a.asname or a.name.split(".")[0]: a.name if a.asname else a.name.split(".")[0]
                          for a in node.names})
        elif isinstance(node, ast.ImportFrom):
            bound.update({a.asname or a.name: f"{'.' * node.level}{node.module or ''}.{a.name}" for a in node.names})
    return bound


def _module_scope(tree: ast.AST):
    """The nodes whose names are the notebook's globals: not inside a function, class or comprehension
    (a walrus inside a comprehension still binds a global: its target is kept)."""
    stack = list(ast.iter_child_nodes(tree))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            stack.extend(n for n in ast.walk(node) if isinstance(n, ast.NamedExpr))
        elif not isinstance(node, (*_SCOPES, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(node))


def _rebinds(tree: ast.AST, protected: Mapping[str, str]) -> list[str]:
    """Reasons for each global name the notebook's own cells import that this cell binds to something else."""
    same = import_bindings(ast.unparse(tree))
    reasons = []
    for node in _module_scope(tree):
        names = []
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names = [node.id]
        elif isinstance(node, (*_SCOPES[:2], ast.ClassDef)):
            names = [node.name]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.asname or a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names = [node.name]
        for name in names:
            if name in protected and (not isinstance(node, (ast.Import, ast.ImportFrom)) or same.get(name) != protected[name]):
                reasons.append(f"rebinds `{name}`, which the notebook imports ({protected[name]}) and its tests use")
    return reasons


def _importable(top: str, own_modules: Collection[str]) -> bool:
    """Whether a top-level module is installed or one of the student's submitted files."""
    return top in own_modules or top in sys.builtin_module_names or importlib.util.find_spec(top) is not None


def _unknown(top: str) -> str:
    return f"imports `{top}`, which is neither installed nor one of the files submitted"


def screen(source: str, own_modules: Collection[str] = (), protected: Mapping[str, str] | None = None,
           imported: Mapping[str, str] | None = None) -> list[str]:
    """Reasons why a student's code must not run under the grader (empty if none).

    ``own_modules`` are the modules the student submitted as files (screened themselves); any other
    import must be of an installed module, so that code written to a file while grading never runs.
    ``protected``: the names the notebook's own cells import (``import_bindings``), which the tests
    use: a student's cell may import them again but not bind them to anything else. ``imported``:
    the names the student's other cells import. No cell may change an attribute or item of an
    imported module (matplotlib's settings excepted).
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # it will fail on its own, with Python's own message
    protected = dict(protected or {})
    reasons: list[str] = _rebinds(tree, protected)
    on_self = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
               and node.func.id in _ON_SELF and node.args and isinstance(node.args[0], ast.Name)
               and node.args[0].id == "self"}
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                node.module or "", *(f"{node.module}.{a.name}" for a in node.names if node.module)]  # from course_lib import grading
            for module in modules:
                if module in _MODULES or module.split(".")[0] in _MODULES - {"course_lib"}:
                    reasons.append(f"imports `{module}`, which reaches into the grader")
            tops = {a.name.split(".")[0] for a in node.names} if isinstance(node, ast.Import) else (
                {(node.module or "").split(".")[0]} if node.level == 0 else set())  # a relative import fails on its own
            reasons += [_unknown(top) for top in sorted(tops) if not _importable(top, own_modules)]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "run_module":
            name = node.args[0] if node.args else None  # runpy runs a module by a name given as a value
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                reasons.append("uses `run_module` with a module name it computes")
            elif not _importable(name.value.split(".")[0], own_modules):
                reasons.append(_unknown(name.value.split(".")[0]))
        elif isinstance(node, ast.Name) and node.id in _CALLS and id(node) not in on_self:
            reasons.append(f"uses `{node.id}`")
        elif isinstance(node, ast.Name) and node.id == "__builtins__":
            reasons.append("uses `__builtins__`")
        elif isinstance(node, ast.Attribute) and _reaches_in(node.attr):
            reasons.append(f"uses the attribute `{node.attr}`")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _BY_NAME and len(node.args) > 1:
            name = node.args[1]
            if not (isinstance(name, ast.Constant) and isinstance(name.value, str)):
                reasons.append(f"uses `{node.func.id}` with an attribute name it computes")
            elif _reaches_in(name.value):
                reasons.append(f"uses the attribute `{name.value}`")
        elif isinstance(node, ast.Global) and set(node.names) & set(protected):
            reasons.append(f"declares `global {', '.join(sorted(set(node.names) & set(protected)))}`, which the "
                           "notebook imports and its tests use")
    _check_assignments(tree, {**(imported or {}), **protected, **import_bindings(source)}, reasons)
    return sorted(set(reasons))


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
        students = [cell for cell in cells if cell.cell_type == "code" and not cell.metadata.get("nbgrader", {}).get("locked")]
        imported = {name: module for cell in students for name, module in import_bindings(cell.source).items()}
        for cell in students:
            reasons = screen(cell.source, own_modules, protected, imported)
            if reasons:
                self.log.warning("refused cell %s: %s", _grade_id(cell), "; ".join(reasons))
                cell.source = refusal_source(_grade_id(cell) or "added by the student", reasons)
        rebuilt.cells = _unique_ids(with_rubrics(cells, _source_notebook(self.config, info)))
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
