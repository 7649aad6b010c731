"""Fine-tuning BERT: one pretrained encoder, three task heads (lesson 08_bert_finetuning).

Devlin et al. (2019), section 4 and Figure 4: every downstream task reuses the pretrained encoder
as it is and adds one linear layer on top, and all the weights are fine-tuned together (or, for
comparison, the encoder is frozen and only the head learns):

- sentence (pair) classification reads the pooled [CLS] state (:class:`BertForSequenceClassification`);
- extractive question answering scores every token as the answer's start and as its end
  (:class:`BertForQuestionAnswering`, SQuAD);
- sequence labelling classifies every token (:class:`BertForTokenClassification`, CoNLL-2003 NER;
  the first-subword labelling is in ``course_lib.tagging``).

Each head takes an existing ``course_lib.bert.BertModel``, so the same encoder object (pretrained
or random) can be fine-tuned or frozen (:func:`freeze_encoder`). Names, shapes and losses are HF
transformers' classes of the same names (the tests match their logits and losses to 1e-5, with
weights moved by :func:`to_hf_task_state_dict`). :func:`encode_texts` batches texts for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.arguments import check_int
from course_lib.bert import BertModel, init_weights, to_hf_state_dict
from course_lib.pretraining import IGNORE_INDEX, bert_inputs, mlm_loss
from course_lib.wordpiece import WordPieceTokenizer

__all__ = [
    "ClassificationOutput",
    "BertForSequenceClassification",
    "QuestionAnsweringOutput",
    "BertForQuestionAnswering",
    "TokenClassificationOutput",
    "BertForTokenClassification",
    "to_hf_task_state_dict",
    "freeze_encoder",
    "count_trainable",
    "pad_batch",
    "encode_texts",
]


def _check_encoder(bert: object) -> BertModel:
    if not isinstance(bert, BertModel):
        raise TypeError(f"bert must be a course_lib.bert.BertModel (e.g. BertModel.from_minilm() or "
                        f"BertModel(BertConfig(...))); got {type(bert).__name__}.")
    return bert


def _check_targets(name: str, values: object, shape: tuple[int, ...], high: int, meaning: str,
                   ignore: bool = False) -> Tensor:
    """Integer targets of ``shape``, each in [0, high) (or -100 where ``ignore``)."""
    if not isinstance(values, Tensor) or values.is_floating_point() or values.dtype == torch.bool:
        got = values.dtype if isinstance(values, Tensor) else type(values).__name__
        raise TypeError(f"{name} must be an integer tensor (torch.long) of {meaning}; got {got}.")
    if tuple(values.shape) != shape:
        raise ValueError(f"{name} must have shape {shape}; got {tuple(values.shape)}.")
    valid = (values >= 0) & (values < high)
    if ignore:
        valid |= values == IGNORE_INDEX
    if not valid.all():
        allowed = f"[0, {high})" + (f" or {IGNORE_INDEX}" if ignore else "")
        raise ValueError(f"{name} holds {values[~valid][0].item()}, outside {allowed} ({meaning}).")
    return values.long()


# --- classification of the whole input ----------------------------------------------------------


@dataclass
class ClassificationOutput:
    """``logits`` (batch, num_labels); ``loss`` the mean cross-entropy, None without labels."""

    logits: Tensor
    loss: Tensor | None = None


class _Classifier(nn.Module):
    """What the sequence and token classifiers share: ``bert``, ``dropout`` and a linear ``classifier``
    (hidden -> num_labels) initialised as BERT's weights are. ValueError for ``num_labels`` < 2
    (HF's regression with one label is not offered)."""

    def __init__(self, bert: BertModel, num_labels: int, dropout: float = 0.1) -> None:
        super().__init__()
        check_int("num_labels", num_labels, "the number of classes or tags", minimum=2)
        self.bert = _check_encoder(bert)
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(bert.config.hidden_size, num_labels)
        init_weights(self.classifier, bert.config.initializer_range)


class BertForSequenceClassification(_Classifier):
    """BERT + dropout + one linear layer on the pooled [CLS] state (Devlin et al. 2019, Figure 4a, b).

    The pooled state is ``bert(...).pooler_output`` = tanh(W h_[CLS] + b), the pooler pretrained
    with next-sentence prediction. [CLS] is always position 0, so padding never moves what is read
    (a classifier reading the LAST position would read padding for short inputs).

    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None)``: inputs as
    ``BertModel``; labels (batch,) integer class ids in [0, num_labels). Returns
    :class:`ClassificationOutput`; the prediction is ``logits.argmax(-1)``. Raises ValueError for
    ``num_labels`` < 2 (HF's regression with one label is not offered) and for labels of the wrong
    shape or out of range, TypeError for non-integer labels.
    """

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                labels: Tensor | None = None) -> ClassificationOutput:
        pooled = self.bert(input_ids, token_type_ids, attention_mask).pooler_output
        logits = self.classifier(self.dropout(pooled))
        if labels is None:
            return ClassificationOutput(logits)
        labels = _check_targets("labels", labels, (input_ids.shape[0],), self.num_labels, "class ids")
        return ClassificationOutput(logits, F.cross_entropy(logits, labels))


