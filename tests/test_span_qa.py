"""Tests of course_lib.span_qa: qa_features against HF's BertTokenizerFast on the real vocabulary,
gold spans recovered exactly on every answerable row of the course's QA data (with the course
mini-BERT's vocabulary and with bert-base-uncased's), truncation, corrupted rows; best_spans and
choose_threshold against brute-force references; predict_spans' null comparison; the errors."""

from __future__ import annotations

import math
import os
import random

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch

from course_lib.data.documents import qa_dataset
from course_lib.mini_bert import ASSET_DIR
from course_lib.pretrained import minilm_file
from course_lib.span_qa import (
    answer_text,
    best_spans,
    choose_threshold,
    null_scores,
    predict_spans,
    qa_features,
    threshold_sweep,
)
from course_lib.wordpiece import WordPieceTokenizer

CONTEXT = "Tamsin Oyelaran, a baker from Kestrabay, arrives in Fennick Cross. The kettle whistles."
QUESTION = "Where does the baker come from?"
ANSWER = {"text": ["Kestrabay"], "answer_start": [CONTEXT.index("Kestrabay")]}
NO_ANSWER = {"text": [], "answer_start": []}


@pytest.fixture(scope="module")
def minilm():
    return WordPieceTokenizer.from_minilm()


@pytest.fixture(scope="module")
def course_tokenizer():
    return WordPieceTokenizer.from_file(ASSET_DIR / "vocab.txt")


@pytest.fixture(scope="module")
def validation():
    return qa_dataset(split="validation")


def _answer(text: str, context: str = CONTEXT) -> dict:
    return {"text": [text], "answer_start": [context.index(text)]}


# --- qa_features ---------------------------------------------------------------------------------


UNICODE_CONTEXT = "Zoe\u0308 and A\u030angstro\u0308m met at Café Müller in Zürich, 3\u00a0km from the lake."


@pytest.mark.parametrize("context", [CONTEXT, UNICODE_CONTEXT])
def test_features_equal_hf_tokenizer_on_the_pair(minilm, context):
    transformers = pytest.importorskip("transformers")
    hf = transformers.BertTokenizerFast(vocab=str(minilm_file("vocab.txt")))
    for max_length in (64, 24):  # the second cuts the context
        ours = qa_features(minilm, QUESTION, context, NO_ANSWER, max_length)
        theirs = hf(QUESTION, context, truncation="only_second", max_length=max_length, padding="max_length",
                    return_offsets_mapping=True)
        for key in ("input_ids", "token_type_ids", "attention_mask"):
            assert ours[key] == theirs[key], key
        sequence_ids = theirs.sequence_ids()
        expected = [tuple(span) if s == 1 else None for span, s in zip(theirs["offset_mapping"], sequence_ids)]
        assert ours["offsets"] == expected
        assert sorted(ours) == ["attention_mask", "end_positions", "input_ids", "offsets", "start_positions",
                                "token_type_ids"]


def test_gold_positions_cover_the_answer_inclusive(minilm):
    context = "The river rose overnight and flooded the Wolverhampton-upon-Severn harbour."
    answer = _answer("Wolverhampton-upon-Severn harbour", context)
    f = qa_features(minilm, "What flooded?", context, answer, 64)
    tokens = minilm.convert_ids_to_tokens(f["input_ids"])
    assert tokens[f["start_positions"]] == "wolverhampton"
    assert tokens[f["end_positions"]] == "harbour"  # the last token, inclusive
    assert tokens[f["end_positions"] + 1] == "."
    assert answer_text(context, f["offsets"], f["start_positions"], f["end_positions"]) == answer["text"][0]
    question_tokens = len(minilm.encode("What flooded?"))
    assert f["offsets"][: question_tokens + 2] == [None] * (question_tokens + 2)  # never the question's offsets


