"""The static screen refuses code that reaches into the grader, and lets ordinary answers through."""
import nbformat
import pytest

from course_lib.grading.preprocessors import HideHiddenTests, refusal_source
from course_lib.grading.screen import import_bindings, screen

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
    "operator arithmetic": "import functools, operator\ndef f(xs):\n    return functools.reduce(operator.mul, xs, 1)\n",
    "plot settings": "plt.rcParams['figure.figsize'] = (8, 4)\n",
    "setattr on self": ("class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                        "        for i in range(2):\n            setattr(self, f'layer{i}', nn.Linear(2, 2))\n"),
    "a memo from another cell": "def f(k):\n    _cache[k] = k * k\n    return _cache[k]\n",
    "a global counter of its own": "calls = 0\ndef f(x):\n    global calls\n    calls += 1\n    return x\n",
    "freezing parameters": "def freeze(model):\n    for p in model.parameters():\n        p.requires_grad = False\n",
    "importing torch again": "import torch\nimport torch.nn.functional as F\ndef f(x):\n    return F.relu(torch.tanh(x))\n",
}
# What the notebook's own cells import (``import_bindings`` of its setup cell): the tests use these names.
NOTEBOOK = {"torch": "torch", "F": "torch.nn.functional", "nn": "torch.nn", "plt": "matplotlib.pyplot",
            "checks": "course_lib.checks", "cnn": "course_lib.cnn"}

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
    "from sys import modules\n": "imports `modules` from `sys`",
    "_notebook = locals()\n": "locals",
    "import sys\nwatcher = sys.getprofile()\n": "getprofile",
    "import pydoc\n": "pydoc",
    "import threading\n": "threading",
    "from concurrent.futures import ThreadPoolExecutor\n": "concurrent",
    "import typing\ndef f(x: '_expected'):\n    return typing.get_type_hints(f)\n": "get_type_hints",
    "def f(x):\n    global torch\n    torch = None\n": "global",
    "import course_lib.grading as g\n": "course_lib.grading",
    "class Passes:\n    def __getattr__(self, name):\n        return print\nchecks = Passes()\n": "rebinds `checks`",
    "def cnn(x):\n    return x\n": "rebinds `cnn`",
    "import numpy as torch\n": "rebinds `torch`",
    "for checks in [None]:\n    pass\n": "rebinds `checks`",
    "found = [(checks := x) for x in [None]]\n": "rebinds `checks`",
    "def f():\n    global checks\n    checks = None\n": "global checks",
    "np.allclose = print\n": "np.allclose",
    "import operator\nget = operator.attrgetter('allclose')\n": "attrgetter",
    "from operator import methodcaller\n": "operator.methodcaller",
}


@pytest.mark.parametrize("source", ORDINARY.values(), ids=ORDINARY.keys())
def test_ordinary_answers_pass_the_screen(source):
    assert screen(source, protected=NOTEBOOK, imported={"np": "numpy"}) == []


@pytest.mark.parametrize("source, named", TAMPERING.items())
def test_tampering_is_refused_with_a_reason_naming_it(source, named):
    reasons = screen(source, protected=NOTEBOOK, imported={"np": "numpy"})
    assert reasons and any(named in r for r in reasons), reasons


def test_an_answer_may_neither_read_nor_overwrite_what_the_tests_computed():
    """A hidden test computes its expected values before it calls the student's code; an answer that read
    them when called (or overwrote them) would pass without doing the work."""
    values = {"_expected", "_cases"}
    assert "reads `_expected`" in " ".join(screen("def f(x):\n    return _expected[_cases.index(x)]\n", test_names=values))
    assert "global _expected" in " ".join(screen("def f(x):\n    global _expected\n    _expected = [x]\n    return x\n",
                                                 test_names=values))
    assert "reads `_cases`" in " ".join(screen("g = lambda: _cases\n", test_names=values))
    assert "__main__" in " ".join(screen("import __main__\n\ndef f():\n    return __main__._expected\n"))
    assert screen("def f(x):\n    _expected = x + 1\n    return _expected\n", test_names=values) == []  # its own local
    assert screen("_cases = [1, 2]\nprint(len(_cases))\n", test_names=values) == []  # its own global, used at once


def test_import_bindings_name_what_each_import_binds():
    source = ("import torch\nimport torch.nn.functional as F\nfrom course_lib import checks, cnn as c\n"
              "import os.path\ndef f():\n    import numpy as np\n")
    assert import_bindings(source) == {"torch": "torch", "F": "torch.nn.functional", "checks": "course_lib.checks",
                                       "c": "course_lib.cnn", "os": "os"}
    assert import_bindings("import (") == {}


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


