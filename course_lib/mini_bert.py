"""The course's mini-BERT: vocabulary, data, recipe, pretraining, evaluation, checkpoint (lesson 07).

BERT (Devlin et al., 2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding") pretrains a Transformer encoder with a masked language model (predict the 15% of
tokens chosen, 80% of them hidden behind [MASK]) and next-sentence prediction (does segment B
follow A in its document?). Here that recipe runs at laptop scale on the course's documents, with
lesson 07's ``wordpiece``, ``pretraining`` and ``bert``: :func:`train_vocabulary` (the corpus has
437 distinct words, so every word is whole at 1,440 entries; the default 1,300 leaves names, places
and some words in pieces), :func:`pretraining_dataset` (NSP pairs as ``bert_inputs`` columns),
:class:`Recipe` and :func:`pretrain` (AdamW, warm-up then linear decay, a fresh mask per batch),
:func:`mlm_accuracy` and :func:`nsp_accuracy` (held out), and :func:`load_mini_bert`, the shipped
checkpoint in ``assets/mini_bert/`` (HF ``BertForPreTraining`` names: ``transformers`` reads it
too). ``python -m course_lib.mini_bert`` remakes it from :data:`RECIPE` in BERT's two phases
(appendix A.2): most steps on short pairs, the last 10% on long ones, to train the positions
whole documents need; about 200 s of one core, on which two runs wrote byte-identical files.
Probes and controlled experiments are in ``course_lib.mlm_probes``.

Vocabularies made here start with ``SPECIAL_TOKENS`` ([PAD] 0, [UNK] 1, [CLS] 2, [SEP] 3, [MASK] 4),
so a function given a dataset but no tokenizer knows [MASK]; for another vocabulary pass ``mask_token_id``.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from course_lib.arguments import check_int
from course_lib import checkpoints
from course_lib.bert import BertConfig, BertForPreTraining
from course_lib.data.documents import document_corpus
from course_lib.pretraining import IGNORE_INDEX, bert_inputs, mask_tokens, nsp_loss, nsp_pairs
from course_lib.training import History, inference, model_device, train
from course_lib.wordpiece import SPECIAL_TOKENS, WordPieceTokenizer, count_words, train_wordpiece

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset

__all__ = [
    "PAD_ID", "CLS_ID", "SEP_ID", "MASK_ID", "COLUMNS", "ASSET_DIR", "LESSON_STEPS", "Recipe", "RECIPE",
    "train_vocabulary", "pretraining_dataset", "within_topics", "new_model", "batches", "pretraining_loss",
    "run_pretraining", "pretrain", "evaluation_batches", "mlm_accuracy", "nsp_accuracy",
    "make_mini_bert", "save_mini_bert", "load_mini_bert",
]

PAD_ID, CLS_ID, SEP_ID, MASK_ID = (SPECIAL_TOKENS.index(t) for t in ("[PAD]", "[CLS]", "[SEP]", "[MASK]"))
COLUMNS = ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask", "next_sentence_label")
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "mini_bert"
BLOCK = 200  # documents per block of pretraining_dataset; negatives come from the same block
MaskFn = Callable[..., tuple[Tensor, Tensor]]  # mask_tokens' signature
PairFn = Callable[[list[list[list[int]]], torch.Generator], Sequence[tuple[list[int], list[int], int]]]  # the exercise's nsp_pairs
# (full, fast) steps of lesson 07's runs, measured by benchmarks/mini_bert.py; pass them to training.budget.
# "pretrain": the learner's mini-BERT (NSP measured along the way) and the left-to-right model, at equal steps;
# "mask_pair": each of the two masking arms (80/10/10 against always [MASK]).
LESSON_STEPS = {"pretrain": (1500, 4), "mask_pair": (400, 4)}


# --- the recipe ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """How the course's mini-BERT is made (``assets/mini_bert/recipe.json`` records it).

    Sizes are ``BertConfig``'s; no dropout, as the runs are far too short to overfit 25,000 pairs
    masked afresh (BERT: 0.1). ``steps`` of ``batch_size`` pairs; :func:`run_pretraining`'s optimiser
    with ``lr``, ``warmup``, ``weight_decay``. The last ``long_fraction`` of the steps read pairs of
    ``long_sentences`` sentences per segment (up to ``max_position_embeddings`` tokens), the others
    one sentence per segment (up to ``max_length``). ``seed``: corpus, weights, batches and masks.
    """

    vocab_size: int = 1300
    hidden_size: int = 64
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    intermediate_size: int = 256
    hidden_dropout_prob: float = 0.0
    max_position_embeddings: int = 160
    max_length: int = 64
    long_sentences: int = 4
    long_fraction: float = 0.1
    negatives: str = "other_document"
    objective: str = "mlm+nsp"
    steps: int = 6000
    batch_size: int = 32
    lr: float = 3e-3
    warmup: float = 0.1
    weight_decay: float = 0.01
    seed: int = 0

    def config(self, vocab_size: int) -> BertConfig:
        """The ``BertConfig`` for a vocabulary of ``vocab_size`` entries (the tokenizer's)."""
        return BertConfig(vocab_size=vocab_size, hidden_size=self.hidden_size,
                          num_hidden_layers=self.num_hidden_layers, num_attention_heads=self.num_attention_heads,
                          intermediate_size=self.intermediate_size, hidden_dropout_prob=self.hidden_dropout_prob,
                          max_position_embeddings=self.max_position_embeddings, pad_token_id=PAD_ID)


RECIPE = Recipe()


# --- the vocabulary and the data ----------------------------------------------------------------


@functools.cache
def _word_counts(seed: int) -> Counter:
    return count_words(document_corpus(seed=seed, split="train")["text"], lowercase=True)


def train_vocabulary(
    vocab_size: int = RECIPE.vocab_size, seed: int = 0,
    trainer: Callable[[Mapping[str, int], int], Sequence[str]] = train_wordpiece,
) -> WordPieceTokenizer:
    """A lowercased WordPiece tokenizer of at most ``vocab_size`` entries, learned on the train split.

    ``trainer(word_counts, vocab_size)`` (``train_wordpiece``, or yours) gets the lowercased words
    of the train documents of ``document_corpus(seed=seed)`` with their counts (``count_words``) and
    returns the tokens in id order. A second or so. ValueError unless the vocabulary starts with
    ``SPECIAL_TOKENS`` in that order.
    """
    check_int("vocab_size", vocab_size, "the number of vocabulary entries")
    vocab = list(trainer(Counter(_word_counts(seed)), vocab_size))
    if vocab[: len(SPECIAL_TOKENS)] != list(SPECIAL_TOKENS):
        raise ValueError(f"the trainer's vocabulary must start with the special tokens {list(SPECIAL_TOKENS)}, in "
                         f"that order (train_wordpiece's default); it starts with {vocab[:len(SPECIAL_TOKENS)]}.")
    return WordPieceTokenizer(vocab, lowercase=True)


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    import datasets

    enabled = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if enabled:
            datasets.enable_progress_bars()


def pretraining_dataset(
    tokenizer: WordPieceTokenizer, split: str = "train", max_length: int = 64, negatives: str = "other_document",
    seed: int = 0, encode: Callable[..., Mapping[str, list[int]]] | None = None, *,
    n_documents: int | None = None, sentences_per_segment: int = 1, make_pairs: PairFn | None = None,
) -> Dataset:
    """NSP pairs of one split of the corpus as BERT inputs: a ``datasets.Dataset``, one row per pair.

    One ``Dataset.map(batched=True)`` over blocks of 200 documents of ``document_corpus(seed=seed)``
    (the first ``n_documents``, if given; ``nsp_pairs`` scans every document per negative, so blocks
    keep it linear): sentences tokenized, paired by ``nsp_pairs`` (``sentences_per_segment`` each;
    half the time B is from another document of the block: any with ``negatives="other_document"``,
    one of A's topic with ``"same_topic"``; draws seeded with ``seed``), each pair turned into
    ``encode(tokens_a, tokens_b, max_length, cls_id, sep_id, pad_id)``: ``bert_inputs`` or yours.
    ``make_pairs(documents, generator)``, if given, pairs the sentences instead of ``nsp_pairs``
    (lesson 07's exercise: documents as lists of sentences of ids, one sentence per segment,
    negatives from any other document; returns ``(tokens_a, tokens_b, next_sentence_label)``); with
    ``"same_topic"`` it runs on each topic's documents of the block in turn (:func:`within_topics`).
    Columns (:data:`COLUMNS`): four lists of ``max_length`` ints and ``next_sentence_label`` (0 IsNext,
    1 NotNext). Train: about 25,000 pairs in a few seconds; validation 2,500. ValueError for a bad
    split, negatives, max_length or size, or ``encode`` output without those columns.
    """
    if not isinstance(tokenizer, WordPieceTokenizer):
        raise TypeError(f"tokenizer must be a WordPieceTokenizer (train_vocabulary()); got {type(tokenizer).__name__}.")
    check_int("max_length", max_length, "positions per pair, [CLS] and two [SEP] included", minimum=3)
    if negatives not in ("other_document", "same_topic"):
        raise ValueError(f"negatives must be 'other_document' or 'same_topic'; got {negatives!r}.")
    if n_documents is not None:
        check_int("n_documents", n_documents, "documents of the split to use", minimum=2)
    if make_pairs is not None and sentences_per_segment != 1:
        raise ValueError("make_pairs pairs single sentences; leave sentences_per_segment at 1, or make_pairs out.")
    encode = encode or bert_inputs
    corpus = document_corpus(seed=seed, split=split)
    corpus = corpus if n_documents is None else corpus.select(range(min(n_documents, len(corpus))))
    generator = torch.Generator().manual_seed(seed)
    specials = (max_length, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)

    @functools.cache  # the corpus's `words` are basic_tokenize's words (tested): encode each distinct one once
    def ids(word: str) -> tuple[int, ...]:
        return tuple(tokenizer.encode(word))

    def block_to_pairs(block: dict[str, list]) -> dict[str, list]:
        documents = [{"sentences": [[i for word in sentence for i in ids(word)] for sentence in words], "topic": topic}
                     for words, topic in zip(block["words"], block["topic"])]
        if make_pairs is None:
            pairs = [(pair.tokens_a, pair.tokens_b, pair.next_sentence_label) for pair in
                     nsp_pairs(documents, generator, negatives=negatives, sentences_per_segment=sentences_per_segment)]
        else:
            sentences = [document["sentences"] for document in documents]
            pairs = (make_pairs(sentences, generator) if negatives == "other_document"
                     else within_topics(make_pairs, sentences, block["topic"], generator))
            for pair in pairs[:1]:
                if not (isinstance(pair, Sequence) and len(pair) == 3 and pair[2] in (0, 1)):
                    raise ValueError(f"make_pairs must return (tokens_a, tokens_b, next_sentence_label) triples, "
                                     f"the label 0 or 1; got {pair!r:.200}.")
        rows = [encode(tokens_a, tokens_b, *specials) for tokens_a, tokens_b, _ in pairs]
        for row in rows[:1]:
            if not isinstance(row, Mapping) or any(len(row.get(c, ())) != max_length for c in COLUMNS[:-1]):
                raise ValueError(f"encode must return a dict of {list(COLUMNS[:-1])}, each a list of max_length="
                                 f"{max_length} ints (padded, as bert_inputs does); got {row!r:.200}.")
        columns = {column: [row[column] for row in rows] for column in COLUMNS[:-1]}
        return columns | {"next_sentence_label": [int(label) for *_, label in pairs]}

    with _no_progress_bars():
        return corpus.map(block_to_pairs, batched=True, batch_size=BLOCK, remove_columns=corpus.column_names,
                          new_fingerprint=f"mini-bert-pairs-{split}-{seed}")  # in memory: never a cache key


def within_topics(make_pairs: PairFn, documents: Sequence[Sequence[Sequence[int]]], topics: Sequence[Hashable],
                  generator: torch.Generator) -> list:
    """NSP pairs whose negatives come from a document of A's topic, from ``make_pairs`` (the exercise's
    ``nsp_pairs``: negatives from any other document it is given) run on each topic's documents in turn.

    Topics in the order they first appear, all drawing from ``generator``; ``make_pairs`` must return one
    pair per sentence but the last of each document, in document order (as lesson 07's exercise states),
    and the pairs come back in the order of ``documents``. (``nsp_pairs(negatives="same_topic")`` draws
    in document order instead, so its pairs differ, with the same kind of negative.) ValueError if a
    topic's pairs do not number one per sentence but the last.
    """
    if len(topics) != len(documents):
        raise ValueError(f"one topic per document: {len(topics)} topics for {len(documents)} documents.")
    members: dict[Hashable, list[int]] = {}
    for d, topic in enumerate(topics):
        members.setdefault(topic, []).append(d)
    per_document: list[list] = [[] for _ in documents]
    for topic, indices in members.items():
        pairs = list(make_pairs([documents[d] for d in indices], generator))
        counts = [max(len(documents[d]) - 1, 0) for d in indices]
        if len(pairs) != sum(counts):
            raise ValueError(f"make_pairs gave {len(pairs)} pairs for the {len(indices)} documents of topic {topic!r}, "
                             f"which have {sum(counts)} sentences but the last: one pair per such sentence, please.")
        for d, count, end in zip(indices, counts, itertools.accumulate(counts)):
            per_document[d] = pairs[end - count:end]
    return [pair for pairs in per_document for pair in pairs]


# --- pretraining --------------------------------------------------------------------------------


def new_model(vocab_size: int, recipe: Recipe = RECIPE, seed: int | None = None) -> BertForPreTraining:
    """A new ``BertForPreTraining`` of the recipe's sizes, after ``torch.manual_seed(seed)`` (the
    recipe's if None): equal seeds, equal initial weights."""
    torch.manual_seed(recipe.seed if seed is None else seed)
    return BertForPreTraining(recipe.config(vocab_size))


def _check_dataset(dataset: object, columns: Sequence[str] = COLUMNS[:-1]) -> None:
    """A non-empty ``datasets.Dataset`` with ``columns``: by default BERT's four input columns, which
    is all MLM needs (RoBERTa's FULL-SENTENCES rows have no ``next_sentence_label``)."""
    names = getattr(dataset, "column_names", None)
    if names is None or not set(columns) <= set(names):
        raise TypeError(f"dataset must be a datasets.Dataset with the columns {list(columns)} "
                        f"(pretraining_dataset()); got a {type(dataset).__name__} with {names}.")
    if len(dataset) == 0:
        raise ValueError("dataset has no rows.")


def _mask_token_id(dataset: Dataset, mask_token_id: int | None) -> int:
    """[MASK]'s id: the given one, or the course vocabularies' when the dataset uses their [CLS]."""
    if mask_token_id is not None:
        return mask_token_id
    if dataset[0]["input_ids"][0] != CLS_ID:
        raise ValueError(f"this dataset's [CLS] is not id {CLS_ID}, so it was not made with a course vocabulary "
                         "(train_vocabulary()): pass mask_token_id=tokenizer.mask_token_id.")
    return MASK_ID


def _tensors(rows: Mapping[str, list], device: torch.device) -> dict[str, Tensor]:
    """Columns of equal-length rows as long tensors, cut after the last real position of any row."""
    out = {column: torch.tensor(values, dtype=torch.long) for column, values in rows.items()}
    length = int(out["attention_mask"].sum(1).max())
    return {column: (t[:, :length] if t.dim() == 2 else t).to(device) for column, t in out.items()}


def _masked(batch: dict[str, Tensor], mask_fn: MaskFn | None, vocab_size: int, mask_token_id: int,
            generator: torch.Generator) -> dict[str, Tensor]:
    special = batch.pop("special_tokens_mask")
    if mask_fn is not None:
        batch["input_ids"], batch["labels"] = mask_fn(batch["input_ids"], special, vocab_size, mask_token_id, generator)
    return batch


def batches(
    dataset: Dataset, batch_size: int, seed: int, vocab_size: int, mask_token_id: int | None = None,
    mask_fn: MaskFn | None = mask_tokens, device: torch.device | str = "cpu",
) -> Callable[[int], dict[str, Tensor]]:
    """``step -> batch`` for ``training.train``: the rows shuffled, epoch after epoch, masked afresh.

    Order: a ``torch.randperm`` per epoch from ``torch.Generator().manual_seed(seed)``; masks: from a
    generator seeded from that one, so equal seeds give every arm the same rows in the same order,
    whatever its ``mask_fn``. Long tensors ``input_ids``, ``token_type_ids``, ``attention_mask``
    (batch, seq) cut after the longest real row, ``next_sentence_label`` (batch,) and ``labels``
    from ``mask_fn(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)``
    (``mask_tokens``' signature); with ``mask_fn=None``, whole ids and no labels.
    """
    _check_dataset(dataset)
    check_int("batch_size", batch_size, "pairs per step")
    mask_id = _mask_token_id(dataset, mask_token_id) if mask_fn is not None else -1
    rows, order = dataset.with_format(None), []
    shuffle = torch.Generator().manual_seed(seed)
    masks = torch.Generator().manual_seed(int(torch.randint(2**62, (1,), generator=shuffle)))

    def batch(step: int) -> dict[str, Tensor]:
        while len(order) < batch_size:
            order.extend(torch.randperm(len(rows), generator=shuffle).tolist())
        picked = [order.pop(0) for _ in range(batch_size)]
        return _masked(_tensors(rows[picked], torch.device(device)), mask_fn, vocab_size, mask_id, masks)

    return batch


def pretraining_loss(objective: str) -> Callable[[BertForPreTraining, dict[str, Tensor]], Tensor]:
    """``loss(model, batch)`` for ``objective``: ``"mlm+nsp"`` (BERT: the MLM loss over the chosen
    positions plus the NSP loss), ``"mlm"`` (no NSP, as RoBERTa) or ``"nsp"`` (NSP alone, on
    unmasked batches: the MLM head is not run). ValueError for another objective."""
    if objective not in ("mlm+nsp", "mlm", "nsp"):
        raise ValueError(f"objective must be 'mlm+nsp' (BERT), 'mlm' or 'nsp' (one loss alone); got {objective!r}.")

    def loss(model: BertForPreTraining, b: dict[str, Tensor]) -> Tensor:
        if "nsp" in objective and "next_sentence_label" not in b:
            raise KeyError(f"objective {objective!r} needs next_sentence_label, which this dataset has not "
                           "(FULL-SENTENCES rows, say): use objective='mlm'.")
        if objective == "nsp":
            pooled = model.bert(b["input_ids"], b["token_type_ids"], b["attention_mask"]).pooler_output
            return nsp_loss(model.nsp_head(pooled), b["next_sentence_label"])
        nsp = b["next_sentence_label"] if objective == "mlm+nsp" else None
        return model(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["labels"], nsp).loss

    return loss


def run_pretraining(
    model: torch.nn.Module, batch: Callable[[int], dict[str, Tensor]],
    loss_fn: Callable[[torch.nn.Module, dict[str, Tensor]], Tensor], steps: int, lr: float,
    plot: bool, title: str, on_step: Callable[[int], None] | None = None, *,
    warmup: float = RECIPE.warmup, weight_decay: float = RECIPE.weight_decay,
) -> History:
    """``training.train`` with BERT's optimiser: AdamW (``weight_decay`` on matrices only, not on
    biases and LayerNorms), linear warm-up over the first ``warmup`` of the steps, then linear decay
    to 0 at ``steps``. ``on_step(step)``, if given, runs before each step."""
    check_int("steps", steps, "optimiser steps")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr must be a positive number (the peak learning rate); got {lr!r}.")
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                                   {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=lr)
    warm = max(1, math.ceil(warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (steps - step) / max(1, steps - warm))))

    def hooked(step: int) -> dict[str, Tensor]:
        if on_step is not None:
            on_step(step)
        return batch(step)

    return train(model, hooked, loss_fn, steps, optimizer=optimizer, scheduler=schedule, title=title, plot=plot)


