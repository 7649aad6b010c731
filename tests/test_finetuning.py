"""The three fine-tuning heads against HF transformers' classes of the same names, freezing, and
encode_texts against BertTokenizerFast."""
import functools

import pytest
import torch
import torch.nn.functional as F

from course_lib.bert import BertConfig, BertModel
from course_lib.finetuning import (
    BertForQuestionAnswering,
    BertForSequenceClassification,
    BertForTokenClassification,
    count_trainable,
    encode_texts,
    freeze_encoder,
    pad_batch,
    to_hf_task_state_dict,
)
from course_lib.pretrained import minilm_file
from course_lib.pretraining import IGNORE_INDEX
from course_lib.wordpiece import WordPieceTokenizer

SIZES = dict(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
             max_position_embeddings=40, type_vocab_size=2)


def hf_config(num_labels=3):
    import transformers

    return transformers.BertConfig(**SIZES, hidden_act="gelu", num_labels=num_labels, attn_implementation="eager")


def encoder(seed=0):
    torch.manual_seed(seed)
    bert = BertModel(BertConfig(**SIZES))
    with torch.no_grad():  # weights far from the init, so a misplaced weight cannot hide
        for parameter in bert.parameters():
            parameter.normal_(0, 0.3)
    return bert


def inputs(batch=4, seq=11, seed=1):
    g = torch.Generator().manual_seed(seed)
    input_ids = torch.randint(1, SIZES["vocab_size"], (batch, seq), generator=g)
    token_type_ids = (torch.arange(seq) >= 6).long().expand(batch, seq).clone()
    lengths = torch.tensor([seq, seq - 3, 5, seq - 1][:batch])
    attention_mask = (torch.arange(seq) < lengths[:, None]).long()
    input_ids[attention_mask == 0] = 0
    token_type_ids[attention_mask == 0] = 0
    return dict(input_ids=input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask), g


def hf_twin(model, name, num_labels=3):
    import transformers

    hf = getattr(transformers, name)(hf_config(num_labels)).eval()
    hf.load_state_dict(to_hf_task_state_dict(model), strict=True)
    return hf


def test_sequence_classification_equals_hf():
    model = BertForSequenceClassification(encoder(), num_labels=3)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 0.5)
    model.eval()
    hf = hf_twin(model, "BertForSequenceClassification")
    batch, g = inputs()
    labels = torch.randint(0, 3, (4,), generator=g)
    ours, theirs = model(**batch, labels=labels), hf(**batch, labels=labels)
    assert ours.logits.shape == (4, 3)
    torch.testing.assert_close(ours.logits, theirs.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.loss, theirs.loss, atol=1e-5, rtol=0)
    assert model(**batch).loss is None
    # the logits are the classifier on the pooled [CLS] state, nothing else
    pooled = model.bert(**batch).pooler_output
    torch.testing.assert_close(ours.logits, model.classifier(pooled))


def test_classification_does_not_depend_on_how_much_padding_follows():
    model = BertForSequenceClassification(encoder(), num_labels=2).eval()
    batch, _ = inputs()
    short = model(**{k: v[:, :8] for k, v in batch.items()}).logits[2]  # row 2 has 5 real tokens
    long_ = model(**batch).logits[2]
    torch.testing.assert_close(short, long_, atol=1e-5, rtol=0)


def test_question_answering_equals_hf_and_positions_are_inclusive():
    model = BertForQuestionAnswering(encoder(1))
    with torch.no_grad():
        model.qa_outputs.weight.normal_(0, 0.5)
    model.eval()
    hf = hf_twin(model, "BertForQuestionAnswering", num_labels=2)  # HF sizes qa_outputs by num_labels
    batch, _ = inputs()
    start, end = torch.tensor([0, 3, 1, 7]), torch.tensor([0, 5, 4, 10])
    ours = model(**batch, start_positions=start, end_positions=end)
    theirs = hf(**batch, start_positions=start, end_positions=end)
    assert ours.start_logits.shape == ours.end_logits.shape == (4, 11)
    for mine, hfs in ((ours.start_logits, theirs.start_logits), (ours.end_logits, theirs.end_logits),
                      (ours.loss, theirs.loss)):
        torch.testing.assert_close(mine, hfs, atol=1e-5, rtol=0)
    by_hand = (F.cross_entropy(ours.start_logits, start) + F.cross_entropy(ours.end_logits, end)) / 2
    torch.testing.assert_close(ours.loss, by_hand)
    assert model(**batch).loss is None


