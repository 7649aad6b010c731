"""Tests of course_lib.causal_lm: the shifted next-token log-probabilities, the loss against HF
transformers' GPT2LMHeadModel loss with padding labelled -100, perplexity pooled over tokens, and
the errors."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import math

import pytest
import torch

transformers = pytest.importorskip("transformers")

from course_lib.causal_lm import corpus_perplexity, lm_loss, perplexity, token_logprobs  # noqa: E402
from hf_gpt2 import course_copy, hf_gpt2, right_padded  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def hf():
    return hf_gpt2()


@pytest.fixture(scope="module")
def ours(hf):
    return course_copy(hf)


def test_lm_loss_matches_hf_with_labels(hf, ours):
    ids, mask = right_padded()
    labels = ids.masked_fill(mask == 0, -100)
    output = hf(ids, attention_mask=mask, labels=labels)
    got = lm_loss(output.logits, ids, mask)
    torch.testing.assert_close(got, output.loss, atol=TOL, rtol=0)
    hf_unpadded = hf(ids, labels=ids)
    torch.testing.assert_close(lm_loss(hf_unpadded.logits, ids), hf_unpadded.loss, atol=TOL, rtol=0)
    count = mask[:, 1:].sum()
    torch.testing.assert_close(lm_loss(output.logits, ids, mask, reduction="sum"), output.loss * count, atol=1e-4, rtol=0)
    torch.testing.assert_close(perplexity(output.logits, ids, mask), output.loss.exp(), atol=1e-4, rtol=1e-6)


def test_lm_loss_ignores_what_sits_in_the_padding():
    logits = torch.randn(2, 6, 13)
    ids = torch.randint(0, 13, (2, 6))
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]])
    other_ids, other_logits = ids.clone(), logits.clone()
    other_ids[1, 3:] = 5
    other_logits[1, 3:] = 100.0  # position 2's logits score token 3, which is padding: unused too
    other_logits[1, 2] = 100.0
    assert torch.equal(lm_loss(logits, ids, mask), lm_loss(other_logits, other_ids, mask))


def test_token_logprobs_is_the_shifted_log_softmax():
    logits = torch.randn(2, 5, 7)
    ids = torch.randint(0, 7, (2, 5))
    got = token_logprobs(logits, ids)
    expected = torch.tensor(
        [[math.log(torch.softmax(logits[b, t], -1)[ids[b, t + 1]]) for t in range(4)] for b in range(2)]
    )
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_corpus_perplexity_pools_tokens(ours):
    ids, mask = right_padded()
    with torch.no_grad():
        whole = perplexity(ours(ids, mask), ids, mask).item()
        mean_of_rows = sum(perplexity(ours(ids[i : i + 1], mask[i : i + 1]), ids[i : i + 1], mask[i : i + 1]).item()
                           for i in range(3)) / 3
    ours.train()
    assert corpus_perplexity(ours, ids, mask, batch_size=1) == pytest.approx(whole, rel=1e-5)
    assert ours.training  # mode restored
    ours.eval()
    assert abs(mean_of_rows - whole) > 1e-3  # averaging per batch would be a different number


def test_uniform_model_has_perplexity_vocab_size():
    logits = torch.zeros(3, 8, 29)
    ids = torch.randint(0, 29, (3, 8))
    assert perplexity(logits, ids).item() == pytest.approx(29.0, rel=1e-5)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: lm_loss(torch.randn(2, 1, 5), torch.zeros(2, 1, dtype=torch.long)), "at least 2 tokens"),
        (lambda: lm_loss(torch.randn(2, 3, 5), torch.zeros(2, 4, dtype=torch.long)), "one row per token"),
        (lambda: lm_loss(torch.randn(1, 3, 5), torch.zeros(1, 3, dtype=torch.long), torch.tensor([[1, 0, 0]])),
         "no real target"),
        (lambda: lm_loss(torch.randn(1, 3, 5), torch.zeros(1, 3, dtype=torch.long), torch.tensor([[1, 2, 1]])),
         "only 1 and 0"),
        (lambda: lm_loss(torch.randn(1, 3, 5), torch.zeros(1, 3, dtype=torch.long), reduction="none"), "reduction"),
        (lambda: lm_loss(torch.randn(1, 3), torch.zeros(1, 3, dtype=torch.long)), "batch, seq, vocab"),
        (lambda: corpus_perplexity(None, torch.zeros(1, 3, dtype=torch.long), batch_size=0), "batch_size"),
    ],
)
def test_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()
