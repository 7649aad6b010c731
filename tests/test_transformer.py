"""Tests of course_lib.transformer: against torch.nn.Transformer with copied weights, the masks'
shapes and polarity, what the causal and padding masks guarantee, the parameter-count formulas
against counted parameters (ours and HF transformers' BertModel), the Table 1 helpers and the errors
a learner meets."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.multihead import to_torch_attn_mask, to_torch_key_padding_mask
from course_lib.positional import sinusoidal_encoding
from course_lib.transformer import (
    Decoder,
    DecoderLayer,
    Encoder,
    EncoderLayer,
    LayerCost,
    PositionwiseFeedForward,
    Transformer,
    bert_parameter_breakdown,
    bert_parameter_count,
    causal_mask,
    copy_from_torch,
    crossover_length,
    draw_transformer,
    layer_complexity,
    layer_costs,
    padding_mask,
    parameter_breakdown,
    parameter_count,
    peak_memory,
    residual_sublayer,
    target_mask,
)

TOL = {"rtol": 1e-10, "atol": 1e-10}
PAD = 0


def rand(*shape: int, seed: int = 1) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def randomise_(module: nn.Module, seed: int = 0) -> nn.Module:
    """Random values for every parameter, LayerNorm gains and biases and all biases included.

    torch starts biases at 0 and LayerNorms at (1, 0); copying those would not prove much.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * 0.3)
    return module


def num_parameters(*modules: nn.Module) -> int:
    """Distinct parameters of the modules together (a shared weight counts once)."""
    seen = {id(p): p for module in modules for p in module.parameters()}
    return sum(p.numel() for p in seen.values())


def torch_transformer(d_model=16, num_heads=4, num_layers=2, d_ff=24, norm_first=False, seed=0):
    with warnings.catch_warnings():  # "enable_nested_tensor is True, but ... norm_first was True"
        warnings.simplefilter("ignore", UserWarning)
        theirs = nn.Transformer(
            d_model, num_heads, num_layers, num_layers, d_ff, dropout=0.0, activation="relu",
            batch_first=True, norm_first=norm_first, dtype=torch.float64,
        )
    return randomise_(theirs, seed)


def tokens_with_padding(lengths: list[int], max_length: int, vocab: int, seed: int) -> torch.Tensor:
    """Random ids in 1..vocab-1 (0 is padding), right-padded with 0 after each length."""
    tokens = torch.randint(1, vocab, (len(lengths), max_length), generator=torch.Generator().manual_seed(seed))
    for row, length in enumerate(lengths):
        tokens[row, length:] = PAD
    return tokens


# --- layers -------------------------------------------------------------------------------------


def test_feed_forward_is_two_linear_maps_with_relu_between():
    ffn = randomise_(PositionwiseFeedForward(8, 20).double())
    x = rand(3, 5, 8)
    expected = F.relu(x @ ffn.linear1.weight.T + ffn.linear1.bias) @ ffn.linear2.weight.T + ffn.linear2.bias
    torch.testing.assert_close(ffn(x), expected, **TOL)
    # without the ReLU it would be one linear map: check the non-linearity is really there
    linear = (x @ ffn.linear1.weight.T + ffn.linear1.bias) @ ffn.linear2.weight.T + ffn.linear2.bias
    assert (ffn(x) - linear).abs().max() > 0.1


def test_feed_forward_is_position_wise():
    ffn = randomise_(PositionwiseFeedForward(8, 20).double())
    x = rand(2, 6, 8)
    one_at_a_time = torch.stack([ffn(x[:, t]) for t in range(6)], dim=1)
    torch.testing.assert_close(ffn(x), one_at_a_time, **TOL)


def test_residual_sublayer_post_norm_and_pre_norm():
    norm = randomise_(nn.LayerNorm(8).double())
    sublayer = randomise_(nn.Linear(8, 8).double())
    x = rand(2, 3, 8)
    post = residual_sublayer(x, sublayer, norm, nn.Identity(), norm_first=False)
    pre = residual_sublayer(x, sublayer, norm, nn.Identity(), norm_first=True)
    torch.testing.assert_close(post, norm(x + sublayer(x)), **TOL)
    torch.testing.assert_close(pre, x + sublayer(norm(x)), **TOL)


