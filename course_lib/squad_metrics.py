"""SQuAD's answer metrics: exact match and token F1, with SQuAD 2.0's no-answer questions
(lesson 08_bert_finetuning).

The definitions are those of the official SQuAD v2.0 evaluation script (Rajpurkar, Jia and Liang,
2018, "Know What You Don't Know: Unanswerable Questions for SQuAD"; its metrics are SQuAD 1.1's,
Rajpurkar et al., 2016, section 6: both "ignore punctuation and articles"):

- an answer is compared after :func:`normalize_answer`;
- exact match is 1 when the normalised strings are equal; F1 is the harmonic mean of precision
  and recall over the normalised answer's whitespace tokens, counted as multisets;
- each question scores the MAXIMUM over its gold answers;
- an unanswerable question has the single gold answer "": a prediction scores 1 on it only when
  it is empty too, so abstaining is what gets the points.

:func:`squad_v2_scores` averages these over a dataset as the official script does, in
percent, overall and separately on the questions with an answer (HasAns) and without (NoAns).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["normalize_answer", "exact_match", "token_f1", "squad_v2_scores"]

_PUNCTUATION = frozenset(string.punctuation)
_ARTICLE = re.compile(r"\b(a|an|the)\b")  # whole words only: "theater" and "an" inside "band" stay


def normalize_answer(text: str) -> str:
    """``text`` as SQuAD compares it: lowercased, ASCII punctuation (``string.punctuation``)
    deleted, the articles "a", "an", "the" removed as whole words, whitespace collapsed to
    single spaces and stripped, in that order.

    >>> normalize_answer("The  Eiffel-Tower, in 1,000 A.D.!")
    'eiffeltower in 1000 ad'

    Deleting punctuation joins what it separated ("1,000" -> "1000", "A.D." -> "ad"); non-ASCII
    punctuation (curly quotes, dashes) stays. Raises TypeError unless ``text`` is a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"an answer must be a str; got {type(text).__name__} {text!r:.40}.")
    text = "".join(char for char in text.lower() if char not in _PUNCTUATION)
    return " ".join(_ARTICLE.sub(" ", text).split())


def _golds(gold_answers: object) -> list[str]:
    """The gold answers as the official script scores against them: those that normalise to
    something, or [""] when none does (an unanswerable question)."""
    if isinstance(gold_answers, str) or not isinstance(gold_answers, Sequence):
        raise TypeError(f"gold_answers must be a list of str (empty for an unanswerable question); got "
                        f"{type(gold_answers).__name__}. For one answer write [answer].")
    return [gold for gold in gold_answers if normalize_answer(gold)] or [""]


def _check_prediction(prediction: object) -> None:
    if not isinstance(prediction, str):
        raise TypeError(f'prediction must be a str ("" for no answer); got {type(prediction).__name__}.')


def exact_match(prediction: str, gold_answers: Sequence[str]) -> float:
    """1.0 if ``prediction`` normalises to the same string as one of ``gold_answers``, else 0.0.

    ``gold_answers`` empty (an unanswerable question), or holding only answers that normalise to
    nothing: the only gold is "", so 1.0 exactly when the prediction normalises to "" too.
    Raises TypeError for a prediction that is not a str or gold answers that are not a list of str.
    """
    _check_prediction(prediction)
    predicted = normalize_answer(prediction)
    return float(any(predicted == normalize_answer(gold) for gold in _golds(gold_answers)))


def _f1(predicted: list[str], gold: list[str]) -> float:
    if not predicted or not gold:
        return float(predicted == gold)  # "no answer" scores 1 against "no answer" only
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold)
    return 2 * precision * recall / (precision + recall)


