"""Homework bundles: what students receive for one graded assignment, without its answers.

Self-study hands out solutions/, the full course_lib and an instant quiz self-check; for graded
homework each of those gives the answers away. ``python -m course_lib.grading.homework build LESSON
--out DIR`` (``make homework LESSON=...``) writes::

    DIR/<lesson>/<lesson>.ipynb      the released notebook, its quiz cell without answer digests
    DIR/course_lib-<version>-py3-none-any.whl   course_lib without this lesson's references
    DIR/README.md                    how to install and hand it in
    DIR/requirements.txt             the course's pinned stack, without course_lib itself

The lesson's references are the ``course_lib`` names its hidden tests forbid (``strict(forbid=...)``,
``forbidden([...])``). In the bundle's copy of course_lib:

- a reference the learner writes (an answer cell defines its name) becomes a stub that calls the
  learner's own function or class of that name from the notebook (``__main__``), so the library's
  later helpers and the experiments run on the learner's code; until it is defined the stub says so;
- a forbidden helper no remaining code uses becomes a stub that raises; one still in use stays
  (it is listed when the bundle is built);
- private helpers nothing uses any more are dropped; ``course_lib.grading`` (the hidden tests'
  machinery) is left out; ``checks.provided`` leaves the learner's definitions of these names in
  place (the course's version of them is the learner's here); the wheel carries the ``assets/`` its
  modules use (:func:`lesson_assets`).

Earlier lessons' references stay: later lessons build on them. Later lessons' modules do not: the wheel
carries only what this lesson's and earlier lessons' released notebooks import, with what that imports
(:func:`lesson_files`), and the scan also looks for every later released lesson's solution and reference
bodies, so that no bundle hands out an assignment still to come. Grading keeps the full course_lib
and the self-study release: the rebuilt submission takes its read-only cells (the quiz with its
digests) from notebooks/, so the hidden tests check the quiz answers. The bundle is scanned after it
is built (``leaks``) for every solution body of the lesson, the source of every removed reference,
the quiz's digests and the release's checksum of the quiz cell (a hash of it with its digests, from
which trying answers would recover them); building fails if any is found.

``python -m course_lib.grading.homework guide`` prints the README's table of each released lesson's
run time, the earlier lessons whose code it uses, and its points (:mod:`course_lib.grading.guide`).
"""
from __future__ import annotations

import argparse
import ast
import importlib.util
import io
import re
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from course_lib.grading.course import ROOT, lessons, release_path, solution_path

VERSION = "0.1.0"
_REF = re.compile(r"""['"](course_lib\.[\w.]+)['"]""")
_DIGEST = re.compile(r"""(['"])([0-9a-f]{20})\1""")
_SOLUTION = re.compile(r"### BEGIN SOLUTION[^\n]*\n(.*?)^[ \t]*### END SOLUTION", re.S | re.M)



def runtime(lesson: str, learner: list[str]) -> str:
    """The source of the bundle's ``course_lib/_homework.py``: :mod:`course_lib.grading.homework_runtime` with
    ``LESSON`` and ``LEARNER`` filled in."""
    text = (Path(__file__).parent / "homework_runtime.py").read_text()
    text = re.sub(r"^LESSON = .*$", lambda _: f"LESSON = {lesson!r}", text, count=1, flags=re.M)
    return re.sub(r"^LEARNER: .*$", lambda _: f"LEARNER = {learner!r}  # the names whose course version is the learner's own",
                  text, count=1, flags=re.M)


@dataclass
class Plan:
    """What the bundle of one lesson does to course_lib: module -> names."""

    learner: dict[str, set[str]] = field(default_factory=dict)   # stubs calling the learner's own
    removed: dict[str, set[str]] = field(default_factory=dict)   # helpers replaced by a stub that raises
    kept: list[str] = field(default_factory=list)                 # forbidden names the library still uses
    dropped: list[str] = field(default_factory=list)              # private helpers nothing uses any more
    broken: list[str] = field(default_factory=list)               # library classes built on a learner's class
    cells: list[str] = field(default_factory=list)                # released cells that call a stubbed reference

    def names(self) -> list[str]:
        return sorted(f"{m}.{n}" for part in (self.learner, self.removed) for m, ns in part.items() for n in ns)


