"""Extractive question answering with BERT: features, span decoding and the no-answer threshold
(lesson 08_bert_finetuning).

Devlin et al. (2019), sections 4.2 (SQuAD v1.1) and 4.3 (SQuAD v2.0). The question and the passage
go in as one pair, ``[CLS] question [SEP] passage [SEP]``; a start vector S and an end vector E
give each passage token i the logits S.T_i and E.T_i, and the answer is the span i..j (j >= i,
both inclusive) with the highest score ``start_logits[i] + end_logits[j]``. SQuAD 2.0 (Rajpurkar,
Jia and Liang, 2018) adds questions the passage does not answer: BERT gives them the span that
starts and ends at [CLS], with score ``s_null = start_logits[0] + end_logits[0]``, and "predict[s]
a non-null answer when s_hat_ij > s_null + tau, where the threshold tau is selected on the dev set
to maximize F1".

- ``qa_features``: one (question, passage, answer) row as model inputs, character offsets and the
  gold token positions; ``answer_text`` turns a token span back into the passage's characters;
- ``best_spans``, ``null_scores``, ``predict_spans``: decoding a batch of start/end logits;
- ``choose_threshold``, ``threshold_sweep``: tau chosen on validation data, and the trade-off
  between answering (HasAns F1) and abstaining (NoAns accuracy) that it settles.

The F1 of a predicted answer string is ``course_lib.squad_metrics.token_f1``.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor

from course_lib.arguments import check_int
from course_lib.pretraining import bert_inputs
from course_lib.wordpiece import WordPieceTokenizer

__all__ = ["qa_features", "answer_text", "best_spans", "null_scores", "predict_spans", "choose_threshold",
           "threshold_sweep"]

Offset = tuple[int, int]


# --- one example as features ---------------------------------------------------------------------


def _gold_span(context: str, answers: object) -> tuple[int, int] | None:
    """The first gold answer's character span [start, end) in ``context``, or None if unanswerable."""
    if not isinstance(answers, Mapping) or "text" not in answers or "answer_start" not in answers:
        raise TypeError('answers must be a dict {"text": [...], "answer_start": [...]} (SQuAD v2 columns; empty '
                        f"lists for an unanswerable question); got {answers!r:.100}.")
    texts, starts = answers["text"], answers["answer_start"]
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not isinstance(starts, Sequence) or len(
            texts) != len(starts):
        raise ValueError('answers["text"] and answers["answer_start"] must be lists of the same length; '
                         f"got {texts!r:.60} and {starts!r:.60}.")
    if not texts:
        return None
    text, start = texts[0], starts[0]
    if not isinstance(text, str) or not text:
        raise ValueError(f"an answer must be a non-empty str (no answer is written as empty lists); got {text!r}.")
    if isinstance(start, bool) or not isinstance(start, int) or not 0 <= start <= len(context) - len(text):
        raise ValueError(f"answer_start must be an int from 0 to {len(context) - len(text)} so that the answer "
                         f"{text!r} lies inside the context ({len(context)} characters); got {start!r}.")
    found = context[start : start + len(text)]
    if found != text:
        k = next(k for k, (a, b) in enumerate(zip(text, found)) if a != b)
        raise ValueError(f"corrupted row: the answer {text!r} does not match the context at answer_start={start}: "
                         f"character {k} of the answer is {text[k]!r} but the context has {found[k]!r} there "
                         f"(context[{start}:{start + len(text)}] = {found!r}). Fix answer_start or the answer text.")
    return start, start + len(text)


