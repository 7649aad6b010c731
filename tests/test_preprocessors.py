"""The static screen refuses code that reaches into the grader, and lets ordinary answers through."""
import nbformat
import pytest

from course_lib.grading.preprocessors import HideHiddenTests, refusal_source, screen

ORDINARY = {
    "function": "def f(x):\n    y = x.sum()\n    out = []\n    out.append(y)\n    return y\n",
    "module class": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                     "        self.w = nn.Linear(2, 2)\n    def forward(self, x):\n        self.cache = x\n        return x\n"),
    "stderr debugging": "import sys\ndef f(x):\n    print('debug', file=sys.stderr)\n    return x\n",
    "in-place on own tensors": "def f(x, mask):\n    y = torch.zeros(3)\n    y[0] = 1\n    x[mask] = 0\n    return x\n",
    "nested function": "def f(x):\n    cache = {}\n    def g(k):\n        cache[k] = 1\n    g(1)\n    return x\n",
    "quiz answers": "answer_q1 = 'b'\nanswer_q3 = 16\n",
    "module-level own object": "t = torch.zeros(3)\nt[0] = 2\n",
    "crash is not tampering": "import os\ndef f(x):\n    os._exit(1)\n",
    "syntax error is left to Python": "def f(x)\n    return x\n",
}

TAMPERING = {
    "torch.allclose = lambda *a, **k: True\n": "torch.allclose",
    "def f(x):\n    torch.testing.assert_close = print\n    return x\n": "torch.testing.assert_close",
    "get_ipython().input_transformers_cleanup.append(lambda lines: [])\n": "get_ipython",
    "import IPython\nIPython.get_ipython()\n": "IPython",
    "from course_lib import checks\nchecks.check_close = lambda *a, **k: None\n": "checks.check_close",
    "setattr(torch, 'allclose', print)\n": "setattr",
    "__builtins__['isinstance'] = lambda a, b: True\n": "__builtins__",
    "import os\nos.environ['NBGRADER_EXECUTION'] = ''\n": "environ",
    "exec('torch.equal = print')\n": "exec",
    "def f(x):\n    return f.__globals__\n": "__globals__",
    "import sys\nsys.modules['torch'].equal = print\n": "modules",
    "def f(x):\n    global torch\n    torch = None\n": "global",
    "import course_lib.grading as g\n": "course_lib.grading",
}


@pytest.mark.parametrize("source", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_answers_pass_the_screen(source):
    assert screen(source) == []


@pytest.mark.parametrize("source, named", TAMPERING.items())
def test_tampering_is_refused_with_a_reason_naming_it(source, named):
    reasons = screen(source)
    assert reasons and any(named in r for r in reasons), reasons


def test_refused_cells_raise_a_readable_error():
    code = refusal_source("rnn_forward", ["changes `torch.allclose`, which it does not own"])
    with pytest.raises(RuntimeError, match="did not run cell 'rnn_forward': it changes `torch.allclose`"):
        exec(code, {})


def test_feedback_hides_hidden_tests_and_tracebacks():
    cell = nbformat.v4.new_code_cell("check(a)\n### BEGIN HIDDEN TESTS\nsecret_check(b)\n### END HIDDEN TESTS\n")
    cell.metadata["nbgrader"] = {"grade": True, "solution": False, "grade_id": "test_a", "points": 1}
    cell.outputs = [nbformat.v4.new_output("error", ename="CheckFailed", evalue="`out` should have shape (2,)",
                                           traceback=["File x, line 3", "secret_check(b)", "CheckFailed: ..."])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    nb, _ = HideHiddenTests().preprocess(nb, {})
    assert "secret_check" not in nb.cells[0].source and "check(a)" in nb.cells[0].source
    assert nb.cells[0].outputs[0].traceback == ["CheckFailed: `out` should have shape (2,)"]


def test_experiment_cells_are_the_ones_no_graded_cell_needs():
    from course_lib.grading.preprocessors import experiment_cells

    def cell(source, **nbgrader):
        made = nbformat.v4.new_code_cell(source)
        if nbgrader:
            made.metadata["nbgrader"] = nbgrader
        return made

    nb = nbformat.v4.new_notebook(cells=[
        cell("import torch"),                                            # 0 set-up: always kept
        cell("data = torch.arange(4)"),                                  # 1 read by the test, inside a function
        cell("model = torch.nn.Linear(2, 2)\nplot(model)"),              # 2 an experiment
        nbformat.v4.new_markdown_cell("prose"),                          # 3
        cell("def f(x):\n    return x + offset", solution=True, grade_id="f"),  # 4 reads the global offset
        cell("offset = 1"),                                              # 5 binds offset, but after the answer
        cell("def check():\n    return f(data)\nassert check() is not None", grade=True, grade_id="test_f"),  # 6
        cell("%matplotlib inline"),                                      # 7 not plain Python: kept
        cell("for row in data:\n    print(row)"),                        # 8 an experiment
    ])
    assert experiment_cells(nb) == {2, 5, 8}
