"""Sampling the next token: temperature, top-k, top-p, and how diverse the samples are (lesson 10_gpt_rlhf).

A language model gives next-token logits; a decoding rule turns them into a token. Greedy decoding
(the argmax) repeats itself; sampling from the full softmax wanders into the long tail of unlikely
tokens. The usual remedies reshape the distribution before drawing from it:

- ``apply_temperature``: logits / T. T < 1 sharpens, T > 1 flattens, T = 1 leaves the model's own
  distribution (still random: T = 1 is not deterministic). T -> 0 tends to the argmax, so T = 0 is
  DEFINED here as greedy: the argmax's logit becomes 0 and every other one -inf (a one-hot
  distribution), with no division by zero.
- ``top_k_filter``: keep the k highest logits (Fan et al. 2018), -inf elsewhere.
- ``top_p_filter``: nucleus sampling (Holtzman et al. 2020): keep the smallest set of most probable
  tokens whose probability reaches p, INCLUDING the token that crosses p, so the top token is never
  removed. (``cumsum <= p`` would drop the crossing token, and everything when the top token alone
  exceeds p.)

``sample_next`` applies them in HF's order (temperature, top-k, top-p) and draws from a
``torch.Generator``. Ties are kept together: every token whose logit equals the k-th largest
(top-k) or the crossing token's (top-p) stays, so the result never depends on the order of the
vocabulary. On logits without such ties the filters equal HF transformers' ``TemperatureLogitsWarper``,
``TopKLogitsWarper`` and ``TopPLogitsWarper``; HF keeps top-k ties the same way, and breaks a tie
at the top-p boundary by its sort order.

``distinct_n`` (Li et al. 2016) measures the diversity of a set of samples: distinct n-grams over
all n-grams.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence

import torch
from torch import Tensor

from course_lib.arguments import check_int

__all__ = ["apply_temperature", "top_k_filter", "top_p_filter", "sample_next", "distinct_n"]


def _check_logits(logits: object) -> None:
    """Float (..., vocab) logits without NaN, each row with at least one finite logit."""
    if not isinstance(logits, Tensor):
        raise TypeError(f"logits must be a torch.Tensor; got {type(logits).__name__}.")
    if not logits.is_floating_point():
        raise TypeError(f"logits must be a float tensor; got {logits.dtype}. Convert with logits.float().")
    if logits.dim() < 1 or logits.shape[-1] == 0:
        raise ValueError(f"logits must be (..., vocab) with vocab >= 1; got shape {tuple(logits.shape)}.")
    if torch.isnan(logits).any():
        raise ValueError("logits hold NaN: check the model's output before sampling.")
    if (logits == float("-inf")).all(dim=-1).any():
        raise ValueError("a row of logits is entirely -inf: no token is left to choose (were the filters too strict?).")


def _check_number(name: str, value: object, meaning: str) -> float:
    """``value`` as a float, after checking it is a real number (not a bool, not NaN)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise TypeError(f"{name} must be a number ({meaning}); got {value!r}.")
    return float(value)


def apply_temperature(logits: Tensor, temperature: float) -> Tensor:
    """logits / temperature: (..., vocab) -> (..., vocab), same dtype.

    ``temperature`` > 0 divides (HF's ``TemperatureLogitsWarper``); ``temperature`` = 0 is greedy,
    the limit T -> 0: the first maximal logit of each row becomes 0 and all others -inf, so softmax
    gives a one-hot distribution on the argmax and sampling returns the argmax. ValueError for
    T < 0 or infinite, TypeError for a non-number.
    """
    _check_logits(logits)
    temperature = _check_number("temperature", temperature, "T > 0 to sample, T = 0 for greedy")
    if temperature < 0 or math.isinf(temperature):
        raise ValueError(f"temperature must be finite and >= 0 (0 = greedy); got {temperature}.")
    if temperature == 0:
        greedy = torch.full_like(logits, float("-inf"))
        return greedy.scatter(-1, logits.argmax(dim=-1, keepdim=True), 0.0)
    return logits / temperature


def _keep_from(logits: Tensor, threshold: Tensor) -> Tensor:
    """``logits`` with every logit below ``threshold`` (..., 1) set to -inf; ties with it are kept."""
    return logits.masked_fill(logits < threshold, float("-inf"))


def top_k_filter(logits: Tensor, k: int) -> Tensor:
    """Keep the ``k`` highest logits of each row, -inf elsewhere: (..., vocab) -> (..., vocab).

    Logits equal to the k-th largest are all kept (so a row may keep more than k on ties), as in
    HF's ``TopKLogitsWarper``; k larger than the vocabulary keeps everything. ValueError for k < 1.
    """
    _check_logits(logits)
    check_int("k", k, "how many of the highest logits to keep")
    k = min(k, logits.shape[-1])
    return _keep_from(logits, logits.topk(k, dim=-1).values[..., -1:])


def top_p_filter(logits: Tensor, p: float) -> Tensor:
    """Nucleus filter: keep the smallest top set whose probability reaches ``p``, -inf elsewhere.

    (..., vocab) -> (..., vocab). Sort the tokens by probability, highest first; keep them up to and
    INCLUDING the first one at which the running total reaches p (the crossing token), so the most
    probable token always stays, and p = 1 keeps every token. Tokens tied with the crossing token
    are kept too. ``p`` must be in (0, 1]: ValueError otherwise.
    """
    _check_logits(logits)
    p = _check_number("p", p, "the probability mass to keep, in (0, 1]")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1] (the probability mass to keep); got {p}.")
    sorted_logits = logits.sort(dim=-1, descending=True).values
    running = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    # tokens before the crossing one have running total < p; the crossing token is the next one
    crossing = (running < p).sum(dim=-1, keepdim=True).clamp(max=logits.shape[-1] - 1)
    return _keep_from(logits, sorted_logits.gather(-1, crossing))


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Draw one next token per row: (..., vocab) logits -> (...) long ids.

    Temperature, then top-k (None = off), then top-p (None = off), HF's order, then one draw from
    the softmax with ``generator`` (None = torch's global generator). ``temperature`` = 0 returns
    the argmax without drawing (greedy). The same generator state gives the same tokens; T = 1 is
    the model's own distribution and is random. Errors as in the three filters.
    """
    scores = apply_temperature(logits, temperature)
    if top_k is not None:
        scores = top_k_filter(scores, top_k)
    if top_p is not None:
        scores = top_p_filter(scores, top_p)
    if temperature == 0:
        return scores.argmax(dim=-1)  # the one-hot's only finite logit: no draw, the generator is untouched
    probs = scores.float().softmax(dim=-1).reshape(-1, scores.shape[-1])
    return torch.multinomial(probs, 1, generator=generator).reshape(scores.shape[:-1])


def distinct_n(samples: Sequence[Sequence[Hashable]], n: int) -> float:
    """Distinct-n (Li et al. 2016): distinct n-grams / all n-grams, over every sample together.

    ``samples`` are token sequences (lists of words or ids; split a text first, e.g. ``s.split()``).
    1.0 when no n-gram repeats, near 0 when the samples repeat each other; 0.0 when no sample has
    n tokens. ValueError for n < 1, TypeError for a string in place of a token sequence.
    """
    check_int("n", n, "the n-gram length")
    if isinstance(samples, str):
        raise TypeError("samples must be a list of token sequences, not one string.")
    grams = []
    for sample in samples:
        if isinstance(sample, str):
            raise TypeError(
                f"each sample must be a sequence of tokens, not a string ({sample[:30]!r}...); split it first, "
                f"e.g. [s.split() for s in samples]."
            )
        tokens = list(sample)
        grams += [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0