def test_token_classification_equals_hf_over_labelled_positions_only():
    model = BertForTokenClassification(encoder(2), num_labels=5)
    with torch.no_grad():
        model.classifier.weight.normal_(0, 0.5)
    model.eval()
    hf = hf_twin(model, "BertForTokenClassification", num_labels=5)
    batch, g = inputs()
    labels = torch.randint(0, 5, (4, 11), generator=g)
    labels[:, 0] = IGNORE_INDEX
    labels[batch["attention_mask"] == 0] = IGNORE_INDEX
    labels[:, 3] = IGNORE_INDEX  # a continuation piece
    ours, theirs = model(**batch, labels=labels), hf(**batch, labels=labels)
    assert ours.logits.shape == (4, 11, 5)
    torch.testing.assert_close(ours.logits, theirs.logits, atol=1e-5, rtol=0)
    torch.testing.assert_close(ours.loss, theirs.loss, atol=1e-5, rtol=0)
    kept = labels != IGNORE_INDEX
    torch.testing.assert_close(ours.loss, F.cross_entropy(ours.logits[kept], labels[kept]))
    assert ours.loss != F.cross_entropy(ours.logits.flatten(0, 1), labels.clamp(min=0).flatten())
    assert model(**batch, labels=torch.full_like(labels, IGNORE_INDEX)).loss == 0


def test_heads_share_one_encoder_object_and_the_hf_state_dict_has_hf_names():
    bert = encoder()
    heads = [BertForSequenceClassification(bert, 2), BertForQuestionAnswering(bert), BertForTokenClassification(bert, 9)]
    assert all(head.bert is bert for head in heads)
    names = [set(to_hf_task_state_dict(head)) for head in heads]
    assert {"classifier.weight", "classifier.bias", "bert.pooler.dense.weight"} <= names[0]
    assert {"qa_outputs.weight", "qa_outputs.bias"} <= names[1] and "bert.pooler.dense.weight" not in names[1]
    assert "bert.pooler.dense.weight" not in names[2]
    assert heads[0].classifier.bias.abs().sum() == 0 and 0.01 < heads[0].classifier.weight.std() < 0.03  # BERT's init


@pytest.mark.parametrize("make", [lambda b: BertForSequenceClassification(b, 3), BertForQuestionAnswering,
                                  lambda b: BertForTokenClassification(b, 4)])
def test_freeze_encoder_leaves_only_the_head_to_train(make):
    model = make(encoder())
    head = model.qa_outputs if hasattr(model, "qa_outputs") else model.classifier
    total = sum(p.numel() for p in model.parameters())
    assert count_trainable(model) == total
    hidden, outputs = SIZES["hidden_size"], head.out_features
    assert freeze_encoder(model) == hidden * outputs + outputs == count_trainable(model)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    optimiser = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    batch, _ = inputs()
    out = model(**batch)
    (out.start_logits.sum() if hasattr(out, "start_logits") else out.logits.pow(2).sum()).backward()
    optimiser.step()
    changed = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    assert changed == {name for name in before if not name.startswith("bert.")}
    assert not model.bert.pooler.weight.requires_grad


