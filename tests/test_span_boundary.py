"""Tests of course_lib.span_boundary: the spans found from labels, the head against the paper's
equations written out here, that the SBO reads exactly the states at s-1 and e+1 (perturbing or
differentiating any other position leaves it unchanged), the relative positions, the tied output
layer, MLM + SBO as the loss, a few steps of pretraining with mini_bert's loop and span masks, and
the errors a learner meets."""

from __future__ import annotations

import functools

import pytest
import torch
import torch.nn.functional as F

from course_lib import mini_bert as mb
from course_lib.bert import BertConfig
from course_lib.pretraining import IGNORE_INDEX, mlm_loss
from course_lib.span_boundary import (
    SpanBertForPreTraining,
    SpanBoundaryHead,
    sbo_accuracy,
    span_bert_loss,
    span_boundaries,
)
from course_lib.span_masking import continuation_table, span_mask_tokens

HIDDEN, VOCAB = 16, 50
CONFIG = BertConfig(vocab_size=VOCAB, hidden_size=HIDDEN, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=32, hidden_dropout_prob=0.0)


def make_labels() -> torch.Tensor:
    """Row 0: spans 2..4 and 6; row 1: spans 1 and 3..8 (rows of 10)."""
    labels = torch.full((2, 10), IGNORE_INDEX)
    labels[0, 2:5], labels[0, 6], labels[1, 1], labels[1, 3:9] = 7, 3, 5, 1
    return labels


def test_span_boundaries_of_each_masked_position():
    t = span_boundaries(make_labels())
    assert t.batch_index.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1]
    assert t.position.tolist() == [2, 3, 4, 6, 1, 3, 4, 5, 6, 7, 8]
    assert t.left.tolist() == [1, 1, 1, 5, 0, 2, 2, 2, 2, 2, 2]
    assert t.right.tolist() == [5, 5, 5, 7, 2, 9, 9, 9, 9, 9, 9]
    assert t.offset.tolist() == [0, 1, 2, 0, 0, 0, 1, 2, 3, 4, 5]


def test_span_boundaries_on_random_masks_by_brute_force():
    g = torch.Generator().manual_seed(0)
    labels = torch.where(torch.rand(20, 30, generator=g) < 0.4, 1, IGNORE_INDEX)
    labels[:, [0, -1]] = IGNORE_INDEX
    t = span_boundaries(labels)
    for b, i, left, right, offset in zip(*(x.tolist() for x in (t.batch_index, t.position, t.left, t.right, t.offset))):
        row = labels[b].tolist()
        s = i
        while row[s - 1] != IGNORE_INDEX:
            s -= 1
        e = i
        while row[e + 1] != IGNORE_INDEX:
            e += 1
        assert (left, right, offset) == (s - 1, e + 1, i - s)


def reference_sbo(head: SpanBoundaryHead, hidden: torch.Tensor, spans: list[tuple[int, int, int, int]]) -> torch.Tensor:
    """Joshi et al. 2020, eq. 1-2, one masked token at a time: (row, s, e, i) -> logits."""
    out = []
    for row, s, e, i in spans:
        h0 = torch.cat([hidden[row, s - 1], hidden[row, e + 1], head.position_embeddings.weight[i - s]])
        h1 = F.layer_norm(F.gelu(h0 @ head.dense1.weight.T + head.dense1.bias), (HIDDEN,),
                          head.norm1.weight, head.norm1.bias, 1e-12)
        y = F.layer_norm(F.gelu(h1 @ head.dense2.weight.T + head.dense2.bias), (HIDDEN,),
                         head.norm2.weight, head.norm2.bias, 1e-12)
        out.append(y @ head.decoder.weight.T + head.decoder.bias)
    return torch.stack(out)


@pytest.fixture
def head() -> SpanBoundaryHead:
    torch.manual_seed(0)
    head = SpanBoundaryHead(HIDDEN, VOCAB, max_span_length=8)
    for norm in (head.norm1, head.norm2):  # not the identity, so the test sees them
        torch.nn.init.normal_(norm.weight, 1.0, 0.3)
        torch.nn.init.normal_(norm.bias, 0.0, 0.3)
    return head


def test_head_computes_the_papers_equations(head):
    hidden = torch.randn(2, 10, HIDDEN, generator=torch.Generator().manual_seed(1))
    labels = make_labels()
    spans = [(0, 2, 4, i) for i in (2, 3, 4)] + [(0, 6, 6, 6), (1, 1, 1, 1)] + [(1, 3, 8, i) for i in range(3, 9)]
    logits = head(hidden, labels)
    assert logits.shape == (11, VOCAB)
    torch.testing.assert_close(logits, reference_sbo(head, hidden, spans), rtol=1e-5, atol=1e-5)


def test_sbo_reads_exactly_the_states_just_outside_each_span(head):
    hidden = torch.randn(2, 10, HIDDEN, generator=torch.Generator().manual_seed(2))
    labels = make_labels()
    # the (row, position) each masked token's prediction must read: s - 1 and e + 1 of its span
    reads = [{(0, 1), (0, 5)}] * 3 + [{(0, 5), (0, 7)}, {(1, 0), (1, 2)}] + [{(1, 2), (1, 9)}] * 6
    base = head(hidden, labels)
    for row in range(2):
        for position in range(10):
            moved = hidden.clone()
            moved[row, position] += 5.0
            changed = ((head(moved, labels) - base).abs().amax(-1) > 1e-6).tolist()
            assert changed == [(row, position) in read for read in reads], (row, position)  # never s, e or inside


