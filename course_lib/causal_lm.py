"""The causal language-model loss and perplexity (lesson 10_gpt_rlhf).

A decoder-only model is trained to predict every next token at once: the logits at position t
score the token at t + 1 (the *shift*), so a sequence of n tokens gives n - 1 predictions, and
the first token is never predicted. Padding is neither read (the model's attention mask) nor
predicted (the loss's mask). ``token_logprobs`` gives each next token's log-probability,
``lm_loss`` their negative mean over the real targets of a batch (HF's ``GPT2LMHeadModel`` loss
with padding labelled -100), ``perplexity`` its exponential, and ``corpus_perplexity`` the
perplexity of a whole held-out set, pooled over its tokens. The same per-token log-probabilities,
summed over a response, are what ``course_lib.preferences`` trains with.

Reference: Radford et al. (2018), "Improving Language Understanding by Generative Pre-Training",
section 3.1 (the objective, sum_i log P(u_i | u_<i)).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int, check_tokens
from course_lib.gpt import check_attention_mask
from course_lib.training import inference, model_device

__all__ = ["token_logprobs", "lm_loss", "perplexity", "corpus_perplexity"]


def _check_logits(logits: object, input_ids: object) -> None:
    """(batch, seq, vocab) float logits for (batch, seq) ids, seq >= 2."""
    check_tokens("input_ids", input_ids)
    if not isinstance(logits, Tensor) or not logits.is_floating_point() or logits.dim() != 3:
        got = f"{logits.dtype} {tuple(logits.shape)}" if isinstance(logits, Tensor) else type(logits).__name__
        raise ValueError(f"logits must be a float (batch, seq, vocab) tensor, the model's output; got {got}.")
    if logits.shape[:2] != input_ids.shape:
        raise ValueError(
            f"logits {tuple(logits.shape)} must have one row per token of input_ids {tuple(input_ids.shape)}."
        )
    if input_ids.shape[1] < 2:
        raise ValueError("a language-model loss needs sequences of at least 2 tokens: one to read, one to predict.")


def token_logprobs(logits: Tensor, input_ids: Tensor) -> Tensor:
    """log p(input_ids[:, t + 1] | input_ids[:, :t + 1]), (batch, seq - 1), with gradients.

    The shift: the logits at position t score the token at t + 1, so the last position's logits
    score nothing and the first token is never scored. ``logits`` (batch, seq, vocab) float,
    ``input_ids`` (batch, seq) ids, seq >= 2; ValueError otherwise.
    """
    _check_logits(logits, input_ids)
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return log_probs.gather(-1, input_ids[:, 1:, None].long()).squeeze(-1)


def lm_loss(logits: Tensor, input_ids: Tensor, attention_mask: Tensor | None = None, reduction: str = "mean") -> Tensor:
    """The causal language-model loss: cross-entropy of every next token, padding ignored.

    ``logits`` (batch, seq, vocab) float, ``input_ids`` (batch, seq) ids, ``attention_mask``
    (batch, seq) 1 = real, 0 = padding (default all real). The target at position t + 1 is scored
    by the logits at t (``token_logprobs``); a target that is padding counts for nothing.
    ``reduction="mean"`` averages over the real targets of the whole batch (pooled over tokens,
    not averaged per sequence), which is HF's ``GPT2LMHeadModel`` loss with padding labelled -100;
    ``"sum"`` returns the total, for pooling several batches. A float scalar tensor with gradients.
    ValueError for shapes that do not fit, a mask that is not 0/1, an unknown reduction, or no
    real target at all.
    """
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum'; got {reduction!r}.")
    nll = -token_logprobs(logits, input_ids)
    if attention_mask is None:
        real = torch.ones_like(nll)
    else:
        real = check_attention_mask("attention_mask", attention_mask, tuple(input_ids.shape))[:, 1:].to(nll.dtype)
    count = real.sum()
    if count == 0:
        raise ValueError("no real target token: every position after the first is padding.")
    total = (nll * real).sum()
    return total / count if reduction == "mean" else total


def perplexity(logits: Tensor, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
    """exp(lm_loss): the model is as unsure as a uniform choice among this many tokens.

    Arguments as ``lm_loss``; a float scalar tensor, 1 for a perfect model, vocab_size for a
    uniform one. Over a corpus, pool the tokens (``corpus_perplexity``), not the batches' perplexities.
    """
    return lm_loss(logits, input_ids, attention_mask).exp()


def corpus_perplexity(
    model: nn.Module, input_ids: Tensor, attention_mask: Tensor | None = None, batch_size: int = 64
) -> float:
    """The perplexity of ``model`` (ids and mask -> logits, e.g. a ``GPT``) on (num_sequences, seq) ids,
    pooled over every real target token.

    Runs in eval mode without gradients, ``batch_size`` sequences at a time, on the model's
    device, and restores the model's mode; returns a float.
    """
    check_int("batch_size", batch_size, "how many sequences to score at once")
    check_tokens("input_ids", input_ids)
    device = model_device(model)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    total, count = 0.0, 0.0
    with inference(model):
        for start in range(0, input_ids.shape[0], batch_size):
            ids = input_ids[start : start + batch_size].to(device)
            mask = attention_mask[start : start + batch_size].to(device)
            total += lm_loss(model(ids, mask), ids, mask, reduction="sum").item()
            count += mask[:, 1:].sum().item()
    return math.exp(total / count)
