"""Tests of course_lib.full_sentences: FULL-SENTENCES rows hold every sentence once, whole and in
order, as full as the next sentence allows, with a separator exactly where documents change, one
segment and no NSP label (and equal bert_inputs for a single sentence); sentence-order pairs are
consecutive segments of one document, swapped half the time, and plug into mini_bert's pipeline;
the corpus dataset; and the errors a learner meets."""

from __future__ import annotations

import pytest
import torch

from course_lib import mini_bert as mb
from course_lib.full_sentences import IN_ORDER, SWAPPED, full_sentences, full_sentences_dataset, sop_pairs
from course_lib.pretraining import bert_inputs

CLS, SEP, PAD = 2, 3, 0


def random_documents(seed: int, n: int = 40) -> list[list[list[int]]]:
    g = torch.Generator().manual_seed(seed)

    def randint(low: int, high: int) -> int:
        return int(torch.randint(low, high, (1,), generator=g))

    return [[[randint(5, 100) for _ in range(randint(1, 15))] for _ in range(randint(1, 8))] for _ in range(n)]


def unpack(row: dict[str, list[int]]) -> list[list[int]]:
    """A row's documents: the tokens between [CLS] and the final [SEP], split at the separators."""
    length = sum(row["attention_mask"])
    content, special = row["input_ids"][1:length - 1], row["special_tokens_mask"][1:length - 1]
    parts: list[list[int]] = [[]]
    for token, is_special in zip(content, special):
        if is_special:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


@pytest.mark.parametrize("seed, max_length", [(0, 32), (1, 17), (2, 64), (3, 128)])
def test_rows_hold_every_sentence_whole_in_order_and_as_full_as_possible(seed, max_length):
    documents = random_documents(seed)
    out = full_sentences(documents, max_length, CLS, SEP, PAD)
    sentences = [(d, sentence) for d, document in enumerate(documents) for sentence in document]
    k = 0  # the next sentence to find
    previous_document = None
    for r, row in enumerate(out):
        assert all(len(row[key]) == max_length for key in row) and set(row) == {
            "input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"}  # no next_sentence_label
        assert row["input_ids"][0] == CLS and row["token_type_ids"] == [0] * max_length  # no segment B
        length = sum(row["attention_mask"])
        assert row["input_ids"][length - 1] == SEP and row["input_ids"][length:] == [PAD] * (max_length - length)
        for p, part in enumerate(unpack(row)):
            document = sentences[k][0]
            if p:  # a separator inside a row: exactly where one document ends and the next begins
                assert document != previous_document
            while part:  # a part is whole sentences of one document, in order
                d, sentence = sentences[k]
                assert d == document and part[:len(sentence)] == sentence
                part, k, previous_document = part[len(sentence):], k + 1, d
            assert k == len(sentences) or sentences[k][0] != document or p == len(unpack(row)) - 1
        if k < len(sentences):  # the next sentence did not fit
            boundary = sentences[k][0] != sentences[k - 1][0]
            assert length - 2 + boundary + len(sentences[k][1]) > max_length - 2
    assert k == len(sentences)  # every sentence once


def test_rows_cross_documents_with_one_separator():
    out = full_sentences([[[10, 11], [12]], [[20, 21]], [[30]]], 12, CLS, SEP, PAD, padding=False)
    assert out == [{"input_ids": [CLS, 10, 11, 12, SEP, 20, 21, SEP, 30, SEP],
                    "token_type_ids": [0] * 10, "attention_mask": [1] * 10,
                    "special_tokens_mask": [1, 0, 0, 0, 1, 0, 0, 1, 0, 1]}]


def test_one_sentence_is_bert_inputs_of_one_segment():
    sentence = list(range(10, 30))
    assert full_sentences([[sentence]], 32, CLS, SEP, PAD) == [bert_inputs(sentence, None, 32, CLS, SEP, PAD)]


