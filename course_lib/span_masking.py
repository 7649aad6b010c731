"""SpanBERT's span masking: geometric span lengths, whole words, a token budget (lesson 09_roberta_spanbert).

Joshi et al. (2020), "SpanBERT: Improving Pre-training by Representing and Predicting Spans",
section 3.1: instead of choosing 15% of the tokens one by one, mask contiguous spans of whole
words until 15% of the tokens are masked. Each span's length, in WORDS, is drawn from a geometric
distribution with p = 0.2 truncated to [1, 10]: P(l) = p (1 - p)^(l - 1) / Z for l = 1..10, where
Z = 1 - (1 - p)^10 renormalises the ten kept probabilities (mean about 3.8, the paper's figure;
clipping longer draws to 10 instead would pile their mass on 10 and give a mean of about 4.46).
Each span starts at the beginning of a word, and the 80/10/10 replacement of BERT is decided per
span: every token of a span becomes [MASK], or every token a random one, or every token stays.

- :func:`span_length_pmf`, :func:`span_length_mean`, :func:`sample_span_lengths`: the distribution;
- :func:`continuation_table`, :func:`word_starts`: WordPiece words (a word is a piece without
  ``##`` followed by its ``##`` pieces);
- :func:`sample_spans`: where the spans go; :func:`span_mask_tokens`: the corruption, with
  ``pretraining.mask_tokens``' signature and return value, so it drops into
  ``mini_bert.batches(mask_fn=...)`` through ``functools.partial``.

The span boundary objective that reads these spans is in ``course_lib.span_boundary``.
Conventions are ``course_lib.pretraining``'s: ``labels`` hold the original id at masked positions
and -100 elsewhere; ``special_tokens_mask`` 1 marks [CLS], [SEP] and padding, never masked.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from course_lib.arguments import check_int, check_tokens
from course_lib.pretraining import check_corruption, corrupt_chosen
from course_lib.wordpiece import CONTINUATION_PREFIX, WordPieceTokenizer

__all__ = [
    "SPAN_P",
    "MAX_SPAN_WORDS",
    "span_length_pmf",
    "span_length_mean",
    "sample_span_lengths",
    "continuation_table",
    "word_starts",
    "sample_spans",
    "span_mask_tokens",
]

SPAN_P = 0.2  # the geometric distribution's p (Joshi et al. 2020, section 3.1)
MAX_SPAN_WORDS = 10  # the longest span, in words


# --- the span-length distribution ---------------------------------------------------------------


def _check_geometric(p: float, max_length: int) -> None:
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0.0 < p <= 1.0:
        raise ValueError(f"p must be a probability in (0, 1] (SpanBERT: 0.2); got {p!r}.")
    check_int("max_length", max_length, "the longest span, in words (SpanBERT: 10)")


def _check_probability(mlm_probability: object) -> None:
    if isinstance(mlm_probability, bool) or not isinstance(mlm_probability, (int, float)) or not (
        0.0 < mlm_probability <= 1.0
    ):
        raise ValueError(f"mlm_probability must be in (0, 1] (the share of tokens masked; SpanBERT: 0.15); "
                         f"got {mlm_probability!r}.")


def _check_generator(generator: object) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (torch.Generator().manual_seed(0)); got {generator!r}.")


def span_length_pmf(p: float = SPAN_P, max_length: int = MAX_SPAN_WORDS) -> Tensor:
    """P(length = l) for l = 1..max_length: a float64 tensor (max_length,), index l - 1.

    The geometric distribution p (1 - p)^(l - 1) truncated to [1, max_length] and RENORMALISED
    (divided by 1 - (1 - p)^max_length, the mass it keeps), so it sums to 1 and a length of
    ``max_length`` is no likelier than the geometric makes it relative to the others.
    ValueError for p outside (0, 1] or max_length not a positive int.
    """
    _check_geometric(p, max_length)
    lengths = torch.arange(1, max_length + 1, dtype=torch.float64)
    weights = p * (1.0 - p) ** (lengths - 1)
    return weights / weights.sum()


def span_length_mean(p: float = SPAN_P, max_length: int = MAX_SPAN_WORDS) -> float:
    """The mean span length, in words, of :func:`span_length_pmf`: 3.797 for SpanBERT's p = 0.2, 10."""
    pmf = span_length_pmf(p, max_length)
    return float((pmf * torch.arange(1, max_length + 1, dtype=torch.float64)).sum())


