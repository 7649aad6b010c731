"""Tests of course_lib.positional against the formula, transformers' own implementations and the
properties the lesson claims (permutation equivariance, offsets as fixed linear maps, probes)."""

import math

import pytest
import torch
from torch import nn

from course_lib.positional import (
    LearnedPositionalEmbedding,
    SinusoidalPositionalEncoding,
    linear_probe_accuracy,
    offset_map,
    permutation_equivariance_gap,
    position_probe_accuracy,
    sinusoidal_encoding,
)


def loop_encoding(num_positions: int, d_model: int) -> torch.Tensor:
    """Vaswani et al. (2017), section 3.5, one entry at a time in float64."""
    table = torch.empty(num_positions, d_model, dtype=torch.float64)
    for pos in range(num_positions):
        for i in range(d_model // 2):
            angle = pos / 10000 ** (2 * i / d_model)
            table[pos, 2 * i] = math.sin(angle)
            table[pos, 2 * i + 1] = math.cos(angle)
    return table


# --- sinusoidal_encoding ---------------------------------------------------------------------


@pytest.mark.parametrize("num_positions, d_model", [(1, 2), (7, 6), (50, 16), (128, 512)])
def test_sinusoidal_matches_the_formula(num_positions, d_model):
    table = sinusoidal_encoding(num_positions, d_model)
    assert type(table) is torch.Tensor
    assert table.shape == (num_positions, d_model)
    assert table.dtype == torch.float32
    torch.testing.assert_close(table.double(), loop_encoding(num_positions, d_model), atol=1e-6, rtol=0)


def test_sinusoidal_is_accurate_at_far_positions():
    # float32 angles would be off by ~1e-3 at position 20000; the table must not be.
    far = sinusoidal_encoding(20001, 8)[20000].double()
    expected = [f(20000 / 10000 ** (2 * i / 8)) for i in range(4) for f in (math.sin, math.cos)]
    torch.testing.assert_close(far, torch.tensor(expected, dtype=torch.float64), atol=1e-6, rtol=0)


def test_sinusoidal_first_rows_and_range():
    table = sinusoidal_encoding(100, 32)
    torch.testing.assert_close(table[0], torch.tensor([0.0, 1.0] * 16))  # sin 0, cos 0
    assert table[1, 0].item() == pytest.approx(math.sin(1.0))
    assert table[1, 1].item() == pytest.approx(math.cos(1.0))
    assert table.abs().max() <= 1.0
    # every (sin, cos) pair lies on the unit circle, so each row has squared norm d_model / 2
    torch.testing.assert_close(table.pow(2).sum(1), torch.full((100,), 16.0))


def test_sinusoidal_rows_are_distinct_positions():
    table = sinusoidal_encoding(512, 64)
    distances = torch.cdist(table, table) + torch.eye(512) * 1e3
    assert distances.min() > 0.1


def test_sinusoidal_matches_transformers_xlm_and_distilbert():
    from transformers.models.distilbert.modeling_distilbert import _create_sinusoidal_embeddings
    from transformers.models.xlm.modeling_xlm import create_sinusoidal_embeddings

    for helper in (create_sinusoidal_embeddings, _create_sinusoidal_embeddings):
        theirs = helper(n_pos=64, dim=24, out=torch.empty(64, 24))
        torch.testing.assert_close(sinusoidal_encoding(64, 24), theirs, atol=1e-6, rtol=0)


def test_sinusoidal_matches_transformers_marian_up_to_column_order():
    # Marian puts all the sines first and all the cosines second instead of interleaving them.
    from transformers.models.marian.modeling_marian import MarianSinusoidalPositionalEmbedding

    theirs = MarianSinusoidalPositionalEmbedding(64, 24).create_weight()
    ours = sinusoidal_encoding(64, 24)
    torch.testing.assert_close(torch.cat((ours[:, 0::2], ours[:, 1::2]), dim=1), theirs, atol=1e-6, rtol=0)


@pytest.mark.parametrize(
    "num_positions, d_model, message",
    [
        (10, 7, "Pass 6 or 8"),
        (10, 1, "Pass 2"),
        (10, 0, "d_model must be a positive int"),
        (10, -4, "d_model must be a positive int"),
        (10, 16.0, "d_model must be a positive int"),
        (0, 16, "num_positions must be a positive int"),
        (-1, 16, "num_positions must be a positive int"),
        (True, 16, "num_positions must be a positive int"),
    ],
)
def test_sinusoidal_rejects_bad_sizes(num_positions, d_model, message):
    with pytest.raises(ValueError, match=message):
        sinusoidal_encoding(num_positions, d_model)


# --- offset_map --------------------------------------------------------------------------------


@pytest.mark.parametrize("d_model", [2, 16, 64])
@pytest.mark.parametrize("offset", [0, 1, 2, 5, 17, 100, -1, -7])
def test_offset_map_shifts_every_position(offset, d_model):
    table = sinusoidal_encoding(400, d_model)
    m = offset_map(offset, d_model)
    assert type(m) is torch.Tensor and m.shape == (d_model, d_model) and m.dtype == torch.float32
    start, stop = max(0, -offset), min(400, 400 - offset)
    positions = torch.arange(start, stop)
    # one matrix for all positions: PE(pos + k) = M_k @ PE(pos), as rows: PE[pos + k] = PE[pos] @ M_k^T
    torch.testing.assert_close(table[positions] @ m.T, table[positions + offset], atol=1e-5, rtol=0)


def test_offset_map_works_far_from_the_origin():
    table = sinusoidal_encoding(10050, 32)
    m = offset_map(37, 32)
    torch.testing.assert_close(table[9000:10000] @ m.T, table[9037:10037], atol=1e-5, rtol=0)


def test_offset_map_is_a_block_diagonal_rotation():
    d_model = 12
    m = offset_map(3, d_model).double()
    block = torch.block_diag(*[torch.ones(2, 2)] * (d_model // 2)).bool()
    assert (m[~block] == 0).all(), "entries outside the 2x2 blocks must be zero"
    torch.testing.assert_close(m @ m.T, torch.eye(d_model, dtype=torch.float64), atol=1e-6, rtol=0)
    omega0 = 1.0  # the first pair turns by one radian per position
    expected_first_block = torch.tensor(
        [[math.cos(3 * omega0), math.sin(3 * omega0)], [-math.sin(3 * omega0), math.cos(3 * omega0)]],
        dtype=torch.float64,
    )
    torch.testing.assert_close(m[:2, :2], expected_first_block, atol=1e-6, rtol=0)


def test_offset_maps_compose_and_invert():
    d_model = 20
    torch.testing.assert_close(offset_map(0, d_model), torch.eye(d_model))
    composed = offset_map(3, d_model) @ offset_map(4, d_model)
    torch.testing.assert_close(composed, offset_map(7, d_model), atol=1e-6, rtol=0)
    torch.testing.assert_close(offset_map(-5, d_model), offset_map(5, d_model).T, atol=1e-6, rtol=0)


def test_offset_map_rejects_odd_d_model():
    with pytest.raises(ValueError, match="d_model must be even"):
        offset_map(1, 5)


# --- the modules -------------------------------------------------------------------------------


def test_sinusoidal_module_adds_the_table():
    module = SinusoidalPositionalEncoding(max_positions=50, d_model=16)
    x = torch.randn(3, 10, 16)
    out = module(x)
    assert out.shape == (3, 10, 16) and out.dtype == torch.float32
    torch.testing.assert_close(out, x + sinusoidal_encoding(10, 16))
    assert list(module.parameters()) == [], "the sinusoidal encoding has nothing to learn"
    assert "encoding" not in module.state_dict()
    assert module(x.double()).dtype == torch.float64
    assert module(torch.randn(2, 50, 16)).shape == (2, 50, 16)  # exactly max_positions is fine


def test_learned_module_adds_one_trained_vector_per_position():
    torch.manual_seed(0)
    module = LearnedPositionalEmbedding(max_positions=40, d_model=8)
    assert sum(p.numel() for p in module.parameters()) == 40 * 8
    x = torch.randn(2, 6, 8)
    out = module(x)
    assert out.shape == (2, 6, 8)
    torch.testing.assert_close(out, x + module.position_embeddings.weight[:6])
    out.sum().backward()
    grad = module.position_embeddings.weight.grad
    torch.testing.assert_close(grad[:6], torch.full((6, 8), 2.0))  # used by both sequences of the batch
    assert (grad[6:] == 0).all(), "positions beyond the sequence must get no gradient"


def test_learned_module_initialised_like_bert():
    torch.manual_seed(0)
    weight = LearnedPositionalEmbedding(512, 768).position_embeddings.weight
    assert weight.std().item() == pytest.approx(0.02, rel=0.02)
    assert abs(weight.mean().item()) < 1e-3


def test_learned_module_matches_bert_embeddings():
    from transformers import BertConfig
    from transformers.models.bert.modeling_bert import BertEmbeddings

    config = BertConfig(vocab_size=30, hidden_size=16, max_position_embeddings=20, type_vocab_size=1)
    bert = BertEmbeddings(config).eval()
    ours = LearnedPositionalEmbedding(20, 16)
    with torch.no_grad():
        bert.position_embeddings.weight.copy_(ours.position_embeddings.weight)
        bert.token_type_embeddings.weight.zero_()
    x = torch.randn(3, 11, 16)
    expected = bert(inputs_embeds=x)  # word + position (+ zero segment), then LayerNorm
    actual = nn.functional.layer_norm(ours(x), (16,), eps=config.layer_norm_eps)
    torch.testing.assert_close(actual, expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("cls", [SinusoidalPositionalEncoding, LearnedPositionalEmbedding])
def test_modules_explain_bad_inputs(cls):
    module = cls(max_positions=8, d_model=4)
    with pytest.raises(ValueError, match="supports at most max_positions=8"):
        module(torch.randn(1, 9, 4))
    with pytest.raises(ValueError, match="built with d_model=4"):
        module(torch.randn(1, 5, 6))
    with pytest.raises(ValueError, match="embed them first"):
        module(torch.randint(10, (2, 5)))
    with pytest.raises(ValueError, match=r"\(batch, seq, d_model\)"):
        module(torch.randn(5, 4))
    with pytest.raises(TypeError, match="torch.Tensor"):
        module([[0.0] * 4])


def test_modules_reject_bad_sizes():
    with pytest.raises(ValueError, match="max_positions must be a positive int"):
        LearnedPositionalEmbedding(0, 8)
    with pytest.raises(ValueError, match="max_positions must be a positive int"):
        SinusoidalPositionalEncoding(0, 8)
    with pytest.raises(ValueError, match="d_model must be even"):
        SinusoidalPositionalEncoding(16, 9)
    assert LearnedPositionalEmbedding(16, 9)(torch.zeros(1, 3, 9)).shape == (1, 3, 9)  # odd is fine when learned


def test_too_long_messages_say_what_to_do():
    with pytest.raises(ValueError, match="larger max_positions"):
        SinusoidalPositionalEncoding(4, 2)(torch.zeros(1, 5, 2))
    with pytest.raises(ValueError, match="truncate the input"):
        LearnedPositionalEmbedding(4, 2)(torch.zeros(1, 5, 2))


# --- permutation equivariance ----------------------------------------------------------------


def test_self_attention_is_permutation_equivariant_until_positions_are_added():
    torch.manual_seed(0)
    attention = nn.MultiheadAttention(16, 4, batch_first=True)
    x = torch.randn(2, 9, 16)
    perm = torch.randperm(9)

    def self_attention(h):
        return attention(h, h, h, need_weights=False)[0]

    assert permutation_equivariance_gap(self_attention, x, perm) < 1e-5
    positions = SinusoidalPositionalEncoding(9, 16)
    assert permutation_equivariance_gap(lambda h: self_attention(positions(h)), x, perm) > 0.1


def test_gap_detects_order_dependent_layers():
    x = torch.randn(1, 6, 3)
    perm = torch.tensor([5, 4, 3, 2, 1, 0])
    assert permutation_equivariance_gap(lambda h: h.cumsum(dim=1), x, perm) > 0.1
    assert permutation_equivariance_gap(lambda h: 2 * h + 1, x, perm) == 0.0


def test_gap_rejects_a_non_permutation():
    with pytest.raises(ValueError, match="each of 0..3 once"):
        permutation_equivariance_gap(lambda h: h, torch.zeros(1, 4, 2), torch.tensor([0, 0, 1, 2]))
    with pytest.raises(ValueError, match=r"\(batch, seq, d_model\)"):
        permutation_equivariance_gap(lambda h: h, torch.zeros(4, 2), torch.arange(4))


# --- probes ------------------------------------------------------------------------------------


def test_linear_probe_reads_linearly_separable_labels():
    generator = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 10, generator=generator) * 3
    labels = torch.randint(5, (400,), generator=generator)
    features = centres[labels] + 0.1 * torch.randn(400, 10, generator=generator)
    acc = linear_probe_accuracy(features[:200], labels[:200], features[200:], labels[200:])
    assert type(acc) is float and acc == 1.0
    # rescaling the features must not matter
    assert linear_probe_accuracy(1e-4 * features[:200], labels[:200], 1e-4 * features[200:], labels[200:]) == 1.0


def test_linear_probe_is_at_chance_on_random_labels():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(4000, 8, generator=generator)
    labels = torch.randint(4, (4000,), generator=generator)
    acc = linear_probe_accuracy(features[:2000], labels[:2000], features[2000:], labels[2000:])
    assert 0.18 < acc < 0.32


def test_linear_probe_falls_back_to_the_most_frequent_class():
    features = torch.ones(100, 4)  # nothing to read: the bias alone must pick the majority class
    labels = torch.tensor([2] * 80 + [0] * 10 + [1] * 10)
    assert linear_probe_accuracy(features, labels, features, labels) == pytest.approx(0.8)


def test_position_probe_finds_positions_only_where_they_are():
    torch.manual_seed(0)
    vocabulary = torch.randn(8, 32)  # 8 token embeddings, 40 sequences of 12 tokens
    tokens = vocabulary[torch.randint(8, (40, 12))]
    with_positions = SinusoidalPositionalEncoding(12, 32)(tokens)
    assert position_probe_accuracy(with_positions) > 0.9
    assert position_probe_accuracy(tokens) < 0.2  # chance is 1/12
    constant = torch.ones(40, 12, 16)
    assert position_probe_accuracy(constant) == pytest.approx(1 / 12)


def test_position_probe_rejects_bad_inputs():
    with pytest.raises(ValueError, match=r"\(batch, seq, d\)"):
        position_probe_accuracy(torch.randn(12, 16))
    with pytest.raises(ValueError, match="train_fraction"):
        position_probe_accuracy(torch.randn(1, 12, 16))
    with pytest.raises(ValueError, match="labels must be"):
        linear_probe_accuracy(torch.randn(5, 2), torch.zeros(4), torch.randn(5, 2), torch.zeros(5))
