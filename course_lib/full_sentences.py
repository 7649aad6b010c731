"""Inputs without next-sentence prediction: RoBERTa's FULL-SENTENCES and ALBERT's sentence order (lesson 09).

RoBERTa (Liu et al. 2019, section 4.2, Table 2) compares BERT's SEGMENT-PAIR input (two segments,
NSP) with inputs that drop NSP. Its FULL-SENTENCES input: "each input is packed with full
sentences sampled contiguously from one or more documents, such that the total length is at most
512 tokens. Inputs may cross document boundaries. When we reach the end of one document, we begin
sampling sentences from the next document and add an extra separator token between documents."
One segment, no segment B, no NSP label: :func:`full_sentences` packs them, in BERT's tokens.

ALBERT (Lan et al. 2020, section 3.1) keeps a second objective but changes what it asks:
sentence-order prediction (SOP) takes two CONSECUTIVE segments of one document, in their order
(positive) or swapped (negative), so topic cannot give the answer away, only coherence can
(NSP's negatives come from another document, and telling topics apart is easier).
:func:`sop_pairs` makes them; they plug into ``mini_bert.pretraining_dataset(make_pairs=sop_pairs)``
and train BERT's 2-way head on the pooled [CLS] state, as ALBERT's SOP head is built.

:func:`full_sentences_dataset` packs a split of the course's documents as a ``datasets.Dataset``.
Labels follow HF: ``sentence_order_label`` 0 = the segments in their order, 1 = swapped
(``AlbertForPreTraining``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

import torch

from course_lib.arguments import check_int
from course_lib.pretraining import nsp_pairs
from course_lib.wordpiece import WordPieceTokenizer

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset

__all__ = ["IN_ORDER", "SWAPPED", "full_sentences", "SOPPair", "sop_pairs", "full_sentences_dataset"]

IN_ORDER, SWAPPED = 0, 1  # sentence_order_label values, as HF's AlbertForPreTraining


def _check_sentences(documents: object) -> list[list[list[int]]]:
    if isinstance(documents, (str, bytes)) or not isinstance(documents, Sequence):
        raise TypeError("documents must be a list of documents, each a list of sentences of token ids.")
    out = []
    for d, document in enumerate(documents):
        sentences = document["sentences"] if isinstance(document, Mapping) else document
        if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Sequence):
            raise TypeError(f"document {d} must be a list of sentences, each a list of token ids; "
                            f"got {type(sentences).__name__}.")
        for sentence in sentences:
            if isinstance(sentence, (str, bytes)) or not isinstance(sentence, Sequence) or not all(
                isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in sentence
            ):
                raise TypeError(f"a sentence of document {d} must be a list of non-negative int token ids "
                                f"(tokenize it first); got {sentence!r:.80}.")
        out.append([list(sentence) for sentence in sentences])
    return out


def full_sentences(
    documents: Sequence[Sequence[Sequence[int]] | Mapping],
    max_length: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    *,
    padding: bool = True,
) -> list[dict[str, list[int]]]:
    """RoBERTa's FULL-SENTENCES inputs: whole sentences packed in order, across documents.

    ``documents``: in order, each a list of sentences (lists of token ids) or a mapping with
    ``"sentences"``. Sentences are taken one after the other, through the documents in order, and
    packed into ``[CLS] s1 s2 ... [SEP]`` rows of at most ``max_length`` tokens; where one document
    ends and the next begins inside a row, a ``[SEP]`` separates them. A sentence that does not fit
    starts the next row (nothing is split or dropped), except one longer than a row on its own
    (``max_length - 2`` tokens), which gets a row cut to that size. Empty sentences are skipped.

    Returns one dict per row, ``bert_inputs``' columns: ``input_ids``; ``token_type_ids`` all 0
    (no segment B); ``attention_mask``; ``special_tokens_mask`` 1 on [CLS], every [SEP] and
    padding; right-padded to ``max_length`` with ``padding``. No ``next_sentence_label``.
    ValueError if ``max_length`` < 3; TypeError for documents that are not lists of sentences of ids.
    """
    docs = _check_sentences(documents)
    check_int("max_length", max_length, "tokens per row: [CLS], at least one token and [SEP]", minimum=3)
    capacity = max_length - 2
    rows: list[tuple[list[int], list[int]]] = []  # (tokens between [CLS] and the final [SEP], 1 on separators)
    current: list[int] = []
    separators: list[int] = []
    current_document = -1
    for d, document in enumerate(docs):
        for sentence in document:
            if not sentence:
                continue
            boundary = bool(current) and d != current_document
            if current and len(current) + boundary + len(sentence) > capacity:
                rows.append((current, separators))
                current, separators, boundary = [], [], False
            piece = ([sep_id] if boundary else []) + sentence
            current += piece[:capacity]
            separators += [1] * boundary + [0] * (len(piece[:capacity]) - boundary)
            current_document = d
    if current:
        rows.append((current, separators))

    out = []
    for content, separator in rows:
        input_ids = [cls_id, *content, sep_id]
        pad = max_length - len(input_ids) if padding else 0
        out.append({"input_ids": input_ids + [pad_id] * pad, "token_type_ids": [0] * (len(input_ids) + pad),
                    "attention_mask": [1] * len(input_ids) + [0] * pad,
                    "special_tokens_mask": [1, *separator, 1] + [1] * pad})
    return out


class SOPPair(NamedTuple):
    """One sentence-order example: (tokens_a, tokens_b, sentence_order_label), 0 = in order, 1 = swapped.

    A 3-tuple, so it is also what ``mini_bert.pretraining_dataset(make_pairs=...)`` expects.
    """

    tokens_a: list[int]
    tokens_b: list[int]
    sentence_order_label: int


def sop_pairs(
    documents: Sequence[Sequence[Sequence[int]] | Mapping],
    generator: torch.Generator,
    *,
    sentences_per_segment: int = 1,
    swap_probability: float = 0.5,
) -> list[SOPPair]:
    """ALBERT's sentence-order pairs: two consecutive segments of a document, swapped half the time.

    The segments are ``nsp_pairs``' true continuations (segment A is ``sentences_per_segment``
    sentences from sentence 0, k, 2k, ... of each document while 2k sentences remain, B the k
    after it): every pair comes from ``nsp_pairs(documents, generator, sentences_per_segment=k,
    random_probability=0.0)``. Then, in order, ``torch.rand(1, generator=generator)`` below
    ``swap_probability`` swaps the pair into (B, A) with label 1; else it stays (A, B) with label 0.
    Both members of every pair come from the same place in the same document, so only their order
    tells the labels apart. ValueError for a bad ``swap_probability`` or ``sentences_per_segment``.
    """
    if isinstance(swap_probability, bool) or not isinstance(swap_probability, (int, float)) or not (
        0.0 <= swap_probability <= 1.0
    ):
        raise ValueError(f"swap_probability must be in [0, 1] (ALBERT: 0.5); got {swap_probability!r}.")
    pairs = nsp_pairs(_check_sentences(documents), generator, sentences_per_segment=sentences_per_segment,
                      random_probability=0.0)
    out = []
    for pair in pairs:
        if torch.rand(1, generator=generator).item() < swap_probability:
            out.append(SOPPair(pair.tokens_b, pair.tokens_a, SWAPPED))
        else:
            out.append(SOPPair(pair.tokens_a, pair.tokens_b, IN_ORDER))
    return out


def full_sentences_dataset(
    tokenizer: WordPieceTokenizer, split: str = "train", max_length: int = 64, seed: int = 0, *,
    n_documents: int | None = None, pack: Callable[..., list[dict[str, list[int]]]] | None = None,
) -> Dataset:
    """A split of ``document_corpus(seed=seed)`` packed by :func:`full_sentences`, as a ``datasets.Dataset``.

    The documents in the corpus's order (the first ``n_documents`` if given), each sentence
    tokenized word by word with ``tokenizer`` (as ``mini_bert.pretraining_dataset``), packed into
    rows of ``max_length`` by ``pack`` (:func:`full_sentences` if None, or yours with its signature). Columns ``input_ids``, ``token_type_ids``, ``attention_mask``,
    ``special_tokens_mask``, each a list of ``max_length`` ints; no ``next_sentence_label``.
    With lesson 07's vocabulary the train split gives about 4,900 rows of 64 tokens, 92% of them
    real tokens, where ``pretraining_dataset``'s pairs give 24,700 rows, 35% real: the same text in
    fewer, fuller rows. A second or two. TypeError for another
    tokenizer; the corpus's errors for a bad split.
    """
    import datasets

    from course_lib.data.documents import document_corpus

    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer (mini_bert.train_vocabulary()); "
                        f"got {type(tokenizer).__name__}.")
    corpus = document_corpus(seed=seed, split=split)
    if n_documents is not None:
        check_int("n_documents", n_documents, "documents of the split to pack")
        corpus = corpus.select(range(min(n_documents, len(corpus))))
    cache: dict[str, list[int]] = {}

    def ids(word: str) -> list[int]:
        if word not in cache:
            cache[word] = tokenizer.encode(word)
        return cache[word]

    documents = [[[i for word in sentence for i in ids(word)] for sentence in words] for words in corpus["words"]]
    rows = (pack or full_sentences)(documents, max_length, tokenizer.cls_token_id, tokenizer.sep_token_id,
                                    tokenizer.pad_token_id)
    columns = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")
    return datasets.Dataset.from_dict({column: [row[column] for row in rows] for column in columns})
