"""SpanBERT's span boundary objective (SBO) and the model that trains with it (lesson 09_roberta_spanbert).

Joshi et al. (2020), "SpanBERT: Improving Pre-training by Representing and Predicting Spans",
section 3.2. For a masked span x_s..x_e, each token x_i inside it is predicted from the encoder's
states at the two tokens just OUTSIDE the span, x_{s-1} and x_{e+1} (never s or e: those are
masked tokens of the span itself), and a learned embedding of its position in the span:

    h0 = [x_{s-1}; x_{e+1}; p_{i-s+1}]
    h1 = LayerNorm(GELU(W1 h0))
    y_i = LayerNorm(GELU(W2 h1))

and y_i is scored against the vocabulary by an output layer tied to the token embeddings, like
the MLM head. The pretraining loss is MLM + SBO, both cross-entropies over the masked tokens.
Read top to bottom: the spans (:func:`span_boundaries`), the head (:class:`SpanBoundaryHead`),
the model (:class:`SpanBertForPreTraining`: lesson 07's ``BertModel`` and ``MaskedLMHead``, no
NSP head, as SpanBERT drops NSP), its loss for ``mini_bert.run_pretraining`` and
:func:`sbo_accuracy`.

A span here is a maximal run of masked positions (labels != -100) in a row, so two spans that
``span_masking.span_mask_tokens`` placed side by side are one span to the SBO, and its boundary
states are always those of tokens that were not chosen for masking. The runs of token-level masking
(``pretraining.mask_tokens``) are spans too, so the SBO also runs on BERT's masks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.bert import BertConfig, BertModel, MaskedLMHead, init_weights
from course_lib.mini_bert import evaluation_batches
from course_lib.pretraining import IGNORE_INDEX, mlm_loss
from course_lib.training import inference, model_device

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset

__all__ = [
    "SpanTargets",
    "span_boundaries",
    "SpanBoundaryHead",
    "SpanBertPreTrainingOutput",
    "SpanBertForPreTraining",
    "span_bert_loss",
    "sbo_accuracy",
]


# --- the spans ----------------------------------------------------------------------------------


@dataclass
class SpanTargets:
    """One entry per masked position, in the row-major order of ``labels[labels != -100]``.

    All long tensors (num_masked,): ``batch_index`` (the row), ``position`` (i), ``left`` (s - 1),
    ``right`` (e + 1) and ``offset`` (i - s: 0 for a span's first token; the paper's p_{i-s+1}).
    """

    batch_index: Tensor
    position: Tensor
    left: Tensor
    right: Tensor
    offset: Tensor


def span_boundaries(labels: Tensor) -> SpanTargets:
    """The span around each masked position of ``labels`` (batch, seq) integer, -100 = not masked.

    A span s..e is a maximal run of masked positions in a row; every i in it gets left = s - 1,
    right = e + 1 and offset = i - s. ValueError when a run touches the first or last position of
    a row, as its boundary would be outside the sequence (BERT inputs start with [CLS] and end with
    [SEP] or padding, which masking never chooses); TypeError for labels that are not an integer tensor.
    """
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError("labels must be an integer tensor (batch, seq): token ids where masked, -100 elsewhere.")
    if labels.dim() != 2:
        raise ValueError(f"labels must be (batch, seq); got shape {tuple(labels.shape)}.")
    masked = labels != IGNORE_INDEX
    if masked.numel() and (masked[:, 0].any() or masked[:, -1].any()):
        raise ValueError("a masked span touches the first or last position of a row, so it has no token outside it "
                         "to read: keep [CLS] and the final [SEP] unmasked (special_tokens_mask).")
    positions = torch.arange(labels.shape[1], device=labels.device).expand_as(labels)
    # s - 1 for each i: the nearest unmasked position at or before i, a running max (position 0 is unmasked)
    left_of = torch.where(masked, 0, positions).cummax(dim=1).values
    # e + 1: the same from the right, on the reversed rows
    right_of = (labels.shape[1] - 1 - torch.where(masked.flip(1), 0, positions).cummax(dim=1).values).flip(1)
    batch_index, position = masked.nonzero(as_tuple=True)
    left, right = left_of[batch_index, position], right_of[batch_index, position]
    return SpanTargets(batch_index, position, left, right, position - left - 1)


# --- the head -----------------------------------------------------------------------------------


class SpanBoundaryHead(nn.Module):
    """The SBO's feed-forward network (Joshi et al. 2020, eq. 1-2) and its output layer.

    ``position_embeddings``: (max_span_length, hidden_size), row k for the (k+1)-th token of a span;
    ``dense1``: 3 hidden -> hidden; ``norm1``; ``dense2``: hidden -> hidden; ``norm2``; ``decoder``:
    hidden -> vocab_size (its weight is tied to the token embeddings by :class:`SpanBertForPreTraining`,
    its bias is the head's own). GELU is the exact (erf) one, as BERT's.

    ``forward(hidden_states, labels)``: hidden_states (batch, seq, hidden) float, the encoder's last
    layer; labels (batch, seq) long, -100 where not masked. Returns logits (num_masked, vocab) in
    the order of ``labels[labels != -100]``, the same rows as ``BertForPreTraining``'s mlm_logits.
    ValueError for a span longer than ``max_span_length`` tokens (build the head with a larger one)
    or shapes that do not fit; the errors of :func:`span_boundaries`.
    """

    def __init__(self, hidden_size: int, vocab_size: int, max_span_length: int = 32,
                 layer_norm_eps: float = 1e-12) -> None:
        super().__init__()
        self.max_span_length = max_span_length
        self.position_embeddings = nn.Embedding(max_span_length, hidden_size)
        self.dense1 = nn.Linear(3 * hidden_size, hidden_size)
        self.norm1 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.dense2 = nn.Linear(hidden_size, hidden_size)
        self.norm2 = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        self.decoder = nn.Linear(hidden_size, vocab_size)

    def forward(self, hidden_states: Tensor, labels: Tensor) -> Tensor:
        if hidden_states.dim() != 3 or tuple(hidden_states.shape[:2]) != tuple(getattr(labels, "shape", ())):
            raise ValueError(f"hidden_states must be (batch, seq, hidden) and labels (batch, seq) of the same batch "
                             f"and seq; got {tuple(hidden_states.shape)} and {tuple(getattr(labels, 'shape', ()))}.")
        spans = span_boundaries(labels)
        if spans.offset.numel() and int(spans.offset.max()) >= self.max_span_length:
            raise ValueError(f"a masked span has {int(spans.offset.max()) + 1} tokens but the head embeds positions "
                             f"up to max_span_length={self.max_span_length}: build it with a larger max_span_length.")
        h0 = torch.cat([hidden_states[spans.batch_index, spans.left], hidden_states[spans.batch_index, spans.right],
                        self.position_embeddings(spans.offset)], dim=-1)
        h1 = self.norm1(F.gelu(self.dense1(h0)))
        return self.decoder(self.norm2(F.gelu(self.dense2(h1))))


# --- the model ----------------------------------------------------------------------------------


@dataclass
class SpanBertPreTrainingOutput:
    """What ``SpanBertForPreTraining`` returns.

    loss = mlm_loss + sbo_loss (None without labels); mlm_logits (num_masked, vocab) with labels,
    else (batch, seq, vocab); sbo_logits (num_masked, vocab), in the order of ``labels[labels != -100]``
    (None without labels: the SBO needs to know the spans).
    """

    loss: Tensor | None
    mlm_loss: Tensor | None
    sbo_loss: Tensor | None
    mlm_logits: Tensor
    sbo_logits: Tensor | None


class SpanBertForPreTraining(nn.Module):
    """SpanBERT: lesson 07's ``BertModel`` with the MLM head and the span boundary head, no NSP.

    Both heads' decoders share the token-embedding matrix (one Parameter); each keeps its own bias.
    Initialised as BERT (N(0, 0.02) weights). ``forward(input_ids, token_type_ids=None,
    attention_mask=None, labels=None)`` with ``BertModel``'s inputs and labels (batch, seq) long
    (-100 where not masked); returns :class:`SpanBertPreTrainingOutput`. Attributes ``config``,
    ``bert`` and ``mlm_head`` are named as in ``BertForPreTraining``, so ``mini_bert.mlm_accuracy``
    scores this model too. ``use_sbo=False`` leaves the SBO out of the loss (an ablation; the head
    still exists, untrained), as in SpanBERT's ablation of its auxiliary objectives.
    ``sbo_head_class``: another boundary head (yours) with :class:`SpanBoundaryHead`'s constructor
    and a ``decoder`` layer; :class:`SpanBoundaryHead` if None.
    """

    def __init__(self, config: BertConfig, max_span_length: int = 32, use_sbo: bool = True,
                 sbo_head_class: type[nn.Module] | None = None) -> None:
        super().__init__()
        self.config = config
        self.use_sbo = use_sbo
        self.bert = BertModel(config)
        self.mlm_head = MaskedLMHead(config)
        self.sbo_head = (sbo_head_class or SpanBoundaryHead)(config.hidden_size, config.vocab_size, max_span_length,
                                                             config.layer_norm_eps)
        for module in (self.mlm_head, self.sbo_head):
            module.apply(lambda m: init_weights(m, config.initializer_range))
        tied = self.bert.embeddings.word_embeddings.weight
        self.mlm_head.decoder.weight = tied
        self.sbo_head.decoder.weight = tied

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None, attention_mask: Tensor | None = None,
                labels: Tensor | None = None) -> SpanBertPreTrainingOutput:
        hidden = self.bert(input_ids, token_type_ids, attention_mask).last_hidden_state
        if labels is None:
            return SpanBertPreTrainingOutput(None, None, None, self.mlm_head(hidden), None)
        if not isinstance(labels, Tensor) or tuple(labels.shape) != tuple(input_ids.shape):
            got = tuple(labels.shape) if isinstance(labels, Tensor) else type(labels).__name__
            raise ValueError(f"labels must be shaped like input_ids {tuple(input_ids.shape)}; got {got}.")
        mlm_logits = self.mlm_head(hidden[labels != IGNORE_INDEX])
        sbo_logits = self.sbo_head(hidden, labels)
        masked_lm, boundary = mlm_loss(mlm_logits, labels), mlm_loss(sbo_logits, labels)
        loss = masked_lm + boundary if self.use_sbo else masked_lm
        return SpanBertPreTrainingOutput(loss, masked_lm, boundary, mlm_logits, sbo_logits)


def span_bert_loss(model: SpanBertForPreTraining, batch: dict[str, Tensor]) -> Tensor:
    """``loss(model, batch)`` for ``mini_bert.run_pretraining``: MLM + SBO (MLM alone if ``use_sbo`` is
    False) on a batch of ``mini_bert.batches`` (``input_ids``, ``token_type_ids``, ``attention_mask``,
    ``labels``; a ``next_sentence_label`` is ignored, as SpanBERT has no NSP)."""
    return model(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"], batch["labels"]).loss


def sbo_accuracy(
    model: SpanBertForPreTraining, dataset: Dataset, mask_fn: Callable[..., tuple[Tensor, Tensor]],
    n: int | None = 1000, seed: int = 0, *, mask_token_id: int | None = None,
) -> float:
    """Share of the masked tokens that the SBO head alone predicts right, from the span's boundaries.

    The first ``n`` rows of ``dataset`` masked by ``mask_fn`` (a span masker:
    ``functools.partial(span_masking.span_mask_tokens, is_continuation=...)``) from ``seed``, as
    ``mini_bert.mlm_accuracy`` masks them, so the two heads of one model, and the MLM heads of other
    models, are scored on the same masks. A float in [0, 1]; eval mode, no gradients. ValueError
    when no position was masked.
    """
    device, correct, total = model_device(model), 0, 0
    with inference(model):
        for b in evaluation_batches(dataset, n, seed, vocab_size=model.config.vocab_size,
                                    mask_token_id=mask_token_id, mask_fn=mask_fn):
            b = {key: value.to(device) for key, value in b.items()}
            logits = model(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["labels"]).sbo_logits
            targets = b["labels"][b["labels"] != IGNORE_INDEX]
            correct += int((logits.argmax(-1) == targets).sum())
            total += targets.numel()
    if total == 0:
        raise ValueError("no position was masked in these rows: evaluate on more rows (n).")
    return correct / total
