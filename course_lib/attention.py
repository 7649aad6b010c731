"""Attention: scaled dot-product attention, masks and additive (Bahdanau) attention.

Reference implementations for lesson 02_attention. Shapes follow the lesson:

- ``query``: ``(..., Lq, d_k)``, one row per position that asks.
- ``key``:   ``(..., Lk, d_k)``, one row per position that can be attended to.
- ``value``: ``(..., Lk, d_v)``, what each of those positions hands back.
- ``mask``:  bool, broadcastable to ``(..., Lq, Lk)``; ``True`` means "this query may
  attend to this key", the same polarity as the boolean ``attn_mask`` of
  ``torch.nn.functional.scaled_dot_product_attention``.

Masked positions are ignored completely: a query's output and weights do not depend on
the keys or values it may not attend to, bit for bit, even when those hold inf or NaN
(padding garbage). ``torch.nn.functional.scaled_dot_product_attention`` does not promise
this for values: there a masked weight is 0, and 0 * NaN is NaN.

The leading ``...`` dims (batch, heads) may differ in size as long as they broadcast.
"""

from __future__ import annotations

import math
from itertools import zip_longest
from typing import Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "AdditiveAttention",
    "attention_scores",
    "dot_product_variance",
    "masked_softmax",
    "masked_weighted_sum",
    "scaled_dot_product_attention",
]


def _broadcast(*shapes: Sequence[int]) -> tuple[int, ...] | None:
    """The broadcast shape, or None if the shapes do not broadcast (cheaper than torch.broadcast_shapes)."""
    result: list[int] = []
    for sizes in zip_longest(*(reversed(tuple(s)) for s in shapes), fillvalue=1):
        wide = {size for size in sizes if size != 1}
        if len(wide) > 1:
            return None
        result.append(wide.pop() if wide else 1)
    return tuple(reversed(result))


def _check_tensor(name: str, tensor: object) -> None:
    """Raise TypeError unless ``tensor`` is a floating-point tensor with at least 2 dims."""
    if not isinstance(tensor, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(tensor).__name__}; "
            f"convert it with torch.tensor(...) or torch.as_tensor(...)."
        )
    if not tensor.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {tensor.dtype}; "
            f"convert it with {name}.float()."
        )
    if tensor.dim() < 2:
        raise ValueError(
            f"{name} must have shape (..., length, features), got shape {tuple(tensor.shape)}; "
            f"add a length axis with {name}.unsqueeze(0)."
        )


def _check_inputs(query: Tensor, key: Tensor, value: Tensor | None = None) -> None:
    """Raise a helpful error unless query, key (and value) can be attended over together."""
    named = {"query": query, "key": key}
    if value is not None:
        named["value"] = value
    for name, tensor in named.items():
        _check_tensor(name, tensor)
    if len({tensor.dtype for tensor in named.values()}) > 1:
        dtypes = ", ".join(f"{name} {tensor.dtype}" for name, tensor in named.items())
        *first, last = named
        names = f"{', '.join(first)} and {last}"
        raise TypeError(
            f"{names} must share one dtype, got {dtypes}; "
            f"convert them with .to(query.dtype)."
        )
    if value is not None and key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"key and value must have the same length Lk (one value per key), got "
            f"key {tuple(key.shape)} with Lk={key.shape[-2]} and value {tuple(value.shape)} "
            f"with Lk={value.shape[-2]}."
        )
    if _broadcast(*(tensor.shape[:-2] for tensor in named.values())) is None:
        shapes = ", ".join(f"{name} {tuple(tensor.shape)}" for name, tensor in named.items())
        raise ValueError(
            f"the leading (batch/head) dims of {shapes} do not broadcast; "
            f"everything but the last two dims must be equal or 1."
        ) from None


def _check_mask(mask: Tensor, scores_shape: torch.Size) -> None:
    """Raise a helpful error unless ``mask`` is bool and broadcasts to ``scores_shape``."""
    if not isinstance(mask, Tensor):
        raise TypeError(
            f"mask must be a bool torch.Tensor, got {type(mask).__name__}; "
            f"build it with torch.tensor(..., dtype=torch.bool)."
        )
    if mask.dtype is not torch.bool:
        raise TypeError(
            f"mask must have dtype torch.bool, got {mask.dtype}; True means 'this query "
            f"may attend to this key'. Convert a 0/1 mask with mask.bool() (1 = attend) "
            f"and an additive 0/-inf mask with mask == 0."
        )
    lq, lk = scores_shape[-2], scores_shape[-1]
    if _broadcast(mask.shape, scores_shape) != tuple(scores_shape):
        raise ValueError(
            f"mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape "
            f"{tuple(scores_shape)} = (..., Lq={lq}, Lk={lk}); its last two dims must be "
            f"(Lq, Lk), (1, Lk) or (Lq, 1), and it may not add leading dims."
        )


def masked_softmax(scores: Tensor, mask: Tensor | None = None) -> Tensor:
    """Softmax over the key axis (the last one), ignoring keys where ``mask`` is False.

    ``scores`` has shape ``(..., Lq, Lk)``; ``mask`` is bool and broadcasts to it,
    True meaning "may attend". A row whose keys are all masked gets all-zero weights
    (not NaN), so a query with nothing to look at contributes a zero vector, and
    gradients stay finite.
    """
    if mask is None:
        return torch.softmax(scores, dim=-1)
    _check_mask(mask, scores.shape)
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    # A row with every key masked is 0/0 = NaN after softmax; refilling the masked
    # entries with 0 clears it (and blocks the NaN from the backward pass too).
    return weights.masked_fill(~mask, 0.0)


