"""Public datasets in the course's columns: what ``source="hub"`` reads in :mod:`course_lib.data.documents`.

Every loader here calls ``datasets.load_dataset(path, name, revision=revision, cache_dir=cache_dir)``
(the network the first time, ``cache_dir`` after), keeps the columns of the course's view in its
order with the dataset's own features, and takes the first n rows of each split (every row for
None). A course split that the dataset lacks is carved out of its train split, after the train
rows. ``datasets`` is imported only when a loader runs; nothing here reaches the network otherwise.

Sources, the defaults of :mod:`~course_lib.data.documents`'s functions (``path``, ``name`` and
``revision`` point them elsewhere, a local directory laid out the same way included):

* ``document_corpus``: Wikitext-103 (Merity et al. 2016, "Pointer Sentinel Mixture Models"),
  ``Salesforce/wikitext``, config ``wikitext-103-raw-v1``: one row per line of text; an article,
  from one " = Title = " line to the next, is one document (:func:`corpus`).
* ``classification_dataset``: GLUE SST-2 (Socher et al. 2013; Wang et al. 2018, the GLUE paper),
  ``nyu-mll/glue``, config ``sst2``: ``sst2/{train,validation,test}-00000-of-00001.parquet``, named
  by the dataset card's YAML ``configs``; columns ``sentence``, ``label`` (ClassLabel negative,
  positive), ``idx``. GLUE keeps the test labels private: every test row has ``label`` -1
  (ClassLabel's "no label"). They are kept as -1, so that test predictions can go to the GLUE
  server, and no accuracy can be computed on them: measure on validation (:data:`SST2`).
* ``qa_dataset``: SQuAD 2.0 (Rajpurkar, Jia and Liang 2018, "Know What You Don't Know"),
  ``rajpurkar/squad_v2``, config ``squad_v2``: ``squad_v2/{train,validation}-00000-of-00001.parquet``.
  It has no test split: the course's test split is its validation split (the official dev set,
  on which SQuAD 2.0 results are reported), and the course's validation split is carved out of
  its train split, after the train rows, skipping every article (``title``) that has a question
  in the course's train split, so that no passage is both trained and validated on (:data:`SQUAD_V2`).
* ``tagging_dataset``: CoNLL-2003 (Tjong Kim Sang and De Meulder 2003), ``eriktks/conll2003`` at
  revision ``refs/convert/parquet``: ``conll2003/{train,validation,test}/0000.parquet``, no card.
  The repository's main branch holds only the loading script ``conll2003.py``, which ``datasets``
  4 and later refuse to run ("Dataset scripts are no longer supported"); the Hub's Parquet
  converter publishes what that script built on the ``refs/convert/parquet`` branch (14041 / 3250 /
  3453 sentences, the ClassLabel names in the Parquet schema's metadata). It is the original
  repository, its ids and its label order, unlike the copies in personal namespaces
  (``lhoestq/conll2003``) or ones with their own label order (``tner/conll2003``). ``pos_tags``
  keep the dataset's Penn Treebank ClassLabel names (47); ``chunk_tags`` are dropped (:data:`CONLL2003`).

Errors (ValueError): a dataset without a train split, without a column of the view (which ones,
and the columns expected), or whose label column has other ClassLabel names than the ids the
course relies on; a split with fewer rows than asked for; a course split the dataset lacks when
its size is None.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from .english_grammar import split_sentences

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset, DatasetDict, Features

__all__ = ["SPLITS", "SST2_LABELS", "CONLL2003_NER_TAGS", "Benchmark", "SST2", "SQUAD_V2", "CONLL2003",
           "corpus", "task_view"]

SPLITS = ("train", "validation", "test")
SST2_LABELS = ("negative", "positive")
CONLL2003_NER_TAGS = ("O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC")


@dataclass(frozen=True)
class Benchmark:
    """How a public benchmark becomes one of the course's task views.

    ``columns`` are kept, in this order, with the dataset's features; ``labels`` maps a column
    to the ClassLabel names the course's ids rely on; ``reads`` maps a course split to the
    dataset's split it is read from (one missing there is carved out of train); a carved split
    shares no value of the column ``disjoint`` with the train split.
    """

    name: str
    columns: tuple[str, ...]
    labels: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    reads: Mapping[str, str] = field(default_factory=lambda: {split: split for split in SPLITS})
    disjoint: str | None = None


SST2 = Benchmark("GLUE SST-2", ("idx", "sentence", "label"), {"label": SST2_LABELS})
SQUAD_V2 = Benchmark("SQuAD v2", ("id", "title", "context", "question", "answers"),
                     reads={"train": "train", "test": "validation"}, disjoint="title")
CONLL2003 = Benchmark("CoNLL-2003", ("id", "tokens", "pos_tags", "ner_tags"), {"ner_tags": CONLL2003_NER_TAGS})


def task_view(benchmark: Benchmark, sizes: dict[str, int | None], path: str, name: str | None,
              revision: str | None, cache_dir: str | None) -> DatasetDict:
    """``benchmark``'s view of the dataset at ``path`` (config ``name``, ``revision``): the course's
    three splits, each the first ``sizes[split]`` rows (all for None) of the split it is read from."""
    import datasets

    hub, where = _load(path, name, revision, cache_dir), _where(path, name, revision)
    for source in sorted(set(benchmark.reads.values()) & set(hub)):
        found = hub[source].column_names
        if missing := [column for column in benchmark.columns if column not in found]:
            raise ValueError(f"{where} has no column {', '.join(map(repr, missing))} in its {source} split; "
                             f"{benchmark.name} has the columns {list(benchmark.columns)}, this one {found}.")
    features = hub["train"].features
    for column, names in benchmark.labels.items():
        label = getattr(features[column], "feature", features[column])  # a list of labels holds its ClassLabel
        if list(getattr(label, "names", ())) != list(names):
            raise ValueError(f"{where}'s {column!r} is {features[column]}; the course needs {benchmark.name}'s "
                             f"ClassLabel names {list(names)}, in this order.")
    streams = {split: _records(hub[source], benchmark.columns) for split, source in benchmark.reads.items()
               if source in hub}
    kept = datasets.Features({column: features[column] for column in benchmark.columns})
    return _course_splits(streams, sizes, kept, where, benchmark.disjoint)


def corpus(sizes: dict[str, int | None], path: str, name: str | None, cache_dir: str | None) -> DatasetDict:
    """Documents with the columns ``id``, ``text`` and ``sentences`` from a dataset with a ``text``
    column: a Wikitext article (from one " = Title = " line to the next) is one document; in any
    other dataset, each non-empty row is one."""
    import datasets

    hub = _load(path, name, None, cache_dir)
    streams = {split: _documents(hub[split], split) for split in SPLITS if split in hub}
    features = datasets.Features({"id": datasets.Value("string"), "text": datasets.Value("string"),
                                  "sentences": datasets.List(datasets.Value("string"))})
    return _course_splits(streams, sizes, features, _where(path, name, None))


def _where(path: str, name: str | None, revision: str | None) -> str:
    return f"{path!r} ({name})" + (f" at revision {revision!r}" if revision else "")


def _load(path: str, name: str | None, revision: str | None, cache_dir: str | None) -> DatasetDict:
    import datasets

    hub = datasets.load_dataset(path, name, revision=revision, cache_dir=cache_dir)
    if "train" not in hub:
        raise ValueError(f"{_where(path, name, revision)} has no train split; it has {sorted(hub)}.")
    return hub


def _course_splits(streams: dict[str, Iterator[dict]], sizes: dict[str, int | None], features: Features,
                   where: str, disjoint: str | None = None) -> DatasetDict:
    """The first ``sizes[split]`` rows of each stream; a split without one continues train's
    stream after the train rows, past every row whose ``disjoint`` value a train row has."""
    import datasets

    out, in_train = {}, set()
    for split in SPLITS:
        if split not in streams and sizes[split] is None:
            raise ValueError(f"{where} has no split to read the course's {split} split from; pass n_{split} to "
                             f"carve one out of train, after the train rows.")
        stream = streams.get(split) or (row for row in streams["train"]
                                        if disjoint is None or row[disjoint] not in in_train)
        rows = list(islice(stream, sizes[split]))
        if sizes[split] is not None and len(rows) < sizes[split]:
            raise ValueError(f"{where} has {len(rows)} rows left for the {split} split; "
                             f"asked for n_{split}={sizes[split]}.")
        if split == "train" and disjoint is not None:
            in_train = {row[disjoint] for row in rows}
        out[split] = datasets.Dataset.from_list(rows, features=features)
    return datasets.DatasetDict(out)


def _records(dataset: Dataset, columns: tuple[str, ...]) -> Iterator[dict]:
    for batch in dataset.select_columns(list(columns)).iter(batch_size=1000):
        yield from (dict(zip(batch, values)) for values in zip(*batch.values()))


_WIKITEXT_TITLE = re.compile(r"= [^=].* =")  # "= Valkyria Chronicles III =", not "= = Gameplay = ="


def _articles(lines: Iterator[str]) -> Iterator[list[str]]:
    """Paragraphs per document: a Wikitext article's, or each non-empty line alone when the
    first non-empty line is not a Wikitext title."""
    paragraphs, wikitext = [], None
    for line in map(str.strip, lines):
        if not line:
            continue
        title = _WIKITEXT_TITLE.fullmatch(line) is not None
        wikitext = title if wikitext is None else wikitext
        if not wikitext:
            yield [line]
        elif title:
            if paragraphs:
                yield paragraphs
            paragraphs = []
        elif not line.startswith("= ="):  # section headings
            paragraphs.append(line)
    if paragraphs:
        yield paragraphs


def _documents(dataset: Dataset, split: str) -> Iterator[dict]:
    if "text" not in dataset.column_names:
        raise ValueError(f"a hub corpus needs a 'text' column; this one has {dataset.column_names}.")
    lines = (line for batch in dataset.iter(batch_size=1000) for line in batch["text"])
    for k, paragraphs in enumerate(_articles(lines)):
        yield {"id": f"{split}-{k}", "text": "\n".join(paragraphs),
               "sentences": [s for p in paragraphs for s in split_sentences(p)]}
