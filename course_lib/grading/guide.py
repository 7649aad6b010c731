"""The README's instructor guide: per released lesson, its run time, the earlier lessons whose code it uses and
how its points split (autograded exercises, autograded quiz, written answers graded by hand), all read from the
notebooks. ``python -m course_lib.grading.homework guide`` prints the table; a test checks the README's copy.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat

from course_lib.grading.course import ROOT, lessons, release_path, solution_path
from course_lib.grading.homework import forbidden_references, nbgrader_metadata


_RUN_TIME = re.compile(r"\*\*Expected run time:\*\* ([^(]*?) on a laptop CPU")
_IMPORTS = re.compile(r"^\s*(?:from course_lib(?:\.(\w+))? import ([\w, ()]+)|import course_lib\.(\w+))", re.M)


def guide_rows(root: Path = ROOT) -> list[dict[str, str]]:
    """Per released lesson: the notebook's own run-time statement, the earlier lessons whose modules it imports,
    and its points (autograded exercises, autograded quiz, written answers graded by hand)."""
    owner: dict[str, str] = {}  # course_lib module -> the first lesson whose references it holds
    rows = []
    for lesson in lessons(root):
        nb = nbformat.read(solution_path(lesson, root), as_version=4)
        for ref in sorted(forbidden_references(nb)):
            owner.setdefault(ref.split(".")[1], lesson)
        if not release_path(lesson, root).exists():  # still being written: not handed out yet
            continue
        used = set()
        for cell in nb.cells:
            if cell.cell_type == "code" and not nbgrader_metadata(cell).get("grade"):
                for module, names, plain in _IMPORTS.findall(cell.source):
                    used |= {module or plain} if module or plain else {n.strip(" ()") for n in names.split(",")}
        earlier = sorted({owner[m] for m in used if owner.get(m) and owner[m] < lesson})
        points = {"exercises": 0.0, "quiz": 0.0, "written": 0.0}
        for cell in nb.cells:
            meta = nbgrader_metadata(cell)
            if meta.get("grade"):
                kind = ("written" if cell.cell_type == "markdown" else
                        "quiz" if re.fullmatch(r"test_q\d+", meta["grade_id"]) else "exercises")
                points[kind] += float(meta.get("points", 0))
        text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        run = _RUN_TIME.search(text)
        rows.append({"lesson": f"`{lesson}`", "run time (solution, CPU)": run.group(1) if run else "?",
                     "uses code of": ", ".join(l[:2] for l in earlier) or "none",
                     **{k: f"{v:g}" for k, v in points.items()}, "total": f"{sum(points.values()):g}"})
    return rows


def guide_table(root: Path = ROOT) -> str:
    rows = guide_rows(root)
    head = list(rows[0])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(row[h] for h in head) + " |" for row in rows]) + "\n"