def test_finetuning_errors_say_what_is_wrong():
    bert = encoder()
    model, qa, tagger = BertForSequenceClassification(bert, 3), BertForQuestionAnswering(bert), \
        BertForTokenClassification(bert, 4)
    batch, _ = inputs()
    with pytest.raises(TypeError, match="course_lib.bert.BertModel"):
        BertForSequenceClassification(torch.nn.Linear(2, 2), 3)
    with pytest.raises(ValueError, match="num_labels must be an int >= 2"):
        BertForSequenceClassification(bert, 1)
    with pytest.raises(TypeError, match="integer tensor"):
        model(**batch, labels=torch.zeros(4))
    with pytest.raises(ValueError, match=r"must have shape \(4,\)"):
        model(**batch, labels=torch.zeros(4, 1, dtype=torch.long))
    with pytest.raises(ValueError, match=r"holds 3, outside \[0, 3\)"):
        model(**batch, labels=torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"holds 11, outside \[0, 11\)"):
        qa(**batch, start_positions=torch.tensor([0, 1, 2, 11]), end_positions=torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"holds -1"):
        qa(**batch, start_positions=torch.tensor([0, 1, 2, 3]), end_positions=torch.tensor([0, 1, 2, -1]))
    with pytest.raises(ValueError, match="example 1 ends .token 1. before it starts .token 2."):
        qa(**batch, start_positions=torch.tensor([0, 2, 2, 3]), end_positions=torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match="both start_positions and end_positions"):
        qa(**batch, start_positions=torch.tensor([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"outside \[0, 4\) or -100"):
        tagger(**batch, labels=torch.full((4, 11), 4))
    with pytest.raises(ValueError, match=r"must have shape \(4, 11\)"):
        tagger(**batch, labels=torch.zeros(4, dtype=torch.long))
    for call in (freeze_encoder, to_hf_task_state_dict):
        with pytest.raises(TypeError, match="model.bert"):
            call(torch.nn.Linear(2, 2))
    with pytest.raises(TypeError, match="nn.Module"):
        count_trainable("model")


# ---------------------------------------------------------------------- batching texts = HF
@pytest.fixture(scope="module")
def tokenizers_():
    from transformers import BertTokenizerFast

    return WordPieceTokenizer.from_minilm(), BertTokenizerFast(vocab=str(minilm_file("vocab.txt")))


@functools.cache
def documents():
    from course_lib.data.documents import classification_dataset

    return list(classification_dataset(split="validation")["sentence"][:64])


@pytest.mark.parametrize("max_length", [16, 64, 512])
def test_encode_texts_equals_bert_tokenizer_fast(tokenizers_, max_length):
    ours, hf = tokenizers_
    texts = documents() + ["", "Short one.", "Café Ünïcödé 中文"]
    seconds = [text.split(".")[0] for text in reversed(texts)]
    for b in (None, seconds):
        got = encode_texts(ours, texts, max_length, b)
        want = hf(texts, b, truncation="longest_first", max_length=max_length, padding="longest", return_tensors="pt")
        assert set(got) == {"input_ids", "token_type_ids", "attention_mask"}
        for key, value in got.items():
            assert value.dtype == torch.long and torch.equal(value, want[key]), (key, max_length, b is None)
    assert encode_texts(ours, ["a b c", "a"], 99)["input_ids"].shape == (2, 5)  # to the longest row, not max_length


def test_encode_texts_and_pad_batch_errors(tokenizers_):
    ours, _ = tokenizers_
    with pytest.raises(TypeError, match="list of str"):
        encode_texts(ours, "one text", 8)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str"):
        encode_texts(ours, ["a", 2], 8)
    with pytest.raises(ValueError, match="2 for 1"):
        encode_texts(ours, ["a"], 8, ["b", "c"])
    with pytest.raises(ValueError, match="at least one"):
        encode_texts(ours, [], 8)
    with pytest.raises(ValueError, match="max_length"):
        encode_texts(ours, ["a"], 2, ["b"])
    with pytest.raises(KeyError, match="row 1 has no"):
        pad_batch([{"input_ids": [1]}, {"ids": [2]}], {"input_ids": 0})
    with pytest.raises(ValueError, match="differ in length"):
        pad_batch([{"input_ids": [1], "labels": [1, 2]}], {"input_ids": 0, "labels": -100})
    padded = pad_batch([{"input_ids": [5, 6, 7], "labels": [1, -100, 2]}, {"input_ids": [5], "labels": [0]}],
                       {"input_ids": 0, "labels": IGNORE_INDEX})
    assert padded["labels"].tolist() == [[1, -100, 2], [0, -100, -100]]
