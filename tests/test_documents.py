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
# Arguments, and nothing reaches the network unless source="hub" is asked for
# =====================================================================================
VIEWS = (documents.document_corpus, documents.qa_dataset, documents.tagging_dataset, documents.classification_dataset)


@pytest.mark.parametrize("kwargs, message", [
    (dict(source="web"), "source must be 'embedded' or 'hub'"),
    (dict(source="hub", n_train=0), "n_train must be a positive int"),
    (dict(n_validation=-3), "n_validation must be a positive int"),
    (dict(n_test=2.5), "n_test must be a positive int"),
    (dict(n_train=True), "n_train must be a positive int"),
    (dict(split="dev"), "split must be one of"),
    (dict(source="hub", split="dev"), "split must be one of"),
])
def test_bad_arguments_say_what_to_pass(kwargs, message):
    for build in VIEWS:
        with pytest.raises(ValueError, match=message):
            build(**kwargs)


def test_importing_and_the_default_source_never_reach_the_network():
    code = ("import socket\n"
            "attempts = []\n"
            "def refuse(*args, **kwargs):\n"
            "    attempts.append(args)\n"
            "    raise OSError('this test refuses every connection')\n"
            "socket.socket.connect = socket.create_connection = socket.getaddrinfo = refuse\n"
            "from course_lib.data import documents as d\n"
            "for build in (d.document_corpus, d.qa_dataset, d.tagging_dataset, d.classification_dataset):\n"
            "    assert len(build(8, 2, 2, split='test')) > 0\n"
            "assert not attempts, attempts\n")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")}
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, capture_output=True, text=True)


@pytest.mark.parametrize("build, expected", [
    (documents.document_corpus, ("Salesforce/wikitext", "wikitext-103-raw-v1", None)),
    (documents.classification_dataset, ("nyu-mll/glue", "sst2", None)),
    (documents.qa_dataset, ("rajpurkar/squad_v2", "squad_v2", None)),
    (documents.tagging_dataset, ("eriktks/conll2003", None, "refs/convert/parquet")),
])
def test_the_hub_source_asks_datasets_for_the_public_repository(monkeypatch, tmp_path, build, expected):
    asked = []

    def load_dataset(path, name=None, *, revision=None, cache_dir=None):
        asked.append((path, name, revision, cache_dir))
        raise ConnectionError("no network in tests")

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    with pytest.raises(ConnectionError):
        build(5, 5, 5, source="hub", cache_dir=str(tmp_path))
    assert asked == [(*expected, str(tmp_path))]


# =====================================================================================
# source="hub" against local copies laid out as the hub lays out each repository
# =====================================================================================
@pytest.fixture
def offline(monkeypatch):
    """datasets and huggingface_hub in offline mode: any attempt to reach the hub fails at once."""
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def _repository(root: Path, files: dict[str, dict], features: dict[str, datasets.Features],
                card: str | None = None) -> Path:
    """A dataset repository as the hub serves it: each Parquet file at its path (its features,
    ClassLabel names included, in the Parquet metadata as the hub's files have them) and the card."""
    for path, columns in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        datasets.Dataset.from_dict(columns, features=features[path.split("/")[0]]).to_parquet(str(root / path))
    if card is not None:
        (root / "README.md").write_text(card, encoding="utf-8")
    return root


def _hub(root: Path, name: str | None, revision: str | None = None) -> dict:
    return dict(source="hub", path=str(root), name=name, cache_dir=str(root.parent / "cache"),
                **({"revision": revision} if revision else {}))


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


def _wikitext_lines(split: str, n: int) -> dict[str, list[str]]:
    """Wikitext's raw layout: one row per line, titles " = T = ", sections " = = S = = ", blank rows."""
    lines = []
    for k in range(n):
        lines += ["", f" = {split.title()} article {k} = \n", "", f" It was written in 19{k:02d} . It is short . \n",
                  "", " = = History = = \n", "", f" Nothing happened to article {k} . \n"]
    return {"text": lines}


