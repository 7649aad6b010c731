"""Tests for course_lib.attention against torch's own attention and the paper's claims."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from course_lib.attention import (
    AdditiveAttention,
    attention_scores,
    dot_product_variance,
    masked_softmax,
    scaled_dot_product_attention,
)

DTYPE = torch.float64
TOL = {"rtol": 1e-10, "atol": 1e-12}


def randn(*shape: int, seed: int, requires_grad: bool = False) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=generator, dtype=DTYPE).requires_grad_(requires_grad)


def random_mask(*shape: int, seed: int, keep_one_key: bool = True) -> torch.Tensor:
    """Bool mask, True = may attend; by default every query row keeps at least one key."""
    generator = torch.Generator().manual_seed(seed)
    mask = torch.rand(*shape, generator=generator) < 0.6
    if keep_one_key:
        mask[..., 0] = True
    return mask


# (query shape, key shape, value shape): 2-D inputs, batches, heads, length 1, batch of one.
SHAPES = [
    ((5, 8), (7, 8), (7, 3)),
    ((2, 5, 8), (2, 7, 8), (2, 7, 3)),
    ((2, 3, 4, 16), (2, 3, 6, 16), (2, 3, 6, 5)),
    ((1, 1, 8), (1, 9, 8), (1, 9, 8)),
    ((3, 4, 8), (3, 1, 8), (3, 1, 2)),
]


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape"), SHAPES)
def test_matches_torch_without_mask(q_shape, k_shape, v_shape):
    query, key, value = randn(*q_shape, seed=0), randn(*k_shape, seed=1), randn(*v_shape, seed=2)
    output, weights = scaled_dot_product_attention(query, key, value)
    expected = F.scaled_dot_product_attention(query, key, value)
    assert type(output) is torch.Tensor and type(weights) is torch.Tensor
    assert output.shape == (*q_shape[:-1], v_shape[-1])
    assert weights.shape == (*q_shape[:-1], k_shape[-2])
    assert output.dtype == weights.dtype == DTYPE
    torch.testing.assert_close(output, expected, **TOL)
    manual = torch.softmax(query @ key.transpose(-2, -1) / math.sqrt(q_shape[-1]), dim=-1)
    torch.testing.assert_close(weights, manual, **TOL)


@pytest.mark.parametrize(("q_shape", "k_shape", "v_shape"), SHAPES)
def test_matches_torch_with_mask(q_shape, k_shape, v_shape):
    query, key, value = randn(*q_shape, seed=3), randn(*k_shape, seed=4), randn(*v_shape, seed=5)
    mask = random_mask(*q_shape[:-1], k_shape[-2], seed=6)
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    torch.testing.assert_close(output, expected, **TOL)
    assert torch.all(weights[~mask] == 0), "masked keys must get exactly zero weight"


@pytest.mark.parametrize(
    "mask_shape",
    [(4, 6), (1, 6), (4, 1), (2, 1, 4, 6), (2, 1, 1, 6), (6,)],
    ids=["Lq x Lk", "key padding", "query rows", "per batch", "per batch key padding", "1-D"],
)
def test_mask_broadcasts_like_torch(mask_shape):
    query, key, value = randn(2, 3, 4, 8, seed=7), randn(2, 3, 6, 8, seed=8), randn(2, 3, 6, 5, seed=9)
    mask = random_mask(*mask_shape, seed=10)
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    full_mask = mask.expand(2, 3, 4, 6)  # torch's own function rejects a 1-D mask
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=full_mask)
    torch.testing.assert_close(output, expected, **TOL)
    assert weights.shape == (2, 3, 4, 6)


def test_leading_dims_broadcast_between_query_and_key():
    query, key, value = randn(2, 3, 4, 8, seed=11), randn(1, 3, 6, 8, seed=12), randn(2, 1, 6, 5, seed=13)
    output, _ = scaled_dot_product_attention(query, key, value)
    expected = F.scaled_dot_product_attention(
        query, key.expand(2, 3, 6, 8), value.expand(2, 3, 6, 5)
    )
    torch.testing.assert_close(output, expected, **TOL)


def test_gradients_match_torch_with_mask():
    mask = random_mask(2, 4, 6, seed=14)
    ours = [randn(2, 4, 8, seed=15, requires_grad=True), randn(2, 6, 8, seed=16, requires_grad=True),
            randn(2, 6, 3, seed=17, requires_grad=True)]
    theirs = [tensor.detach().clone().requires_grad_(True) for tensor in ours]
    upstream = randn(2, 4, 3, seed=18)
    (scaled_dot_product_attention(*ours, mask)[0] * upstream).sum().backward()
    (F.scaled_dot_product_attention(*theirs, attn_mask=mask) * upstream).sum().backward()
    for mine, reference in zip(ours, theirs):
        torch.testing.assert_close(mine.grad, reference.grad, **TOL)


def test_weights_sum_to_one_over_the_key_axis():
    # Lq != Lk, so summing over the wrong axis could not pass by accident.
    _, weights = scaled_dot_product_attention(randn(2, 5, 8, seed=19), randn(2, 3, 8, seed=20),
                                              randn(2, 3, 4, seed=21))
    torch.testing.assert_close(weights.sum(dim=-1), torch.ones(2, 5, dtype=DTYPE), **TOL)
    assert not torch.allclose(weights.sum(dim=-2), torch.ones(2, 3, dtype=DTYPE))
    assert torch.all(weights >= 0)


def test_attention_scores_are_scaled_dot_products():
    query, key = randn(3, 4, 16, seed=22), randn(3, 5, 16, seed=23)
    scores = attention_scores(query, key)
    assert scores.shape == (3, 4, 5)
    expected = torch.einsum("bqd,bkd->bqk", query, key) / 4.0  # sqrt(16)
    torch.testing.assert_close(scores, expected, **TOL)


def test_masked_softmax_without_mask_is_softmax_over_keys():
    scores = randn(2, 4, 6, seed=24)
    torch.testing.assert_close(masked_softmax(scores), torch.softmax(scores, dim=-1), **TOL)


def test_masked_softmax_renormalises_over_the_visible_keys():
    scores = randn(4, 6, seed=25)
    mask = random_mask(4, 6, seed=26)
    weights = masked_softmax(scores, mask)
    for row in range(4):
        visible = torch.softmax(scores[row][mask[row]], dim=-1)
        torch.testing.assert_close(weights[row][mask[row]], visible, **TOL)


def test_fully_masked_query_gives_zero_weights_and_zero_output_without_nan():
    query = randn(2, 4, 8, seed=27, requires_grad=True)
    key = randn(2, 6, 8, seed=28, requires_grad=True)
    value = randn(2, 6, 3, seed=29, requires_grad=True)
    mask = random_mask(2, 4, 6, seed=30)
    mask[0, 1] = False  # query 1 of batch 0 may look at nothing
    mask[1] = False  # batch 1 has no visible key at all
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    assert not torch.isnan(output).any() and not torch.isnan(weights).any()
    assert torch.all(weights[0, 1] == 0) and torch.all(output[0, 1] == 0)
    assert torch.all(weights[1] == 0) and torch.all(output[1] == 0)
    # The other rows are untouched by their empty neighbours.
    keep = [0, 2, 3]
    alone, _ = scaled_dot_product_attention(query[0, keep], key[0], value[0], mask[0, keep])
    torch.testing.assert_close(output[0, keep], alone, **TOL)
    output.sum().backward()
    for tensor in (query, key, value):
        assert torch.isfinite(tensor.grad).all(), "gradients must stay finite with empty rows"
    assert torch.all(query.grad[0, 1] == 0) and torch.all(query.grad[1] == 0)


# Masked positions are ignored completely (issue 11): whatever a masked key or value holds,
# inf and NaN included, the queries that may not see it get the same output and weights, bit
# for bit. A masked weight is exactly 0, but 0 * NaN is NaN, so this needs more than the mask.

GARBAGE = [float("nan"), float("inf"), float("-inf"), 1e300]


def assert_masked_positions_ignored(attend, key, value, hidden_from):
    """Fill the keys and/or values hidden from each query with garbage; its row must not change.

    ``attend(key, value)`` returns ``(output, weights)`` with the queries on axis -2;
    ``hidden_from(q)`` is a bool tensor of shape ``key.shape[:-1]``: the rows query q may not see.
    """
    output, weights = attend(key, value)
    assert torch.isfinite(output).all() and torch.isfinite(weights).all()
    hidden_somewhere = False
    for q in range(weights.shape[-2]):
        hidden = hidden_from(q).unsqueeze(-1)
        hidden_somewhere |= bool(hidden.any())
        for garbage in GARBAGE:
            bad_key, bad_value = key.masked_fill(hidden, garbage), value.masked_fill(hidden, garbage)
            for k, v, what in ((key, bad_value, "value"), (bad_key, value, "key"), (bad_key, bad_value, "both")):
                got_output, got_weights = attend(k, v)
                assert torch.equal(got_output[..., q, :], output[..., q, :]), f"query {q}: {garbage} in a masked {what} leaks into the output"
                assert torch.equal(got_weights[..., q, :], weights[..., q, :]), f"query {q}: {garbage} in a masked {what} leaks into the weights"
    assert hidden_somewhere, "the test needs masked positions"


# (query shape, Lk, mask shape, index of rows to mask fully): 2-D, key padding (3-D), 3-D, 4-D.
MASK_CASES = [
    ((5, 8), 7, (5, 7), (2,)),
    ((2, 5, 8), 7, (2, 1, 7), (1,)),  # key padding; sequence 1 is all padding
    ((2, 5, 8), 7, (2, 5, 7), (0, 3)),
    ((2, 3, 4, 8), 6, (2, 3, 4, 6), (1, 2, 0)),
    ((2, 3, 4, 8), 6, (2, 1, 4, 6), (0, 0, 3)),
    ((2, 3, 4, 8), 6, (1, 3, 1, 6), (0, 1)),  # per-head key mask; head 1 sees nothing
    ((2, 3, 4, 8), 6, (4, 6), (1,)),
]
MASK_IDS = ["Lq x Lk", "batch x 1 x Lk", "batch x Lq x Lk", "batch x heads x Lq x Lk", "batch x 1 x Lq x Lk",
            "1 x heads x 1 x Lk", "Lq x Lk with heads"]


def mask_with_empty_rows(mask_shape, empty, seed):
    mask = random_mask(*mask_shape, seed=seed)
    mask[empty] = False
    return mask


def hidden_keys(mask: torch.Tensor, scores_shape: tuple[int, ...]):
    """hidden_from(q) for key and value tensors with all the leading dims of the scores."""
    full = mask.expand(scores_shape)
    return lambda q: ~full[..., q, :]


@pytest.mark.parametrize(("q_shape", "lk", "mask_shape", "empty"), MASK_CASES, ids=MASK_IDS)
def test_masked_keys_and_values_do_not_leak_even_inf_or_nan(q_shape, lk, mask_shape, empty):
    query = randn(*q_shape, seed=60)
    key, value = randn(*q_shape[:-2], lk, 8, seed=61), randn(*q_shape[:-2], lk, 3, seed=62)
    mask = mask_with_empty_rows(mask_shape, empty, seed=63)
    attend = lambda k, v: scaled_dot_product_attention(query, k, v, mask)  # noqa: E731
    assert_masked_positions_ignored(attend, key, value, hidden_keys(mask, (*q_shape[:-1], lk)))
    output, weights = attend(key, value)
    empty_rows = ~mask.expand(weights.shape).any(-1)
    assert empty_rows.any()
    assert torch.all(weights[empty_rows] == 0) and torch.all(output[empty_rows] == 0), "fully masked rows give zero"


@pytest.mark.parametrize(("q_shape", "lk", "mask_shape", "empty"), MASK_CASES[:5], ids=MASK_IDS[:5])
def test_additive_attention_ignores_masked_keys_and_values_even_inf_or_nan(q_shape, lk, mask_shape, empty):
    module = make_additive(8, 8, 16)
    query = randn(*q_shape, seed=64)
    key, value = randn(*q_shape[:-2], lk, 8, seed=65), randn(*q_shape[:-2], lk, 3, seed=66)
    mask = mask_with_empty_rows(mask_shape, empty, seed=67)
    attend = lambda k, v: module(query, k, v, mask)  # noqa: E731
    assert_masked_positions_ignored(attend, key, value, hidden_keys(mask, (*q_shape[:-1], lk)))


def test_unmasked_numbers_are_unchanged_by_the_leak_fix():
    """Finite values: exactly weights @ value. Inf or NaN a query may see still reaches it, as in torch."""
    query, key, value = randn(2, 5, 8, seed=68), randn(2, 7, 8, seed=69), randn(2, 7, 3, seed=70)
    mask = mask_with_empty_rows((2, 5, 7), (0, 3), seed=71)
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    assert torch.equal(output, weights @ value)
    value[0, 0, 0], value[0, 0, 1], value[1, 0, 2] = float("inf"), float("nan"), float("-inf")  # key 0: seen by all
    output, weights = scaled_dot_product_attention(query, key, value, mask)
    expected = F.scaled_dot_product_attention(query, key, value, attn_mask=mask)
    seen = mask.any(-1)  # torch gives NaN for rows that see nothing
    torch.testing.assert_close(output[seen], expected[seen], equal_nan=True, **TOL)
    assert output[0, 1, 0] == float("inf") and output[0, 1, 1].isnan() and output[1, 1, 2] == float("-inf")
    assert torch.equal(output[0, 3], torch.zeros(3, dtype=DTYPE))


def test_masked_values_leave_no_trace_not_even_the_sign_of_zero():
    query, key = randn(1, 3, 8, seed=76), randn(1, 4, 8, seed=77)
    mask = torch.tensor([[True, True, False, False], [False] * 4, [True] * 4])
    for value in (-randn(1, 4, 2, seed=78).abs(), randn(1, 4, 2, seed=78).abs()):  # 0 * -v is -0.0
        output, _ = scaled_dot_product_attention(query, key, value, mask)
        assert torch.equal(output[0, 1].view(torch.int64), torch.zeros(2, dtype=torch.int64)), "+0.0, bit for bit"


def test_masked_garbage_gets_no_gradient_and_keeps_gradients_finite():
    query = randn(2, 5, 8, seed=72, requires_grad=True)
    key, value = randn(2, 7, 8, seed=73), randn(2, 7, 3, seed=74)
    mask = mask_with_empty_rows((2, 1, 7), (1,), seed=75)  # key padding
    value = value.masked_fill(~mask.transpose(-2, -1), float("nan")).requires_grad_(True)
    output, _ = scaled_dot_product_attention(query, key, value, mask)
    assert torch.isfinite(output).all()
    output.sum().backward()
    assert torch.isfinite(query.grad).all() and torch.isfinite(value.grad).all()
    assert torch.all(value.grad[~mask.transpose(-2, -1).expand(2, 7, 3)] == 0)


def _call(function, query, key, value, mask=None):
    if function == "additive":
        return AdditiveAttention(8, 8, 4).double()(query, key, value, mask)
    return scaled_dot_product_attention(query, key, value, mask)


BAD_INPUTS = [
    # (id, kwargs overrides, error type, message fragment)
    ("d_k mismatch", {"key": (6, 7)}, ValueError, r"share the feature size d_k.*d_k=8.*d_k=7"),
    ("Lk mismatch", {"value": (5, 3)}, ValueError, r"same length Lk.*Lk=6.*Lk=5"),
    ("float mask", {"mask": torch.ones(4, 6)}, TypeError, r"torch\.bool.*True means.*mask\.bool\(\).*mask == 0"),
    ("int mask", {"mask": torch.ones(4, 6, dtype=torch.long)}, TypeError, r"mask\.bool\(\)"),
    ("mask wrong Lk", {"mask": torch.ones(4, 5, dtype=torch.bool)}, ValueError,
     r"does not broadcast.*Lq=4, Lk=6"),
    ("mask transposed", {"mask": torch.ones(6, 4, dtype=torch.bool)}, ValueError, r"does not broadcast"),
    ("mask adds dims", {"mask": torch.ones(3, 4, 6, dtype=torch.bool)}, ValueError,
     r"may not add leading dims"),
    ("integer query", {"query": "long"}, TypeError, r"floating-point.*query\.float\(\)"),
    ("integer value", {"value": "long"}, TypeError, r"floating-point.*value\.float\(\)"),
    ("mixed dtypes", {"key": "float"}, TypeError, r"share one dtype"),
    ("not a tensor", {"query": "list"}, TypeError, r"torch\.Tensor.*torch\.tensor"),
    ("list mask", {"mask": [[True] * 6] * 4}, TypeError, r"bool torch\.Tensor"),
    ("1-D query", {"query": (8,)}, ValueError, r"unsqueeze\(0\)"),
    ("batch mismatch", {"key": (3, 6, 8), "value": (3, 6, 3)}, ValueError, r"leading.*do not broadcast"),
]


@pytest.mark.parametrize("function", ["dot", "additive"])
@pytest.mark.parametrize(("override", "error", "message"),
                         [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_bad_inputs_raise_helpful_errors(function, override, error, message):
    if function == "additive" and override.get("key") == (6, 7):
        # Additive attention scores any key size, but this module was built for 8.
        message = r"key must have 8 features"
    inputs = {"query": randn(2, 4, 8, seed=31), "key": randn(2, 6, 8, seed=32),
              "value": randn(2, 6, 3, seed=33), "mask": None}
    for name, change in override.items():
        if isinstance(change, tuple):
            inputs[name] = randn(*change, seed=34)
        elif change == "long":
            inputs[name] = inputs[name].long()
        elif change == "float":
            inputs[name] = inputs[name].float()
        elif change == "list":
            inputs[name] = inputs[name].tolist()
        else:
            inputs[name] = change
    with pytest.raises(error, match=message):
        _call(function, **inputs)


def test_attention_scores_rejects_mismatched_d_k():
    with pytest.raises(ValueError, match="d_k"):
        attention_scores(randn(4, 8, seed=35), randn(4, 6, seed=36))


def additive_reference(module: AdditiveAttention, query, key, value, mask=None):
    """The formula written out pair by pair, independent of the module's broadcasting."""
    W_q, W_k, v = module.W_q.weight, module.W_k.weight, module.v.weight[0]
    scores = torch.empty(query.shape[0], key.shape[0], dtype=query.dtype)
    for i, q in enumerate(query):
        for j, k in enumerate(key):
            scores[i, j] = v @ torch.tanh(W_q @ q + W_k @ k)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ value, weights


