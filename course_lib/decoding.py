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

How much to recompute: the loop here re-runs the decoder on the whole prefix at every step, so step
t costs O(t) positions per layer and a sentence of n tokens O(n^2) positions in all.
``course_lib.kv_cache`` keeps the keys and values of earlier positions instead, and feeds only the
newest token (``cached_greedy_decode``); it reuses this module's loop (``greedy_loop``) and checks
(``check_decoding_arguments``).

``greedy_decode``, ``length_penalty`` and ``beam_search`` only use the encoder-decoder interface
``model.encode(src, src_mask)``, ``model.decode(tgt, memory, tgt_mask, memory_mask)`` (next-token
logits) and ``model.pad_id``, so they work for any model that offers it, recurrent or Transformer.
``ScriptedModel`` is such a model with next-token probabilities written in advance, for checking
decoders on cases worked out by hand. ``beam_search(..., trace=[])`` records every step as a
``BeamStep`` (which hypotheses were extended, which extensions were kept or dropped, which
finished), the material of ``course_lib.viz.decoding.draw_beam_search``. All of them run on the model's device
(``course_lib.training.model_device``): the source is moved there and the prefixes are made there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int, check_tokens
from course_lib.training import inference, model_device
from course_lib.transformer import padding_mask, target_mask

__all__ = [
    "greedy_decode",
    "length_penalty",
    "beam_search",
    "BeamStep",
    "ScriptedModel",
    "check_decoding_arguments",
    "greedy_loop",
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


def check_decoding_arguments(model: object, src: object, max_len: object, bos_id: object, eos_id: object) -> None:
    """The checks every decoding function starts with (here and in ``course_lib.kv_cache``).

    ``model`` must offer ``encode``, ``decode`` and ``pad_id``, ``src`` be (batch, Ls) token ids,
    ``max_len`` a positive int no larger than the model's positions, the ids ints >= 0.
    """
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


def greedy_loop(
    next_logits: Callable[[Tensor], Tensor],
    start: Tensor,
    max_len: int,
    eos_id: int,
    pad_id: int,
    stop_at_eos: bool,
) -> Tensor:
    """The greedy loop: append argmax(next_logits(prefix)) to every prefix, ``max_len`` times at most.

    ``start`` (batch, 1) holds the <bos> ids; ``next_logits`` maps the prefixes (batch, t) to the
    next-token logits (batch, vocab). <pad> is never chosen; a sentence that has produced ``eos_id``
    is continued with ``pad_id``, and with ``stop_at_eos`` the loop ends once all have. Returns the
    generated ids (batch, generated), <bos> dropped, on ``start``'s device. ``greedy_decode`` and
    ``course_lib.kv_cache.cached_greedy_decode`` differ only in their ``next_logits``.
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
    gradients in eval mode and restores the model's mode afterwards. ``src`` is moved to the model's
    device (``course_lib.training.model_device``), where the returned long tensor is too.
    """
    check_decoding_arguments(model, src, max_len, bos_id, eos_id)
    src = src.to(model_device(model))
    with inference(model):
        src_mask = padding_mask(src, model.pad_id)
        memory = model.encode(src, src_mask)

        def next_logits(prefix: Tensor) -> Tensor:
            return model.decode(prefix, memory, target_mask(prefix, model.pad_id), src_mask)[:, -1]

        start = torch.full((src.shape[0], 1), bos_id, dtype=torch.long, device=src.device)
        return greedy_loop(next_logits, start, max_len, eos_id, model.pad_id, stop_at_eos)


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


@dataclass
class BeamStep:
    """What one step of ``beam_search`` did, as recorded when it is given ``trace=[]``.

    ``extended``: the live hypotheses extended at this step, each (generated ids without <bos>,
    log-probability). ``candidates``: the best extensions of this step, best first, each
    (index into ``extended``, token, log-probability, kept): the kept ones (``beam_size`` minus the
    hypotheses finished earlier) followed by as many again that were dropped. ``finished``: the
    hypotheses that ended at this step, each (ids, log-probability, score = log-probability /
    length_penalty); at ``max_len`` the hypotheses still live end here too, without <eos>.
    """

    extended: list[tuple[list[int], float]]
    candidates: list[tuple[int, int, float, bool]]
    finished: list[tuple[list[int], float, float]]


def beam_search(
    model: nn.Module,
    src: Tensor,
    beam_size: int = 4,
    max_len: int = 50,
    alpha: float = 0.6,
    bos_id: int = 1,
    eos_id: int = 2,
    *,
    trace: list[BeamStep] | None = None,
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

    Like ``greedy_decode``, it runs without gradients in eval mode, restores the model's mode
    afterwards, and moves ``src`` to the model's device, where the hypotheses are made. Given a list
    as ``trace``, it appends one ``BeamStep`` per step (the search itself is unchanged).
    """
    check_decoding_arguments(model, src, max_len, bos_id, eos_id)
    check_int("beam_size", beam_size, "how many hypotheses to keep")
    _check_alpha(alpha)
    if src.shape[0] != 1:
        raise ValueError(
            f"beam_search translates one sentence at a time; src has shape {tuple(src.shape)}, a batch "
            f"of {src.shape[0]}. Pass src[i : i + 1] for sentence i, or use greedy_decode for a batch."
        )
    src = src.to(model_device(model))
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
            keep = min(beam_size - len(finished), count * (scores.shape[1] - 1))
            best = scores.flatten().topk(keep)
            rows, tokens = best.indices // scores.shape[1], best.indices % scores.shape[1]
            extended = torch.cat((live[rows], tokens[:, None]), dim=1)
            ends = tokens == eos_id
            ended = _scored(extended[ends], best.values[ends], length, alpha)
            finished += ended
            if trace is not None:
                trace.append(_step_record(live, live_log_probs, scores, best.indices, ended, best.values[ends]))
            live, live_log_probs = extended[~ends], best.values[~ends]
            if len(live) == 0:
                break
            if finished and live_log_probs.max().item() / bound_divisor <= max(s for s, _ in finished):
                break
        else:  # max_len reached with hypotheses still live: they end here, without <eos>
            ended = _scored(live, live_log_probs, max_len, alpha)
            finished += ended
            if trace is not None:
                trace[-1].finished += [(ids, lp, score) for (score, ids), lp in zip(ended, live_log_probs.tolist())]
    return max(finished, key=lambda scored: scored[0])[1]


def _step_record(
    live: Tensor, live_log_probs: Tensor, scores: Tensor, kept: Tensor, ended: list, ended_log_probs: Tensor
) -> BeamStep:
    """The ``BeamStep`` of one step: the kept extensions, then as many of the best dropped ones."""
    vocab, flat = scores.shape[1], scores.flatten()
    kept_ids = kept.tolist()
    dropped = flat.index_fill(0, kept, float("-inf"))
    dropped_ids = dropped.topk(min(len(kept_ids), int(torch.isfinite(dropped).sum()))).indices.tolist()
    return BeamStep(
        extended=[(ids[1:], lp) for ids, lp in zip(live.tolist(), live_log_probs.tolist())],
        candidates=[(i // vocab, i % vocab, flat[i].item(), i in kept_ids) for i in kept_ids + dropped_ids],
        finished=[(ids, lp, score) for (score, ids), lp in zip(ended, ended_log_probs.tolist())],
    )


def _scored(
    hypotheses: Tensor, log_probs: Tensor, length: int, alpha: float
) -> list[tuple[float, list[int]]]:
    """(log-probability / length_penalty, generated ids without <bos>) for each row of ``hypotheses``."""
    penalty = length_penalty(length, alpha)
    return [(log_prob / penalty, ids[1:]) for log_prob, ids in zip(log_probs.tolist(), hypotheses.tolist())]


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
