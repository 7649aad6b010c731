"""course_lib.transfer: the fine-tuning lesson's experiment runners do what their docstrings say."""
from __future__ import annotations

import pytest
import torch

from course_lib import transfer
from course_lib.bert import BertConfig, BertModel
from course_lib.data.documents import classification_dataset, document_corpus
from course_lib.finetuning import BertForSequenceClassification, freeze_encoder

CONFIG = BertConfig(vocab_size=30, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32,
                    max_position_embeddings=16, hidden_dropout_prob=0.0)


def toy_task(n: int = 64, seed: int = 0) -> dict[str, torch.Tensor]:
    """Label 1 exactly when token 7 occurs: learnable by any encoder in a few dozen steps."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(8, 30, (n, 6), generator=g)
    labels = torch.randint(0, 2, (n,), generator=g)
    ids[labels == 1, 3] = 7
    ids[:, 0] = 2
    mask = torch.ones_like(ids)
    mask[::3, 5] = 0
    ids[mask == 0] = 0
    return {"input_ids": ids, "token_type_ids": torch.zeros_like(ids), "attention_mask": mask, "labels": labels}


def classifier(seed: int = 0) -> BertForSequenceClassification:
    torch.manual_seed(seed)
    return BertForSequenceClassification(BertModel(CONFIG), 2)


def test_story_endings_are_the_last_sentences_with_the_documents_labels():
    texts, labels = transfer.story_endings("validation", n=20)
    corpus = document_corpus()["validation"]
    assert len(texts) == len(labels) == 20
    assert labels == list(classification_dataset(split="validation")["label"][:20])
    for text, sentences in zip(texts, corpus["sentences"][:20]):
        assert text == " ".join(sentences[-3:])
        assert corpus["text"][corpus["sentences"].index(sentences)].endswith(text)
    assert transfer.story_endings("validation", n=3, sentences=1)[0] == [s[-1] for s in corpus["sentences"][:3]]
    with pytest.raises(ValueError):
        transfer.story_endings(sentences=0)


def test_fine_tune_learns_a_trivial_task_in_the_steps_it_is_given():
    data = toy_task(96)
    model = classifier()
    before = transfer.accuracy(model, data)
    run = transfer.fine_tune(model, data, steps=80, lr=3e-3, batch_size=16)
    assert run.steps == len(run.losses) == 80 and run.examples_seen == 80 * 16
    assert run.seconds > 0 and run.seconds_per_step == pytest.approx(run.seconds / 80)
    assert transfer.accuracy(model, data) >= 0.95 > before
    assert not model.training


def test_fine_tune_leaves_a_frozen_encoder_unchanged_and_trains_the_head():
    model = classifier()
    freeze_encoder(model)
    encoder = {k: v.clone() for k, v in model.bert.state_dict().items()}
    head = model.classifier.weight.clone()
    transfer.fine_tune(model, toy_task(), steps=5, lr=1e-2)
    assert all(torch.equal(encoder[k], v) for k, v in model.bert.state_dict().items())
    assert not torch.equal(head, model.classifier.weight)
    model.classifier.requires_grad_(False)
    with pytest.raises(ValueError, match="no parameter"):
        transfer.fine_tune(model, toy_task(), steps=1, lr=1e-2)


def test_equal_seeds_give_equal_runs_and_batches_are_cut_to_their_longest_row():
    data = toy_task()
    a, b = classifier(), classifier()
    ra = transfer.fine_tune(a, data, steps=4, lr=1e-3, seed=3)
    rb = transfer.fine_tune(b, data, steps=4, lr=1e-3, seed=3)
    assert ra.losses == rb.losses
    batch = transfer._trimmed({"input_ids": torch.ones(2, 9, dtype=torch.long), "attention_mask": torch.tensor([[1] * 4 + [0] * 5] * 2),
                               "labels": torch.tensor([0, 1])})
    assert batch["input_ids"].shape == (2, 4) and batch["labels"].shape == (2,)


def test_learning_curve_gives_every_arm_every_size_the_same_steps():
    data = toy_task(48)
    rows = transfer.learning_curve({"a": classifier, "b": lambda: classifier(1)}, data, data, sizes=(8, 48), steps=3,
                                   lr={"a": 1e-3, "b": 2e-3}, batch_size=4)
    assert [(r["arm"], r["n"]) for r in rows] == [("a", 8), ("b", 8), ("a", 48), ("b", 48)]
    assert all(0.0 <= r["accuracy"] <= 1.0 and r["seconds_per_step"] > 0 for r in rows)


def test_frozen_features_pool_as_asked_and_ignore_padding():
    torch.manual_seed(0)
    bert = BertModel(CONFIG).eval()
    data = toy_task(10)
    for pooling, width in (("cls", 16), ("mean", 16), ("pooler", 16)):
        assert transfer.frozen_features(bert, data, pooling, batch_size=4).shape == (10, width)
    short = {k: v[:1, :3] for k, v in data.items() if k != "labels"}
    padded = {k: torch.cat([v, torch.zeros(1, 4, dtype=torch.long)], 1) for k, v in short.items()}
    assert torch.allclose(transfer.frozen_features(bert, short), transfer.frozen_features(bert, padded), atol=1e-5)
    with pytest.raises(ValueError):
        transfer.frozen_features(bert, data, "max")


def test_probe_separates_separable_features_and_not_noise():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (200,), generator=g)
    x = torch.randn(200, 5, generator=g) + 3 * y[:, None]
    assert transfer.probe_accuracy(x[:100], y[:100], x[100:], y[100:]) >= 0.95
    noise = torch.randn(200, 5, generator=g)
    assert transfer.probe_accuracy(noise[:100], y[:100], noise[100:], y[100:]) <= 0.7


def test_compute_table_ratios_and_the_papers_lower_bound():
    cost = transfer.compute_table(500.0, 192_000, 10.0, 8_000)
    assert cost["seconds_ratio"] == 50 and cost["examples_ratio"] == 24
    assert cost["paper_tpu_hours_ratio_at_least"] == 4 * 24 * 4
    with pytest.raises(ValueError):
        transfer.compute_table(0.0, 1, 1.0, 1)