def test_an_answer_with_accents_comes_back_as_written(minilm):
    answer = _answer("A\u030angstro\u0308m met at Café Müller", UNICODE_CONTEXT)  # combining marks and é
    f = qa_features(minilm, QUESTION, UNICODE_CONTEXT, answer, 64)
    assert answer_text(UNICODE_CONTEXT, f["offsets"], f["start_positions"], f["end_positions"]) == answer["text"][0]


def test_a_one_token_answer_starts_and_ends_on_it(minilm):
    f = qa_features(minilm, QUESTION, CONTEXT, _answer("baker"), 64)
    assert f["start_positions"] == f["end_positions"] > 0
    assert minilm.convert_ids_to_tokens(f["input_ids"][f["start_positions"]]) == "baker"


def test_unanswerable_points_at_cls(minilm):
    f = qa_features(minilm, QUESTION, CONTEXT, NO_ANSWER, 64)
    assert (f["start_positions"], f["end_positions"]) == (0, 0)
    assert answer_text(CONTEXT, f["offsets"], 0, 0) == ""


@pytest.mark.parametrize("name", ["course_tokenizer", "minilm"])
def test_every_answer_of_the_course_data_is_recovered_exactly(name, validation, request):
    tokenizer = request.getfixturevalue(name)
    answerable = [row for row in validation if row["answers"]["text"]]
    assert len(answerable) > 1000
    wrong = []
    for row in answerable:
        f = qa_features(tokenizer, row["question"], row["context"], row["answers"], 160)
        assert 0 < f["start_positions"] <= f["end_positions"]
        assert f["token_type_ids"][f["start_positions"]] == f["token_type_ids"][f["end_positions"]] == 1
        if answer_text(row["context"], f["offsets"], f["start_positions"], f["end_positions"]) != row["answers"][
                "text"][0]:
            wrong.append(row["id"])
    assert wrong == []


def test_truncation_cuts_only_the_context(minilm):
    question_ids = minilm.encode(QUESTION)
    context_ids = minilm.encode(CONTEXT)
    for max_length in (len(question_ids) + 4, len(question_ids) + 10):
        f = qa_features(minilm, QUESTION, CONTEXT, NO_ANSWER, max_length)
        kept = max_length - 3 - len(question_ids)
        assert f["input_ids"] == [minilm.cls_token_id, *question_ids, minilm.sep_token_id, *context_ids[:kept],
                                  minilm.sep_token_id]
        assert sum(span is not None for span in f["offsets"]) == kept


def test_an_answer_cut_off_by_truncation_becomes_no_answer(minilm):
    question_ids = minilm.encode(QUESTION)
    _, offsets = minilm.encode_with_offsets(CONTEXT)
    answer = _answer("Fennick Cross")
    first = next(i for i, (s, _) in enumerate(offsets) if s == answer["answer_start"][0])
    last = next(i for i, (_, e) in enumerate(offsets) if e == answer["answer_start"][0] + len("Fennick Cross"))
    assert last > first  # several tokens, so it can be cut in the middle
    for kept, expected_kept in ((last + 1, True), (last, False), (first, False)):
        f = qa_features(minilm, QUESTION, CONTEXT, answer, len(question_ids) + 3 + kept)
        text = answer_text(CONTEXT, f["offsets"], f["start_positions"], f["end_positions"])
        assert text == ("Fennick Cross" if expected_kept else ""), kept


def test_question_that_leaves_no_room_is_an_error(minilm):
    with pytest.raises(ValueError, match=r"question is \d+ tokens long.*at least"):
        qa_features(minilm, QUESTION, CONTEXT, ANSWER, len(minilm.encode(QUESTION)) + 3)


def test_corrupted_row_names_the_differing_characters(minilm):
    start = CONTEXT.index("Kestrabay")
    with pytest.raises(ValueError, match=r"corrupted row.*character 0 of the answer is 'K' but the context has 'm'"):
        qa_features(minilm, QUESTION, CONTEXT, {"text": ["Kestrabay"], "answer_start": [start - 2]}, 64)
    with pytest.raises(ValueError, match="answer_start must be an int from 0"):
        qa_features(minilm, QUESTION, CONTEXT, {"text": ["Kestrabay"], "answer_start": [len(CONTEXT)]}, 64)