def test_hub_source_reads_wikitext_articles_as_documents(tmp_path, offline):
    config, train = "wikitext-103-raw-v1", _wikitext_lines("train", 12)["text"]
    files = {f"{config}/train-00000-of-00002.parquet": {"text": train[:43]},  # cut inside article 5
             f"{config}/train-00001-of-00002.parquet": {"text": train[43:]},
             f"{config}/validation-00000-of-00001.parquet": _wikitext_lines("validation", 3),
             f"{config}/test-00000-of-00001.parquet": _wikitext_lines("test", 3)}
    repo = _repository(tmp_path / "wikitext", files, {config: datasets.Features({"text": datasets.Value("string")})},
                       WIKITEXT_CARD)
    corpus = documents.document_corpus(**_hub(repo, config))
    assert type(corpus) is datasets.DatasetDict and [len(corpus[s]) for s in corpus] == [12, 3, 3]
    assert corpus["train"].column_names == ["id", "text", "sentences"]
    fifth = corpus["train"][5]
    assert fifth["id"] == "train-5"
    assert fifth["text"] == "It was written in 1905 . It is short .\nNothing happened to article 5 ."
    assert fifth["sentences"] == ["It was written in 1905 .", "It is short .", "Nothing happened to article 5 ."]
    assert corpus["test"][2]["text"].endswith("article 2 .") and corpus["test"][2]["id"] == "test-2"
    assert documents.document_corpus(4, 2, 1, **_hub(repo, config))["train"]["text"] == corpus["train"]["text"][:4]
    with pytest.raises(ValueError, match="has 3 rows left for the validation split; asked for n_validation=5"):
        documents.document_corpus(4, 5, 1, **_hub(repo, config))


def test_hub_source_carves_missing_splits_out_of_train(tmp_path, offline):
    root = tmp_path / "flat"
    root.mkdir()
    datasets.Dataset.from_dict({"text": [f"Row {i}. It stands alone." if i % 3 else "" for i in range(30)]}) \
        .to_json(str(root / "train.jsonl"))
    corpus = documents.document_corpus(10, 5, 5, **_hub(root, None))
    assert [len(corpus[s]) for s in corpus] == [10, 5, 5]
    ids = [i for s in corpus for i in corpus[s]["id"]]
    assert len(set(ids)) == 20 and all(i.startswith("train-") for i in ids)
    assert corpus["validation"][0]["sentences"] == ["Row 16.", "It stands alone."]
    with pytest.raises(ValueError, match="no split to read the course's validation split from; pass n_validation"):
        documents.document_corpus(10, **_hub(root, None))


# nyu-mll/glue: one folder of Parquet files per config, named by the card's YAML (abridged here to three configs)
GLUE_CARD = """---
pretty_name: GLUE (General Language Understanding Evaluation benchmark)
dataset_info:
- config_name: sst2
  features:
  - name: sentence
    dtype: string
  - name: label
    dtype:
      class_label:
        names:
          '0': negative
          '1': positive
  - name: idx
    dtype: int32
configs:
- config_name: cola
  data_files:
  - split: train
    path: cola/train-*
  - split: validation
    path: cola/validation-*
  - split: test
    path: cola/test-*
- config_name: mrpc
  data_files:
  - split: train
    path: mrpc/train-*
- config_name: sst2
  data_files:
  - split: train
    path: sst2/train-*
  - split: validation
    path: sst2/validation-*
  - split: test
    path: sst2/test-*
---
# A local stand-in for nyu-mll/glue, written by the test
"""