def make_additive(query_size: int, key_size: int, hidden_size: int, seed: int = 0) -> AdditiveAttention:
    torch.manual_seed(seed)
    return AdditiveAttention(query_size, key_size, hidden_size).double()


def test_additive_attention_matches_the_formula():
    module = make_additive(5, 7, 6)
    query, key, value = randn(3, 5, seed=37), randn(4, 7, seed=38), randn(4, 2, seed=39)
    mask = random_mask(3, 4, seed=40)
    for m in (None, mask):
        output, weights = module(query, key, value, m)
        expected_output, expected_weights = additive_reference(module, query, key, value, m)
        torch.testing.assert_close(output, expected_output, **TOL)
        torch.testing.assert_close(weights, expected_weights, **TOL)


def test_additive_attention_has_the_documented_parameters():
    module = AdditiveAttention(query_size=5, key_size=7, hidden_size=6)
    shapes = {name: tuple(p.shape) for name, p in module.named_parameters()}
    assert shapes == {"W_q.weight": (6, 5), "W_k.weight": (6, 7), "v.weight": (1, 6)}


def test_additive_attention_with_batch_and_heads():
    module = make_additive(8, 8, 16)
    query, key, value = randn(2, 3, 4, 8, seed=41), randn(2, 3, 6, 8, seed=42), randn(2, 3, 6, 5, seed=43)
    mask = random_mask(2, 1, 1, 6, seed=44)
    output, weights = module(query, key, value, mask)
    assert output.shape == (2, 3, 4, 5) and weights.shape == (2, 3, 4, 6)
    expected, _ = additive_reference(module, query[1, 2], key[1, 2], value[1, 2], mask[1, 0])
    torch.testing.assert_close(output[1, 2], expected, **TOL)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, 4, dtype=DTYPE), **TOL)