def test_answer_inside_a_token_is_an_error(minilm):
    assert minilm.tokenize("baker") == ["baker"]  # one token, so "bake" ends inside it
    with pytest.raises(ValueError, match="ends at character .*inside the token 'baker'"):
        qa_features(minilm, QUESTION, CONTEXT, _answer("bake"), 64)
    with pytest.raises(ValueError, match="starts at character .*inside the token 'baker'"):
        qa_features(minilm, QUESTION, CONTEXT, _answer("aker"), 64)
    with pytest.raises(ValueError, match="starts at character .*no token begins"):
        qa_features(minilm, QUESTION, CONTEXT, _answer(" baker"), 64)


@pytest.mark.parametrize("answers, error", [
    ("Kestrabay", TypeError),
    ({"text": ["Kestrabay"]}, TypeError),
    ({"text": ["Kestrabay"], "answer_start": []}, ValueError),
    ({"text": [""], "answer_start": [3]}, ValueError),
])
def test_malformed_answers_are_errors(minilm, answers, error):
    with pytest.raises(error, match="answer"):
        qa_features(minilm, QUESTION, CONTEXT, answers, 64)


def test_argument_errors(minilm):
    with pytest.raises(TypeError, match="WordPieceTokenizer"):
        qa_features(object(), QUESTION, CONTEXT, ANSWER, 64)
    with pytest.raises(TypeError, match="question must be a str"):
        qa_features(minilm, [QUESTION], CONTEXT, ANSWER, 64)
    with pytest.raises(ValueError, match="max_length"):
        qa_features(minilm, QUESTION, CONTEXT, ANSWER, 3)
    f = qa_features(minilm, QUESTION, CONTEXT, ANSWER, 64)
    with pytest.raises(ValueError, match="not a context token"):
        answer_text(CONTEXT, f["offsets"], 1, f["end_positions"])  # starts in the question
    with pytest.raises(ValueError, match="start <= end"):
        answer_text(CONTEXT, f["offsets"], f["end_positions"], f["start_positions"] - 1)


# --- best_spans, null_scores, predict_spans -------------------------------------------------------


def brute_best(start, end, mask, max_len):
    best = None
    for i in range(len(start)):
        for j in range(i, min(i + max_len, len(start))):
            if mask[i] and mask[j] and (best is None or start[i] + end[j] > best[2]):
                best = (i, j, start[i] + end[j])
    return best


def random_batch(generator, batch=6, seq=14):
    start = torch.randn(batch, seq, generator=generator)
    end = torch.randn(batch, seq, generator=generator)
    mask = torch.zeros(batch, seq, dtype=torch.bool)
    for b in range(batch):  # [CLS] q.. [SEP] passage [SEP] pad..
        first = 2 + int(torch.randint(0, 4, (1,), generator=generator))
        last = first + int(torch.randint(0, seq - first - 1, (1,), generator=generator))
        mask[b, first : last + 1] = True
    return start, end, mask


@pytest.mark.parametrize("max_len", [1, 3, 30])
def test_best_spans_equal_brute_force(max_len):
    generator = torch.Generator().manual_seed(max_len)
    for _ in range(5):
        start, end, mask = random_batch(generator)
        starts, ends, scores = best_spans(start, end, mask, max_len)
        assert starts.dtype == ends.dtype == torch.int64 and scores.dtype == start.dtype
        for b in range(len(start)):
            i, j, score = brute_best(start[b].tolist(), end[b].tolist(), mask[b].tolist(), max_len)
            assert (starts[b].item(), ends[b].item()) == (i, j)
            assert scores[b].item() == pytest.approx(score, abs=1e-6)


