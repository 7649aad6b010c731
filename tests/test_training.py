"""course_lib.training: the loop used by every lesson that trains."""
import time

import pytest
import torch

from course_lib import training


def _regression():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    return model, (x, y), lambda m, batch: torch.nn.functional.mse_loss(m(batch[0]), batch[1])


def test_train_lowers_the_loss_and_records_every_step():
    model, batch, loss_fn = _regression()
    history = training.train(model, lambda step: batch, loss_fn, steps=200, lr=0.05)
    assert history.steps == list(range(200))
    assert history.losses[-1] < 0.01 * history.losses[0]
    assert not model.training


def test_train_trains_in_train_mode_and_leaves_the_model_in_eval_mode():
    model, batch, loss_fn = _regression()
    modes = []

    def recording_loss(m, b):
        modes.append(m.training)
        return loss_fn(m, b)

    training.train(model.eval(), lambda step: batch, recording_loss, steps=3, plot=False)
    assert modes == [True] * 3 and not model.training


def test_history_smoothed_is_the_running_mean_over_the_window():
    history = training.History(steps=[0, 1, 2, 3], losses=[4.0, 2.0, 6.0, 0.0])
    assert history.smoothed(window=2) == [4.0, 3.0, 4.0, 3.0]
    assert history.smoothed(window=10) == [4.0, 3.0, 4.0, 3.0]


def test_train_stops_when_its_wall_time_is_spent():
    model, batch, loss_fn = _regression()

    def slow_loss(m, b):
        time.sleep(0.02)
        return loss_fn(m, b)

    history = training.train(model, lambda step: batch, slow_loss, steps=10_000, seconds=0.2)
    assert 1 <= len(history.steps) < 100
    assert 0.2 <= history.seconds < 2.0


def test_train_refuses_zero_steps():
    model, batch, loss_fn = _regression()
    with pytest.raises(ValueError, match="steps must be at least 1"):
        training.train(model, lambda step: batch, loss_fn, steps=0)


def test_budget_shrinks_under_grading(monkeypatch):
    monkeypatch.delenv("COURSE_FAST", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert training.budget(full=100, fast=3) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert training.budget(full=100, fast=3) == 3


def test_inference_turns_off_dropout_and_gradients_and_restores_the_mode():
    model = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Dropout(0.5)).train()
    with training.inference(model):
        assert not model.training and not torch.is_grad_enabled()
        out = model(torch.ones(1, 3))
    assert model.training and torch.is_grad_enabled() and out.grad_fn is None
    with pytest.raises(RuntimeError), training.inference(model):
        raise RuntimeError("a failing decoder")
    assert model.training


def test_progress_bar_is_closed_when_an_exercise_raises(monkeypatch):
    bars = []

    class RecordingBar:
        def __init__(self, iterable, **kwargs):
            self.iterable, self.closed = iterable, False
            bars.append(self)

        def __iter__(self):
            return iter(self.iterable)

        def set_postfix(self, **kwargs):
            pass

        def close(self):
            self.closed = True

    def unfinished(model, batch):
        raise NotImplementedError()

    monkeypatch.setattr(training, "tqdm", RecordingBar)
    model, batch, _ = _regression()
    with pytest.raises(NotImplementedError):
        training.train(model, lambda step: batch, unfinished, steps=5)
    assert bars and bars[0].closed, "the progress bar must be closed when training stops with an error"
