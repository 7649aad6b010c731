"""Every solution notebook runs top to bottom at its full budget, reaches its figures, and its
prose quotes the figures it computes.

A number in a markdown cell that the notebook itself computes carries an invisible marker right
after it, naming the figure a code cell records with ``notebook.report(name, value)``:

    about 1.7e-6<!-- figure: rnn_gradient_norm_at_distance_20 -->
    about $1.7\\cdot 10^{-6}$<!-- figure: rnn_gradient_norm_at_distance_20 -->
    at 0.19<!-- figure: order_accuracy_no_positions ~0.1 -->
    more than 100<!-- figure: scaled_over_raw_jacobian_at_d_k_1024 >= -->

(an HTML comment does not render). The full-budget run checks each marked number against the
reported value: by default the two must agree to the number's own printed precision ("1.7e-6"
accepts 1.65e-6 to 1.75e-6, "0.19" accepts 0.185 to 0.195, "1,500" accepts 1499.5 to 1500.5);
``~r`` widens that to a relative tolerance r (for "about"), and ``>=`` or ``<=`` says the computed
figure is at least or at most the number quoted. A percentage ("18%") is compared as a fraction
(0.18). A marker that names a figure the notebook did not report fails, and so does a marker with
no number in front of it. Numbers taken from papers carry their citation instead.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

import nbformat
import pytest
from nbclient import NotebookClient

from course_lib.grading.course import solution_path
from lessons import COMPARE, FIGURES, per_lesson

MARKER = re.compile(r"<!--\s*figure:\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<spec>~\s*[0-9.]+|>=|<=)?\s*-->")
_MINUS = "-−"
_INTEGER = r"(?:\d{1,3}(?:,\d{3})+|\d+)"
NUMBER_BEFORE = re.compile(
    rf"""(?:
        (?P<mantissa>[{_MINUS}]?{_INTEGER}(?:\.\d+)?)\s*(?:\\cdot|\\times|×|·)\s*10\^\{{?(?P<exp1>[{_MINUS}]?\d+)\}}?
      | (?<![\d.,])10\^\{{?(?P<exp2>[{_MINUS}]?\d+)\}}?
      | (?P<plain>(?<![\d.,])[{_MINUS}]?{_INTEGER}(?:\.\d+)?)(?:[eE](?P<exp3>[-+{_MINUS}]?\d+))?(?P<percent>\s*\\?%)?
    )[\s$*]*\Z""",
    re.X,
)


@dataclass
class Quote:
    """A number the prose quotes and the reported figure it must agree with."""

    where: str
    name: str
    text: str
    value: float
    precision: float  # half a unit in the last printed digit
    spec: str | None

    def agrees_with(self, figure: float) -> bool:
        if self.spec in (">=", "<="):
            return COMPARE[self.spec](figure, self.value)
        allowed = self.precision
        if self.spec:
            allowed = max(allowed, float(self.spec.lstrip("~ ")) * abs(self.value))
        return abs(figure - self.value) <= allowed * (1 + 1e-9)

    def describe(self) -> str:
        if self.spec in (">=", "<="):
            return f"{self.spec} {self.text}"
        tolerance = f"{self.precision:.2g}" if not self.spec else f"{self.spec.lstrip('~ ')} relative"
        return f"{self.text} (tolerance {tolerance})"


def _number(match: re.Match) -> tuple[float, float]:
    """The value of a matched number and half a unit in its last printed digit."""
    def signed(text: str) -> str:
        return text.replace("−", "-").replace(",", "")

    if match["exp2"] is not None:
        exponent = int(signed(match["exp2"]))
        return float(f"1e{exponent}"), float(f"5e{exponent - 1}")
    if match["mantissa"] is not None:
        digits, exponent = signed(match["mantissa"]), int(signed(match["exp1"]))
    else:
        digits, exponent = signed(match["plain"]), int(signed(match["exp3"])) if match["exp3"] else 0
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    percent = 100.0 if match["percent"] else 1.0
    return float(f"{digits}e{exponent}") / percent, float(f"5e{exponent - decimals - 1}") / percent


def quotes_in(markdown: str, where: str = "") -> tuple[list[Quote], list[str]]:
    """The marked numbers of one markdown text, and a sentence for each marker with no number before it."""
    found, problems = [], []
    for marker in MARKER.finditer(markdown):
        before = markdown[max(0, marker.start() - 80): marker.start()]
        number = NUMBER_BEFORE.search(before)
        if number is None:
            problems.append(f"{where}: the marker for {marker['name']} does not follow a number: ...{before[-40:]!r}")
            continue
        value, precision = _number(number)
        spec = marker["spec"].replace(" ", "") if marker["spec"] else None
        found.append(Quote(where, marker["name"], number.group(0).strip(" $*"), value, precision, spec))
    return found, problems


def quoted_figures(nb: nbformat.NotebookNode) -> tuple[list[Quote], list[str]]:
    """Every marked number in the notebook's markdown cells, and the markers that are malformed."""
    quotes, problems = [], []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        where = f"cell {index} ({cell.metadata.get('nbgrader', {}).get('grade_id') or cell.get('id')})"
        found, bad = quotes_in(cell.source, where)
        quotes += found
        problems += bad
    return quotes, problems