def test_gradients_reach_only_the_boundary_states(head):
    hidden = torch.randn(2, 10, HIDDEN, requires_grad=True)
    labels = make_labels()
    mlm_loss(head(hidden, labels), labels).backward()
    touched = hidden.grad.abs().sum(-1) > 0
    expected = torch.zeros(2, 10, dtype=torch.bool)
    expected[0, [1, 5, 7]] = True
    expected[1, [0, 2, 9]] = True
    assert torch.equal(touched, expected)
    assert head.position_embeddings.weight.grad[:6].abs().sum(-1).gt(0).all()  # offsets 0..5 were used
    assert head.position_embeddings.weight.grad[6:].abs().sum() == 0


def test_positions_within_a_span_give_different_predictions(head):
    hidden = torch.randn(2, 10, HIDDEN)
    logits = head(hidden, make_labels())
    inner = logits[5:]  # row 1's span of six tokens: the same boundaries, offsets 0..5
    assert all(not torch.allclose(inner[k], inner[k + 1]) for k in range(5))


def test_model_ties_both_decoders_and_sums_the_losses():
    torch.manual_seed(0)
    model = SpanBertForPreTraining(CONFIG, max_span_length=8)
    embeddings = model.bert.embeddings.word_embeddings.weight
    assert model.mlm_head.decoder.weight is embeddings and model.sbo_head.decoder.weight is embeddings
    assert not hasattr(model, "nsp_head")
    ids = torch.randint(5, VOCAB, (2, 10))
    labels = make_labels()
    labels[labels != IGNORE_INDEX] = ids[labels != IGNORE_INDEX]
    out = model(ids, torch.zeros_like(ids), torch.ones_like(ids), labels)
    assert out.mlm_logits.shape == out.sbo_logits.shape == (11, VOCAB)
    torch.testing.assert_close(out.mlm_loss, mlm_loss(out.mlm_logits, labels))
    torch.testing.assert_close(out.sbo_loss, mlm_loss(out.sbo_logits, labels))
    torch.testing.assert_close(out.loss, out.mlm_loss + out.sbo_loss)
    out.loss.backward()
    untouched = {name for name, parameter in model.named_parameters()
                 if parameter.grad is None or parameter.grad.abs().sum() == 0}
    assert untouched == {"bert.pooler.weight", "bert.pooler.bias"}  # no NSP: the pooler is not used
    ablated = SpanBertForPreTraining(CONFIG, max_span_length=8, use_sbo=False)
    ablated.load_state_dict(model.state_dict())
    out_ablated = ablated(ids, None, None, labels)
    torch.testing.assert_close(out_ablated.loss, out_ablated.mlm_loss)
    assert model(ids).mlm_logits.shape == (2, 10, VOCAB) and model(ids).loss is None
    with torch.no_grad():
        nothing = model(ids, labels=torch.full_like(ids, IGNORE_INDEX))  # a batch without a masked token
    assert nothing.sbo_logits.shape == (0, VOCAB) and nothing.loss.item() == 0.0


def test_a_few_steps_of_pretraining_with_span_masks_lower_the_loss():
    tokenizer = mb.train_vocabulary(400)
    dataset = mb.pretraining_dataset(tokenizer, "validation", n_documents=40)
    config = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0)
    torch.manual_seed(0)
    model = SpanBertForPreTraining(config)
    mask_fn = functools.partial(span_mask_tokens, is_continuation=continuation_table(tokenizer))
    batch = mb.batches(dataset, 16, 0, len(tokenizer), mask_fn=mask_fn)
    history = mb.run_pretraining(model, batch, span_bert_loss, 40, 3e-3, plot=False, title="SpanBERT")
    assert sum(history.losses[-10:]) / 10 < sum(history.losses[:10]) / 10 - 1.0
    # sbo_accuracy counts the SBO head's right answers on the masks mlm_accuracy uses
    b = next(mb.evaluation_batches(dataset, 50, 0, vocab_size=len(tokenizer), mask_fn=mask_fn))
    with torch.no_grad():
        out = model.eval()(b["input_ids"], b["token_type_ids"], b["attention_mask"], b["labels"])
    targets = b["labels"][b["labels"] != IGNORE_INDEX]
    assert sbo_accuracy(model, dataset, mask_fn, n=50) == pytest.approx(
        float((out.sbo_logits.argmax(-1) == targets).float().mean()))
    assert mb.mlm_accuracy(model, dataset, n=50, mask_fn=mask_fn) == pytest.approx(
        float((out.mlm_logits.argmax(-1) == targets).float().mean()))


def test_errors_say_what_is_wrong(head):
    hidden = torch.randn(2, 10, HIDDEN)
    edge = make_labels()
    edge[0, 0] = 3
    with pytest.raises(ValueError, match=r"keep \[CLS\] and the final \[SEP\] unmasked"):
        head(hidden, edge)
    edge = make_labels()
    edge[1, 9] = 3
    with pytest.raises(ValueError, match="first or last position"):
        span_boundaries(edge)
    long = torch.full((1, 12), IGNORE_INDEX)
    long[0, 1:11] = 1
    with pytest.raises(ValueError, match="larger max_span_length"):
        head(torch.randn(1, 12, HIDDEN), long)
    with pytest.raises(ValueError, match=r"\(batch, seq, hidden\)"):
        head(hidden[0], make_labels())
    with pytest.raises(TypeError, match="integer tensor"):
        span_boundaries(make_labels().float())
    with pytest.raises(ValueError, match=r"\(batch, seq\)"):
        span_boundaries(make_labels()[0])