def _token_span(offsets: Sequence[Offset], start: int, end: int, context: str) -> tuple[int, int]:
    """Indices of the tokens that begin at character ``start`` and end at character ``end``."""
    starts = {s: i for i, (s, _) in enumerate(offsets)}
    ends = {e: i for i, (_, e) in enumerate(offsets)}
    for char, table, which in ((start, starts, "starts"), (end, ends, "ends")):
        if char not in table:
            inside = [context[s:e] for s, e in offsets if s < char < e]
            where = f"inside the token {inside[0]!r}" if inside else "where no token begins or ends (whitespace?)"
            raise ValueError(f"the answer {context[start:end]!r} {which} at character {char}, {where}; an answer "
                             "must cover whole tokens. Fix answer_start or trim the answer text to whole words.")
    return starts[start], ends[end]


def qa_features(
    tokenizer: WordPieceTokenizer, question: str, context: str, answers: Mapping, max_length: int
) -> dict[str, list | int]:
    """One SQuAD-style row as BERT's span-QA input: ``[CLS] question [SEP] context [SEP]``, padded.

    Built with ``course_lib.pretraining.bert_inputs``; when the pair is too long only the CONTEXT
    loses tokens from its end, never the question (one window per question; HF's ``stride``
    windows are not made). Returns:

    - ``input_ids``, ``token_type_ids`` (0 on [CLS], the question and its [SEP], 1 on the context
      and the final [SEP], 0 on padding), ``attention_mask`` (1 real, 0 padding): lists of
      ``max_length`` ints;
    - ``offsets``: a list of ``max_length`` entries, for each position the (start, end) character
      span in ``context`` (end exclusive) of a context token, and None for [CLS], question
      tokens, [SEP] and padding; so ``context[start:end]`` is the token's original text;
    - ``start_positions``, ``end_positions``: ints, the positions of the first and the LAST
      token (inclusive) of the first gold answer (``answers["text"][0]`` at character
      ``answers["answer_start"][0]``); both 0, the [CLS] position, when ``answers`` has empty
      lists (unanswerable) and when truncation cut any part of the answer off, as SQuAD 2.0
      training does (the model is taught "no answer in this window").

    ``answer_text(context, f["offsets"], f["start_positions"], f["end_positions"])`` gives back
    the answer exactly. Raises TypeError for a tokenizer that is not a WordPieceTokenizer, a
    question or context that is not a str, or ``answers`` that is not a dict of the two lists;
    ValueError if the question does not leave room for one context token (3 special tokens +
    question + 1 <= max_length), if the answer does not match ``context`` at ``answer_start``
    (naming the first differing character), or if it starts or ends inside a token.
    """
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer; got {type(tokenizer).__name__}.")
    for name, text in (("question", question), ("context", context)):
        if not isinstance(text, str):
            raise TypeError(f"{name} must be a str (one example at a time); got {type(text).__name__}.")
    check_int("max_length", max_length, "the length of [CLS] question [SEP] context [SEP] with padding", minimum=4)
    gold = _gold_span(context, answers)
    question_ids = tokenizer.encode(question)
    context_ids, offsets = tokenizer.encode_with_offsets(context)
    room = max_length - 3 - len(question_ids)
    if room < 1:
        raise ValueError(f"the question is {len(question_ids)} tokens long, which leaves no room for the context in "
                         f"max_length={max_length} (3 special tokens + question + at least 1 context token): "
                         f"raise max_length to at least {len(question_ids) + 4} or shorten the question.")
    kept = min(room, len(context_ids))
    features: dict[str, list | int] = bert_inputs(
        question_ids, context_ids[:kept], max_length, tokenizer.cls_token_id, tokenizer.sep_token_id,
        tokenizer.pad_token_id)
    del features["special_tokens_mask"]
    first = len(question_ids) + 2  # the position of the first context token
    padding = [None] * (max_length - first - kept)  # the final [SEP] and the padding
    features["offsets"] = [None] * first + [tuple(span) for span in offsets[:kept]] + padding
    start = end = 0
    if gold is not None:
        start_token, end_token = _token_span(offsets, *gold, context)
        if end_token < kept:
            start, end = first + start_token, first + end_token
    features["start_positions"], features["end_positions"] = start, end
    return features


