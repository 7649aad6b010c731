"""Training loops, budgets, progress bars and live loss plots used by every lesson that trains.

Device rule, for the whole library: a function that creates tensors for a model (or passes it
tensors it was given) puts them on ``model_device(model)``, the device of the model's parameters,
so a model moved to the GPU (``model.to(device())``) is run there by the decoders, ``translate`` and
``translation_loss`` with no other change.
"""
from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import matplotlib.pyplot as plt
import torch
from tqdm.auto import tqdm


def fast_mode() -> bool:
    """True while nbgrader grades or validates, or when COURSE_FAST=1 asks for a quick run."""
    return bool(os.environ.get("NBGRADER_EXECUTION")) or os.environ.get("COURSE_FAST") == "1"


def budget(full: int, fast: int) -> int:
    """The full budget normally, the small one in fast mode (grading, tests)."""
    return fast if fast_mode() else full


def device() -> torch.device:
    """The GPU when there is one, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: object) -> torch.device:
    """The device of ``model``'s first parameter, else of its first buffer, else the CPU.

    ``model`` may be any object: one that is not a ``torch.nn.Module``, or a module without
    parameters or buffers (a stand-in model), gets the CPU.
    """
    if isinstance(model, torch.nn.Module):
        first = next(itertools.chain(model.parameters(), model.buffers()), None)
        if first is not None:
            return first.device
    return torch.device("cpu")


@contextlib.contextmanager
def inference(model: object) -> Iterator[None]:
    """No gradients and eval mode (no dropout) inside; the model's previous mode is restored after."""
    was_training = model.training if isinstance(model, torch.nn.Module) else None
    try:
        with torch.no_grad():
            if was_training is not None:
                model.eval()
            yield
    finally:
        if was_training is not None:
            model.train(was_training)


@dataclass
class History:
    """Losses (and optional metrics) recorded during training."""

    steps: list[int] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    def smoothed(self, window: int = 20) -> list[float]:
        """Running mean of the loss over the last ``window`` steps."""
        out, total = [], 0.0
        for i, loss in enumerate(self.losses):
            total += loss
            if i >= window:
                total -= self.losses[i - window]
            out.append(total / min(i + 1, window))
        return out


class LiveLossPlot:
    """A loss curve redrawn in place every few steps (and once at the end)."""

    def __init__(self, title: str, every: int = 50):
        from IPython.display import display

        self.every = every
        self.fig, self.ax = plt.subplots(figsize=(6, 3))
        self.ax.set_title(title)
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("loss")
        self.handle = display(self.fig, display_id=True)
        plt.close(self.fig)

    def update(self, history: History, force: bool = False) -> None:
        if not force and (len(history.steps) % self.every):
            return
        self.ax.clear()
        self.ax.plot(history.steps, history.losses, alpha=0.3, label="loss")
        self.ax.plot(history.steps, history.smoothed(), label="running mean")
        self.ax.set_xlabel("step")
        self.ax.set_ylabel("loss")
        self.ax.legend(loc="upper right")
        self.handle.update(self.fig)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"


def train(
    model: torch.nn.Module,
    batches: Iterable | Callable[[int], object],
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    steps: int,
    lr: float = 1e-3,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    title: str = "training",
    plot: bool = True,
    clip: float | None = 1.0,
    seconds: float | None = None,
) -> History:
    """Train ``model`` for ``steps`` steps with a progress bar and a live loss plot.

    ``batches`` is either an iterable of batches or a function ``step -> batch``;
    ``loss_fn(model, batch)`` returns the scalar loss to minimise. With ``seconds``, training
    also stops once that much wall time has passed (to compare models at equal cost). The model
    trains in train mode (dropout on) and is left in eval mode. Batches are passed to ``loss_fn``
    as they are: moving them to the model's device is ``loss_fn``'s job (``translation_loss`` does).
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1; got {steps}")
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    source: Iterator | None = None if callable(batches) else iter(batches)
    history = History()
    live = LiveLossPlot(title) if plot and _in_notebook() else None
    model.train()
    start = time.perf_counter()
    bar = tqdm(range(steps), desc=title, leave=False, disable=not _in_notebook())
    try:  # the bar goes away however training ends, an exercise's error included
        for step in bar:
            batch = batches(step) if source is None else next(source)
            loss = loss_fn(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            history.steps.append(step)
            history.losses.append(loss.item())
            bar.set_postfix(loss=f"{loss.item():.3f}", refresh=False)
            if live:
                live.update(history)
            if seconds is not None and time.perf_counter() - start >= seconds:
                break
    finally:
        bar.close()
    history.seconds = time.perf_counter() - start
    if live:
        live.update(history, force=True)
    model.eval()
    return history
