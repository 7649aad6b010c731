"""The repository as an nbgrader course: its lessons, and the student notebooks made from them.

``python -m course_lib.grading.course release`` strips outputs from every solution notebook and
regenerates notebooks/ from solutions/ with ``nbgrader generate_assignment``.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]


def lessons(root: Path = ROOT) -> list[str]:
    """Lesson ids, in course order, from solutions/<id>/<id>.ipynb."""
    return sorted(p.parent.name for p in (root / "solutions").glob("*/*.ipynb") if p.stem == p.parent.name)


def solution_path(lesson: str, root: Path = ROOT) -> Path:
    return root / "solutions" / lesson / f"{lesson}.ipynb"


def release_path(lesson: str, root: Path = ROOT) -> Path:
    return root / "notebooks" / lesson / f"{lesson}.ipynb"


def strip_outputs(path: Path) -> bool:
    """Remove outputs and execution counts from a notebook; True if it changed."""
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
    if changed:
        nbformat.write(nb, path)
    return changed


def nbgrader(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    """Run an nbgrader command in the course directory ``cwd``."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    result = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=cwd, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed in {cwd}:\n{result.stdout}\n{result.stderr}")
    return result


def scratch_course(lessons_: list[str], into: Path, root: Path = ROOT) -> Path:
    """A throwaway copy of the course (config and sources) where nbgrader may write freely."""
    shutil.copy(root / "nbgrader_config.py", into / "nbgrader_config.py")
    for lesson in lessons_:
        shutil.copytree(root / "solutions" / lesson, into / "solutions" / lesson)
    return into


def generate(lessons_: list[str], course_dir: Path) -> None:
    """Generate the student notebooks of ``lessons_`` in ``course_dir`` (also records them in its gradebook)."""
    for lesson in lessons_:
        nbgrader(["generate_assignment", lesson, "--force"], cwd=course_dir)


def release(root: Path = ROOT, chosen: list[str] | None = None) -> list[str]:
    """Strip solution outputs and regenerate notebooks/ from solutions/ (every lesson, or the
    ``chosen`` ones); returns the lessons. Raises ``ValueError`` for a lesson that does not exist."""
    unknown = sorted(set(chosen or ()) - set(lessons(root)))
    if unknown:
        raise ValueError(f"no such lessons in {root / 'solutions'}: {unknown}; choose from {lessons(root)}")
    all_lessons = chosen or lessons(root)
    for lesson in all_lessons:
        strip_outputs(solution_path(lesson, root))
    with tempfile.TemporaryDirectory() as tmp:
        course_dir = scratch_course(all_lessons, Path(tmp), root)
        generate(all_lessons, course_dir)
        for lesson in all_lessons:
            target = root / "notebooks" / lesson
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(course_dir / "notebooks" / lesson, target)
    return all_lessons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["release", "lessons"])
    parser.add_argument("lesson", nargs="*", help="release: only these lessons (default: all)")
    args = parser.parse_args()
    if args.command == "release":
        for lesson in release(chosen=args.lesson or None):
            print(f"generated {release_path(lesson).relative_to(ROOT)}")
    else:
        print("\n".join(lessons()))


if __name__ == "__main__":
    main()