# ---------------------------------------------------------------------------------------------
# The rebuild on the release: a student's work is found by what it is, and every cell is kept.
# ---------------------------------------------------------------------------------------------

STUB = "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
ANSWER = "def f(x):\n    return x + 1"


def _cell(kind, source, grade_id=None, cell_id=None, **nbgrader):
    cell = (nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell)(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, "grade": False, "solution": False, "locked": False, **nbgrader}
    if cell_id:
        cell["id"] = cell_id
    return cell


def _release():
    return [_cell("markdown", "Write f.", "md_1", "md-1", locked=True),
            _cell("code", STUB, "f", "f-cell", solution=True),
            _cell("code", "assert f(1) == 2", "test_f", "test-f", grade=True, locked=True, points=1),
            _cell("markdown", "YOUR ANSWER HERE", "w", "w-cell", solution=True, grade=True, points=2)]


def _rebuild(tmp_path, cells, caplog):
    import logging

    from traitlets.config import Config

    from course_lib.grading.preprocessors import RebuildFromRelease

    (tmp_path / "notebooks" / "a").mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=_release()), tmp_path / "notebooks" / "a" / "a.ipynb")
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.release_directory = "notebooks"
    with caplog.at_level(logging.WARNING):
        rebuilt, _ = RebuildFromRelease(config=config, log=logging.getLogger("rebuild")).preprocess(
            nbformat.v4.new_notebook(cells=cells), {"nbgrader": {"assignment": "a", "notebook": "a"}})
    nbformat.validate(rebuilt)  # every cell has an id of its own
    return [c.source for c in rebuilt.cells], rebuilt, caplog.text


def test_split_answer_cell_keeps_both_halves_in_order(tmp_path, caplog):
    first = _cell("code", "import math", "f", "f-cell", solution=True)
    second = _cell("code", ANSWER, "f", "f-cell", solution=True)
    sources, _, log = _rebuild(tmp_path, [*_release()[:1], first, second, *_release()[2:]], caplog)
    assert sources[1:4] == ["import math", ANSWER, "assert f(1) == 2"]
    assert "grading note: answer cell f appears more than once (a split or copied cell)" in log


def test_retyped_answer_cell_is_found_by_content_and_the_stub_does_not_come_back(tmp_path, caplog):
    sources, _, log = _rebuild(tmp_path, [*_release()[:1], _cell("code", ANSWER), *_release()[2:]], caplog)
    assert STUB not in sources and sources[1:3] == [ANSWER, "assert f(1) == 2"]
    assert "answer cell f is missing: your cell that defines f was graded as it" in log


def test_answer_cell_without_its_metadata_is_found_by_cell_id(tmp_path, caplog):
    sources, _, log = _rebuild(tmp_path, [*_release()[:1], _cell("code", ANSWER, cell_id="f-cell"), *_release()[2:]], caplog)
    assert sources[1:3] == [ANSWER, "assert f(1) == 2"]
    assert "answer cell f had lost its nbgrader metadata: it was recognised by its cell id" in log


def test_missing_answer_cell_without_a_match_is_graded_as_released(tmp_path, caplog):
    sources, _, log = _rebuild(tmp_path, [*_release()[:1], _cell("code", "print('hello')"), *_release()[2:]], caplog)
    assert sources[1:3] == ["print('hello')", STUB]
    assert "answer cell f is missing: its released version was graded in its place" in log


def test_written_answer_keeps_its_pasted_image(tmp_path, caplog):
    written = _cell("markdown", "See ![sketch](attachment:sketch.png)", "w", "w-cell", solution=True, grade=True, points=2)
    written["attachments"] = {"sketch.png": {"image/png": "iVBORw0KGgo="}}
    _, rebuilt, _ = _rebuild(tmp_path, [*_release()[:3], written], caplog)
    assert rebuilt.cells[3].attachments == written["attachments"]


def test_cells_without_ids_and_copies_get_ids_of_their_own(tmp_path, caplog):
    copied, without = _cell("code", "x = 1", "f", "f-cell", solution=True), _cell("code", "y = 2")
    del without["id"]  # a cell from an nbformat 4.4 notebook
    sources, rebuilt, _ = _rebuild(tmp_path, [*_release()[:2], copied, without, *_release()[2:]], caplog)
    assert sources[1:4] == [STUB, "x = 1", "y = 2"]
    assert len({c["id"] for c in rebuilt.cells}) == len(rebuilt.cells)