def test_additive_attention_masks_keys_and_empty_rows():
    module = make_additive(8, 8, 16)
    query, key, value = randn(4, 8, seed=45), randn(6, 8, seed=46), randn(6, 3, seed=47)
    mask = random_mask(4, 6, seed=48)
    mask[2] = False
    output, weights = module(query, key, value, mask)
    assert torch.all(weights[~mask] == 0)
    assert torch.all(output[2] == 0) and not torch.isnan(output).any()
    torch.testing.assert_close(weights[[0, 1, 3]].sum(-1), torch.ones(3, dtype=DTYPE), **TOL)


def test_additive_attention_gradients_flow():
    module = make_additive(8, 6, 16)
    query = randn(2, 4, 8, seed=49, requires_grad=True)
    key = randn(2, 5, 6, seed=50, requires_grad=True)
    value = randn(2, 5, 3, seed=51, requires_grad=True)
    mask = random_mask(2, 4, 5, seed=52)
    output, _ = module(query, key, value, mask)
    (output * randn(2, 4, 3, seed=53)).sum().backward()
    for name, parameter in module.named_parameters():
        assert parameter.grad is not None and torch.isfinite(parameter.grad).all(), name
        assert parameter.grad.abs().sum() > 0, f"{name} gets no gradient"
    for tensor in (query, key, value):
        assert torch.isfinite(tensor.grad).all() and tensor.grad.abs().sum() > 0


