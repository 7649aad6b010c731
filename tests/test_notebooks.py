"""Every solution notebook runs top to bottom at its full budget, and reaches its figures."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.grading.course import solution_path
from lessons import COMPARE, FIGURES, per_lesson


def errors(nb: nbformat.NotebookNode) -> list[str]:
    found = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                found.append(f"{cell.metadata.get('nbgrader', {}).get('grade_id')}: {output.ename}: {output.evalue}")
            if output.output_type == "stream" and output.name == "stderr":
                found.append(f"{cell.metadata.get('nbgrader', {}).get('grade_id')}: stderr: {output.text[:300]}")
    return found


@pytest.mark.parametrize("lesson", per_lesson())
def test_solution_notebook_runs_and_reaches_its_figures(lesson, tmp_path, monkeypatch):
    results = tmp_path / "results.json"
    monkeypatch.setenv("COURSE_RESULTS", str(results))
    monkeypatch.delenv("COURSE_FAST", raising=False)
    path = solution_path(lesson)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    assert errors(nb) == [], f"{lesson} shows errors or stderr"
    reached = json.loads(results.read_text())
    expected = FIGURES.get(lesson)
    assert expected, f"declare the figures {lesson} reaches in tests/lessons.py FIGURES; it reported {reached}"
    for name, (op, bound) in expected.items():
        assert name in reached, f"{lesson} did not report {name}; it reported {sorted(reached)}"
        assert COMPARE[op](reached[name], bound), f"{lesson}: {name} = {reached[name]:.4g}, expected {op} {bound}"


@pytest.mark.parametrize("lesson", per_lesson())
def test_solution_notebook_has_no_outputs(lesson):
    nb = nbformat.read(solution_path(lesson), as_version=4)
    with_outputs = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
                    if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert with_outputs == [], "solution notebooks are committed without outputs: run `make release`"