def sample_span_lengths(
    n: int, generator: torch.Generator, p: float = SPAN_P, max_length: int = MAX_SPAN_WORDS
) -> Tensor:
    """``n`` span lengths in [1, max_length] drawn from :func:`span_length_pmf`: a long tensor (n,).

    One ``torch.multinomial(pmf, n, replacement=True, generator=generator)`` (plus 1: index 0 is
    length 1). ValueError for a bad ``n``, ``p`` or ``max_length``; TypeError for a generator that
    is not a ``torch.Generator``.
    """
    check_int("n", n, "how many span lengths to draw")
    _check_generator(generator)
    return torch.multinomial(span_length_pmf(p, max_length), n, replacement=True, generator=generator) + 1


# --- words --------------------------------------------------------------------------------------


def continuation_table(vocab: WordPieceTokenizer | Sequence[str]) -> Tensor:
    """A bool tensor (vocab_size,): True where the token continues a word (starts with ``##``).

    ``vocab``: a ``WordPieceTokenizer`` or its tokens in id order. ``table[input_ids]`` then marks
    every continuation piece of a batch. TypeError for anything else.
    """
    tokens = vocab.ids_to_tokens if isinstance(vocab, WordPieceTokenizer) else vocab
    if isinstance(tokens, str) or not isinstance(tokens, Sequence) or not all(isinstance(t, str) for t in tokens):
        raise TypeError(f"vocab must be a WordPieceTokenizer or its list of tokens in id order; got {vocab!r:.80}.")
    return torch.tensor([t.startswith(CONTINUATION_PREFIX) for t in tokens], dtype=torch.bool)


def _check_table(is_continuation: object, vocab_size: int | None) -> Tensor:
    """``is_continuation`` as a bool tensor (vocab_size,) (any length when vocab_size is None)."""
    if not (isinstance(is_continuation, Tensor) and is_continuation.dtype == torch.bool
            and is_continuation.dim() == 1 and vocab_size in (None, is_continuation.shape[0])):
        got = (f"{tuple(is_continuation.shape)} {is_continuation.dtype}" if isinstance(is_continuation, Tensor)
               else type(is_continuation).__name__)
        size = "vocab_size" if vocab_size is None else f"vocab_size={vocab_size}"
        raise ValueError(f"is_continuation must be a bool tensor ({size},): continuation_table(tokenizer); got {got}.")
    return is_continuation


def _excluded(input_ids: Tensor, special_tokens_mask: Tensor, attention_mask: Tensor | None) -> Tensor:
    """(batch, seq) bool: positions masking must skip (special or padding)."""
    shape = tuple(input_ids.shape)

    def zero_one(name: str, mask: object) -> Tensor:
        if not isinstance(mask, Tensor) or tuple(mask.shape) != shape:
            got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
            raise ValueError(f"{name} must be a tensor shaped like input_ids {shape}; got {got}.")
        if not ((mask == 0) | (mask == 1)).all():
            raise ValueError(f"{name} must hold only 0 and 1 (or be bool).")
        return mask.bool()

    excluded = zero_one("special_tokens_mask", special_tokens_mask)
    if attention_mask is not None:
        excluded = excluded | ~zero_one("attention_mask", attention_mask)
    return excluded


