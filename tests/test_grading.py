"""Hidden-test machinery: shortcuts refused however they are reached, and restored afterwards."""
import sys
import warnings

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


def test_plain_nbgrader_autograde_refuses_and_points_to_the_course_command(tmp_path):
    """Plain ``nbgrader autograde`` would grade grading/submitted as it is (no checked copy): it must
    refuse before any student code runs, say what to run instead, and leave the submission as it was."""
    from course_lib.grading import autograde, course

    lesson = "01_rnn_limits"
    course_dir = course.scratch_course([lesson], tmp_path)
    course.generate([lesson], course_dir)
    submitted = autograde.submit(course_dir, "student", lesson, autograde.solved(lesson))
    before = submitted.read_bytes()
    result = course.nbgrader(["autograde", lesson, "--force"], cwd=course_dir, check=False)
    log = result.stdout + result.stderr
    assert result.returncode != 0, log
    assert "NotStaged" in log and f"python -m course_lib.grading.autograde grade {lesson}" in log, log
    assert submitted.read_bytes() == before and sorted(p.name for p in submitted.parent.iterdir()) == [submitted.name]
    assert not (course_dir / "grading" / "autograded" / "student" / lesson / f"{lesson}.ipynb").exists()


def test_every_route_to_tamper_with_the_grader_is_refused_by_the_screen():
    """The hostile corpus's tampering cells, and the module it submits, are never run."""
    from hostile import TAMPER_MODULE, TAMPERING

    from course_lib.grading.preprocessors import screen

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
