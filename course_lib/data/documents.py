"""The English document corpus that lessons 07-10 share: short stories from a grammar.

Each document is a story of 8-10 sentences about one of eight topics (baking, sailing,
farming, music, trade, herding, building, fishing), with two named characters who recur
by name and by pronoun, told in a fixed order of stages (:data:`STAGES`)::

    Marisol Okonkwo arrives in Port Velloran at sunrise. She is a baker from Kestrabay.
    She works for the Larkspur Guild with Thaddeus Abernathy. Outside, the kettle whistles
    on the stove. Thaddeus kneads the dough in the bakery. One night, mice threaten the
    flour. At first, the bread burns in the oven. In the end, Marisol and Thaddeus do not
    lose the flour. That evening, they dance at the Lantern Fair.

What a model can learn from it, and measure exactly:

* agreement (the dog barks / the dogs bark, the bread does not rise / the guests do not),
  selection (bakers bake bread; only the dog barks), coreference (she, he, they);
* words that only the right-hand context decides: "the ___ barks at the sheep" is the dog,
  whatever came before (see :func:`fillers`), so bidirectional MLM beats left-to-right;
* story order: a sentence from a *same-topic* document breaks the order of stages and the
  characters, so next-sentence prediction against it is a coherence task, against a
  random document a topic task;
* a part-of-speech tag (:data:`POS_TAGS`, Universal-POS names) and a BIO entity tag
  (:data:`NER_TAGS`, CoNLL-2003 names and order) for every word;
* questions with exact answer spans, and unanswerable ones about people or places of
  other documents (SQuAD 2.0);
* a label (:data:`LABEL_NAMES`): does the story end well? It is the outcome of the
  *last* outcome sentence, after negation ("the harvest does not fail" ends well), so
  no single word gives it away.

Frozen interface
----------------
``document_corpus(n_train=None, n_validation=None, n_test=None, seed=0, source="embedded",
split=None, *, path="Salesforce/wikitext", name="wikitext-103-raw-v1", cache_dir=None)``
returns a ``datasets.DatasetDict`` (train, validation, test), one row per document:
``id`` (str, "train-0", ...), ``topic`` (str, one of :data:`TOPIC_NAMES`), ``text``
(str: the sentences joined by one space), ``sentences`` (list[str]), ``words``,
``pos_tags``, ``ner_tags`` (list[list[str]]: one list per sentence, punctuation included,
tags as strings) and ``label`` (ClassLabel: 0 negative, 1 positive). Sizes are numbers of
documents; None means :data:`DEFAULT_SIZES` (3000 / 300 / 300). No validation or test
document has the id or the text of a train document. The same seed gives the same corpus.

Task views with the standard benchmarks' columns, so that code written for them also runs on the
benchmarks themselves: :func:`qa_dataset` (SQuAD v2), :func:`tagging_dataset` (CoNLL-2003: ``id``,
``tokens``, ``pos_tags``, ``ner_tags`` as ClassLabel ids; our ``pos_tags`` name Universal POS tags,
not CoNLL's Penn tags) and :func:`classification_dataset` (SST-2: ``idx``, ``sentence`` holding a
whole document, ``label``).

``source="hub"`` loads public data through ``datasets.load_dataset`` (the network the first time;
:mod:`course_lib.data.hub` names the repositories and maps their splits): a corpus (Wikitext-103 by
default) into the columns ``id``, ``text`` and ``sentences`` only, as raw text has no topics, tags or
labels, and SST-2, SQuAD 2.0 and CoNLL-2003 into the views' columns. None sizes take every row of a
split. ``datasets`` is imported only when a function is called; ``source="embedded"`` never needs the network.

For lesson 10's samples and rewards, from :mod:`course_lib.data.english_grammar`: :func:`is_grammatical`,
:func:`sentence_stage`, :func:`story_order`, :func:`ends_well`, :func:`on_topic`, :func:`characters_in`.
"""
from __future__ import annotations

import functools
import random
from dataclasses import dataclass, field, replace
from itertools import accumulate
from typing import TYPE_CHECKING

from .english_grammar import (AT_FIRST, DOT, IN_THE_END, STAGES, TOPIC_NAMES, Alt, Token, characters_in,
                              ends_well, entity, fillers, grammars, is_grammatical, on_topic, sentence_stage,
                              split_sentences, story_order, surface, tok)
from .english_lexicon import FEMALE_NAMES, FESTIVALS, MALE_NAMES, ORGANISATIONS, PLACES, SURNAMES, TOPICS, Topic
from .hub import CONLL2003, CONLL2003_NER_TAGS, SPLITS, SQUAD_V2, SST2, SST2_LABELS, corpus, task_view

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset, DatasetDict

