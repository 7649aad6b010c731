"""Tests of course_lib.squad_metrics: hand-worked normalisation, exact match and F1 cases, the
HasAns/NoAns split, agreement with an independent reimplementation from the SQuAD papers'
description on the course's QA data, with torchmetrics' SQuAD metric where it is installed, and
the errors."""

from __future__ import annotations

import os
import random
import re
import string

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest

from course_lib.data.documents import qa_dataset
from course_lib.squad_metrics import exact_match, normalize_answer, squad_v2_scores, token_f1


@pytest.mark.parametrize("text, expected", [
    ("The Theater", "theater"),  # "the" inside a word stays
    ("a band and an anthem", "band and anthem"),
    ("1,000 dollars", "1000 dollars"),  # punctuation inside numbers is deleted, not a space
    ("A.D. 1066", "ad 1066"),
    ("  Café\tÜBER\n straße  ", "café über straße"),  # accents stay; only ASCII is punctuation
    ("\u201cthe\u201d", "\u201c \u201d"),  # curly quotes are not string.punctuation but do bound a word
    ("_the_", ""),  # "_" is punctuation: "the" is left, and removed
    ("The a an", ""),
    ("", ""),
])
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_hand_worked():
    assert exact_match("the Eiffel Tower!", ["Eiffel tower"]) == 1.0
    assert exact_match("Eiffel", ["Eiffel Tower"]) == 0.0
    assert exact_match("1000", ["1,000"]) == 1.0
    assert exact_match("1 000", ["1,000"]) == 0.0
    assert exact_match("Paris", ["London", "paris."]) == 1.0  # the best of several golds
    assert exact_match("", []) == 1.0 and exact_match("Paris", []) == 0.0  # unanswerable
    assert exact_match("the", []) == 1.0  # normalises to "no answer"
    assert exact_match("", ["The"]) == 1.0  # a gold that normalises to nothing counts as ""


def test_token_f1_hand_worked():
    # the cat sat on the mat -> cat sat on mat (4 tokens); gold cat on mat (3): P = 3/4, R = 1
    assert token_f1("the cat sat on the mat", ["cat on mat"]) == pytest.approx(6 / 7)
    # a multiset: new x3 against new york shares ONE token: P = 1/3, R = 1/2
    assert token_f1("new new new", ["new york"]) == pytest.approx(0.4)
    assert token_f1("Berlin", ["Paris"]) == 0.0
    assert token_f1("Paris France", ["London", "paris", "france and paris"]) == pytest.approx(0.8)
    assert token_f1("", []) == 1.0 and token_f1("anything", []) == 0.0
    assert token_f1("", ["Paris"]) == 0.0 and token_f1("a an the", ["Paris"]) == 0.0
    assert token_f1("Über café", ["CAFÉ über"]) == 1.0


ROWS = [
    {"id": "q1", "answers": {"text": ["Kestrabay"], "answer_start": [0]}},
    {"id": "q2", "answers": {"text": ["Fennick Cross", "Fennick"], "answer_start": [0, 0]}},
    {"id": "q3", "answers": {"text": [], "answer_start": []}},
    {"id": "q4", "answers": {"text": [], "answer_start": []}},
]


def test_squad_v2_scores_split_has_and_no_answer():
    # q1 exact; q2 "the Fennick Cross bridge" vs "fennick cross": P = 2/3, R = 1, F1 = 0.8
    predictions = {"q1": "kestrabay.", "q2": "the Fennick Cross bridge", "q3": "", "q4": "Greywick"}
    scores = squad_v2_scores(predictions, ROWS)
    expected = {"exact": 50.0, "f1": 70.0, "total": 4, "HasAns_exact": 50.0, "HasAns_f1": 90.0, "HasAns_total": 2,
                "NoAns_exact": 50.0, "NoAns_f1": 50.0, "NoAns_total": 2}
    assert list(scores) == list(expected)
    assert scores == pytest.approx(expected)
    assert "NoAns_total" not in squad_v2_scores(predictions, ROWS[:2])  # a group without rows has no keys


def test_a_datasets_dataset_scores_like_its_rows():
    dataset = qa_dataset(split="validation").select(range(30))
    rng = random.Random(0)
    predictions = {row["id"]: rng.choice(["", *row["answers"]["text"], row["context"][:20]]) for row in dataset}
    assert squad_v2_scores(predictions, dataset) == squad_v2_scores(predictions, list(dataset))


def test_errors():
    with pytest.raises(ValueError, match=r"2 of the 4 questions have no prediction, e.g. \['q3', 'q4'\]"):
        squad_v2_scores({"q1": "", "q2": ""}, ROWS)
    with pytest.raises(TypeError, match="prediction for 'q1' must be a str"):
        squad_v2_scores({"q1": None, "q2": "", "q3": "", "q4": ""}, ROWS)
    with pytest.raises(TypeError, match="predictions must be a dict"):
        squad_v2_scores([("q1", "")], ROWS)
    with pytest.raises(TypeError, match="dataset must be"):
        squad_v2_scores({}, ROWS[0])
    with pytest.raises(ValueError, match="row 0 must be a dict with 'id' and 'answers'"):
        squad_v2_scores({}, [{"id": "q1"}])
    with pytest.raises(ValueError, match="no rows"):
        squad_v2_scores({}, [])
    with pytest.raises(TypeError, match="gold_answers must be a list"):
        token_f1("Paris", "Paris")
    with pytest.raises(TypeError, match="prediction must be a str"):
        exact_match(None, ["Paris"])
    with pytest.raises(TypeError, match="an answer must be a str"):
        normalize_answer(1000)


