"""Training a translator (lesson 06_translation).

A translation model learns from sentence pairs. Each pair becomes three rows of token ids:

- ``src``: the source sentence followed by ``</s>``, so the encoder sees where the sentence ends;
- ``tgt_in``: ``<s>`` followed by the target sentence, the decoder's input;
- ``tgt_out``: the target sentence followed by ``</s>``, what the decoder must predict.

``tgt_in`` is ``tgt_out`` shifted one position to the right, so position t of the decoder reads
the true tokens before t and is asked for token t: *teacher forcing*. Every position of every
sentence is trained in one parallel pass, and sentences of different lengths share a batch by
being padded on the right with ``<pad>`` (id 0), which the masks and the loss ignore.

Two ingredients of Vaswani et al. (2017), section 5, are here:

- *label smoothing* (epsilon = 0.1): the model is trained towards a target distribution that
  keeps 1 - epsilon on the right token and spreads epsilon evenly over the whole vocabulary,
  which stops it from becoming over-confident (perplexity gets worse, BLEU better);
- the *warm-up schedule*, lrate = d_model^-0.5 * min(step^-0.5, step * warmup^-1.5): the rate
  rises linearly for ``warmup`` steps (4000 in the paper), then decays as 1 / sqrt(step), used
  with Adam(beta1 = 0.9, beta2 = 0.98, eps = 1e-9).

``translate`` turns a trained model and a decoding rule (greedy or beam search) into a function
from English sentences to French ones. ``cross_attention_weights`` shows where a trained
Transformer's decoder looks in the source while it predicts each target token of a teacher-forced
batch: the alignment between the two sentences that attention learns without ever being told.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pad_sequence

from course_lib.arguments import check_int, check_tokens
from course_lib.data import Vocabulary
from course_lib.training import inference, model_device
from course_lib.transformer import Transformer

__all__ = [
    "Batch",
    "make_batch",
    "label_smoothed_cross_entropy",
    "transformer_learning_rate",
    "warmup_scheduler",
    "translation_loss",
    "batches",
    "translate",
    "cross_attention_weights",
]

Batch = tuple[Tensor, Tensor, Tensor]
"""``(src, tgt_in, tgt_out)``: token ids of shape (batch, Ls), (batch, Lt), (batch, Lt)."""


def _pad(rows: Sequence[list[int]], pad_id: int) -> Tensor:
    """Right-pad lists of ids with ``pad_id`` into one (len(rows), longest) long tensor."""
    return pad_sequence([torch.tensor(row, dtype=torch.long) for row in rows], batch_first=True, padding_value=pad_id)


def _check_vocabulary(name: str, vocab: object) -> None:
    if not isinstance(vocab, Vocabulary):
        raise TypeError(
            f"{name} must be a course_lib.data.Vocabulary; got {type(vocab).__name__}. "
            f"Build one with Vocabulary.build(sentences)."
        )


def make_batch(
    pairs: Sequence[dict],
    src_vocab: Vocabulary,
    tgt_vocab: Vocabulary,
    src_key: str = "en",
    tgt_key: str = "fr",
) -> Batch:
    """Token ids ``(src, tgt_in, tgt_out)`` for a list of sentence pairs, padded per batch.

    src = source ids + ``</s>``, (batch, Ls); tgt_in = ``<s>`` + target ids and tgt_out = target
    ids + ``</s>``, both (batch, Lt). Rows are padded on the right to the longest one in the batch.
    All three are torch.long tensors on the CPU (there is no model here); ``translation_loss`` moves
    them to the model's device.
    """
    _check_vocabulary("src_vocab", src_vocab)
    _check_vocabulary("tgt_vocab", tgt_vocab)
    if not pairs:
        raise ValueError("pairs is empty; a batch needs at least one sentence pair.")
    for pair in pairs:
        if not isinstance(pair, dict) or src_key not in pair or tgt_key not in pair:
            shown = sorted(pair) if isinstance(pair, dict) else type(pair).__name__
            raise ValueError(
                f"each pair must be a dict with the keys {src_key!r} and {tgt_key!r} (rows of "
                f"data.translation_splits()); got {shown}."
            )
    sources = [src_vocab.encode(pair[src_key], add_eos=True) for pair in pairs]
    targets = [tgt_vocab.encode(pair[tgt_key]) for pair in pairs]
    src = _pad(sources, src_vocab.pad_id)
    tgt_in = _pad([[tgt_vocab.bos_id] + target for target in targets], tgt_vocab.pad_id)
    tgt_out = _pad([target + [tgt_vocab.eos_id] for target in targets], tgt_vocab.pad_id)
    return src, tgt_in, tgt_out


def label_smoothed_cross_entropy(logits: Tensor, target: Tensor, smoothing: float = 0.1, pad_id: int = 0) -> Tensor:
    """Cross-entropy against the smoothed target, averaged over the positions that are not padding.

    logits (..., V), target (...) ids. The smoothed target puts 1 - smoothing + smoothing / V on
    the right token and smoothing / V on every other one (torch's convention), so the loss per
    position is (1 - smoothing) * (-log p[target]) + smoothing * mean over the V tokens of (-log p).
    Equal to ``F.cross_entropy(logits.reshape(-1, V), target.reshape(-1),
    label_smoothing=smoothing, ignore_index=pad_id)``. A target made only of padding raises a
    ValueError (torch returns nan): there is nothing to average, which is almost always a bug.
    """
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.dim() < 1:
        got = f"{logits.dtype} {tuple(logits.shape)}" if isinstance(logits, Tensor) else type(logits).__name__
        raise TypeError(f"logits must be a floating-point tensor of shape (..., vocab); got {got}.")
    if not isinstance(target, Tensor) or target.dtype != torch.long:
        got = target.dtype if isinstance(target, Tensor) else type(target).__name__
        raise TypeError(f"target must be a torch.long tensor of token ids; got {got}. Convert with target.long().")
    if logits.shape[:-1] != target.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} must be target's shape {tuple(target.shape)} plus one vocabulary "
            f"axis; pass the logits for exactly the positions in target (e.g. tgt_out, not tgt_in)."
        )
    if not 0.0 <= smoothing < 1.0:
        raise ValueError(f"smoothing must be in [0, 1) (the paper uses 0.1); got {smoothing}.")
    real = target != pad_id
    if not real.any():
        raise ValueError(
            f"every target position is padding (pad_id={pad_id}), so there is no token to average the "
            f"loss over; check that the batch has sentences in it and that pad_id is the vocabulary's."
        )
    vocab, tokens = logits.shape[-1], target[real]
    if tokens.min() < 0 or tokens.max() >= vocab:
        raise ValueError(f"target ids must be in [0, {vocab}) for logits over {vocab} tokens; got ids outside it.")
    log_probs = F.log_softmax(logits[real], dim=-1)  # (tokens, V): the real positions only
    nll = -log_probs.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    uniform = -log_probs.mean(dim=-1)
    return ((1.0 - smoothing) * nll + smoothing * uniform).mean()


def transformer_learning_rate(step: int, d_model: int, warmup: int = 4000) -> float:
    """The paper's rate at optimizer step ``step`` (counted from 1):
    d_model^-0.5 * min(step^-0.5, step * warmup^-1.5).

    It grows linearly up to step ``warmup``, where it peaks at (d_model * warmup)^-0.5, then
    decays as 1 / sqrt(step).
    """
    check_int("step", step, "optimizer steps are counted from 1; step 0 has no rate")
    check_int("d_model", d_model, "the model width")
    check_int("warmup", warmup, "the number of warm-up steps, 4000 in the paper")
    return d_model**-0.5 * min(step**-0.5, step * warmup**-1.5)


def warmup_scheduler(
    optimizer: torch.optim.Optimizer, d_model: int, warmup: int, scale: float = 1.0
) -> torch.optim.lr_scheduler.LambdaLR:
    """A scheduler that gives optimizer step s (1, 2, ...) the rate scale * transformer_learning_rate(s).

    Call ``scheduler.step()`` after every ``optimizer.step()`` (``course_lib.training.train`` does).
    The rate is set outright: whatever lr the optimizer was built with is replaced.
    """
    transformer_learning_rate(1, d_model, warmup)  # checks d_model and warmup
    if not scale > 0:
        raise ValueError(f"scale must be a positive number (1.0 is the paper's schedule); got {scale!r}.")
    # LambdaLR multiplies each group's lr by lambda(k), where k counts scheduler.step() calls
    # from 0: the k-th optimizer step (from 0) is step k + 1 of the paper. Dividing by the
    # group's own lr makes the product the paper's rate.
    factors = []
    for group in optimizer.param_groups:
        if not group["lr"] > 0:
            raise ValueError(f"the optimizer's lr must be positive (the schedule replaces it); got {group['lr']}.")
        factors.append(lambda k, base=group["lr"]: scale * transformer_learning_rate(k + 1, d_model, warmup) / base)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors)


def translation_loss(model: nn.Module, batch: Batch, smoothing: float = 0.1) -> Tensor:
    """Label-smoothed loss of ``model`` on a ``make_batch`` batch: the ``loss_fn`` for ``training.train``.

    The batch is moved to the model's device (``course_lib.training.model_device``) first.
    """
    device = model_device(model)
    src, tgt_in, tgt_out = (ids.to(device) for ids in batch)
    return label_smoothed_cross_entropy(model(src, tgt_in), tgt_out, smoothing, model.pad_id)


def batches(
    pairs: Sequence[dict],
    src_vocab: Vocabulary,
    tgt_vocab: Vocabulary,
    batch_size: int,
    seed: int = 0,
    collate: Callable[[list[dict], Vocabulary, Vocabulary], Batch] = make_batch,
) -> Callable[[int], Batch]:
    """A function step -> batch that walks through ``pairs`` in shuffled epochs (for ``training.train``).

    Each epoch is a fresh permutation drawn from (seed, epoch), cut into len(pairs) // batch_size
    full batches (the len(pairs) % batch_size rows left out change from epoch to epoch); the
    batch for a step depends only on the step and the seed. ``collate(rows, src_vocab, tgt_vocab)``
    turns the rows of a batch into tensors (the lesson passes the learner's ``make_batch``).
    """
    check_int("batch_size", batch_size, "sentence pairs per batch")
    if not pairs:
        raise ValueError("pairs is empty; pass the training rows, e.g. data.translation_splits()['train'].")
    pairs = list(pairs)
    per_epoch = max(1, len(pairs) // batch_size)

    def batch(step: int) -> Batch:
        epoch, index = divmod(step, per_epoch)
        order = np.random.default_rng([seed, epoch]).permutation(len(pairs))
        rows = order[index * batch_size : (index + 1) * batch_size]
        return collate([pairs[i] for i in rows], src_vocab, tgt_vocab)

    return batch


def translate(
    model: nn.Module,
    sentences: Sequence[str],
    src_vocab: Vocabulary,
    tgt_vocab: Vocabulary,
    decode: Callable[[nn.Module, Tensor], Tensor],
    batch_size: int = 500,
) -> list[str]:
    """Translate ``sentences`` with ``model`` and a decoding rule; returns detokenized strings.

    ``decode(model, src)`` maps source ids (batch, Ls), padded with ``src_vocab.pad_id``, to output
    ids (batch, L), e.g. ``lambda m, s: greedy_decode(m, s, max_len=30)``; each row is read with
    ``tgt_vocab.decode`` (up to the first ``</s>``). The model runs in eval mode without gradients
    and is put back in the mode it was in. ``src`` is made on the model's device
    (``course_lib.training.model_device``).
    """
    _check_vocabulary("src_vocab", src_vocab)
    _check_vocabulary("tgt_vocab", tgt_vocab)
    check_int("batch_size", batch_size, "sentences decoded at once")
    if isinstance(sentences, str) or not all(isinstance(s, str) for s in sentences):
        raise TypeError("sentences must be a list of strings; for one sentence pass [sentence].")
    out: list[str] = []
    device = model_device(model)
    with inference(model):
        for start in range(0, len(sentences), batch_size):
            chunk = sentences[start : start + batch_size]
            src = _pad([src_vocab.encode(s, add_eos=True) for s in chunk], src_vocab.pad_id).to(device)
            ids = decode(model, src)
            if not isinstance(ids, Tensor) or ids.dim() != 2 or ids.shape[0] != len(chunk):
                got = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
                raise ValueError(
                    f"decode(model, src) must return a (batch, length) tensor of ids with one row per "
                    f"sentence ({len(chunk)}); got {got}."
                )
            out.extend(tgt_vocab.decode(row.tolist()) for row in ids)
    return out


def cross_attention_weights(model: Transformer, src: Tensor, tgt_in: Tensor) -> Tensor:
    """Every decoder layer's cross-attention weights, (layers, batch, heads, Lt, Ls), for one pass.

    ``src`` (batch, Ls) and the decoder input ``tgt_in`` (batch, Lt), <bos> first, go through the
    model once with teacher forcing. Row i of a head's (Lt, Ls) map says how much the position that
    predicts target token i + 1 draws on each source token; padded source positions get weight 0.
    The weights are caught by forward hooks on each layer's ``cross_attn``, removed afterwards.
    The pass runs in eval mode (no dropout on the weights) without gradients, the model's mode
    restored after; ``src`` and ``tgt_in`` are moved to the model's device, where the weights are.
    """
    if not isinstance(model, Transformer):
        raise TypeError(
            f"cross_attention_weights reads the decoder layers of course_lib.transformer.Transformer; got "
            f"{type(model).__name__}."
        )
    check_tokens("src", src)
    check_tokens("tgt_in", tgt_in)
    if src.shape[0] != tgt_in.shape[0]:
        raise ValueError(
            f"src and tgt_in must hold the same number of sentences; got {src.shape[0]} and "
            f"{tgt_in.shape[0]}."
        )
    device = model_device(model)
    src, tgt_in = src.to(device), tgt_in.to(device)
    weights: list[Tensor] = []
    handles = [
        layer.cross_attn.register_forward_hook(lambda module, inputs, output: weights.append(output[1]))
        for layer in model.decoder.layers
    ]
    try:
        with inference(model):
            model(src, tgt_in)
    finally:
        for handle in handles:
            handle.remove()
    return torch.stack(weights)
