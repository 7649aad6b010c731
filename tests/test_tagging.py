"""First-subword tagging against HF's word_ids on the course's tagging corpus, and entity scoring
against seqeval."""
import functools
import random

import pytest
import torch

from course_lib.data.documents import NER_TAGS
from course_lib.pretrained import minilm_file
from course_lib.pretraining import IGNORE_INDEX
from course_lib.tagging import align_labels, entities, entity_f1, entity_scores, tagging_features, word_predictions
from course_lib.wordpiece import WordPieceTokenizer

B_PER, I_PER = NER_TAGS.index("B-PER"), NER_TAGS.index("I-PER")


@pytest.fixture(scope="module")
def tokenizer():
    return WordPieceTokenizer.from_minilm()


@functools.cache
def corpus():
    from course_lib.data.documents import tagging_dataset

    data = tagging_dataset(split="validation")
    return list(zip(data["tokens"], data["ner_tags"]))


# ---------------------------------------------------------------------- labels on first pieces
def test_only_the_first_piece_of_each_word_is_labelled(tokenizer):
    words, labels = ["Marisol", "Okonkwo", "bakes", "."], [B_PER, I_PER, 0, 0]
    features = tagging_features(tokenizer, words, labels, 32)
    pieces = tokenizer.convert_ids_to_tokens(features["input_ids"])
    assert pieces[0] == "[CLS]" and pieces[-1] == "[SEP]" and len(pieces) > len(words) + 2  # some word is split
    expected, seen = [], set()
    for w in features["word_ids"]:
        expected.append(IGNORE_INDEX if w is None or w in seen else labels[w])
        seen.add(w)
    assert features["labels"] == expected
    okonkwo = [k for k, w in enumerate(features["word_ids"]) if w == 1]
    assert len(okonkwo) > 1 and features["labels"][okonkwo[0]] == I_PER
    assert all(features["labels"][k] == IGNORE_INDEX for k in okonkwo[1:])  # not I-PER, not the word's label
    assert features["labels"][0] == features["labels"][-1] == IGNORE_INDEX  # [CLS], [SEP]
    assert align_labels([None, 0, 1, 1, 1, 2, None, None], [B_PER, I_PER, 0]) == [
        IGNORE_INDEX, B_PER, I_PER, IGNORE_INDEX, IGNORE_INDEX, 0, IGNORE_INDEX, IGNORE_INDEX]
    # a B- word in pieces: the continuation is not turned into I-
    assert align_labels([0, 0, 1], [B_PER, 0]) == [B_PER, IGNORE_INDEX, 0]


def test_tagging_features_equal_hf_on_the_corpus_and_every_word_is_labelled_once(tokenizer):
    from transformers import BertTokenizerFast

    hf = BertTokenizerFast(vocab=str(minilm_file("vocab.txt")))
    split_words, truncated_some = 0, 0
    for max_length in (512, 12):
        for words, labels in corpus()[:1500]:
            features = tagging_features(tokenizer, words, labels, max_length)
            want = hf(words, is_split_into_words=True, truncation=True, max_length=max_length)
            assert features["input_ids"] == want["input_ids"] and features["word_ids"] == want.word_ids()
            assert features["attention_mask"] == [1] * len(want["input_ids"]) == [1 - t for t in want["token_type_ids"]]
            kept = sorted({w for w in features["word_ids"] if w is not None})
            assert kept + features["truncated"] == list(range(len(words)))
            labelled = [(w, label) for w, label in zip(features["word_ids"], features["labels"]) if label != IGNORE_INDEX]
            assert labelled == [(w, labels[w]) for w in kept]
            split_words += len(features["word_ids"]) > len(kept) + 2
            truncated_some += bool(features["truncated"])
    assert split_words > 500 and truncated_some > 500


def test_word_predictions_read_the_first_piece_and_invert_align_labels(tokenizer):
    rng = random.Random(0)
    for words, labels in corpus()[:500]:
        features = tagging_features(tokenizer, words, labels, 64)
        # the other pieces and the specials predict nonsense: it must not be read
        predictions = [label if label != IGNORE_INDEX else rng.randrange(len(NER_TAGS)) + 100
                       for label in features["labels"]]
        kept = len(words) - len(features["truncated"])
        assert word_predictions(predictions, features["word_ids"]) == labels[:kept]
        assert word_predictions(torch.tensor(predictions), features["word_ids"]) == labels[:kept]
    assert word_predictions([7, 1, 2, 3, 4, 7], [None, 0, 0, 1, 1, None]) == [1, 3]  # first pieces, not last
    assert word_predictions([7, 7], [None, None]) == []


