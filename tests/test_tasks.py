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


def test_previous_and_partner_targets():
    tokens, previous, partner = tasks.previous_and_partner_batch(5, 4, 3, torch.Generator().manual_seed(0))
    assert tokens.shape == previous.shape == partner.shape == (5, 8)
    assert tokens.dtype == previous.dtype == partner.dtype == torch.int64
    colours, numbers = tokens // 3, tokens % 3
    for b in range(5):
        assert sorted(colours[b].tolist()) == [0, 0, 1, 1, 2, 2, 3, 3]  # every colour exactly twice
        for t in range(8):
            assert previous[b, t] == numbers[b, t - 1]  # t = 0 looks at the last token
            (other,) = [s for s in range(8) if s != t and colours[b, s] == colours[b, t]]
            assert partner[b, t] == numbers[b, other]
    again = tasks.previous_and_partner_batch(5, 4, 3, torch.Generator().manual_seed(0))
    assert all(torch.equal(x, y) for x, y in zip((tokens, previous, partner), again))


def test_previous_and_partner_needs_two_colours():
    with pytest.raises(ValueError, match="at least 2 colours"):
        tasks.previous_and_partner_batch(2, 1, 3, torch.Generator())


def test_k_back_targets_look_k_positions_left_or_right():
    tokens, targets = tasks.k_back_batch(4, 9, 2, 5, torch.Generator().manual_seed(0))
    assert tokens.shape == targets.shape == (4, 9) and tokens.dtype == targets.dtype == torch.int64
    assert (targets[:, :2] == tasks.IGNORE_INDEX).all()
    assert torch.equal(targets[:, 2:], tokens[:, :7])
    # k >= 0 draws the same batch as delayed_recall_batch from the same generator state
    again = tasks.delayed_recall_batch(4, 9, 2, 5, torch.Generator().manual_seed(0))
    assert torch.equal(tokens, again[0]) and torch.equal(targets, again[1])
    tokens, targets = tasks.k_back_batch(3, 6, -1, 4, torch.Generator().manual_seed(1))
    assert torch.equal(targets[:, :5], tokens[:, 1:]) and (targets[:, 5] == tasks.IGNORE_INDEX).all()
    tokens, targets = tasks.k_back_batch(2, 5, 0, 4, torch.Generator().manual_seed(2))
    assert torch.equal(targets, tokens)


def test_k_back_offset_must_fit_in_the_sequence():
    for k in (5, -5):
        with pytest.raises(ValueError, match="k must be in"):
            tasks.k_back_batch(2, 5, k, 3, torch.Generator())