def masked_weighted_sum(weights: Tensor, value: Tensor, mask: Tensor | None = None) -> Tensor:
    """``weights @ value`` in which a key masked for a query adds exactly nothing to its row.

    ``weights`` ``(..., Lq, Lk)`` come from :func:`masked_softmax` (0 where ``mask`` is
    False), ``value`` is ``(..., Lk, d_v)`` and ``mask`` a bool tensor broadcastable to
    ``weights`` (True = may attend); returns ``(..., Lq, d_v)``. A masked weight is 0,
    but ``0 * inf`` and ``0 * NaN`` are NaN, so the plain product would let an inf or
    NaN value at a masked position poison the output. Here it cannot: when every value
    is finite the result is ``weights @ value`` exactly (a masked finite value adds an
    exact 0); otherwise the finite values go through the same product and each
    non-finite one is added back only to the rows of the queries that may attend to it
    (costing a ``(..., Lq, Lk, d_v)`` temporary, only then). Shapes are not checked
    here; :func:`scaled_dot_product_attention` does.
    """
    if mask is None:
        return weights @ value
    finite = torch.isfinite(value)
    if bool(finite.all()):
        return weights @ value
    output = weights @ torch.where(finite, value, 0.0)
    non_finite = torch.where(finite, 0.0, value)  # the inf and NaN entries, 0 elsewhere
    products = weights.unsqueeze(-1) * non_finite.unsqueeze(-3)  # (..., Lq, Lk, d_v)
    return output + torch.where(mask.unsqueeze(-1), products, 0.0).sum(dim=-2)


def attention_scores(query: Tensor, key: Tensor) -> Tensor:
    """Scaled dot-product logits ``query @ key^T / sqrt(d_k)``, shape ``(..., Lq, Lk)``."""
    _check_inputs(query, key)
    d_k = query.shape[-1]
    if key.shape[-1] != d_k:
        raise ValueError(
            f"query and key must share the feature size d_k (they are compared by a dot "
            f"product), got query {tuple(query.shape)} with d_k={d_k} and key "
            f"{tuple(key.shape)} with d_k={key.shape[-1]}; project them to the same size first."
        )
    return query @ key.transpose(-2, -1) / math.sqrt(d_k)


def dot_product_variance(d_k: int, num_samples: int = 10_000, generator: torch.Generator | None = None) -> float:
    """Sample variance of ``q·k`` over ``num_samples`` pairs of independent N(0, 1) vectors of size ``d_k``.

    Draws from ``generator`` the queries, then the keys, each one ``(num_samples, d_k)`` float64
    tensor, takes the dot product of each query with its own key, and returns the sample variance
    (with Bessel's correction, ``Tensor.var``) as a Python float. The footnote of Vaswani et al.
    (2017, section 3.2.1) predicts ``d_k``.
    """
    query = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    key = torch.randn(num_samples, d_k, generator=generator, dtype=torch.float64)
    return (query * key).sum(dim=-1).var().item()


def scaled_dot_product_attention(
    query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
) -> tuple[Tensor, Tensor]:
    """Attention(Q, K, V) = softmax(Q K^T / sqrt(d_k)) V, as in Vaswani et al. (2017).

    Returns ``(output, weights)``: ``output`` has shape ``(..., Lq, d_v)`` and
    ``weights`` ``(..., Lq, Lk)``, each row summing to 1 over the keys. With a bool
    ``mask`` (True = may attend; shapes as in the module docstring, e.g. ``(Lq, Lk)``,
    ``(batch, 1, Lk)``, ``(batch, Lq, Lk)`` or ``(batch, heads, Lq, Lk)``), masked keys get
    weight 0 and a query's output and weights do not depend on its masked keys and
    values at all, inf and NaN included; a query whose keys are all masked gets
    all-zero weights and a zero output row. When every value is finite the output is
    exactly ``weights @ value``, as in torch's function.

    Raises TypeError or ValueError (saying how to fix the call) for non-tensors,
    non-float or mismatched dtypes, sizes that do not fit, and a mask that is not
    bool or does not broadcast to ``(..., Lq, Lk)``.
    """
    _check_inputs(query, key, value)
    scores = attention_scores(query, key)
    weights = masked_softmax(scores, mask)
    return masked_weighted_sum(weights, value, mask), weights


class AdditiveAttention(nn.Module):
    """Additive (Bahdanau) attention: score(q, k) = v^T tanh(W_q q + W_k k).

    A one-hidden-layer network scores every (query, key) pair, so queries and keys may
    have different sizes. Called like :func:`scaled_dot_product_attention`:
    ``(query, key, value, mask=None) -> (output, weights)``, with the same masking rule
    and the same guarantee: a query's output and weights do not depend on the keys and
    values it may not attend to, inf and NaN included.
    """

    def __init__(self, query_size: int, key_size: int, hidden_size: int) -> None:
        super().__init__()
        self.W_q = nn.Linear(query_size, hidden_size, bias=False)
        self.W_k = nn.Linear(key_size, hidden_size, bias=False)
        self.v = nn.Linear(hidden_size, 1, bias=False)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        _check_inputs(query, key, value)
        for name, tensor, size in (
            ("query", query, self.W_q.in_features),
            ("key", key, self.W_k.in_features),
        ):
            if tensor.shape[-1] != size:
                raise ValueError(
                    f"{name} must have {size} features (this module's {name}_size), got "
                    f"shape {tuple(tensor.shape)}."
                )
        # (..., Lq, 1, h) + (..., 1, Lk, h) -> (..., Lq, Lk, h): every query meets every key.
        hidden = torch.tanh(self.W_q(query).unsqueeze(-2) + self.W_k(key).unsqueeze(-3))
        scores = self.v(hidden).squeeze(-1)
        weights = masked_softmax(scores, mask)
        return masked_weighted_sum(weights, value, mask), weights
