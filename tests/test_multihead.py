"""Tests for course_lib.multihead against torch.nn.MultiheadAttention."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from course_lib.multihead import (
    MultiHeadAttention,
    copy_from_torch,
    merge_heads,
    split_heads,
    to_torch_attn_mask,
    to_torch_key_padding_mask,
)

TOL = dict(rtol=1e-12, atol=1e-12)


def make_pair(d_model: int, num_heads: int, bias: bool = True, seed: int = 0):
    """Our module and torch's, in float64, with the same weights."""
    torch.manual_seed(seed)
    theirs = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True).double().eval()
    if bias:  # torch starts its biases at zero; random ones make the comparison meaningful
        with torch.no_grad():
            theirs.in_proj_bias.normal_()
            theirs.out_proj.bias.normal_()
    ours = copy_from_torch(MultiHeadAttention(d_model, num_heads, bias=bias).double(), theirs)
    return ours, theirs


def torch_forward(theirs, query, key, value, attn_mask=None, key_padding_mask=None):
    return theirs(
        query, key, value,
        attn_mask=attn_mask, key_padding_mask=key_padding_mask,
        need_weights=True, average_attn_weights=False,
    )


def rand(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- split_heads / merge_heads -------------------------------------------------------------


def test_split_heads_shape_and_which_features_each_head_gets():
    x = torch.arange(2 * 3 * 12, dtype=torch.float64).reshape(2, 3, 12)
    heads = split_heads(x, 4)
    assert heads.shape == (2, 4, 3, 3)
    for i in range(4):  # head i sees features i*3 .. i*3+2 of every position, positions in order
        assert torch.equal(heads[:, i], x[..., i * 3:(i + 1) * 3])


def test_merge_heads_concatenates_heads_in_order():
    heads = rand(2, 4, 5, 3)
    merged = merge_heads(heads)
    assert merged.shape == (2, 5, 12)
    assert torch.equal(merged, torch.cat([heads[:, i] for i in range(4)], dim=-1))


@pytest.mark.parametrize("num_heads", [1, 2, 3, 6])
def test_split_merge_round_trip(num_heads):
    x = rand(3, 7, 6)
    assert torch.equal(merge_heads(split_heads(x, num_heads)), x)
    heads = rand(3, num_heads, 7, 6 // num_heads)
    assert torch.equal(split_heads(merge_heads(heads), num_heads), heads)


def test_split_heads_accepts_non_contiguous_input():
    x = rand(7, 3, 8).transpose(0, 1)  # (3, 7, 8), not contiguous
    assert torch.equal(split_heads(x, 2), split_heads(x.contiguous(), 2))


# --- matching torch.nn.MultiheadAttention ----------------------------------------------------


@pytest.mark.parametrize("d_model,num_heads", [(8, 1), (8, 2), (12, 3), (16, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_self_attention_matches_torch(d_model, num_heads, bias):
    ours, theirs = make_pair(d_model, num_heads, bias)
    x = rand(2, 5, d_model)
    out, weights = ours(x, x, x)
    ref_out, ref_weights = torch_forward(theirs, x, x, x)
    assert type(out) is torch.Tensor and out.dtype == torch.float64
    assert out.shape == (2, 5, d_model)
    assert weights.shape == (2, num_heads, 5, 5)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)


def test_cross_attention_with_different_lengths_matches_torch():
    ours, theirs = make_pair(12, 3)
    query, key, value = rand(2, 3, 12, seed=1), rand(2, 7, 12, seed=2), rand(2, 7, 12, seed=3)
    out, weights = ours(query, key, value)
    ref_out, ref_weights = torch_forward(theirs, query, key, value)
    assert out.shape == (2, 3, 12) and weights.shape == (2, 3, 3, 7)
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)


def test_causal_mask_matches_torch():
    ours, theirs = make_pair(16, 4)
    x = rand(2, 6, 16)
    causal = torch.tril(torch.ones(6, 6, dtype=torch.bool))  # True = may attend
    out, weights = ours(x, x, x, mask=causal)
    ref_out, ref_weights = torch_forward(theirs, x, x, x, attn_mask=to_torch_attn_mask(causal, 2, 4))
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)
    assert torch.all(weights[..., ~causal] == 0), "a query attended to a future position"


def test_key_padding_mask_matches_torch():
    ours, theirs = make_pair(12, 3)
    query, memory = rand(3, 4, 12, seed=1), rand(3, 6, 12, seed=2)
    lengths = torch.tensor([6, 4, 1])
    key_is_real = torch.arange(6) < lengths[:, None]  # (batch, Lk), True = real token
    out, weights = ours(query, memory, memory, mask=key_is_real[:, None, None, :])
    ref_out, ref_weights = torch_forward(
        theirs, query, memory, memory, key_padding_mask=to_torch_key_padding_mask(key_is_real)
    )
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)
    padded = ~key_is_real[:, None, None, :].expand_as(weights)
    assert torch.all(weights[padded] == 0), "a query attended to a padding position"


@pytest.mark.parametrize("heads_in_mask", [1, 4])
def test_4d_mask_matches_torch(heads_in_mask):
    ours, theirs = make_pair(16, 4)
    query, memory = rand(2, 5, 16, seed=1), rand(2, 7, 16, seed=2)
    mask = torch.rand(2, heads_in_mask, 5, 7, generator=torch.Generator().manual_seed(3)) < 0.6
    mask[..., 0] = True  # every query keeps at least one key, so torch gives no NaN rows
    out, weights = ours(query, memory, memory, mask=mask)
    ref_out, ref_weights = torch_forward(
        theirs, query, memory, memory, attn_mask=to_torch_attn_mask(mask, 2, 4)
    )
    torch.testing.assert_close(out, ref_out, **TOL)
    torch.testing.assert_close(weights, ref_weights, **TOL)


def test_mask_polarity_matters():
    """Handing our mask to torch unchanged is a real bug: torch blocks what we allow."""
    ours, theirs = make_pair(8, 2)
    x = rand(1, 4, 8)
    allowed = torch.tril(torch.ones(4, 4, dtype=torch.bool))
    allowed[:, 0] = False
    allowed[0, 0] = True
    out, _ = ours(x, x, x, mask=allowed)
    wrong, _ = torch_forward(theirs, x, x, x, attn_mask=allowed)
    right, _ = torch_forward(theirs, x, x, x, attn_mask=to_torch_attn_mask(allowed, 1, 2))
    torch.testing.assert_close(out, right, **TOL)
    assert not torch.allclose(out, wrong)


def test_to_torch_attn_mask_layout():
    mask = torch.rand(2, 3, 4, 5, generator=torch.Generator().manual_seed(0)) < 0.5
    converted = to_torch_attn_mask(mask, 2, 3)
    assert converted.shape == (6, 4, 5) and converted.dtype == torch.bool
    for b in range(2):
        for h in range(3):  # torch's layout is batch-major: row b * num_heads + h
            assert torch.equal(converted[b * 3 + h], ~mask[b, h])
    shared = to_torch_attn_mask(mask[:, :1], 2, 3)
    assert torch.equal(shared[4], ~mask[1, 0])
    assert torch.equal(to_torch_attn_mask(mask[0, 0], 2, 3), ~mask[0, 0])


def test_gradients_match_torch():
    ours, theirs = make_pair(12, 3)
    query, memory = rand(2, 3, 12, seed=1), rand(2, 5, 12, seed=2)
    ours(query, memory, memory)[0].pow(2).sum().backward()
    torch_forward(theirs, query, memory, memory)[0].pow(2).sum().backward()
    ours_in = torch.cat([ours.q_proj.weight.grad, ours.k_proj.weight.grad, ours.v_proj.weight.grad])
    torch.testing.assert_close(ours_in, theirs.in_proj_weight.grad, **TOL)
    torch.testing.assert_close(ours.out_proj.weight.grad, theirs.out_proj.weight.grad, **TOL)


def test_edge_cases_batch_of_one_and_length_one():
    ours, theirs = make_pair(8, 2)
    query, memory = rand(1, 1, 8, seed=1), rand(1, 1, 8, seed=2)
    out, weights = ours(query, memory, memory)
    assert torch.equal(weights, torch.ones(1, 2, 1, 1, dtype=torch.float64))
    torch.testing.assert_close(out, torch_forward(theirs, query, memory, memory)[0], **TOL)


def test_fully_masked_query_row_gets_zero_weights():
    ours, _ = make_pair(8, 2)
    x = rand(1, 3, 8)
    mask = torch.ones(3, 3, dtype=torch.bool)
    mask[1] = False  # query 1 may attend to nothing
    out, weights = ours(x, x, x, mask=mask)
    assert torch.all(weights[:, :, 1] == 0)
    # no attended value reaches the output projection, so only its bias remains
    torch.testing.assert_close(out[0, 1], ours.out_proj.bias, **TOL)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize(
    "mask_shape, empty",
    [((4, 6), (2,)), ((2, 1, 1, 6), (1,)), ((2, 2, 4, 6), (0, slice(None), 1)), ((2, 1, 4, 6), (1, 0, 3))],
    ids=["Lq x Lk", "key padding", "batch x heads x Lq x Lk", "batch x 1 x Lq x Lk"],
)
def test_masked_keys_and_values_do_not_leak_even_inf_or_nan(mask_shape, empty):
    """Issue 11: garbage (inf, NaN) at positions a query may not see must not change its row at all."""
    ours, _ = make_pair(8, 2)
    query, key, value = rand(2, 4, 8, seed=3), rand(2, 6, 8, seed=4), rand(2, 6, 8, seed=5)
    mask = torch.rand(mask_shape, generator=torch.Generator().manual_seed(6)) < 0.6
    mask[empty] = False  # some query rows see nothing
    full = mask.expand(2, 2, 4, 6)
    output, weights = ours(query, key, value, mask=mask)
    assert torch.isfinite(output).all()
    for q in range(4):
        hidden = (~full[:, :, q, :]).all(dim=1)[..., None]  # (batch, Lk, 1): hidden from q in every head
        for garbage in (float("nan"), float("inf"), float("-inf")):
            bad_key, bad_value = key.masked_fill(hidden, garbage), value.masked_fill(hidden, garbage)
            for k, v in ((key, bad_value), (bad_key, value), (bad_key, bad_value)):
                got_output, got_weights = ours(query, k, v, mask=mask)
                assert torch.equal(got_output[:, q], output[:, q]), f"query {q}: {garbage} leaks"
                assert torch.equal(got_weights[:, :, q], weights[:, :, q]), f"query {q}: {garbage} leaks"
    empty_rows = ~full.any(-1)  # (batch, heads, Lq)
    assert empty_rows.any() and torch.all(weights[empty_rows] == 0)


def test_heads_are_independent_subspaces():
    """Changing the value projection rows of head 0 changes only head 0's slice before out_proj."""
    ours, _ = make_pair(8, 2)
    x = rand(1, 4, 8)
    captured = []
    ours.out_proj.register_forward_hook(lambda module, inputs, output: captured.append(inputs[0]))
    ours(x, x, x)
    with torch.no_grad():
        ours.v_proj.weight[:4] += 1.0
    ours(x, x, x)
    before, after = captured
    assert not torch.allclose(before[..., :4], after[..., :4])
    torch.testing.assert_close(before[..., 4:], after[..., 4:], **TOL)


# --- cost --------------------------------------------------------------------------------------


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("d_model", [64, 512])
def test_multi_head_costs_the_same_parameters_as_one_full_width_head(d_model):
    one_head = count_parameters(MultiHeadAttention(d_model, 1))
    assert one_head == 4 * d_model * d_model + 4 * d_model
    for num_heads in (2, 4, 8, 16):
        mha = MultiHeadAttention(d_model, num_heads)
        assert count_parameters(mha) == one_head
        assert mha.head_dim * num_heads == d_model
    assert count_parameters(nn.MultiheadAttention(d_model, 8)) == one_head


def test_transformer_base_sizes():
    mha = MultiHeadAttention(512, 8)  # Vaswani et al. 2017, base model: h = 8, d_k = d_v = 64
    assert mha.head_dim == 64
    assert count_parameters(mha) == 1_050_624


# --- helpful errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: split_heads(torch.zeros(2, 3, 10), 3),
                                  lambda: MultiHeadAttention(10, 3)])