def pretrain(
    model: BertForPreTraining, dataset: Dataset, steps: int, batch_size: int = 32, lr: float = RECIPE.lr,
    seed: int = 0, mask_fn: MaskFn | None = None, objective: str = "mlm+nsp", plot: bool = True,
    title: str = "pretraining the mini-BERT", *, mask_token_id: int | None = None,
    on_step: Callable[[int], None] | None = None,
) -> History:
    """Pretrain ``model`` for ``steps`` steps of ``batch_size`` pairs of ``dataset``; returns the History.

    Each batch is masked afresh (:func:`batches`) by ``mask_fn`` (``mask_tokens`` if None, or yours
    with its signature); the loss is :func:`pretraining_loss`'s for ``objective`` ("mlm+nsp",
    "mlm" or "nsp"), trained through ``training.train`` (progress bar, live loss plot with
    ``plot``) with :func:`run_pretraining`'s optimiser. ``seed`` seeds batches and masks, not the
    weights (:func:`new_model`); compare arms at equal steps, never equal wall time. ``on_step(step)``
    runs before each step (for curves). The model ends in eval mode. ValueError for bad arguments.
    """
    loss = pretraining_loss(objective)
    masking = None if objective == "nsp" else mask_fn or mask_tokens
    batch = batches(dataset, batch_size, seed, model.config.vocab_size, mask_token_id, masking, model_device(model))
    return run_pretraining(model, batch, loss, steps, lr, plot, title, on_step)