def word_starts(
    input_ids: Tensor, special_tokens_mask: Tensor, is_continuation: Tensor, *, attention_mask: Tensor | None = None
) -> Tensor:
    """(batch, seq) bool: True at the first token of each word.

    A word is a maskable token (not special, not padding) that is not a ``##`` piece, with the
    ``##`` pieces that follow it. A ``##`` piece right after a special token (a segment that
    begins inside a word) starts a word of its own. ``is_continuation``: (vocab_size,) bool,
    :func:`continuation_table`. Errors as :func:`span_mask_tokens`.
    """
    check_tokens("input_ids", input_ids)
    excluded = _excluded(input_ids, special_tokens_mask, attention_mask)
    continues = _check_table(is_continuation, None)
    if input_ids.numel() and (input_ids.min() < 0 or input_ids.max() >= continues.shape[0]):
        raise ValueError(f"input_ids must be ids in [0, {continues.shape[0]}), the size of is_continuation.")
    continues = continues[input_ids]
    after_word = torch.zeros_like(excluded)
    after_word[:, 1:] = ~excluded[:, :-1]
    return ~excluded & ~(continues & after_word)


def _words(starts: list[bool], excluded: list[bool]) -> list[tuple[int, int]]:
    """One row's words as (start, end) token ranges, end exclusive."""
    words: list[tuple[int, int]] = []
    for i, (start, skip) in enumerate(zip(starts, excluded)):
        if start:
            words.append((i, i + 1))
        elif not skip:
            words[-1] = (words[-1][0], i + 1)
    return words


# --- the corruption -----------------------------------------------------------------------------


def _row_spans(
    words: list[tuple[int, int]], budget: int, generator: torch.Generator, p: float, max_span_words: int
) -> list[tuple[int, int]]:
    """Spans (start, end) of whole words, until ``budget`` tokens are taken (see sample_spans)."""
    free = list(range(len(words)))  # words not yet masked, in any order: a uniform pick is a uniform index
    where = list(range(len(words)))  # where[w]: w's index in free, -1 once masked
    masked, spans = 0, []
    while masked < budget:  # a free word is left while masked < budget <= the row's tokens
        first = free[int(torch.randint(len(free), (1,), generator=generator))]
        length = int(sample_span_lengths(1, generator, p, max_span_words))
        w = first
        while w < len(words) and w - first < length and masked < budget and where[w] >= 0 and (
            w == first or words[w][0] == words[w - 1][1]  # contiguous: no special token in between
        ):
            last = free.pop()
            if last != w:  # move the last free word into w's slot
                free[where[w]], where[last] = last, where[w]
            where[w] = -1
            masked += words[w][1] - words[w][0]
            w += 1
        spans.append((words[first][0], words[w - 1][1]))
    return spans


def sample_spans(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
    *,
    is_continuation: Tensor | None = None,
    p: float = SPAN_P,
    max_span_words: int = MAX_SPAN_WORDS,
    attention_mask: Tensor | None = None,
) -> list[list[tuple[int, int]]]:
    """SpanBERT's spans for each row: a list per row of (start, end) token ranges, end exclusive, in drawing order.

    ``input_ids`` (batch, seq) integer, ``special_tokens_mask`` (batch, seq) 0/1 (1 on [CLS], [SEP],
    padding), ``attention_mask`` optional (0 = padding): as ``pretraining.mask_tokens``.
    ``is_continuation``: (vocab_size,) bool marking the ``##`` pieces (:func:`continuation_table`);
    None makes every token a word of its own.

    Per row, with n maskable tokens (neither special nor padding), the budget is
    ``max(1, round(mlm_probability * n))`` TOKENS (BERT's create_pretraining_data.py rounds the
    same way). Until the budget is reached: pick a word not yet masked, uniformly (a
    ``torch.randint``); draw a length l in words (:func:`sample_span_lengths` with ``p``,
    ``max_span_words``); take that word and the ones after it, one whole word at a time, stopping
    after l words, before a special token or a word already taken, or as soon as the budget is
    reached. So spans never split a word, never cross [SEP] and never overlap (two may touch), and
    a row's spans cover at least the budget and fewer than the budget plus its longest word.
    Short rows cut spans: on lesson 07's one-sentence pairs (about 20 maskable tokens, a budget of
    3) spans average 1.7 words; on ``full_sentences`` rows of 64 tokens 2.7, of 128 tokens 3.1
    (measured with lesson 07's vocabulary); only long rows approach the distribution's 3.8.
    A Python loop per span. ValueError/TypeError as :func:`span_mask_tokens`.
    """
    check_tokens("input_ids", input_ids)
    excluded = _excluded(input_ids, special_tokens_mask, attention_mask)
    _check_generator(generator)
    _check_probability(mlm_probability)
    _check_geometric(p, max_span_words)
    if is_continuation is None:
        starts = ~excluded
    else:
        starts = word_starts(input_ids, special_tokens_mask, is_continuation, attention_mask=attention_mask)
    spans = []
    for row_starts, row_excluded in zip(starts.tolist(), excluded.tolist()):
        n = len(row_excluded) - sum(row_excluded)
        budget = max(1, round(mlm_probability * n)) if n else 0
        spans.append(_row_spans(_words(row_starts, row_excluded), budget, generator, p, max_span_words))
    return spans


