"""Corpus BLEU (Papineni et al., 2002), computed exactly as sacrebleu computes it.

BLEU compares a system's translations (hypotheses) with one reference translation
each. For n = 1..4 it counts the hypothesis n-grams that also occur in the reference,
each clipped to the number of times it occurs there ("the the the" earns at most as
many "the" as the reference has), and divides by the number of hypothesis n-grams.
These *modified precisions* are summed over the whole corpus before dividing:

    p_n = sum over sentences of clipped matches_n / sum over sentences of hypothesis n-grams

and combined by a geometric mean, times a *brevity penalty* that punishes a corpus of
hypotheses shorter in total than the references (c = hypothesis tokens, r = reference
tokens, both summed over the corpus):

    BP = 1 if c >= r else exp(1 - r / c)          BLEU = 100 * BP * exp(mean_n log p_n)

Details follow sacrebleu's defaults (``sacrebleu.corpus_bleu(hyps, [refs]).score``):
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
    """
    hyp, ref = ngram_counts(hypothesis, n), ngram_counts(reference, n)
    matches = sum(min(count, ref[gram]) for gram, count in hyp.items())
    return matches, sum(hyp.values())


def brevity_penalty(hyp_len: int, ref_len: int) -> float:
    """1 when the hypotheses are at least as long as the references, else exp(1 - ref_len / hyp_len).

    ``hyp_len`` and ``ref_len`` are token counts summed over the corpus; an empty
    output (``hyp_len == 0``) gets 0.
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
    ref_len: int

    @property
    def precisions(self) -> list[float]:
        """The modified precisions p_1..p_4 (in percent), before smoothing."""
        return [100.0 * m / t if t else 0.0 for m, t in zip(self.matches, self.totals)]

    @property
    def brevity_penalty(self) -> float:
        return brevity_penalty(self.hyp_len, self.ref_len)


def _check_corpus(hypotheses: Sequence[str], references: Sequence[str]) -> None:
    for name, value in (("hypotheses", hypotheses), ("references", references)):
        if isinstance(value, str) or not isinstance(value, Sequence):
            raise TypeError(f"`{name}` must be a list of strings, one per sentence; got {type(value).__name__}")
    if len(hypotheses) != len(references):
        hint = ""
        if len(references) == 1 and not isinstance(references[0], str):
            hint = " Pass the references as a flat list of strings, not sacrebleu's list of reference lists."
        raise ValueError(
            f"corpus_bleu needs one reference per hypothesis; got {len(hypotheses)} hypotheses "
            f"and {len(references)} references.{hint}"
        )
    if not hypotheses:
        raise ValueError("corpus_bleu needs at least one sentence; got empty lists")
    for name, value in (("hypotheses", hypotheses), ("references", references)):
        for i, sentence in enumerate(value):
            if not isinstance(sentence, str):
                raise TypeError(f"`{name}[{i}]` must be a string; got {type(sentence).__name__}")


def bleu_statistics(hypotheses: Sequence[str], references: Sequence[str]) -> BLEUStatistics:
    """Token counts and clipped n-gram matches of a corpus, summed over its sentences."""
    _check_corpus(hypotheses, references)
    matches, totals = [0] * MAX_ORDER, [0] * MAX_ORDER
    hyp_len = ref_len = 0
    for hypothesis, reference in zip(hypotheses, references):
        hyp, ref = tokenize_13a(hypothesis.rstrip()), tokenize_13a(reference.rstrip())
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, MAX_ORDER + 1):
            m, t = modified_precision(hyp, ref, n)
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


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU on a 0-100 scale, equal to ``sacrebleu.corpus_bleu(hypotheses, [references]).score``.

    ``hypotheses[i]`` is the system's translation of sentence i and ``references[i]``
    its one reference translation, both detokenized text.

    >>> round(corpus_bleu(["Le chat mange la pomme."], ["Le chat mange une pomme."]), 2)
    37.99
    """
    return bleu_from_statistics(bleu_statistics(hypotheses, references))