# --- an independent reading of the papers' definitions --------------------------------------------


def paper_tokens(text: str) -> list[str]:
    """SQuAD 1.1 (section 6) and 2.0: compare lowercased, without punctuation and articles; a
    token is a whitespace-separated word. Articles are the words made of word characters alone."""
    text = text.lower().translate(str.maketrans("", "", string.punctuation))
    runs = re.split(r"(\w+)", text)  # odd positions are runs of word characters
    return "".join(" " if k % 2 and run in ("a", "an", "the") else run for k, run in enumerate(runs)).split()


def paper_scores(prediction: str, golds: list[str]) -> tuple[float, float]:
    golds = [g for g in golds if paper_tokens(g)] or [""]  # "no answer" is the one gold of an unanswerable question
    predicted = paper_tokens(prediction)
    best_em = best_f1 = 0.0
    for gold in map(paper_tokens, golds):
        best_em = max(best_em, float(predicted == gold))
        if not predicted or not gold:
            best_f1 = max(best_f1, float(predicted == gold))
            continue
        remaining = list(gold)
        common = 0
        for token in predicted:
            if token in remaining:
                remaining.remove(token)
                common += 1
        if common:
            p, r = common / len(predicted), common / len(gold)
            best_f1 = max(best_f1, 2 * p * r / (p + r))
    return best_em, best_f1


def course_predictions(dataset, seed: int) -> dict[str, str]:
    """Plausible right, partly right and wrong answers (and abstentions) for every row."""
    rng = random.Random(seed)
    out = {}
    for row in dataset:
        gold = row["answers"]["text"][0] if row["answers"]["text"] else ""
        words = row["context"].split()
        at = rng.randrange(len(words))
        out[row["id"]] = rng.choice([
            gold, "", gold.upper() + ".", f"the {gold}", gold.split()[0] if gold else "",
            " ".join(words[at : at + rng.randint(1, 4)]), f"{gold} {rng.choice(words)}",
        ])
    return out


TRICKY = ["The \u201cTheater\u201d", "an_an", "1,000.5", "Ça va, l'été", "a-b the-c", "ÀN thé", "x  y\u00a0z", "",
          "the the", "New York New York", "rock'n'roll", "(the) end"]


def test_agrees_with_a_reimplementation_from_the_papers():
    for prediction in TRICKY:
        for gold in TRICKY:
            em, f1 = paper_scores(prediction, [gold] if gold else [])
            assert exact_match(prediction, [gold] if gold else []) == em, (prediction, gold)
            assert token_f1(prediction, [gold] if gold else []) == pytest.approx(f1), (prediction, gold)
    dataset = qa_dataset(split="validation")
    predictions = course_predictions(dataset, 0)
    scores = squad_v2_scores(predictions, dataset)
    per_row = {row["id"]: (paper_scores(predictions[row["id"]], row["answers"]["text"]), bool(row["answers"]["text"]))
               for row in dataset}
    for prefix, keep in (("", lambda has: True), ("HasAns_", bool), ("NoAns_", lambda has: not has)):
        rows = [s for s, has in per_row.values() if keep(has)]
        assert scores[f"{prefix}total"] == len(rows)
        assert scores[f"{prefix}exact"] == pytest.approx(100 * sum(em for em, _ in rows) / len(rows))
        assert scores[f"{prefix}f1"] == pytest.approx(100 * sum(f1 for _, f1 in rows) / len(rows))
    assert 0 < scores["HasAns_exact"] < scores["HasAns_f1"] < 100  # the predictions are partly right


def test_matches_torchmetrics_squad():
    squad = pytest.importorskip("torchmetrics.functional.text.squad").squad
    dataset = qa_dataset(split="validation").select(range(900))  # torchmetrics is slow: a third of the rows
    predictions = course_predictions(dataset, 1)
    scores = squad_v2_scores(predictions, dataset)
    for prefix, rows in (("", list(dataset)), ("HasAns_", [r for r in dataset if r["answers"]["text"]]),
                         ("NoAns_", [r for r in dataset if not r["answers"]["text"]])):
        # torchmetrics implements SQuAD 1.1; an unanswerable question is SQuAD 2.0's single gold ""
        target = [{"id": r["id"], "answers": {"text": r["answers"]["text"] or [""], "answer_start": [0]}}
                  for r in rows]
        theirs = squad([{"id": r["id"], "prediction_text": predictions[r["id"]]} for r in rows], target)
        assert scores[f"{prefix}exact"] == pytest.approx(theirs["exact_match"].item(), abs=1e-3)
        assert scores[f"{prefix}f1"] == pytest.approx(theirs["f1"].item(), abs=1e-3)
