"""Tests of course_lib.mini_bert and course_lib.mlm_probes: the vocabulary and the pretraining data,
pretraining that lowers the loss and honours its objective and mask function, MLM accuracy that
counts only the chosen positions on masks shared by every arm, a left-to-right LM that cannot see
the future, a right-context test set whose blanks only the right context decides, the no-[MASK]
probe, the NSP curve, the shipped checkpoint (checksums, floors, HF transformers reads it as we do)
and the errors a learner meets. Models here are tiny and train for a few dozen steps."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from dataclasses import asdict

import pytest
import torch
from torch import nn

from course_lib import mini_bert as mb
from course_lib import mlm_probes as mp
from course_lib.bert import BertPreTrainingOutput
from course_lib.data.documents import document_corpus, fillers, is_grammatical
from course_lib.data.english_grammar import surface
from course_lib.pretraining import IGNORE_INDEX, mask_tokens
from course_lib.wordpiece import SPECIAL_TOKENS, WordPieceTokenizer, train_wordpiece

TINY = mb.Recipe(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)

# Floors for the shipped checkpoint, with margin under what it reached (assets/mini_bert/recipe.json):
# held-out MLM accuracy 0.800, NSP accuracy 0.897 (other-document negatives), right-context accuracy 0.961.
MLM_FLOOR, NSP_FLOOR, RIGHT_CONTEXT_FLOOR = 0.75, 0.85, 0.9


@pytest.fixture(scope="module")
def tokenizer() -> WordPieceTokenizer:
    return mb.train_vocabulary()


@pytest.fixture(scope="module")
def train_pairs(tokenizer):
    return mb.pretraining_dataset(tokenizer, n_documents=60)


@pytest.fixture(scope="module")
def held_out(tokenizer):
    return mb.pretraining_dataset(tokenizer, "validation", n_documents=40)


class Recorder(nn.Module):
    """A stand-in BERT whose MLM head predicts the token it is given (identity) and records its inputs."""

    def __init__(self, vocab_size: int) -> None:
        super().__init__()
        self.config = TINY.config(vocab_size)
        self.seen: list[tuple[torch.Tensor, torch.Tensor | None]] = []

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None, next_sentence_label=None):
        self.seen.append((input_ids.clone(), None if labels is None else labels.clone()))
        logits = nn.functional.one_hot(input_ids, self.config.vocab_size).float()
        if labels is not None:
            logits = logits[labels != IGNORE_INDEX]
        return BertPreTrainingOutput(None, None, None, logits, torch.zeros(len(input_ids), 2))


# --- the vocabulary and the data ----------------------------------------------------------------


def test_vocabulary_starts_with_the_special_tokens_and_covers_the_corpus(tokenizer):
    assert tokenizer.ids_to_tokens[: len(SPECIAL_TOKENS)] == list(SPECIAL_TOKENS)
    assert len(tokenizer) == mb.RECIPE.vocab_size and tokenizer.lowercase
    assert (mb.PAD_ID, mb.CLS_ID, mb.SEP_ID, mb.MASK_ID) == (tokenizer.pad_token_id, tokenizer.cls_token_id,
                                                            tokenizer.sep_token_id, tokenizer.mask_token_id)
    for word in ("the", "dog", "barks", "owls", "arrives", "she"):
        assert tokenizer.tokenize(word) == [word]
    assert len(tokenizer.tokenize("Quillfeather")) > 1  # a rare surname stays in pieces
    assert len(mb.train_vocabulary(2000)) == 1440  # at 1,440 entries every word of the corpus is whole
    assert "[UNK]" not in tokenizer.tokenize(document_corpus(split="test")["text"][0])


def test_vocabulary_uses_the_trainer_it_is_given():
    calls = []

    def trainer(word_counts, vocab_size):
        calls.append((len(word_counts), vocab_size))
        return train_wordpiece(word_counts, vocab_size)

    assert len(mb.train_vocabulary(600, trainer=trainer)) == 600
    assert calls == [(437, 600)]  # the corpus's distinct lowercased words
    with pytest.raises(ValueError, match="start with the special tokens"):
        mb.train_vocabulary(600, trainer=lambda counts, size: ["[UNK]", *train_wordpiece(counts, size)[5:]])


def test_pretraining_dataset_rows_are_bert_inputs_of_the_documents(tokenizer, train_pairs):
    assert set(mb.COLUMNS) == set(train_pairs.column_names)
    row = train_pairs[0]
    assert all(len(row[c]) == 64 for c in mb.COLUMNS[:-1])
    first = document_corpus(split="train")[0]["sentences"]
    a, b = tokenizer.encode(first[0]), tokenizer.encode(first[1])
    assert row["input_ids"][: len(a) + 2] == [mb.CLS_ID, *a, mb.SEP_ID]
    if row["next_sentence_label"] == 0:  # B is the real next sentence
        assert row["input_ids"][len(a) + 2: len(a) + len(b) + 3] == [*b, mb.SEP_ID]
    for document in document_corpus(split="train").select(range(200)):  # why the dataset may encode word by word
        for sentence, words in zip(document["sentences"], document["words"]):
            assert tokenizer.encode(sentence) == [i for word in words for i in tokenizer.encode(word)]
    labels = train_pairs["next_sentence_label"]
    assert 0.4 < sum(labels) / len(labels) < 0.6
    again = mb.pretraining_dataset(tokenizer, n_documents=60)
    assert again["input_ids"] == train_pairs["input_ids"] and again["next_sentence_label"] == labels
    other = mb.pretraining_dataset(tokenizer, n_documents=60, seed=1)
    assert other["input_ids"] != train_pairs["input_ids"]


def test_same_topic_negatives_keep_the_topic(tokenizer):
    topics = defaultdict(set)  # sentence ids -> the topics of the documents it occurs in
    for document in document_corpus(split="validation").select(range(40)):
        for sentence in document["sentences"]:
            topics[tuple(tokenizer.encode(sentence))].add(document["topic"])
    shares = {}
    for make_pairs in (None, exercise_pairs):  # nsp_pairs' own option, and the exercise's pairs run per topic
        for negatives in ("same_topic", "other_document"):
            rows = mb.pretraining_dataset(tokenizer, "validation", negatives=negatives, n_documents=40,
                                          make_pairs=make_pairs)
            same = []
            for ids, label in zip(rows["input_ids"], rows["next_sentence_label"]):
                first, second = [i for i, token in enumerate(ids) if token == mb.SEP_ID]
                a, b = tuple(ids[1:first]), tuple(ids[first + 1:second])
                if label == 1 and len(topics[a]) == len(topics[b]) == 1:  # sentences only one topic tells
                    same.append(topics[a] == topics[b])
            shares[negatives, make_pairs] = sum(same) / len(same)
        assert shares["same_topic", make_pairs] == 1.0 and shares["other_document", make_pairs] < 0.3, shares


def exercise_pairs(documents, generator):
    """Lesson 07's nsp_pairs: lists of sentences in, (tokens_a, tokens_b, next_sentence_label) triples out."""
    from course_lib.pretraining import nsp_pairs

    return [(p.tokens_a, p.tokens_b, p.next_sentence_label) for p in nsp_pairs(documents, generator)]