def test_post_norm_layer_output_is_normalised_pre_norm_is_not():
    x = rand(2, 7, 16) * 5 + 3
    post, pre = EncoderLayer(16, 4, 32).double(), EncoderLayer(16, 4, 32, norm_first=True).double()
    out = post(x)  # default LayerNorm (gain 1, bias 0) is applied last: mean 0, variance 1
    torch.testing.assert_close(out.mean(-1), torch.zeros(2, 7, dtype=torch.float64), atol=1e-9, rtol=0)
    torch.testing.assert_close(out.var(-1, unbiased=False), torch.ones(2, 7, dtype=torch.float64), atol=1e-4, rtol=0)
    assert pre(x).mean(-1).abs().min() > 1.0  # the residual stream keeps the input's offset of 3


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_torch(norm_first):
    theirs = randomise_(nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, batch_first=True,
                                                   norm_first=norm_first, dtype=torch.float64))
    ours = copy_from_torch(EncoderLayer(16, 4, 24, norm_first=norm_first).double(), theirs)
    src = tokens_with_padding([5, 3, 1], 5, 10, seed=2)
    x = rand(3, 5, 16)
    expected = theirs(x, src_key_padding_mask=to_torch_key_padding_mask(src != PAD))
    torch.testing.assert_close(ours(x, padding_mask(src, PAD)), expected, **TOL)
    torch.testing.assert_close(ours(x), theirs(x), **TOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_layer_matches_torch(norm_first):
    theirs = randomise_(nn.TransformerDecoderLayer(16, 4, 24, dropout=0.0, batch_first=True,
                                                   norm_first=norm_first, dtype=torch.float64))
    ours = copy_from_torch(DecoderLayer(16, 4, 24, norm_first=norm_first).double(), theirs)
    src = tokens_with_padding([6, 2], 6, 10, seed=3)
    tgt = tokens_with_padding([4, 2], 4, 10, seed=4)
    x, memory = rand(2, 4, 16, seed=5), rand(2, 6, 16, seed=6)
    expected = theirs(
        x, memory,
        tgt_mask=to_torch_attn_mask(causal_mask(4), 2, 4),
        tgt_key_padding_mask=to_torch_key_padding_mask(tgt != PAD),
        memory_key_padding_mask=to_torch_key_padding_mask(src != PAD),
    )
    got = ours(x, memory, target_mask(tgt, PAD), padding_mask(src, PAD))
    torch.testing.assert_close(got, expected, **TOL)


def test_cross_attention_takes_keys_and_values_from_the_memory():
    layer = randomise_(DecoderLayer(16, 4, 24).double())
    x, memory = rand(2, 4, 16, seed=1), rand(2, 6, 16, seed=2)
    seen = {}
    layer.cross_attn.register_forward_hook(lambda module, args, output: seen.update(args=args))
    out = layer(x, memory)
    query, key, value = seen["args"][:3]
    assert query.shape == (2, 4, 16) and key is memory and value is memory
    assert (layer(x, memory + 1.0) - out).abs().max() > 1e-3  # the output depends on the memory


# --- stacks against torch.nn.Transformer --------------------------------------------------------


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("as_attn_mask", [False, True], ids=["key_padding_masks", "full_attn_masks"])
def test_stacks_match_torch_transformer(norm_first, as_attn_mask):
    theirs = torch_transformer(norm_first=norm_first)
    ours = copy_from_torch(Transformer(11, 13, 16, 4, 2, 24, 0.0, 32, PAD, norm_first).double(), theirs)
    src = tokens_with_padding([7, 4, 1], 7, 11, seed=7)
    tgt = tokens_with_padding([5, 5, 2], 5, 13, seed=8)
    src_x, tgt_x = rand(3, 7, 16, seed=9), rand(3, 5, 16, seed=10)
    src_mask, tgt_mask = padding_mask(src, PAD), target_mask(tgt, PAD)
    if as_attn_mask:  # our combined masks, converted to torch's (batch * heads, Lq, Lk) layout
        masks = {
            "src_mask": to_torch_attn_mask(src_mask.expand(3, 1, 7, 7), 3, 4),
            "tgt_mask": to_torch_attn_mask(tgt_mask, 3, 4),
            "memory_mask": to_torch_attn_mask(src_mask.expand(3, 1, 5, 7), 3, 4),
        }
    else:
        masks = {
            "tgt_mask": to_torch_attn_mask(causal_mask(5), 3, 4),
            "src_key_padding_mask": to_torch_key_padding_mask(src != PAD),
            "tgt_key_padding_mask": to_torch_key_padding_mask(tgt != PAD),
            "memory_key_padding_mask": to_torch_key_padding_mask(src != PAD),
        }
    memory = ours.encoder(src_x, src_mask)
    their_memory = theirs.encoder(src_x, mask=masks.get("src_mask"),
                                  src_key_padding_mask=masks.get("src_key_padding_mask"))
    torch.testing.assert_close(memory, their_memory, **TOL)
    torch.testing.assert_close(ours.decoder(tgt_x, memory, tgt_mask, src_mask), theirs(src_x, tgt_x, **masks), **TOL)


@pytest.mark.parametrize("norm_first", [False, True])
def test_forward_is_embeddings_then_torch_transformer_then_projection(norm_first):
    theirs = torch_transformer(norm_first=norm_first, seed=3)
    ours = Transformer(11, 13, 16, 4, 2, 24, 0.0, 32, PAD, norm_first).double()
    randomise_(ours, seed=4)
    copy_from_torch(ours, theirs)
    src = tokens_with_padding([6, 3], 6, 11, seed=11)
    tgt = tokens_with_padding([4, 2], 4, 13, seed=12)
    pe = sinusoidal_encoding(32, 16).double()
    src_x = ours.src_embed(src) * 4.0 + pe[:6]  # sqrt(16) = 4
    tgt_x = ours.tgt_embed(tgt) * 4.0 + pe[:4]
    states = theirs(
        src_x, tgt_x,
        tgt_mask=to_torch_attn_mask(causal_mask(4), 2, 4),
        src_key_padding_mask=to_torch_key_padding_mask(src != PAD),
        tgt_key_padding_mask=to_torch_key_padding_mask(tgt != PAD),
        memory_key_padding_mask=to_torch_key_padding_mask(src != PAD),
    )
    logits = ours(src, tgt)
    assert logits.shape == (2, 4, 13)
    torch.testing.assert_close(logits, ours.output_projection(states), **TOL)
    src_mask = padding_mask(src, PAD)
    torch.testing.assert_close(ours.decode(tgt, ours.encode(src, src_mask), target_mask(tgt, PAD), src_mask),
                               logits, **TOL)


def test_copy_from_torch_refuses_mismatches():
    with pytest.raises(ValueError, match="norm_first"):
        copy_from_torch(Transformer(11, 13, 16, 4, 2, 24, 0.0, 32).double(), torch_transformer(norm_first=True))
    with pytest.raises(ValueError, match="layers"):
        copy_from_torch(Transformer(11, 13, 16, 4, 3, 24, 0.0, 32).double(), torch_transformer())
    with pytest.raises(ValueError, match="size mismatch"):
        copy_from_torch(Transformer(11, 13, 16, 4, 2, 32, 0.0, 32).double(), torch_transformer())
    gelu = nn.TransformerEncoderLayer(16, 4, 24, dropout=0.0, activation="gelu", batch_first=True)
    with pytest.raises(ValueError, match="activation"):
        copy_from_torch(EncoderLayer(16, 4, 24), gelu)
    with pytest.raises(TypeError, match="TransformerDecoderLayer"):
        copy_from_torch(DecoderLayer(16, 4, 24), gelu)
    with pytest.raises(ValueError, match="final LayerNorm"):
        copy_from_torch(Encoder(16, 4, 1, 24), nn.TransformerEncoder(gelu, 1, enable_nested_tensor=False))


def test_copy_from_torch_copies_every_parameter():
    theirs = torch_transformer(norm_first=True, seed=5)
    ours = copy_from_torch(Transformer(11, 13, 16, 4, 2, 24, 0.0, 32, norm_first=True).double(), theirs)
    stack_parameters = num_parameters(ours.encoder, ours.decoder)
    assert stack_parameters == num_parameters(theirs)
    ours_sorted = sorted(torch.cat([p.flatten() for p in [*ours.encoder.parameters(), *ours.decoder.parameters()]]))
    theirs_sorted = sorted(torch.cat([p.flatten() for p in theirs.parameters()]))
    assert torch.equal(torch.stack(ours_sorted), torch.stack(theirs_sorted))


# --- masks --------------------------------------------------------------------------------------


def test_causal_mask_is_the_lower_triangle_with_the_diagonal():
    mask = causal_mask(4)
    assert mask.dtype == torch.bool and mask.shape == (4, 4)
    expected = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    assert torch.equal(mask, expected)  # True = may attend: row i sees keys 0..i, itself included
    assert torch.equal(causal_mask(1), torch.ones(1, 1, dtype=torch.bool))


def test_padding_and_target_masks_shapes_and_polarity():
    tokens = torch.tensor([[5, 6, 7, 0], [8, 9, 0, 0]])
    pad = padding_mask(tokens, 0)
    assert pad.dtype == torch.bool and pad.shape == (2, 1, 1, 4)
    assert torch.equal(pad[:, 0, 0], torch.tensor([[True, True, True, False], [True, True, False, False]]))
    both = target_mask(tokens, 0)
    assert both.dtype == torch.bool and both.shape == (2, 1, 4, 4)
    assert torch.equal(both[1, 0], torch.tensor(
        [[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=torch.bool))
    assert torch.equal(both, pad & causal_mask(4))


def small_model(norm_first=False, seed=0, **kwargs) -> Transformer:
    torch.manual_seed(seed)
    return Transformer(20, 20, 16, 4, 2, 32, 0.0, 40, PAD, norm_first, **kwargs).double().eval()


@pytest.mark.parametrize("norm_first", [False, True])
def test_causal_mask_hides_future_target_tokens(norm_first):
    model = small_model(norm_first)
    src = tokens_with_padding([7, 5], 7, 20, seed=1)
    tgt = tokens_with_padding([6, 6], 6, 20, seed=2)
    changed = tgt.clone()
    changed[:, 4] = tgt[:, 4] % 19 + 1  # a different real token at position 4
    before, after = model(src, tgt), model(src, changed)
    torch.testing.assert_close(before[:, :4], after[:, :4], rtol=0, atol=1e-12)  # earlier logits unchanged
    assert (before[:, 4:] - after[:, 4:]).abs().amax(dim=(1, 2)).min() > 1e-4  # later ones do change


def test_the_source_reaches_every_target_position_and_padding_is_ignored():
    model = small_model()
    src = tokens_with_padding([5], 5, 20, seed=3)
    tgt = tokens_with_padding([4], 4, 20, seed=4)
    logits = model(src, tgt)
    changed = src.clone()
    changed[0, 4] = 1 if src[0, 4] != 1 else 2
    assert (model(changed, tgt) - logits).abs().amax(dim=-1).min() > 1e-4  # through cross-attention
    padded_src = torch.cat([src, torch.zeros(1, 3, dtype=torch.long)], dim=1)
    padded_tgt = torch.cat([tgt, torch.zeros(1, 2, dtype=torch.long)], dim=1)
    torch.testing.assert_close(model(padded_src, padded_tgt)[:, :4], logits, rtol=0, atol=1e-12)


def test_embeddings_are_scaled_and_positions_added():
    model = small_model(seed=1)
    src = torch.tensor([[3, 4, 5]])
    expected = model.encoder(model.src_embed(src) * 4.0 + sinusoidal_encoding(40, 16)[:3].double())
    torch.testing.assert_close(model.encode(src), expected, **TOL)
    # N(0, 1/d_model) at the start, so that the scaled embeddings have about unit variance
    assert 0.8 < (model.src_embed.weight * 4.0).std().item() < 1.2


def test_shared_embeddings_tie_source_target_and_output_weights():
    model = small_model(share_embeddings=True)
    assert model.src_embed is model.tgt_embed
    assert model.output_projection.weight is model.src_embed.weight
    assert model.output_projection.bias.shape == (20,)


# --- parameter counts ---------------------------------------------------------------------------


@pytest.mark.parametrize("share", [False, True])
def test_parameter_breakdown_matches_our_modules(share):
    vocab = (37, 37) if share else (37, 29)
    model = Transformer(*vocab, d_model=24, num_heads=3, num_layers=2, d_ff=40, share_embeddings=share)
    parts = parameter_breakdown(24, 3, 40, 2, 2, *vocab, share_embeddings=share)
    assert parts["embeddings"] == num_parameters(model.src_embed, model.tgt_embed)
    assert parts["encoder"] == num_parameters(model.encoder)
    assert parts["decoder"] == num_parameters(model.decoder)
    assert parts["embeddings"] + parts["output projection"] == num_parameters(
        model.src_embed, model.tgt_embed, model.output_projection)
    assert parameter_count(24, 3, 40, 2, 2, *vocab, share_embeddings=share) == num_parameters(model)


def test_parameter_breakdown_counts_encoder_and_decoder_depth_separately():
    parts = parameter_breakdown(16, 4, 24, 1, 3, 50)
    assert parts["encoder"] == num_parameters(Encoder(16, 4, 1, 24))
    assert parts["decoder"] == num_parameters(Decoder(16, 4, 3, 24))
    assert parameter_count(16, 1, 24, 1, 3, 50) == parameter_count(16, 16, 24, 1, 3, 50)  # heads: no change


def test_paper_base_model_has_about_65_million_parameters():
    # Vaswani et al., Table 3: base = 65M, with a shared ~37000-token vocabulary (section 5.1) and one
    # weight matrix for both embeddings and the pre-softmax projection (section 3.4).
    total = parameter_count(512, 8, 2048, 6, 6, 37000, share_embeddings=True)
    assert total == 63_121_544
    assert 62e6 < total < 66e6
    parts = parameter_breakdown(512, 8, 2048, 6, 6, 37000, share_embeddings=True)
    assert parts["embeddings"] == 37000 * 512
    # without the sharing it would be far from the reported figure
    assert parameter_count(512, 8, 2048, 6, 6, 37000, 37000) > 100e6


@pytest.mark.parametrize("pooler", [True, False])
@pytest.mark.parametrize("intermediate", [None, 48])
def test_bert_formula_matches_transformers_bert_model(pooler, intermediate):
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=101, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=intermediate or 96, max_position_embeddings=40, type_vocab_size=3)
    model = BertModel(config, add_pooling_layer=pooler)
    parts = bert_parameter_breakdown(2, 24, 4, vocab=101, max_positions=40, type_vocab=3,
                                     intermediate=intermediate, pooler=pooler)
    assert parts["embeddings"] == num_parameters(model.embeddings)
    assert parts["encoder"] == num_parameters(model.encoder)
    assert parts["pooler"] == (num_parameters(model.pooler) if pooler else 0)
    assert bert_parameter_count(2, 24, 4, 101, 40, 3, intermediate, pooler) == num_parameters(model)


def test_bert_base_and_large_at_full_size():
    from transformers import BertConfig, BertModel

    base = bert_parameter_count(12, 768, 12)
    large = bert_parameter_count(24, 1024, 16)  # BERT-large has 16 heads of 64, not 24
    assert base == 109_482_240 and 108e6 <= base <= 111e6  # the paper's "110M"
    assert large == 335_141_888 and 333e6 <= large <= 336e6  # the paper's "340M"
    # the pooler is one hidden x hidden dense layer with a bias on the [CLS] state
    assert base - bert_parameter_count(12, 768, 12, pooler=False) == 768 * 768 + 768 == 590_592
    assert large - bert_parameter_count(24, 1024, 16, pooler=False) == 1024 * 1024 + 1024 == 1_049_600
    with torch.device("meta"):  # shapes only: no memory for the weights
        model = BertModel(BertConfig(hidden_size=768, num_hidden_layers=12, num_attention_heads=12))
    assert num_parameters(model) == base


def test_formulas_refuse_heads_that_do_not_divide():
    with pytest.raises(ValueError, match="divides"):
        bert_parameter_count(24, 1024, 24)
    with pytest.raises(ValueError, match="divides"):
        parameter_count(512, 7, 2048, 6, 6, 37000)


# --- Table 1 ------------------------------------------------------------------------------------


def test_layer_complexity_crosses_at_n_equals_d():
    at = layer_complexity(64, 64)
    assert at["self-attention"]["operations"] == at["recurrent"]["operations"]
    shorter, longer = layer_complexity(32, 64), layer_complexity(128, 64)
    assert shorter["self-attention"]["operations"] < shorter["recurrent"]["operations"]
    assert longer["self-attention"]["operations"] > longer["recurrent"]["operations"]
    assert longer["recurrent"]["sequential operations"] == longer["recurrent"]["maximum path length"] == 128
    assert longer["self-attention"]["sequential operations"] == longer["self-attention"]["maximum path length"] == 1


def test_layer_complexity_matches_counted_flops():
    from torch.utils.flop_counter import FlopCounterMode

    n, d = 12, 8
    attention_flops = layer_complexity(n, d)["self-attention"]["operations"]
    from course_lib.multihead import MultiHeadAttention

    x = torch.randn(1, n, d)
    with FlopCounterMode(display=False) as counter:
        MultiHeadAttention(d, 2)(x, x, x)
    assert counter.get_total_flops() == attention_flops  # matmuls only: 2 per multiply-add
    gru_flops = layer_complexity(n, d)["recurrent"]["operations"]
    assert gru_flops == n * 2 * (2 * d * 3 * d)  # per step: input and hidden maps to 3 gates


def test_peak_memory_counts_live_tensors_only():
    x = torch.randn(64, 32)
    assert peak_memory(lambda: (torch.ones(256, dtype=torch.float64) * 2).sum()) == 2 * 256 * 8

    def two_then_one():
        a = x @ x.T  # 64 x 64 floats
        b = a.T.contiguous()  # a copy while a is alive
        del a
        return b * 2  # a is gone: b and the result
    assert peak_memory(two_then_one) == 2 * 64 * 64 * 4
    assert peak_memory(lambda: x.T) == 0  # a view allocates nothing


def test_layer_costs_attention_memory_grows_quadratically():
    small, large = layer_costs(64, 16, repeats=1), layer_costs(256, 16, repeats=1)
    for costs in (small, large):
        assert set(costs) == {"self-attention", "recurrent"}
        assert all(type(cost) is LayerCost and cost.seconds > 0 for cost in costs.values())
    attention_growth = large["self-attention"].peak_bytes / small["self-attention"].peak_bytes
    gru_growth = large["recurrent"].peak_bytes / small["recurrent"].peak_bytes
    assert 10 < attention_growth <= 16 and 3 < gru_growth <= 4.5  # 4x longer: ~16x against ~4x
    assert large["self-attention"].peak_bytes >= 2 * 256 * 256 * 4  # scores and weights, n x n each


def test_crossover_length_returns_a_measured_length_or_none():
    found = crossover_length(8, lengths=(4, 1024), repeats=1)
    assert found in (4, 1024, None)


# --- errors a learner meets -----------------------------------------------------------------------


def test_errors_for_bad_inputs():
    with pytest.raises(ValueError, match="not divisible"):
        Transformer(10, 10, d_model=30, num_heads=4)
    with pytest.raises(ValueError, match="not divisible"):
        EncoderLayer(30, 4, 60)
    model = small_model()
    with pytest.raises(ValueError, match="max_len=40"):
        model(torch.ones(1, 41, dtype=torch.long), torch.ones(1, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="max_len=40"):
        model(torch.ones(1, 3, dtype=torch.long), torch.ones(1, 41, dtype=torch.long))
    src = torch.ones(2, 5, dtype=torch.long)
    with pytest.raises(TypeError, match="bool"):
        model.encode(src, torch.ones(2, 1, 1, 5))  # a float 0/1 mask
    with pytest.raises(TypeError, match="bool"):
        EncoderLayer(16, 4, 32)(torch.randn(2, 5, 16), torch.ones(2, 1, 1, 5, dtype=torch.long))
    with pytest.raises(TypeError, match="token ids"):
        model(src.double(), src)
    with pytest.raises(ValueError, match="unsqueeze"):
        model(src[0], src)
    with pytest.raises(ValueError, match="share_embeddings"):
        Transformer(10, 12, share_embeddings=True)
    with pytest.raises(ValueError, match="positive int"):
        causal_mask(0)


# --- the drawing ----------------------------------------------------------------------------------


def test_draw_transformer_labels_every_part():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = draw_transformer()
    texts = " ".join(text.get_text() for text in ax.texts)
    for part in ("multi-head\nself-attention", "masked multi-head", "cross-attention", "feed forward",
                 "Add & Norm", "positional", "√d_model", "N ×", "linear", "softmax", "shifted right"):
        assert part in texts, part
    assert sum(text.get_text() == "Add & Norm" for text in ax.texts) == 5  # 2 encoder + 3 decoder
    plt.close(ax.figure)