# --- extractive question answering --------------------------------------------------------------


@dataclass
class QuestionAnsweringOutput:
    """``start_logits``, ``end_logits`` (batch, seq); ``loss`` = (CE(start) + CE(end)) / 2, None without positions."""

    start_logits: Tensor
    end_logits: Tensor
    loss: Tensor | None = None


class BertForQuestionAnswering(nn.Module):
    """BERT + one linear layer (hidden -> 2) scoring every token as answer start and end (Figure 4c).

    Devlin et al. (2019), section 4.2: a start vector S and an end vector E; the score of token i
    as the start is S . h_i, softmaxed over the sequence. ``qa_outputs`` holds S and E as its two
    output rows. The answer span is inclusive: ``end_positions`` is the index of the answer's LAST
    token, not one past it. SQuAD 2.0's "no answer" is the span (0, 0), at [CLS].

    ``forward(input_ids, token_type_ids=None, attention_mask=None, start_positions=None,
    end_positions=None)``: positions (batch,) integer token indices, both or neither. HF clamps
    positions to [0, seq] and then ignores those equal to seq (so a span cut away by truncation
    adds no loss, and a negative one silently becomes [CLS]); here a position outside [0, seq) or
    an end before its start raises ValueError instead: map such examples to (0, 0) yourself.
    Returns :class:`QuestionAnsweringOutput`; padding positions are scored too, as in HF.
    """

    def __init__(self, bert: BertModel) -> None:
        super().__init__()
        self.bert = _check_encoder(bert)
        self.qa_outputs = nn.Linear(bert.config.hidden_size, 2)
        init_weights(self.qa_outputs, bert.config.initializer_range)

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                start_positions: Tensor | None = None, end_positions: Tensor | None = None) -> QuestionAnsweringOutput:
        hidden = self.bert(input_ids, token_type_ids, attention_mask).last_hidden_state
        start_logits, end_logits = self.qa_outputs(hidden).unbind(-1)  # (batch, seq) each
        if start_positions is None and end_positions is None:
            return QuestionAnsweringOutput(start_logits, end_logits)
        if start_positions is None or end_positions is None:
            raise ValueError("give both start_positions and end_positions (or neither, for predictions only).")
        batch, seq = input_ids.shape
        meaning = f"token indices of the answer, inclusive, within the {seq} input positions"
        start = _check_targets("start_positions", start_positions, (batch,), seq, meaning)
        end = _check_targets("end_positions", end_positions, (batch,), seq, meaning)
        if (end < start).any():
            i = int((end < start).nonzero()[0])
            raise ValueError(f"example {i} ends (token {end[i].item()}) before it starts (token {start[i].item()}): "
                             "end_positions is the index of the answer's last token.")
        loss = (F.cross_entropy(start_logits, start) + F.cross_entropy(end_logits, end)) / 2
        return QuestionAnsweringOutput(start_logits, end_logits, loss)


# --- a label per token --------------------------------------------------------------------------


@dataclass
class TokenClassificationOutput:
    """``logits`` (batch, seq, num_labels); ``loss`` the mean CE over labelled positions, None without labels."""

    logits: Tensor
    loss: Tensor | None = None


class BertForTokenClassification(_Classifier):
    """BERT + dropout + one linear layer on every token's final state (Devlin et al. 2019, Figure 4d).

    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None)``: labels (batch,
    seq) integer tag ids in [0, num_labels), -100 (``IGNORE_INDEX``) at positions that carry no
    label: special tokens, padding, and every piece of a word but its first (see
    ``course_lib.tagging.align_labels``). The loss is the mean cross-entropy over the labelled
    positions only (0 when there is none; HF gives NaN there). Returns :class:`TokenClassificationOutput`.
    """

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                labels: Tensor | None = None) -> TokenClassificationOutput:
        hidden = self.bert(input_ids, token_type_ids, attention_mask).last_hidden_state
        logits = self.classifier(self.dropout(hidden))
        if labels is None:
            return TokenClassificationOutput(logits)
        labels = _check_targets("labels", labels, tuple(input_ids.shape), self.num_labels, "tag ids", ignore=True)
        return TokenClassificationOutput(logits, mlm_loss(logits, labels))  # the same masked mean as the MLM's


# --- moving weights, freezing -------------------------------------------------------------------

_TaskModel = BertForSequenceClassification | BertForQuestionAnswering | BertForTokenClassification


def _encoder_of(model: object) -> BertModel:
    if not isinstance(model, nn.Module) or not isinstance(getattr(model, "bert", None), BertModel):
        raise TypeError(f"expected a task model whose encoder is model.bert (a course_lib.bert.BertModel), such as "
                        f"BertForSequenceClassification; got {type(model).__name__} without one.")
    return model.bert


