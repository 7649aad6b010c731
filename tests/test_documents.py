"""The English document corpus of lessons 07-10: its stories, tags, questions, labels,
recogniser, task views, held-out splits and hub loader."""
import hashlib
import os
import random
import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from course_lib.data import documents
from course_lib.data.english_grammar import _PROPER, surface
from course_lib.data.english_lexicon import FEMALE_NAMES, MALE_NAMES, SURNAMES, TOPICS, third_person

datasets = pytest.importorskip("datasets")
ROOT = Path(__file__).resolve().parents[1]
SIZES = (400, 80, 80)


@pytest.fixture(scope="module")
def corpus():
    return documents.document_corpus(*SIZES, seed=0)


@pytest.fixture(scope="module")
def train_sentences(corpus):
    """(topic, words, pos_tags, ner_tags) of every train sentence."""
    train = corpus["train"]
    return [(topic, *sentence) for topic, words, pos, ner in zip(train["topic"], train["words"], train["pos_tags"],
                                                                  train["ner_tags"])
            for sentence in zip(words, pos, ner)]


# =====================================================================================
# Layout
# =====================================================================================
def test_the_corpus_is_a_datasetdict_of_documents_with_the_documented_columns(corpus):
    assert type(corpus) is datasets.DatasetDict and list(corpus) == ["train", "validation", "test"]
    assert [len(corpus[s]) for s in corpus] == list(SIZES)
    for split, ds in corpus.items():
        assert ds.column_names == ["id", "topic", "text", "sentences", "words", "pos_tags", "ner_tags", "label"]
        assert ds.features["label"].names == ["negative", "positive"]
        assert len(set(ds["id"])) == len(ds) and all(i.startswith(f"{split}-") for i in ds["id"])
        for row in ds:
            assert row["topic"] in documents.TOPIC_NAMES and 8 <= len(row["sentences"]) <= 10
            assert row["text"] == " ".join(row["sentences"])
            for sentence, words, pos, ner in zip(row["sentences"], row["words"], row["pos_tags"], row["ner_tags"]):
                assert len(words) == len(pos) == len(ner) and surface(words)[0] == sentence
                assert set(pos) <= set(documents.POS_TAGS) and set(ner) <= set(documents.NER_TAGS)
    topics = Counter(corpus["train"]["topic"])
    assert set(topics) == set(documents.TOPIC_NAMES) and min(topics.values()) >= 10


def test_one_split_and_a_fresh_view_each_call(corpus):
    validation = documents.document_corpus(*SIZES, split="validation")
    assert type(validation) is datasets.Dataset and validation["text"] == corpus["validation"]["text"]
    validation.set_format("numpy")
    assert documents.document_corpus(*SIZES, split="validation").format["type"] is None


def test_same_seed_same_corpus_in_another_process_and_another_seed_differs():
    code = ("import hashlib, sys; from course_lib.data import documents as d; "
            "docs = d._documents((40, 8, 8), 0); "
            "print(hashlib.sha256(repr([x.text for s in docs.values() for x in s]).encode()).hexdigest()); "
            "assert 'datasets' not in sys.modules, 'generating documents imported datasets'")
    env = dict(os.environ, PYTHONHASHSEED="12345")
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)
    here = documents._documents((40, 8, 8), 0)
    assert other.stdout.strip() == hashlib.sha256(repr([x.text for s in here.values() for x in s]).encode()).hexdigest()
    assert [d.text for d in documents._documents((40, 8, 8), 1)["train"]] != [d.text for d in here["train"]]


def test_held_out_documents_never_occur_in_train():
    corpus = documents.document_corpus()
    assert [len(corpus[s]) for s in corpus] == [documents.DEFAULT_SIZES[s] for s in corpus]
    train_ids, train_texts = set(corpus["train"]["id"]), set(corpus["train"]["text"])
    for split in ("validation", "test"):
        assert train_ids.isdisjoint(corpus[split]["id"]) and train_texts.isdisjoint(corpus[split]["text"])
    assert set(corpus["validation"]["text"]).isdisjoint(corpus["test"]["text"])
    # the test split does not move when the train split grows
    assert documents.document_corpus(50, 300, 300, split="test")["text"] == corpus["test"]["text"]