def test_indivisible_d_model_names_numbers_and_fix(make):
    with pytest.raises(ValueError) as info:
        make()
    message = str(info.value)
    assert "d_model=10" in message and "num_heads=3" in message
    assert "divisible" in message and "[1, 2, 5, 10]" in message


@pytest.mark.parametrize("num_heads", [0, -2, 2.0])
def test_bad_num_heads(num_heads):
    with pytest.raises(ValueError, match="positive int"):
        MultiHeadAttention(8, num_heads)


def test_split_and_merge_reject_wrong_ranks():
    with pytest.raises(ValueError, match=r"\(batch, seq, d_model\)"):
        split_heads(torch.zeros(3, 8), 2)
    with pytest.raises(ValueError, match=r"\(batch, num_heads, seq, head_dim\)"):
        merge_heads(torch.zeros(2, 3, 8))


@pytest.fixture
def mha():
    return MultiHeadAttention(8, 2).double()


def test_unbatched_input_suggests_unsqueeze(mha):
    x = rand(4, 8)
    with pytest.raises(ValueError, match=r"query\.unsqueeze\(0\)"):
        mha(x, x, x)


def test_wrong_feature_size(mha):
    x, y = rand(1, 4, 8), rand(1, 4, 6)
    with pytest.raises(ValueError, match="key has 6 features.*d_model=8"):
        mha(x, y, y)


