"""Tests of course_lib.generation: cached generation against the uncached loop (greedy and seeded
sampling, left-padded prompts), greedy generation against HF transformers' ``generate`` on the same
weights, <eos> handling, the speed measurement, and the errors."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import math

import pytest
import torch

transformers = pytest.importorskip("transformers")

from course_lib import gpt  # noqa: E402
from course_lib.generation import GenerationSpeed, generate, generation_speed  # noqa: E402
from hf_gpt2 import EOS, PAD, course_copy, hf_gpt2, left_padded  # noqa: E402


@pytest.fixture(scope="module")
def hf():
    return hf_gpt2(scale=0.12, seed=3)


@pytest.fixture(scope="module")
def ours(hf):
    return course_copy(hf)


def test_greedy_matches_hf_generate_on_left_padded_prompts(hf, ours):
    ids, mask = left_padded()
    expected = hf.generate(ids, attention_mask=mask, max_new_tokens=20, do_sample=False, pad_token_id=PAD,
                           eos_token_id=None)
    got = generate(ours, ids, mask, 20, temperature=0)
    assert got.shape == (3, 29) and got.dtype == torch.long
    assert torch.equal(got, expected)
    assert len(got[:, 9:].unique()) > 5  # the continuation is not one repeated token


@pytest.mark.parametrize("use_cache", [True, False])
def test_eos_then_padding_as_hf_does(hf, ours, use_cache):
    ids, mask = left_padded(seed=4)
    # the weights rarely choose EOS by themselves: raise its logit a little so that rows finish early
    bias = torch.zeros(61)
    bias[EOS] = 2.5
    hooks = [model.lm_head.register_forward_hook(lambda module, args, out: out + bias) for model in (ours, hf)]
    try:
        expected = hf.generate(ids, attention_mask=mask, max_new_tokens=25, do_sample=False, pad_token_id=PAD,
                               eos_token_id=EOS)
        got = generate(ours, ids, mask, 25, temperature=0, eos_token_id=EOS, pad_token_id=PAD, use_cache=use_cache)
    finally:
        for hook in hooks:
            hook.remove()
    assert torch.equal(got, expected)
    new = got[:, 9:]
    assert (new == EOS).any(dim=1).all() and got.shape[1] < 9 + 25  # every row finished, so it stopped early
    for row in new:
        after = row[(row == EOS).nonzero()[0, 0] + 1 :]
        assert (after == PAD).all()


@pytest.mark.parametrize(
    "sampling", [dict(temperature=0.0), dict(temperature=1.0), dict(temperature=0.7, top_k=8, top_p=0.9)],
    ids=["greedy", "T=1", "T+top-k+top-p"],
)
def test_cached_equals_uncached(ours, sampling):
    ids, mask = left_padded()
    cached = generate(ours, ids, mask, 25, generator=torch.Generator().manual_seed(7), **sampling)
    uncached = generate(ours, ids, mask, 25, generator=torch.Generator().manual_seed(7), use_cache=False, **sampling)
    assert torch.equal(cached, uncached)
    assert torch.equal(cached[:, :9], ids)


def test_a_cache_without_position_offset_would_be_caught(ours, monkeypatch):
    """The pitfall: every cached step fed at position 0. The tokens then differ from the full loop."""
    ids, mask = left_padded()
    reference = generate(ours, ids, mask, 15, temperature=0, use_cache=False)
    forward = gpt.GPT.forward

    def not_offset(self, input_ids, attention_mask=None, position_ids=None, cache=None):
        if cache is not None and cache[0].key is not None:
            position_ids = torch.zeros_like(position_ids)
        return forward(self, input_ids, attention_mask, position_ids, cache)

    monkeypatch.setattr(gpt.GPT, "forward", not_offset)
    assert not torch.equal(generate(ours, ids, mask, 15, temperature=0), reference)


def test_seeded_sampling_repeats_and_differs_by_seed(ours):
    ids, mask = left_padded()
    draw = [generate(ours, ids, mask, 15, generator=torch.Generator().manual_seed(s)) for s in (1, 1, 2)]
    assert torch.equal(draw[0], draw[1]) and not torch.equal(draw[0], draw[2])


def test_generation_keeps_the_model_mode(ours):
    ours.train()
    generate(ours, torch.tensor([[5, 6]]), max_new_tokens=3, temperature=0)
    assert ours.training
    ours.eval()


def test_generation_speed_reports_both_rates(ours):
    speed = generation_speed(ours, torch.randint(3, 61, (2, 4)), max_new_tokens=8, repeats=1)
    assert isinstance(speed, GenerationSpeed)
    rates = (speed.cached_tokens_per_second, speed.uncached_tokens_per_second)
    assert all(math.isfinite(r) and r > 0 for r in rates)
    assert speed.speedup == pytest.approx(rates[0] / rates[1])


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda m: generate(m, torch.tensor([[5, 6, 0]]), torch.tensor([[1, 1, 0]])), "LEFT"),
        (lambda m: generate(m, torch.tensor([[0, 0]]), torch.tensor([[0, 0]])), "no real token"),
        (lambda m: generate(m, torch.tensor([[5, 6]]), torch.tensor([[1, 2]])), "only 1"),
        (lambda m: generate(m, torch.tensor([[5, 6]]), torch.tensor([[1, 1, 1]])), "shaped like input_ids"),
        (lambda m: generate(m, torch.tensor([[5, 6]]), max_new_tokens=0), "max_new_tokens"),
        (lambda m: generate(m, torch.tensor([[5] * 30]), max_new_tokens=12), "n_positions=40"),
        (lambda m: generate(m, torch.tensor([[5, 6]]), max_new_tokens=2, top_k=0), "positive int"),
    ],
    ids=["right padding", "empty row", "mask values", "mask shape", "no tokens", "too long", "bad top-k"],
)
def test_errors(ours, call, words):
    with pytest.raises(ValueError, match=words):
        call(ours)


def test_prompts_filling_every_position_but_the_generated_ones_are_allowed(ours):
    out = generate(ours, torch.full((1, 30), 5), max_new_tokens=11, temperature=0)
    assert out.shape == (1, 41)
