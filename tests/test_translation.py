"""Tests of course_lib.translation: batches against hand-built ids, the smoothed loss against
torch's cross_entropy, the warm-up schedule against the paper's formula (also through LambdaLR and
the course training loop), translate with a stand-in decoder, and the cross-attention weights of a
teacher-forced batch."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from course_lib.data import Vocabulary
from course_lib.training import train
from course_lib.transformer import Transformer
from course_lib.translation import (
    batches,
    cross_attention_weights,
    label_smoothed_cross_entropy,
    make_batch,
    transformer_learning_rate,
    translate,
    translation_loss,
    warmup_scheduler,
)

PAIRS = [
    {"en": "The cat sleeps.", "fr": "Le chat dort."},
    {"en": "The small dog eats the apple.", "fr": "Le petit chien mange la pomme."},
    {"en": "I eat.", "fr": "Je mange."},
]
EN = Vocabulary.build(p["en"] for p in PAIRS)
FR = Vocabulary.build(p["fr"] for p in PAIRS)


# --- make_batch -----------------------------------------------------------------------------------


def test_make_batch_shifts_the_target_and_pads_on_the_right():
    src, tgt_in, tgt_out = make_batch(PAIRS, EN, FR)
    assert src.dtype == tgt_in.dtype == tgt_out.dtype == torch.long
    assert src.shape == (3, 8) and tgt_in.shape == tgt_out.shape == (3, 8)  # longest: 7 tokens + 1
    for row, pair in enumerate(PAIRS):
        source, target = EN.encode(pair["en"]), FR.encode(pair["fr"])
        assert src[row].tolist() == source + [2] + [0] * (7 - len(source))
        assert tgt_in[row].tolist() == [1] + target + [0] * (7 - len(target))
        assert tgt_out[row].tolist() == target + [2] + [0] * (7 - len(target))
    real = tgt_in[:, 1:] != 0  # tgt_in is tgt_out shifted right by one
    assert torch.equal(tgt_in[:, 1:][real], tgt_out[:, :-1][real])


def test_make_batch_pads_to_the_longest_in_the_batch_and_other_keys():
    src, tgt_in, _ = make_batch(PAIRS[2:], EN, FR)
    assert src.shape == (1, 4) and tgt_in.shape == (1, 4)  # "I eat ." + </s>; <s> + "Je mange ."
    src, tgt_in, _ = make_batch(PAIRS, FR, EN, src_key="fr", tgt_key="en")
    assert src[0].tolist()[:5] == FR.encode("Le chat dort.", add_eos=True)
    assert tgt_in[0].tolist()[:5] == EN.encode("The cat sleeps.", add_bos=True)


def test_make_batch_errors():
    with pytest.raises(ValueError, match="empty"):
        make_batch([], EN, FR)
    with pytest.raises(ValueError, match="'en' and 'fr'"):
        make_batch([{"english": "x", "fr": "y"}], EN, FR)
    with pytest.raises(TypeError, match="Vocabulary"):
        make_batch(PAIRS, {"the": 4}, FR)


# --- label_smoothed_cross_entropy ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(5,), (4, 7), (3, 6, 11), (2, 3, 4, 9)])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_loss_equals_torch_cross_entropy(shape, smoothing):
    generator = torch.Generator().manual_seed(sum(shape))
    *positions, vocab = shape
    for pad_id in (0, 2):
        logits = torch.randn(shape, generator=generator, dtype=torch.float64) * 3
        target = torch.randint(0, vocab, positions, generator=generator)
        target.view(-1)[0] = (pad_id + 1) % vocab  # at least one real position
        expected = F.cross_entropy(
            logits.reshape(-1, vocab), target.reshape(-1), label_smoothing=smoothing, ignore_index=pad_id
        )
        ours = label_smoothed_cross_entropy(logits, target, smoothing, pad_id)
        assert ours.shape == ()
        torch.testing.assert_close(ours, expected, atol=1e-6, rtol=0)
        in_float32 = label_smoothed_cross_entropy(logits.float(), target, smoothing, pad_id)
        torch.testing.assert_close(in_float32, expected.float(), atol=1e-6, rtol=1e-6)


def test_loss_by_hand_and_its_gradient():
    logits = torch.tensor([[2.0, 0.0, -1.0, 0.5]], requires_grad=True)
    target = torch.tensor([2])
    log_p = torch.log_softmax(logits.detach(), -1)[0]
    smoothed = torch.full((4,), 0.1 / 4)
    smoothed[2] += 0.9  # 1 - 0.1 + 0.1 / 4 on the right token
    loss = label_smoothed_cross_entropy(logits, target, 0.1)
    assert loss.item() == pytest.approx(-(smoothed * log_p).sum().item(), abs=1e-6)
    loss.backward()  # the gradient of cross-entropy is softmax minus the target distribution
    torch.testing.assert_close(logits.grad[0], log_p.exp() - smoothed)


def test_loss_ignores_padding_and_its_logits():
    logits = torch.randn(2, 5, 8)
    target = torch.tensor([[4, 5, 2, 0, 0], [6, 2, 0, 0, 0]])
    changed = logits.clone()
    changed[target == 0] = 1e4 * torch.randn_like(changed[target == 0])
    loss = label_smoothed_cross_entropy(logits, target)
    torch.testing.assert_close(label_smoothed_cross_entropy(changed, target), loss)
    # the mean is over the 5 real tokens, not the 10 positions nor per sentence
    per_token = F.cross_entropy(logits.reshape(-1, 8), target.reshape(-1), label_smoothing=0.1, reduction="none")
    assert loss.item() == pytest.approx(per_token[target.reshape(-1) != 0].sum().item() / 5, abs=1e-6)


def test_loss_of_all_padding_raises():
    with pytest.raises(ValueError, match="every target position is padding"):
        label_smoothed_cross_entropy(torch.randn(2, 3, 5), torch.zeros(2, 3, dtype=torch.long))


def test_loss_errors():
    logits, target = torch.randn(2, 3, 5), torch.ones(2, 3, dtype=torch.long)
    with pytest.raises(ValueError, match="target's shape"):
        label_smoothed_cross_entropy(logits, target[:, :2])
    with pytest.raises(TypeError, match="long"):
        label_smoothed_cross_entropy(logits, target.float())
    with pytest.raises(TypeError, match="floating-point"):
        label_smoothed_cross_entropy(target, target)
    with pytest.raises(ValueError, match="smoothing"):
        label_smoothed_cross_entropy(logits, target, smoothing=1.0)
    with pytest.raises(ValueError, match=r"\[0, 5\)"):
        label_smoothed_cross_entropy(logits, target * 5)


# --- the learning-rate schedule -----------------------------------------------------------------


def test_learning_rate_formula_and_peak():
    for step in (1, 10, 3999, 4000, 4001, 100000):
        expected = 512**-0.5 * min(step**-0.5, step * 4000**-1.5)
        assert transformer_learning_rate(step, 512) == pytest.approx(expected, rel=1e-12)
    rates = [transformer_learning_rate(s, 128, warmup=300) for s in range(1, 2001)]
    assert max(rates) == rates[299] == pytest.approx((128 * 300) ** -0.5)  # the peak is at step = warmup
    assert rates[0] == pytest.approx(rates[299] / 300)  # linear rise
    assert rates[1199] == pytest.approx(rates[299] / 2)  # 1 / sqrt(step) after it


@pytest.mark.parametrize(
    "step, d_model, warmup", [(0, 512, 4000), (-3, 512, 4000), (1.5, 512, 4000), (1, 0, 4000), (1, 512, 0)]
)
def test_learning_rate_errors(step, d_model, warmup):
    with pytest.raises(ValueError, match="positive int"):
        transformer_learning_rate(step, d_model, warmup)


@pytest.mark.parametrize("initial_lr", [1.0, 1e-3])
def test_warmup_scheduler_gives_step_s_the_rate_of_step_s(initial_lr):
    weight = torch.nn.Parameter(torch.zeros(3))
    optimizer = torch.optim.Adam([weight], lr=initial_lr, betas=(0.9, 0.98), eps=1e-9)
    scheduler = warmup_scheduler(optimizer, d_model=64, warmup=5, scale=2.0)
    for step in range(1, 13):  # the lr in force during optimizer step number `step`
        assert optimizer.param_groups[0]["lr"] == pytest.approx(2.0 * transformer_learning_rate(step, 64, 5), rel=1e-12)
        weight.sum().backward()
        optimizer.step()
        scheduler.step()


def test_warmup_scheduler_inside_the_course_training_loop():
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = warmup_scheduler(optimizer, d_model=16, warmup=3)
    seen = []

    def loss_fn(model, batch):
        seen.append(optimizer.param_groups[0]["lr"])
        return model.weight.sum()

    train(model, lambda step: None, loss_fn, steps=6, optimizer=optimizer, scheduler=scheduler, plot=False)
    assert seen == pytest.approx([transformer_learning_rate(s, 16, 3) for s in range(1, 7)], rel=1e-12)


def test_warmup_scheduler_errors():
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    with pytest.raises(ValueError, match="scale"):
        warmup_scheduler(optimizer, 64, 100, scale=0.0)
    with pytest.raises(ValueError, match="warmup"):
        warmup_scheduler(optimizer, 64, 0)


# --- batches, translation_loss, translate ---------------------------------------------------------


ROWS = [{"en": f"The cat sleeps {i}.", "fr": f"Le chat dort {i}."} for i in range(10)]
EN10 = Vocabulary.build(r["en"] for r in ROWS)
FR10 = Vocabulary.build(r["fr"] for r in ROWS)


def numbers(batch) -> list[int]:
    """Which rows of ROWS a batch holds (the number is the source's fourth token)."""
    return sorted(int(EN10.id_to_token(i)) for i in batch[0][:, 3].tolist())


def test_batches_are_shuffled_epochs_and_deterministic():
    get = batches(ROWS, EN10, FR10, batch_size=3, seed=7)
    epoch0 = [numbers(get(step)) for step in range(3)]  # 10 // 3 = 3 batches per epoch
    assert all(len(rows) == 3 for rows in epoch0)
    assert len({row for rows in epoch0 for row in rows}) == 9  # no row twice in an epoch
    assert [numbers(get(step)) for step in range(3, 6)] != epoch0  # a new order next epoch
    again = batches(ROWS, EN10, FR10, batch_size=3, seed=7)
    for step in (5, 0, 11):  # any order of access gives the same batches
        assert all(torch.equal(x, y) for x, y in zip(get(step), again(step), strict=True))
    other = batches(ROWS, EN10, FR10, batch_size=3, seed=8)
    assert [numbers(other(step)) for step in range(3)] != epoch0
    assert numbers(batches(ROWS[:2], EN10, FR10, batch_size=4)(5)) == [0, 1]  # fewer rows than a batch


def test_batches_use_the_collate_function_they_are_given():
    seen = []

    def collate(rows, src_vocab, tgt_vocab):
        seen.append([row["en"] for row in rows])
        return make_batch(rows, src_vocab, tgt_vocab)

    get = batches(ROWS, EN10, FR10, batch_size=3, seed=7, collate=collate)
    expected = batches(ROWS, EN10, FR10, batch_size=3, seed=7)
    assert all(torch.equal(x, y) for x, y in zip(get(4), expected(4), strict=True))
    assert len(seen) == 1 and len(seen[0]) == 3


def test_batches_errors():
    with pytest.raises(ValueError, match="batch_size"):
        batches(ROWS, EN10, FR10, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        batches([], EN10, FR10, batch_size=2)


def test_translation_loss_trains_a_transformer_with_the_course_loop():
    torch.manual_seed(0)
    model = Transformer(len(EN10), len(FR10), d_model=16, num_heads=2, num_layers=1, d_ff=32, dropout=0.0)
    batch = make_batch(ROWS[:4], EN10, FR10)
    src, tgt_in, tgt_out = batch
    expected = F.cross_entropy(model(src, tgt_in).reshape(-1, len(FR10)), tgt_out.reshape(-1), label_smoothing=0.1)
    torch.testing.assert_close(translation_loss(model, batch), expected)
    history = train(model, batches(ROWS, EN10, FR10, 4), translation_loss, steps=60, lr=3e-3, plot=False)
    assert sum(history.losses[-5:]) < 0.6 * sum(history.losses[:5])


class Echo(torch.nn.Module):
    """A stand-in model: its 'translation' of each source id i is target id i (same vocabulary)."""

    pad_id = 0


def echo_decode(model, src):
    assert not model.training and not torch.is_grad_enabled()
    return src  # ends with </s> and padding, like a decoder's output


def test_translate_encodes_pads_decodes_and_restores_the_mode():
    model = Echo().train()
    sentences = [r["en"] for r in ROWS]
    seen = []

    def decode(model, src):
        seen.append(src.shape)
        return echo_decode(model, src)

    assert translate(model, sentences, EN10, EN10, decode, batch_size=4) == sentences
    assert seen == [(4, 6), (4, 6), (2, 6)]
    assert model.training
    assert translate(model.eval(), ["The dog sleeps 3."], EN10, EN10, echo_decode) == ["The <unk> sleeps 3."]
    assert not model.training
    assert translate(model, [], EN10, EN10, echo_decode) == []


def test_translate_errors():
    with pytest.raises(TypeError, match="list of strings"):
        translate(Echo(), "The cat sleeps.", EN10, EN10, echo_decode)
    with pytest.raises(ValueError, match="one row per sentence"):
        translate(Echo(), ["The cat sleeps."], EN10, EN10, lambda m, src: src[0])


# --- cross-attention weights ------------------------------------------------------------------------


def small_translator(num_layers: int = 3, max_len: int = 40) -> Transformer:
    """A randomly initialised float64 Transformer for EN -> FR, 4 heads, in training mode (dropout 0.1)."""
    torch.manual_seed(2)
    return Transformer(len(EN), len(FR), d_model=16, num_heads=4, num_layers=num_layers, d_ff=32, dropout=0.1,
                       max_len=max_len).double()


def test_cross_attention_weights_are_alignments_over_real_source_tokens():
    model = small_translator()
    src, tgt_in, _ = make_batch(PAIRS, EN, FR)
    weights = cross_attention_weights(model, src, tgt_in)
    assert weights.shape == (3, 3, 4, tgt_in.shape[1], src.shape[1])
    real = (src != EN.pad_id)[None, :, None, None, :]
    assert not real.all(), "the batch should have padded sources"
    torch.testing.assert_close(weights.sum(-1), torch.ones(weights.shape[:-1], dtype=torch.float64))
    assert (weights.masked_select(~real.expand_as(weights)) == 0).all()
    assert not weights.requires_grad and model.training
    assert all(not layer.cross_attn._forward_hooks for layer in model.decoder.layers)


def test_cross_attention_weights_apply_no_dropout():
    model = small_translator()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.5
    src, tgt_in, _ = make_batch(PAIRS, EN, FR)
    in_train_mode = cross_attention_weights(model.train(), src, tgt_in)
    assert torch.equal(in_train_mode, cross_attention_weights(model.eval(), src, tgt_in))


def test_cross_attention_weights_errors_and_hooks_removed_on_error():
    model = small_translator(max_len=5)
    src, tgt_in, _ = make_batch(PAIRS, EN, FR)
    with pytest.raises(ValueError, match="max_len=5"):
        cross_attention_weights(model, src, torch.ones(3, 6, dtype=torch.long))
    assert all(not layer.cross_attn._forward_hooks for layer in model.decoder.layers)
    with pytest.raises(ValueError, match="same number of sentences"):
        cross_attention_weights(model, src, tgt_in[:2])
    with pytest.raises(TypeError, match="course_lib.transformer.Transformer"):
        cross_attention_weights(Echo(), src, tgt_in)
