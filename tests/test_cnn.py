"""Lesson 01's receptive-field formulas against gradients through real Conv1d stacks."""
import pytest
import torch

from course_lib import cnn


@pytest.mark.parametrize("kernel_size, layers, base", [(2, 3, 1), (3, 1, 1), (3, 4, 1), (5, 3, 1), (3, 3, 2), (3, 5, 2), (2, 4, 2), (3, 3, 3)])
def test_receptive_field_matches_a_measured_conv_stack(kernel_size, layers, base):
    torch.manual_seed(0)
    stack = cnn.conv_stack(kernel_size, layers, base)
    assert cnn.measured_receptive_field(stack, length=400) == cnn.receptive_field(kernel_size, layers, base)


def test_layers_to_connect_is_the_smallest_sufficient_depth():
    for distance in range(0, 300, 7):
        for k, b in [(2, 1), (3, 1), (3, 2), (5, 3)]:
            layers = cnn.layers_to_connect(distance, k, b)
            assert cnn.receptive_field(k, layers, b) >= distance + 1
            assert layers == 0 or cnn.receptive_field(k, layers - 1, b) < distance + 1


def test_closed_forms():
    assert cnn.receptive_field(3, 0) == 1
    assert cnn.layers_to_connect(64, 5) == 16
    assert cnn.layers_to_connect(64, 3, dilation_base=2) == 6


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="kernel_size must be at least 2"):
        cnn.receptive_field(1, 3)
    with pytest.raises(ValueError, match="dilation_base"):
        cnn.layers_to_connect(10, 3, dilation_base=0)