def test_tagging_errors_say_what_is_wrong(tokenizer):
    with pytest.raises(ValueError, match=r"word_ids\[2\] = 3, but there are labels for 2 words"):
        align_labels([None, 0, 3], [1, 2])
    with pytest.raises(ValueError, match="go backwards at position 3 .word 0 after word 1."):
        align_labels([None, 0, 1, 0], [1, 2])
    with pytest.raises(TypeError, match="None or a word index"):
        align_labels([None, "0"], [1])
    with pytest.raises(TypeError, match="list of int label ids"):
        align_labels([0], ["B-PER"])
    with pytest.raises(ValueError, match="3 entries for 2 word_ids"):
        word_predictions([1, 2, 3], [0, 1])
    with pytest.raises(ValueError, match=r"words \[1\] have no token"):
        word_predictions([1, 2], [0, 2])
    with pytest.raises(TypeError, match="one sentence's"):
        word_predictions(torch.zeros(2, 3, dtype=torch.long), [0, 1, 2])
    with pytest.raises(ValueError, match="go backwards"):
        word_predictions([1, 2, 3], [1, 0, 1])
    with pytest.raises(ValueError, match="one label per word: 2 words, got 1"):
        tagging_features(tokenizer, ["a", "b"], [0], 8)
    with pytest.raises(ValueError, match="give no token"):
        tagging_features(tokenizer, ["a", "\u200b", "b"], [0, 0, 0], 8)
    with pytest.raises(TypeError, match=r"words\[1\] must be a str"):
        tagging_features(tokenizer, ["a", 5], [0, 0], 8)
    with pytest.raises(ValueError, match="max_length"):
        tagging_features(tokenizer, ["a"], [0], 1)


# ---------------------------------------------------------------------- entities and F1 = seqeval
def random_tags(rng, n):
    return [rng.choice(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-WORK-OF-ART", "I-WORK-OF-ART"])
            for _ in range(n)]


def test_entities_agree_with_seqeval_on_random_and_ill_formed_tags():
    from seqeval.metrics.sequence_labeling import get_entities

    rng = random.Random(0)
    sequences = [random_tags(rng, rng.randint(0, 15)) for _ in range(3000)]
    sequences += [["I-PER"], ["O", "I-PER", "I-PER"], ["B-LOC", "I-PER"], ["I-LOC", "B-LOC"], ["B-PER", "B-PER"]]
    for tags in sequences:
        assert entities(tags) == get_entities(tags), tags
    assert sum(len(entities(tags)) for tags in sequences) > 5000
    assert entities(["O", "I-PER", "I-PER", "B-LOC", "I-PER"]) == [("PER", 1, 2), ("LOC", 3, 3), ("PER", 4, 4)]


def test_entity_scores_count_exact_entities_as_conll_does():
    rng = random.Random(1)
    gold = [random_tags(rng, rng.randint(1, 12)) for _ in range(400)]
    predicted = [[tag if rng.random() < 0.8 else rng.choice(["O", "B-PER", "I-LOC"]) for tag in tags] for tags in gold]
    true_set = {(i, *e) for i, tags in enumerate(gold) for e in entities(tags)}
    guess_set = {(i, *e) for i, tags in enumerate(predicted) for e in entities(tags)}
    correct = len(true_set & guess_set)
    precision, recall = correct / len(guess_set), correct / len(true_set)
    scores = entity_scores(gold, predicted)
    assert scores["precision"] == pytest.approx(precision) and scores["recall"] == pytest.approx(recall)
    assert entity_f1(gold, predicted) == pytest.approx(2 * precision * recall / (precision + recall))
    assert 0.3 < scores["f1"] < 0.95
    assert entity_f1([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]]) == 0  # a wrong end is a wrong entity
    assert entity_f1([["B-PER", "I-PER"]], [["I-PER", "I-PER"]]) == 1  # conlleval: I- after O starts an entity
    assert entity_f1([["O", "O"]], [["O", "O"]]) == 0


def test_scoring_errors_name_the_sentence():
    with pytest.raises(ValueError, match="sentence 1 has 2 predicted tags for 3 words"):
        entity_f1([["O"], ["O", "B-PER", "I-PER"]], [["O"], ["O", "B-PER"]])
    with pytest.raises(ValueError, match="1 predicted sentences for 2 gold"):
        entity_f1([["O"], ["O"]], [["O"]])
    with pytest.raises(TypeError, match="list of sentences"):
        entity_f1(["O", "B-PER"], ["O", "B-PER"])
    with pytest.raises(TypeError, match=r"predicted_tags\[0\]\[1\] is 1, not a tag string"):
        entity_f1([["O", "B-PER"]], [["O", 1]])
    with pytest.raises(ValueError, match="must be BIO"):
        entities(["B-PER", "E-PER"])
    with pytest.raises(TypeError, match="list of tag strings"):
        entities("B-PER")