def token_f1(prediction: str, gold_answers: Sequence[str]) -> float:
    """The best F1, over ``gold_answers``, of ``prediction``'s normalised tokens against the gold's.

    Tokens are ``normalize_answer(text).split()``; the overlap counts each token as often as it
    occurs in both (a multiset intersection), precision = overlap / predicted tokens, recall =
    overlap / gold tokens, F1 = 2PR / (P + R), and 0.0 without overlap. When either side has no
    token, 1.0 if both have none, else 0.0. Unanswerable questions as in :func:`exact_match`.
    Returns a float in [0, 1]. Raises as :func:`exact_match`.
    """
    _check_prediction(prediction)
    predicted = normalize_answer(prediction).split()
    return max(_f1(predicted, normalize_answer(gold).split()) for gold in _golds(gold_answers))


def _rows(dataset: Iterable) -> list[tuple[str, list[str]]]:
    if isinstance(dataset, (str, Mapping)) or not isinstance(dataset, Iterable):
        raise TypeError("dataset must be a datasets.Dataset or a list of rows (dicts with 'id' and 'answers'); "
                        f"got {type(dataset).__name__}.")
    rows = []
    for i, row in enumerate(dataset):
        if not isinstance(row, Mapping) or "id" not in row or not isinstance(row.get("answers"), Mapping):
            raise ValueError(f"row {i} must be a dict with 'id' and 'answers' ({{'text': [...], ...}}), as in "
                             f"SQuAD v2; got {row!r:.100}.")
        rows.append((row["id"], row["answers"]["text"]))
    if not rows:
        raise ValueError("dataset has no rows to score.")
    return rows


def squad_v2_scores(predictions: Mapping[str, str], dataset: Iterable) -> dict[str, float]:
    """SQuAD 2.0 scores of ``predictions`` (question id -> answer text, "" for no answer) on ``dataset``.

    ``dataset``: a ``datasets.Dataset`` or a list of dicts with SQuAD v2 columns; only ``id``
    and ``answers["text"]`` are read (empty list: unanswerable). Returns, as the official
    script: ``exact`` and ``f1``, the means of :func:`exact_match` and :func:`token_f1` over all
    rows in PERCENT (0-100), ``total`` (the number of rows); the same over the rows with an
    answer, ``HasAns_exact``, ``HasAns_f1``, ``HasAns_total``, and without, ``NoAns_exact``,
    ``NoAns_f1``, ``NoAns_total`` (NoAns exact and F1 are equal: the share of them answered "").
    A group with no rows has no keys, as in the official script. Predictions for ids not in
    ``dataset`` are ignored.

    Raises TypeError for predictions that are not a dict of str (naming the id); ValueError naming (up to five)
    and counting the dataset's ids that have no prediction, and for rows without id or answers.
    """
    if not isinstance(predictions, Mapping):
        raise TypeError(f"predictions must be a dict question id -> answer text; got {type(predictions).__name__}.")
    rows = _rows(dataset)
    missing = [qid for qid, _ in rows if qid not in predictions]
    if missing:
        raise ValueError(f"{len(missing)} of the {len(rows)} questions have no prediction, e.g. {missing[:5]}; "
                         'predict every id (write "" for "no answer").')
    groups: dict[str, list[tuple[float, float]]] = {"": [], "HasAns_": [], "NoAns_": []}
    for qid, golds in rows:
        if not isinstance(predictions[qid], str):
            raise TypeError(f'the prediction for {qid!r} must be a str ("" for no answer); got '
                            f"{type(predictions[qid]).__name__}. Turn token spans into text with answer_text.")
        scores = exact_match(predictions[qid], golds), token_f1(predictions[qid], golds)
        groups[""].append(scores)
        groups["HasAns_" if golds else "NoAns_"].append(scores)
    out: dict[str, float] = {}
    for prefix, scores in groups.items():
        if scores:
            out[f"{prefix}exact"] = 100.0 * sum(em for em, _ in scores) / len(scores)
            out[f"{prefix}f1"] = 100.0 * sum(f1 for _, f1 in scores) / len(scores)
            out[f"{prefix}total"] = len(scores)
    return out
