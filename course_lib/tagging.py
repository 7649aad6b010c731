"""Sequence labelling with WordPiece: one label per WORD, read from its first sub-token (lesson 08).

Tagging data (CoNLL-2003) labels words; BERT sees pieces ("Okonkwo" -> ok ##on ##k ##wo). Devlin et
al. (2019), section 5.3: "we use the representation of the first sub-token as the input to the
token-level classifier over the NER label set". So:

- :func:`align_labels`: the first token of each word carries the word's label; the word's other
  pieces, [CLS], [SEP] and padding get -100 (no loss). Labelling the other pieces as well (with the
  word's tag, or with I- for a B- word) trains on positions the evaluation never reads.
- :func:`word_predictions`: the inverse, each word's prediction read from its first token.
- :func:`tagging_features`: one sentence as BERT's input with its aligned labels.
- :func:`entity_f1`: entity-level micro F1, as the CoNLL-2003 shared task scores (Tjong Kim Sang
  and De Meulder, 2003): an entity counts only when its type and both of its ends are right. It is
  computed by seqeval (its default mode follows the shared task's ``conlleval`` script);
  :func:`entities` lists the entities of one sentence the same way, to show errors.

The model is ``course_lib.finetuning.BertForTokenClassification``; batches are padded with
``course_lib.finetuning.pad_batch`` (labels with -100).
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral

from torch import Tensor

from course_lib.pretraining import IGNORE_INDEX, bert_inputs
from course_lib.wordpiece import WordPieceTokenizer

__all__ = ["align_labels", "word_predictions", "tagging_features", "entities", "entity_scores", "entity_f1"]


def _check_word_ids(word_ids: object) -> list[int | None]:
    """Word ids in order: None (special or padding) or an int >= 0 that never goes back to an earlier word."""
    if isinstance(word_ids, (str, Tensor)) or not isinstance(word_ids, Sequence):
        raise TypeError(f"word_ids must be a list of int or None, one per token (tagging_features' 'word_ids'); "
                        f"got {type(word_ids).__name__}.")
    last = -1
    for k, w in enumerate(word_ids):
        if w is None:
            continue
        if isinstance(w, bool) or not isinstance(w, int) or w < 0:
            raise TypeError(f"word_ids[{k}] must be None or a word index (int >= 0); got {w!r}.")
        if w < last:
            raise ValueError(f"word_ids go backwards at position {k} (word {w} after word {last}): they must come "
                             f"from one sentence's words in order, as encode_words gives them.")
        last = w
    return list(word_ids)


def align_labels(word_ids: Sequence[int | None], word_labels: Sequence[int]) -> list[int]:
    """One label per token: the word's label on its FIRST token, -100 everywhere else.

    ``word_ids[k]`` is the index of the word token k came from (None for [CLS], [SEP] and padding);
    ``word_labels[w]`` is word w's label id. Continuation pieces of a word and special or padding
    positions get -100 (``IGNORE_INDEX``), so the loss is computed once per word.

    >>> align_labels([None, 0, 1, 1, 1, 2, None], [3, 1, 0])
    [-100, 3, 1, -100, -100, 0, -100]

    Raises ValueError for a word id outside ``range(len(word_labels))`` or word ids that go
    backwards, TypeError for word ids that are not None or ints, or labels that are not ints.
    """
    word_ids = _check_word_ids(word_ids)
    if isinstance(word_labels, (str, Tensor)) or not isinstance(word_labels, Sequence) or not all(
            isinstance(label, Integral) and not isinstance(label, bool) for label in word_labels):
        raise TypeError(f"word_labels must be a list of int label ids, one per word; got {word_labels!r:.80}.")
    labels, previous = [], None
    for k, w in enumerate(word_ids):
        if w is not None and w >= len(word_labels):
            raise ValueError(f"word_ids[{k}] = {w}, but there are labels for {len(word_labels)} words only "
                             f"(word ids 0..{len(word_labels) - 1}).")
        labels.append(IGNORE_INDEX if w is None or w == previous else int(word_labels[w]))
        previous = w if w is not None else previous
    return labels


def word_predictions(token_predictions: Sequence[int] | Tensor, word_ids: Sequence[int | None]) -> list[int]:
    """Each word's prediction, read from its FIRST token: the inverse of :func:`align_labels`.

    ``token_predictions`` (seq,) one predicted id per token (``logits.argmax(-1)`` of one
    sentence), ``word_ids`` the same length. Returns a list of ``max(word_ids) + 1`` ints; words a
    truncation cut away are not in ``word_ids`` and so get nothing. What the other pieces of a word
    predicted is ignored, as it was never trained.

    Raises ValueError when the lengths differ, a word between 0 and the last has no token, or the
    word ids go backwards; TypeError for a tensor that is not 1-D (pass one sentence's row).
    """
    if isinstance(token_predictions, Tensor):
        if token_predictions.dim() != 1:
            raise TypeError(f"token_predictions must be one sentence's (seq,) predictions; got shape "
                            f"{tuple(token_predictions.shape)}. Pass predictions[i] (and logits.argmax(-1), not logits).")
        token_predictions = token_predictions.tolist()
    word_ids = _check_word_ids(word_ids)
    if len(token_predictions) != len(word_ids):
        raise ValueError(f"token_predictions has {len(token_predictions)} entries for {len(word_ids)} word_ids; "
                         "give one prediction per token of the same sentence.")
    first: dict[int, int] = {}
    for prediction, w in zip(token_predictions, word_ids):
        if w is not None:
            first.setdefault(w, prediction)
    count = max(first) + 1 if first else 0
    missing = [w for w in range(count) if w not in first]
    if missing:
        raise ValueError(f"words {missing} have no token, so no prediction: a word must give at least one token.")
    return [first[w] for w in range(count)]


def tagging_features(tokenizer: WordPieceTokenizer, words: Sequence[str], word_labels: Sequence[int],
                     max_length: int) -> dict[str, list]:
    """One labelled sentence as BERT's input: ``[CLS] pieces [SEP]``, at most ``max_length`` tokens.

    Returns lists (not padded): ``input_ids``, ``token_type_ids`` (all 0), ``attention_mask``
    (all 1), ``word_ids`` (each token's word index from ``tokenizer.encode_words``, None on [CLS]
    and [SEP]), ``labels`` (:func:`align_labels`) and ``truncated``: the indices of the words
    the truncation cut away completely, which get no label and no prediction. A word cut in the
    middle keeps its label on its first piece.

    Raises ValueError when ``word_labels`` is not one label per word, for a word that gives no
    token at all (only spaces or control characters: drop it from the data), or a ``max_length``
    below 2; TypeError as ``encode_words``.
    """
    ids, token_words = tokenizer.encode_words(words)
    if isinstance(word_labels, (str, Tensor)) or not isinstance(word_labels, Sequence) or len(word_labels) != len(words):
        got = len(word_labels) if isinstance(word_labels, Sequence) else type(word_labels).__name__
        raise ValueError(f"word_labels must hold one label per word: {len(words)} words, got {got}.")
    empty = sorted(set(range(len(words))) - set(token_words))
    if empty:
        raise ValueError(f"words {[(w, words[w]) for w in empty]} give no token (only spaces or control characters), "
                         "so they could get no label: drop them from the sentence.")
    features = bert_inputs(ids, None, max_length, tokenizer.cls_token_id, tokenizer.sep_token_id,
                           tokenizer.pad_token_id, padding=False)
    kept = token_words[:len(features["input_ids"]) - 2]
    word_ids = [None, *kept, None]
    return {"input_ids": features["input_ids"], "token_type_ids": features["token_type_ids"],
            "attention_mask": features["attention_mask"], "word_ids": word_ids,
            "labels": align_labels(word_ids, word_labels),
            "truncated": list(range(kept[-1] + 1 if kept else 0, len(words)))}


# --- scoring entities ---------------------------------------------------------------------------


def _check_tags(tags: object, where: str) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, Sequence):
        raise TypeError(f"{where} must be a list of tag strings ('B-PER', 'I-PER', 'O'); got {type(tags).__name__}.")
    for k, tag in enumerate(tags):
        if not isinstance(tag, str):
            raise TypeError(f"{where}[{k}] is {tag!r}, not a tag string: map label ids to names first "
                            "(e.g. NER_TAGS[i]).")
        prefix, dash, kind = tag.partition("-")
        if tag != "O" and not (prefix in ("B", "I") and dash and kind):
            raise ValueError(f"{where}[{k}] is {tag!r}: tags must be BIO, 'O' or 'B-'/'I-' and a type.")
    return list(tags)


def entities(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of one BIO-tagged sentence as (type, first word, last word inclusive).

    Read as CoNLL-2003's ``conlleval`` (and seqeval) read them, ill-formed tags included: an entity
    starts at B-X, or at I-X that does not continue an entity of type X (after O, or after an
    entity of another type); it goes on over I-X and ends before anything else.

    >>> entities(["B-PER", "I-PER", "O", "I-LOC", "B-LOC", "I-ORG"])
    [('PER', 0, 1), ('LOC', 3, 3), ('LOC', 4, 4), ('ORG', 5, 5)]

    Raises TypeError for tags that are not strings (ids, or a whole corpus), ValueError for tags
    other than O, B-type, I-type.
    """
    found: list[tuple[str, int, int]] = []
    start, kind = None, ""
    for k, tag in enumerate(_check_tags(tags, "tags") + ["O"]):
        prefix, _, tag_kind = tag.partition("-")
        if start is not None and not (prefix == "I" and tag_kind == kind):
            found.append((kind, start, k - 1))
            start = None
        if prefix == "B" or (prefix == "I" and start is None):
            start, kind = k, tag_kind
    return found


def entity_scores(true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> dict[str, float]:
    """Entity-level micro ``precision``, ``recall`` and ``f1`` over a corpus, by seqeval.

    ``true_tags`` and ``predicted_tags``: one list of BIO tag strings per sentence, the same
    number of words in each pair. Precision = correct entities / predicted entities, recall =
    correct / gold, an entity correct when type, start and end all match. 0.0 where a count is 0.

    Raises ValueError (naming the sentence) when a prediction's length differs from its gold
    sentence's, or the corpora differ in sentence count; TypeError/ValueError for tags as :func:`entities`.
    """
    from seqeval.metrics import f1_score, precision_score, recall_score

    for name, corpus in (("true_tags", true_tags), ("predicted_tags", predicted_tags)):
        if isinstance(corpus, str) or not isinstance(corpus, Sequence) or (corpus and isinstance(corpus[0], str)):
            raise TypeError(f"{name} must be a list of sentences, each a list of tags; for one sentence pass [tags].")
    if len(true_tags) != len(predicted_tags):
        raise ValueError(f"{len(predicted_tags)} predicted sentences for {len(true_tags)} gold ones.")
    gold, predicted = [], []
    for i, (true, guess) in enumerate(zip(true_tags, predicted_tags)):
        gold.append(_check_tags(true, f"true_tags[{i}]"))
        predicted.append(_check_tags(guess, f"predicted_tags[{i}]"))
        if len(guess) != len(true):
            raise ValueError(f"sentence {i} has {len(guess)} predicted tags for {len(true)} words: predict one tag "
                             "per word (word_predictions), not per token.")
    return {name: float(score(gold, predicted, zero_division=0))
            for name, score in (("precision", precision_score), ("recall", recall_score), ("f1", f1_score))}


def entity_f1(true_tags: Sequence[Sequence[str]], predicted_tags: Sequence[Sequence[str]]) -> float:
    """Entity-level micro F1 over a corpus, as the CoNLL-2003 shared task scores it (seqeval).

    >>> entity_f1([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]])  # 1 of 2 right each way
    0.5

    Arguments and errors as :func:`entity_scores`.
    """
    return entity_scores(true_tags, predicted_tags)["f1"]
