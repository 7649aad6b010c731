"""Positional encodings (lesson 04_positional).

Self-attention sees its input as a set: permute the tokens and the outputs come back permuted the
same way, so without help a Transformer cannot tell "dog bites man" from "man bites dog". A
positional encoding gives every position its own vector, of the same size ``d_model`` as the token
embeddings, and adds it to them once, at the input; the residual connections carry it up the stack.

- ``permutation_equivariance_gap`` measures how far a layer is from treating its input as a set.
- ``sinusoidal_encoding`` is the fixed table of Vaswani et al. (2017), section 3.5:
  PE(pos, 2i) = sin(pos / 10000^(2i / d_model)) and PE(pos, 2i + 1) = cos(pos / 10000^(2i / d_model)).
- ``offset_map`` is the fixed linear map M_k with PE(pos + k) = M_k @ PE(pos) for every pos: one
  2x2 rotation per sine/cosine pair, the reason relative offsets are easy to read from the table.
- ``SinusoidalPositionalEncoding`` (fixed, original Transformer) and ``LearnedPositionalEmbedding``
  (trained, as in BERT) add positions to embeddings of shape (batch, seq, d_model).
- ``linear_probe_accuracy`` and ``position_probe_accuracy`` read position back out of hidden states
  with a linear probe, to see how far up a stack the positions added at the input survive.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int

__all__ = [
    "permutation_equivariance_gap",
    "sinusoidal_encoding",
    "offset_map",
    "SinusoidalPositionalEncoding",
    "LearnedPositionalEmbedding",
    "linear_probe_accuracy",
    "position_probe_accuracy",
]

BASE = 10000.0
"""The 10000 in the sinusoid's wavelengths: they grow geometrically from 2*pi to about BASE * 2*pi."""


def _check_even_d_model(d_model: object) -> None:
    """Sines and cosines come in pairs, so a sinusoidal encoding needs an even ``d_model``."""
    check_int("d_model", d_model, "the size of each position's vector")
    if d_model % 2:
        instead = f"{d_model - 1} or {d_model + 1}" if d_model > 1 else "2"
        raise ValueError(
            f"d_model must be even for a sinusoidal encoding (one sine and one cosine per "
            f"frequency); got {d_model}. Pass {instead} instead."
        )


def _angular_frequencies(d_model: int) -> Tensor:
    """omega_i = 1 / BASE^(2i / d_model) for i = 0 .. d_model/2 - 1, in float64, shape (d_model // 2,)."""
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    return BASE ** (-two_i / d_model)


def permutation_equivariance_gap(
    layer: Callable[[Tensor], Tensor], inputs: Tensor, permutation: Tensor
) -> float:
    """How far ``layer`` is from permutation equivariance on ``inputs``.

    ``layer`` maps (batch, seq, d_model) to (batch, seq, d_model), e.g.
    ``lambda x: attention(x, x, x)[0]`` for self-attention. ``permutation`` (seq,) reorders the
    sequence axis. Returns max |layer(inputs[:, permutation]) - layer(inputs)[:, permutation]|,
    which is zero up to rounding for a layer that treats its input as a set.
    """
    if inputs.dim() != 3:
        raise ValueError(f"inputs must be (batch, seq, d_model); got shape {tuple(inputs.shape)}.")
    seq = inputs.shape[1]
    if permutation.dtype != torch.long or not torch.equal(
        permutation.sort().values, torch.arange(seq, device=permutation.device)
    ):
        raise ValueError(
            f"permutation must be a long tensor holding each of 0..{seq - 1} once (the sequence "
            f"length is {seq}), e.g. torch.randperm({seq}); got {permutation}."
        )
    with torch.no_grad():
        permuted_then_layer = layer(inputs[:, permutation])
        layer_then_permuted = layer(inputs)[:, permutation]
    return (permuted_then_layer - layer_then_permuted).abs().max().item()