def _glue(root: Path) -> Path:
    def rows(split: str, n: int, labels: list[int]) -> dict:
        return {"sentence": [f"{split} sentence {i}" for i in range(n)], "label": labels[:n], "idx": list(range(n))}

    def classes(*names: str) -> datasets.Features:
        return datasets.Features({"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=names),
                                  "idx": datasets.Value("int32")})

    files = {"sst2/train-00000-of-00001.parquet": rows("train", 12, [0, 1, 1] * 4),
             "sst2/validation-00000-of-00001.parquet": rows("validation", 5, [1, 0] * 3),
             "sst2/test-00000-of-00001.parquet": rows("test", 4, [-1] * 4),  # GLUE keeps the test labels private
             "mrpc/train-00000-of-00001.parquet": {"sentence1": ["a"], "sentence2": ["b"], "label": [1], "idx": [0]}}
    files.update({f"cola/{split}-00000-of-00001.parquet": rows(split, 3, [0, 1, 1]) for split in documents.SPLITS})
    features = {"sst2": classes("negative", "positive"), "cola": classes("unacceptable", "acceptable"),
                "mrpc": datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                           "label": datasets.ClassLabel(names=["not_equivalent", "equivalent"]),
                                           "idx": datasets.Value("int32")})}
    return _repository(root, files, features, GLUE_CARD)


def test_hub_classification_reads_glue_sst2_into_the_sst2_view(tmp_path, offline):
    repo = _glue(tmp_path / "glue")
    sst2 = documents.classification_dataset(**_hub(repo, "sst2"))
    assert type(sst2) is datasets.DatasetDict and [len(sst2[s]) for s in sst2] == [12, 5, 4]
    assert sst2["train"].features == documents.classification_dataset(4, 2, 2)["train"].features  # idx, sentence, label
    assert sst2["validation"][3] == {"idx": 3, "sentence": "validation sentence 3", "label": 0}
    assert sst2["test"]["label"] == [-1] * 4
    small = documents.classification_dataset(3, 2, 1, split="train", **_hub(repo, "sst2"))
    assert type(small) is datasets.Dataset and small["sentence"] == sst2["train"]["sentence"][:3]
    with pytest.raises(ValueError, match="has 5 rows left for the validation split; asked for n_validation=6"):
        documents.classification_dataset(3, 6, 1, **_hub(repo, "sst2"))
    with pytest.raises(ValueError, match=r"glue' \(mrpc\) has no column 'sentence' in its train split; GLUE "
                                         r"SST-2 has the columns \['idx', 'sentence', 'label'\]"):
        documents.classification_dataset(**_hub(repo, "mrpc"))
    with pytest.raises(ValueError, match=r"'label' is ClassLabel\(names=\['unacceptable', 'acceptable'\]\); the "
                                         r"course needs GLUE SST-2's ClassLabel names \['negative', 'positive'\]"):
        documents.classification_dataset(**_hub(repo, "cola"))


SQUAD_V2_CARD = """---
pretty_name: SQuAD2.0
dataset_info:
  config_name: squad_v2
  features:
  - name: id
    dtype: string
  - name: title
    dtype: string
  - name: context
    dtype: string
  - name: question
    dtype: string
  - name: answers
    sequence:
    - name: text
      dtype: string
    - name: answer_start
      dtype: int32
configs:
- config_name: squad_v2
  data_files:
  - split: train
    path: squad_v2/train-*
  - split: validation
    path: squad_v2/validation-*
  default: true
---
# A local stand-in for rajpurkar/squad_v2, written by the test
"""


def _squad(split: str, articles: int) -> dict[str, list]:
    """Articles of two paragraphs, each asked one answerable and one unanswerable question, in
    SQuAD's order: article by article, paragraph by paragraph."""
    rows: dict[str, list] = {"id": [], "title": [], "context": [], "question": [], "answers": []}
    for a in range(articles):
        for p in range(2):
            context = f"{split.title()} article {a} says that paragraph {p} is about topic {a}{p}."
            answer = f"topic {a}{p}"
            for question, answers in ((f"What is paragraph {p} about?", {"text": [answer],
                                                                          "answer_start": [context.index(answer)]}),
                                      (f"Who wrote paragraph {p}?", {"text": [], "answer_start": []})):
                for column, value in zip(rows, (f"{split}-{a}-{p}-{len(answers['text'])}", f"{split.title()} {a}",
                                                context, question, answers)):
                    rows[column].append(value)
    return rows