# --- evaluation ---------------------------------------------------------------------------------


def evaluation_batches(
    dataset: Dataset, n: int | None = None, seed: int = 0, *, vocab_size: int = 0,
    mask_token_id: int | None = None, mask_fn: MaskFn | None = None, batch_size: int = 200,
) -> Iterator[dict[str, Tensor]]:
    """The first ``n`` rows of ``dataset`` (all if None), in order and in batches, on the CPU; with
    ``mask_fn``, masked by it from ``torch.Generator().manual_seed(seed)`` over ``vocab_size``.

    The masks depend on the rows, ``n``, ``seed`` and ``vocab_size``, never on a model: every arm
    of a comparison is scored on the very same inputs. Batches as :func:`batches` makes them.
    """
    _check_dataset(dataset)
    if n is not None:
        check_int("n", n, "rows to evaluate on")
    mask_id = _mask_token_id(dataset, mask_token_id) if mask_fn is not None else -1
    rows = dataset.with_format(None)
    total = len(rows) if n is None else min(n, len(rows))
    generator = torch.Generator().manual_seed(seed)
    for start in range(0, total, batch_size):
        batch = _tensors(rows[start:min(start + batch_size, total)], torch.device("cpu"))
        yield _masked(batch, mask_fn, vocab_size, mask_id, generator)


