"""BERT's successors as controlled experiments: the runners of lesson 09_roberta_spanbert.

RoBERTa (Liu et al. 2019) and SpanBERT (Joshi et al. 2020) keep BERT's architecture and change how
it is pretrained. Each change is measured here as an ablation: arms that differ in that one
change, started from the same initial weights, fed the same number of sequences per step and
compared at equal steps (never equal wall time), then scored on held-out text and fine-tuned on
lesson 08's span QA. The learner's pieces plug in as arguments (a ``mask_fn``, a packing function,
a span boundary head), so the notebook runs these loops on its own code and
``benchmarks/roberta_spanbert.py`` runs them, over several seeds, on the course's.

- :class:`Arm` and :func:`pretrain_arm`: one pretraining run (inputs, objective, masking, batch);
- :func:`masking_runs`: static against dynamic masking on a small corpus seen for many epochs;
- :class:`QATask`, :func:`qa_tensors`, :func:`qa_hasans_f1`: lesson 08's span QA as the downstream test;
- :data:`LESSON_ARMS` and :func:`evaluate_arm`: the lesson's arms and the figures each is scored by;
  :func:`unigram_figures`: what token frequencies alone score on the same masks;
- :func:`seed_spread`, :func:`differs`, :func:`spread_table`: the benchmark's spread between seeds,
  which says which of one run's differences stand;
- :data:`PAPERS`: what BERT, RoBERTa and SpanBERT report, for the tables beside ours.
"""
from __future__ import annotations

import copy
import functools
import json
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from course_lib import mini_bert, span_qa, transfer
from course_lib.dynamic_masking import MaskFn, heldout_mlm_loss
from course_lib.finetuning import BertForQuestionAnswering
from course_lib.full_sentences import full_sentences, full_sentences_dataset, sop_pairs
from course_lib.pretraining import mask_tokens
from course_lib.span_boundary import SpanBertForPreTraining, SpanBoundaryHead, sbo_accuracy, span_bert_loss
from course_lib.squad_metrics import token_f1
from course_lib.training import History
from course_lib.wordpiece import WordPieceTokenizer

if TYPE_CHECKING:
    from datasets import Dataset

__all__ = ["INPUTS", "Arm", "ArmResult", "LESSON_STEPS", "LESSON_ARMS", "pretraining_data", "pretrain_arm", "masking_runs",
           "QATask", "qa_tensors", "qa_hasans_f1", "evaluate_arm", "unigram_figures", "BENCHMARK", "seed_spread", "differs",
           "spread_table", "PAPERS"]

# The three inputs of lesson 09's NSP ablation, as RoBERTa's Table 2 names them (SOP is ALBERT's).
INPUTS = ("segment_pair", "full_sentences", "sentence_order")


