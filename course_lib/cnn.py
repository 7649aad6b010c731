"""Convolutions over sequences and how far they see (lesson 01).

A stack of L convolutions of kernel size k sees 1 + L(k - 1) positions; with dilations
1, b, b^2, ... it sees 1 + (k - 1)(1 + b + ... + b^(L-1)). Self-attention connects any two
positions in one layer.
"""
from __future__ import annotations

import torch
from torch import nn


def _check_sizes(kernel_size: int, dilation_base: int) -> None:
    if kernel_size < 2:
        raise ValueError(f"kernel_size must be at least 2 to widen the view; got {kernel_size}")
    if dilation_base < 1:
        raise ValueError(f"dilation_base must be 1 (plain) or more (dilated); got {dilation_base}")


def receptive_field(kernel_size: int, num_layers: int, dilation_base: int = 1) -> int:
    """Number of input positions one output of the stack depends on.

    Layer i (counting from 0) has dilation ``dilation_base ** i``; ``dilation_base=1`` is a plain stack.
    """
    _check_sizes(kernel_size, dilation_base)
    return 1 + (kernel_size - 1) * sum(dilation_base**i for i in range(num_layers))


def layers_to_connect(distance: int, kernel_size: int, dilation_base: int = 1) -> int:
    """Fewest layers so that an output depends on two inputs ``distance`` positions apart."""
    _check_sizes(kernel_size, dilation_base)
    layers = 0
    while receptive_field(kernel_size, layers, dilation_base) < distance + 1:
        layers += 1
    return layers


def conv_stack(kernel_size: int, num_layers: int, dilation_base: int = 1, channels: int = 4) -> nn.Sequential:
    """A stack of 1-d convolutions with the dilation schedule of ``receptive_field``."""
    _check_sizes(kernel_size, dilation_base)
    layers: list[nn.Module] = []
    for i in range(num_layers):
        dilation = dilation_base**i
        layers += [nn.Conv1d(channels, channels, kernel_size, dilation=dilation,
                             padding=dilation * (kernel_size - 1) // 2, padding_mode="zeros"),
                   nn.Tanh()]
    return nn.Sequential(*layers)


def measured_receptive_field(stack: nn.Sequential, length: int, channels: int = 4) -> int:
    """Count the input positions whose gradient reaches the middle output of ``stack``."""
    x = torch.randn(1, channels, length, requires_grad=True)
    y = stack(x)
    y[0, :, y.shape[-1] // 2].sum().backward()
    return int((x.grad.abs().sum(dim=1) > 0).sum())
