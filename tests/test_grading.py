"""Hidden-test machinery: shortcuts refused however they are reached, and restored afterwards."""
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from course_lib import checks, cnn, grading
from course_lib.grading import ShortcutUsed


def test_forbidden_torch_function_is_refused_through_any_alias():
    alias = F.scaled_dot_product_attention
    q = torch.randn(1, 2, 4)
    with grading.strict(forbid=["torch.nn.functional.scaled_dot_product_attention"]):
        with pytest.raises(ShortcutUsed, match="scaled_dot_product_attention.*implement yourself"):
            alias(q, q, q)
        with pytest.raises(ShortcutUsed):
            F.scaled_dot_product_attention(q, q, q)
        torch.softmax(q, dim=-1)  # other functions still work
    assert F.scaled_dot_product_attention is alias
    alias(q, q, q)


def test_forbidden_module_class_refuses_new_and_existing_instances():
    existing = torch.nn.RNN(2, 3)
    with grading.strict(forbid=["torch.nn.RNN"]):
        with pytest.raises(ShortcutUsed):
            torch.nn.RNN(2, 3)
        with pytest.raises(ShortcutUsed):
            existing(torch.randn(4, 1, 2))
    existing(torch.randn(4, 1, 2))


def test_forbidden_course_reference_fails_through_an_alias_and_comes_back():
    alias = cnn.receptive_field
    with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
        with pytest.raises(ShortcutUsed, match="course_lib.cnn.receptive_field"):
            alias(3, 2)
    assert alias(3, 2) == 5


def test_forbidden_library_is_refused_at_every_entry_point_and_a_kept_method_too():
    """HF tokenizers' methods are Rust, not Python, so swapping a class attribute cannot catch a method
    kept from before the block; the profiler refuses it by its class. A forbidden package refuses its
    other entry points too (normalising in place, ``encode_batch_fast``) and its Python code; torch and
    the library outside the block stay untouched."""
    from tokenizers import NormalizedString, Tokenizer, models, normalizers

    normalizer = normalizers.BertNormalizer()
    normalize_str = normalizers.Normalizer.normalize_str
    with pytest.raises(ShortcutUsed, match="Normalizer.normalize_str"):
        with grading.strict(forbid=["tokenizers.normalizers.Normalizer.normalize_str"]):
            normalize_str(normalizer, "Héllo")
    assert normalize_str(normalizer, "Héllo") == "hello"
    with pytest.raises(ShortcutUsed, match="BertNormalizer.normalize` from `tokenizers`"):
        with grading.strict(forbid=["tokenizers"]):
            normalizer.normalize(NormalizedString("Héllo"))
    wordpiece = Tokenizer(models.WordPiece({"a": 0, "[UNK]": 1}, unk_token="[UNK]"))
    with pytest.raises(ShortcutUsed, match="encode_batch_fast` from `tokenizers`"):
        with grading.strict(forbid=["tokenizers"]):
            wordpiece.encode_batch_fast(["a"])
    from transformers import BertConfig

    with pytest.raises(ShortcutUsed, match="from `transformers`"):
        with grading.strict(forbid=["transformers"]):
            BertConfig(hidden_size=8)
    with grading.strict(forbid=["tokenizers", "transformers"]):
        assert torch.softmax(torch.zeros(2), 0).tolist() == [0.5, 0.5]
    assert wordpiece.encode_batch_fast(["a"])[0].ids == [0] and BertConfig(hidden_size=8).hidden_size == 8


def test_a_hidden_test_whose_profiler_was_removed_fails():
    with pytest.raises(ShortcutUsed, match="removed or replaced the profiler"):
        with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
            sys.setprofile(None)
    assert sys.getprofile() is None


def test_provided_swaps_names_in_the_student_namespace_and_restores_them():
    namespace = vars(sys.modules["__main__"])
    namespace["receptive_field"] = "student's"
    try:
        with checks.provided({"receptive_field": cnn.receptive_field}):
            assert namespace["receptive_field"] is cnn.receptive_field
        assert namespace["receptive_field"] == "student's"
    finally:
        namespace.pop("receptive_field")


