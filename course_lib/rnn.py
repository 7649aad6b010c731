"""Recurrent networks, the baseline attention replaced (lesson 01).

A vanilla RNN reads a sequence one step at a time, h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),
so its T steps cannot run in parallel, and a gradient from step T back to step t passes
through T - t Jacobians, which tends to shrink it.
"""
from __future__ import annotations

import torch
from torch import nn


def _check_rnn_inputs(x: torch.Tensor, W_ih: torch.Tensor, W_hh: torch.Tensor) -> None:
    if x.dim() != 3:
        raise ValueError(f"x should have shape (batch, time, input_size); yours has {x.dim()} dims {tuple(x.shape)}")
    if W_ih.shape[1] != x.shape[2]:
        raise ValueError(f"W_ih has shape {tuple(W_ih.shape)} but x has input_size {x.shape[2]}; "
                         "W_ih must be (hidden_size, input_size)")
    if W_hh.shape != (W_ih.shape[0], W_ih.shape[0]):
        raise ValueError(f"W_hh should be ({W_ih.shape[0]}, {W_ih.shape[0]}); yours is {tuple(W_hh.shape)}")


def rnn_forward(
    x: torch.Tensor,
    W_ih: torch.Tensor,
    W_hh: torch.Tensor,
    b_ih: torch.Tensor,
    b_hh: torch.Tensor,
    h0: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run a one-layer tanh RNN over ``x`` (batch, time, input_size), one step at a time.

    Returns all hidden states (batch, time, hidden_size) and the last one (batch, hidden_size),
    with the parameter layout of ``torch.nn.RNN(batch_first=True)``.
    """
    _check_rnn_inputs(x, W_ih, W_hh)
    batch, steps, _ = x.shape
    h = x.new_zeros(batch, W_hh.shape[0]) if h0 is None else h0
    states = []
    for t in range(steps):
        h = torch.tanh(x[:, t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
        states.append(h)
    return torch.stack(states, dim=1), h


def input_gradient_norms(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """How strongly the last output depends on each input step.

    Runs ``model`` (batch_first, returning ``(outputs, state)`` like nn.RNN or nn.LSTM) on ``x``,
    backpropagates the sum of the outputs at the last time step, and returns for each time
    step t the L2 norm over features of d(sum y_T)/d x_t, averaged over the batch: shape (time,).
    """
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = model(x)
    (grad,) = torch.autograd.grad(outputs[:, -1].sum(), x)
    return grad.norm(dim=2).mean(dim=0)


class SequenceTagger(nn.Module):
    """Embedding, a recurrent layer (``"rnn"`` or ``"lstm"``), and a per-step classifier."""

    def __init__(self, vocab_size: int, hidden_size: int, cell: str = "rnn"):
        super().__init__()
        layers = {"rnn": nn.RNN, "lstm": nn.LSTM}
        if cell not in layers:
            raise ValueError(f"cell must be 'rnn' or 'lstm'; got {cell!r}")
        self.embed = nn.Embedding(vocab_size, hidden_size)
        self.recurrent = layers[cell](hidden_size, hidden_size, batch_first=True)
        self.classify = nn.Linear(hidden_size, vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Logits (batch, time, vocab_size) for each step of ``tokens`` (batch, time)."""
        states, _ = self.recurrent(self.embed(tokens))
        return self.classify(states)