# The paper's argument for the 1/sqrt(d_k) factor (Vaswani et al. 2017, section 3.2.1).

D_KS = [4, 16, 64, 256, 1024]


@pytest.mark.parametrize("d_k", D_KS)
def test_dot_product_variance_grows_like_d_k_and_scaling_restores_one(d_k):
    n = 10_000
    query, key = randn(n, d_k, seed=55), randn(n, d_k, seed=56)
    dots = (query * key).sum(-1)
    assert dots.var().item() == pytest.approx(d_k, rel=0.05)
    assert (dots / math.sqrt(d_k)).var().item() == pytest.approx(1.0, rel=0.05)


def test_reference_dot_product_variance_draws_queries_then_keys_from_the_generator():
    generator = torch.Generator().manual_seed(7)
    query = torch.randn(500, 8, generator=generator, dtype=torch.float64)
    key = torch.randn(500, 8, generator=generator, dtype=torch.float64)
    got = dot_product_variance(8, 500, torch.Generator().manual_seed(7))
    assert type(got) is float and got == (query * key).sum(-1).var().item()
    assert dot_product_variance(64, 20_000, torch.Generator().manual_seed(1)) == pytest.approx(64, rel=0.05)


def softmax_jacobian_norm(scores: torch.Tensor) -> torch.Tensor:
    """Frobenius norm of d softmax / d scores, one per row."""
    p = torch.softmax(scores, dim=-1)
    jacobian = torch.diag_embed(p) - p.unsqueeze(-1) * p.unsqueeze(-2)
    return jacobian.norm(dim=(-2, -1))


def test_unscaled_scores_saturate_softmax_and_kill_its_gradient():
    d_k, n_queries, n_keys = 1024, 500, 16
    query, key = randn(n_queries, 1, d_k, seed=57), randn(n_queries, n_keys, d_k, seed=58)
    raw = (query @ key.transpose(-2, -1)).squeeze(1)
    scaled = attention_scores(query, key).squeeze(1)
    raw_weights, scaled_weights = torch.softmax(raw, -1), torch.softmax(scaled, -1)
    assert raw_weights.max(-1).values.mean() > 0.9  # nearly one-hot
    assert scaled_weights.max(-1).values.mean() < 0.4
    raw_gradient = softmax_jacobian_norm(raw).median()
    scaled_gradient = softmax_jacobian_norm(scaled).median()
    assert raw_gradient < 1e-2 * scaled_gradient