def test_strict_is_seeded_and_restores_the_global_rng(capsys):
    torch.manual_seed(5)
    before = torch.rand(1)
    torch.manual_seed(5)
    with grading.strict(seed=0):
        first = torch.rand(1)
    with grading.strict(seed=0):
        assert torch.equal(torch.rand(1), first)
    assert torch.equal(torch.rand(1), before)


def test_quiet_swallows_warnings_and_stderr(capsys):
    with grading.quiet():
        warnings.warn("benign")
        print("to stderr", file=sys.stderr)
    assert capsys.readouterr().err == ""


def test_unknown_names_are_reported():
    with pytest.raises(ValueError, match="cannot resolve"):
        with grading.forbidden(["nosuchmodule.thing"]):
            pass


@pytest.mark.parametrize("args, says", [
    (["grade", "no_such_lesson"], "no lesson 'no_such_lesson'"),
    (["grade", "01_rnn_limits", "--shard", "2/2"], "--shard must be I/N with 0 <= I < N"),
])
def test_class_grading_command_refuses_a_wrong_lesson_or_shard(args, says):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "course_lib.grading.autograde", *args], capture_output=True, text=True)
    assert result.returncode == 2 and says in result.stderr, result.stderr


def _from_source():
    import inspect

    namespace = {"_check_sizes": cnn._check_sizes}
    exec(inspect.getsource(cnn.receptive_field), namespace)
    return namespace["receptive_field"]


def _copied_code(**renamed):
    import types

    code = cnn.receptive_field.__code__.replace(**renamed)
    return types.FunctionType(code, cnn.receptive_field.__globals__, "copy", (1,))


# Every route a student has to a fresh copy of the course's reference ``cnn.receptive_field``.
COPIES = {
    "runpy.run_module": lambda: __import__("runpy").run_module("course_lib.cnn")["receptive_field"],
    "runpy.run_path": lambda: __import__("runpy").run_path(cnn.__file__)["receptive_field"],
    "exec of inspect.getsource": _from_source,
    "a copied __code__": _copied_code,
    "a renamed code object": lambda: _copied_code(co_name="mine", co_qualname="mine", co_filename="<cell>"),
    "a module reloaded": lambda: __import__("importlib").reload(cnn).receptive_field,
}


@pytest.mark.parametrize("route", COPIES)
def test_a_fresh_copy_of_the_reference_is_refused(route):
    copy = COPIES[route]()
    with pytest.raises(ShortcutUsed, match="course_lib.cnn.receptive_field"):
        with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
            copy(3, 2)
    assert copy(3, 2) == 5, "the copy works again after the block"


def test_a_refused_copy_fails_the_block_even_when_the_student_catches_the_error():
    import runpy
    import threading

    copy = runpy.run_module("course_lib.cnn")["receptive_field"]

    def swallowing(*args):
        try:
            return copy(*args)
        except Exception:
            return 1 + (args[0] - 1) * args[1]

    with pytest.raises(ShortcutUsed):
        with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
            assert swallowing(3, 2) == 5
    with pytest.raises(ShortcutUsed):  # a thread started in the block is watched too
        with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
            worker = threading.Thread(target=swallowing, args=(3, 2))
            worker.start()
            worker.join()


def test_a_fresh_copy_of_a_reference_class_is_refused_and_an_own_class_is_not():
    import runpy

    from course_lib import positional

    copy = runpy.run_module("course_lib.positional")["SinusoidalPositionalEncoding"]

    class Subclass(copy):
        pass

    class Own(torch.nn.Module):
        def __init__(self, d_model, max_len):
            super().__init__()
            self.register_buffer("table", torch.zeros(max_len, d_model))

        def forward(self, x):
            return x + self.table[: x.shape[1]]

    for made in (copy, Subclass):
        with pytest.raises(ShortcutUsed):
            with grading.strict(forbid=["course_lib.positional.SinusoidalPositionalEncoding"]):
                made(8, 16)
    with grading.strict(forbid=["course_lib.positional.SinusoidalPositionalEncoding"]):
        Own(8, 16)(torch.zeros(1, 4, 8))
    positional.SinusoidalPositionalEncoding(8, 16)


