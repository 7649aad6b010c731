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
