"""Tests of course_lib.gpt: our GPT-2 against HF transformers' GPT2LMHeadModel on a small random
config (logits with and without padding, the loss with labels -100), the loading table both ways,
its strictness, the key/value cache against the full pass, and the errors a learner meets. The loss is tested in test_causal_lm.py."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub


import pytest
import torch
import torch.nn.functional as F

transformers = pytest.importorskip("transformers")

from course_lib.causal_lm import lm_loss  # noqa: E402
from course_lib.gpt import (  # noqa: E402
    GPT, GPTConfig, cache_length, hidden_states, layer_with_cache, load_hf_gpt2, new_cache, positions_from_mask,
    to_hf_gpt2_state_dict,
)
from course_lib.transformer import causal_mask  # noqa: E402
from hf_gpt2 import course_copy, hf_gpt2, left_padded, right_padded, small_config  # noqa: E402

TOL = 1e-5


@pytest.fixture(scope="module")
def hf():
    return hf_gpt2()


@pytest.fixture(scope="module")
def ours(hf):
    return course_copy(hf)


# --- the model against HF ------------------------------------------------------------------------


def test_logits_match_hf_without_padding(hf, ours):
    ids = torch.randint(0, 61, (2, 12), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected, got = hf(ids).logits, ours(ids)
    assert got.shape == (2, 12, 61) and got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=TOL, rtol=0)


def test_logits_match_hf_with_right_padding(hf, ours):
    ids, mask = right_padded()
    with torch.no_grad():
        expected, got = hf(ids, attention_mask=mask).logits, ours(ids, mask)
    real = mask.bool()
    torch.testing.assert_close(got[real], expected[real], atol=TOL, rtol=0)


def test_logits_match_hf_with_left_padding_and_positions(hf, ours):
    ids, mask = left_padded()
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        expected = hf(ids, attention_mask=mask, position_ids=positions).logits
        got = ours(ids, mask, positions)
        unpadded = ours(ids[2:, 6:])  # the last row alone, without its padding
    real = mask.bool()
    torch.testing.assert_close(got[real], expected[real], atol=TOL, rtol=0)
    torch.testing.assert_close(got[2, 6:], unpadded[0], atol=TOL, rtol=0)


def test_positions_count_real_tokens_only():
    mask = torch.tensor([[0, 0, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    assert positions_from_mask(mask).tolist() == [[0, 0, 0, 1, 2], [0, 1, 2, 0, 0], [0, 1, 2, 3, 4]]
    assert positions_from_mask(mask.bool()).dtype == torch.long


def test_the_tests_see_the_gelu_and_the_transpose(hf, ours):
    """The reference is sensitive to the two classic loading mistakes: BERT's exact GELU, and a
    Conv1D weight copied without its transpose (c_proj is square, so the shapes do not catch it)."""
    ids = torch.randint(0, 61, (2, 12), generator=torch.Generator().manual_seed(0))
    exact = course_copy(hf)
    for layer in exact.layers:
        layer.feed_forward.activation = F.gelu
    untransposed = dict(hf.state_dict())
    untransposed["transformer.h.0.attn.c_proj.weight"] = untransposed["transformer.h.0.attn.c_proj.weight"].t()
    wrong = load_hf_gpt2(GPT(GPTConfig.from_hf(hf.config)), untransposed).eval()
    with torch.no_grad():
        expected = hf(ids).logits
        for model in (exact, wrong):
            assert (model(ids) - expected).abs().max() > 10 * TOL


def test_parameter_count_and_tying_match_hf(hf, ours):
    assert ours.lm_head.weight is ours.token_embedding.weight
    unique = sum(p.numel() for p in ours.parameters())  # parameters() yields the tied matrix once
    assert unique == hf.num_parameters()
    ids = torch.randint(0, 61, (1, 5))
    ours.zero_grad()
    lm_loss(ours(ids), ids).backward()
    assert ours.token_embedding.weight.grad is not None
    ours.zero_grad()


def test_gpt2_small_default_has_124m_parameters():
    """GPT-2 small: 124,439,808 parameters (the embedding counted once), on the meta device (no memory)."""
    with torch.device("meta"):
        model = GPT(GPTConfig())
    assert sum(p.numel() for p in model.parameters()) == 124_439_808


def test_dropout_fields_reach_the_modules():
    model = GPT(GPTConfig(vocab_size=11, n_positions=8, n_embd=8, n_layer=1, n_head=2, embd_pdrop=0.3, resid_pdrop=0.2))
    assert model.dropout.p == 0.3
    assert model.layers[0].dropout1.p == model.layers[0].dropout2.p == 0.2
    ids = torch.randint(0, 11, (2, 6))
    model.train()
    assert not torch.equal(model(ids), model(ids))
    model.eval()
    torch.testing.assert_close(model(ids), model(ids))


# --- loading both ways and its strictness --------------------------------------------------------


def test_round_trip_through_hf_names(hf, ours):
    state = to_hf_gpt2_state_dict(ours)
    assert set(state) == set(hf.state_dict())
    fresh = hf_gpt2(seed=5)  # other weights, then ours written into it
    fresh.load_state_dict(state, strict=True)
    ids = torch.randint(0, 61, (2, 9))
    with torch.no_grad():
        torch.testing.assert_close(fresh(ids).logits, ours(ids), atol=TOL, rtol=0)
    again = load_hf_gpt2(GPT(GPTConfig.from_hf(hf.config)), state)
    for name, value in ours.state_dict().items():
        assert torch.equal(again.state_dict()[name], value), name


def test_loads_a_gpt2model_state_dict_without_prefix(hf, ours):
    bare = {k.removeprefix("transformer."): v for k, v in hf.state_dict().items() if k != "lm_head.weight"}
    model = load_hf_gpt2(GPT(GPTConfig.from_hf(hf.config)), bare).eval()
    ids = torch.randint(0, 61, (1, 7))
    with torch.no_grad():
        torch.testing.assert_close(model(ids), ours(ids), atol=0, rtol=0)


@pytest.mark.parametrize(
    "change, error, words",
    [
        (lambda s: s.pop("transformer.h.1.mlp.c_fc.bias"), KeyError, "h.1.mlp.c_fc.bias"),
        (lambda s: s.update({"transformer.h.2.ln_1.weight": torch.ones(32)}), KeyError, "h.2.ln_1.weight"),
        (lambda s: s.update({"h.0.ln_1.weight": torch.ones(32)}), KeyError, "twice"),
        (lambda s: s.update({"transformer.wpe.weight": torch.zeros(50, 32)}), ValueError, "wpe.weight"),
        (lambda s: s.update({"lm_head.weight": torch.zeros(61, 32)}), ValueError, "tied"),
    ],
    ids=["missing", "unexpected", "twice", "shape", "untied"],
)
def test_loading_is_strict(hf, change, error, words):
    state = dict(hf.state_dict())
    change(state)
    with pytest.raises(error, match=words):
        load_hf_gpt2(GPT(GPTConfig.from_hf(hf.config)), state)


@pytest.mark.parametrize(
    "overrides, words",
    [(dict(activation_function="relu"), "gelu_new"), (dict(add_cross_attention=True), "cross-attention"),
     (dict(scale_attn_by_inverse_layer_idx=True), "scale"), (dict(n_embd=30), "divisible")],
)
def test_config_from_hf_refuses_what_it_cannot_compute(overrides, words):
    with pytest.raises(ValueError, match=words):
        GPTConfig.from_hf(small_config(**overrides).to_dict())


def test_config_from_hf_reads_sizes_and_dropout():
    config = GPTConfig.from_hf(small_config(resid_pdrop=0.25, n_inner=48, layer_norm_epsilon=1e-6))
    assert (config.vocab_size, config.n_positions, config.n_embd, config.n_layer, config.n_head) == (61, 40, 32, 2, 4)
    assert (config.resid_pdrop, config.inner_size, config.layer_norm_epsilon) == (0.25, 48, 1e-6)
    assert GPTConfig(n_embd=16, n_head=2).inner_size == 64


# --- the key/value cache -------------------------------------------------------------------------


def test_cache_in_pieces_equals_the_full_pass(ours):
    ids, mask = left_padded(length=10)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    with torch.no_grad():
        full = ours(ids, mask, positions)
        cache = new_cache(ours)
        pieces = [ours(ids[:, :6], mask[:, :6], positions[:, :6], cache)]
        for t in range(6, 10):
            pieces.append(ours(ids[:, t : t + 1], mask[:, : t + 1], positions[:, t : t + 1], cache))
    assert cache[0].key.shape == (3, 4, 10, 8)
    real = mask.bool()
    torch.testing.assert_close(torch.cat(pieces, dim=1)[real], full[real], atol=TOL, rtol=0)


def test_cache_default_positions_are_offset(ours):
    """Without position_ids the new token's position continues after the cache (HF's default);
    the pitfall, position 0 for every new token, changes the logits."""
    ids = torch.randint(0, 61, (2, 8), generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        full = ours(ids)
        cache = new_cache(ours)
        ours(ids[:, :7], cache=cache)
        offset = ours(ids[:, 7:], cache=cache)
        cache = new_cache(ours)
        ours(ids[:, :7], cache=cache)
        not_offset = ours(ids[:, 7:], position_ids=torch.zeros(1, 1, dtype=torch.long), cache=cache)
    torch.testing.assert_close(offset[:, 0], full[:, 7], atol=TOL, rtol=0)
    assert (not_offset[:, 0] - full[:, 7]).abs().max() > 100 * TOL


# --- errors a learner meets ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: m(torch.zeros(2, 3)), TypeError, "integer token ids"),
        (lambda m: m(torch.tensor([[1, 61]])), ValueError, "vocab_size=61"),
        (lambda m: m(torch.zeros(1, 41, dtype=torch.long)), ValueError, "n_positions=40"),
        (lambda m: m(torch.zeros(1, 0, dtype=torch.long)), ValueError, "at least one token"),
        (lambda m: m(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4)), ValueError, "past \\+ new"),
        (lambda m: m(torch.zeros(2, 3, dtype=torch.long), torch.full((2, 3), 2)), ValueError, "only 1"),
        (lambda m: m(torch.zeros(2, 3, dtype=torch.long), None, torch.zeros(2, 2, dtype=torch.long)), ValueError,
         "position_ids"),
        (lambda m: m(torch.zeros(2, 3, dtype=torch.long), None, torch.zeros(1, 3)), ValueError, "integer positions"),
        (lambda m: m(torch.zeros(2, 3, dtype=torch.long), cache=[]), ValueError, "new_cache"),
    ],
    ids=["float ids", "id range", "too long", "empty", "mask shape", "mask values", "positions", "float positions",
         "cache"],
)
def test_forward_errors(ours, call, error, words):
    with pytest.raises(error, match=words):
        call(ours)


def test_the_helpers_need_only_gpt2s_parts(ours):
    """new_cache, layer_with_cache and hidden_states work on any module with GPT-2's parts under the
    course's names (the lesson's own GPT): its cached pieces equal the full pass, and hidden_states is
    what lm_head reads."""

    class Plain(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.token_embedding, self.position_embedding = model.token_embedding, model.position_embedding
            self.layers, self.final_norm, self.lm_head = model.layers, model.final_norm, model.lm_head

        def forward(self, ids, attention_mask=None, position_ids=None, cache=None):
            past, new = cache_length(cache), ids.shape[1]
            x = self.token_embedding(ids) + self.position_embedding(torch.arange(past, past + new)[None])
            mask = causal_mask(past + new)[past:]
            for i, layer in enumerate(self.layers):
                x = layer_with_cache(layer, x, mask, None if cache is None else cache[i])
            return self.lm_head(self.final_norm(x))

    plain = Plain(ours).eval()
    ids = torch.randint(0, 61, (2, 9), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        full = ours(ids)
        cache = new_cache(plain)
        pieces = torch.cat([plain(ids[:, :5], cache=cache)] + [plain(ids[:, t:t + 1], cache=cache) for t in range(5, 9)], dim=1)
        hidden = hidden_states(plain, ids)
    assert cache_length(cache) == 9 and cache_length(None) == 0 and cache_length(new_cache(plain)) == 0
    torch.testing.assert_close(pieces, full, atol=TOL, rtol=0)
    assert hidden.shape == (2, 9, 32)
    torch.testing.assert_close(ours.lm_head(hidden), full, atol=TOL, rtol=0)


def test_cache_of_another_batch_is_refused(ours):
    cache = new_cache(ours)
    with torch.no_grad():
        ours(torch.zeros(2, 3, dtype=torch.long), cache=cache)
        with pytest.raises(ValueError, match="one cache per batch"):
            ours(torch.zeros(3, 1, dtype=torch.long), cache=cache)


@pytest.mark.parametrize(
    "call, words",
    [
        (lambda: GPTConfig(n_embd=30, n_head=4), "divisible"),
        (lambda: GPTConfig(resid_pdrop=1.0), "resid_pdrop"),
        (lambda: GPTConfig(n_layer=0), "n_layer"),
        (lambda: GPTConfig(n_inner=0), "n_inner"),
        (lambda: GPTConfig(layer_norm_epsilon=0.0), "layer_norm_epsilon"),
    ],
)
def test_config_errors(call, words):
    with pytest.raises(ValueError, match=words):
        call()
