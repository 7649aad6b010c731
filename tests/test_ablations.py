"""course_lib.ablations: lesson 09's arms, the loops that pretrain and score them, the seed spread."""
from __future__ import annotations

import functools
import json

import pytest
import torch

from course_lib import ablations, mini_bert, span_masking
from course_lib.ablations import Arm
from course_lib.full_sentences import full_sentences
from course_lib.span_boundary import SpanBoundaryHead


@pytest.fixture(scope="module")
def tokenizer():
    return mini_bert.train_vocabulary()


@pytest.fixture(scope="module")
def data(tokenizer):
    return ablations.pretraining_data(tokenizer, "validation", n_documents=40)


def test_arms_refuse_what_their_inputs_cannot_do():
    with pytest.raises(ValueError, match="one of"):
        Arm("doc_sentences")
    with pytest.raises(ValueError, match="no pair label"):
        Arm("full_sentences", "mlm+nsp")
    with pytest.raises(ValueError, match="no sentence-pair head"):
        Arm("segment_pair", "mlm+nsp", span=True)
    with pytest.raises(ValueError, match="objective"):
        Arm("segment_pair", "nsp")


def test_arms_of_other_batch_sizes_see_the_same_sequences():
    assert Arm("full_sentences", batch_size=64).steps_for(200 * 16) == 50
    assert Arm("full_sentences").steps_for(200 * 16) == 200
    assert Arm("full_sentences", batch_size=64).steps_for(3) == 1
    baseline = ablations.LESSON_ARMS["segment pairs, MLM + NSP"]
    assert (baseline.inputs, baseline.objective, baseline.span) == ("segment_pair", "mlm+nsp", False)
    assert len({arm for arm in ablations.LESSON_ARMS.values()}) == len(ablations.LESSON_ARMS)


def test_the_three_inputs_hold_the_same_stories(tokenizer, data):
    pairs, full, order = data["segment_pair"], data["full_sentences"], data["sentence_order"]
    assert set(full.column_names) == {"input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"}
    assert "next_sentence_label" in pairs.column_names and "next_sentence_label" in order.column_names
    assert len(pairs) == len(order)  # one pair per place in a document, whatever the labels
    assert all(len(row) == 128 for row in full["input_ids"])
    assert all(set(row) == {0} for row in full["token_type_ids"])
    labels = torch.tensor(order["next_sentence_label"])
    assert 0.3 < labels.float().mean() < 0.7
    # a sentence-order pair holds the same tokens in either order; an NSP negative does not
    first = order[0]
    assert first["input_ids"][0] == tokenizer.cls_token_id and first["token_type_ids"].count(1) > 0


def test_pack_takes_the_learners_function(tokenizer):
    calls = []

    def pack(*args, **kwargs):
        calls.append(args[1:])
        return full_sentences(*args, **kwargs)

    rows = ablations.pretraining_data(tokenizer, "validation", 64, pack=pack, n_documents=5)["full_sentences"]
    assert calls == [(64, tokenizer.cls_token_id, tokenizer.sep_token_id, tokenizer.pad_token_id)]
    assert len(rows) >= 1


def test_arms_start_from_the_same_weights_and_count_what_they_saw(tokenizer, data):
    arm = Arm("segment_pair")
    first = ablations.pretrain_arm(arm, data, len(tokenizer), steps=3)
    again = ablations.pretrain_arm(arm, data, len(tokenizer), steps=3)
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        assert torch.equal(a, b)
    real = torch.tensor(data["segment_pair"]["attention_mask"]).sum().item() / len(data["segment_pair"])
    assert first.tokens_seen == round(real * 3 * 16)
    assert first.step_seconds > 0 and first.seconds >= first.step_seconds and len(first.history.losses) == 3
    assert not first.model.training


def test_the_span_arm_trains_the_given_head_from_the_baselines_encoder(tokenizer, data):
    built = []

    class Head(SpanBoundaryHead):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    span_fn = functools.partial(span_masking.span_mask_tokens,
                                is_continuation=span_masking.continuation_table(tokenizer))
    with pytest.raises(ValueError, match="span_mask_fn"):
        ablations.pretrain_arm(Arm("full_sentences", span=True), data, len(tokenizer), steps=1)
    result = ablations.pretrain_arm(Arm("full_sentences", span=True), data, len(tokenizer), steps=2,
                                    span_mask_fn=span_fn, sbo_head=Head)
    assert len(built) == 1 and result.model.sbo_head is built[0]
    assert result.model.sbo_head.decoder.weight is result.model.bert.embeddings.word_embeddings.weight
    token = ablations.pretrain_arm(Arm("full_sentences"), data, len(tokenizer), steps=2)
    assert not torch.equal(token.model.bert.embeddings.word_embeddings.weight,
                           result.model.bert.embeddings.word_embeddings.weight)
    fresh = mini_bert.new_model(len(tokenizer))
    start = ablations.pretrain_arm(Arm("full_sentences", span=True), data, len(tokenizer), steps=1,
                                   span_mask_fn=span_fn, on_step=lambda model, step: built.append(
                                       torch.equal(model.bert.embeddings.position_embeddings.weight,
                                                   fresh.bert.embeddings.position_embeddings.weight)))
    assert built[-1] is True and start.model is not None