def span_mask_tokens(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    vocab_size: int,
    mask_token_id: int,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
    *,
    is_continuation: Tensor | None = None,
    p: float = SPAN_P,
    max_span_words: int = MAX_SPAN_WORDS,
    attention_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """SpanBERT's corruption; returns ``(masked input_ids, labels)``, both (batch, seq) long.

    Arguments and return value as ``pretraining.mask_tokens`` (``input_ids`` (batch, seq) long,
    ``special_tokens_mask`` 1 on [CLS], [SEP], padding; labels the original id where masked, -100
    elsewhere), so ``functools.partial(span_mask_tokens, is_continuation=continuation_table(tok))``
    is a ``mask_fn`` for ``mini_bert.batches``. The spans are :func:`sample_spans`' (whole words,
    lengths in words from the truncated geometric, ``max(1, round(mlm_probability * n))`` tokens
    per row). Then per span, not per token: with probability 0.8 all its tokens become
    ``mask_token_id``; else with probability 0.5 each becomes a token drawn uniformly from
    [0, vocab_size) (as ``mask_tokens``: specials included); else all stay as they are.

    Draws, all from ``generator``: :func:`sample_spans`' (rows in order); then ``mask_tokens``'
    steps 2-4 with one draw per span (spans in order) where it draws one per position:
    ``torch.bernoulli`` of 0.8 ([MASK]), ``torch.bernoulli`` of 0.5 (random, among the others),
    ``torch.randint(vocab_size, (batch, seq))`` (the random tokens). About a millisecond
    for 32 rows of 64 tokens. ``input_ids`` is not modified. TypeError for ids that are not long
    or a generator that is not one; ValueError for masks of the wrong shape or values, a
    ``mask_token_id`` outside the vocabulary, ``mlm_probability`` outside (0, 1], a bad ``p`` or
    ``max_span_words``, or an ``is_continuation`` that is not (vocab_size,) bool.
    """
    check_corruption(input_ids, vocab_size, mask_token_id)
    if is_continuation is not None:
        _check_table(is_continuation, vocab_size)
    rows = sample_spans(input_ids, special_tokens_mask, generator, mlm_probability, is_continuation=is_continuation,
                        p=p, max_span_words=max_span_words, attention_mask=attention_mask)
    shape = tuple(input_ids.shape)
    span_ids = torch.full(shape, -1, dtype=torch.long)  # which span each position is in, -1 for none
    k = 0
    for row, row_spans in enumerate(rows):
        for start, end in row_spans:
            span_ids[row, start:end] = k
            k += 1
    span_ids = span_ids.to(input_ids.device)
    return corrupt_chosen(input_ids, span_ids >= 0, vocab_size, mask_token_id, generator, span_ids=span_ids)
