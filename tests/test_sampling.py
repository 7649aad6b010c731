"""Tests of course_lib.sampling: temperature, top-k and top-p against HF transformers' logits warpers
on random logits (batch rows, ties), the pitfalls (T = 0 dividing by zero, T = 1 taken for
deterministic, top-p with ``cumsum <= p``), the sampler's distribution, distinct-n, and the errors."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import math

import pytest
import torch

transformers = pytest.importorskip("transformers")

from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper  # noqa: E402

from course_lib.sampling import apply_temperature, distinct_n, sample_next, top_k_filter, top_p_filter  # noqa: E402

INPUT_IDS = torch.zeros(1, 1, dtype=torch.long)  # HF's warpers take the prefix; these three ignore it


def random_logits(seed: int, batch: int = 6, vocab: int = 50) -> torch.Tensor:
    return 2 * torch.randn(batch, vocab, generator=torch.Generator().manual_seed(seed))


def quantised_logits(seed: int, batch: int = 6, vocab: int = 50) -> torch.Tensor:
    """Logits on a grid of 8 values: many exact ties."""
    return torch.randint(0, 8, (batch, vocab), generator=torch.Generator().manual_seed(seed)).float() / 2


def hf(warper, logits: torch.Tensor) -> torch.Tensor:
    return warper(INPUT_IDS.expand(logits.shape[0], 1), logits.clone())


# --- temperature ---------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", [0.05, 0.7, 1.0, 2.5])
def test_temperature_matches_hf(temperature):
    logits = random_logits(0)
    torch.testing.assert_close(apply_temperature(logits, temperature), hf(TemperatureLogitsWarper(temperature), logits))


def test_temperature_zero_is_the_argmax_without_dividing_by_zero():
    logits = torch.tensor([[1.0, 3.0, 3.0, -2.0], [0.5, -1.0, 0.2, 0.1]])
    greedy = apply_temperature(logits, 0)
    assert not torch.isnan(greedy).any()
    probs = greedy.softmax(-1)
    torch.testing.assert_close(probs, torch.tensor([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]))  # ties: first
    # the limit: a tiny temperature gives the same one-hot distribution on untied rows
    torch.testing.assert_close(apply_temperature(logits[1:], 1e-4).softmax(-1), probs[1:])


def test_temperature_zero_sample_is_the_argmax_and_leaves_the_generator_alone():
    logits = random_logits(1)
    generator = torch.Generator().manual_seed(0)
    state = generator.get_state()
    assert torch.equal(sample_next(logits, 0.0, top_k=3, top_p=0.5, generator=generator), logits.argmax(-1))
    assert torch.equal(generator.get_state(), state)


def test_temperature_one_is_random_but_seeded_draws_repeat():
    logits = torch.zeros(1, 10).expand(200, 10)  # uniform over 10 tokens, 200 rows
    first = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(1))
    again = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(1))
    other = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(2))
    assert torch.equal(first, again)
    assert not torch.equal(first, other)
    assert len(first.unique()) > 5


def test_temperature_sharpens_and_flattens():
    logits = random_logits(2)
    entropy = [(-(p * p.log()).sum(-1)).mean() for p in (apply_temperature(logits, t).softmax(-1) for t in (0.5, 1, 2))]
    assert entropy[0] < entropy[1] < entropy[2]


# --- top-k ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 2, 7, 50, 80])
@pytest.mark.parametrize("make", [random_logits, quantised_logits], ids=["random", "ties"])
def test_top_k_matches_hf(k, make):
    logits = make(3)
    expected = hf(TopKLogitsWarper(k), logits)
    assert torch.equal(top_k_filter(logits, k), expected)


def test_top_k_keeps_exactly_k_without_ties_and_leaves_kept_logits_alone():
    logits = random_logits(4)
    filtered = top_k_filter(logits, 5)
    kept = torch.isfinite(filtered)
    assert (kept.sum(-1) == 5).all()
    assert torch.equal(filtered[kept], logits[kept])
    assert torch.equal(kept, torch.zeros_like(kept).scatter(-1, logits.topk(5).indices, True))


# --- top-p ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.05, 0.3, 0.5, 0.77, 0.9, 0.99, 1.0])
def test_top_p_matches_hf(p):
    logits = random_logits(5, batch=16)
    assert torch.equal(top_p_filter(logits, p), hf(TopPLogitsWarper(p), logits))


def test_top_p_on_ties_differs_from_hf_only_where_hf_splits_a_tie():
    """With many tied logits HF agrees with ours except where its sort order cuts a group of tied
    tokens at the boundary in two; ours keeps the whole group (a superset of HF's tokens)."""
    logits = quantised_logits(6, batch=40)
    for p in (0.2, 0.5, 0.8):
        ours, theirs = top_p_filter(logits, p).isfinite(), hf(TopPLogitsWarper(p), logits).isfinite()
        assert (ours | ~theirs).all()  # everything HF keeps, we keep
        same = (ours == theirs).all(-1)
        assert not same.all()  # the grid makes boundary ties common: the case is exercised
        for row in torch.nonzero(~same).flatten():
            extra = logits[row][ours[row] & ~theirs[row]]
            assert (extra == extra[0]).all(), row  # one tied group...
            assert (logits[row][theirs[row]] == extra[0]).any(), row  # ...of which HF kept a part


def test_top_p_keeps_the_token_that_crosses_p():
    logits = torch.tensor([[0.5, 0.3, 0.2]]).log()
    assert torch.isfinite(top_p_filter(logits, 0.6)).tolist() == [[True, True, False]]  # cumsum <= p keeps one
    assert torch.isfinite(top_p_filter(logits, 0.8)).tolist() == [[True, True, False]]  # reached exactly
    assert torch.isfinite(top_p_filter(logits, 0.3)).tolist() == [[True, False, False]]  # cumsum <= p keeps none
    assert torch.isfinite(top_p_filter(logits, 1.0)).all()


def test_top_p_never_removes_the_top_token_and_keeps_boundary_ties_together():
    logits = random_logits(7)
    assert torch.equal(torch.isfinite(top_p_filter(logits, 1e-6)).nonzero()[:, 1], logits.argmax(-1))
    tied = torch.tensor([[2.0, 1.0, 2.0, 0.0]])
    assert torch.isfinite(top_p_filter(tied, 0.1)).tolist() == [[True, False, True, False]]
    permutation = torch.randperm(50, generator=torch.Generator().manual_seed(0))
    quantised = quantised_logits(8)
    assert torch.equal(top_p_filter(quantised[:, permutation], 0.5), top_p_filter(quantised, 0.5)[:, permutation])


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    logits = random_logits(9, batch=30)
    for p in (0.25, 0.6, 0.95):
        kept = torch.isfinite(top_p_filter(logits, p))
        probs = logits.softmax(-1)
        mass = (probs * kept).sum(-1)
        smallest_kept = probs.masked_fill(~kept, 2.0).min(-1).values
        assert (mass >= p - 1e-6).all()
        assert (mass - smallest_kept < p).all()  # without its least probable token the set falls short


# --- the sampler ---------------------------------------------------------------------------------


def test_sample_next_draws_from_the_filtered_distribution():
    logits = torch.tensor([2.0, 1.5, 1.0, 0.0, -1.0]).log_softmax(-1)
    rows = logits.expand(20000, 5)
    tokens = sample_next(rows, temperature=0.8, top_k=4, top_p=0.9, generator=torch.Generator().manual_seed(0))
    expected = top_p_filter(top_k_filter(logits / 0.8, 4), 0.9).softmax(-1)
    frequencies = torch.bincount(tokens, minlength=5).float() / len(tokens)
    assert frequencies[expected == 0].sum() == 0
    torch.testing.assert_close(frequencies, expected, atol=0.015, rtol=0)


def test_sample_next_keeps_the_leading_shape():
    logits = torch.randn(2, 3, 11)
    tokens = sample_next(logits, 1.0, generator=torch.Generator().manual_seed(0))
    assert tokens.shape == (2, 3) and tokens.dtype == torch.long
    assert sample_next(logits, 0.0).tolist() == logits.argmax(-1).tolist()


# --- distinct-n ----------------------------------------------------------------------------------


def test_distinct_n_counts_over_all_samples():
    samples = [["the", "cat", "sat"], ["the", "cat", "ran"], ["a"]]
    assert distinct_n(samples, 1) == pytest.approx(5 / 7)
    assert distinct_n(samples, 2) == pytest.approx(3 / 4)
    assert distinct_n(samples, 3) == 1.0
    assert distinct_n(samples, 4) == 0.0
    assert distinct_n([[1, 1, 1, 1]], 2) == pytest.approx(1 / 3)
    assert distinct_n([], 1) == 0.0


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda x: apply_temperature(x, -0.5), ValueError, ">= 0"),
        (lambda x: apply_temperature(x, math.inf), ValueError, "finite"),
        (lambda x: apply_temperature(x, math.nan), TypeError, "number"),
        (lambda x: apply_temperature(x, True), TypeError, "number"),
        (lambda x: top_k_filter(x, 0), ValueError, "positive int"),
        (lambda x: top_k_filter(x, 2.5), ValueError, "positive int"),
        (lambda x: top_p_filter(x, 0.0), ValueError, r"\(0, 1\]"),
        (lambda x: top_p_filter(x, 1.2), ValueError, r"\(0, 1\]"),
        (lambda x: sample_next(x, 1.0, top_p=-1), ValueError, r"\(0, 1\]"),
        (lambda x: sample_next(x.long(), 1.0), TypeError, "float"),
        (lambda x: sample_next(x.fill_(math.nan), 1.0), ValueError, "NaN"),
        (lambda x: sample_next(x.fill_(-math.inf), 1.0), ValueError, "-inf"),
        (lambda x: sample_next(x[:, :0], 1.0), ValueError, "vocab >= 1"),
        (lambda x: distinct_n([["a"]], 0), ValueError, "positive int"),
        (lambda x: distinct_n(["the cat sat"], 1), TypeError, "split"),
    ],
)
def test_errors(call, error, words):
    with pytest.raises(error, match=words):
        call(torch.randn(2, 6))
