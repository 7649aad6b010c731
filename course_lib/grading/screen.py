"""The screen: which of a student's code must not run under the grader, and why.

nbgrader runs the hidden tests in the student's own kernel, so code that reaches into the grader
(patching torch or course_lib, IPython input transformers, builtins, frames, ``exec``, names built from
strings, imports of modules written while grading, rebinding the names the notebook's tests use) could
change what they report, and code that reads the values a test computed before calling it (its
``_expected``) could pass without doing the work. :class:`course_lib.grading.preprocessors.RebuildFromRelease`
screens each answer cell and submitted Python file with :func:`screen` and replaces a refused cell with
code that says why.
Ordinary code passes: operators, ``setattr`` on ``self``, plot settings, a memo dict, a global of one's own.
"""
from __future__ import annotations

import ast
import importlib.util
import sys
from collections.abc import Collection, Mapping

# Modules whose import from an answer gives access to the grader's machinery.
_MODULES = {"IPython", "ipykernel", "builtins", "ctypes", "gc", "importlib", "inspect", "traitlets",
            "jupyter_client", "zmq", "nbgrader", "nbclient", "course_lib.grading", "course_lib.checks",
            "course_lib.quiz", "course_lib.notebook", "unittest.mock", "types",
            # names built from strings (pkgutil.resolve_name, operator.attrgetter) and code run from strings
            "pkgutil", "operator.attrgetter", "operator.methodcaller", "pickle", "_pickle", "marshal", "copyreg",
            "code", "codeop", "timeit",
            "pdb", "bdb", "cProfile", "profile", "trace", "doctest",
            # the notebook's own namespace, where the tests keep what they computed, and objects found by name
            "__main__", "pydoc",
            # threads and processes started before a hidden test runs outside what it watches
            "threading", "_thread", "concurrent", "multiprocessing"}
# Callables that reach around the code a student writes.
_CALLS = {"exec", "eval", "compile", "globals", "setattr", "delattr", "__import__", "get_ipython",
          "breakpoint", "vars", "locals"}
# Attributes that touch the interpreter, the kernel or other objects' code.
_ATTRS = {"modules", "settrace", "setprofile", "_getframe", "meta_path", "path_hooks", "excepthook",
          "displayhook", "f_globals", "f_locals", "f_back", "gi_frame", "input_transformers_cleanup",
          "input_transformers_post", "ast_transformers", "user_ns", "events", "set_custom_exc",
          "register_magic_function", "environ", "putenv", "run_path", "attrgetter", "methodcaller",
          "getprofile", "gettrace", "get_type_hints"}
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
    return names | _bound_by(_scope_nodes(scope))


def _bound_by(nodes) -> set[str]:
    """The names these nodes bind: assignment targets and the functions and classes they define."""
    return {node.id if isinstance(node, ast.Name) else node.name for node in nodes
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
            or isinstance(node, (*_SCOPES[:2], ast.ClassDef))}


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


def module_bindings(source: str) -> set[str]:
    """The notebook globals a cell binds: assignments, definitions and imports at its top level (empty if
    it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return set(import_bindings(source)) | _bound_by(_module_scope(tree))


def _test_values_read(tree: ast.Module, test_names: Collection[str]) -> list[str]:
    """Reasons for each of the tests' globals the code reads where it is not its own: anywhere in a
    function that does not bind it itself (the function runs when the test calls it, after the test
    computed its expected values), at the top level unless the cell binds it; and for each one declared
    ``global`` (which would let the code overwrite what the test compares with)."""
    reasons = set()

    def visit(scope: ast.AST, own: set[str]) -> None:
        for node in _scope_nodes(scope):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in test_names and node.id not in own:
                reasons.add(f"reads `{node.id}`, a value the notebook's tests compute: an answer may not use the "
                            "tests' own values (if it is a name of your own, rename it)")
            elif isinstance(node, ast.Global) and set(node.names) & set(test_names):
                reasons.add(f"declares `global {', '.join(sorted(set(node.names) & set(test_names)))}`, a value the "
                            "notebook's tests compute and compare with")
            elif isinstance(node, _SCOPES):
                visit(node, (own if isinstance(scope, _SCOPES) else set()) | _local_names(node))

    visit(tree, module_bindings(ast.unparse(tree)))
    return sorted(reasons)


def _importable(top: str, own_modules: Collection[str]) -> bool:
    """Whether a top-level module is installed or one of the student's submitted files."""
    if top in own_modules or top in sys.builtin_module_names:
        return True
    try:
        return importlib.util.find_spec(top) is not None
    except ValueError:  # loaded without a spec, as __main__ is when a script runs: it is there
        return True


def _unknown(top: str) -> str:
    return f"imports `{top}`, which is neither installed nor one of the files submitted"


def screen(source: str, own_modules: Collection[str] = (), protected: Mapping[str, str] | None = None,
           imported: Mapping[str, str] | None = None, test_names: Collection[str] = ()) -> list[str]:
    """Reasons why a student's code must not run under the grader (empty if none).

    ``own_modules`` are the modules the student submitted as files (screened themselves); any other
    import must be of an installed module, so that code written to a file while grading never runs.
    ``protected``: the names the notebook's own cells import (``import_bindings``), which the tests
    use: a student's cell may import them again but not bind them to anything else. ``imported``:
    the names the student's other cells import. No cell may change an attribute or item of an
    imported module (matplotlib's settings excepted). ``test_names``: the globals only the notebook's
    test cells bind (``_expected``, ``_cases``, ...), which a cell may neither read where it has not bound
    them itself nor declare ``global``.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # it will fail on its own, with Python's own message
    protected = dict(protected or {})
    reasons: list[str] = _rebinds(tree, protected) + _test_values_read(tree, test_names)
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
            if isinstance(node, ast.ImportFrom):  # from sys import modules: the attribute under its own name
                reasons += [f"imports `{a.name}` from `{node.module}`" for a in node.names
                            if _reaches_in(a.name) or a.name in _CALLS]
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