__all__ = [
    "document_corpus", "qa_dataset", "tagging_dataset", "classification_dataset",
    "is_grammatical", "sentence_stage", "story_order", "ends_well", "on_topic", "characters_in",
    "split_sentences", "fillers",
    "TOPIC_NAMES", "STAGES", "POS_TAGS", "NER_TAGS", "LABEL_NAMES", "DEFAULT_SIZES", "SPLITS",
]

POS_TAGS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "NOUN", "NUM", "PART", "PRON", "PROPN", "PUNCT", "VERB")
NER_TAGS = CONLL2003_NER_TAGS  # CoNLL-2003's names, in its order
LABEL_NAMES = SST2_LABELS  # SST-2's
DEFAULT_SIZES = {"train": 3000, "validation": 300, "test": 300}


# =====================================================================================
# Telling one story
# =====================================================================================
@dataclass
class _Story:
    """The state of a document being told: who was mentioned where, and the answer spans."""

    rng: random.Random
    cast: dict[str, tuple[str, str]]  # "P" (protagonist), "C" (companion) -> (first name, surname)
    values: dict[str, str]  # what fills the slots TOWN, HOME, ORG, FEST, THREATENED
    sentences: list[list[Token]] = field(default_factory=list)
    marks: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (sentence, start, end)
    mentioned: set[str] = field(default_factory=set)
    previous: frozenset[str] = frozenset()
    current: list[str] = field(default_factory=list)

    def tell(self, node) -> None:
        """Append one sentence made from ``node``, capitalised, and remember whom it mentions."""
        out: list[Token] = []
        self.current = []
        self._realise(node, out)
        self.previous = frozenset(self.current)
        out[0] = replace(out[0], word=out[0].word[0].upper() + out[0].word[1:])
        self.sentences.append(out)

    def _realise(self, node, out: list[Token]) -> None:
        start = len(out)
        if isinstance(node, Token):
            out.append(node)
        elif isinstance(node, tuple):
            for child in node:
                self._realise(child, out)
        elif isinstance(node, Alt):
            self._realise(self.rng.choice(node.options), out)
        elif node.key in self.cast or node.key in ("C_OBJ", "PAIR"):
            self._people(node.key, out)
        else:
            kind = {"TOWN": "LOC", "HOME": "LOC", "ORG": "ORG", "FEST": "MISC"}.get(node.key)
            out.extend(entity(self.values[node.key], kind) if kind else (tok(self.values[node.key]),))
        if getattr(node, "mark", None):
            self.marks.setdefault(node.mark, (len(self.sentences), start, len(out)))

    def _people(self, key: str, out: list[Token]) -> None:
        if key == "PAIR":
            if self.previous == {"P", "C"} and not self.current and self.rng.random() < 0.75:
                self.current += ["P", "C"]
                out.append(Token("they", "PRON"))
                return
            self._person("P", out, pronoun=False)
            out.append(tok("and"))
            self._person("C", out, pronoun=False)
        else:
            self._person(key[0], out, pronoun=key != "C_OBJ")

    def _person(self, role: str, out: list[Token], pronoun: bool) -> None:
        """Full name at first mention, a pronoun if the last sentence was about this one person alone."""
        first, surname = self.cast[role]
        if role not in self.mentioned:
            self.marks[role] = (len(self.sentences), len(out), len(out) + 2)
            out.extend(entity(f"{first} {surname}", "PER"))
        elif pronoun and self.previous == {role} and not self.current and self.rng.random() < 0.75:
            out.append(Token("she" if first in FEMALE_NAMES else "he", "PRON"))
        else:
            out.append(Token(first, "PROPN", "B-PER"))
        self.mentioned.add(role)
        self.current.append(role)


@dataclass(frozen=True)
class _Document:
    id: str
    topic: str
    label: int
    words: tuple[tuple[Token, ...], ...]
    sentences: tuple[str, ...]
    text: str
    questions: tuple[tuple[str, str, int], ...]  # (question, answer, answer_start)
    probes: tuple[tuple[str, str], ...]  # (question, the entity it asks about): unanswerable elsewhere