def nbgrader_metadata(cell) -> dict:
    """A cell's nbgrader metadata ({} for an ordinary cell)."""
    return cell.get("metadata", {}).get("nbgrader", {})


def answer_names(nb) -> set[str]:
    """Top-level names the lesson's answer cells define (functions, classes, values)."""
    names: set[str] = set()
    for cell in nb.cells:
        if cell.cell_type == "code" and nbgrader_metadata(cell).get("solution"):
            for node in ast.parse(cell.source).body:
                if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                    names.add(node.name)
                elif isinstance(node, ast.Assign):
                    names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def forbidden_references(nb) -> set[str]:
    """Every ``course_lib.`` name the lesson's test cells forbid."""
    return {ref for cell in nb.cells if cell.cell_type == "code" and nbgrader_metadata(cell).get("grade")
            for ref in _REF.findall(cell.source) if not ref.startswith("course_lib.grading")}


def solution_bodies(nb) -> list[str]:
    """What the lesson's answer cells hold in the solutions notebook: the code between the solution
    markers (the whole cell without them), and the model text of written answers."""
    bodies = []
    for cell in nb.cells:
        if nbgrader_metadata(cell).get("solution"):
            found = _SOLUTION.findall(cell.source)
            bodies.extend(found or [cell.source])
    return [b for b in bodies if b.strip()]


def _quiz_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code" and "Question(" in cell.source and _DIGEST.search(cell.source)]


def quiz_digests(nb) -> set[str]:
    return {d for cell in _quiz_cells(nb) for _, d in _DIGEST.findall(cell.source)}


def _package_files(lib: Path) -> dict[str, str]:
    """Module path (relative to lib's parent) -> source, for every module but course_lib.grading."""
    return {str(p.relative_to(lib.parent)): p.read_text() for p in sorted(lib.rglob("*.py"))
            if "grading" not in p.relative_to(lib).parts and "__pycache__" not in p.parts}


def _module_of(path: str) -> str:
    return path[:-3].replace("/", ".").removesuffix(".__init__")


def _imported(tree: ast.Module, package: str, modules: set[str]) -> set[str]:
    """The modules of ``modules`` that ``tree`` imports (relative imports from ``package`` resolved), with
    the packages that hold them."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            module = importlib.util.resolve_name("." * node.level + (node.module or ""), package) if node.level else node.module
            names |= {module} | {f"{module}.{alias.name}" for alias in node.names}
    found = set()
    for name in names:
        parts = name.split(".")
        found |= {".".join(parts[:cut]) for cut in range(1, len(parts) + 1) if ".".join(parts[:cut]) in modules}
    return found


def _notebook_code(nb) -> ast.Module:
    """A notebook's code cells as one module (IPython's magics and shell lines left out)."""
    lines = [line for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()
             if not line.lstrip().startswith(("%", "!"))]
    return ast.parse("\n".join(lines))


def lesson_files(lesson: str, root: Path = ROOT) -> dict[str, str]:
    """The course_lib modules a bundle of ``lesson`` carries (as :func:`_package_files`): those the released
    notebooks of this lesson and of every earlier one import, with everything they import in turn.

    A module only later lessons use is left out, so that a bundle never hands out the references of an
    assignment still to come; earlier lessons' notebooks still run on it."""
    files = _package_files(root / "course_lib")
    paths = {_module_of(path): path for path in files}
    modules = set(paths)
    order = lessons(root)
    wanted = {"course_lib"}
    for earlier in order[:order.index(lesson) + 1]:
        if release_path(earlier, root).exists():
            wanted |= _imported(_notebook_code(nbformat.read(release_path(earlier, root), as_version=4)), "", modules)
    carried: set[str] = set()
    while wanted - carried:
        module = min(wanted - carried)
        carried.add(module)
        package = module if paths[module].endswith("__init__.py") else module.rpartition(".")[0]
        wanted |= _imported(ast.parse(files[paths[module]]), package, modules)
    return {path: text for path, text in files.items() if _module_of(path) in carried}