def mlm_accuracy(
    model: BertForPreTraining, dataset: Dataset, n: int | None = 1000, seed: int = 0, *,
    mask_fn: MaskFn | None = None, mask_token_id: int | None = None,
) -> float:
    """Share of the CHOSEN positions (labels != -100) where the top prediction is the original token.

    On the first ``n`` rows of ``dataset`` (held out: ``pretraining_dataset(tokenizer, "validation")``),
    masked by ``mask_fn`` (``mask_tokens`` if None: 15% chosen, 80/10/10) from ``seed``
    (:func:`evaluation_batches`: the same masks for every model). Unchosen positions, special
    tokens and padding never count. A float in [0, 1]; eval mode, no gradients.
    """
    device, correct, total = model_device(model), 0, 0
    with inference(model):
        for b in evaluation_batches(dataset, n, seed, vocab_size=model.config.vocab_size,
                                    mask_token_id=mask_token_id, mask_fn=mask_fn or mask_tokens):
            b = {key: value.to(device) for key, value in b.items()}
            logits = model(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["labels"]).mlm_logits
            targets = b["labels"][b["labels"] != IGNORE_INDEX]
            correct += int((logits.argmax(-1) == targets).sum())
            total += targets.numel()
    if total == 0:
        raise ValueError("no position was chosen for masking in these rows: evaluate on more rows (n).")
    return correct / total