def test_an_own_implementation_with_the_reference_formula_is_not_a_copy():
    def receptive_field(kernel_size, num_layers, dilation_base=1):
        return 1 + (kernel_size - 1) * sum(dilation_base**i for i in range(num_layers))

    with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
        assert receptive_field(3, 2) == 5


LESSON = "01_rnn_limits"


@pytest.fixture(scope="module")
def graded_course(tmp_path_factory):
    """A scratch course where the course's command graded two students of lesson 01: ``solved`` (the
    solution) and ``duplicated``, whose work is in a JupyterLab duplicate ``01_rnn_limits-Copy1.ipynb``
    next to the untouched release."""
    from course_lib.grading import autograde, course

    course_dir = course.scratch_course([LESSON], tmp_path_factory.mktemp("graded"))
    course.generate([LESSON], course_dir)
    autograde.submit(course_dir, "solved", LESSON, autograde.solved(LESSON))
    untouched = autograde.submit(course_dir, "duplicated", LESSON, nbformat.read(course.release_path(LESSON), as_version=4))
    nbformat.write(autograde.solved(LESSON), untouched.with_name(f"{LESSON}-Copy1.ipynb"))
    outcomes = autograde.grade_class(course_dir, LESSON, workers=1, skip_experiments=True)
    return course_dir, {o.student: o for o in outcomes}


def _files(folder):
    return {p.relative_to(folder): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(folder.rglob("*")) if p.is_file()}


