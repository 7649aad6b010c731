"""Tests of course_lib.mini_gpt (lesson 10's stories, recipe, quality measures and shipped checkpoint)
and course_lib.rlhf (the hidden human, samples, pairs and the preference loops), on small inputs."""
from __future__ import annotations

import json
import math
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import pytest
import torch

from course_lib import checkpoints, mini_gpt, rlhf
from course_lib.gpt import GPT
from course_lib.preferences import RewardModel


@pytest.fixture(scope="module")
def tok():
    return mini_gpt.tokenizer()


@pytest.fixture(scope="module")
def shipped():
    return mini_gpt.load_mini_gpt()[0]


def test_to_text_gives_back_the_corpus_stories(tok):
    valid = mini_gpt.stories("validation", 40)
    assert [mini_gpt.to_text(tok, row) for row in valid["input_ids"].tolist()] == list(valid["text"])
    assert mini_gpt.quality(valid["text"], valid["topic"]) == {"grammatical": 1.0, "all_grammatical": 1.0,
                                                              "story_order": 1.0, "on_topic": 1.0}


def test_stories_are_bos_story_eos_right_padded(tok):
    data = mini_gpt.encode_stories(tok, ["The dog barks.", "In the end, the ship does not sink."])
    ids, mask = data["input_ids"], data["attention_mask"]
    assert ids[:, 0].tolist() == [mini_gpt.BOS_ID] * 2
    lengths = mask.sum(1)
    assert [ids[i, n - 1].item() for i, n in enumerate(lengths.tolist())] == [mini_gpt.EOS_ID] * 2
    assert (ids[mask == 0] == mini_gpt.PAD_ID).all()
    with pytest.raises(ValueError, match="more than max_length"):
        mini_gpt.encode_stories(tok, ["The dog barks."] * 2, max_length=3)


def test_quality_counts_what_the_grammar_rejects():
    good, bad = "The dog barks at the sheep.", "The dogs barks at the sheep."
    assert mini_gpt.quality([good + " " + bad])["grammatical"] == 0.5
    assert mini_gpt.quality([good, good + " " + bad])["all_grammatical"] == 0.5


def test_the_shipped_checkpoint_is_checked_and_reads_as_hf_gpt2(shipped, tok):
    transformers = pytest.importorskip("transformers")
    record = json.loads((mini_gpt.ASSET_DIR / "recipe.json").read_text())
    assert record["recipe"]["steps"] == mini_gpt.RECIPE.steps
    assert record["sha256"] == {name: checkpoints.sha256(mini_gpt.ASSET_DIR / name) for name in checkpoints.FILES}
    assert record["figures"]["perplexity_validation"] < 2.0
    ids = mini_gpt.stories("validation", 4)["input_ids"]
    hf = transformers.GPT2LMHeadModel.from_pretrained(mini_gpt.ASSET_DIR, attn_implementation="eager").eval()
    with torch.no_grad():
        torch.testing.assert_close(hf(ids).logits, shipped(ids), rtol=1e-5, atol=1e-5)
    assert len(tok) == shipped.config.vocab_size


def test_the_human_scores_well_told_stories_and_good_endings():
    corpus = mini_gpt.stories("validation", 30)
    from course_lib.data.documents import document_corpus, ends_well

    labels = document_corpus(split="validation")["label"][:30]
    scores = [rlhf.human_score(t, topic) for t, topic in zip(corpus["text"], corpus["topic"])]
    assert scores == [1 + label for label in labels]
    assert all(ends_well(t) == bool(label) for t, label in zip(corpus["text"], labels))
    story, topic = corpus["text"][0], corpus["topic"][0]
    assert rlhf.human_score(story.replace(". ", ". The ship barks. ", 1), topic) == 0  # not grammatical
    other = next(t for t in ("sailing", "farming") if t != topic)
    assert rlhf.human_score(story, other) == 0  # another topic's story


def test_pairs_keep_the_preferred_story_and_drop_ties(tok):
    prompts = rlhf.prompt_set(tok, "validation", 3)
    assert all(row[0] == mini_gpt.BOS_ID for row in prompts["ids"])
    valid = mini_gpt.stories("validation", 3)
    whole = [[mini_gpt.BOS_ID] + tok.encode(t) + [mini_gpt.EOS_ID] for t in valid["text"]]
    responses = [w[len(p):] for w, p in zip(whole, prompts["ids"])]
    ids, mask, response = rlhf._layout(prompts["ids"], responses)
    good = rlhf.Samples(ids, mask, response, list(valid["text"]), prompts["topic"], [2, 1, 1])
    worse = rlhf.Samples(ids, mask, response, list(valid["text"]), prompts["topic"], [0, 1, 2])
    pairs = rlhf.label_pairs(good, worse)
    assert len(pairs) == 2 and pairs.chosen.score == [2, 2] and pairs.rejected.score == [0, 1]
    assert (pairs.chosen.response_mask[:, : len(prompts["ids"][0])] == 0).all()
    assert rlhf.win_rate([2, 1, 0], [1, 1, 2]) == pytest.approx(0.5)
    assert rlhf.approval([2, 1, 2, 0]) == 0.5


def test_the_loops_run_and_dpo_starts_at_ln_2(tok, shipped):
    prompts = rlhf.prompt_set(tok, "train", 8)
    first = rlhf.sample(shipped, tok, prompts, generator=torch.Generator().manual_seed(0))
    second = rlhf.sample(shipped, tok, prompts, generator=torch.Generator().manual_seed(1))
    assert len(first) == 8 and first.input_ids.shape[1] <= shipped.config.n_positions
    assert all(row[0] == mini_gpt.BOS_ID for row in first.input_ids.tolist())
    pairs = rlhf.label_pairs(first, second)
    if len(pairs) == 0:
        pytest.skip("no labelled pair in this tiny sample")
    policy, reference = GPT(shipped.config), rlhf.frozen_copy(shipped)
    policy.load_state_dict(shipped.state_dict())
    history = rlhf.run_dpo(policy, reference, pairs, 1, plot=False)
    assert history.losses[0] == pytest.approx(math.log(2), abs=1e-5)
    reward_model = RewardModel(GPT(shipped.config))
    rlhf.train_reward_model(reward_model, pairs, 1, plot=False)
    assert 0.0 <= rlhf.reward_accuracy(reward_model, pairs) <= 1.0
    curve = rlhf.run_policy_gradient(policy, reference, reward_model, tok, prompts, 2, batch_size=4, plot=False)
    assert curve.step == [0, 1] and len(curve.kl) == len(curve.reward) == len(curve.approval) == 2
    assert rlhf.kl_to_reference(reference, reference, first) == pytest.approx(0.0, abs=1e-4)