def answer_text(context: str, offsets: Sequence[Offset | None], start: int, end: int) -> str:
    """The characters of ``context`` that the token span ``start..end`` (both inclusive) covers.

    ``offsets`` is ``qa_features(...)["offsets"]``; ``start`` and ``end`` are positions (ints or
    0-d integer tensors). Returns "" for start = end = 0, the no-answer span at [CLS]. Raises
    ValueError if ``start > end`` or either position is not a context token (its offset is None).
    """
    start, end = operator.index(start), operator.index(end)
    if start == end == 0:
        return ""
    if not 0 <= start <= end < len(offsets):
        raise ValueError(f"need 0 <= start <= end < {len(offsets)} (the number of positions); got {start}, {end}.")
    for name, position in (("start", start), ("end", end)):
        if offsets[position] is None:
            raise ValueError(f"{name}={position} is not a context token ([CLS], the question, [SEP] or padding): "
                             "an answer must begin and end in the passage.")
    return context[offsets[start][0] : offsets[end][1]]


# --- decoding a batch of logits -------------------------------------------------------------------


def _check_logits(start_logits: object, end_logits: object) -> None:
    for name, logits in (("start_logits", start_logits), ("end_logits", end_logits)):
        if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.dim() != 2:
            got = f"{logits.dtype} {tuple(logits.shape)}" if isinstance(logits, Tensor) else type(logits).__name__
            raise TypeError(f"{name} must be a float tensor (batch, seq), one logit per position; got {got}.")
        if not torch.isfinite(logits).all():
            raise ValueError(f"{name} must be finite (mask positions with passage_mask, not with -inf).")
    if start_logits.shape != end_logits.shape:
        raise ValueError(f"start_logits {tuple(start_logits.shape)} and end_logits {tuple(end_logits.shape)} "
                         "must have the same shape (batch, seq).")


def best_spans(
    start_logits: Tensor, end_logits: Tensor, passage_mask: Tensor, max_answer_length: int
) -> tuple[Tensor, Tensor, Tensor]:
    """The highest-scoring answer span of each row (BERT, section 4.2).

    ``start_logits``, ``end_logits``: (batch, seq) float. ``passage_mask``: (batch, seq) bool,
    True where a span may start or end (the passage tokens: ``token_type_ids == 1`` less the
    final [SEP], or the positions whose offset is not None). Over every (i, j) with
    ``passage_mask[i]`` and ``passage_mask[j]`` True and ``0 <= j - i < max_answer_length``
    (so i <= j and at most ``max_answer_length`` tokens), the span with the largest
    ``start_logits[i] + end_logits[j]``; ties go to the smallest i, then the smallest j.
    Returns ``(starts, ends, scores)``: (batch,) int64, (batch,) int64 (inclusive), (batch,)
    float, on the logits' device. Computed on a (batch, seq, seq) score matrix, so memory grows
    as batch * seq**2 (about 15 MB for 64 rows of 160 positions): decode a large set in batches.

    Raises TypeError for logits that are not (batch, seq) float tensors or a mask that is not
    bool, ValueError for shapes that differ, non-finite logits, a row with no passage token, or a
    ``max_answer_length`` that is not a positive int.
    """
    _check_logits(start_logits, end_logits)
    if not isinstance(passage_mask, Tensor) or passage_mask.dtype != torch.bool:
        got = passage_mask.dtype if isinstance(passage_mask, Tensor) else type(passage_mask).__name__
        raise TypeError(f"passage_mask must be a bool tensor (True on passage tokens); got {got}. "
                        "From token_type_ids use (token_type_ids == 1), without the final [SEP].")
    if passage_mask.shape != start_logits.shape:
        raise ValueError(f"passage_mask {tuple(passage_mask.shape)} must have the logits' shape "
                         f"{tuple(start_logits.shape)}.")
    empty = (~passage_mask.any(dim=1)).nonzero().flatten().tolist()
    if empty:
        raise ValueError(f"rows {empty[:10]} have no passage token in passage_mask, so no span can be chosen: "
                         "the question filled the window or the mask is wrong.")
    check_int("max_answer_length", max_answer_length, "the most tokens an answer may have")
    seq = start_logits.shape[1]
    offset = torch.arange(seq, device=start_logits.device)
    length = offset[None, :] - offset[:, None]  # j - i at [i, j]
    band = (length >= 0) & (length < max_answer_length)
    allowed = band & passage_mask[:, :, None] & passage_mask[:, None, :]
    scores = (start_logits[:, :, None] + end_logits[:, None, :]).masked_fill(~allowed, -math.inf)
    best, flat = scores.flatten(1).max(dim=1)  # the first maximum: smallest i, then smallest j
    return flat // seq, flat % seq, best