def test_plain_nbgrader_autograde_refuses_before_touching_a_graded_student(graded_course):
    """Plain ``nbgrader autograde --force`` would grade grading/submitted as it is (no checked copy):
    it must refuse before it starts, say what to run instead, and leave the grade the course's command
    made (nbgrader removes the autograded folder of a forced or failed conversion) and the submission."""
    from course_lib.grading import course
    from course_lib.grading.autograde import UNSTAGED

    course_dir, outcomes = graded_course
    assert outcomes["solved"].status == "graded", outcomes["solved"]
    graded = course_dir / "grading" / "autograded" / "solved" / LESSON
    submitted = course_dir / "grading" / "submitted" / "solved" / LESSON
    before = _files(graded), _files(submitted)
    assert Path(f"{LESSON}.ipynb") in before[0]
    result = course.nbgrader(["autograde", LESSON, "--student=solved", "--force"], cwd=course_dir, check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert UNSTAGED.format(assignment=LESSON) in log and f"python -m course_lib.grading.autograde grade {LESSON}" in log, log
    assert (_files(graded), _files(submitted)) == before, "plain nbgrader autograde changed the student's files"


def test_formgraders_autograde_refuses_before_touching_a_graded_student(graded_course):
    """Formgrader's Autograde button calls ``NbGraderAPI.autograde(..., force=True)`` in the Jupyter
    server, which loads nbgrader_config.py as the formgrader does: it fails with the message, deleting nothing."""
    import json
    import subprocess

    from course_lib.grading.autograde import UNSTAGED

    course_dir, _ = graded_course
    graded = course_dir / "grading" / "autograded" / "solved" / LESSON
    before = _files(graded)
    script = (
        "import json\n"
        "from nbgrader.apps import NbGraderAPI\n"
        "from nbgrader.apps.baseapp import NbGrader\n"
        "from nbgrader.coursedir import CourseDirectory\n"
        "app = NbGrader()\n"
        "app.load_config_file()\n"
        "api = NbGraderAPI(CourseDirectory(config=app.config), config=app.config)\n"
        f"print(json.dumps(api.autograde({LESSON!r}, 'solved', force=True)))\n")
    run = subprocess.run([sys.executable, "-c", script], cwd=course_dir, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["success"] is False, result
    assert UNSTAGED.format(assignment=LESSON) in result["error"], result
    assert _files(graded) == before, "Formgrader's autograde changed the graded notebook"


def test_work_in_a_duplicated_notebook_is_graded_with_a_reason(graded_course, tmp_path):
    """The untouched release next to a JupyterLab duplicate holding the work: the duplicate is graded
    (the same points as the solution) and the CSV says so."""
    import csv

    from course_lib.grading import autograde

    course_dir, outcomes = graded_course
    reason = (f"{LESSON}.ipynb is the release untouched and {LESSON}-Copy1.ipynb holds the work: "
              f"{LESSON}-Copy1.ipynb was graded as {LESSON}.ipynb")
    assert outcomes["duplicated"].status == "graded" and reason in outcomes["duplicated"].reasons, outcomes["duplicated"]
    points = autograde.scores(course_dir, LESSON)
    assert points["duplicated"] == points["solved"] and sum(p or 0 for p in points["solved"].values()) > 0, points
    autograde.export_csv(course_dir, LESSON, tmp_path / "class.csv")
    rows = {row["student"]: row for row in csv.DictReader(open(tmp_path / "class.csv"))}
    assert reason in rows["duplicated"]["reasons"], rows["duplicated"]


def _submission(tmp_path, notebooks: dict):
    """A course directory holding lesson 01's release and one submission of the given notebooks."""
    import shutil

    from course_lib.grading import course

    shutil.copytree(course.release_path(LESSON).parent, tmp_path / "notebooks" / LESSON)
    folder = tmp_path / "grading" / "submitted" / "student" / LESSON
    folder.mkdir(parents=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, folder / name)
    return tmp_path


@pytest.mark.parametrize("case", ["work in both", "work in two copies"])
def test_notebooks_left_ungraded_are_named_in_a_reason(tmp_path, case):
    """Where the lesson's notebook is graded, every other notebook of the submission is named as not graded."""
    from course_lib.grading import autograde, course

    release, solved = nbformat.read(course.release_path(LESSON), as_version=4), autograde.solved(LESSON)
    copies = {f"{LESSON}-Copy1.ipynb": solved}
    if case == "work in two copies":
        copies[f"{LESSON}-Copy2.ipynb"] = solved
    course_dir = _submission(tmp_path, {f"{LESSON}.ipynb": solved if case == "work in both" else release, **copies})
    outcome = autograde.preflight(course_dir, "student", LESSON)
    names = ", ".join(copies)
    assert outcome.status == "graded" and any(
        r.startswith(f"{names} {'was' if len(copies) == 1 else 'were'} not graded: only {LESSON}.ipynb is")
        for r in outcome.reasons), outcome
    staged = course_dir / autograde.STAGED / "student" / LESSON
    assert sorted(p.name for p in staged.iterdir()) == [f"{LESSON}.ipynb"]
    graded = nbformat.read(staged / f"{LESSON}.ipynb", as_version=4)
    expected = solved if case == "work in both" else release
    assert [c.source for c in graded.cells] == [c.source for c in expected.cells]


def test_nbgrader_export_writes_under_grading(graded_course):
    """Everything grading produces stays under grading/ (git ignores it), nbgrader export's grades.csv too."""
    from course_lib.grading import course

    course_dir, _ = graded_course
    course.nbgrader(["export"], cwd=course_dir)
    assert not (course_dir / "grades.csv").exists(), "nbgrader export wrote grades.csv at the course root"
    assert "solved" in (course_dir / "grading" / "grades.csv").read_text()


def test_class_export_refuses_a_wrong_lesson(tmp_path):
    import subprocess

    target = tmp_path / "class.csv"
    result = subprocess.run([sys.executable, "-m", "course_lib.grading.autograde", "export", "01_rnn", "--csv", str(target)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "no lesson '01_rnn'" in result.stderr, result.stderr
    assert not target.exists(), "a header-only CSV was written for a lesson that does not exist"


def test_nbgrader_validate_shows_a_failed_checks_message_whole(tmp_path):
    """nbgrader validate cuts lines at ``Validator.width``: a course message (course_lib.checks) must
    come out whole."""
    import shutil

    from course_lib import checks
    from course_lib.grading import course
    from course_lib.grading.course import ROOT

    test = ("import torch\nfrom course_lib.checks import check_close\n"
            "check_close(answer(), torch.ones(2, 3), 'answer()')")
    try:
        exec(test, {"answer": lambda: torch.zeros(2, 3)})
    except checks.CheckFailed as error:
        message = str(error)
    assert len(message) > 120, message  # longer than nbgrader's default width of 90
    meta = {"schema_version": 3, "task": False, "locked": False}
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("import torch\ndef answer():\n    return torch.zeros(2, 3)", metadata={"nbgrader": {
            **meta, "grade": False, "solution": True, "grade_id": "answer"}}),
        nbformat.v4.new_code_cell(test, metadata={"nbgrader": {
            **meta, "grade": True, "solution": False, "locked": True, "grade_id": "test_answer", "points": 1}}),
    ])
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path / "nbgrader_config.py")
    nbformat.write(nb, tmp_path / "one_wrong.ipynb")
    result = course.nbgrader(["validate", "one_wrong.ipynb"], cwd=tmp_path, check=False)
    output = result.stdout + result.stderr
    assert "VALIDATION FAILED ON 1 CELL(S)" in output and f"CheckFailed: {message}" in output, output


def test_readme_names_no_nbgrader_command_that_is_gone(tmp_path):
    """The README's shell blocks call no nbgrader command that nbgrader 0.9 has deprecated or turned
    into a failure (``nbgrader formgrade``: the Formgrader is a JupyterLab tab now)."""
    import re

    from nbgrader.apps import NbGraderApp

    from course_lib.grading import course
    from course_lib.grading.course import ROOT

    blocks = re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    used = {m for block in blocks for m in re.findall(r"^nbgrader (\w+)", block, re.M)}
    gone = {name for name, (_, about) in NbGraderApp.subcommands.items() if about.startswith("DEPRECATED")}
    formgrade = course.nbgrader(["formgrade"], cwd=tmp_path, check=False)
    if formgrade.returncode != 0 and "no longer a standalone command" in formgrade.stdout + formgrade.stderr:
        gone.add("formgrade")
    assert "formgrade" in gone and "export" in used, (gone, used)
    assert not used & gone, f"README calls nbgrader commands that are gone: {sorted(used & gone)}"


def test_every_route_to_tamper_with_the_grader_is_refused_by_the_screen():
    """The hostile corpus's tampering cells, and the module it submits, are never run."""
    from hostile import TAMPER_MODULE, TAMPERING

    from course_lib.grading.screen import screen

    for route, source in TAMPERING.items():
        assert screen(source), f"{route} passed the screen"
    assert screen(TAMPER_MODULE), "a submitted module that tampers with the grader passed the screen"


@pytest.mark.parametrize("route", ["a module resolved from a name built of strings", "an alias kept in a container"])
def test_the_grading_module_cannot_be_changed_even_by_unscreened_code(route):
    """Were the screen to miss a route that rebinds the module's names, ``strict`` would still hold."""
    from hostile import TAMPERING

    with pytest.raises(AttributeError, match="course_lib.grading.strict cannot be changed"):
        exec(TAMPERING[route], {})
    with pytest.raises(ShortcutUsed):
        with grading.strict(forbid=["course_lib.cnn.receptive_field"]):
            cnn.receptive_field(3, 2)
    with pytest.raises(AttributeError, match="cannot be deleted"):
        del grading.strict