def _tell_document(rng: random.Random, topic: Topic, doc_id: str) -> _Document:
    grammar = grammars()[topic.name]
    cast = dict(zip("PC", zip(rng.sample(FEMALE_NAMES + MALE_NAMES, 2), rng.sample(SURNAMES, 2))))
    town, home = rng.sample(PLACES, 2)
    values = {"TOWN": town, "HOME": home, "ORG": rng.choice(ORGANISATIONS), "FEST": rng.choice(FESTIVALS),
               "THREATENED": rng.choice(topic.threatened)}
    label = rng.randrange(2)
    work = [grammar.work_person] * rng.randint(1, 2)
    work += [grammar.work_creature] * (1 if len(work) == 2 else rng.randint(1, 2))
    rng.shuffle(work)
    final, before = rng.sample(range(len(topic.events) + 1), 2)
    outcomes = [(rng.choice((IN_THE_END, ())), grammar.events[bool(label)][final], DOT)]
    if rng.random() < 0.5:  # "At first, <any outcome>. In the end, <the outcome that counts>."
        outcomes = [(AT_FIRST, grammar.events[rng.random() < 0.5][before], DOT),
                    (IN_THE_END, grammar.events[bool(label)][final], DOT)]
    story = _Story(rng, cast, values)
    for node in (grammar.arrival, grammar.introduction, grammar.team, *work, grammar.problem, *outcomes,
                 grammar.ending):
        story.tell(node)

    surfaces = [surface([t.word for t in tokens]) for tokens in story.sentences]
    text = " ".join(s for s, _ in surfaces)
    offsets = list(accumulate((len(sentence) + 1 for sentence, _ in surfaces), initial=0))

    def span(mark: str) -> tuple[str, int]:
        i, start, end = story.marks[mark]
        first, last = offsets[i] + surfaces[i][1][start], offsets[i] + surfaces[i][1][end - 1]
        last += len(story.sentences[i][end - 1].word)
        return text[first:last], first

    p = cast["P"][0]
    asked = ((f"Who arrives in {town}?", "P", town), (f"Where does {p} come from?", "home", p),
             (f"Where does {p} arrive?", "town", p), (f"Who works with {p}?", "C", p),
             (f"Which organisation does {p} work for?", "org", p),
             (f"What threatens the {values['THREATENED']}?", "threat", None))
    return _Document(doc_id, topic.name, label, tuple(map(tuple, story.sentences)), tuple(s for s, _ in surfaces),
                     text, tuple((q, *span(mark)) for q, mark, _ in asked),
                     tuple((q, about) for q, _, about in asked if about))


@functools.cache
def _documents(sizes: tuple[int, int, int], seed: int) -> dict[str, tuple[_Document, ...]]:
    """Each split from its own random stream; test first, then validation, then train, never
    repeating a text, so that held-out documents are never trained on."""
    seen: set[str] = set()
    out: dict[str, tuple[_Document, ...]] = {}
    for split in reversed(SPLITS):
        size, rng, docs = sizes[SPLITS.index(split)], random.Random(f"{seed}/{split}"), []
        while len(docs) < size:
            doc = _tell_document(rng, TOPICS[len(docs) % len(TOPICS)], f"{split}-{len(docs)}")
            if doc.text not in seen:
                seen.add(doc.text)
                docs.append(doc)
        out[split] = tuple(docs)
    return {split: out[split] for split in SPLITS}


# =====================================================================================
# Datasets: the corpus, its task views, and the hub
# =====================================================================================
def _sizes(n_train, n_validation, n_test) -> dict[str, int | None]:
    sizes = {"train": n_train, "validation": n_validation, "test": n_test}
    for split, value in sizes.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValueError(f"n_{split} must be a positive int (a number of documents, or of rows on the hub) "
                             f"or None; got {value!r}.")
    return sizes


def _embedded_sizes(n_train, n_validation, n_test) -> tuple[int, int, int]:
    return tuple(size or DEFAULT_SIZES[split] for split, size in _sizes(n_train, n_validation, n_test).items())