def null_scores(start_logits: Tensor, end_logits: Tensor) -> Tensor:
    """s_null = ``start_logits[:, 0] + end_logits[:, 0]``, the no-answer span at [CLS]; (batch,) float.

    Raises as ``best_spans`` for logits that are not matching (batch, seq) float tensors.
    """
    _check_logits(start_logits, end_logits)
    return start_logits[:, 0] + end_logits[:, 0]


def predict_spans(
    start_logits: Tensor, end_logits: Tensor, passage_mask: Tensor, max_answer_length: int, threshold: float
) -> tuple[Tensor, Tensor]:
    """SQuAD 2.0 predictions (BERT, section 4.3): the best span where its score > s_null + threshold,
    else (0, 0), the no-answer span.

    Arguments as ``best_spans``; ``threshold`` is tau, a float (from ``choose_threshold`` on
    validation data; 0.0 compares the scores as they are). Returns ``(starts, ends)``, (batch,)
    int64, inclusive; (0, 0) means "no answer". Raises as ``best_spans``, and TypeError for a
    threshold that is not a real number (NaN: ValueError).
    """
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)):
        raise TypeError(f"threshold must be a float (tau); got {type(threshold).__name__}.")
    if math.isnan(threshold):
        raise ValueError("threshold must not be NaN.")
    starts, ends, scores = best_spans(start_logits, end_logits, passage_mask, max_answer_length)
    answered = scores > null_scores(start_logits, end_logits) + threshold
    return starts.where(answered, 0), ends.where(answered, 0)


# --- choosing tau ---------------------------------------------------------------------------------


def _vectors(score_margins: object, f1_answered: object, f1_null: object) -> tuple[Tensor, Tensor, Tensor]:
    out = []
    for name, values in (("score_margins", score_margins), ("f1_answered", f1_answered), ("f1_null", f1_null)):
        try:
            vector = torch.as_tensor(values, dtype=torch.float64).detach().cpu()
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"{name} must be a 1-D list or tensor of numbers; got {type(values).__name__}.") from error
        if vector.dim() != 1 or vector.numel() == 0:
            raise ValueError(f"{name} must be 1-D with one value per question; got shape {tuple(vector.shape)}.")
        out.append(vector)
    margins, answered, null = out
    if not margins.shape == answered.shape == null.shape:
        raise ValueError(f"score_margins, f1_answered and f1_null must have one value per question each; got "
                         f"{len(margins)}, {len(answered)} and {len(null)}.")
    if not torch.isfinite(margins).all():
        raise ValueError("score_margins must be finite (best span score - s_null).")
    if not (((answered >= 0) & (answered <= 1)).all() and ((null >= 0) & (null <= 1)).all()):
        raise ValueError("f1_answered and f1_null must be F1 values in [0, 1] (token_f1 gives them), not percentages.")
    return margins, answered, null