def test_within_topics_runs_the_pairs_on_each_topic_and_keeps_the_document_order():
    documents = [[[10 * d + s] for s in range(n)] for d, n in enumerate([3, 2, 4, 1, 3, 0])]
    topics = ["x", "y", "x", "y", "y", "x"]
    calls = []

    def recording(docs, generator):
        calls.append([doc[0][0] // 10 if doc else None for doc in docs])
        return exercise_pairs(docs, generator)

    pairs = mb.within_topics(recording, documents, topics, torch.Generator().manual_seed(0))
    assert calls == [[0, 2, None], [1, 3, 4]]  # topics in order of first appearance, each with only its documents
    assert [a[0] // 10 for a, _, _ in pairs] == [0, 0, 1, 2, 2, 2, 4, 4]  # one pair per sentence but the last
    assert [a[0] for a, _, _ in pairs] == [0, 1, 10, 20, 21, 22, 40, 41]
    for a, b, label in pairs:
        assert topics[b[0] // 10] == topics[a[0] // 10] and (label == 1) == (b[0] != a[0] + 1)
    again = mb.within_topics(exercise_pairs, documents, topics, torch.Generator().manual_seed(0))
    assert again == pairs and 1 in [label for *_, label in pairs]
    with pytest.raises(ValueError, match="one pair per such sentence"):
        mb.within_topics(lambda docs, g: exercise_pairs(docs, g)[1:], documents, topics, torch.Generator())
    with pytest.raises(ValueError, match="one topic per document"):
        mb.within_topics(exercise_pairs, documents, topics[:-1], torch.Generator())


def test_pretraining_dataset_uses_the_encoder_it_is_given(tokenizer):
    from course_lib.pretraining import bert_inputs

    calls = []

    def encode(a, b, max_length, cls_id, sep_id, pad_id):
        calls.append(max_length)
        return bert_inputs(a, b, max_length, cls_id, sep_id, pad_id)

    rows = mb.pretraining_dataset(tokenizer, n_documents=10, max_length=48, encode=encode)
    assert len(calls) == len(rows) and set(calls) == {48}
    with pytest.raises(ValueError, match="encode must return"):
        mb.pretraining_dataset(tokenizer, n_documents=10, encode=lambda a, b, *ids: {"input_ids": a + b})


def test_pretraining_dataset_uses_the_pairs_it_is_given(tokenizer):
    from course_lib.pretraining import nsp_pairs

    seen = []

    def triples(documents, generator):  # the exercise's nsp_pairs: lists of sentences in, triples out
        seen.append(documents)
        return [(p.tokens_a, p.tokens_b, p.next_sentence_label) for p in nsp_pairs(documents, generator)]

    ours = mb.pretraining_dataset(tokenizer, n_documents=10, make_pairs=triples)
    assert seen and all(isinstance(s, list) and all(isinstance(i, int) for i in s[0]) for d in seen for s in d)
    assert ours.to_dict() == mb.pretraining_dataset(tokenizer, n_documents=10).to_dict()
    flipped = mb.pretraining_dataset(tokenizer, n_documents=10,
                                     make_pairs=lambda d, g: [(a, b, 1 - y) for a, b, y in triples(d, g)])
    assert [1 - y for y in flipped["next_sentence_label"]] == ours["next_sentence_label"]
    with pytest.raises(ValueError, match="triples"):
        mb.pretraining_dataset(tokenizer, n_documents=10, make_pairs=lambda d, g: [(d[0][0], d[0][1])])
    with pytest.raises(ValueError, match="make_pairs"):
        mb.pretraining_dataset(tokenizer, n_documents=10, sentences_per_segment=2, make_pairs=triples)


# --- pretraining --------------------------------------------------------------------------------


def test_pretrain_lowers_the_loss(tokenizer, train_pairs):
    model = mb.new_model(len(tokenizer), TINY)
    history = mb.pretrain(model, train_pairs, 80, lr=3e-3, plot=False)
    assert len(history.losses) == 80 and not model.training
    first, last = sum(history.losses[:10]) / 10, sum(history.losses[-10:]) / 10
    assert last < first - 1.0, (first, last)


def test_mlm_objective_leaves_the_nsp_head_alone_and_uses_the_mask_function(tokenizer, train_pairs):
    model = mb.new_model(len(tokenizer), TINY)
    before = {name: p.clone() for name, p in model.named_parameters()}
    calls = []

    def mask_fn(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator):
        calls.append((vocab_size, mask_token_id))
        return mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator)

    mb.pretrain(model, train_pairs, 5, mask_fn=mask_fn, objective="mlm", plot=False)
    assert calls == [(len(tokenizer), mb.MASK_ID)] * 5
    for name, p in model.named_parameters():
        assert torch.equal(p, before[name]) == name.startswith(("nsp_head.", "bert.pooler.")), name


def test_batches_are_the_same_rows_in_the_same_order_whatever_the_masking(tokenizer, train_pairs):
    masked = mb.batches(train_pairs, 16, 3, len(tokenizer))
    plain = mb.batches(train_pairs, 16, 3, len(tokenizer), mask_fn=None)
    for step in range(40):  # past the end of the first epoch
        a, b = masked(step), plain(step)
        assert "labels" in a and "labels" not in b
        assert torch.equal(a["next_sentence_label"], b["next_sentence_label"])
        assert torch.equal(a["attention_mask"], b["attention_mask"])
        kept = a["labels"] == IGNORE_INDEX
        assert torch.equal(a["input_ids"][kept], b["input_ids"][kept])
        assert torch.equal(a["labels"][~kept], b["input_ids"][~kept])
    assert a["input_ids"].shape[1] == int(b["attention_mask"].sum(1).max())  # cut after the longest row


# --- evaluation ---------------------------------------------------------------------------------


def test_mlm_accuracy_counts_only_the_chosen_positions(tokenizer, held_out):
    identity = Recorder(len(tokenizer))
    accuracy = mb.mlm_accuracy(identity, held_out, n=200)
    inputs = torch.cat([ids[labels != IGNORE_INDEX] for ids, labels in identity.seen])
    targets = torch.cat([labels[labels != IGNORE_INDEX] for _, labels in identity.seen])
    assert accuracy == pytest.approx((inputs == targets).float().mean().item())
    assert 0.05 < accuracy < 0.2  # about the 10% of chosen tokens left as they are, not the 85% never chosen
    assert mb.mlm_accuracy(identity, held_out, n=200, mask_fn=mp.mask_always) == 0.0


def test_every_arm_is_scored_on_the_same_masks(tokenizer, held_out):
    first, second = Recorder(len(tokenizer)), Recorder(len(tokenizer))
    mb.mlm_accuracy(first, held_out, n=300, seed=5)
    mb.mlm_accuracy(second, held_out, n=300, seed=5)
    assert len(first.seen) == 2
    for (ids_a, labels_a), (ids_b, labels_b) in zip(first.seen, second.seen):
        assert torch.equal(ids_a, ids_b) and torch.equal(labels_a, labels_b)
    third = Recorder(len(tokenizer))
    mb.mlm_accuracy(third, held_out, n=300, seed=6)
    assert not torch.equal(third.seen[0][1], first.seen[0][1])


def test_nsp_accuracy_and_fill_in_the_blank(tokenizer, held_out):
    labels = held_out["next_sentence_label"]
    always_is_next = Recorder(len(tokenizer))  # its NSP logits are (0, 0): argmax says IsNext (0)
    assert mb.nsp_accuracy(always_is_next, held_out) == pytest.approx(labels.count(0) / len(labels))
    assert mb.nsp_accuracy(always_is_next, held_out, n=7) == pytest.approx(labels[:7].count(0) / 7)
    model = mb.new_model(len(tokenizer), TINY)
    table = mp.fill_in_the_blank(model, tokenizer, ["The [MASK] barks at the sheep.", "[MASK] bakes bread.",
                                                    ("Ulric guides the flock.", "The [MASK] barks at the sheep.")], k=4)
    assert [len(row) for row in table] == [4, 4, 4]
    ids = [tokenizer.cls_token_id, *tokenizer.encode("The [MASK] barks at the sheep."), tokenizer.sep_token_id]
    with torch.no_grad():  # [CLS] A [SEP] alone, no padding: what the model is asked (padded: 4e-4 off, relative)
        expected = model(torch.tensor([ids])).mlm_logits[0, ids.index(tokenizer.mask_token_id)].softmax(-1).topk(4)
    assert [p for _, p in table[0]] == pytest.approx(expected.values.tolist(), rel=1e-5, abs=0)
    for row in table:
        probabilities = [p for _, p in row]
        assert probabilities == sorted(probabilities, reverse=True) and sum(probabilities) <= 1.0 + 1e-6
        assert all(isinstance(token, str) for token, _ in row)


# --- left to right ------------------------------------------------------------------------------


def test_left_to_right_lm_cannot_see_the_future(tokenizer):
    torch.manual_seed(0)
    l2r, bert = mp.LeftToRightLM(TINY.config(len(tokenizer))), mb.new_model(len(tokenizer), TINY)
    ids = torch.randint(5, len(tokenizer), (2, 12))
    later = ids.clone()
    later[:, 7] = (ids[:, 7] + 1 - 5) % (len(tokenizer) - 5) + 5
    with torch.no_grad():
        before, after = l2r(ids).logits, l2r(later).logits
        assert torch.equal(before[:, :7], after[:, :7])
        assert not torch.allclose(before[:, 7:], after[:, 7:])
        assert not torch.allclose(bert(ids).mlm_logits[:, :7], bert(later).mlm_logits[:, :7])  # BERT does see it


def test_left_to_right_lm_starts_as_bert_does(tokenizer):
    torch.manual_seed(0)
    l2r = mp.LeftToRightLM(TINY.config(len(tokenizer)))
    bert = mb.new_model(len(tokenizer), TINY, seed=0)
    assert all(torch.equal(p, q) for p, q in zip(l2r.bert.parameters(), bert.bert.parameters()))
    assert l2r.lm_head.decoder.weight is l2r.bert.embeddings.word_embeddings.weight


def test_left_to_right_loss_is_next_token_cross_entropy_over_real_tokens(tokenizer):
    torch.manual_seed(1)
    model = mp.LeftToRightLM(TINY.config(len(tokenizer)))
    ids = torch.randint(5, len(tokenizer), (2, 9))
    real = torch.ones_like(ids)
    real[1, 6:] = 0
    out = model(ids, attention_mask=real, labels=ids.masked_fill(real == 0, IGNORE_INDEX))
    logits = model(ids, attention_mask=real).logits
    expected = nn.functional.cross_entropy(torch.cat([logits[0, :-1], logits[1, :5]]),
                                           torch.cat([ids[0, 1:], ids[1, 1:6]]))
    assert out.logits.shape == (8 + 5, len(tokenizer))
    assert out.loss.item() == pytest.approx(expected.item(), rel=1e-5)


def test_pretrain_left_to_right_lowers_the_loss(tokenizer, train_pairs):
    torch.manual_seed(0)
    model = mp.LeftToRightLM(TINY.config(len(tokenizer)))
    history = mp.pretrain_left_to_right(model, train_pairs, 60, lr=3e-3, plot=False)
    assert sum(history.losses[-10:]) / 10 < sum(history.losses[:10]) / 10 - 1.0


@pytest.fixture(scope="module")
def items(tokenizer):
    return mp.right_context_items(tokenizer)


def test_right_context_items_are_decided_by_the_right_context_only(tokenizer, items):
    assert len(items) > 300
    endings = defaultdict(set)  # topic -> (the words from the blank on, the answer)
    for item in items:
        endings[item.topic].add((item.words[item.index:], item.answer))
    for words, index, topic in {(item.words, item.index, item.topic) for item in items}:
        assert fillers(list(words), index) == [words[index]]  # with the words after it, one word fits
        others = {answer for ending, answer in endings[topic]
                  if answer != words[index] and is_grammatical(surface([*words[:index], *ending])[0])}
        assert len(others) >= 2, (words, others)  # with the words before it alone, several do


def test_right_context_accuracy_reads_the_left_or_both_sides(tokenizer, items):
    answers = {tokenizer.convert_tokens_to_ids(item.answer) for item in items}

    def oracle_logits(input_ids: torch.Tensor, shift: int) -> torch.Tensor:
        """All mass on each answer word in the input, at its position (shift 0) or the one before (-1)."""
        logits = torch.zeros(*input_ids.shape, len(tokenizer))
        for position, token in enumerate(input_ids[0].tolist()):
            if token in answers:
                logits[0, position + shift, token] = 1.0
        return logits

    class LeftOracle(mp.LeftToRightLM):
        def __init__(self) -> None:
            nn.Module.__init__(self)

        def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None):
            return mp.LeftToRightOutput(None, oracle_logits(input_ids, -1))

    class BidirectionalOracle(nn.Module):
        def forward(self, input_ids, token_type_ids=None, attention_mask=None):
            return BertPreTrainingOutput(None, None, None, oracle_logits(input_ids, 0), torch.zeros(1, 2))

    # scored at the position before the blank, with the word in the input: a model that peeks scores 1
    assert mp.right_context_accuracy(LeftOracle(), tokenizer, items[:40]) == 1.0
    # BERT's input has [MASK] in the blank: copying the input cannot find the answer
    assert mp.right_context_accuracy(BidirectionalOracle(), tokenizer, items[:40]) == 0.0


# --- 100% [MASK] against 80/10/10 ---------------------------------------------------------------


def test_mask_always_masks_the_positions_mask_tokens_chooses():
    ids = torch.randint(5, 100, (4, 30))
    special = torch.zeros_like(ids)
    special[:, 0] = special[:, -1] = 1
    ours, labels = mp.mask_always(ids, special, 100, 4, torch.Generator().manual_seed(2))
    _, theirs = mask_tokens(ids, special, 100, 4, torch.Generator().manual_seed(2))
    chosen = labels != IGNORE_INDEX
    assert torch.equal(labels, theirs) and chosen.any()
    assert (ours[chosen] == 4).all() and torch.equal(ours[~chosen], ids[~chosen])


def test_unmasked_accuracy_shows_no_mask_and_scores_identity_and_correction(tokenizer, held_out):
    identity = Recorder(len(tokenizer))
    scores = mp.unmasked_accuracy(identity, held_out, n=200, seed=3)
    assert scores == {"identity": 1.0, "correction": 0.0}
    clean, corrupted = identity.seen[0][0], identity.seen[1][0]
    assert not (clean == mb.MASK_ID).any() and not (corrupted == mb.MASK_ID).any()
    changed = clean != corrupted
    assert 0.08 < changed.sum() / (clean >= len(SPECIAL_TOKENS)).sum() < 0.22
    assert (corrupted[changed] >= len(SPECIAL_TOKENS)).all()


# --- the shipped checkpoint ---------------------------------------------------------------------


def test_checkpoint_round_trip(tokenizer, tmp_path):
    model = mb.new_model(len(tokenizer), TINY)
    mb.save_mini_bert(model, tokenizer, TINY, {"note": 1.0}, tmp_path)
    loaded, loaded_tokenizer = mb.load_mini_bert(tmp_path)
    assert loaded_tokenizer.ids_to_tokens == tokenizer.ids_to_tokens
    assert loaded.mlm_head.decoder.weight is loaded.bert.embeddings.word_embeddings.weight
    ours, theirs = model.state_dict(), loaded.state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    record = json.loads((tmp_path / "recipe.json").read_text())
    assert record["recipe"]["hidden_size"] == 32 and record["figures"] == {"note": 1.0}


def test_checkpoint_checksums_are_verified(tmp_path):
    copy = tmp_path / "mini_bert"
    shutil.copytree(mb.ASSET_DIR, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[-1] ^= 1
    (copy / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(ValueError, match="sha256"):
        mb.load_mini_bert(copy)
    (copy / "vocab.txt").unlink()
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        mb.load_mini_bert(copy)


@pytest.fixture(scope="module")
def shipped():
    return mb.load_mini_bert()


def test_shipped_checkpoint_reaches_its_floors(shipped):
    model, tokenizer = shipped
    record = json.loads((mb.ASSET_DIR / "recipe.json").read_text())
    assert record["recipe"] == asdict(mb.RECIPE)  # the recipe in the code made these weights
    held_out = mb.pretraining_dataset(tokenizer, "validation")
    mlm = mb.mlm_accuracy(model, held_out, n=2000)
    assert mlm == pytest.approx(record["figures"]["mlm_accuracy_validation"], abs=1e-6)
    assert mlm >= MLM_FLOOR
    assert mb.nsp_accuracy(model, held_out) >= NSP_FLOOR
    assert mp.right_context_accuracy(model, tokenizer, mp.right_context_items(tokenizer)) >= RIGHT_CONTEXT_FLOOR


def test_transformers_reads_the_checkpoint_as_we_do(shipped):
    transformers = pytest.importorskip("transformers")
    model, tokenizer = shipped
    theirs = transformers.BertForPreTraining.from_pretrained(str(mb.ASSET_DIR)).eval()
    ids = torch.tensor([[mb.CLS_ID, *tokenizer.encode("The dog barks at the [MASK]."), mb.SEP_ID]])
    with torch.no_grad():
        ours, hf = model(ids), theirs(ids)
    torch.testing.assert_close(ours.mlm_logits, hf.prediction_logits, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(ours.nsp_logits, hf.seq_relationship_logits, atol=1e-4, rtol=1e-4)


# --- errors -------------------------------------------------------------------------------------


def test_clear_errors(tokenizer, train_pairs, held_out, items):
    model = mb.new_model(len(tokenizer), TINY)
    with pytest.raises(ValueError, match="vocab_size"):
        mb.train_vocabulary(0)
    with pytest.raises(ValueError, match="objective"):
        mb.pretrain(model, train_pairs, 1, objective="sop", plot=False)
    with pytest.raises(ValueError, match="steps"):
        mb.pretrain(model, train_pairs, 0, plot=False)
    with pytest.raises(ValueError, match="lr"):
        mb.pretrain(model, train_pairs, 1, lr=-1.0, plot=False)
    with pytest.raises(ValueError, match="batch_size"):
        mb.pretrain(model, train_pairs, 1, batch_size=0, plot=False)
    with pytest.raises(TypeError, match="columns"):
        mb.pretrain(model, [{"input_ids": [2, 3]}], 1, plot=False)
    no_nsp = train_pairs.remove_columns("next_sentence_label")  # FULL-SENTENCES rows: MLM only
    mb.pretrain(model, no_nsp, 1, objective="mlm", plot=False)
    with pytest.raises(KeyError, match="objective='mlm'"):
        mb.pretrain(model, no_nsp, 1, plot=False)
    with pytest.raises(TypeError, match="next_sentence_label"):
        mb.nsp_accuracy(model, no_nsp)
    with pytest.raises(ValueError, match="negatives"):
        mb.pretraining_dataset(tokenizer, negatives="random")
    with pytest.raises(ValueError, match="split"):
        mb.pretraining_dataset(tokenizer, split="dev")
    with pytest.raises(TypeError, match="WordPieceTokenizer"):
        mb.pretraining_dataset(tokenizer.vocab)
    with pytest.raises(ValueError, match="max_length"):
        mb.pretraining_dataset(tokenizer, max_length=2)
    foreign = held_out.map(lambda row: {"input_ids": [101] + row["input_ids"][1:]})
    with pytest.raises(ValueError, match="mask_token_id"):
        mb.mlm_accuracy(model, foreign)
    with pytest.raises(ValueError, match="n must be"):
        mb.mlm_accuracy(model, held_out, n=0)
    with pytest.raises(ValueError, match="exactly one"):
        mp.fill_in_the_blank(model, tokenizer, ["the dog barks."])
    with pytest.raises(ValueError, match="exactly one"):
        mp.fill_in_the_blank(model, tokenizer, ["the [MASK] [MASK] barks."])
    with pytest.raises(TypeError, match="list"):
        mp.fill_in_the_blank(model, tokenizer, "the [MASK] barks.")
    with pytest.raises(ValueError, match="items is empty"):
        mp.right_context_accuracy(model, tokenizer, [])
    with pytest.raises(TypeError, match="LeftToRightLM"):
        mp.pretrain_left_to_right(model, train_pairs, 1, plot=False)
    with pytest.raises(ValueError, match="positions"):
        too_long = torch.zeros(1, TINY.max_position_embeddings + 1, dtype=torch.long)
        mp.LeftToRightLM(TINY.config(len(tokenizer)))(too_long)
    with pytest.raises(ValueError, match="replace_probability"):
        mp.unmasked_accuracy(model, held_out, replace_probability=0.0)