def test_masking_runs_record_curves_on_fresh_masks(tokenizer, data):
    from course_lib.dynamic_masking import StaticMasking
    from course_lib.pretraining import mask_tokens

    small = data["full_sentences"].select(range(4))
    runs = ablations.masking_runs(small, data["full_sentences"], len(tokenizer),
                                  {"dynamic": lambda: mask_tokens, "static": lambda: StaticMasking(2)}, steps=4, every=2,
                                  n_eval=8)
    assert set(runs) == {"dynamic", "static"}
    for curve in runs.values():
        assert curve["step"] == [0, 2, 4]
        assert all(loss > 0 for loss in curve["heldout"] + curve["train"])
        assert curve["heldout"][0] == runs["dynamic"]["heldout"][0]  # the same initial weights, the same masks


def test_evaluate_arm_gives_each_figure_its_arm_has(tokenizer, data):
    qa = ablations.QATask.make(tokenizer, 24, 20)
    span_fn = functools.partial(span_masking.span_mask_tokens,
                                is_continuation=span_masking.continuation_table(tokenizer))
    nsp = ablations.LESSON_ARMS["segment pairs, MLM + NSP"]
    result = ablations.pretrain_arm(nsp, data, len(tokenizer), steps=2)
    figures = ablations.evaluate_arm(nsp, result, data, qa, qa_steps=2, n=16, span_mask_fn=span_fn)
    assert set(figures) == {"seconds", "tokens_seen", "sequences_per_second", "heldout_mlm_loss", "pair_accuracy",
                            "mlm_accuracy_spans", "qa_hasans_f1"}
    assert 0 <= figures["qa_hasans_f1"] <= 1 and 0 <= figures["pair_accuracy"] <= 1
    span = Arm("full_sentences", span=True)
    result = ablations.pretrain_arm(span, data, len(tokenizer), steps=2, span_mask_fn=span_fn)
    figures = ablations.evaluate_arm(span, result, data, n=16, span_mask_fn=span_fn)
    assert "sbo_accuracy" in figures and "qa_hasans_f1" not in figures and "pair_accuracy" not in figures


def test_qa_f1_counts_answerable_questions_only(tokenizer):
    qa = ablations.QATask.make(tokenizer, 16, 30)
    answerable = [bool(r["answers"]["text"]) for r in qa.valid_rows]
    assert any(answerable) and not all(answerable)
    assert qa.valid["input_ids"].shape[0] == 30 and len(qa.valid_offsets) == 30
    encoder = mini_bert.new_model(len(tokenizer)).bert
    f1 = ablations.qa_hasans_f1(encoder, qa, steps=1)
    assert 0.0 <= f1 <= 1.0
    unanswerable = ablations.QATask(qa.train, {k: v[[i for i, a in enumerate(answerable) if not a]] for k, v in qa.valid.items()},
                                    [o for o, a in zip(qa.valid_offsets, answerable) if not a],
                                    qa.valid_rows.select([i for i, a in enumerate(answerable) if not a]))
    with pytest.raises(ValueError, match="answerable"):
        ablations.qa_hasans_f1(encoder, unanswerable, steps=1)


SPREAD = {"a": {"loss": {"mean": 1.0, "sd": 0.1, "values": [0.9, 1.0, 1.1]}},
          "b": {"loss": {"mean": 1.5, "sd": 0.1, "values": [1.4, 1.5, 1.6]}},
          "c": {"loss": {"mean": 1.15, "sd": 0.1, "values": [1.05, 1.15, 1.25]}}}


def test_a_difference_stands_only_beyond_the_seeds_spread():
    assert ablations.differs("a", "b", "loss", SPREAD)
    assert not ablations.differs("a", "c", "loss", SPREAD)
    table = ablations.spread_table({"a": {"loss": 0.987654}, "z": {"other": 1.0}}, ["loss"], SPREAD)
    assert "0.988" in table and "(1.000 ± 0.100)" in table and "3 seeds" in table
    assert table.splitlines()[-1].startswith("z")


def test_the_seed_spread_file_is_checked(tmp_path):
    with pytest.raises(FileNotFoundError, match="benchmarks/roberta_spanbert.py"):
        ablations.seed_spread(tmp_path / "missing.json")
    (tmp_path / "s.json").write_text(json.dumps({"figures": SPREAD}))
    assert ablations.seed_spread(tmp_path / "s.json") == SPREAD
    shipped = ablations.seed_spread()
    for arm in ablations.LESSON_ARMS:
        assert {"heldout_mlm_loss", "qa_hasans_f1"} <= set(shipped[arm]) and len(shipped[arm]["qa_hasans_f1"]["values"]) >= 3


def test_the_unigram_floor_scores_token_frequencies_on_the_arms_masks(tokenizer, data):
    from course_lib.pretraining import IGNORE_INDEX, mask_tokens

    rows = data["full_sentences"]
    floor = ablations.unigram_figures(rows, rows, n=20)
    ids = torch.tensor(rows["input_ids"])
    maskable = torch.tensor(rows["special_tokens_mask"]) == 0
    counts = torch.bincount(ids[maskable], minlength=int(ids.max()) + 1).double() + 1
    targets = torch.cat([b["labels"][b["labels"] != IGNORE_INDEX] for b in mini_bert.evaluation_batches(
        rows, 20, 0, vocab_size=len(counts), mask_fn=mask_tokens)])
    expected = -(counts / counts.sum()).log()[targets].mean().item()
    assert floor["heldout_mlm_loss"] == pytest.approx(expected, rel=1e-5)
    assert floor["mlm_accuracy"] == pytest.approx((targets == counts.argmax()).double().mean().item())
    assert tokenizer.ids_to_tokens[int(counts.argmax())] in ("the", ".")