def to_hf_task_state_dict(model: _TaskModel) -> dict[str, Tensor]:
    """A task model's weights under the names of the HF class of the same name.

    The encoder's come from ``course_lib.bert.to_hf_state_dict`` with HF's ``bert.`` prefix; the
    heads already have HF's names (``classifier``, ``qa_outputs``). HF builds its question-answering
    and token-classification models without the pooler, so its weights are left out for them.
    Load with ``hf_model.load_state_dict(..., strict=True)``. Tensors are detached copies.
    """
    encoder = _encoder_of(model)
    pooled = isinstance(model, BertForSequenceClassification)
    out = {"bert." + name: tensor for name, tensor in to_hf_state_dict(encoder).items()
           if pooled or not name.startswith("pooler.")}
    out.update({name: tensor.detach().clone() for name, tensor in model.state_dict().items()
                if not name.startswith("bert.")})
    return out


def count_trainable(model: nn.Module) -> int:
    """The number of parameters (scalars) with ``requires_grad``, each shared tensor counted once."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_trainable needs a torch.nn.Module; got {type(model).__name__}.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def freeze_encoder(model: _TaskModel) -> int:
    """Stop training ``model.bert`` (every parameter, the pooler included); return what stays trainable.

    Only the head then learns: a linear probe of the pretrained features. For the classifier that
    includes the pooler: it belongs to the encoder (HF's BertModel has it too), so it keeps its
    pretrained weights (trained by next-sentence prediction in BERT; never trained for any task in
    all-MiniLM-L6-v2) and the classifier must make do with what tanh(W h_[CLS] + b) already shows.
    The head's own ``requires_grad`` is left as it is. Create the optimiser after freezing, or
    freeze before the first step: a frozen parameter gets no gradient, so no update. Raises
    TypeError when ``model`` has no ``.bert`` encoder.
    """
    for parameter in _encoder_of(model).parameters():
        parameter.requires_grad_(False)
    return count_trainable(model)


# --- batches ------------------------------------------------------------------------------------


def pad_batch(rows: Sequence[Mapping[str, Sequence[int]]], pad_values: Mapping[str, int]) -> dict[str, Tensor]:
    """Right-pad the lists ``rows[i][key]`` to the longest row: one int64 (batch, longest) tensor per key
    of ``pad_values``, padded with its value (input_ids with [PAD]'s id, attention_mask and
    token_type_ids with 0, labels with -100). Raises ValueError for no rows, KeyError for a row
    without a key, ValueError when a row's lists differ in length.
    """
    if not rows:
        raise ValueError("pad_batch needs at least one row.")
    for i, row in enumerate(rows):
        missing = [key for key in pad_values if key not in row]
        if missing:
            raise KeyError(f"row {i} has no {missing} (it has {sorted(row)}).")
        if len({len(row[key]) for key in pad_values}) > 1:
            raise ValueError(f"row {i}'s lists differ in length: {({key: len(row[key]) for key in pad_values})}.")
    longest = max(len(row[next(iter(pad_values))]) for row in rows)
    return {key: torch.tensor([list(row[key]) + [fill] * (longest - len(row[key])) for row in rows], dtype=torch.long)
            for key, fill in pad_values.items()}


def _check_texts(name: str, texts: object) -> list[str]:
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of str; got {type(texts).__name__}. For one text pass [text].")
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{i}] must be a str; got {type(text).__name__}.")
    return list(texts)


def encode_texts(tokenizer: WordPieceTokenizer, texts: Sequence[str], max_length: int,
                 texts_b: Sequence[str] | None = None) -> dict[str, Tensor]:
    """A batch of texts (or text pairs) as BERT's inputs: int64 tensors (batch, longest row).

    Each row is ``pretraining.bert_inputs``: ``[CLS] a [SEP]`` or ``[CLS] a [SEP] b [SEP]``, the
    pair truncated longest-first to ``max_length`` tokens; rows are right-padded to the longest row.
    Returns ``input_ids``, ``token_type_ids`` and ``attention_mask``: HF's ``tokenizer(texts,
    texts_b, truncation="longest_first", max_length=max_length, padding="longest")``.
    Raises TypeError for texts that are not lists of str, ValueError for no texts, a ``texts_b``
    of another length, or a ``max_length`` too short for the special tokens.
    """
    texts = _check_texts("texts", texts)
    seconds = None if texts_b is None else _check_texts("texts_b", texts_b)
    if not texts:
        raise ValueError("encode_texts needs at least one text.")
    if seconds is not None and len(seconds) != len(texts):
        raise ValueError(f"texts_b must pair one text with each of texts: {len(seconds)} for {len(texts)}.")
    ids = {"cls_id": tokenizer.cls_token_id, "sep_id": tokenizer.sep_token_id, "pad_id": tokenizer.pad_token_id}
    rows = [bert_inputs(tokenizer.encode(text), None if seconds is None else tokenizer.encode(seconds[i]),
                        max_length, **ids, padding=False) for i, text in enumerate(texts)]
    return pad_batch(rows, {"input_ids": tokenizer.pad_token_id, "token_type_ids": 0, "attention_mask": 0})
