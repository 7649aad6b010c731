"""Tests of course_lib.rnn_seq2seq.GRUTranslator: the Transformer's interface and shapes, padding
that changes nothing, causality, the memory mask, a hand-written forward pass, training, errors."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.decoding import greedy_decode
from course_lib.rnn_seq2seq import GRUTranslator
from course_lib.training import train
from course_lib.transformer import padding_mask, target_mask
from course_lib.translation import label_smoothed_cross_entropy, translation_loss

SRC_VOCAB, TGT_VOCAB, D = 13, 11, 8


@pytest.fixture
def model() -> GRUTranslator:
    torch.manual_seed(0)
    return GRUTranslator(SRC_VOCAB, TGT_VOCAB, D).eval()


def ids(*rows: list[int]) -> torch.Tensor:
    """Right-padded (batch, longest) ids."""
    width = max(map(len, rows))
    return torch.tensor([row + [0] * (width - len(row)) for row in rows])


SRC = ids([5, 6, 7, 8, 2], [9, 2], [4, 4, 10, 2])
TGT = ids([1, 3, 4, 5], [1, 6], [1, 7, 8])


def test_shapes_and_the_transformer_interface(model):
    assert model.pad_id == 0
    src_mask = padding_mask(SRC, 0)
    memory = model.encode(SRC, src_mask)
    assert memory.shape == (3, 5, D)
    logits = model.decode(TGT, memory, target_mask(TGT, 0), src_mask)
    assert logits.shape == (3, 4, TGT_VOCAB)
    torch.testing.assert_close(model(SRC, TGT), logits)
    # the target mask is not needed: a GRU cannot look ahead
    torch.testing.assert_close(model.decode(TGT, memory, None, src_mask), logits)


def test_padding_changes_no_real_position(model):
    full = model(SRC, TGT)
    for row in range(3):
        src_len, tgt_len = int((SRC[row] != 0).sum()), int((TGT[row] != 0).sum())
        alone = model(SRC[row : row + 1, :src_len], TGT[row : row + 1, :tgt_len])
        torch.testing.assert_close(full[row : row + 1, :tgt_len], alone, atol=1e-6, rtol=1e-5)
        padded_more = model(F.pad(SRC[row : row + 1, :src_len], (0, 6)), F.pad(TGT[row : row + 1, :tgt_len], (0, 3)))
        torch.testing.assert_close(padded_more[:, :tgt_len], alone, atol=1e-6, rtol=1e-5)


def test_decoding_is_causal_and_a_prefix_gives_the_same_logits(model):
    memory = model.encode(SRC)
    mask = padding_mask(SRC, 0)
    full = model.decode(TGT, memory, None, mask)
    changed = TGT.clone()
    changed[:, -1] = 9
    torch.testing.assert_close(model.decode(changed, memory, None, mask)[:, :-1], full[:, :-1])
    for length in (1, 2):  # what a greedy decoder sees, one token longer each step
        torch.testing.assert_close(model.decode(TGT[:, :length], memory, None, mask), full[:, :length])


def test_attention_ignores_the_memory_under_the_mask(model):
    memory = model.encode(SRC)
    mask = padding_mask(SRC, 0)
    noisy = torch.where(mask[:, 0, 0, :, None], memory, 100 * torch.randn_like(memory))
    torch.testing.assert_close(model.decode(TGT, noisy, None, mask), model.decode(TGT, memory, None, mask))


@pytest.mark.parametrize("poison", [float("inf"), float("nan")])
def test_an_inf_or_nan_under_the_mask_reaches_neither_the_initial_state_nor_the_context(model, poison):
    memory = model.encode(SRC)
    mask = padding_mask(SRC, 0)
    poisoned = torch.where(mask[:, 0, 0, :, None], memory, poison)
    torch.testing.assert_close(model.decode(TGT, poisoned, None, mask), model.decode(TGT, memory, None, mask))


def test_matches_a_step_by_step_computation(model):
    """Luong et al. (2015) global attention with the "general" score, written one step at a time."""
    src, tgt = SRC[1:2, :2], TGT[1:2, :2]
    emb = model.src_embed(src)[0]
    forward_gru, backward_gru = torch.nn.GRUCell(D, D), torch.nn.GRUCell(D, D)
    for cell, suffix in ((forward_gru, ""), (backward_gru, "_reverse")):
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).data = getattr(model.encoder_rnn, f"{name}_l0{suffix}").data
    h_f, h_b, forward_states, backward_states = torch.zeros(D), torch.zeros(D), [], []
    for t in range(2):
        h_f = forward_gru(emb[t], h_f)
        h_b = backward_gru(emb[1 - t], h_b)
        forward_states.append(h_f)
        backward_states.insert(0, h_b)
    memory = model.encoder_projection(torch.cat([torch.stack(forward_states), torch.stack(backward_states)], -1))
    torch.testing.assert_close(model.encode(src)[0], memory)
    decoder = torch.nn.GRUCell(D, D)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(decoder, name).data = getattr(model.decoder_rnn, f"{name}_l0").data
    h = torch.tanh(model.initial_state(memory.mean(0)))
    for t in range(2):
        h = decoder(model.tgt_embed(tgt)[0, t], h)
        weights = torch.softmax(memory @ model.attention_score(h), dim=0)
        context = weights @ memory
        logits = model.output_projection(torch.tanh(model.combine(torch.cat([context, h]))))
        torch.testing.assert_close(model(src, tgt)[0, t], logits)


def test_trains_with_the_translation_loss():
    torch.manual_seed(0)
    model = GRUTranslator(SRC_VOCAB, TGT_VOCAB, 16, dropout=0.0)
    tgt_out = ids([3, 4, 5, 2], [6, 2], [7, 8, 2])
    batch = (SRC, TGT, tgt_out)
    before = translation_loss(model, batch).item()
    train(model, lambda step: batch, translation_loss, steps=60, lr=1e-2, plot=False)
    model.eval()
    assert translation_loss(model, batch).item() < 0.5 * before
    assert torch.equal(model(SRC, TGT).argmax(-1)[tgt_out != 0], tgt_out[tgt_out != 0])  # memorised
    assert label_smoothed_cross_entropy(model(SRC, TGT), tgt_out, 0.0).item() < 0.2


def test_dropout_acts_in_train_mode_only_and_the_decoders_turn_it_off():
    torch.manual_seed(1)
    model = GRUTranslator(SRC_VOCAB, TGT_VOCAB, D, dropout=0.5).train()
    assert not torch.equal(model(SRC, TGT), model(SRC, TGT)), "dropout should act in train mode"
    model.eval()
    torch.testing.assert_close(model(SRC, TGT), model(SRC, TGT), atol=0, rtol=0)
    expected = greedy_decode(model, SRC, max_len=6)
    assert expected.shape[0] == 3 and expected.dtype == torch.long
    assert torch.equal(greedy_decode(model.train(), SRC, max_len=6), expected) and model.training


def test_errors(model):
    with pytest.raises(ValueError, match="padded on the right"):
        model.encode(torch.tensor([[0, 5, 2]]))
    with pytest.raises(ValueError, match="all padding"):
        model.encode(torch.tensor([[5, 2], [0, 0]]))
    with pytest.raises(TypeError, match="integer token ids"):
        model(SRC.float(), TGT)
    with pytest.raises(ValueError, match="memory_mask"):
        model.decode(TGT, model.encode(SRC), None, padding_mask(SRC, 0)[:, :, :, :3])
    with pytest.raises(ValueError, match="d_model must be a positive int"):
        GRUTranslator(SRC_VOCAB, TGT_VOCAB, 0)
