"""Generating text with a decoder-only model, with and without a key/value cache (lesson 10_gpt_rlhf).

A language model writes by appending one sampled token at a time and reading its own output back.
Without a cache every step re-runs the model on the whole sequence; with one (lesson 06's idea,
``KVCache`` per block) the prompt is run once and each later step feeds only the newest token,
whose query attends over the cached keys and values.

Prompts of different lengths are padded on the LEFT, so that every row's next token is at the
last position. Each token's position is then its row's count of real tokens before it (HF's rule
in ``generate``: ``attention_mask.cumsum(-1) - 1``), and the newest token's position must be
offset by everything already in the cache: feeding it at position 0, the classic cache bug, gives
logits that differ from the full pass. ``generate(..., use_cache=False)`` is the reference loop;
both draw from ``course_lib.sampling.sample_next`` with the same generator, so they return the same
tokens. ``generation_speed`` measures what the cache buys, in tokens per second.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from course_lib.arguments import check_int, check_tokens
from course_lib.gpt import GPT, check_attention_mask, new_cache, positions_from_mask
from course_lib.measure import wall_time
from course_lib.sampling import sample_next
from course_lib.training import inference, model_device

__all__ = ["generate", "GenerationSpeed", "generation_speed"]


def _left_padded(input_ids: Tensor, attention_mask: Tensor | None) -> Tensor:
    """The prompt's mask (batch, length), long, after checking it is 0/1, left-padded, and no row is empty."""
    if attention_mask is None:
        return torch.ones_like(input_ids, dtype=torch.long)
    hint = " shaped like input_ids (1 = real token, 0 = padding)"
    mask = check_attention_mask("attention_mask", attention_mask, tuple(input_ids.shape), hint).long()
    if (mask[:, 1:] < mask[:, :-1]).any():
        raise ValueError(
            "the prompts are padded on the right: pad them on the LEFT (tokenizer.padding_side = 'left'), "
            "so that every row's next token comes right after its last real token."
        )
    if (mask.sum(dim=-1) == 0).any():
        raise ValueError("a prompt has no real token: give every row at least one (e.g. a start token).")
    return mask


def generate(
    model: GPT,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    max_new_tokens: int = 20,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
    use_cache: bool = True,
    eos_token_id: int | None = None,
    pad_token_id: int = 0,
) -> Tensor:
    """Continue left-padded prompts (batch, length) by up to ``max_new_tokens`` sampled tokens.

    Returns (batch, length + generated) long ids, prompts included, as HF's ``generate`` does.
    Each step draws with ``sample_next(logits, temperature, top_k, top_p, generator)``;
    ``temperature=0`` is greedy. After a row produces ``eos_token_id`` it continues with
    ``pad_token_id``, and the loop stops once every row has (None = never stop early).
    ``use_cache=True`` runs the prompt once and then only the newest token per step;
    ``use_cache=False`` re-runs the whole sequence: same tokens, more work.

    ``attention_mask`` (batch, length): 1 = real, 0 = padding on the left (default all real).
    Runs in eval mode without gradients on the model's device, restoring the model's mode.
    ValueError for right padding, an empty prompt, ``max_new_tokens`` < 1, or more positions than
    the model has; sampling arguments are checked by ``sample_next``.
    """
    check_tokens("input_ids", input_ids)
    check_int("max_new_tokens", max_new_tokens, "how many tokens to generate at most")
    device = model_device(model)
    input_ids = input_ids.to(device)
    mask = _left_padded(input_ids, None if attention_mask is None else attention_mask.to(device))
    positions = positions_from_mask(mask)
    last = positions[:, -1].max().item() + max_new_tokens - 1
    if last >= model.config.n_positions:
        raise ValueError(
            f"generating {max_new_tokens} tokens after these prompts needs position {last}, but the model has "
            f"n_positions={model.config.n_positions}: generate fewer tokens or shorten the prompts."
        )
    cache = new_cache(model) if use_cache else None
    ids, step_ids, step_positions = input_ids, input_ids, positions
    finished = torch.zeros(input_ids.shape[0], dtype=torch.bool, device=device)
    with inference(model):
        for _ in range(max_new_tokens):
            if use_cache:
                logits = model(step_ids, mask, step_positions, cache)[:, -1]
            else:
                logits = model(ids, mask, positions)[:, -1]
            token = sample_next(logits, temperature, top_k, top_p, generator)
            if eos_token_id is not None:
                token = token.masked_fill(finished, pad_token_id)
                finished |= token == eos_token_id
            step_ids, step_positions = token[:, None], positions[:, -1:] + 1  # the offset: after everything cached
            ids = torch.cat((ids, step_ids), dim=1)
            positions = torch.cat((positions, step_positions), dim=1)
            mask = torch.cat((mask, torch.ones_like(step_ids)), dim=1)
            if eos_token_id is not None and finished.all():
                break
    return ids


@dataclass
class GenerationSpeed:
    """Generated tokens per second (batch x new tokens / best wall time) without and with the cache."""

    uncached_tokens_per_second: float
    cached_tokens_per_second: float

    @property
    def speedup(self) -> float:
        """How many times faster the cached loop is."""
        return self.cached_tokens_per_second / self.uncached_tokens_per_second


def generation_speed(model: GPT, input_ids: Tensor, max_new_tokens: int, repeats: int = 3) -> GenerationSpeed:
    """Time greedy ``generate`` of exactly ``max_new_tokens`` tokens after ``input_ids``, both ways.

    Best of ``repeats`` runs each, after one warm-up; on a GPU each run waits for the GPU to
    finish before its time is read. Returns ``GenerationSpeed``.
    """
    check_int("repeats", repeats, "how many timed runs to take the best of")
    device = model_device(model)
    tokens = input_ids.shape[0] * max_new_tokens

    def tokens_per_second(use_cache: bool) -> float:
        def run() -> None:
            generate(model, input_ids, max_new_tokens=max_new_tokens, temperature=0.0, use_cache=use_cache)
            if device.type == "cuda":
                torch.cuda.synchronize(device)

        return tokens / wall_time(run, repeats=repeats)

    return GenerationSpeed(tokens_per_second(False), tokens_per_second(True))
