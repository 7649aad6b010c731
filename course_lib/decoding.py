"""Decoding: turning a trained encoder-decoder into a translator (lesson 06_translation).

Training uses *teacher forcing*: the decoder reads the true target, shifted right, and predicts every
next token in one pass. A translator has no true target. It must write the sentence itself, one token
at a time, reading back what it has written so far: encode the source once, start the target with
``<bos>``, ask the decoder for the next-token distribution, choose a token, append it, repeat until
``<eos>`` (or a length limit). Two choices shape this loop.

Which token to keep:

- ``greedy_decode`` keeps the single most probable next token. Fast, but a choice is never undone: a
  likely first word can lead into an unlikely sentence.
- ``beam_search`` keeps the ``beam_size`` most probable partial sentences (hypotheses) and extends all
  of them. Summed log-probabilities favour short outputs (every token adds a negative term), so
  finished hypotheses are ranked by log-probability / ``length_penalty``, the GNMT penalty
  ((5 + length) / 6) ** alpha of Wu et al. (2016); Vaswani et al. (2017) decode with beam 4, alpha 0.6.

How much to recompute:

- The plain loop re-runs the decoder on the whole prefix at every step, so step t costs O(t) positions
  per layer and a sentence of n tokens O(n^2) positions in all.
- With causal self-attention, the keys and values of earlier positions never change once computed.
  A *key/value cache* (``KVCache``) keeps them; each step then feeds only the newest token, projects
  its query, key and value, appends the key and value to the cache and attends over it
  (``attend_incrementally``). ``cached_greedy_decode`` does this for the course Transformer and gives
  the same tokens as ``greedy_decode`` with O(1) new positions per step; ``generation_seconds``
  measures the difference.

``cross_attention_weights`` records where every decoder layer looks in the source while it writes each
target token, the alignment that attention learns without ever being told.

``greedy_decode``, ``length_penalty`` and ``beam_search`` only use the encoder-decoder interface
``model.encode(src, src_mask)``, ``model.decode(tgt, memory, tgt_mask, memory_mask)`` (next-token
logits) and ``model.pad_id``, so they work for any model that offers it, recurrent or Transformer. The
cache and the attention weights reach inside the course ``Transformer``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int, check_tokens
from course_lib.attention import scaled_dot_product_attention
from course_lib.measure import wall_time
from course_lib.multihead import MultiHeadAttention, merge_heads, split_heads
from course_lib.training import inference
from course_lib.transformer import (
    Transformer,
    embed,
    padding_mask,
    residual_sublayer,
    target_mask,
)

__all__ = [
    "greedy_decode",
    "length_penalty",
    "beam_search",
    "KVCache",
    "attend_incrementally",
    "Attend",
    "IncrementalDecoder",
    "cached_greedy_decode",
    "generation_seconds",
    "cross_attention_weights",
    "ScriptedModel",
]


# --- checks and shared machinery ----------------------------------------------------------------


def _check_model(model: object) -> None:
    """Raise a TypeError unless ``model`` offers the encoder-decoder interface decoding relies on."""
    missing = [name for name in ("encode", "decode", "pad_id") if not hasattr(model, name)]
    if missing:
        raise TypeError(
            f"model must offer encode(src, src_mask), decode(tgt, memory, tgt_mask, memory_mask) and "
            f"pad_id; {type(model).__name__} lacks {', '.join(missing)}."
        )


def _check_transformer(model: object, what: str) -> None:
    """Raise a TypeError unless ``model`` is the course Transformer, whose layers ``what`` reaches into."""
    if not isinstance(model, Transformer):
        raise TypeError(
            f"{what} works inside the layers of course_lib.transformer.Transformer; got "
            f"{type(model).__name__}. Other encoder-decoders can use greedy_decode or beam_search."
        )


def _check_decoding(model: object, src: object, max_len: object, bos_id: object, eos_id: object) -> None:
    """The checks every decoding function starts with."""
    _check_model(model)
    check_tokens("src", src)
    check_int("max_len", max_len, "the most tokens to generate")
    check_int("bos_id", bos_id, "the id of the start token <bos>", minimum=0)
    check_int("eos_id", eos_id, "the id of the end token <eos>", minimum=0)
    positions = getattr(model, "max_len", None)
    if positions is not None and max_len > positions:
        raise ValueError(
            f"max_len={max_len}: generating that many tokens feeds the decoder prefixes of up to "
            f"{max_len} tokens (<bos> and all but the last generated one), but the model has only "
            f"max_len={positions} positions. Pass max_len <= {positions} or build the model with a "
            f"larger max_len."
        )


def _never_pad(scores: Tensor, pad_id: int) -> Tensor:
    """``scores`` (rows, vocab) with the <pad> column at -inf, so that <pad> is never chosen.

    Padding is not a word, and a <pad> inside a prefix would be hidden from the decoder by
    ``target_mask``, so the decoder would lose track of what it wrote.
    """
    return scores.index_fill(-1, torch.tensor([pad_id], device=scores.device), float("-inf"))


def _greedy(
    next_logits: Callable[[Tensor], Tensor],
    start: Tensor,
    max_len: int,
    eos_id: int,
    pad_id: int,
    stop_at_eos: bool,
) -> Tensor:
    """The greedy loop: append argmax(next_logits(prefix)) to every prefix, ``max_len`` times at most.

    ``start`` (batch, 1) holds the <bos> ids; ``next_logits`` maps the prefixes (batch, t) to the
    next-token logits (batch, vocab). Returns the generated ids (batch, generated), <bos> dropped.
    """
    prefix = start
    finished = torch.zeros(start.shape[0], dtype=torch.bool, device=start.device)
    for _ in range(max_len):
        token = _never_pad(next_logits(prefix), pad_id).argmax(dim=-1).masked_fill(finished, pad_id)
        prefix = torch.cat((prefix, token[:, None]), dim=1)
        if stop_at_eos:
            finished |= token == eos_id
            if finished.all():
                break
    return prefix[:, 1:]


# --- greedy decoding and beam search ------------------------------------------------------------


def greedy_decode(
    model: nn.Module,
    src: Tensor,
    max_len: int,
    bos_id: int = 1,
    eos_id: int = 2,
    *,
    stop_at_eos: bool = True,
) -> Tensor:
    """Translate a batch of sources (batch, Ls) by always taking the most probable next token.

    The source is encoded once; at every step the decoder re-reads the whole prefix (<bos> and the
    tokens so far) under ``target_mask`` and the last position's argmax is appended (<pad> is never
    chosen). Decoding stops once every sentence has produced <eos>, or after ``max_len`` tokens.
    Returns the generated ids
    (batch, generated) without <bos>: a sentence's <eos> is kept and followed by ``model.pad_id``.
    With ``stop_at_eos=False`` <eos> is a token like any other and exactly ``max_len`` tokens come
    back (for timing). Works for any model with ``encode``, ``decode`` and ``pad_id``; runs without
    gradients in eval mode and restores the model's mode afterwards.
    """
    _check_decoding(model, src, max_len, bos_id, eos_id)
    with inference(model):
        src_mask = padding_mask(src, model.pad_id)
        memory = model.encode(src, src_mask)

        def next_logits(prefix: Tensor) -> Tensor:
            return model.decode(prefix, memory, target_mask(prefix, model.pad_id), src_mask)[:, -1]

        start = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        return _greedy(next_logits, start, max_len, eos_id, model.pad_id, stop_at_eos)


def length_penalty(length: int, alpha: float) -> float:
    """The GNMT length penalty ((5 + length) / 6) ** alpha (Wu et al. 2016, section 7).

    A hypothesis's score is its summed log-probability divided by this. alpha = 0 ranks by plain
    log-probability; larger alpha favours longer outputs. It is 1 for a single token at any alpha.
    """
    check_int("length", length, "the number of generated tokens, <eos> included")
    _check_alpha(alpha)
    return ((5 + length) / 6) ** alpha


def _check_alpha(alpha: object) -> None:
    """Raise a ValueError unless ``alpha`` is a real number >= 0."""
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not alpha >= 0:
        raise ValueError(
            f"alpha must be a number >= 0 (0 = no length normalisation, 0.6 in Vaswani et al.); "
            f"got {alpha!r}."
        )


def beam_search(
    model: nn.Module,
    src: Tensor,
    beam_size: int = 4,
    max_len: int = 50,
    alpha: float = 0.6,
    bos_id: int = 1,
    eos_id: int = 2,
) -> list[int]:
    """Translate one source (1, Ls) with beam search; returns the generated ids, <eos> kept.

    The beam holds ``beam_size`` hypotheses in all, live and finished. At each step every live
    hypothesis (all decoded together in one ``decode`` call) is extended by every token but <pad>,
    and the ``beam_size - finished`` best extensions by summed log-probability are kept: those ending in
    <eos> are finished, the others stay live. So the live beam shrinks as hypotheses finish, and
    with ``beam_size=1`` this is exactly greedy decoding.

    Stopping rule: the search ends when nothing is live (``beam_size`` hypotheses have finished), at
    ``max_len`` tokens (live hypotheses then count as finished, without <eos>), or earlier once no
    live hypothesis can beat the best finished one. A live hypothesis with log-probability L has
    descendants with log-probability <= L and length <= max_len, so (as L <= 0 and alpha >= 0) none
    scores above L / length_penalty(max_len, alpha); stopping when that bound is at most the best
    finished score changes nothing but the running time. The winner maximises
    log-probability / length_penalty(generated tokens, alpha).
    """
    _check_decoding(model, src, max_len, bos_id, eos_id)
    check_int("beam_size", beam_size, "how many hypotheses to keep")
    _check_alpha(alpha)
    if src.shape[0] != 1:
        raise ValueError(
            f"beam_search translates one sentence at a time; src has shape {tuple(src.shape)}, a batch "
            f"of {src.shape[0]}. Pass src[i : i + 1] for sentence i, or use greedy_decode for a batch."
        )
    bound_divisor = length_penalty(max_len, alpha)
    finished: list[tuple[float, list[int]]] = []  # (score, generated ids), in the order they finish
    live = torch.full((1, 1), bos_id, dtype=torch.long, device=src.device)  # (live, 1 + t), <bos> first
    live_log_probs = torch.zeros(1, dtype=torch.float64, device=src.device)
    with inference(model):
        src_mask = padding_mask(src, model.pad_id)
        memory = model.encode(src, src_mask)
        for length in range(1, max_len + 1):
            count = live.shape[0]
            logits = model.decode(
                live,
                memory.expand(count, *memory.shape[1:]),
                target_mask(live, model.pad_id),
                src_mask.expand(count, -1, -1, -1),
            )[:, -1]
            log_probs = _never_pad(torch.log_softmax(logits.double(), dim=-1), model.pad_id)
            scores = live_log_probs[:, None] + log_probs  # (live, vocab)
            best = scores.flatten().topk(min(beam_size - len(finished), count * (scores.shape[1] - 1)))
            rows, tokens = best.indices // scores.shape[1], best.indices % scores.shape[1]
            extended = torch.cat((live[rows], tokens[:, None]), dim=1)
            ends = tokens == eos_id
            finished += _scored(extended[ends], best.values[ends], length, alpha)
            live, live_log_probs = extended[~ends], best.values[~ends]
            if len(live) == 0:
                break
            if finished and live_log_probs.max().item() / bound_divisor <= max(s for s, _ in finished):
                break
        else:  # max_len reached with hypotheses still live: they end here, without <eos>
            finished += _scored(live, live_log_probs, max_len, alpha)
    return max(finished, key=lambda scored: scored[0])[1]


def _scored(
    hypotheses: Tensor, log_probs: Tensor, length: int, alpha: float
) -> list[tuple[float, list[int]]]:
    """(log-probability / length_penalty, generated ids without <bos>) for each row of ``hypotheses``."""
    penalty = length_penalty(length, alpha)
    return [(log_prob / penalty, ids[1:]) for log_prob, ids in zip(log_probs.tolist(), hypotheses.tolist())]


# --- the key/value cache ------------------------------------------------------------------------


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
    key = split_heads(attn.k_proj(x_new), attn.num_heads)
    value = split_heads(attn.v_proj(x_new), attn.num_heads)
    cache.key = key if cache.key is None else torch.cat((cache.key, key), dim=2)
    cache.value = value if cache.value is None else torch.cat((cache.value, value), dim=2)
    return _attend_to_cache(attn, x_new, cache)


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
    keys and values once per layer, here, and reuses them at every step. Meant for eval mode:
    dropout is not applied.
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
        self.memory_mask = memory_mask
        self.attend = attend
        self.self_attention_caches = [KVCache() for _ in model.decoder.layers]
        self.memory_caches = [
            KVCache(
                split_heads(layer.cross_attn.k_proj(memory), layer.cross_attn.num_heads),
                split_heads(layer.cross_attn.v_proj(memory), layer.cross_attn.num_heads),
            )
            for layer in model.decoder.layers
        ]
        self.position = 0

    def step(self, tokens: Tensor) -> Tensor:
        """Logits (batch, tgt_vocab) for the next token, given the newest tokens (batch,)."""
        model = self.model
        if self.position >= model.max_len:
            raise ValueError(
                f"the decoder has used all max_len={model.max_len} positions of this Transformer; build "
                f"the model with a larger max_len to decode longer outputs."
            )
        x = embed(tokens[:, None], model.tgt_embed, model.positional_encoding[self.position :])
        self.position += 1
        layers = zip(model.decoder.layers, self.self_attention_caches, self.memory_caches)
        for layer, cache, memory in layers:
            self_attention = partial(self.attend, layer.self_attn, cache=cache)
            cross_attention = partial(_attend_to_cache, layer.cross_attn, cache=memory, mask=self.memory_mask)
            x = residual_sublayer(x, self_attention, layer.norm1, layer.dropout1, layer.norm_first)
            x = residual_sublayer(x, cross_attention, layer.norm2, layer.dropout2, layer.norm_first)
            x = residual_sublayer(x, layer.feed_forward, layer.norm3, layer.dropout3, layer.norm_first)
        return model.output_projection(model.decoder.norm(x))[:, 0]


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
    ``attend``) instead of the whole prefix. After a sentence's <eos> its padding is fed too, unmasked; that changes only what comes
    after <eos>, which is replaced by padding anyway.
    """
    _check_transformer(model, "cached_greedy_decode")
    _check_decoding(model, src, max_len, bos_id, eos_id)
    with inference(model):
        src_mask = padding_mask(src, model.pad_id)
        decoder = IncrementalDecoder(model, model.encode(src, src_mask), src_mask, attend)
        start = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)

        def next_logits(prefix: Tensor) -> Tensor:
            return decoder.step(prefix[:, -1])  # only the newest token goes in

        return _greedy(next_logits, start, max_len, eos_id, model.pad_id, stop_at_eos)


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
    """
    check_int("steps", steps, "how many tokens to generate")
    check_int("repeats", repeats, "how many timed runs to take the best of")
    if cached:
        return wall_time(
            lambda: cached_greedy_decode(model, src, steps, stop_at_eos=False, attend=attend), repeats=repeats
        )
    return wall_time(lambda: greedy_decode(model, src, steps, stop_at_eos=False), repeats=repeats)


# --- where the decoder looks --------------------------------------------------------------------


def cross_attention_weights(model: Transformer, src: Tensor, tgt_in: Tensor) -> Tensor:
    """Every decoder layer's cross-attention weights, (layers, batch, heads, Lt, Ls), for one pass.

    ``src`` (batch, Ls) and the decoder input ``tgt_in`` (batch, Lt), <bos> first, go through the
    model once with teacher forcing. Row i of a head's (Lt, Ls) map says how much the position that
    predicts target token i + 1 draws on each source token; padded source positions get weight 0.
    The weights are caught by forward hooks on each layer's ``cross_attn``, removed afterwards.
    """
    _check_transformer(model, "cross_attention_weights")
    check_tokens("src", src)
    check_tokens("tgt_in", tgt_in)
    if src.shape[0] != tgt_in.shape[0]:
        raise ValueError(
            f"src and tgt_in must hold the same number of sentences; got {src.shape[0]} and "
            f"{tgt_in.shape[0]}."
        )
    weights: list[Tensor] = []
    handles = [
        layer.cross_attn.register_forward_hook(lambda module, inputs, output: weights.append(output[1]))
        for layer in model.decoder.layers
    ]
    try:
        with inference(model):
            model(src, tgt_in)
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(weights)


# --- a model with written-in-advance probabilities, for checking decoders -------------------------


class ScriptedModel(nn.Module):
    """A stand-in encoder-decoder whose next-token probabilities are written in advance.

    ``script`` maps (first source token, *tokens generated so far) to {token: probability}; the
    probability left over is shared evenly by the other tokens of ``vocab_size``. A prefix missing
    from the script gives ``default_token`` probability 0.9. Decoders that use only ``encode``,
    ``decode`` and ``pad_id`` can then be checked on cases worked out by hand, such as a sentence that
    greedy decoding misses and beam search finds.
    """

    def __init__(
        self, script: dict[tuple[int, ...], dict[int, float]], vocab_size: int, default_token: int = 2, pad_id: int = 0
    ) -> None:
        super().__init__()
        for prefix, probabilities in script.items():
            if sum(probabilities.values()) > 1 + 1e-9 or any(p < 0 for p in probabilities.values()):
                raise ValueError(f"the probabilities for prefix {prefix} must be >= 0 and sum to at most 1; got {probabilities}.")
        self.script = script
        self.vocab_size = vocab_size
        self.default_token = default_token
        self.pad_id = pad_id

    def encode(self, src: Tensor, src_mask: Tensor | None = None) -> Tensor:
        """The 'memory' is just the source ids, (batch, Ls, 1): decode reads the first one."""
        return src[:, :, None].double()

    def _log_probabilities(self, prefix: tuple[int, ...]) -> Tensor:
        listed = self.script.get(prefix, {self.default_token: 0.9})
        rest = max(0.0, 1.0 - sum(listed.values())) / max(1, self.vocab_size - len(listed))
        probabilities = torch.full((self.vocab_size,), rest, dtype=torch.float64)
        for token, probability in listed.items():
            probabilities[token] = probability
        return probabilities.clamp_min(1e-9).log()

    def decode(
        self, tgt: Tensor, memory: Tensor, tgt_mask: Tensor | None = None, memory_mask: Tensor | None = None
    ) -> Tensor:
        """Log-probabilities used as logits (batch, Lt, vocab): position i continues tgt[:, 1 : i + 1]."""
        rows = []
        for first_source_token, tokens in zip(memory[:, 0, 0].long().tolist(), tgt.tolist()):
            rows.append(torch.stack([
                self._log_probabilities((first_source_token, *tokens[1 : i + 1])) for i in range(len(tokens))
            ]))
        return torch.stack(rows)