def test_dtype_mismatch(mha):
    x = torch.randn(1, 4, 8)  # float32 against float64 weights
    with pytest.raises(TypeError, match="float32.*float64"):
        mha(x, x, x)


def test_batch_and_length_mismatches(mha):
    with pytest.raises(ValueError, match="same batch size"):
        mha(rand(2, 4, 8), rand(3, 4, 8), rand(3, 4, 8))
    with pytest.raises(ValueError, match="5 keys and 4 values"):
        mha(rand(1, 4, 8), rand(1, 5, 8), rand(1, 4, 8))


def test_non_bool_mask_is_rejected(mha):
    x = rand(1, 4, 8)
    with pytest.raises(TypeError, match=r"bool.*True = may attend.*mask\.bool\(\)"):
        mha(x, x, x, mask=torch.ones(4, 4))


def test_3d_mask_is_rejected_as_ambiguous(mha):
    x = rand(2, 4, 8)
    with pytest.raises(ValueError, match=r"mask\[:, None\]"):
        mha(x, x, x, mask=torch.ones(2, 4, 4, dtype=torch.bool))


@pytest.mark.parametrize("shape", [(4, 5), (2, 3, 4, 4), (3, 1, 4, 4)])
def test_mask_that_does_not_broadcast(mha, shape):
    x = rand(2, 4, 8)
    with pytest.raises(ValueError, match="does not broadcast"):
        mha(x, x, x, mask=torch.ones(*shape, dtype=torch.bool))


def test_copy_from_torch_rejects_mismatches():
    with pytest.raises(ValueError, match="size mismatch"):
        copy_from_torch(MultiHeadAttention(8, 2), nn.MultiheadAttention(8, 4))
    with pytest.raises(ValueError, match="bias mismatch"):
        copy_from_torch(MultiHeadAttention(8, 2, bias=False), nn.MultiheadAttention(8, 2))
    with pytest.raises(ValueError, match="kdim"):
        copy_from_torch(MultiHeadAttention(8, 2), nn.MultiheadAttention(8, 2, kdim=4, vdim=4))