def lesson_assets(files: dict[str, str], root: Path = ROOT) -> dict[str, bytes]:
    """The ``assets/`` files a bundle carries (path relative to ``root`` -> bytes): those directly in
    assets/ and those in a folder that one of the bundle's modules ``files`` names (``"mini_bert"``), so
    that a later lesson's checkpoint or measured figures stay out."""
    named = {node.value for text in files.values() for node in ast.walk(ast.parse(text))
             if isinstance(node, ast.Constant) and isinstance(node.value, str)}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted((root / "assets").rglob("*"))
            if p.is_file() and (len(p.relative_to(root / "assets").parts) == 1 or p.relative_to(root / "assets").parts[0] in named)}


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    return {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def _identifiers(nodes) -> set[str]:
    """Every name, attribute and imported name the nodes use (a conservative view of what they need)."""
    found: set[str] = set()
    for top in nodes:
        for node in ast.walk(top):
            if isinstance(node, ast.Name):
                found.add(node.id)
            elif isinstance(node, ast.Attribute):
                found.add(node.attr)
            elif isinstance(node, ast.alias):
                found.add(node.name.split(".")[-1])
    return found


def _reached(tree: ast.Module) -> set[str]:
    """The names a module could reach in another module: what it imports and the attributes it reads (a
    plain name there is its own)."""
    return {node.name.split(".")[-1] if isinstance(node, ast.alias) else node.attr
            for node in ast.walk(tree) if isinstance(node, (ast.alias, ast.Attribute))}


def plan(lesson: str, files: dict[str, str], root: Path = ROOT) -> Plan:
    """Which names the bundle of ``lesson`` stubs, removes or keeps (see the module's docstring)."""
    source = nbformat.read(solution_path(lesson, root), as_version=4)
    defined = answer_names(source)
    modules = {_module_of(path): path for path in files}
    trees = {path: ast.parse(text) for path, text in files.items()}
    candidates: dict[str, set[str]] = {}
    for ref in forbidden_references(source):
        parts = ref.split(".")
        for cut in range(len(parts) - 1, 1, -1):
            module = ".".join(parts[:cut])
            if module in modules and parts[cut] in _top_level(trees[modules[module]]):
                candidates.setdefault(module, set()).add(parts[cut])
                break
    for module in list(candidates):  # answers that define a name of a module the lesson forbids from
        candidates[module] |= defined & set(_top_level(trees[modules[module]]))
    result = Plan()
    targets = {(m, n) for m, names in candidates.items() for n in names}
    released = nbformat.read(release_path(lesson, root), as_version=4)  # what students run: no hidden tests
    notebook = [c.source for c in released.cells if c.cell_type == "code" and not nbgrader_metadata(c).get("solution")]
    from_notebook = set()
    for text in notebook:
        try:
            from_notebook |= _identifiers([ast.parse(text)])
        except SyntaxError:
            pass
    helpers = {(m, n) for m, n in targets if n not in defined}
    keep: set[tuple[str, str]] = set()
    while True:  # a helper stays when something that stays uses it (a kept helper's body counts)
        going = (targets - helpers) | (helpers - keep)
        used = set(from_notebook)
        for path, tree in trees.items():
            module = _module_of(path)
            used |= _identifiers(n for n in tree.body if (module, getattr(n, "name", None)) not in going)
        if {h for h in helpers if h[1] in used} == keep:
            break
        keep = {h for h in helpers if h[1] in used}
    gone = targets - keep
    for module, name in sorted(targets):
        if name in defined:
            result.learner.setdefault(module, set()).add(name)
        elif (module, name) in gone:
            result.removed.setdefault(module, set()).add(name)
        else:
            result.kept.append(f"{module}.{name}")
    for cell in released.cells:
        if cell.cell_type == "code" and not nbgrader_metadata(cell).get("solution"):
            calls = sorted({f"{m.rsplit('.', 1)[-1]}.{n}" for part in (result.learner, result.removed)
                            for m, ns in part.items() for n in ns
                            if re.search(rf"\b{m.rsplit('.', 1)[-1]}\.{n}\b", cell.source)})
            if calls:
                result.cells.append(f"{nbgrader_metadata(cell).get('grade_id', cell.get('id'))} ({', '.join(calls)})")
    return result


def _stub(module: str, name: str, node: ast.stmt, learner: bool) -> str:
    if isinstance(node, ast.ClassDef) and learner:
        return (f"from course_lib._homework import LearnerClass as _LearnerClass  # noqa: E402\n\n\n"
                f"class {name}(metaclass=_LearnerClass):\n"
                f'    """Homework: your own `{name}` from the notebook (an exercise of this lesson)."""\n')
    if learner:
        doc = f"your own `{name}` from the notebook (an exercise of this lesson), with the signature it states."
        body = f"return __import__('course_lib._homework', fromlist=['call']).call({module!r}, {name!r}, {name}, args, kwargs)"
    else:
        doc = f"`{name}` belongs to this lesson's reference solution and is not in this edition."
        body = f"__import__('course_lib._homework', fromlist=['removed']).removed({module!r}, {name!r})"
    return (f"def {name}(*args, **kwargs):\n"
            f'    """Homework: {doc}"""\n'
            f"    {body}\n")


def _replace(text: str, replacements: dict[str, str]) -> str:
    """``text`` with the top-level definitions named in ``replacements`` replaced (decorators included)."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    nodes = _top_level(tree)
    for name in sorted(replacements, key=lambda n: -nodes[n].lineno):
        node = nodes[name]
        start = min([node.lineno] + [d.lineno for d in node.decorator_list]) - 1
        lines[start:node.end_lineno] = [replacements[name]]
    return "".join(lines)


def transform(lesson: str, files: dict[str, str], root: Path = ROOT) -> tuple[dict[str, str], Plan]:
    """The bundle's course_lib sources and what was done to them."""
    result = plan(lesson, files, root)
    files = dict(files)
    paths = {_module_of(p): p for p in files}
    for module in sorted(set(result.learner) | set(result.removed)):
        path = paths[module]
        nodes = _top_level(ast.parse(files[path]))
        replacements = {n: _stub(module, n, nodes[n], True) for n in result.learner.get(module, ())}
        replacements |= {n: _stub(module, n, nodes[n], False) for n in result.removed.get(module, ())}
        files[path] = _replace(files[path], replacements)
    touched = {paths[m] for m in set(result.learner) | set(result.removed)}
    while True:  # private helpers that nothing uses any more
        trees = {p: ast.parse(t) for p, t in files.items()}
        reached = {p: _reached(t) for p, t in trees.items()}
        dead = {}
        for path in touched:
            elsewhere = set().union(*(names for p, names in reached.items() if p != path))
            for name, node in _top_level(trees[path]).items():
                if name.startswith("_") and not name.startswith("__"):
                    if name not in elsewhere | _identifiers(n for n in trees[path].body if n is not node):
                        dead.setdefault(path, {})[name] = ""
        if not dead:
            break
        for path, names in dead.items():
            files[path] = _replace(files[path], names)
            result.dropped += [f"{_module_of(path)}.{n}" for n in names]
    classes = {n for m, ns in result.learner.items() for n in ns if isinstance(_top_level(ast.parse(files[paths[m]]))[n], ast.ClassDef)}
    for path, text in files.items():
        for node in ast.parse(text).body:
            bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", None) for b in getattr(node, "bases", [])}
            if isinstance(node, ast.ClassDef) and bases & classes and node.name not in classes:
                result.broken.append(f"{_module_of(path)}.{node.name} (built on {', '.join(sorted(bases & classes))})")
    files["course_lib/_homework.py"] = runtime(lesson, sorted({n for ns in result.learner.values() for n in ns}))
    files["course_lib/checks.py"] = _provide_only_others(files["course_lib/checks.py"])
    result.removed = {m: ns - {n.rsplit(".", 1)[1] for n in result.dropped} for m, ns in result.removed.items()}
    result.kept = [n for n in result.kept if n not in result.dropped]
    return files, result


def _provide_only_others(text: str) -> str:
    """checks.py whose ``provided`` leaves the learner's own definitions of this lesson's exercises in place:
    in the homework edition the course's version of them is the learner's (a test cell that provides it
    would otherwise hide the learner's definition from the library's stubs)."""
    node = _top_level(ast.parse(text))["provided"]
    lines = text.splitlines(keepends=True)
    line = ("    names = {k: v for k, v in names.items() if k not in "
            "__import__('course_lib._homework', fromlist=['LEARNER']).LEARNER}\n")
    lines.insert(node.body[1].lineno - 1, line)
    return "".join(lines)


def homework_notebook(nb):
    """The released notebook with the quiz's answer digests removed: its widget says self-check is off.

    The cell's nbgrader checksum is computed again for what it now holds: the release's checksum is a
    hash of the cell with its digests, so trying answers against it would recover them (and Validate
    would call the cell changed)."""
    from nbgrader.utils import compute_checksum

    for cell in _quiz_cells(nb):
        cell.source = _DIGEST.sub("None", cell.source)
        if "checksum" in nbgrader_metadata(cell):
            cell.metadata["nbgrader"]["checksum"] = compute_checksum(cell)
    return nb


def _wheel(files: dict[str, str], extra: dict[str, bytes], out: Path) -> Path:
    """A pure-Python wheel of ``files`` (and ``extra`` data files at the wheel's root)."""
    import base64
    import hashlib

    name = f"course_lib-{VERSION}"
    path = out / f"{name}-py3-none-any.whl"
    records = []
    members = {p: t.encode() for p, t in files.items()} | extra
    members[f"{name}.dist-info/METADATA"] = (
        f"Metadata-Version: 2.1\nName: course_lib\nVersion: {VERSION}\nRequires-Python: >=3.11\n"
        "Summary: Helper library of the attention, Transformers and BERT course (homework edition)\n").encode()
    members[f"{name}.dist-info/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: course_lib.grading.homework\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    members[f"{name}.dist-info/top_level.txt"] = b"course_lib\n"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as wheel:
        for member, data in sorted(members.items()):
            wheel.writestr(zipfile.ZipInfo(member, (2020, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            records.append(f"{member},sha256={digest},{len(data)}")
        records.append(f"{name}.dist-info/RECORD,,")
        wheel.writestr(zipfile.ZipInfo(f"{name}.dist-info/RECORD", (2020, 1, 1, 0, 0, 0)), "\n".join(records) + "\n")
    return path


README = """# {lesson}: graded homework

1. Install the course's pinned stack, then this assignment's library:
   `pip install -r requirements.txt && pip install --force-reinstall --no-deps {wheel}`.
2. Open `{lesson}/{lesson}.ipynb` in JupyterLab and work through it. Where the library needs one of this
   assignment's exercises, it calls your own function from the notebook.
3. The quiz's self-check is off for graded homework: your answers are checked when the work is graded.
   Hand in `{lesson}.ipynb` as your instructor says.
"""


def build(lesson: str, out: Path, root: Path = ROOT) -> tuple[Path, Plan]:
    """Write the homework bundle of ``lesson`` under ``out`` and check it holds no answers."""
    if not solution_path(lesson, root).exists():
        raise ValueError(f"no lesson {lesson!r} in {root / 'solutions'}")
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        if not ((out / "README.md").is_file() and list(out.glob("course_lib-*.whl"))):
            raise ValueError(f"{out} is not empty and is not an earlier homework bundle: choose another --out")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    shutil.copytree(release_path(lesson, root).parent, out / lesson, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    nb = nbformat.read(out / lesson / f"{lesson}.ipynb", as_version=4)
    nbformat.write(homework_notebook(nb), out / lesson / f"{lesson}.ipynb")
    carried = lesson_files(lesson, root)
    files, done = transform(lesson, carried, root)
    wheel = _wheel(files, lesson_assets(carried, root), out)
    (out / "README.md").write_text(README.format(lesson=lesson, wheel=wheel.name))
    pinned = (root / "requirements.txt").read_text().splitlines(keepends=True)
    (out / "requirements.txt").write_text("".join(line for line in pinned if line.strip() != "-e ."))  # the wheel is course_lib
    found = leaks(out, lesson, root)
    if found:
        raise RuntimeError(f"the homework bundle of {lesson} still holds answers: {found}")
    return out, done


# ---------------------------------------------------------------------------------------------
# The scan: everything in a bundle, zip and tar members included, against the lesson's answers.

def _squash(text: str) -> str:
    return " ".join(text.split())


def _normalised(text: str) -> str:
    """Python code as ``ast.unparse`` writes it without docstrings (comments and layout gone), squashed;
    anything else squashed."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return _squash(text)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(
                getattr(body[0], "value", None), ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return _squash(ast.unparse(tree))


def needles(lesson: str, root: Path = ROOT) -> dict[str, str]:
    """What must not be in the bundle of ``lesson``: description -> normalised text. The quiz's answer
    material, and the solution bodies and reference bodies of this lesson's exercises and of every later
    released lesson's (a bundle must not hand out an assignment still to come either)."""
    order = lessons(root)
    files = _package_files(root / "course_lib")
    paths = {_module_of(p): p for p in files}
    found: dict[str, str] = {}
    for assignment in order[order.index(lesson):]:
        if not release_path(assignment, root).exists():
            continue
        of = "" if assignment == lesson else f" of {assignment}"
        source = nbformat.read(solution_path(assignment, root), as_version=4)
        found |= {f"solution body {i}{of}": _normalised(body) for i, body in enumerate(solution_bodies(source))}
        for module, names in plan(assignment, files, root).learner.items():
            nodes = _top_level(ast.parse(files[paths[module]]))
            for name in names:
                found[f"reference {module}.{name}{of}"] = _normalised(ast.unparse(ast.Module(body=nodes[name].body, type_ignores=[])))
    source = nbformat.read(solution_path(lesson, root), as_version=4)
    found |= {f"quiz digest {d}": d for d in quiz_digests(source)}
    released = nbformat.read(release_path(lesson, root), as_version=4)
    found |= {f"checksum of the quiz cell with its digests {c}": c for cell in _quiz_cells(released)
              if (c := nbgrader_metadata(cell).get("checksum"))}
    return {k: v for k, v in found.items() if v and v != "pass"}


def _texts(name: str, data: bytes):
    """(name, text) of a file and, for a zip or tar, of every member, recursively."""
    if name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for member in z.namelist():
                yield from _texts(f"{name}!{member}", z.read(member))
    elif name.endswith((".tar.gz", ".tgz", ".tar")):
        with tarfile.open(fileobj=io.BytesIO(data)) as t:
            for member in t.getmembers():
                if member.isfile():
                    yield from _texts(f"{name}!{member.name}", t.extractfile(member).read())
    else:
        text = data.decode("utf-8", errors="replace")
        yield name, text
        if name.endswith(".ipynb"):
            for i, cell in enumerate(nbformat.reads(text, as_version=4).cells):
                yield f"{name}#cell{i}", cell.source


def scan(directory: Path, wanted: dict[str, str]) -> list[str]:
    """Every (what, where) pair of a needle found in a file under ``directory``."""
    hits = []
    for path in sorted(Path(directory).rglob("*")):
        if path.is_file():
            for name, text in _texts(str(path.relative_to(directory)), path.read_bytes()):
                forms = {_squash(text), _normalised(text)}
                hits += [f"{what} in {name}" for what, needle in wanted.items() if any(needle in f for f in forms)]
    return hits


def leaks(directory: Path, lesson: str, root: Path = ROOT) -> list[str]:
    return scan(directory, needles(lesson, root))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Build what students receive for one graded assignment.")
    sub = parser.add_subparsers(dest="command", required=True)
    command = sub.add_parser("build", help="write the homework bundle of LESSON")
    command.add_argument("lesson")
    command.add_argument("--out", type=Path, help="default: grading/homework/LESSON")
    sub.add_parser("guide", help="print the instructor guide's table (run time, prerequisites, points per lesson)")
    args = parser.parse_args(argv)
    if args.command == "guide":
        from course_lib.grading.guide import guide_table

        print(guide_table(), end="")
        return
    out = args.out or ROOT / "grading" / "homework" / args.lesson
    out, done = build(args.lesson, out)
    print(f"homework bundle of {args.lesson} in {out}")
    print(f"  calls the learner's own: {', '.join(f'{m}.{n}' for m, ns in sorted(done.learner.items()) for n in sorted(ns))}")
    for label, names in (("removed", [f"{m}.{n}" for m, ns in sorted(done.removed.items()) for n in sorted(ns)]),
                         ("private helpers dropped", done.dropped),
                         ("forbidden but kept (the library still uses them)", done.kept),
                         ("library classes built on them, unusable in this bundle", done.broken),
                         ("released cells that call them (in this bundle: the learner's own)", done.cells)):
        if names:
            print(f"  {label}: {', '.join(sorted(names))}")
    print("  scanned: no solution body, removed reference or quiz digest in it")


if __name__ == "__main__":
    main(sys.argv[1:])
