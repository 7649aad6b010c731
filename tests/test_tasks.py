"""Synthetic tasks."""
import pytest
import torch

from course_lib import tasks


def test_delayed_recall_targets_look_back_by_the_delay():
    inputs, targets = tasks.delayed_recall_batch(4, 12, 5, 6, torch.Generator().manual_seed(0))
    assert inputs.dtype == targets.dtype == torch.int64
    assert (targets[:, :5] == tasks.IGNORE_INDEX).all()
    assert torch.equal(targets[:, 5:], inputs[:, :7])
    again, _ = tasks.delayed_recall_batch(4, 12, 5, 6, torch.Generator().manual_seed(0))
    assert torch.equal(inputs, again)


def test_delay_must_fit_in_the_sequence():
    with pytest.raises(ValueError, match="delay must be in"):
        tasks.delayed_recall_batch(2, 5, 5, 3, torch.Generator())