def test_a_sentence_longer_than_a_row_is_cut_and_empty_ones_skipped():
    out = full_sentences([[[7, 8], [], list(range(10, 30)), [9]]], 8, CLS, SEP, PAD)
    assert [row["input_ids"] for row in out] == [[CLS, 7, 8, SEP, PAD, PAD, PAD, PAD],
                                                 [CLS, 10, 11, 12, 13, 14, 15, SEP],
                                                 [CLS, 9, SEP, PAD, PAD, PAD, PAD, PAD]]


def test_sop_pairs_are_consecutive_segments_swapped_half_the_time():
    documents = random_documents(4, n=300)
    for k in (1, 2):
        pairs = sop_pairs(documents, torch.Generator().manual_seed(k), sentences_per_segment=k)
        windows = {}  # (first segment, second segment) of each document's consecutive windows
        for document in documents:
            for start in range(0, len(document) - 2 * k + 1, k):
                first = [t for s in document[start:start + k] for t in s]
                second = [t for s in document[start + k:start + 2 * k] for t in s]
                windows[(tuple(first), tuple(second))] = True
        assert len(pairs) == sum(max(0, (len(d) - 2 * k) // k + 1) for d in documents)
        for a, b, label in pairs:
            assert label in (IN_ORDER, SWAPPED)
            assert ((tuple(a), tuple(b)) if label == IN_ORDER else (tuple(b), tuple(a))) in windows
        swapped = sum(label for *_, label in pairs)
        assert abs(swapped / len(pairs) - 0.5) < 4 * (0.25 / len(pairs)) ** 0.5
    assert all(label == IN_ORDER for *_, label in sop_pairs(documents, torch.Generator(), swap_probability=0.0))


def test_sop_pairs_plug_into_the_pretraining_dataset():
    tokenizer = mb.train_vocabulary(400)
    dataset = mb.pretraining_dataset(tokenizer, "validation", n_documents=30, make_pairs=sop_pairs)
    labels = dataset["next_sentence_label"]
    assert set(labels) == {IN_ORDER, SWAPPED} and len(labels) > 100


def test_corpus_dataset_packs_the_documents_in_order():
    tokenizer = mb.train_vocabulary()  # lesson 07's: words whole, so pairs are not truncated either
    dataset = full_sentences_dataset(tokenizer, "validation", max_length=64, n_documents=30)
    assert dataset.column_names == ["input_ids", "token_type_ids", "attention_mask", "special_tokens_mask"]
    from course_lib.data.documents import document_corpus

    words = document_corpus(split="validation")["words"][:30]
    tokens = [i for document in words for sentence in document for word in sentence for i in tokenizer.encode(word)]
    content = [t for row in dataset for t, s in zip(row["input_ids"], row["special_tokens_mask"]) if not s]
    assert content == tokens  # the documents' tokens, all of them, in order (the sentences are shorter than a row)
    fill = sum(map(sum, dataset["attention_mask"])) / (64 * len(dataset))
    pairs = mb.pretraining_dataset(tokenizer, "validation", n_documents=30)
    assert fill > sum(map(sum, pairs["attention_mask"])) / (64 * len(pairs)) and len(dataset) < len(pairs) / 2


def test_errors_say_what_to_pass():
    with pytest.raises(ValueError, match="max_length must be an int >= 3"):
        full_sentences([[[5]]], 2, CLS, SEP, PAD)
    with pytest.raises(TypeError, match="tokenize it first"):
        full_sentences([["a sentence"]], 8, CLS, SEP, PAD)
    with pytest.raises(TypeError, match="list of sentences"):
        full_sentences(["a document"], 8, CLS, SEP, PAD)
    with pytest.raises(ValueError, match="swap_probability"):
        sop_pairs([[[5], [6]]], torch.Generator(), swap_probability=2)
    with pytest.raises(TypeError, match="WordPieceTokenizer"):
        full_sentences_dataset("bert-base-uncased")
