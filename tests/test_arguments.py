"""course_lib.arguments: argument errors that say what to pass."""
import pytest
import torch

from course_lib.arguments import check_int, check_tokens


@pytest.mark.parametrize("value", [0, -3, 2.0, True, "4"])
def test_check_int_refuses_what_is_not_a_positive_int(value):
    with pytest.raises(ValueError, match=r"beam_size must be a positive int \(how many hypotheses to keep\)"):
        check_int("beam_size", value, "how many hypotheses to keep")


def test_check_int_with_a_minimum_of_zero():
    check_int("eos_id", 0, "the id of </s>", minimum=0)
    with pytest.raises(ValueError, match="eos_id must be an int >= 0"):
        check_int("eos_id", -1, "the id of </s>", minimum=0)


@pytest.mark.parametrize("tokens, error, message", [
    ([[1, 2]], TypeError, "must be a torch.Tensor"),
    (torch.ones(2, 3), TypeError, r"convert with src.long\(\)"),
    (torch.ones(3, dtype=torch.long), ValueError, r"use src.unsqueeze\(0\)"),
])
def test_check_tokens_says_what_is_wrong(tokens, error, message):
    with pytest.raises(error, match=message):
        check_tokens("src", tokens)
    check_tokens("src", torch.ones(2, 3, dtype=torch.long))
