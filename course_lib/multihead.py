"""Multi-head attention (lesson 03_multihead).

One attention distribution per query can only focus on one aspect of the input. Multi-head
attention runs ``num_heads`` attentions side by side, each in its own learned subspace of width
``head_dim = d_model // num_heads``:

1. project the queries, keys and values with learned linear maps (``q_proj``, ``k_proj``, ``v_proj``);
2. split each projection into heads and run scaled dot-product attention in every head in parallel;
3. merge (concatenate) the heads' outputs and project them once more (``out_proj``).

Because the heads share the ``d_model`` features between them, the parameter count is that of one
head of full width, and the compute is about the same (Vaswani et al. 2017, section 3.2.2).

Masks follow the course convention, the same as ``torch.nn.functional.scaled_dot_product_attention``:
a bool mask where ``True`` means "this query may attend to this key". ``torch.nn.MultiheadAttention``
uses the opposite polarity for its bool ``attn_mask`` and ``key_padding_mask`` (``True`` means
"blocked"); ``to_torch_attn_mask`` and ``to_torch_key_padding_mask`` translate between the two.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from course_lib.attention import scaled_dot_product_attention

__all__ = [
    "split_heads",
    "merge_heads",
    "MultiHeadAttention",
    "copy_from_torch",
    "to_torch_attn_mask",
    "to_torch_key_padding_mask",
]


def _check_divisible(d_model: int, num_heads: int) -> None:
    """Raise a ValueError that says how to fix a ``d_model`` the heads cannot share evenly."""
    if isinstance(num_heads, bool) or not isinstance(num_heads, int) or num_heads < 1:
        raise ValueError(f"num_heads must be a positive int; got {num_heads!r}.")
    if d_model % num_heads != 0:
        divisors = [h for h in range(1, d_model + 1) if d_model % h == 0]
        raise ValueError(
            f"d_model={d_model} is not divisible by num_heads={num_heads}: every head gets "
            f"d_model // num_heads features, so the split must be even. Choose num_heads among "
            f"the divisors of {d_model} {divisors}, or change d_model to a multiple of {num_heads}."
        )


def split_heads(x: Tensor, num_heads: int) -> Tensor:
    """Split the feature axis into heads.

    (batch, seq, d_model) -> (batch, num_heads, seq, head_dim) with head_dim = d_model // num_heads.
    Head ``i`` gets features ``i * head_dim`` to ``(i + 1) * head_dim - 1`` of every position.
    """
    if x.dim() != 3:
        raise ValueError(f"split_heads expects (batch, seq, d_model); got shape {tuple(x.shape)}.")
    batch, seq, d_model = x.shape
    _check_divisible(d_model, num_heads)
    return x.reshape(batch, seq, num_heads, d_model // num_heads).transpose(1, 2)


def merge_heads(x: Tensor) -> Tensor:
    """Concatenate the heads again, the inverse of ``split_heads``.

    (batch, num_heads, seq, head_dim) -> (batch, seq, num_heads * head_dim).
    """
    if x.dim() != 4:
        raise ValueError(
            f"merge_heads expects (batch, num_heads, seq, head_dim); got shape {tuple(x.shape)}."
        )
    batch, num_heads, seq, head_dim = x.shape
    return x.transpose(1, 2).reshape(batch, seq, num_heads * head_dim)


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate query, key, value and output projections.

    ``forward(query, key, value, mask=None)`` returns ``(output, weights)``:
    output (batch, Lq, d_model) and the per-head attention weights (batch, num_heads, Lq, Lk).
    Self-attention passes the same tensor three times; cross-attention takes the queries from one
    sequence and the keys and values from another (Lq may differ from Lk).
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True) -> None:
        super().__init__()
        _check_divisible(d_model, num_heads)
        self.d_model = d_model
        self.num_heads = num_heads
        self.head_dim = d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(
        self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None = None
    ) -> tuple[Tensor, Tensor]:
        """Attend from ``query`` (batch, Lq, d_model) to ``key``/``value`` (batch, Lk, d_model).

        ``mask`` is bool with True = may attend, shaped (Lq, Lk), (batch, 1, Lq, Lk),
        (batch, num_heads, Lq, Lk) or anything else of 2 or 4 dims that broadcasts to
        (batch, num_heads, Lq, Lk), e.g. a key padding mask (batch, 1, 1, Lk).
        A query row with no allowed key gets zero weights and a zero attention output.
        """
        self._check_inputs(query, key, value, mask)
        q = split_heads(self.q_proj(query), self.num_heads)
        k = split_heads(self.k_proj(key), self.num_heads)
        v = split_heads(self.v_proj(value), self.num_heads)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.out_proj(merge_heads(heads)), weights

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor, mask: Tensor | None) -> None:
        """Raise an error a learner can act on when shapes or dtypes do not fit."""
        dtype = self.q_proj.weight.dtype
        for name, x in (("query", query), ("key", key), ("value", value)):
            if not isinstance(x, Tensor):
                raise TypeError(f"{name} must be a torch.Tensor; got {type(x).__name__}.")
            if x.dim() != 3:
                hint = f" For one sequence use {name}.unsqueeze(0)." if x.dim() == 2 else ""
                raise ValueError(
                    f"{name} must be (batch, seq, d_model); got shape {tuple(x.shape)}.{hint}"
                )
            if x.shape[-1] != self.d_model:
                raise ValueError(
                    f"{name} has {x.shape[-1]} features in its last dimension but this module was "
                    f"built with d_model={self.d_model}."
                )
            if x.dtype != dtype:
                raise TypeError(
                    f"{name} has dtype {x.dtype} but the module's weights are {dtype}; convert one "
                    f"of them, e.g. {name}.to({dtype}) or module.to({x.dtype})."
                )
        if not query.shape[0] == key.shape[0] == value.shape[0]:
            raise ValueError(
                f"query, key and value must have the same batch size; got {query.shape[0]}, "
                f"{key.shape[0]} and {value.shape[0]}."
            )
        if key.shape[1] != value.shape[1]:
            raise ValueError(
                f"key and value must have the same length (one value per key); got "
                f"{key.shape[1]} keys and {value.shape[1]} values."
            )
        if mask is None:
            return
        if not isinstance(mask, Tensor) or mask.dtype != torch.bool:
            got = mask.dtype if isinstance(mask, Tensor) else type(mask).__name__
            raise TypeError(
                f"mask must be a bool tensor with True = may attend; got {got}. "
                f"Convert a 0/1 mask with mask.bool()."
            )
        target = (query.shape[0], self.num_heads, query.shape[1], key.shape[1])
        if mask.dim() not in (2, 4):
            raise ValueError(
                f"mask must have 2 dims (Lq, Lk) or 4 dims (batch, 1 or num_heads, Lq, Lk); got "
                f"shape {tuple(mask.shape)}. For a (batch, Lq, Lk) mask use mask[:, None]."
            )
        try:
            torch.broadcast_shapes(mask.shape, target)
        except RuntimeError:
            raise ValueError(
                f"mask of shape {tuple(mask.shape)} does not broadcast to (batch, num_heads, Lq, Lk)"
                f" = {target}."
            ) from None


def copy_from_torch(mha: MultiHeadAttention, torch_mha: nn.MultiheadAttention) -> MultiHeadAttention:
    """Copy the weights of ``torch_mha`` into ``mha`` and return ``mha``.

    torch packs the three input projections into one ``in_proj_weight`` of shape
    (3 * d_model, d_model): rows for the queries, then the keys, then the values.
    """
    if not torch_mha._qkv_same_embed_dim:
        raise ValueError("torch_mha uses kdim/vdim different from embed_dim; it has no packed weights.")
    if torch_mha.bias_k is not None or torch_mha.add_zero_attn:
        raise ValueError("torch_mha uses add_bias_kv or add_zero_attn, which MultiHeadAttention lacks.")
    if (torch_mha.embed_dim, torch_mha.num_heads) != (mha.d_model, mha.num_heads):
        raise ValueError(
            f"size mismatch: torch_mha has embed_dim={torch_mha.embed_dim}, "
            f"num_heads={torch_mha.num_heads}; mha has d_model={mha.d_model}, num_heads={mha.num_heads}."
        )
    has_bias = torch_mha.in_proj_bias is not None
    if has_bias != (mha.q_proj.bias is not None):
        raise ValueError(
            f"bias mismatch: torch_mha was built with bias={has_bias}, mha with bias={not has_bias}."
        )
    with torch.no_grad():
        weights = torch_mha.in_proj_weight.chunk(3)
        biases = torch_mha.in_proj_bias.chunk(3) if has_bias else (None, None, None)
        for proj, weight, bias in zip((mha.q_proj, mha.k_proj, mha.v_proj), weights, biases):
            proj.weight.copy_(weight)
            if bias is not None:
                proj.bias.copy_(bias)
        mha.out_proj.weight.copy_(torch_mha.out_proj.weight)
        if has_bias:
            mha.out_proj.bias.copy_(torch_mha.out_proj.bias)
    return mha


def to_torch_attn_mask(mask: Tensor, batch_size: int, num_heads: int) -> Tensor:
    """Turn our mask (True = may attend) into ``nn.MultiheadAttention``'s bool ``attn_mask``.

    torch's bool ``attn_mask`` means the opposite, True = NOT allowed, so the mask is inverted.
    A (Lq, Lk) mask stays 2-D; a 4-D mask is expanded to (batch, num_heads, Lq, Lk) and flattened
    to the (batch * num_heads, Lq, Lk) layout torch expects, batch-major (row b * num_heads + h).
    The mask's last two dims must be the full (Lq, Lk): torch does not broadcast ``attn_mask``.
    For a key padding mask (batch, 1, 1, Lk) use ``to_torch_key_padding_mask`` instead.
    """
    if mask.dtype != torch.bool:
        raise TypeError(f"mask must be bool with True = may attend; got {mask.dtype}.")
    if mask.dim() == 2:
        return ~mask
    if mask.dim() != 4:
        raise ValueError(f"mask must have 2 or 4 dims; got shape {tuple(mask.shape)}.")
    q_len, k_len = mask.shape[-2:]
    full = mask.expand(batch_size, num_heads, q_len, k_len)
    return ~full.reshape(batch_size * num_heads, q_len, k_len)


def to_torch_key_padding_mask(key_is_real: Tensor) -> Tensor:
    """Turn (batch, Lk) with True = real token into torch's ``key_padding_mask`` (True = padding).

    Our own modules take the same information as a mask ``key_is_real[:, None, None, :]``.
    """
    if key_is_real.dtype != torch.bool or key_is_real.dim() != 2:
        raise ValueError(
            f"key_is_real must be a bool (batch, Lk) tensor; got {key_is_real.dtype} "
            f"of shape {tuple(key_is_real.shape)}."
        )
    return ~key_is_real
