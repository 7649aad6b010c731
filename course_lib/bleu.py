"""Corpus BLEU (Papineni et al., 2002), computed exactly as sacrebleu computes it.

BLEU compares a system's translations (hypotheses) with one or more reference
translations each. For n = 1..4 it counts the hypothesis n-grams that also occur in a
reference, each clipped to the largest number of times it occurs in any single reference
("the the the" earns at most as many "the" as the reference with the most "the"), and
divides by the number of hypothesis n-grams.
These *modified precisions* are summed over the whole corpus before dividing:

    p_n = sum over sentences of clipped matches_n / sum over sentences of hypothesis n-grams

and combined by a geometric mean, times a *brevity penalty* that punishes a corpus of
hypotheses shorter in total than the references (c = hypothesis tokens, r = reference
tokens, both summed over the corpus; with several references, each sentence counts the
length of its reference closest in length to the hypothesis, the shorter one on a tie,
as sacrebleu does):

    BP = 1 if c >= r else exp(1 - r / c)          BLEU = 100 * BP * exp(mean_n log p_n)

Details follow sacrebleu's defaults (``sacrebleu.corpus_bleu(hyps, [refs]).score``, or
``sacrebleu.corpus_bleu(hyps, [refs1, refs2]).score`` with two references per sentence):
sentences are tokenized with the "13a" tokenizer (:func:`tokenize_13a`, the one of
WMT's mteval-v13a.pl), the score is on a 0-100 scale, BLEU is 0 when no n-gram of
any order matches or when no hypothesis has 4 tokens, and an order with no match at
all is smoothed with sacrebleu's default "exp" method: the k-th such order counts as
1 / (2**k * total_n) instead of 0.

The lesson asks learners to implement :func:`ngram_counts`, :func:`modified_precision`,
:func:`brevity_penalty` and :func:`corpus_bleu`; the tokenizer is given.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_ORDER",
    "tokenize_13a",
    "ngram_counts",
    "modified_precision",
    "multi_reference_precision",
    "closest_reference_length",
    "brevity_penalty",
    "BLEUStatistics",
    "bleu_statistics",
    "bleu_from_statistics",
    "corpus_bleu",
]

MAX_ORDER = 4

# mteval-v13a's tokenization, as sacrebleu's Tokenizer13a + TokenizerRegexp do it
_13A_RULES = (
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # most symbols, not ' - . ,
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # . and , unless preceded by a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # . and , unless followed by a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # - after a digit
)


def tokenize_13a(line: str) -> list[str]:
    """Split ``line`` into tokens as sacrebleu's default "13a" tokenizer does.

    Punctuation becomes separate tokens, except apostrophes and hyphens inside words
    ("l'homme" stays one token) and periods or commas between digits ("3.5").

    >>> tokenize_13a("Le chien de l'homme mange.")
    ['Le', 'chien', 'de', "l'homme", 'mange', '.']
    """
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return line.split()


def ngram_counts(tokens: Sequence[str], n: int) -> Counter:
    """How often each n-gram (a tuple of ``n`` consecutive tokens) occurs in ``tokens``.

    >>> ngram_counts(["the", "cat", "the", "cat"], 2)
    Counter({('the', 'cat'): 2, ('cat', 'the'): 1})
    """
    if n < 1:
        raise ValueError(f"n must be at least 1; got {n}")
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def modified_precision(hypothesis: Sequence[str], reference: Sequence[str], n: int) -> tuple[int, int]:
    """The clipped n-gram matches of one hypothesis and its number of n-grams.

    Returns ``(matches, total)``: each hypothesis n-gram counts at most as often as
    it occurs in the reference. The precision is ``matches / total``; corpus BLEU sums
    both numbers over all sentences before dividing, so they are returned separately.

    >>> modified_precision("the the the the the the the".split(), "the cat is on the mat".split(), 1)
    (2, 7)

    :func:`multi_reference_precision` does the same against several references.
    """
    return multi_reference_precision(hypothesis, [reference], n)


def multi_reference_precision(
    hypothesis: Sequence[str], references: Sequence[Sequence[str]], n: int
) -> tuple[int, int]:
    """:func:`modified_precision` against several references of one sentence.

    ``references`` is a list of token lists. Each hypothesis n-gram counts at most as
    often as it occurs in the single reference where it occurs most (Papineni et al.,
    2002, section 2.1: "Max_Ref_Count"). Returns ``(matches, total)``.

    >>> multi_reference_precision("the the the".split(), ["the cat".split(), "the the mat".split()], 1)
    (2, 3)
    """
    hyp = ngram_counts(hypothesis, n)
    max_ref_counts: Counter = Counter()
    for reference in references:
        max_ref_counts |= ngram_counts(reference, n)  # | keeps the larger count of each n-gram
    matches = sum(min(count, max_ref_counts[gram]) for gram, count in hyp.items())
    return matches, sum(hyp.values())


def closest_reference_length(hyp_len: int, ref_lens: Sequence[int]) -> int:
    """The reference length closest to ``hyp_len``, the shorter one on a tie (as sacrebleu).

    This is the length one sentence contributes to the brevity penalty's ``ref_len``.
    Raises ValueError when ``ref_lens`` is empty.

    >>> closest_reference_length(5, [3, 7, 9])
    3
    """
    if not ref_lens:
        raise ValueError("closest_reference_length needs at least one reference length; got none")
    return min(ref_lens, key=lambda ref_len: (abs(hyp_len - ref_len), ref_len))


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """1 when the hypotheses are at least as long as the references, else exp(1 - ref_len / hyp_len).

    ``hyp_len`` and ``ref_len`` are token counts summed over the corpus (``ref_len``
    sums each sentence's :func:`closest_reference_length`); an empty output
    (``hyp_len == 0``) gets 0.
    """
    if hyp_len >= ref_len:
        return 1.0
    if hyp_len == 0:
        return 0.0
    return math.exp(1.0 - ref_len / hyp_len)


@dataclass
class BLEUStatistics:
    """Everything corpus BLEU needs, summed over the sentences of a corpus."""

    matches: list[int]  # clipped n-gram matches, n = 1..MAX_ORDER
    totals: list[int]  # hypothesis n-grams, n = 1..MAX_ORDER
    hyp_len: int
    ref_len: int  # sum over sentences of the closest reference length

    @property
    def precisions(self) -> list[float]:
        """The modified precisions p_1..p_4 (in percent), before smoothing."""
        return [100.0 * m / t if t else 0.0 for m, t in zip(self.matches, self.totals)]

    @property
    def brevity_penalty(self) -> float:
        return brevity_penalty(self.hyp_len, self.ref_len)


References = Sequence[str] | Sequence[Sequence[str]]


def _reference_streams(hypotheses: Sequence[str], references: References) -> list[Sequence[str]]:
    """Check a corpus and return its references as a list of streams, one string per hypothesis each.

    ``references`` is either one reference string per hypothesis or sacrebleu's layout,
    a list of reference streams (``references[j][i]`` is the j-th reference of sentence i).
    Raises TypeError or ValueError, saying how to fix the call.
    """
    for name, value in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError(
                f"`{name}` must be a list of strings, one per sentence (references may also be a "
                f"list of such lists, one per reference); got {type(value).__name__}"
            )
    if not hypotheses:
        raise ValueError("corpus_bleu needs at least one sentence; got empty lists")
    for i, sentence in enumerate(hypotheses):
        if not isinstance(sentence, str):
            raise TypeError(f"`hypotheses[{i}]` must be a string; got {type(sentence).__name__}")
    if not references:
        raise ValueError(
            f"`references` is empty; pass one reference string per hypothesis ({len(hypotheses)}), "
            f"or a list of reference streams, each a list of {len(hypotheses)} strings"
        )
    if all(isinstance(reference, str) for reference in references):
        if len(references) != len(hypotheses):
            raise ValueError(
                f"corpus_bleu needs one reference per hypothesis; got {len(hypotheses)} hypotheses "
                f"and {len(references)} references."
            )
        return [references]
    for j, stream in enumerate(references):
        if isinstance(stream, str) or not isinstance(stream, Sequence):
            raise TypeError(
                f"`references` must hold either only strings (one reference per hypothesis) or only "
                f"lists of strings (reference streams); `references[{j}]` is a {type(stream).__name__}"
            )
        if len(stream) != len(hypotheses):
            hint = ""
            if len(references) == len(hypotheses):
                hint = (" If you passed the references of each sentence together, transpose them "
                        "into streams with list(zip(*references)).")
            raise ValueError(
                f"every reference stream needs one reference per hypothesis; `references[{j}]` has "
                f"{len(stream)} sentences but there are {len(hypotheses)} hypotheses.{hint}"
            )
        for i, sentence in enumerate(stream):
            if not isinstance(sentence, str):
                raise TypeError(f"`references[{j}][{i}]` must be a string; got {type(sentence).__name__}")
    return list(references)


def bleu_statistics(hypotheses: Sequence[str], references: References) -> BLEUStatistics:
    """Token counts and clipped n-gram matches of a corpus, summed over its sentences.

    ``references`` is as in :func:`corpus_bleu`: one string per hypothesis, or a list
    of reference streams. Raises TypeError or ValueError for a malformed corpus.
    """
    streams = _reference_streams(hypotheses, references)
    matches, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    hyp_len = ref_len = 0
    for hypothesis, *sentence_refs in zip(hypotheses, *streams):
        hyp = tokenize_13a(hypothesis.rstrip())
        refs = [tokenize_13a(reference.rstrip()) for reference in sentence_refs]
        hyp_len += len(hyp)
        ref_len += closest_reference_length(len(hyp), [len(ref) for ref in refs])
        for n in range(1, MAX_ORDER + 1):
            m, t = multi_reference_precision(hyp, refs, n)
            matches[n - 1] += m
            totals[n - 1] += t
    return BLEUStatistics(matches, totals, hyp_len, ref_len)


def bleu_from_statistics(stats: BLEUStatistics) -> float:
    """Corpus BLEU (0-100) from summed statistics, with sacrebleu's default "exp" smoothing."""
    if not any(stats.matches):
        return 0.0
    log_precisions = []
    smooth = 1.0
    for matches, total in zip(stats.matches, stats.totals):
        if total == 0:  # no hypothesis is n tokens long: BLEU is 0
            return 0.0
        if matches == 0:  # smoothing: 1/2, then 1/4, ... of a match for each order with none
            smooth *= 2
            log_precisions.append(math.log(100.0 / (smooth * total)))
        else:
            log_precisions.append(math.log(100.0 * matches / total))
    return stats.brevity_penalty * math.exp(sum(log_precisions) / len(log_precisions))


def corpus_bleu(hypotheses: Sequence[str], references: References) -> float:
    """Corpus BLEU on a 0-100 scale, equal to sacrebleu's with the same references.

    ``hypotheses[i]`` is the system's translation of sentence i, detokenized text.
    ``references`` is either

    - one reference string per hypothesis: ``references[i]`` translates sentence i, and
      the score is ``sacrebleu.corpus_bleu(hypotheses, [references]).score``; or
    - sacrebleu's layout for several references, a list of reference streams, each a
      list with one string per hypothesis: ``references[j][i]`` is the j-th reference of
      sentence i, and the score is ``sacrebleu.corpus_bleu(hypotheses, references).score``.

    Raises ValueError for an empty corpus, no references, or a reference stream whose
    length differs from the number of hypotheses, and TypeError for anything that is
    not a string where one is expected.

    >>> round(corpus_bleu(["Le chat mange la pomme."], ["Le chat mange une pomme."]), 2)
    37.99
    >>> hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    >>> refs1 = ["The dog bit the man.", "It was not unexpected.", "The man bit him first."]
    >>> refs2 = ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]
    >>> round(corpus_bleu(hyps, [refs1, refs2]), 2)
    48.53
    """
    return bleu_from_statistics(bleu_statistics(hypotheses, references))