def test_hub_qa_reads_squad_v2_its_validation_as_test_and_carves_validation_by_article(tmp_path, offline):
    strings = datasets.Value("string")
    features = datasets.Features({"id": strings, "title": strings, "context": strings, "question": strings,
                                  "answers": {"text": datasets.List(strings),
                                              "answer_start": datasets.List(datasets.Value("int32"))}})
    repo = _repository(tmp_path / "squad_v2", {"squad_v2/train-00000-of-00001.parquet": _squad("train", 6),
                                               "squad_v2/validation-00000-of-00001.parquet": _squad("dev", 2)},
                       {"squad_v2": features}, SQUAD_V2_CARD)
    qa = documents.qa_dataset(6, 8, None, **_hub(repo, "squad_v2"))  # train ends inside article 1
    assert type(qa) is datasets.DatasetDict and [len(qa[s]) for s in qa] == [6, 8, 8]
    assert qa["train"].features == documents.qa_dataset(4, 2, 2)["train"].features == features
    assert qa["test"]["id"] == _squad("dev", 2)["id"]  # SQuAD v2's validation split, the official dev set
    assert set(qa["train"]["title"]) == {"Train 0", "Train 1"}
    assert qa["validation"]["id"] == _squad("train", 6)["id"][8:16]  # articles 2 and 3: the rest of 1 is skipped
    for row in qa["validation"]:
        answers = row["answers"]
        assert all(row["context"][s:s + len(t)] == t for t, s in zip(answers["text"], answers["answer_start"]))
    assert documents.qa_dataset(6, 8, 3, split="test", **_hub(repo, "squad_v2"))["id"] == qa["test"]["id"][:3]
    with pytest.raises(ValueError, match="no split to read the course's validation split from; pass n_validation"):
        documents.qa_dataset(**_hub(repo, "squad_v2"))
    with pytest.raises(ValueError, match="has 16 rows left for the validation split; asked for n_validation=17"):
        documents.qa_dataset(6, 17, **_hub(repo, "squad_v2"))
    with pytest.raises(ValueError, match="has 0 rows left for the validation split"):
        documents.qa_dataset(None, 1, **_hub(repo, "squad_v2"))


PENN_TAGS = ['"', "''", "#", "$", "(", ")", ",", ".", ":", "``", "CC", "CD", "DT", "EX", "FW", "IN", "JJ", "JJR",
             "JJS", "LS", "MD", "NN", "NNP", "NNPS", "NNS", "NN|SYM", "PDT", "POS", "PRP", "PRP$", "RB", "RBR", "RBS",
             "RP", "SYM", "TO", "UH", "VB", "VBD", "VBG", "VBN", "VBP", "VBZ", "WDT", "WP", "WP$", "WRB"]
CHUNK_TAGS = ["O", "B-ADJP", "I-ADJP", "B-ADVP", "I-ADVP", "B-CONJP", "I-CONJP", "B-INTJ", "I-INTJ", "B-LST", "I-LST",
              "B-NP", "I-NP", "B-PP", "I-PP", "B-PRT", "I-PRT", "B-SBAR", "I-SBAR", "B-UCP", "I-UCP", "B-VP", "I-VP"]
EU_REJECTS = {"tokens": ["EU", "rejects", "German", "call", "to", "boycott", "British", "lamb", "."],
              "pos_tags": [22, 42, 16, 21, 35, 37, 16, 21, 7], "chunk_tags": [11, 21, 11, 12, 21, 22, 11, 12, 0],
              "ner_tags": [3, 0, 7, 0, 0, 0, 7, 0, 0]}  # CoNLL-2003's first training sentence


