"""Tests of course_lib.transformer: against torch.nn.Transformer with copied weights, the masks'
shapes and polarity, what the causal and padding masks guarantee, and the errors a learner meets.
The parameter counts are tested in test_parameters.py, Table 1 in test_complexity.py, the drawing in
test_viz_transformer.py."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.multihead import to_torch_attn_mask, to_torch_key_padding_mask
from course_lib.positional import sinusoidal_encoding
from course_lib.transformer import (
    DecoderLayer,
    Encoder,
    EncoderLayer,
    PositionwiseFeedForward,
    Transformer,
    causal_mask,
    copy_from_torch,
    padding_mask,
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