def test_best_spans_never_start_in_the_question_or_end_before_start():
    start = torch.tensor([[0.0, 9.0, 9.0, 0.0, 0.0, 5.0, 0.0]])  # the question (1, 2) has the best starts
    end = torch.tensor([[0.0, 0.0, 0.0, 4.0, 0.0, 0.0, 1.0]])  # the best end comes before the best start
    mask = torch.tensor([[False, False, False, True, True, True, True]])
    starts, ends, scores = best_spans(start, end, mask, 10)
    assert (starts.item(), ends.item(), scores.item()) == (5, 6, 6.0)
    starts, ends, _ = best_spans(start, end, mask, 1)
    assert (starts.item(), ends.item()) == (5, 5)


def test_ties_go_to_the_earliest_span():
    mask = torch.tensor([[False, True, True, True, False]])
    starts, ends, _ = best_spans(torch.zeros(1, 5), torch.zeros(1, 5), mask, 3)
    assert (starts.item(), ends.item()) == (1, 1)


def test_null_scores_and_predict_spans_compare_with_cls():
    start = torch.tensor([[2.0, 0.0, 1.0, 3.0], [0.5, 0.0, 1.0, 3.0]])
    end = torch.tensor([[2.0, 0.0, 2.0, 1.0], [0.5, 0.0, 2.0, 1.0]])
    mask = torch.tensor([[False, False, True, True]] * 2)
    assert null_scores(start, end).tolist() == [4.0, 1.0]
    _, _, scores = best_spans(start, end, mask, 5)  # span (2, 2) = 3 and (3, 3) = 4 in both rows
    assert scores.tolist() == [4.0, 4.0]
    starts, ends = predict_spans(start, end, mask, 5, 0.0)
    assert starts.tolist() == [0, 3] and ends.tolist() == [0, 3]  # 4 > 4 + 0 is false: no answer
    starts, ends = predict_spans(start, end, mask, 5, -0.5)
    assert starts.tolist() == [3, 3]
    starts, ends = predict_spans(start, end, mask, 5, 3.0)
    assert starts.tolist() == [0, 0] and ends.tolist() == [0, 0]


def test_decoding_errors():
    start, end, mask = random_batch(torch.Generator().manual_seed(0), batch=2, seq=8)
    with pytest.raises(ValueError, match=r"rows \[1\] have no passage token"):
        best_spans(start, end, torch.stack([mask[0], torch.zeros(8, dtype=torch.bool)]), 5)
    with pytest.raises(TypeError, match="passage_mask must be a bool tensor"):
        best_spans(start, end, mask.long(), 5)
    with pytest.raises(ValueError, match="passage_mask .* must have the logits' shape"):
        best_spans(start, end, mask[:, :-1], 5)
    with pytest.raises(TypeError, match="start_logits must be a float tensor"):
        best_spans(start.long(), end, mask, 5)
    with pytest.raises(TypeError, match="end_logits must be a float tensor"):
        null_scores(start, end[0])
    with pytest.raises(ValueError, match="same shape"):
        best_spans(start, end[:, :-1], mask, 5)
    with pytest.raises(ValueError, match="finite"):
        best_spans(start.masked_fill(~mask, -math.inf), end, mask, 5)
    with pytest.raises(ValueError, match="max_answer_length"):
        best_spans(start, end, mask, 0)
    with pytest.raises(TypeError, match="threshold must be a float"):
        predict_spans(start, end, mask, 5, "0.5")
    with pytest.raises(ValueError, match="NaN"):
        predict_spans(start, end, mask, 5, math.nan)


# --- choosing the threshold ----------------------------------------------------------------------


def brute_threshold(margins, answered, null):
    """Every threshold worth trying, scored one by one; the largest of the best."""
    candidates = sorted(set(margins) | {-math.inf}, reverse=True)
    scores = [sum(a if m > t else n for m, a, n in zip(margins, answered, null)) / len(margins) for t in candidates]
    best = max(scores)
    return candidates[scores.index(best)], best


def random_margins(rng, n):
    margins = [float(rng.randint(-4, 4)) / 2 for _ in range(n)]  # repeated values on purpose
    has = [rng.random() < 0.6 for _ in range(n)]
    answered = [rng.randint(0, 8) / 8 if h else 0.0 for h in has]  # eighths: sums are exact
    null = [0.0 if h else 1.0 for h in has]
    return margins, answered, null, has


