"""BERT's pretraining data and objectives (lesson 07_bert_pretraining).

Devlin et al. (2019), section 3.1 and appendix A, as google-research/bert's
``create_pretraining_data.py`` and HF's ``DataCollatorForLanguageModeling`` implement them:

- ``bert_inputs``: one example as ``[CLS] A [SEP] B [SEP]`` with segment ids and padding, the
  pair truncated longest-first (``truncate_pair``);
- ``mask_tokens``: the masked-language-model corruption, 15% of the tokens chosen, of those 80%
  replaced by [MASK], 10% by a random token, 10% left as they are;
- ``nsp_pairs``: next-sentence-prediction pairs, half real continuations, half a segment from
  another document;
- ``mlm_loss``, ``nsp_loss``: the two objectives; ``collate``: a batch with a fresh mask per call.

Conventions, HF's: ``input_ids``, ``token_type_ids``, ``attention_mask`` (1 = real token),
``special_tokens_mask`` (1 = [CLS], [SEP] or padding), ``labels`` (-100 = not chosen, so no
loss), ``next_sentence_label`` with 0 = "B is the real next segment" (IsNext) and 1 = "B is
random" (NotNext). The model that reads them is ``course_lib.bert``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from course_lib.arguments import check_int, check_tokens

__all__ = [
    "IGNORE_INDEX",
    "IS_NEXT",
    "NOT_NEXT",
    "truncate_pair",
    "bert_inputs",
    "mask_tokens",
    "check_corruption",
    "corrupt_chosen",
    "NSPPair",
    "nsp_pairs",
    "mlm_loss",
    "nsp_loss",
    "collate",
]

IGNORE_INDEX = -100  # label of a position that is not predicted (the default ignore_index of F.cross_entropy)
IS_NEXT, NOT_NEXT = 0, 1  # next_sentence_label values, as in HF and BERT's data code


# --- one example: [CLS] A [SEP] B [SEP] ---------------------------------------------------------


def truncate_pair(tokens_a: Sequence[int], tokens_b: Sequence[int], max_tokens: int) -> tuple[list[int], list[int]]:
    """Trim the pair to at most ``max_tokens`` tokens in all: the LONGER segment loses one token
    from its end at a time, so a short segment is only cut once the long one is down to its length.

    On a tie the segment that was longer to begin with keeps the extra token (B if they began
    equal), which is what HF's fast tokenizers do for ``truncation="longest_first"``. BERT's
    ``_truncate_seq_pair`` trims B on every tie instead, so when both segments must be cut to an odd
    total, A ends one token longer there (5 + 6 tokens into 7: BERT 4 + 3, HF and here 3 + 4).
    (BERT's pretraining data code also cuts from the front or the back at random; we never do.)
    """
    a, b = list(tokens_a), list(tokens_b)
    b_began_longer = len(b) >= len(a)
    while len(a) + len(b) > max_tokens:
        if len(a) > len(b) or (len(a) == len(b) and b_began_longer):
            a.pop()
        else:
            b.pop()
    return a, b


def _check_ids(name: str, ids: object) -> None:
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Sequence) or not all(
        isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in ids
    ):
        raise TypeError(
            f"{name} must be a list of non-negative int token ids (the tokenizer's output); got {ids!r:.80}."
        )


def bert_inputs(
    tokens_a: Sequence[int],
    tokens_b: Sequence[int] | None,
    max_length: int,
    cls_id: int,
    sep_id: int,
    pad_id: int,
    *,
    padding: bool = True,
) -> dict[str, list[int]]:
    """BERT's input for one segment or a pair, as lists of ints (what a tokenizer returns).

    ``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``, truncated by ``truncate_pair`` to fit
    ``max_length`` and, with ``padding``, right-padded to exactly ``max_length``. Returns
    ``input_ids``; ``token_type_ids`` 0 for [CLS], A and its [SEP], 1 for B and the final [SEP],
    0 on padding; ``attention_mask`` 1 on real tokens, 0 on padding; ``special_tokens_mask`` 1 on
    [CLS], [SEP] and padding (the positions masking must never choose). Equal to
    ``BertTokenizerFast(...)(text_a, text_b, truncation="longest_first", max_length=max_length,
    padding="max_length", return_special_tokens_mask=True)`` on the same token ids.
    TypeError for ids that are not lists of ints, ValueError if ``max_length`` cannot hold the
    special tokens (2 for one segment, 3 for a pair).
    """
    _check_ids("tokens_a", tokens_a)
    if tokens_b is not None:
        _check_ids("tokens_b", tokens_b)
    specials = 2 if tokens_b is None else 3
    check_int("max_length", max_length, f"it must hold [CLS] and {specials - 1} [SEP]", minimum=specials)
    a, b = truncate_pair(tokens_a, tokens_b or [], max_length - specials)
    input_ids = [cls_id, *a, sep_id]
    token_type_ids = [0] * len(input_ids)
    special_tokens_mask = [1] + [0] * len(a) + [1]
    if tokens_b is not None:
        input_ids += [*b, sep_id]
        token_type_ids += [1] * (len(b) + 1)
        special_tokens_mask += [0] * len(b) + [1]
    attention_mask = [1] * len(input_ids)
    pad = max_length - len(input_ids) if padding else 0
    return {
        "input_ids": input_ids + [pad_id] * pad,
        "token_type_ids": token_type_ids + [0] * pad,
        "attention_mask": attention_mask + [0] * pad,
        "special_tokens_mask": special_tokens_mask + [1] * pad,
    }


# --- masked language model ----------------------------------------------------------------------


def _check_01(name: str, mask: object, shape: tuple[int, ...]) -> Tensor:
    if not isinstance(mask, Tensor) or tuple(mask.shape) != shape:
        got = tuple(mask.shape) if isinstance(mask, Tensor) else type(mask).__name__
        raise ValueError(f"{name} must be a tensor shaped like input_ids {shape}; got {got}.")
    if not ((mask == 0) | (mask == 1)).all():
        raise ValueError(f"{name} must hold only 0 and 1 (or be bool).")
    return mask.bool()


def mask_tokens(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    vocab_size: int,
    mask_token_id: int,
    generator: torch.Generator,
    mlm_probability: float = 0.15,
    *,
    attention_mask: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """BERT's MLM corruption; returns ``(masked input_ids, labels)``, both (batch, seq) long.

    Every position that is neither special (``special_tokens_mask`` 1: [CLS], [SEP], padding) nor
    padding (``attention_mask`` 0, if given) is chosen independently with probability
    ``mlm_probability`` (a Bernoulli per position, as HF's ``DataCollatorForLanguageModeling``;
    BERT's ``create_pretraining_data.py`` instead picks exactly round(15% of the length) positions).
    Of the chosen, 80% become ``mask_token_id``, 10% a token drawn uniformly from the WHOLE
    vocabulary [0, vocab_size), special tokens included (as BERT's code and HF's collator do),
    10% stay. ``labels`` holds the original id at chosen positions and -100 elsewhere.

    Draws, in this order, all from ``generator`` and all over the full (batch, seq) shape (HF's
    ``torch_mask_tokens`` order, so the two agree exactly for one generator state):
    1. ``torch.bernoulli`` of ``mlm_probability`` (0 on excluded positions): chosen;
    2. ``torch.bernoulli`` of 0.8: [MASK] where also chosen;
    3. ``torch.bernoulli`` of 0.5: random token where also chosen and not [MASK];
    4. ``torch.randint(vocab_size)``: the random tokens.
    Probabilities are float32 tensors. ``input_ids`` is not modified.
    """
    check_corruption(input_ids, vocab_size, mask_token_id)
    shape = tuple(input_ids.shape)
    excluded = _check_01("special_tokens_mask", special_tokens_mask, shape)
    if attention_mask is not None:
        excluded = excluded | ~_check_01("attention_mask", attention_mask, shape)
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"generator must be a torch.Generator (e.g. torch.Generator().manual_seed(0)); got {generator!r}."
        )
    if not 0.0 < mlm_probability <= 1.0:
        raise ValueError(f"mlm_probability must be in (0, 1]; got {mlm_probability!r}.")

    probability = torch.full(shape, mlm_probability, dtype=torch.float32, device=input_ids.device)
    chosen = torch.bernoulli(probability.masked_fill_(excluded, 0.0), generator=generator).bool()
    return corrupt_chosen(input_ids, chosen, vocab_size, mask_token_id, generator)


def check_corruption(input_ids: object, vocab_size: object, mask_token_id: object) -> None:
    """The checks every MLM corruption makes (``mask_tokens``, SpanBERT's span masking): ``input_ids``
    integer token ids of dtype torch.long (a narrower dtype would turn the -100 labels into ids),
    ``vocab_size`` a positive int, ``mask_token_id`` an int id below it. TypeError or ValueError."""
    check_tokens("input_ids", input_ids)
    if input_ids.dtype != torch.long:
        raise TypeError(f"input_ids must be torch.long (int64), as labels hold -100; got {input_ids.dtype}: "
                        "call .long() on them first.")
    check_int("vocab_size", vocab_size, "the random replacement is drawn from [0, vocab_size)")
    if isinstance(mask_token_id, bool) or not isinstance(mask_token_id, int) or not 0 <= mask_token_id < vocab_size:
        raise ValueError(f"mask_token_id must be an int id in [0, vocab_size={vocab_size}); got {mask_token_id!r}.")


def corrupt_chosen(
    input_ids: Tensor,
    chosen: Tensor,
    vocab_size: int,
    mask_token_id: int,
    generator: torch.Generator,
    *,
    span_ids: Tensor | None = None,
) -> tuple[Tensor, Tensor]:
    """BERT's 80/10/10 on the ``chosen`` positions; returns ``(masked input_ids, labels)``, (batch, seq) long.

    ``chosen`` (batch, seq) bool. Of the chosen, 80% become ``mask_token_id``, 10% a token drawn
    uniformly from [0, vocab_size), 10% stay; ``labels`` holds the original id at chosen positions
    and -100 elsewhere. Draws, from ``generator``: ``torch.bernoulli`` of 0.8 ([MASK]), of 0.5 (random
    among the rest), then ``torch.randint(vocab_size)`` over (batch, seq) for the random tokens.
    Without ``span_ids`` the two Bernoulli draws are per position, over (batch, seq) (steps 2-4 of
    :func:`mask_tokens`, HF's order). With ``span_ids`` (batch, seq) long, the index of the span each
    chosen position belongs to (0 .. k-1) and -1 elsewhere, they are drawn once per span, over (k,),
    so a whole span is [MASK]ed, randomised or kept together (SpanBERT, Joshi et al. 2020, section
    3.1). Arguments are checked by the callers; ``input_ids`` is not modified.
    """
    shape = tuple(input_ids.shape)
    if span_ids is None:
        draws, spread = shape, (lambda per_draw: per_draw)
    else:
        no_span = torch.zeros(1, dtype=torch.bool, device=input_ids.device)  # what span id -1 reads
        draws, spread = (int(span_ids.max()) + 1,), (lambda per_span: torch.cat([per_span, no_span])[span_ids])

    def bernoulli(p: float) -> Tensor:
        return spread(torch.bernoulli(torch.full(draws, p, device=input_ids.device), generator=generator).bool())

    inputs = input_ids.clone()
    to_mask = bernoulli(0.8) & chosen
    to_random = bernoulli(0.5) & chosen & ~to_mask  # half of the other 20%
    random_ids = torch.randint(vocab_size, shape, dtype=inputs.dtype, device=inputs.device, generator=generator)
    inputs[to_mask] = mask_token_id
    inputs[to_random] = random_ids[to_random]
    return inputs, input_ids.masked_fill(~chosen, IGNORE_INDEX)


# --- next sentence prediction -------------------------------------------------------------------


@dataclass(frozen=True)
class NSPPair:
    """One NSP example: segment A, segment B and the label (0 = IsNext, 1 = NotNext).

    Where the segments came from, for inspection and tests: ``document_a``/``document_b`` index
    ``documents``, ``sentences_a``/``sentences_b`` are ranges of sentence indices within them.
    """

    tokens_a: list[int]
    tokens_b: list[int]
    next_sentence_label: int
    document_a: int
    sentences_a: range
    document_b: int
    sentences_b: range


def _documents(documents: Sequence) -> list[tuple[list, Hashable]]:
    """(sentences, topic) per document; a document is a list of sentences or a {"sentences", "topic"} row."""
    out = []
    for i, doc in enumerate(documents):
        sentences, topic = (doc["sentences"], doc.get("topic")) if isinstance(doc, Mapping) else (doc, None)
        if isinstance(sentences, (str, bytes)) or not isinstance(sentences, Sequence):
            raise TypeError(
                f"document {i} must be a list of sentences, each a list of token ids; got {type(sentences).__name__}."
            )
        for sentence in sentences:
            _check_ids(f"a sentence of document {i}", sentence)
        out.append((list(sentences), topic))
    return out


def nsp_pairs(
    documents: Sequence[Sequence[Sequence[int]] | Mapping],
    generator: torch.Generator,
    *,
    sentences_per_segment: int = 1,
    negatives: str = "other_document",
    random_probability: float = 0.5,
) -> list[NSPPair]:
    """Sentence pairs for NSP: B follows A in its document (label 0), or comes from another document (label 1).

    ``documents``: each a list of sentences (each a list of token ids), or a mapping
    ``{"sentences": [...], "topic": ...}`` (a row of the course corpus). Segment A is a run of
    ``sentences_per_segment`` (k) sentences; windows start at sentences 0, k, 2k, ... of each
    document while 2k sentences remain, so every example could have a true continuation.
    With probability ``random_probability`` B is k consecutive sentences at a random place in a
    DIFFERENT document (never A's own: a "random" B from A's document may be its real continuation,
    the classic bug behind a stalled NSP loss), else the k sentences right after A.
    ``negatives="same_topic"`` takes that other document among those with A's topic (needs topics),
    so NSP can no longer be solved by spotting a change of topic, only by coherence.

    Draw order, all from ``generator``, documents then windows in order: ``torch.rand(1)`` < p makes
    a negative; for it, ``torch.randint`` picks the document among the eligible ones in index order,
    then ``torch.randint`` the start sentence. ValueError if no other document can supply a negative.
    """
    docs = _documents(documents)
    check_int("sentences_per_segment", sentences_per_segment, "sentences in each of A and B")
    if negatives not in ("other_document", "same_topic"):
        raise ValueError(f"negatives must be 'other_document' or 'same_topic'; got {negatives!r}.")
    if negatives == "same_topic" and any(topic is None for _, topic in docs):
        raise ValueError(
            "negatives='same_topic' needs a topic per document: pass {'sentences': ..., 'topic': ...} rows."
        )
    if not 0.0 <= random_probability <= 1.0:
        raise ValueError(f"random_probability must be in [0, 1]; got {random_probability!r}.")
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator; got {generator!r}.")
    k = sentences_per_segment

    def tokens(document: int, span: range) -> list[int]:
        return [token for sentence in docs[document][0][span.start:span.stop] for token in sentence]

    pairs = []
    for d, (sentences, topic) in enumerate(docs):
        for start in range(0, len(sentences) - 2 * k + 1, k):
            span_a = range(start, start + k)
            if torch.rand(1, generator=generator).item() < random_probability:
                others = [
                    j for j, (other, other_topic) in enumerate(docs)
                    if j != d and len(other) >= k and (negatives == "other_document" or other_topic == topic)
                ]
                if not others:
                    where = f" with topic {topic!r}" if negatives == "same_topic" else ""
                    raise ValueError(f"document {d} needs a negative but no other document{where} has {k} sentences.")
                j = others[torch.randint(len(others), (1,), generator=generator).item()]
                first = torch.randint(len(docs[j][0]) - k + 1, (1,), generator=generator).item()
                label, doc_b, span_b = NOT_NEXT, j, range(first, first + k)
            else:
                label, doc_b, span_b = IS_NEXT, d, range(start + k, start + 2 * k)
            pairs.append(NSPPair(tokens(d, span_a), tokens(doc_b, span_b), label, d, span_a, doc_b, span_b))
    return pairs


# --- the objectives -----------------------------------------------------------------------------


def mlm_loss(logits: Tensor, labels: Tensor) -> Tensor:
    """Mean cross-entropy over the CHOSEN positions (labels != -100) only, a scalar.

    ``logits``: (batch, seq, vocab) at every position, or (num_chosen, vocab) at the chosen ones in
    the order of ``labels[labels != -100]`` (what ``BertForPreTraining`` computes). ``labels``:
    (batch, seq) long. A mean over all positions would dilute the loss by the share of unchosen
    positions and, if they were given targets, train on padding. With no chosen position the loss
    is 0 (HF's is NaN), so a batch without one does not break training.
    """
    if not isinstance(labels, Tensor) or labels.is_floating_point() or labels.dtype == torch.bool:
        raise TypeError("labels must be an integer tensor: token ids at chosen positions, -100 elsewhere.")
    chosen = labels != IGNORE_INDEX
    if tuple(logits.shape[:-1]) == tuple(labels.shape):
        logits = logits[chosen]
    elif logits.dim() != 2 or logits.shape[0] != int(chosen.sum()):
        raise ValueError(
            f"logits {tuple(logits.shape)} fit neither labels {tuple(labels.shape)} + (vocab,) nor "
            f"(num_chosen={int(chosen.sum())}, vocab)."
        )
    targets = labels[chosen]
    if targets.numel() and (targets.min() < 0 or targets.max() >= logits.shape[-1]):
        raise ValueError(f"labels must be -100 or ids in [0, {logits.shape[-1]}).")
    if targets.numel() == 0:
        return logits.sum() * 0.0
    return F.cross_entropy(logits, targets)


def nsp_loss(logits: Tensor, next_sentence_label: Tensor) -> Tensor:
    """Mean cross-entropy of the 2-way NSP logits (batch, 2) against labels (batch,) in {0, 1}.

    No label is ignored: reusing a loss built with ``ignore_index=0`` (for padding) here would drop
    every IsNext example and leave NSP at chance.
    """
    if not isinstance(next_sentence_label, Tensor) or next_sentence_label.is_floating_point():
        raise TypeError("next_sentence_label must be an integer tensor (batch,): 0 = IsNext, 1 = NotNext.")
    if logits.dim() != 2 or logits.shape[1] != 2 or tuple(next_sentence_label.shape) != (logits.shape[0],):
        raise ValueError(
            f"NSP needs logits (batch, 2) and next_sentence_label (batch,); got {tuple(logits.shape)} "
            f"and {tuple(next_sentence_label.shape)}."
        )
    if not ((next_sentence_label == IS_NEXT) | (next_sentence_label == NOT_NEXT)).all():
        raise ValueError("next_sentence_label must hold only 0 (IsNext) and 1 (NotNext).")
    return F.cross_entropy(logits, next_sentence_label.long())


# --- a batch ------------------------------------------------------------------------------------


def collate(
    examples: Sequence[Mapping],
    *,
    vocab_size: int,
    mask_token_id: int,
    generator: torch.Generator,
    pad_id: int = 0,
    mlm_probability: float = 0.15,
) -> dict[str, Tensor]:
    """A pretraining batch from ``bert_inputs`` examples (plus ``next_sentence_label``, if any).

    Pads to the longest example (input_ids with ``pad_id``, token_type_ids and attention_mask with
    0, special_tokens_mask with 1), then masks with ``mask_tokens``: each call draws a fresh mask
    from ``generator`` (dynamic masking, as RoBERTa and HF's collator; BERT masked once, when it
    wrote its data). Returns long tensors ``input_ids``, ``token_type_ids``, ``attention_mask``,
    ``labels`` (batch, seq) and ``next_sentence_label`` (batch,) when the examples have it. Use it
    with a DataLoader through ``functools.partial(collate, vocab_size=..., ...)``.
    """
    if not examples:
        raise ValueError("collate needs at least one example.")
    for i, example in enumerate(examples):
        if "input_ids" not in example or "special_tokens_mask" not in example:
            raise KeyError(f"example {i} needs input_ids and special_tokens_mask (bert_inputs returns both).")
    length = max(len(example["input_ids"]) for example in examples)

    def padded(key: str, fill: int, default: int) -> Tensor:
        rows = [list(ex.get(key, [default] * len(ex["input_ids"]))) for ex in examples]
        return torch.tensor([row + [fill] * (length - len(row)) for row in rows], dtype=torch.long)

    batch = {
        "input_ids": padded("input_ids", pad_id, pad_id),
        "token_type_ids": padded("token_type_ids", 0, 0),
        "attention_mask": padded("attention_mask", 0, 1),
    }
    special = padded("special_tokens_mask", 1, 1)
    batch["input_ids"], batch["labels"] = mask_tokens(
        batch["input_ids"], special, vocab_size, mask_token_id, generator, mlm_probability,
        attention_mask=batch["attention_mask"],
    )
    labelled = ["next_sentence_label" in example for example in examples]
    if any(labelled) and not all(labelled):
        raise KeyError(f"examples {[i for i, has in enumerate(labelled) if not has]} have no next_sentence_label "
                       "while others have one: give every example of a batch a label, or none.")
    if all(labelled):
        batch["next_sentence_label"] = torch.tensor([int(ex["next_sentence_label"]) for ex in examples])
    return batch
