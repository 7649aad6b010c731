"""Static and dynamic masking (lesson 09_roberta_spanbert).

BERT masked its data once, when it wrote it: to see more than one mask per sequence, the data was
duplicated 10 times, each copy masked differently, so over 40 epochs every sequence was seen with
each of its 10 masks 4 times (Liu et al. 2019, "RoBERTa", section 4.1: STATIC masking). RoBERTa
instead draws a fresh mask every time a sequence is fed to the model (DYNAMIC masking), which is
what ``pretraining.mask_tokens`` does when it is called per batch (``pretraining.collate``,
``mini_bert.batches``). RoBERTa's Table 1 finds dynamic masking comparable to static or slightly
better (SQuAD 2.0 F1 78.7 against 78.3, SST-2 92.9 against 92.5) and slightly worse on MNLI
(84.0 against 84.3).

- :func:`static_masks`: the k masked copies of a batch, drawn once;
- :class:`StaticMasking`: a ``mask_fn`` for ``mini_bert.batches`` that masks each sequence k ways
  the first time it sees it and then only reuses those k masks, in turn;
- :func:`epoch_masks` and :func:`distinct_masks`: which positions a masking scheme chooses for the
  same sequences epoch after epoch, and how many different masks that makes;
- :func:`heldout_mlm_loss`: the experiment's measure, the MLM loss on held-out rows under masks
  that no model has seen.

A ``mask_fn`` has ``pretraining.mask_tokens``' signature: ``mask_fn(input_ids, special_tokens_mask,
vocab_size, mask_token_id, generator, mlm_probability)`` -> ``(masked input_ids, labels)``;
``span_masking.span_mask_tokens`` (through ``functools.partial``) is one too.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.arguments import check_int, check_tokens
from course_lib.mini_bert import evaluation_batches
from course_lib.pretraining import IGNORE_INDEX, mask_tokens
from course_lib.training import inference, model_device

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset

__all__ = ["MaskFn", "static_masks", "StaticMasking", "epoch_masks", "distinct_masks", "heldout_mlm_loss"]

MaskFn = Callable[..., tuple[Tensor, Tensor]]  # pretraining.mask_tokens' signature


def _check_generator(generator: object) -> None:
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator (torch.Generator().manual_seed(0)); got {generator!r}.")


def static_masks(
    input_ids: Tensor,
    special_tokens_mask: Tensor,
    vocab_size: int,
    mask_token_id: int,
    generator: torch.Generator,
    duplicates: int = 10,
    mlm_probability: float = 0.15,
    *,
    mask_fn: MaskFn = mask_tokens,
) -> tuple[Tensor, Tensor]:
    """``duplicates`` masked copies of a batch, drawn once: ``(inputs, labels)``, each (duplicates, batch, seq) long.

    Copy k is ``mask_fn``'s corruption of the whole batch (``pretraining.mask_tokens`` by default:
    15% chosen, 80/10/10), the k copies drawn independently in ONE call on the batch repeated
    ``duplicates`` times, so their statistics are ``mask_fn``'s exactly. Static masking feeds copy
    ``epoch % duplicates`` at every epoch (RoBERTa's baseline: 10 copies over 40 epochs).
    ``input_ids`` (batch, seq) long and ``special_tokens_mask`` (batch, seq) 0/1 as ``mask_tokens``
    takes them. ValueError for a bad ``duplicates``; ``mask_fn``'s errors for the rest.
    """
    check_tokens("input_ids", input_ids)
    check_int("duplicates", duplicates, "masked copies of each sequence (RoBERTa's static baseline: 10)")
    if not isinstance(special_tokens_mask, Tensor) or special_tokens_mask.shape != input_ids.shape:
        got = tuple(special_tokens_mask.shape) if isinstance(special_tokens_mask, Tensor) else type(special_tokens_mask)
        raise ValueError(f"special_tokens_mask must be a tensor shaped like input_ids {tuple(input_ids.shape)}; "
                         f"got {got}.")
    inputs, labels = mask_fn(input_ids.repeat(duplicates, 1), special_tokens_mask.repeat(duplicates, 1), vocab_size,
                             mask_token_id, generator, mlm_probability)
    shape = (duplicates, *input_ids.shape)
    return inputs.view(shape), labels.view(shape)


class StaticMasking:
    """A ``mask_fn`` that gives every sequence one of ``duplicates`` masks drawn once: static masking.

    ``StaticMasking(duplicates=10, mask_fn=mask_tokens, mlm_probability=0.15)`` is called like
    ``mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)`` and returns
    ``(masked input_ids, labels)`` (batch, seq) long, so ``mini_bert.batches(..., mask_fn=StaticMasking())``
    and ``mini_bert.pretrain(..., mask_fn=StaticMasking())`` train with static masks. The first time
    a sequence comes by, :func:`static_masks` draws its ``duplicates`` masks from ``generator``;
    its n-th visit (from 0) gets mask ``n % duplicates``, so over 40 epochs with 10 duplicates each
    mask is seen 4 times, as in RoBERTa's static baseline (which shuffled the copies instead of
    cycling them). A sequence is recognised by its ids up to its last maskable token, so padding
    to another batch length does not make it new, and two identical rows of a corpus share their
    masks. Masks are remembered for the object's lifetime: use a new one per training run.
    ``n_sequences`` counts the sequences seen so far.
    """

    def __init__(self, duplicates: int = 10, mask_fn: MaskFn = mask_tokens, mlm_probability: float = 0.15) -> None:
        check_int("duplicates", duplicates, "masked copies of each sequence (RoBERTa's static baseline: 10)")
        self.duplicates, self.mask_fn, self.mlm_probability = duplicates, mask_fn, mlm_probability
        self._masks: dict[tuple[int, ...], tuple[Tensor, Tensor]] = {}  # key -> (inputs, labels) (duplicates, length)
        self._visits: dict[tuple[int, ...], int] = {}

    @property
    def n_sequences(self) -> int:
        """How many different sequences have been masked so far."""
        return len(self._masks)

    def __call__(self, input_ids: Tensor, special_tokens_mask: Tensor, vocab_size: int, mask_token_id: int,
                 generator: torch.Generator) -> tuple[Tensor, Tensor]:
        check_tokens("input_ids", input_ids)
        _check_generator(generator)
        if not isinstance(special_tokens_mask, Tensor) or special_tokens_mask.shape != input_ids.shape:
            raise ValueError(f"special_tokens_mask must be a tensor shaped like input_ids {tuple(input_ids.shape)}.")
        inputs, labels = input_ids.clone(), torch.full_like(input_ids, IGNORE_INDEX)
        for row, (ids, special) in enumerate(zip(input_ids, special_tokens_mask)):
            maskable = (special == 0).nonzero()
            if not len(maskable):
                continue
            length = int(maskable[-1]) + 1  # up to the last maskable token: trailing [SEP] and padding never change
            key = tuple(ids[:length].tolist())
            if key not in self._masks:
                masked, targets = static_masks(ids[None, :length], special[None, :length], vocab_size, mask_token_id,
                                               generator, self.duplicates, self.mlm_probability, mask_fn=self.mask_fn)
                self._masks[key], self._visits[key] = (masked[:, 0], targets[:, 0]), 0
            copy = self._visits[key] % self.duplicates
            self._visits[key] += 1
            inputs[row, :length], labels[row, :length] = (t[copy] for t in self._masks[key])
        return inputs, labels


def epoch_masks(
    mask_fn: MaskFn, input_ids: Tensor, special_tokens_mask: Tensor, vocab_size: int, mask_token_id: int,
    epochs: int, generator: torch.Generator,
) -> Tensor:
    """The positions ``mask_fn`` chooses in the same batch at each of ``epochs`` calls: bool (epochs, batch, seq).

    One ``mask_fn(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)`` call per
    epoch, in order; True where labels != -100. A dynamic scheme chooses afresh at every call, a
    static one repeats itself. ValueError for a bad ``epochs``.
    """
    check_int("epochs", epochs, "times the batch is masked")
    _check_generator(generator)
    return torch.stack([mask_fn(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)[1]
                        != IGNORE_INDEX for _ in range(epochs)])


def distinct_masks(chosen: Tensor) -> Tensor:
    """How many different masks each sequence received: long (batch,), from :func:`epoch_masks`' (epochs, batch, seq).

    Two epochs' masks are the same when they choose exactly the same positions. Static masking
    with k duplicates gives at most k; dynamic masking about ``epochs`` (fewer only when a short
    sequence happens to draw the same positions twice).
    """
    if not isinstance(chosen, Tensor) or chosen.dtype != torch.bool or chosen.dim() != 3:
        raise ValueError("chosen must be a bool tensor (epochs, batch, seq), as epoch_masks returns.")
    return torch.tensor([len({tuple(mask.tolist()) for mask in chosen[:, row]}) for row in range(chosen.shape[1])])


def heldout_mlm_loss(
    model: nn.Module, dataset: Dataset, n: int | None = 1000, seed: int = 0, *, mask_fn: MaskFn = mask_tokens,
    mask_token_id: int | None = None,
) -> float:
    """The mean MLM cross-entropy over the masked positions of the first ``n`` rows of ``dataset``.

    Rows are masked by ``mask_fn`` from ``torch.Generator().manual_seed(seed)``
    (``mini_bert.evaluation_batches``): masks no model trained on, the same for every model
    compared. ``model`` is a ``BertForPreTraining`` or ``span_boundary.SpanBertForPreTraining``
    (``model(input_ids, token_type_ids, attention_mask, labels).mlm_logits`` at the masked
    positions). Eval mode, no gradients; a float (nats per masked token). ValueError when no
    position was masked.
    """
    device, total, count = model_device(model), 0.0, 0
    with inference(model):
        for b in evaluation_batches(dataset, n, seed, vocab_size=model.config.vocab_size,
                                    mask_token_id=mask_token_id, mask_fn=mask_fn):
            b = {key: value.to(device) for key, value in b.items()}
            logits = model(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["labels"]).mlm_logits
            targets = b["labels"][b["labels"] != IGNORE_INDEX]
            total += float(F.cross_entropy(logits, targets, reduction="sum"))
            count += targets.numel()
    if count == 0:
        raise ValueError("no position was masked in these rows: evaluate on more rows (n).")
    return total / count