def _conll(root: Path, ner_names: list[str] = list(documents.NER_TAGS), columns: tuple = tuple(EU_REJECTS)) -> Path:
    """eriktks/conll2003 at revision refs/convert/parquet: conll2003/<split>/0000.parquet, no card. Row i
    of a split is CoNLL-2003's first sentence with "lamb" replaced by "<split>-lamb-<i>"."""
    features = datasets.Features({"id": datasets.Value("string"), "tokens": datasets.List(datasets.Value("string")),
                                  "pos_tags": datasets.List(datasets.ClassLabel(names=PENN_TAGS)),
                                  "chunk_tags": datasets.List(datasets.ClassLabel(names=CHUNK_TAGS)),
                                  "ner_tags": datasets.List(datasets.ClassLabel(names=ner_names))})

    def rows(split: str, n: int) -> dict[str, list]:
        sentences = [{**EU_REJECTS, "tokens": [*EU_REJECTS["tokens"][:7], f"{split}-lamb-{i}", "."]} for i in range(n)]
        return {"id": [str(i) for i in range(n)], **{c: [s[c] for s in sentences] for c in columns}}

    kept = datasets.Features({column: features[column] for column in ("id", *columns)})
    files = {f"conll2003/{split}/0000.parquet": rows(split, n) for split, n in (("train", 7), ("validation", 3),
                                                                                 ("test", 2))}
    return _repository(root, files, {"conll2003": kept})


def test_hub_tagging_reads_the_parquet_conversion_of_conll2003(tmp_path, offline):
    hub = _hub(_conll(tmp_path / "conll2003"), None, revision="refs/convert/parquet")
    tagging = documents.tagging_dataset(**hub)
    assert type(tagging) is datasets.DatasetDict and [len(tagging[s]) for s in tagging] == [7, 3, 2]
    assert tagging["train"].column_names == ["id", "tokens", "pos_tags", "ner_tags"]  # chunk_tags dropped
    features, embedded = tagging["train"].features, documents.tagging_dataset(4, 2, 2)["train"].features
    assert features["ner_tags"] == embedded["ner_tags"]
    assert features["ner_tags"].feature.names == list(documents.NER_TAGS)
    assert features["pos_tags"].feature.names == PENN_TAGS != embedded["pos_tags"].feature.names
    first = tagging["train"][0]
    assert first == {"id": "0", "tokens": [*EU_REJECTS["tokens"][:7], "train-lamb-0", "."],
                     "pos_tags": EU_REJECTS["pos_tags"], "ner_tags": EU_REJECTS["ner_tags"]}
    assert [features["ner_tags"].feature.names[i] for i in first["ner_tags"]][:3] == ["B-ORG", "O", "B-MISC"]
    assert [tokens[7] for tokens in tagging["test"]["tokens"]] == ["test-lamb-0", "test-lamb-1"]
    assert documents.tagging_dataset(2, 1, 1, split="validation", **hub)["tokens"][0][7] == "validation-lamb-0"
    with pytest.raises(ValueError, match="has 2 rows left for the test split; asked for n_test=3"):
        documents.tagging_dataset(2, 1, 3, **hub)


def test_hub_tagging_refuses_other_entity_ids_and_missing_columns(tmp_path, offline):
    reordered = ["O", "B-ORG", "B-MISC", "B-PER", "I-PER", "B-LOC", "I-ORG", "I-MISC", "I-LOC"]  # tner/conll2003's
    with pytest.raises(ValueError, match=r"'ner_tags' is List\(ClassLabel\(names=\['O', 'B-ORG'.*the course needs "
                                         r"CoNLL-2003's ClassLabel names \['O', 'B-PER', 'I-PER'"):
        documents.tagging_dataset(**_hub(_conll(tmp_path / "tner", reordered), None))
    with pytest.raises(ValueError, match=r"has no column 'pos_tags' in its test split; CoNLL-2003 has the columns "
                                         r"\['id', 'tokens', 'pos_tags', 'ner_tags'\]"):
        documents.tagging_dataset(**_hub(_conll(tmp_path / "ner_only", columns=("tokens", "ner_tags")), None))