def choose_threshold(score_margins: Sequence[float] | Tensor, f1_answered: Sequence[float] | Tensor,
                     f1_null: Sequence[float] | Tensor) -> tuple[float, float]:
    """The threshold tau that maximises the mean F1 of ``predict_spans``' rule, and that mean F1.

    Per question: ``score_margins`` = best span score - s_null; ``f1_answered`` = the F1 of the
    best span's text (``token_f1(text, golds)``); ``f1_null`` = the F1 of answering "no answer"
    (``token_f1("", golds)``: 1 for an unanswerable question, else 0). A question is answered
    when its margin > tau. The mean F1 only changes at the margins, so the candidates are every
    distinct margin (the questions with a larger margin are answered) and -inf (all answered);
    the largest margin means none answered. Sorting once and a cumulative sum score them all,
    O(n log n). Ties: the LARGEST tau among the best, i.e. the fewest answers (as the official
    SQuAD 2.0 script's ``find_best_thresh`` keeps the first best it meets).

    Returns ``(tau, mean F1)``, two floats, the F1 in [0, 1] (not a percentage). Raises TypeError
    or ValueError for inputs that are not three 1-D sequences of one length, non-finite margins,
    or F1 values outside [0, 1].
    """
    margins, answered, null = _vectors(score_margins, f1_answered, f1_null)
    order = margins.argsort(descending=True, stable=True)
    sorted_margins = margins[order]
    gain = torch.cat([torch.zeros(1, dtype=torch.float64), (answered - null)[order].cumsum(0)])  # answer top k
    taus = torch.cat([sorted_margins, torch.tensor([-math.inf], dtype=torch.float64)])  # tau for top k: margin k
    # answering the top k is possible only where the k-th and (k+1)-th margins differ
    valid = torch.cat([torch.tensor([True]), sorted_margins[:-1] > sorted_margins[1:], torch.tensor([True])])
    best = gain.masked_fill(~valid, -math.inf).argmax()  # the first best: fewest answers
    return taus[best].item(), ((null.sum() + gain[best]) / len(margins)).item()


def threshold_sweep(
    score_margins: Sequence[float] | Tensor,
    f1_answered: Sequence[float] | Tensor,
    f1_null: Sequence[float] | Tensor,
    has_answer: Sequence[bool] | Tensor,
    thresholds: Sequence[float] | Tensor,
) -> dict[str, Tensor]:
    """How answering trades against abstaining as tau moves: for each threshold in ``thresholds``,
    the mean F1 over all questions, over the answerable ones and the share of unanswerable ones
    that get "no answer".

    The first three arguments as ``choose_threshold``; ``has_answer``: True for a question with
    a gold answer. Returns float64 tensors of ``len(thresholds)``: ``threshold``, ``f1`` (all
    questions), ``HasAns_f1`` and ``NoAns_accuracy`` (margin <= tau), all in [0, 1].
    Raises as ``choose_threshold``, and ValueError if ``has_answer`` does not have one bool per
    question or holds only one kind (both HasAns and NoAns questions are needed).
    """
    margins, answered, null = _vectors(score_margins, f1_answered, f1_null)
    has = torch.as_tensor(has_answer).cpu()
    if has.dtype != torch.bool or has.shape != margins.shape:
        raise ValueError(f"has_answer must hold one bool per question ({len(margins)}); got {has.dtype} "
                         f"{tuple(has.shape)}.")
    if has.all() or not has.any():
        raise ValueError("has_answer must contain both answerable (True) and unanswerable (False) questions.")
    taus = torch.as_tensor(thresholds, dtype=torch.float64).cpu()
    if taus.dim() != 1 or taus.numel() == 0 or taus.isnan().any():
        raise ValueError(f"thresholds must be a non-empty 1-D list of numbers; got shape {tuple(taus.shape)}.")
    answers = margins[None, :] > taus[:, None]  # (thresholds, questions)
    f1 = torch.where(answers, answered, null)
    return {"threshold": taus, "f1": f1.mean(1), "HasAns_f1": f1[:, has].mean(1),
            "NoAns_accuracy": (~answers[:, ~has]).double().mean(1)}