@dataclass(frozen=True)
class Arm:
    """One pretraining run of a controlled experiment.

    ``inputs``: one of :data:`INPUTS`; ``objective``: ``"mlm+nsp"`` (a 2-way head on the pooled
    [CLS] state: NSP on segment pairs, SOP on sentence-order pairs) or ``"mlm"``; ``span``: span
    masking with the span boundary objective (SpanBERT) instead of token masking; ``batch_size``
    sequences per step, ``lr`` the peak learning rate of ``mini_bert.run_pretraining``'s schedule.
    """

    inputs: str
    objective: str = "mlm"
    span: bool = False
    batch_size: int = 16
    lr: float = 3e-3

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}; got {self.inputs!r}.")
        if self.objective not in ("mlm+nsp", "mlm"):
            raise ValueError(f"objective must be 'mlm+nsp' (a sentence-pair head) or 'mlm'; got {self.objective!r}.")
        if self.objective == "mlm+nsp" and self.inputs == "full_sentences":
            raise ValueError("FULL-SENTENCES rows have one segment and no pair label: use objective='mlm'.")
        if self.span and self.objective != "mlm":
            raise ValueError("the SpanBERT arm has no sentence-pair head (Joshi et al. 2020 drop NSP): objective='mlm'.")

    def steps_for(self, sequences: int) -> int:
        """The steps in which this arm sees ``sequences`` sequences (at least 1): arms of different
        batch sizes compare at equal sequences seen, the same data, in fewer, larger steps."""
        return max(1, sequences // self.batch_size)


# Lesson 09's budget, in steps of the baseline's batch of 16 (the batch-x4 arm takes a quarter of them):
# pretraining per arm; the masking runs (on the first ``masking_documents`` training documents, 64-token
# rows: about 40 epochs); span QA fine-tuning on ``qa_train`` questions, scored on ``qa_valid``.
LESSON_STEPS = {"pretrain": 160, "masking": 200, "masking_documents": 48, "qa": 100, "qa_train": 2000,
                "qa_valid": 240}

# The lesson's arms. The first is BERT's recipe, the shared baseline; each other changes one thing:
# no NSP loss; FULL-SENTENCES input; ALBERT's SOP instead of NSP; four times the batch at a quarter
# of the steps (the same sequences seen), the learning rate scaled by the square root of the batch (x2;
# linear scaling, x4, is what RoBERTa's tuned values follow from 256 to 2K, 1e-4 to 7e-4, but at 1e-3 for
# 8K they grow more slowly, and here x4 makes the runs collapse: benchmarks/roberta_spanbert.py measures
# it); spans and the SBO (SpanBERT, one segment, no NSP).
LESSON_ARMS = {
    "segment pairs, MLM + NSP": Arm("segment_pair", "mlm+nsp"),
    "segment pairs, MLM": Arm("segment_pair"),
    "full sentences, MLM": Arm("full_sentences"),
    "sentence order, MLM + SOP": Arm("sentence_order", "mlm+nsp"),
    "full sentences, MLM, batch x4": Arm("full_sentences", batch_size=64, lr=6e-3),
    "full sentences, spans, MLM + SBO": Arm("full_sentences", span=True),
}


@dataclass
class ArmResult:
    """A pretrained arm: its model, loss history, seconds of training, the median seconds of one step
    (what throughput is read from: the first step's one-off costs and a busy machine's pauses left
    out) and the real tokens seen."""

    model: nn.Module
    history: History
    seconds: float
    step_seconds: float
    tokens_seen: int

    @property
    def encoder(self) -> nn.Module:
        return self.model.bert


def pretraining_data(
    tokenizer: WordPieceTokenizer, split: str = "train", max_length: int = 128, sentences_per_segment: int = 4,
    pack: Callable[..., list[dict[str, list[int]]]] = full_sentences, make_sop: Callable[..., Sequence] = sop_pairs,
    n_documents: int | None = None, seed: int = 0,
) -> dict[str, Dataset]:
    """The three inputs of one split, as ``datasets.Dataset`` rows of ``max_length`` tokens.

    ``"segment_pair"``: BERT's pairs of ``sentences_per_segment`` sentences each, B the true
    continuation or (half the time) sentences of another document (``mini_bert.pretraining_dataset``);
    ``"full_sentences"``: ``pack`` (RoBERTa's FULL-SENTENCES, :func:`full_sentences` or yours) over
    the documents in order; ``"sentence_order"``: ``make_sop`` pairs (ALBERT's SOP, :func:`sop_pairs`
    or yours) of the same segments, in ``next_sentence_label`` (0 in order, 1 swapped), so the
    2-way head that learns NSP learns SOP on them. The corpus is ``document_corpus(seed=seed)``.
    """
    pairs = functools.partial(mini_bert.pretraining_dataset, tokenizer, split, max_length, seed=seed,
                              n_documents=n_documents)
    sop = functools.partial(make_sop, sentences_per_segment=sentences_per_segment)
    return {"segment_pair": pairs(sentences_per_segment=sentences_per_segment),
            "full_sentences": full_sentences_dataset(tokenizer, split, max_length, seed, n_documents=n_documents,
                                                     pack=pack),
            "sentence_order": pairs(make_pairs=lambda documents, generator: sop(documents, generator))}


def _real_tokens(dataset: Dataset) -> float:
    """Mean real (attention_mask) tokens per row."""
    mask = torch.tensor(dataset["attention_mask"])
    return float(mask.sum()) / len(mask)


def pretrain_arm(
    arm: Arm, data: Mapping[str, Dataset], vocab_size: int, steps: int, seed: int = 0, *,
    mask_fn: MaskFn = mask_tokens, span_mask_fn: MaskFn | None = None,
    sbo_head: type[nn.Module] = SpanBoundaryHead, plot: bool = False, title: str | None = None,
    on_step: Callable[[nn.Module, int], None] | None = None,
) -> ArmResult:
    """Pretrain one arm for ``steps`` steps from the weights ``mini_bert.new_model(vocab_size, seed=seed)``.

    Every arm starts from those same weights (SpanBERT's from a model whose encoder and MLM head are
    copied from them) and reads ``data[arm.inputs]`` (:func:`pretraining_data`) in the order seeded
    by ``seed``, masked afresh per batch by ``mask_fn`` (token masking; a ``StaticMasking`` makes it
    static) or, for a span arm, by ``span_mask_fn`` with the loss MLM + SBO through a
    ``SpanBertForPreTraining`` whose boundary head is ``sbo_head`` (yours, with the course's
    constructor and attribute names). ``on_step(model, step)`` runs before each step (its time counts). Returns
    an :class:`ArmResult`; the model ends in eval mode. ValueError for a span arm without ``span_mask_fn``.
    """
    dataset = data[arm.inputs]
    base = mini_bert.new_model(vocab_size, seed=seed)
    if arm.span:
        if span_mask_fn is None:
            raise ValueError("a span arm needs span_mask_fn: functools.partial(span_mask_tokens, is_continuation=...).")
        model = SpanBertForPreTraining(base.config, sbo_head_class=sbo_head)
        model.bert.load_state_dict(base.bert.state_dict())
        model.mlm_head.load_state_dict(base.mlm_head.state_dict())
        loss, masking = span_bert_loss, span_mask_fn
    else:
        model, loss, masking = base, mini_bert.pretraining_loss(arm.objective), mask_fn
    batch = mini_bert.batches(dataset, arm.batch_size, seed, vocab_size, mask_fn=masking)
    starts: list[float] = []

    def hook(step: int) -> None:
        starts.append(time.perf_counter())
        if on_step is not None:
            on_step(model, step)

    history = mini_bert.run_pretraining(model, batch, loss, steps, arm.lr, plot, title or arm.inputs, hook)
    seconds = time.perf_counter() - starts[0]
    step_seconds = statistics.median(b - a for a, b in zip(starts, starts[1:])) if steps > 1 else seconds
    return ArmResult(model, history, seconds, step_seconds, round(_real_tokens(dataset) * steps * arm.batch_size))


def masking_runs(
    dataset: Dataset, heldout: Dataset, vocab_size: int, mask_fns: Mapping[str, Callable[[], MaskFn]],
    steps: int, batch_size: int = 16, lr: float = 3e-3, seed: int = 0, every: int = 25, n_eval: int = 200,
) -> dict[str, dict[str, list[float]]]:
    """Static against dynamic masking: one MLM run per ``mask_fns`` entry, at equal steps.

    ``mask_fns`` maps an arm's name to a function that makes its ``mask_fn`` afresh
    (``lambda: mask_tokens`` for dynamic masking, ``lambda: StaticMasking(10)`` for static: a
    static masker remembers its masks, so each run needs a new one). Each run trains
    ``mini_bert.new_model(vocab_size, seed=seed)`` on ``dataset`` (a small corpus, so ``steps``
    amount to many epochs) and every ``every`` steps records ``heldout_mlm_loss`` on the first
    ``n_eval`` rows of ``heldout`` and of ``dataset``, both under fresh masks (seed 1) that no run
    trained on. Returns ``{arm: {"step": [...], "heldout": [...], "train": [...]}}``.
    """
    runs = {}
    for name, make in mask_fns.items():
        curve: dict[str, list[float]] = {"step": [], "heldout": [], "train": []}

        def record(model: nn.Module, step: int, curve: dict[str, list[float]] = curve) -> None:
            if step % every == 0 or step == steps:
                curve["step"].append(step)
                curve["heldout"].append(heldout_mlm_loss(model, heldout, n_eval, seed=1))
                curve["train"].append(heldout_mlm_loss(model, dataset, n_eval, seed=1))

        arm = Arm("full_sentences", batch_size=batch_size, lr=lr)
        result = pretrain_arm(arm, {"full_sentences": dataset}, vocab_size, steps, seed, mask_fn=make(),
                              on_step=record)
        record(result.model, steps)
        runs[name] = curve
    return runs


# --- span QA, lesson 08's task, as the downstream test -------------------------------------------


@dataclass
class QATask:
    """Lesson 08's span QA as tensors: training features, validation features, offsets and rows."""

    train: dict[str, Tensor]
    valid: dict[str, Tensor]
    valid_offsets: list
    valid_rows: Dataset

    @classmethod
    def make(cls, tokenizer: WordPieceTokenizer, n_train: int, n_valid: int, max_length: int = 160,
             features: Callable[..., Mapping] = span_qa.qa_features) -> QATask:
        """The first ``n_train`` training and ``n_valid`` validation questions of ``documents.qa_dataset()``,
        through ``features`` (lesson 08's ``qa_features``: the course's, or yours)."""
        from course_lib.data import documents

        qa = documents.qa_dataset()
        rows = qa["validation"].select(range(min(n_valid, len(qa["validation"]))))
        train, _ = qa_tensors(tokenizer, qa["train"].select(range(min(n_train, len(qa["train"])))), max_length,
                              features)
        valid, offsets = qa_tensors(tokenizer, rows, max_length, features)
        return cls(train, valid, offsets, rows)


def qa_tensors(tokenizer: WordPieceTokenizer, rows: Dataset, max_length: int = 160,
               features: Callable[..., Mapping] = span_qa.qa_features) -> tuple[dict[str, Tensor], list]:
    """``features`` (lesson 08's ``qa_features``) of every row, as long tensors, and the rows' offsets."""
    made = [features(tokenizer, r["question"], r["context"], r["answers"], max_length) for r in rows]
    keys = ("input_ids", "token_type_ids", "attention_mask", "start_positions", "end_positions")
    return {k: torch.tensor([f[k] for f in made]) for k in keys}, [f["offsets"] for f in made]


def qa_hasans_f1(encoder: nn.Module, task: QATask, steps: int, lr: float = 2e-3, batch_size: int = 16,
                 seed: int = 0, max_answer_length: int = 8, segments: bool = True) -> float:
    """Fine-tune a copy of ``encoder`` for span QA; the validation HasAns F1 of its best spans.

    ``BertForQuestionAnswering`` on ``copy.deepcopy(encoder)``, ``transfer.fine_tune`` for
    ``steps`` steps on ``task.train``; then, on the answerable validation questions, the token F1
    (``squad_metrics.token_f1``) of the best legal span (``span_qa.best_spans``) against the gold
    answers, averaged: lesson 08's measure of what a reader has learned, free of the no-answer
    threshold. ``segments=False`` gives every token segment 0 (``token_type_ids`` all 0), for an
    encoder pretrained on one segment only, whose segment-B embedding never trained: RoBERTa's
    model has no segment embeddings at all and reads ``<s> question </s></s> passage </s>``.
    A float in [0, 1]. ValueError when no validation question has an answer.
    """
    train, valid = task.train, task.valid
    if not segments:
        train, valid = ({**d, "token_type_ids": torch.zeros_like(d["token_type_ids"])} for d in (train, valid))
    reader = BertForQuestionAnswering(copy.deepcopy(encoder))
    transfer.fine_tune(reader, train, steps, lr, batch_size=batch_size, seed=seed)
    start_logits = transfer.predict(reader, valid, "start_logits")
    end_logits = transfer.predict(reader, valid, "end_logits")
    passage = torch.tensor([[o is not None for o in row] for row in task.valid_offsets])
    starts, ends, _ = span_qa.best_spans(start_logits, end_logits, passage, max_answer_length)
    scores = [token_f1(span_qa.answer_text(r["context"], o, s, e), r["answers"]["text"])
              for r, o, s, e in zip(task.valid_rows, task.valid_offsets, starts.tolist(), ends.tolist())
              if r["answers"]["text"]]
    if not scores:
        raise ValueError("no validation question has an answer: give qa_hasans_f1 answerable questions.")
    return sum(scores) / len(scores)


def evaluate_arm(arm: Arm, result: ArmResult, valid: Mapping[str, Dataset], qa: QATask | None = None,
                 qa_steps: int = 0, seed: int = 0, n: int = 300, span_mask_fn: MaskFn | None = None) -> dict[str, float]:
    """The figures of one pretrained arm, each on held-out data that every arm is scored on alike.

    ``heldout_mlm_loss`` on the first ``n`` rows of ``valid["full_sentences"]`` under token masks
    (seed 0: the same masks for every arm); ``pair_accuracy`` (NSP or SOP, on ``valid[arm.inputs]``)
    for an arm with a sentence-pair head; with ``span_mask_fn``, ``mlm_accuracy_spans`` (the MLM
    head on span masks: whole spans to recover) and, for a span arm, ``sbo_accuracy`` (the boundary
    head alone on the same masks); ``qa_hasans_f1`` after ``qa_steps`` steps of fine-tuning when
    ``qa`` is given (segment 0 throughout for an arm that never saw a segment B); and the run's
    ``seconds``, ``tokens_seen`` and ``sequences_per_second``.
    """
    rows = valid["full_sentences"]
    out = {"seconds": result.seconds, "tokens_seen": result.tokens_seen,
           "sequences_per_second": arm.batch_size / result.step_seconds,
           "heldout_mlm_loss": heldout_mlm_loss(result.model, rows, n)}
    if arm.objective == "mlm+nsp":
        out["pair_accuracy"] = mini_bert.nsp_accuracy(result.model, valid[arm.inputs], n)
    if span_mask_fn is not None:
        out["mlm_accuracy_spans"] = mini_bert.mlm_accuracy(result.model, rows, n, mask_fn=span_mask_fn)
        if arm.span:
            out["sbo_accuracy"] = sbo_accuracy(result.model, rows, span_mask_fn, n)
    if qa is not None:
        out["qa_hasans_f1"] = qa_hasans_f1(result.encoder, qa, qa_steps, seed=seed, segments=arm.inputs != "full_sentences")
    return out


def unigram_figures(train: Dataset, heldout: Dataset, n: int = 200, mask_fn: MaskFn = mask_tokens,
                    seed: int = 0) -> dict[str, float]:
    """What token frequencies alone achieve on the masked positions: the floor every arm must beat.

    A unigram model of the maskable tokens of ``train`` (counts plus one, over the vocabulary its
    ids span) scores the first ``n`` rows of ``heldout`` under ``mask_fn``'s masks from ``seed``
    (``mini_bert.evaluation_batches``: the masks the arms are scored on). Returns
    ``heldout_mlm_loss`` (mean cross-entropy, nats per masked token) and ``mlm_accuracy`` (the share
    of masked tokens equal to the most frequent token, "the" in the course's stories). A model
    whose figures sit at these has learned which tokens are common, not what the context says.
    """
    ids = torch.tensor(train["input_ids"])
    maskable = torch.tensor(train["special_tokens_mask"]) == 0
    vocab_size = int(max(ids.max(), torch.tensor(heldout["input_ids"]).max())) + 1
    log_p = torch.log((torch.bincount(ids[maskable], minlength=vocab_size) + 1.0) /
                      (int(maskable.sum()) + vocab_size))
    targets = torch.cat([b["labels"][b["labels"] != -100] for b in
                         mini_bert.evaluation_batches(heldout, n, seed, vocab_size=vocab_size, mask_fn=mask_fn)])
    return {"heldout_mlm_loss": float(-log_p[targets].mean()),
            "mlm_accuracy": float((targets == log_p.argmax()).float().mean())}


# --- the spread between seeds ----------------------------------------------------------------------

BENCHMARK = Path(__file__).resolve().parent.parent / "assets" / "benchmarks" / "roberta_spanbert.json"
REMEASURE = "measure it again: .venv/bin/python benchmarks/roberta_spanbert.py (about 15 minutes)"


def seed_spread(path: str | Path = BENCHMARK) -> dict[str, dict[str, dict[str, float]]]:
    """``benchmarks/roberta_spanbert.py``'s figures: {arm: {figure: {"mean", "sd", "values"}}}, over its seeds.

    FileNotFoundError naming the remedy when the file is missing."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: restore it from git, or {REMEASURE}.")
    return json.loads(path.read_text())["figures"]


def differs(a: str, b: str, figure: str, spread: Mapping | None = None) -> bool:
    """Whether arms ``a`` and ``b`` differ on ``figure`` by more than the seeds spread them: the gap
    between their means over the benchmark's seeds exceeds the sum of their standard deviations."""
    spread = seed_spread() if spread is None else spread
    x, y = spread[a][figure], spread[b][figure]
    return abs(x["mean"] - y["mean"]) > x["sd"] + y["sd"]


def spread_table(ours: Mapping[str, Mapping[str, float]], figures: Sequence[str],
                 spread: Mapping | None = None) -> str:
    """A text table: for each arm of ``ours`` and each of ``figures`` it has, this run's value and the
    benchmark's mean and standard deviation over seeds (blank where the benchmark lacks it)."""
    spread = seed_spread() if spread is None else spread
    seeds = len(next(iter(next(iter(spread.values())).values()))["values"])
    lines = [f"{'arm':36s}" + "".join(f"{f:>34s}" for f in figures),
             f"{'':36s}" + "".join(f"{'this run   (' + str(seeds) + ' seeds: mean ± sd)':>34s}" for _ in figures)]
    for arm, row in ours.items():
        cells = []
        for figure in figures:
            if figure not in row:
                cells.append(f"{'':>34s}")
                continue
            bench = spread.get(arm, {}).get(figure)
            around = f"({bench['mean']:.3f} ± {bench['sd']:.3f})" if bench else ""
            cells.append(f"{row[figure]:>14.3f} {around:>19s}")
        lines.append(f"{arm:36s}" + "".join(cells))
    return "\n".join(lines)


# --- the papers ------------------------------------------------------------------------------------

# Devlin et al. 2019 (section 3.1, appendix A.2); Liu et al. 2019 (sections 3-5, Tables 1, 2, 3, 9);
# Joshi et al. 2020 (sections 3-4, Tables 1, 2, 6, 7). SQuAD figures are dev-set F1 of the base models
# where a paper's ablation reports them (RoBERTa's ablations: BERT-base size, 1M steps at batch 256).
PAPERS = {
    "BERT": {"data": "BookCorpus + English Wikipedia, 16GB", "batch": "256 x 512 tokens",
             "steps": "1M", "masking": "static, 15% tokens, 80/10/10", "objectives": "MLM + NSP",
             "input": "segment pairs (90% of steps at 128 tokens)", "tokenizer": "WordPiece, 30K"},
    "RoBERTa": {"data": "160GB (+ CC-News, OpenWebText, Stories)", "batch": "8K x 512 tokens",
                "steps": "500K", "masking": "dynamic, 15% tokens, 80/10/10", "objectives": "MLM",
                "input": "FULL-SENTENCES (DOC-SENTENCES in ablations), 512 tokens",
                "tokenizer": "byte-level BPE, 50K"},
    "SpanBERT": {"data": "BookCorpus + English Wikipedia", "batch": "256 x 512 tokens", "steps": "2.4M",
                 "masking": "spans of whole words, geometric p=0.2, max 10, 15% of tokens, 80/10/10 per span",
                 "objectives": "MLM + SBO", "input": "one segment of up to 512 tokens",
                 "tokenizer": "WordPiece (BERT's cased vocabulary)"},
}