def sinusoidal_encoding(num_positions: int, d_model: int) -> Tensor:
    """The sinusoidal position table of Vaswani et al. (2017), float32, shape (num_positions, d_model).

    Row ``pos`` encodes position ``pos``: column 2i holds sin(pos * omega_i) and column 2i + 1
    holds cos(pos * omega_i), with omega_i = 1 / 10000^(2i / d_model). Pair i is a point going
    round the unit circle with wavelength 2*pi / omega_i, from 2*pi positions (i = 0) up to
    nearly 10000 * 2*pi positions (the last pair).
    """
    check_int("num_positions", num_positions, "how many positions to encode, e.g. the sequence length")
    _check_even_d_model(d_model)
    positions = torch.arange(num_positions, dtype=torch.float64)[:, None]
    angles = positions * _angular_frequencies(d_model)  # (num_positions, d_model // 2)
    # stack then flatten interleaves: sin(angle_0), cos(angle_0), sin(angle_1), cos(angle_1), ...
    return torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(1).float()


def offset_map(offset: int, d_model: int) -> Tensor:
    """The fixed linear map M_k, float32 (d_model, d_model), with PE(pos + k) = M_k @ PE(pos) for all pos.

    k = ``offset`` (negative offsets move back). By the angle-addition formulas each (sin, cos) pair
    is rotated by the angle k * omega_i, so M_k is block-diagonal with 2x2 blocks
    [[cos(k omega_i), sin(k omega_i)], [-sin(k omega_i), cos(k omega_i)]] and depends on k alone.
    """
    _check_even_d_model(d_model)
    angles = offset * _angular_frequencies(d_model)
    cos, sin = angles.cos(), angles.sin()
    sin_rows = torch.arange(0, d_model, 2)
    cos_rows = sin_rows + 1
    rotation = torch.zeros(d_model, d_model, dtype=torch.float64)
    rotation[sin_rows, sin_rows] = cos
    rotation[sin_rows, cos_rows] = sin
    rotation[cos_rows, sin_rows] = -sin
    rotation[cos_rows, cos_rows] = cos
    return rotation.float()


def _check_embeddings(module: nn.Module, embeddings: Tensor, too_long_advice: str) -> None:
    """Raise an error a learner can act on when ``embeddings`` do not fit ``module``."""
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"embeddings must be a torch.Tensor; got {type(embeddings).__name__}.")
    if embeddings.dim() != 3 or not embeddings.is_floating_point():
        hint = (
            " These look like token ids: embed them first (nn.Embedding) and add positions to the embeddings."
            if not embeddings.is_floating_point()
            else ""
        )
        raise ValueError(
            f"embeddings must be a float tensor (batch, seq, d_model); got {embeddings.dtype} of "
            f"shape {tuple(embeddings.shape)}.{hint}"
        )
    batch, seq, d_model = embeddings.shape
    if d_model != module.d_model:
        raise ValueError(
            f"embeddings have d_model={d_model} features in their last dimension but this "
            f"{type(module).__name__} was built with d_model={module.d_model}; positions are added "
            f"to embeddings, so both must have the same size."
        )
    if seq > module.max_positions:
        raise ValueError(
            f"the sequence has {seq} positions but this {type(module).__name__} supports at most "
            f"max_positions={module.max_positions}. {too_long_advice}"
        )


class SinusoidalPositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal encoding to embeddings (batch, seq, d_model); nothing is learned.

    The table for ``max_positions`` positions is computed once and kept as a buffer (it moves with
    ``.to(device)`` but is no parameter and is not saved in the state dict). The original
    Transformer scales its token embeddings by sqrt(d_model) before adding positions; that scaling
    belongs to the embedding layer, not here.
    """

    def __init__(self, max_positions: int, d_model: int) -> None:
        super().__init__()
        check_int("max_positions", max_positions, "the longest sequence the model will see")
        _check_even_d_model(d_model)
        self.max_positions = max_positions
        self.d_model = d_model
        self.register_buffer("encoding", sinusoidal_encoding(max_positions, d_model), persistent=False)

    def forward(self, embeddings: Tensor) -> Tensor:
        """Return embeddings + PE[:seq], same shape and dtype as ``embeddings``."""
        _check_embeddings(
            self,
            embeddings,
            "The sinusoids are defined for any position: build the module with a larger max_positions.",
        )
        seq = embeddings.shape[1]
        return embeddings + self.encoding[:seq].to(embeddings.dtype)


class LearnedPositionalEmbedding(nn.Module):
    """Adds a trained vector per position, as BERT does, to embeddings (batch, seq, d_model).

    The vectors are the rows of ``position_embeddings``, an ``nn.Embedding(max_positions, d_model)``
    initialised like BERT's, from N(0, init_std^2) with init_std = 0.02. Positions beyond
    ``max_positions`` have no vector at all (BERT-base stops at 512), and rows for positions never
    seen in training stay at their random initial values.
    """

    def __init__(self, max_positions: int, d_model: int, init_std: float = 0.02) -> None:
        super().__init__()
        check_int("max_positions", max_positions, "the longest sequence the model will see")
        check_int("d_model", d_model, "the size of each position's vector")
        self.max_positions = max_positions
        self.d_model = d_model
        self.position_embeddings = nn.Embedding(max_positions, d_model)
        nn.init.normal_(self.position_embeddings.weight, std=init_std)

    def forward(self, embeddings: Tensor) -> Tensor:
        """Return embeddings + position_embeddings(0, 1, ..., seq - 1), same shape as ``embeddings``."""
        _check_embeddings(
            self,
            embeddings,
            "There is no learned vector for later positions: truncate the input, or build the "
            "module with a larger max_positions and train the new positions.",
        )
        positions = torch.arange(embeddings.shape[1], device=embeddings.device)
        return embeddings + self.position_embeddings(positions)


def linear_probe_accuracy(
    train_features: Tensor,
    train_labels: Tensor,
    test_features: Tensor,
    test_labels: Tensor,
    ridge: float = 1e-3,
) -> float:
    """Fit a linear probe on (features, labels) pairs and return its accuracy on the test pairs.

    Features are (n, d) and labels (n,) class ids. The probe is the linear map (with a bias) that
    best predicts the one-hot labels in least squares, with a small ridge penalty; it predicts the
    class with the highest score. Features are standardised with the training mean and spread
    first, so the accuracy does not depend on the scale of the hidden states.
    """
    if train_features.dim() != 2 or test_features.dim() != 2:
        raise ValueError(
            f"features must be (n, d); got {tuple(train_features.shape)} and "
            f"{tuple(test_features.shape)}. Flatten hidden states with .reshape(-1, d_model)."
        )
    if train_labels.shape != train_features.shape[:1] or test_labels.shape != test_features.shape[:1]:
        raise ValueError("labels must be (n,), one class id per row of the features.")
    train_x = train_features.detach().to(torch.float64)
    test_x = test_features.detach().to(torch.float64)
    mean, spread = train_x.mean(0), train_x.std(0) + 1e-8
    train_x, test_x = (train_x - mean) / spread, (test_x - mean) / spread
    train_x = torch.cat((train_x, torch.ones(len(train_x), 1, dtype=torch.float64)), dim=1)
    test_x = torch.cat((test_x, torch.ones(len(test_x), 1, dtype=torch.float64)), dim=1)
    num_classes = int(max(train_labels.max(), test_labels.max())) + 1
    targets = nn.functional.one_hot(train_labels.long(), num_classes).to(torch.float64)
    gram = train_x.T @ train_x + ridge * len(train_x) * torch.eye(train_x.shape[1], dtype=torch.float64)
    weights = torch.linalg.solve(gram, train_x.T @ targets)  # (d + 1, num_classes)
    predictions = (test_x @ weights).argmax(dim=1)
    return (predictions == test_labels.long()).double().mean().item()


def position_probe_accuracy(hidden_states: Tensor, train_fraction: float = 0.5) -> float:
    """How well a linear probe reads each token's position out of hidden states (batch, seq, d).

    The probe is fitted on the first ``train_fraction`` of the sequences and scored on the rest,
    so it must generalise to sequences it has not seen; chance level is 1 / seq.
    """
    if hidden_states.dim() != 3:
        raise ValueError(
            f"hidden_states must be (batch, seq, d); got shape {tuple(hidden_states.shape)}."
        )
    batch, seq, d = hidden_states.shape
    num_train = round(batch * train_fraction)
    if not 0 < num_train < batch:
        raise ValueError(
            f"train_fraction={train_fraction} of {batch} sequences leaves no sequence to fit or to "
            f"test on; pass more sequences or a train_fraction strictly between 0 and 1."
        )
    positions = torch.arange(seq, device=hidden_states.device).expand(batch, seq)
    return linear_probe_accuracy(
        hidden_states[:num_train].reshape(-1, d),
        positions[:num_train].reshape(-1),
        hidden_states[num_train:].reshape(-1, d),
        positions[num_train:].reshape(-1),
    )