def nsp_accuracy(model: BertForPreTraining, dataset: Dataset, n: int | None = None) -> float:
    """Share of the first ``n`` pairs of ``dataset`` (all if None) where the NSP head's argmax equals
    ``next_sentence_label``. Unmasked inputs, eval mode. A float in [0, 1]; chance is about 0.5.
    TypeError for a dataset without the NSP label."""
    _check_dataset(dataset, COLUMNS)
    device, correct, total = model_device(model), 0, 0
    with inference(model):
        for b in evaluation_batches(dataset, n):
            b = {key: value.to(device) for key, value in b.items()}
            predicted = model(b["input_ids"], b["token_type_ids"], b["attention_mask"]).nsp_logits.argmax(-1)
            correct += int((predicted == b["next_sentence_label"]).sum())
            total += len(predicted)
    return correct / total


# --- the shipped checkpoint ---------------------------------------------------------------------


def make_mini_bert(recipe: Recipe = RECIPE, plot: bool = False) -> tuple[BertForPreTraining, WordPieceTokenizer, dict]:
    """Make the mini-BERT from ``recipe``; returns (model, tokenizer, figures).

    One optimiser and schedule over ``recipe.steps`` steps: short pairs (one sentence per segment)
    first, long ones (``long_sentences`` per segment) for the last ``long_fraction``. Figures, on
    the validation split: MLM accuracy (first 2,000 short pairs, seed 0), NSP accuracy (short pairs
    with other-document and with same-topic negatives; long pairs), and the seconds it took.
    """
    start = time.perf_counter()
    tokenizer = train_vocabulary(recipe.vocab_size, seed=recipe.seed)

    def pairs(split: str, long: bool, negatives: str = recipe.negatives) -> Dataset:
        return pretraining_dataset(tokenizer, split, recipe.max_position_embeddings if long else recipe.max_length,
                                   negatives, recipe.seed, sentences_per_segment=recipe.long_sentences if long else 1)

    model = new_model(len(tokenizer), recipe)
    short, long = (batches(pairs("train", is_long), recipe.batch_size, recipe.seed, len(tokenizer))
                   for is_long in (False, True))
    switch = round(recipe.steps * (1 - recipe.long_fraction))
    history = run_pretraining(model, lambda step: short(step) if step < switch else long(step),
                              pretraining_loss(recipe.objective), recipe.steps, recipe.lr, plot, "the mini-BERT",
                              warmup=recipe.warmup, weight_decay=recipe.weight_decay)
    figures = {"mlm_accuracy_validation": mlm_accuracy(model, pairs("validation", False), n=2000),
               "nsp_accuracy_validation": nsp_accuracy(model, pairs("validation", False)),
               "nsp_accuracy_validation_same_topic": nsp_accuracy(model, pairs("validation", False, "same_topic")),
               "nsp_accuracy_validation_long": nsp_accuracy(model, pairs("validation", True)),
               "final_loss": sum(history.losses[-50:]) / 50, "seconds": round(time.perf_counter() - start, 1)}
    return model, tokenizer, figures