# =====================================================================================
# What a model can learn: coreference, agreement, selection, right-hand context
# =====================================================================================
def test_pronouns_agree_with_the_one_character_of_the_sentence_before_and_characters_recur(corpus):
    female, pronouns = set(FEMALE_NAMES), Counter()
    for row in corpus["train"]:
        previous, mentions = [], Counter()
        for words, pos, ner in zip(row["words"], row["pos_tags"], row["ner_tags"]):
            now = []
            for word, p, n in zip(words, pos, ner):
                if n == "B-PER":
                    now.append(word)
                elif p == "PRON":
                    assert not now, f"{word!r} follows another character in its sentence: {words}"
                    expected = 2 if word.lower() == "they" else 1
                    assert len(set(previous)) == expected, f"{word!r} has no clear antecedent: {words}"
                    if expected == 1:
                        assert word.lower() == ("she" if previous[0] in female else "he"), (previous, words)
                    now += sorted(set(previous))
                    pronouns[word.lower()] += 1
            mentions.update(now)
            previous = now
        assert len(mentions) == 2 and min(mentions.values()) >= 2 and max(mentions.values()) >= 3, row["text"]
    assert min(pronouns[p] for p in ("she", "he", "they")) >= 50, pronouns


def _verb_forms() -> dict[str, str]:
    bases = {"arrive", "work", "write", "go", "dance", "threaten", "save", "lose"}
    for topic in TOPICS:
        bases |= {verb for verb, _ in topic.work} | {c.verb_phrase.split()[0] for c in topic.creatures}
        bases |= {phrase.split()[0] for e in topic.events for phrase in (e.good, e.bad)}
    return {**{b: third_person(b) for b in bases}, **{third_person(b): b for b in bases},
            "does": "do", "do": "does", "is": "are"}


def _sentence(words: list[str]) -> str:
    words = [w if i == 0 or w in _PROPER else w.lower() for i, w in enumerate(words)]
    return surface([words[0][0].upper() + words[0][1:], *words[1:]])[0]


def test_the_recogniser_accepts_every_generated_sentence_and_rejects_corrupted_ones(train_sentences):
    forms, flipped, swapped = _verb_forms(), 0, 0
    for k, (_, words, pos, _) in enumerate(train_sentences):
        sentence = surface(words)[0]
        assert documents.is_grammatical(sentence), sentence
        words = [w if w in _PROPER else w.lower() for w in words]
        for i in range(len(words) - 1):  # every swap of two different neighbours, in one sentence of four
            if k % 4 == 0 and words[i] != words[i + 1]:
                swapped += 1
                corrupted = _sentence([*words[:i], words[i + 1], words[i], *words[i + 2:]])
                assert not documents.is_grammatical(corrupted), corrupted
        finite = next(i for i, p in enumerate(pos) if p in ("AUX", "VERB"))
        if words[finite - 1] != "sheep":  # "the sheep bleat" and "the sheep bleats" are both English
            flipped += 1
            corrupted = _sentence([*words[:finite], forms[words[finite]], *words[finite + 1:]])
            assert not documents.is_grammatical(corrupted), f"agreement: {corrupted}"
    assert swapped > 5_000 and flipped > 2_000
    for sentence in ("The ship barks at the sheep.", "The dogs sail into the harbour.", "Marisol bakes the sails.",
                     "Marisol kneads bread.", "One night, a storm threatens the flock.", "the dog barks at the sheep.",
                     "The dog barks at the sheep", "The dog  barks at the sheep.", "The dog barks at the sheep ."):
        assert not documents.is_grammatical(sentence), sentence
    with pytest.raises(TypeError, match="str"):
        documents.is_grammatical(["The", "dog"])


def _creature_sentences(train_sentences):
    """(topic, words, index of the creature noun) for every "the <creature> <verb> ..." sentence."""
    nouns = {n for t in TOPICS for c in t.creatures for n in (c.noun, c.plural)}
    return [(topic, words, i) for topic, words, pos, _ in train_sentences
            if documents.sentence_stage(surface(words)[0]) == "work" for i in range(1, len(words) - 1)
            if words[i] in nouns and words[i - 1].lower() == "the" and pos[i + 1] == "VERB"]


