"""Tests of course_lib.dynamic_masking: static masks repeat (k copies, visit n gets copy n mod k,
whatever the padding), dynamic masks do not, both keep mask_tokens' 15% / 80-10-10 statistics,
span masks can be static too, the held-out MLM loss equals the model's own loss on the same masks,
and the errors a learner meets."""

from __future__ import annotations

import functools

import pytest
import torch

from course_lib import mini_bert as mb
from course_lib.bert import BertConfig, BertForPreTraining
from course_lib.dynamic_masking import StaticMasking, distinct_masks, epoch_masks, heldout_mlm_loss, static_masks
from course_lib.pretraining import IGNORE_INDEX, bert_inputs, collate, mask_tokens
from course_lib.span_masking import span_mask_tokens

VOCAB, MASK = 1000, 4


def rows(n: int = 64, length: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n rows of [CLS] tokens [SEP] padding, of varied lengths."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, VOCAB, (n, length), generator=g)
    special = torch.zeros_like(ids)
    for row in range(n):
        end = int(torch.randint(length // 2, length, (1,), generator=g))
        ids[row, 0], ids[row, end] = 2, 3
        ids[row, end + 1:] = 0
        special[row, 0], special[row, end:] = 1, 1
    return ids, special


def assert_bert_statistics(ids: torch.Tensor, special: torch.Tensor, inputs: torch.Tensor, labels: torch.Tensor):
    """15% of the maskable tokens chosen; of those 80% [MASK], 10% random, 10% kept (4 standard errors)."""
    chosen = labels != IGNORE_INDEX
    maskable = int((special == 0).sum())
    n = int(chosen.sum())
    assert not chosen[special.bool()].any() and torch.equal(labels[chosen], ids[chosen])
    assert abs(n / maskable - 0.15) < 4 * (0.15 * 0.85 / maskable) ** 0.5
    masked = int((inputs[chosen] == MASK).sum())
    kept = int((inputs[chosen] == ids[chosen]).sum())
    for count, share in ((masked, 0.8), (kept, 0.1 + 0.1 / VOCAB), (n - masked - kept, 0.1)):
        assert abs(count / n - share) < 4 * (share * (1 - share) / n) ** 0.5


def test_static_masks_are_k_independent_draws_of_mask_tokens():
    ids, special = rows()
    inputs, labels = static_masks(ids, special, VOCAB, MASK, torch.Generator().manual_seed(0), duplicates=10)
    assert inputs.shape == labels.shape == (10, *ids.shape) and inputs.dtype == labels.dtype == torch.long
    reference = mask_tokens(ids.repeat(10, 1), special.repeat(10, 1), VOCAB, MASK, torch.Generator().manual_seed(0))
    assert torch.equal(inputs.flatten(0, 1), reference[0]) and torch.equal(labels.flatten(0, 1), reference[1])
    assert_bert_statistics(ids.repeat(10, 1), special.repeat(10, 1), inputs.flatten(0, 1), labels.flatten(0, 1))
    chosen = labels != IGNORE_INDEX
    assert all(not torch.equal(chosen[0, row], chosen[1, row]) for row in range(len(ids)))  # copies differ


def test_static_masking_repeats_every_k_visits_and_dynamic_does_not():
    ids, special = rows(16, length=200)  # two masks of 100+ tokens coincide with probability < 0.75 ** 100
    static = epoch_masks(StaticMasking(duplicates=10), ids, special, VOCAB, MASK, 40, torch.Generator().manual_seed(1))
    dynamic = epoch_masks(mask_tokens, ids, special, VOCAB, MASK, 40, torch.Generator().manual_seed(1))
    assert static.shape == dynamic.shape == (40, *ids.shape)
    for epoch in range(10, 40):
        assert torch.equal(static[epoch], static[epoch % 10])  # each of the 10 masks seen 4 times over 40 epochs
    assert distinct_masks(static).tolist() == [10] * 16
    assert distinct_masks(dynamic).tolist() == [40] * 16
    assert all(not torch.equal(dynamic[e], dynamic[e + 1]) for e in range(39))


def test_a_sequence_keeps_its_masks_whatever_its_padding_and_place_in_the_batch():
    ids, special = rows(8)
    masking = StaticMasking(duplicates=3)
    g = torch.Generator().manual_seed(2)
    first = masking(ids, special, VOCAB, MASK, g)
    padded_ids = torch.cat([ids, torch.zeros(8, 7, dtype=torch.long)], 1).flip(0)  # longer rows, reversed order
    padded_special = torch.cat([special, torch.ones(8, 7, dtype=torch.long)], 1).flip(0)
    masking(padded_ids, padded_special, VOCAB, MASK, g)
    masking(ids, special, VOCAB, MASK, g)
    fourth = masking(padded_ids, padded_special, VOCAB, MASK, g)  # visit 3: copy 0 again
    assert masking.n_sequences == 8
    for a, b in zip(first, fourth):
        assert torch.equal(b.flip(0)[:, :40], a) and (b[:, 40:] == (0 if b is fourth[0] else IGNORE_INDEX)).all()


def test_static_masking_keeps_the_statistics():
    ids, special = rows(400, seed=3)
    inputs, labels = StaticMasking(duplicates=2)(ids, special, VOCAB, MASK, torch.Generator().manual_seed(3))
    assert_bert_statistics(ids, special, inputs, labels)


def test_collate_is_dynamic_and_static_span_masks_work():
    examples = [bert_inputs(list(range(10 + i, 40 + i)), list(range(50, 70)), 64, 2, 3, 0) for i in range(4)]
    g = torch.Generator().manual_seed(4)
    one, two = (collate(examples, vocab_size=VOCAB, mask_token_id=MASK, generator=g)["labels"] for _ in range(2))
    assert not torch.equal(one, two)  # a fresh mask at every call: the mask is not made once, up front
    span_fn = functools.partial(span_mask_tokens, is_continuation=None)
    ids, special = rows(8)
    chosen = epoch_masks(StaticMasking(4, mask_fn=span_fn), ids, special, VOCAB, MASK, 8, g)
    assert torch.equal(chosen[:4], chosen[4:]) and distinct_masks(chosen).tolist() == [4] * 8


def test_heldout_loss_is_the_models_mlm_loss_on_the_same_masks():
    tokenizer = mb.train_vocabulary(400)
    dataset = mb.pretraining_dataset(tokenizer, "validation", n_documents=20)
    torch.manual_seed(0)
    model = BertForPreTraining(BertConfig(vocab_size=len(tokenizer), hidden_size=16, num_hidden_layers=1,
                                          num_attention_heads=2, intermediate_size=32, max_position_embeddings=64))
    loss = heldout_mlm_loss(model, dataset, n=100, seed=5)
    batch = next(mb.evaluation_batches(dataset, 100, 5, vocab_size=len(tokenizer), mask_fn=mask_tokens))
    with torch.no_grad():
        expected = model.eval()(batch["input_ids"], batch["token_type_ids"], batch["attention_mask"],
                                batch["labels"]).mlm_loss
    assert loss == pytest.approx(float(expected), rel=1e-5)
    assert heldout_mlm_loss(model, dataset, n=100, seed=5) == loss  # the same masks every time
    assert heldout_mlm_loss(model, dataset, n=100, seed=6) != loss


def test_errors_say_what_to_pass():
    ids, special = rows(2)
    g = torch.Generator()
    with pytest.raises(ValueError, match="duplicates must be a positive int"):
        StaticMasking(duplicates=0)
    with pytest.raises(ValueError, match="duplicates must be a positive int"):
        static_masks(ids, special, VOCAB, MASK, g, duplicates=0)
    with pytest.raises(ValueError, match="shaped like input_ids"):
        static_masks(ids, special[:, :-1], VOCAB, MASK, g)
    with pytest.raises(ValueError, match="shaped like input_ids"):
        StaticMasking()(ids, special[:1], VOCAB, MASK, g)
    with pytest.raises(TypeError, match="torch.Generator"):
        StaticMasking()(ids, special, VOCAB, MASK, 0)
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        epoch_masks(mask_tokens, ids, special, VOCAB, MASK, 0, g)
    with pytest.raises(ValueError, match=r"bool tensor \(epochs, batch, seq\)"):
        distinct_masks(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="mlm_probability"):
        static_masks(ids, special, VOCAB, MASK, g, mlm_probability=1.5)
