"""The student-facing checks: each passes on a right answer and explains a wrong one."""
import pytest
import torch

from course_lib import checks
from course_lib.checks import CheckFailed


def test_check_shape_explains_a_transpose():
    checks.check_shape(torch.zeros(2, 3), (2, 3), "x")
    with pytest.raises(CheckFailed, match=r"should have shape \(2, 3\).*yours has shape \(3, 2\).*transpose"):
        checks.check_shape(torch.zeros(3, 2), (2, 3), "x")


def test_check_tensor_refuses_look_alikes():
    class AlwaysEqual:
        def __eq__(self, other):
            return True

    with pytest.raises(CheckFailed, match="should be a torch.Tensor; yours is a AlwaysEqual"):
        checks.check_close(AlwaysEqual(), torch.zeros(2), "out")
    with pytest.raises(CheckFailed, match="yours is a list"):
        checks.check_shape([1, 2], (2,), "out")


def test_check_close_reports_the_worst_element():
    expected = torch.zeros(3, 4)
    actual = expected.clone()
    actual[1, 2] = 0.5
    actual[2, 3] = 0.1
    with pytest.raises(CheckFailed, match=r"2 of 12 values differ; the worst is at index \(1, 2\): yours 0.5, expected 0"):
        checks.check_close(actual, expected, "out")
    checks.check_close(expected + 1e-7, expected, "out")


def test_check_close_names_the_slip_a_wrong_value_matches():
    expected = torch.tensor([1.0, 2.0])
    slips = {"average over the batch, do not sum": 4 * expected, "take the last step only": expected + 1}
    with pytest.raises(CheckFailed, match="matches what a common slip gives: average over the batch, do not sum"):
        checks.check_close(4 * expected, expected, "norms", slips=slips)
    with pytest.raises(CheckFailed, match="does not match the reference: 2 of 2 values differ"):
        checks.check_close(3 * expected, expected, "norms", slips=slips)
    checks.check_close(expected, expected, "norms", slips=slips)


def test_check_close_refuses_nan():
    with pytest.raises(CheckFailed, match="NaN or infinite"):
        checks.check_close(torch.tensor([float("nan")]), torch.tensor([0.0]), "out")


def test_check_dtype_and_equal():
    with pytest.raises(CheckFailed, match="dtype torch.int64; yours has dtype torch.float32"):
        checks.check_dtype(torch.zeros(2), torch.int64, "t")
    with pytest.raises(CheckFailed, match="should be 3; yours is 4"):
        checks.check_equal(4, 3, "n")
    with pytest.raises(CheckFailed, match="should be a builtins.int; yours is a builtins.float"):
        checks.check_equal(3.0, 3, "n")
    with pytest.raises(CheckFailed, match=r"first is index \(1,\): yours 5, expected 2"):
        checks.check_equal(torch.tensor([1, 5]), torch.tensor([1, 2]), "t")


def test_check_normalised_names_the_axis_that_was_used():
    weights = torch.softmax(torch.randn(3, 4, 4), dim=1)
    checks.check_normalised(weights, 1, "w")
    with pytest.raises(CheckFailed, match="sum to 1 over axis 2 .*yours sum to 1 over axis 1 instead"):
        checks.check_normalised(weights, -1, "w")


def test_check_masked_detects_inverted_polarity_and_leaks():
    mask = torch.tensor([[True, False], [True, True]])
    good = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    checks.check_masked(good, mask, "w")
    with pytest.raises(CheckFailed, match="polarity is inverted"):
        checks.check_masked(torch.tensor([[0.0, 1.0], [0.0, 0.0]]), mask, "w")
    with pytest.raises(CheckFailed, match="where the mask is False.*-inf"):
        checks.check_masked(torch.tensor([[0.7, 0.3], [0.5, 0.5]]), mask, "w")
