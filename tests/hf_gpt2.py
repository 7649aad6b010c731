"""HF GPT-2 references for the lesson 10 tests: a small random config, no download.

HF initialises biases and LayerNorms at 0 and 1 and weights with std 0.02; at that scale the
tanh and erf GELUs, or a forgotten transpose of a square Conv1D weight, change the logits by less
than the tests' tolerance. ``hf_gpt2`` therefore redraws every parameter (LayerNorms and biases
included) at a scale where those mistakes show.
"""
from __future__ import annotations

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import torch
import transformers

from course_lib.gpt import GPT, GPTConfig, load_hf_gpt2

transformers.logging.set_verbosity_error()

PAD, BOS, EOS = 0, 1, 2


def small_config(**overrides: object) -> transformers.GPT2Config:
    """A 2-block GPT2Config: vocab 61, 32 features, 4 heads, 40 positions, eager attention."""
    sizes = dict(vocab_size=61, n_positions=40, n_embd=32, n_layer=2, n_head=4, bos_token_id=BOS,
                 eos_token_id=EOS, pad_token_id=PAD, attn_implementation="eager")
    return transformers.GPT2Config(**{**sizes, **overrides})


def hf_gpt2(cls: type = transformers.GPT2LMHeadModel, scale: float = 0.15, seed: int = 0, **overrides: object):
    """An HF GPT-2 model of ``small_config`` in eval mode, every parameter redrawn as N(0, scale^2)
    (LayerNorm weights as 1 + N(0, scale^2))."""
    torch.manual_seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(small_config(**overrides)).eval()
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            parameter.normal_(0, scale)
            if ".ln_" in name and name.endswith("weight"):
                parameter.add_(1.0)
    return model


def course_copy(hf_model) -> GPT:
    """Our GPT with the weights of an HF GPT2LMHeadModel, in eval mode."""
    return load_hf_gpt2(GPT(GPTConfig.from_hf(hf_model.config)), hf_model.state_dict()).eval()


def left_padded(batch: int = 3, length: int = 9, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Random prompts (batch, length) of ids in [3, 61), left-padded with PAD: row b has 3 * b pads."""
    generator = torch.Generator().manual_seed(seed)
    ids = torch.randint(3, 61, (batch, length), generator=generator)
    mask = torch.ones_like(ids)
    for row in range(batch):
        mask[row, : min(3 * row, length - 1)] = 0
    return ids.masked_fill(mask == 0, PAD), mask


def right_padded() -> tuple[torch.Tensor, torch.Tensor]:
    """Random ids (3, 10) in [3, 61) whose rows hold 10, 7 and 4 real tokens, then PAD."""
    ids = torch.randint(3, 61, (3, 10), generator=torch.Generator().manual_seed(2))
    mask = torch.ones_like(ids)
    mask[1, 7:] = 0
    mask[2, 4:] = 0
    return ids.masked_fill(mask == 0, PAD), mask