def disagreements(quotes: list[Quote], reached: dict[str, float]) -> list[str]:
    """A sentence for every quoted number that its reported figure contradicts, or that names no figure."""
    problems = []
    for quote in quotes:
        if quote.name not in reached:
            problems.append(f"{quote.where}: the prose quotes {quote.text} as figure {quote.name}, "
                            "which the notebook does not report (notebook.report)")
        elif not quote.agrees_with(reached[quote.name]):
            problems.append(f"{quote.where}: the prose says {quote.describe()} for {quote.name}, "
                            f"but the notebook computed {reached[quote.name]:.4g}")
    return problems


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
    quotes, malformed = quoted_figures(nb)
    problems = malformed + disagreements(quotes, reached)
    assert problems == [], f"{lesson}: the prose and the computed figures part:\n" + "\n".join(problems)


@pytest.mark.parametrize("lesson", per_lesson())
def test_figure_markers_follow_numbers(lesson):
    """Cheap, without running anything: every marker sits right after a number it can check."""
    _, malformed = quoted_figures(nbformat.read(solution_path(lesson), as_version=4))
    assert malformed == []


def test_a_marked_number_is_held_to_its_printed_precision():
    text = ("about 1.7e-6<!-- figure: a --> and $1.7\\cdot 10^{-6}$<!-- figure: a --> and "
            "$10^{-12}$<!-- figure: b --> and 0.19<!-- figure: c --> and 1,500<!-- figure: d --> "
            "and 18%<!-- figure: e --> and **0.90**<!-- figure: f -->")
    quotes, problems = quotes_in(text)
    assert problems == []
    assert [(q.name, q.value) for q in quotes] == [("a", 1.7e-6), ("a", 1.7e-6), ("b", 1e-12), ("c", 0.19),
                                                   ("d", 1500.0), ("e", 0.18), ("f", 0.9)]
    reached = {"a": 1.66e-6, "b": 1.2e-12, "c": 0.1949, "d": 1500.0, "e": 0.184, "f": 0.904}
    assert disagreements(quotes, reached) == []
    assert math.isclose(quotes[0].precision, 0.05e-6)


def test_a_quoted_figure_that_parts_from_the_computed_one_fails():
    quotes, _ = quotes_in("about 1e-12<!-- figure: norm_at_20 --> at distance 20, "
                          "about 0.3<!-- figure: acc ~0.2 -->, over 100<!-- figure: ratio >= -->")
    problems = disagreements(quotes, {"norm_at_20": 1.7e-6, "acc": 0.37, "ratio": 99.0})
    assert len(problems) == 3
    assert "computed 1.7e-06" in problems[0] and "norm_at_20" in problems[0]
    assert disagreements(quotes, {"norm_at_20": 1.2e-12, "acc": 0.35, "ratio": 101.0}) == []


def test_a_marker_naming_an_unreported_figure_or_no_number_fails():
    quotes, problems = quotes_in("the gradient vanishes<!-- figure: norm --> and 0.5<!-- figure: missing -->")
    assert len(problems) == 1 and "does not follow a number" in problems[0]
    assert "does not report" in disagreements(quotes, {})[0]


@pytest.mark.parametrize("lesson", per_lesson())
def test_quiz_answer_cell_names_every_variable(lesson):
    """The student version of "quiz_answers" lists each answer variable, set to None, before the solution."""
    nb = nbformat.read(solution_path(lesson), as_version=4)
    cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "quiz_answers"]
    if not cells:
        pytest.skip(f"{lesson} has no quiz_answers cell")
    source = cells[0].source
    assert "### BEGIN SOLUTION" in source, "the quiz_answers cell needs its answers between the solution markers"
    shown, solution = source.split("### BEGIN SOLUTION", 1)
    asked = set(re.findall(r"\b(answer_q\d+)\b", "\n".join(c.source for c in nb.cells if c is not cells[0])))
    listed = set(re.findall(r"^(answer_q\d+) = None\b", shown, re.M))
    answered = set(re.findall(r"^(answer_q\d+) = ", solution, re.M))
    assert asked == listed == answered, (
        f"{lesson}: the tests ask for {sorted(asked)}; the student version lists {sorted(listed)} "
        f"(as `answer_qN = None  # ...` lines before ### BEGIN SOLUTION); the solution sets {sorted(answered)}")


@pytest.mark.parametrize("lesson", per_lesson())
def test_solution_notebook_has_no_outputs(lesson):
    nb = nbformat.read(solution_path(lesson), as_version=4)
    with_outputs = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells
                    if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert with_outputs == [], "solution notebooks are committed without outputs: run `make release`"