def test_creatures_are_selected_by_their_verb(train_sentences):
    plural = {c.plural for t in TOPICS for c in t.creatures} - {"sheep"}
    singular = {c.noun for t in TOPICS for c in t.creatures} - {"sheep"}
    found = _creature_sentences(train_sentences)
    assert len(found) > 300
    for _, words, i in found[:100]:
        for other in (plural if words[i] in plural else singular) - {words[i]}:
            corrupted = surface([*words[:i], other, *words[i + 1:]])[0]
            assert not documents.is_grammatical(corrupted), f"selection: {corrupted}"


def test_the_right_hand_context_decides_nouns_the_left_hand_context_leaves_open(train_sentences):
    seen_after = defaultdict(set)  # (topic, left context) -> the nouns that follow it in the corpus
    found = _creature_sentences(train_sentences)
    for topic, words, i in found:
        seen_after[topic, tuple(words[:i])].add(words[i])
    for topic, words, i in found[:: max(1, len(found) // 30)]:
        assert documents.fillers(words, i) == [words[i]], words
        assert len(seen_after[topic, tuple(words[:i])]) >= 3, (topic, words[:i])
    assert documents.fillers(["The", "dog", "barks", "at", "the", "sheep", "."], 1) == ["dog"]
    assert {"dog", "dogs"} <= set(documents.fillers(["The", "dog", "barks", "at", "the", "sheep", "."], 1)
                                  + documents.fillers(["The", "dogs", "bark", "at", "the", "sheep", "."], 1))


# =====================================================================================
# Tags, questions, labels, stories
# =====================================================================================
def _assert_bio(tags: list[str]) -> None:
    for before, tag in zip(["O", *tags], tags):
        if tag.startswith("I-"):
            assert before in (f"B-{tag[2:]}", tag), f"{tag} after {before}: {tags}"


def test_entity_tags_are_valid_bio_in_the_corpus_and_in_the_conll_view(corpus, train_sentences):
    for _, words, pos, ner in train_sentences:
        _assert_bio(ner)
        assert all(p == "PROPN" for p, n in zip(pos, ner) if n != "O")
    types = Counter(tag for *_, ner in train_sentences for tag in ner)
    assert all(types[tag] > 0 for tag in documents.NER_TAGS), types
    tagging = documents.tagging_dataset(*SIZES)
    assert type(tagging) is datasets.DatasetDict and tagging["train"].column_names == ["id", "tokens", "pos_tags",
                                                                                       "ner_tags"]
    names = tagging["train"].features["ner_tags"].feature.names
    assert names == ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]  # CoNLL-2003's
    assert tagging["train"].features["pos_tags"].feature.names == list(documents.POS_TAGS)
    assert len(tagging["train"]) == len(train_sentences)
    for row, (_, words, pos, ner) in zip(tagging["train"], train_sentences):
        assert row["tokens"] == words and [names[i] for i in row["ner_tags"]] == ner
        assert [documents.POS_TAGS[i] for i in row["pos_tags"]] == pos


def test_every_name_splits_into_several_wordpieces_of_the_real_bert_vocabulary():
    transformers = pytest.importorskip("transformers")
    from course_lib.pretrained import minilm_file

    # transformers 5 takes the file as `vocab`; `vocab_file=` is silently ignored there
    tokenizer = transformers.BertTokenizerFast(vocab=str(minilm_file("vocab.txt")))
    assert len(tokenizer) == 30522
    for name in FEMALE_NAMES + MALE_NAMES + SURNAMES:
        pieces = tokenizer.tokenize(name)
        assert len(pieces) >= 2 and "[UNK]" not in pieces, (name, pieces)


def test_questions_have_exact_answer_spans_or_are_truly_unanswered():
    qa = documents.qa_dataset(*SIZES)
    assert type(qa) is datasets.DatasetDict
    assert qa["train"].column_names == ["id", "title", "context", "question", "answers"]
    assert qa["train"].features["answers"]["answer_start"].feature.dtype == "int32"
    for split in qa:
        rows = qa[split]
        assert len(set(rows["id"])) == len(rows)
        unanswerable = 0
        for row in rows:
            texts, starts = row["answers"]["text"], row["answers"]["answer_start"]
            asked = " ".join(w for w in row["question"][:-1].split()[1:] if w[0].isupper())
            if texts:
                assert len(texts) == len(starts) == 1
                assert row["context"][starts[0]:starts[0] + len(texts[0])] == texts[0], row
                assert asked in row["context"]
            else:
                unanswerable += 1
                assert asked and asked not in row["context"], row
        assert 0.25 < unanswerable / len(rows) < 0.4
    first = qa["train"].filter(lambda r: r["title"] == "train-0")
    assert len(set(first["question"])) == len(first) == 9


def test_the_label_is_the_last_outcome_read_with_its_negation_and_no_keyword_gives_it_away(corpus):
    train = corpus["train"]
    assert all(documents.ends_well(text) == bool(label) for text, label in zip(train["text"], train["label"]))
    assert 0.4 < sum(train["label"]) / len(train) < 0.6
    with_word, positive_with_word = Counter(), Counter()  # documents that use a word, and those that end well
    for text, label in zip(train["text"], train["label"]):
        bag = set(re.findall(r"[a-z]+", text.lower()))
        with_word.update(bag)
        positive_with_word.update(bag if label else ())
    negatives = len(train) - sum(train["label"])
    for word, n in with_word.items():  # "ends well iff the word occurs" is right this often
        agree = (positive_with_word[word] + negatives - (n - positive_with_word[word])) / len(train)
        assert max(agree, 1 - agree) < 0.65, word
    assert documents.ends_well("In the end, the harvest does not fail.") is True
    assert documents.ends_well("At first, the harvest fails. In the end, the crops grow tall.") is True
    assert documents.ends_well("At first, the harvest succeeds. In the end, Marisol loses the wheat.") is False
    assert documents.ends_well("The dog barks at the sheep.") is None
    sst2 = documents.classification_dataset(*SIZES)
    assert sst2["train"].column_names == ["idx", "sentence", "label"]
    assert sst2["train"]["sentence"] == train["text"] and sst2["train"]["label"] == train["label"]
    assert sst2["train"].features["label"].names == ["negative", "positive"]


def test_stories_keep_their_order_topic_and_characters(corpus):
    rng = random.Random(0)
    for row in corpus["validation"]:
        stages = [documents.sentence_stage(s) for s in row["sentences"]]
        assert stages[:3] == ["arrival", "introduction", "introduction"] and stages[-1] == "ending"
        assert documents.story_order(row["text"]) == 1.0
        shuffled = rng.sample(row["sentences"], len(row["sentences"]))
        if shuffled != row["sentences"]:
            assert documents.story_order(" ".join(shuffled)) < 1.0
        assert [t for t in documents.TOPIC_NAMES if documents.on_topic(row["text"], t)] == [row["topic"]]
        assert len(documents.characters_in(row["text"])) == 2
    assert documents.story_order("The dog barks at the sheep.") == 0.0
    assert documents.on_topic("The dog barks at the sheep.", "herding")
    assert not documents.on_topic("The dog barks at the sheep. The ship sinks.", "herding")
    with pytest.raises(ValueError, match="topic must be one of"):
        documents.on_topic("The dog barks.", "dogs")


# =====================================================================================
# Arguments, and source="hub" against a local copy laid out as the hub lays out Wikitext
# =====================================================================================
@pytest.mark.parametrize("kwargs, message", [
    (dict(source="web"), "source must be 'embedded' or 'hub'"),
    (dict(n_train=0), "n_train must be a positive int"),
    (dict(n_validation=-3), "n_validation must be a positive int"),
    (dict(n_test=2.5), "n_test must be a positive int"),
    (dict(n_train=True), "n_train must be a positive int"),
    (dict(split="dev"), "split must be one of"),
])
def test_bad_arguments_say_what_to_pass(kwargs, message):
    for build in (documents.document_corpus, documents.qa_dataset, documents.tagging_dataset,
                  documents.classification_dataset):
        if "source" in kwargs and build is not documents.document_corpus:
            continue
        with pytest.raises(ValueError, match=message):
            build(**kwargs)


WIKITEXT_CARD = """---
configs:
- config_name: wikitext-103-raw-v1
  data_files:
  - split: train
    path: wikitext-103-raw-v1/train-*
  - split: validation
    path: wikitext-103-raw-v1/validation-*
  - split: test
    path: wikitext-103-raw-v1/test-*
dataset_info:
- config_name: wikitext-103-raw-v1
  features:
  - name: text
    dtype: string
---
# A local stand-in for Salesforce/wikitext (config wikitext-103-raw-v1), written by the test
"""


def _wikitext_lines(split: str, n: int) -> list[str]:
    """Wikitext's raw layout: one row per line, titles " = T = ", sections " = = S = = ", blank rows."""
    lines = []
    for k in range(n):
        lines += ["", f" = {split.title()} article {k} = \n", "", f" It was written in 19{k:02d} . It is short . \n",
                  "", " = = History = = \n", "", f" Nothing happened to article {k} . \n"]
    return lines


@pytest.fixture
def offline(monkeypatch):
    """datasets and huggingface_hub in offline mode: any attempt to reach the hub fails at once."""
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_hub_source_reads_wikitext_articles_as_documents(tmp_path, offline):
    repo, config = tmp_path / "wikitext", "wikitext-103-raw-v1"
    (repo / config).mkdir(parents=True)
    train = _wikitext_lines("train", 12)
    shards = {"train-00000-of-00002": train[:43], "train-00001-of-00002": train[43:],  # cut inside article 5
              "validation-00000-of-00001": _wikitext_lines("validation", 3),
              "test-00000-of-00001": _wikitext_lines("test", 3)}
    for file, lines in shards.items():
        datasets.Dataset.from_dict({"text": lines}).to_parquet(str(repo / config / f"{file}.parquet"))
    (repo / "README.md").write_text(WIKITEXT_CARD, encoding="utf-8")
    kwargs = dict(source="hub", path=str(repo), name=config, cache_dir=str(tmp_path / "cache"))

    corpus = documents.document_corpus(**kwargs)
    assert type(corpus) is datasets.DatasetDict and [len(corpus[s]) for s in corpus] == [12, 3, 3]
    assert corpus["train"].column_names == ["id", "text", "sentences"]
    fifth = corpus["train"][5]
    assert fifth["id"] == "train-5"
    assert fifth["text"] == "It was written in 1905 . It is short .\nNothing happened to article 5 ."
    assert fifth["sentences"] == ["It was written in 1905 .", "It is short .", "Nothing happened to article 5 ."]
    assert corpus["test"][2]["text"].endswith("article 2 .") and corpus["test"][2]["id"] == "test-2"
    assert documents.document_corpus(4, 2, 1, **kwargs)["train"]["text"] == corpus["train"]["text"][:4]
    with pytest.raises(ValueError, match="has 3 documents left for the validation split"):
        documents.document_corpus(4, 5, 1, **kwargs)


def test_hub_source_carves_missing_splits_out_of_train(tmp_path, offline):
    root = tmp_path / "flat"
    root.mkdir()
    datasets.Dataset.from_dict({"text": [f"Row {i}. It stands alone." if i % 3 else "" for i in range(30)]}) \
        .to_json(str(root / "train.jsonl"))
    kwargs = dict(source="hub", path=str(root), name=None, cache_dir=str(tmp_path / "cache"))
    corpus = documents.document_corpus(10, 5, 5, **kwargs)
    assert [len(corpus[s]) for s in corpus] == [10, 5, 5]
    ids = [i for s in corpus for i in corpus[s]["id"]]
    assert len(set(ids)) == 20 and all(i.startswith("train-") for i in ids)
    assert corpus["validation"][0]["sentences"] == ["Row 16.", "It stands alone."]
    with pytest.raises(ValueError, match="no validation split; pass n_validation"):
        documents.document_corpus(10, **kwargs)