def test_choose_threshold_equals_brute_force():
    rng = random.Random(0)
    for n in (1, 2, 5, 40, 200):
        for _ in range(10):
            margins, answered, null, _ = random_margins(rng, n)
            assert choose_threshold(margins, answered, null) == brute_threshold(margins, answered, null)


def test_choose_threshold_on_continuous_values():
    generator = torch.Generator().manual_seed(1)
    margins, answered, null = torch.randn(300, generator=generator), torch.rand(300, generator=generator), (
        torch.rand(300, generator=generator) < 0.4).double()
    tau, f1 = choose_threshold(margins, answered, null)
    expected_tau, expected_f1 = brute_threshold(margins.tolist(), answered.tolist(), null.tolist())
    assert tau == pytest.approx(expected_tau) and f1 == pytest.approx(expected_f1)


def test_choose_threshold_edge_cases():
    assert choose_threshold([1.0, 2.0], [1.0, 1.0], [0.0, 0.0]) == (-math.inf, 1.0)  # answer everything
    assert choose_threshold([1.0, 2.0], [0.0, 0.0], [1.0, 1.0]) == (2.0, 1.0)  # answer nothing
    assert choose_threshold([1.0, 2.0], [0.5, 0.5], [0.5, 0.5]) == (2.0, 0.5)  # a tie: the fewest answers


def test_the_chosen_threshold_is_what_predict_spans_applies():
    start, end, mask = random_batch(torch.Generator().manual_seed(3), batch=40)
    _, _, scores = best_spans(start, end, mask, 4)
    margins = scores - null_scores(start, end)
    rng = random.Random(3)
    answered = [rng.random() for _ in margins]
    null = [float(rng.random() < 0.5) for _ in margins]
    tau, f1 = choose_threshold(margins, answered, null)
    starts, _ = predict_spans(start, end, mask, 4, tau)
    mean = sum(a if s > 0 else n for s, a, n in zip(starts.tolist(), answered, null)) / len(null)
    assert mean == pytest.approx(f1)


def test_threshold_sweep_equals_a_loop():
    margins, answered, null, has = random_margins(random.Random(5), 60)
    grid = [-3.0, -0.5, 0.0, 0.25, 2.0]
    sweep = threshold_sweep(margins, answered, null, has, grid)
    for k, t in enumerate(grid):
        f1 = [a if m > t else n for m, a, n in zip(margins, answered, null)]
        has_f1 = [f for f, h in zip(f1, has) if h]
        no_ans = [m <= t for m, h in zip(margins, has) if not h]
        assert sweep["threshold"][k].item() == t
        assert sweep["f1"][k].item() == pytest.approx(sum(f1) / len(f1))
        assert sweep["HasAns_f1"][k].item() == pytest.approx(sum(has_f1) / len(has_f1))
        assert sweep["NoAns_accuracy"][k].item() == pytest.approx(sum(no_ans) / len(no_ans))


def test_threshold_errors():
    with pytest.raises(ValueError, match="one value per question"):
        choose_threshold([0.0, 1.0], [1.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="not percentages"):
        choose_threshold([0.0], [80.0], [0.0])
    with pytest.raises(ValueError, match="finite"):
        choose_threshold([math.nan], [1.0], [0.0])
    with pytest.raises(TypeError, match="score_margins must be a 1-D list"):
        choose_threshold("0.5", [1.0], [0.0])
    with pytest.raises(ValueError, match="both answerable"):
        threshold_sweep([0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [True, True], [0.0])
    with pytest.raises(ValueError, match="one bool per question"):
        threshold_sweep([0.0, 1.0], [1.0, 1.0], [0.0, 0.0], [1, 0], [0.0])
    with pytest.raises(ValueError, match="thresholds must be"):
        threshold_sweep([0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [True, False], [])