REMAKE = "restore it from git, or remake the checkpoint: python -m course_lib.mini_bert"


def save_mini_bert(model: BertForPreTraining, tokenizer: WordPieceTokenizer, recipe: Recipe, figures: Mapping,
                   path: str | Path = ASSET_DIR) -> Path:
    """Write the checkpoint folder ``path`` (``course_lib.checkpoints.save_bert``); return it.
    ``recipe.json`` records the recipe, ``figures``, the torch version and the files' sha256."""
    record = {"recipe": asdict(recipe), "figures": dict(figures), "torch": torch.__version__}
    return checkpoints.save_bert(model, tokenizer, path, record)


def load_mini_bert(path: str | Path | None = None) -> tuple[BertForPreTraining, WordPieceTokenizer]:
    """The course's pretrained mini-BERT and its tokenizer, from ``assets/mini_bert/`` (or ``path``).

    The files' sha256 are checked against ``recipe.json`` first (``course_lib.checkpoints.load_bert``).
    Both heads (MLM, tied to the word embeddings; NSP); eval mode, on the CPU. FileNotFoundError
    naming a missing file; ValueError for a file whose checksum differs.
    """
    return checkpoints.load_bert(ASSET_DIR if path is None else path, REMAKE)


if __name__ == "__main__":
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    made = make_mini_bert(RECIPE)
    print(json.dumps(made[2], indent=2), f"\nwrote {save_mini_bert(*made[:2], RECIPE, made[2])}")