def _pick(split: str | None, build, *args) -> DatasetDict | Dataset:
    """A fresh view of the splits ``build(*args)`` makes (so set_format on it cannot leak), or one split."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, or None for all three; got {split!r}.")
    import datasets

    views = datasets.DatasetDict({name: ds.with_format(None) for name, ds in build(*args).items()})
    return views if split is None else views[split]


def _from(source: str, split: str | None, sizes: tuple, seed: int, embedded, hub, *hub_args) -> DatasetDict | Dataset:
    """The splits ``embedded(sizes, seed)`` makes, or with ``source="hub"`` those of ``hub(sizes, *hub_args)``."""
    if source == "hub":
        return _pick(split, hub, _sizes(*sizes), *hub_args)
    if source != "embedded":
        raise ValueError(f"source must be 'embedded' or 'hub'; got {source!r}.")
    return _pick(split, embedded, _embedded_sizes(*sizes), seed)


def document_corpus(n_train: int | None = None, n_validation: int | None = None, n_test: int | None = None,
                    seed: int = 0, source: str = "embedded", split: str | None = None, *,
                    path: str = "Salesforce/wikitext", name: str | None = "wikitext-103-raw-v1",
                    cache_dir: str | None = None) -> DatasetDict | Dataset:
    """The document corpus as a ``datasets.DatasetDict`` (or one ``Dataset`` when ``split`` is given).

    Columns and sources are described in the module docstring. The default embedded corpus
    (3000 / 300 / 300 documents) takes a few seconds the first time and is cached in the
    process. ``seed`` applies to the embedded corpus; ``path``, ``name`` and ``cache_dir``
    to the hub. Raises ValueError for an unknown ``source`` or ``split``, for sizes that are
    not positive ints, and, on the hub, when a split has fewer documents than asked for
    (:mod:`course_lib.data.hub` lists the others).
    """
    return _from(source, split, (n_train, n_validation, n_test), seed, _embedded_corpus, corpus, path, name,
                 cache_dir)


@functools.cache
def _embedded_corpus(sizes: tuple[int, int, int], seed: int):
    import datasets

    strings, nested = datasets.Value("string"), datasets.List(datasets.List(datasets.Value("string")))
    features = datasets.Features({"id": strings, "topic": strings, "text": strings, "sentences": datasets.List(strings),
                                  "words": nested, "pos_tags": nested, "ner_tags": nested,
                                  "label": datasets.ClassLabel(names=list(LABEL_NAMES))})
    out = {}
    for split, docs in _documents(sizes, seed).items():
        columns = {"id": [d.id for d in docs], "topic": [d.topic for d in docs], "text": [d.text for d in docs],
                   "sentences": [list(d.sentences) for d in docs]}
        for column, attribute in (("words", "word"), ("pos_tags", "pos"), ("ner_tags", "ner")):
            columns[column] = [[[getattr(t, attribute) for t in s] for s in d.words] for d in docs]
        columns["label"] = [d.label for d in docs]
        out[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(out)


def qa_dataset(n_train: int | None = None, n_validation: int | None = None, n_test: int | None = None,
               seed: int = 0, source: str = "embedded", split: str | None = None, *,
               path: str = "rajpurkar/squad_v2", name: str | None = "squad_v2", revision: str | None = None,
               cache_dir: str | None = None) -> DatasetDict | Dataset:
    """Reading comprehension on the corpus's documents, in SQuAD v2 columns.

    Rows: ``id`` ("train-0-q0", ...), ``title`` (the document's id), ``context`` (its text),
    ``question``, ``answers`` = {"text": [answer], "answer_start": [character offset]}
    with ``context[start:start + len(answer)] == answer``, or empty lists when the passage
    does not answer the question. Each document gets six answerable questions (who arrives,
    where from, where to, who with, which organisation, what threatens) and up to three
    unanswerable ones: questions of other documents, same topic first, about a person or
    place this passage never mentions. Sizes, seed and errors as in :func:`document_corpus`.

    ``source="hub"``: SQuAD 2.0's questions, same columns and features. Test is its validation
    split (the official dev set); validation is carved out of its train split after the train
    rows, past the articles they ask about, so pass ``n_train`` and ``n_validation``. Sizes
    count questions; ``seed`` does not apply.
    """
    return _from(source, split, (n_train, n_validation, n_test), seed, _qa, functools.partial(task_view, SQUAD_V2),
                 path, name, revision, cache_dir)


def _unanswerable(docs: tuple[_Document, ...], i: int, count: int = 3) -> list[str]:
    """Up to ``count`` questions of other documents, same topic first, about someone or
    somewhere that ``docs[i]`` never mentions."""
    doc, found = docs[i], []
    donors = (j for same in (True, False) for j in ((i + k) % len(docs) for k in range(1, len(docs)))
              if (docs[j].topic == doc.topic) == same)
    for j in donors:
        question, about = docs[j].probes[(i + len(found)) % len(docs[j].probes)]
        if about not in doc.text and question not in found:
            found.append(question)
        if len(found) == count:
            break
    return found


@functools.cache
def _qa(sizes: tuple[int, int, int], seed: int):
    import datasets

    strings = datasets.Value("string")
    features = datasets.Features({"id": strings, "title": strings, "context": strings, "question": strings,
                                  "answers": {"text": datasets.List(strings),
                                              "answer_start": datasets.List(datasets.Value("int32"))}})
    out = {}
    for split, docs in _documents(sizes, seed).items():
        columns: dict[str, list] = {name: [] for name in features}
        for i, doc in enumerate(docs):
            asked = [(q, [a], [start]) for q, a, start in doc.questions] + [(q, [], []) for q in _unanswerable(docs, i)]
            for k, (question, text, start) in enumerate(asked):
                for name, value in zip(features, (f"{doc.id}-q{k}", doc.id, doc.text, question,
                                                  {"text": text, "answer_start": start})):
                    columns[name].append(value)
        out[split] = datasets.Dataset.from_dict(columns, features=features)
    return datasets.DatasetDict(out)


def tagging_dataset(n_train: int | None = None, n_validation: int | None = None, n_test: int | None = None,
                    seed: int = 0, source: str = "embedded", split: str | None = None, *,
                    path: str = "eriktks/conll2003", name: str | None = None,
                    revision: str | None = "refs/convert/parquet",
                    cache_dir: str | None = None) -> DatasetDict | Dataset:
    """Part-of-speech and entity tagging, one row per sentence, in CoNLL-2003 columns.

    Rows: ``id`` ("train-0-3": document train-0, sentence 3), ``tokens`` (words and
    punctuation), ``pos_tags`` and ``ner_tags`` (ClassLabel ids of :data:`POS_TAGS` and
    :data:`NER_TAGS`; ``features["ner_tags"].feature.names`` gives the names). The NER ids
    are CoNLL-2003's; the POS ids are not (Universal POS here, Penn tags there). Sizes count
    documents; seed and errors as in :func:`document_corpus`.

    ``source="hub"``: CoNLL-2003's sentences from the Parquet conversion of ``eriktks/conll2003``
    (:mod:`course_lib.data.hub` says why). ``ner_tags`` have the ids and names above (other names
    are refused); ``pos_tags`` keep its ClassLabel of 47 Penn Treebank tags; ``chunk_tags`` are
    dropped. Sizes count sentences; ``seed`` does not apply.
    """
    return _from(source, split, (n_train, n_validation, n_test), seed, _tagging,
                 functools.partial(task_view, CONLL2003), path, name, revision, cache_dir)


@functools.cache
def _tagging(sizes: tuple[int, int, int], seed: int):
    import datasets

    features = datasets.Features({"id": datasets.Value("string"), "tokens": datasets.List(datasets.Value("string")),
                                  "pos_tags": datasets.List(datasets.ClassLabel(names=list(POS_TAGS))),
                                  "ner_tags": datasets.List(datasets.ClassLabel(names=list(NER_TAGS)))})
    pos_id, ner_id = {t: i for i, t in enumerate(POS_TAGS)}, {t: i for i, t in enumerate(NER_TAGS)}
    out = {}
    for split, docs in _documents(sizes, seed).items():
        sentences = [(f"{d.id}-{k}", s) for d in docs for k, s in enumerate(d.words)]
        out[split] = datasets.Dataset.from_dict({
            "id": [i for i, _ in sentences], "tokens": [[t.word for t in s] for _, s in sentences],
            "pos_tags": [[pos_id[t.pos] for t in s] for _, s in sentences],
            "ner_tags": [[ner_id[t.ner] for t in s] for _, s in sentences]}, features=features)
    return datasets.DatasetDict(out)


def classification_dataset(n_train: int | None = None, n_validation: int | None = None, n_test: int | None = None,
                           seed: int = 0, source: str = "embedded", split: str | None = None, *,
                           path: str = "nyu-mll/glue", name: str | None = "sst2", revision: str | None = None,
                           cache_dir: str | None = None) -> DatasetDict | Dataset:
    """Does the story end well? One row per document, in SST-2 columns.

    Rows: ``idx`` (int), ``sentence`` (the whole document: the label depends on its last
    outcome sentence read with its negation, so a single sentence or keyword does not
    decide it), ``label`` (ClassLabel: 0 negative, 1 positive; about half each). Sizes,
    seed and errors as in :func:`document_corpus`.

    ``source="hub"``: GLUE SST-2's movie-review sentences and phrases, with its ``idx`` and
    splits. GLUE keeps the test labels private: every test ``label`` is -1 (no label), kept for
    the GLUE server; measure accuracy on validation. Sizes count rows; ``seed`` does not apply.
    """
    return _from(source, split, (n_train, n_validation, n_test), seed, _classification,
                 functools.partial(task_view, SST2), path, name, revision, cache_dir)


@functools.cache
def _classification(sizes: tuple[int, int, int], seed: int):
    import datasets

    features = datasets.Features({"idx": datasets.Value("int32"), "sentence": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=list(LABEL_NAMES))})
    return datasets.DatasetDict({
        split: datasets.Dataset.from_dict({"idx": list(range(len(docs))), "sentence": [d.text for d in docs],
                                           "label": [d.label for d in docs]}, features=features)
        for split, docs in _documents(sizes, seed).items()})
