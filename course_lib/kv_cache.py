"""The key/value cache: decoding one new position per step (lesson 06_translation).

``course_lib.decoding.greedy_decode`` re-runs the decoder on the whole prefix at every step, so
step t costs O(t) positions per layer and a sentence of n tokens O(n^2) positions in all. With
causal self-attention, the keys and values of earlier positions never change once computed. A
*key/value cache* (``KVCache``) keeps them; each step then feeds only the newest token, projects
its query, key and value, appends the key and value to the cache and attends over it
(``attend_incrementally``). No mask is needed: everything in the cache is in the past of the new
position. Cross-attention's keys and values, from the encoder's memory, are projected once.

``IncrementalDecoder`` runs the course ``Transformer``'s decoder this way, one position per step;
``cached_greedy_decode`` gives the same tokens as ``greedy_decode`` with O(1) new positions per
step, and ``generation_seconds`` measures the difference. Unlike ``course_lib.decoding``, which
only uses a model's ``encode`` and ``decode``, this module reaches inside the course
``Transformer``'s layers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int
from course_lib.attention import scaled_dot_product_attention
from course_lib.decoding import check_decoding_arguments, greedy_decode, greedy_loop
from course_lib.measure import wall_time
from course_lib.multihead import MultiHeadAttention, merge_heads, split_heads
from course_lib.training import inference, model_device
from course_lib.transformer import Transformer, embed, padding_mask, residual_sublayer

__all__ = [
    "KVCache",
    "attend_incrementally",
    "cached_self_attention",
    "Attend",
    "IncrementalDecoder",
    "cached_greedy_decode",
    "generation_seconds",
]


def _check_transformer(model: object, what: str) -> None:
    """Raise a TypeError unless ``model`` is the course Transformer, whose layers ``what`` reaches into."""
    if not isinstance(model, Transformer):
        raise TypeError(
            f"{what} works inside the layers of course_lib.transformer.Transformer; got "
            f"{type(model).__name__}. Other encoder-decoders can use greedy_decode or beam_search."
        )


@dataclass
class KVCache:
    """The keys and values a causal self-attention has computed so far, (batch, heads, t, head_dim) each.

    Both start as None (nothing decoded yet) and grow by one position per decoding step.
    """

    key: Tensor | None = None
    value: Tensor | None = None


def attend_incrementally(attn: MultiHeadAttention, x_new: Tensor, cache: KVCache) -> Tensor:
    """Causal self-attention output (batch, 1, d_model) for the newest position only.

    ``x_new`` (batch, 1, d_model) is the newest position's input. Its query, key and value are
    projected; the key and value are appended to ``cache`` (in place); the query attends over every
    cached key. No mask is needed: everything in the cache is at or before the newest position. The
    result equals the last row of ``attn(x, x, x, causal_mask)`` over the whole prefix ``x``.
    """
    _check_new_position(attn, x_new)
    return cached_self_attention(attn, x_new, cache)


def cached_self_attention(attn: MultiHeadAttention, x: Tensor, cache: KVCache, mask: Tensor | None = None) -> Tensor:
    """Self-attention output (batch, new, d_model) for the new positions ``x``, over the cache and themselves.

    The general form of :func:`attend_incrementally`, for several new positions at once (a prompt)
    and padding (lesson 10's decoder-only model). The new positions' keys and values (batch, heads,
    new, head_dim) are appended to ``cache`` in place; then their queries attend over every cached
    key under ``mask``, bool (batch or 1, 1, new, past + new), True = may attend. With an empty
    cache and a causal mask this is ``attn(x, x, x, mask)[0]``.
    """
    key, value = (split_heads(projection(x), attn.num_heads) for projection in (attn.k_proj, attn.v_proj))
    cache.key = key if cache.key is None else torch.cat((cache.key, key), dim=2)
    cache.value = value if cache.value is None else torch.cat((cache.value, value), dim=2)
    return _attend_to_cache(attn, x, cache, mask)


def _check_new_position(attn: MultiHeadAttention, x_new: object) -> None:
    """Raise an error a learner can act on unless ``x_new`` is one position of ``attn``'s input."""
    if not isinstance(x_new, Tensor):
        raise TypeError(f"x_new must be a torch.Tensor; got {type(x_new).__name__}.")
    if x_new.dim() != 3 or x_new.shape[1] != 1 or x_new.shape[2] != attn.d_model:
        raise ValueError(
            f"x_new must be the newest position only, (batch, 1, d_model={attn.d_model}); got shape "
            f"{tuple(x_new.shape)}. For a whole prefix x take x[:, -1:]."
        )


def _attend_to_cache(
    attn: MultiHeadAttention, x: Tensor, cache: KVCache, mask: Tensor | None = None
) -> Tensor:
    """``attn``'s output for queries from ``x`` over the already projected keys and values in ``cache``."""
    query = split_heads(attn.q_proj(x), attn.num_heads)
    heads, _ = scaled_dot_product_attention(query, cache.key, cache.value, mask)
    return attn.out_proj(merge_heads(heads))


Attend = Callable[[MultiHeadAttention, Tensor, KVCache], Tensor]
"""The signature of ``attend_incrementally``: (attention module, newest position's input, its cache)."""


class IncrementalDecoder:
    """The course Transformer's decoder run one position at a time, with a key/value cache per layer.

    ``step(tokens)`` feeds the newest token of every sentence (batch,) and returns the logits for the
    token after it (batch, tgt_vocab): the same as the last position of ``model.decode`` over the
    whole prefix, at the cost of one position per layer. Self-attention uses ``attend`` (by default
    ``attend_incrementally``; the lesson passes the learner's); cross-attention projects the memory's
    keys and values once per layer, here, and reuses them at every step.

    Like ``greedy_decode``, the decoder never applies dropout and records no gradients: building it
    and every ``step`` run the model in eval mode under ``torch.no_grad``, and put it back in the
    mode it was in (a model left in train mode gives the same logits as in eval mode). ``memory``
    (batch, Ls, d_model), ``memory_mask`` and the tokens are moved to the model's device
    (``course_lib.training.model_device``), where the logits are.
    """

    def __init__(
        self,
        model: Transformer,
        memory: Tensor,
        memory_mask: Tensor | None = None,
        attend: Attend = attend_incrementally,
    ) -> None:
        _check_transformer(model, "IncrementalDecoder")
        self.model = model
        self.device = model_device(model)
        memory = memory.to(self.device)
        self.memory_mask = None if memory_mask is None else memory_mask.to(self.device)
        self.attend = attend
        self.self_attention_caches = [KVCache() for _ in model.decoder.layers]
        with inference(model):
            self.memory_caches = [
                KVCache(
                    split_heads(layer.cross_attn.k_proj(memory), layer.cross_attn.num_heads),
                    split_heads(layer.cross_attn.v_proj(memory), layer.cross_attn.num_heads),
                )
                for layer in model.decoder.layers
            ]
        self.position = 0

    def step(self, tokens: Tensor) -> Tensor:
        """Logits (batch, tgt_vocab) for the next token, given the newest tokens (batch,).

        Runs in eval mode without gradients; the model's mode is restored afterwards. Raises a
        ValueError when ``tokens`` is not one id per sentence or every position has been used.
        """
        model = self.model
        if not isinstance(tokens, Tensor) or tokens.dim() != 1:
            got = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(
                f"tokens must be the newest token of every sentence, a (batch,) tensor of ids; got {got}. "
                f"For prefixes (batch, t) pass prefix[:, -1]."
            )
        if self.position >= model.max_len:
            raise ValueError(
                f"the decoder has used all max_len={model.max_len} positions of this Transformer; build "
                f"the model with a larger max_len to decode longer outputs."
            )
        # eval() walks every module: pay for it only when the model is in train mode
        with inference(model) if model.training else torch.no_grad():
            positions = model.positional_encoding[self.position :]
            x = embed(tokens.to(self.device)[:, None], model.tgt_embed, positions)
            layers = zip(model.decoder.layers, self.self_attention_caches, self.memory_caches)
            for layer, cache, memory in layers:
                self_attention = partial(self.attend, layer.self_attn, cache=cache)
                cross_attention = partial(_attend_to_cache, layer.cross_attn, cache=memory, mask=self.memory_mask)
                x = residual_sublayer(x, self_attention, layer.norm1, layer.dropout1, layer.norm_first)
                x = residual_sublayer(x, cross_attention, layer.norm2, layer.dropout2, layer.norm_first)
                x = residual_sublayer(x, layer.feed_forward, layer.norm3, layer.dropout3, layer.norm_first)
            logits = model.output_projection(model.decoder.norm(x))[:, 0]
        self.position += 1
        return logits


def cached_greedy_decode(
    model: Transformer,
    src: Tensor,
    max_len: int,
    bos_id: int = 1,
    eos_id: int = 2,
    *,
    stop_at_eos: bool = True,
    attend: Attend = attend_incrementally,
) -> Tensor:
    """``greedy_decode`` for the course Transformer with a key/value cache: same arguments, same tokens.

    Each step feeds only the newest token through an ``IncrementalDecoder`` (self-attention by
    ``attend``) instead of the whole prefix. After a sentence's <eos> its padding is fed too,
    unmasked; that changes only what comes after <eos>, which is replaced by padding anyway. Like
    ``greedy_decode``, it runs without gradients in eval mode, restores the model's mode, and moves
    ``src`` to the model's device, where the returned long tensor is too.
    """
    _check_transformer(model, "cached_greedy_decode")
    check_decoding_arguments(model, src, max_len, bos_id, eos_id)
    src = src.to(model_device(model))
    with inference(model):
        src_mask = padding_mask(src, model.pad_id)
        decoder = IncrementalDecoder(model, model.encode(src, src_mask), src_mask, attend)
        start = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)

        def next_logits(prefix: Tensor) -> Tensor:
            return decoder.step(prefix[:, -1])  # only the newest token goes in

        return greedy_loop(next_logits, start, max_len, eos_id, model.pad_id, stop_at_eos)


def generation_seconds(
    model: nn.Module,
    src: Tensor,
    steps: int,
    cached: bool,
    repeats: int = 3,
    attend: Attend = attend_incrementally,
) -> float:
    """Best-of-``repeats`` seconds to generate exactly ``steps`` tokens for ``src``, <eos> ignored.

    ``cached=True`` times ``cached_greedy_decode`` with ``attend`` (course Transformer only),
    ``cached=False`` ``greedy_decode``. The model needs at least ``steps`` positions (its ``max_len``).
    Decoding runs on the model's device; on a GPU each run waits for the GPU to finish before its
    time is read, so the seconds are those of the work, not of queueing it.
    """
    check_int("steps", steps, "how many tokens to generate")
    check_int("repeats", repeats, "how many timed runs to take the best of")
    device = model_device(model)

    def generate() -> None:
        if cached:
            cached_greedy_decode(model, src, steps, stop_at_eos=False, attend=attend)
        else:
            greedy_decode(model, src, steps, stop_at_eos=False)
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    return wall_time(generate, repeats=repeats)
