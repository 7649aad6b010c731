"""The English -> French translation corpus and its splits (lesson 06_translation).

``translation_pairs`` and ``translation_splits`` draw distinct sentence pairs from the
course's grammar (``course_lib.data.french_grammar``), deterministically (seeded), so the
lesson runs offline and in seconds. The test split holds out combinations of known words
(``HELD_OUT_COMBINATIONS``) to measure generalisation to unseen combinations.
``translation_splits(source="hub")`` loads a public dataset (by default OPUS books
English-French) through ``datasets.load_dataset`` in the same layout; ``datasets`` is
imported only then.
"""
from __future__ import annotations

import functools
import random

from course_lib.data.choices import SteeredSampler
from course_lib.data.french_grammar import default_grammar, sample_derivations, sample_pairs
from course_lib.data.french_surface import realise_sentence

__all__ = [
    "HELD_OUT_COMBINATIONS",
    "translation_pairs",
    "translation_splits",
    "translation_pair_count",
]

HELD_OUT_COMBINATIONS: tuple[str, ...] = (
    # an adjective describing a noun, before it, after it or after "is"
    "adj:old+tree",  # un vieil arbre
    "adj:beautiful+bird",  # un bel oiseau
    "adj:new+car",  # une nouvelle voiture
    "adj:small+elephant",  # un petit éléphant
    "adj:young+queen",  # une jeune reine
    "adj:red+apple",  # une pomme rouge
    "adj:white+horse",  # un cheval blanc
    "adj:black+cat",  # un chat noir
    "adj:happy+girl",  # une fille heureuse
    "adj:hot+soup",  # une soupe chaude
    # a verb with its object, in the main clause or in a relative clause
    "verb:eat+cake",
    "verb:drink+milk",
    "verb:read+letter",
    "verb:catch+mouse",
    "verb:see+elephant",
    "verb:open+window",
    "verb:throw+ball",
    "verb:wash+car",
    "verb:listen to+bird",
    "verb:speak to+king",
)
"""Combinations that never occur in the train and validation splits, only in test.

``adj:A+N``: adjective A describes noun N (attributive or after "is"); ``verb:V+N``:
N is the object of verb V (also "the cake that the boy eats"). Every word of them
occurs in training in other combinations.
"""


def translation_pair_count() -> int:
    """How many distinct English -> French pairs the embedded grammar can produce."""
    return default_grammar().count()


def translation_pairs(n: int, seed: int = 0) -> list[dict[str, str]]:
    """``n`` distinct English -> French sentence pairs from the embedded grammar.

    Each pair is ``{"en": "The small cat near the dogs sleeps.", "fr": "Le petit chat près
    des chiens dort."}``. The same ``seed`` gives the same pairs on every machine.
    Unlike :func:`translation_splits`, no combination is held out.
    """
    if n < 0:
        raise ValueError(f"n must be non-negative; got {n}")
    seen: set[str] = set()
    pairs: list[dict[str, str]] = []
    for en, fr, _ in sample_pairs(seed):
        if len(pairs) == n:
            break
        if en not in seen:
            seen.add(en)
            pairs.append({"en": en, "fr": fr})
    return pairs


def translation_splits(
    n_train: int = 12000,
    n_valid: int = 1000,
    n_test: int = 1000,
    seed: int = 0,
    source: str = "embedded",
    *,
    with_combinations: bool = False,
    path: str = "Helsinki-NLP/opus_books",
    name: str | None = "en-fr",
    cache_dir: str | None = None,
) -> dict[str, list[dict]]:
    """Train, validation and test English -> French pairs.

    Returns ``{"train": rows, "valid": rows, "test": rows}``, each row a dict
    ``{"id": str, "en": str, "fr": str}``: the same layout for both sources.

    ``source="embedded"`` (default) generates the pairs with the course's grammar; no
    English sentence occurs twice across the three splits. ``train`` and ``valid``
    never contain a combination in :data:`HELD_OUT_COMBINATIONS`; every ``test`` pair
    contains at least one (so test measures generalisation to unseen combinations of
    known words, and valid measures in-distribution generalisation). Test pair i contains
    held-out combination ``HELD_OUT_COMBINATIONS[i % 20]`` (and possibly others), so each
    is tested equally often; the test split depends only on ``seed`` and ``n_test``
    (a smaller ``n_test`` gives a prefix), not on ``n_train``. With
    ``with_combinations=True`` rows also hold ``"combinations"``: every adjective-noun
    and verb-object combination in the sentence, e.g. ``["adj:old+tree", "verb:see+tree"]``.
    The embedded splits are cached: calling again with the same sizes and seed is instant.

    ``source="hub"`` loads ``datasets.load_dataset(path, name, cache_dir=cache_dir)``
    (by default the OPUS books English-French corpus, which needs the network the first
    time), and returns a seeded random sample of its rows in the same layout. Where the
    dataset has no validation or test split, they are carved out of its train split,
    disjoint from the rows sampled for train.
    """
    for split_name, size in (("n_train", n_train), ("n_valid", n_valid), ("n_test", n_test)):
        if size < 0:
            raise ValueError(f"{split_name} must be non-negative; got {size}")
    if source == "hub":
        if with_combinations:
            raise ValueError("with_combinations=True only applies to source='embedded'")
        return _hub_translation_splits(n_train, n_valid, n_test, seed, path, name, cache_dir)
    if source != "embedded":
        raise ValueError(f"source must be 'embedded' or 'hub'; got {source!r}")

    generated = _embedded_splits(n_train, n_valid, n_test, seed)
    splits = {}
    for split, examples in zip(("train", "valid", "test"), generated):
        rows = []
        for i, (en, fr, combos) in enumerate(examples):
            row = {"id": f"{split}-{i}", "en": en, "fr": fr}
            if with_combinations:
                row["combinations"] = list(combos)
            rows.append(row)
        splits[split] = rows
    return splits


@functools.lru_cache(maxsize=8)
def _embedded_splits(n_train: int, n_valid: int, n_test: int, seed: int) -> tuple[tuple, tuple, tuple]:
    """(train, valid, test), each a tuple of (English, French, sorted combinations)."""
    held_out = frozenset(HELD_OUT_COMBINATIONS)
    seen: set[str] = set()
    splits: dict[str, list[tuple]] = {"train": [], "valid": [], "test": []}
    # Independent random streams, so that the test split does not move when n_train does.
    # Test: the i-th pair contains held-out combination i % 20, so that all are tested
    # equally often; a steered sampler makes the words of that combination likely.
    grammar = default_grammar()
    sampler = SteeredSampler(f"{seed}/test")
    rows = splits["test"]
    while len(rows) < n_test:
        combo = HELD_OUT_COMBINATIONS[len(rows) % len(HELD_OUT_COMBINATIONS)]
        sampler.words = frozenset(combo.split(":")[1].split("+"))
        en_tokens, fr_tokens, combos = grammar.sentence(sampler)
        if combo in combos:
            en, fr = realise_sentence(en_tokens, fr_tokens)
            if en not in seen:
                seen.add(en)
                rows.append((en, fr, tuple(sorted(set(combos)))))
    # Train and valid: the grammar's own distribution, without any held-out combination.
    for split, size in (("train", n_train), ("valid", n_valid)):
        rows = splits[split]
        for en_tokens, fr_tokens, combos in sample_derivations(f"{seed}/{split}", grammar):
            if len(rows) == size:
                break
            if not held_out.isdisjoint(combos):
                continue
            en, fr = realise_sentence(en_tokens, fr_tokens)
            if en not in seen:
                seen.add(en)
                rows.append((en, fr, tuple(sorted(set(combos)))))
    return tuple(splits["train"]), tuple(splits["valid"]), tuple(splits["test"])


def _hub_translation_splits(n_train, n_valid, n_test, seed, path, name, cache_dir) -> dict[str, list[dict]]:
    import datasets  # only here: importing it takes seconds and nothing needs it otherwise

    hub = datasets.load_dataset(path, name, cache_dir=cache_dir)
    aliases = {"train": ("train",), "valid": ("validation", "valid", "dev"), "test": ("test",)}
    wanted = {"train": n_train, "valid": n_valid, "test": n_test}
    rng = random.Random(seed)
    taken_from_train: set[int] = set()
    out: dict[str, list[dict]] = {}
    # own splits first, so that what is carved out of train is known before train is sampled
    for split in sorted(wanted, key=lambda s: s == "train"):
        source_name = next((a for a in aliases[split] if a in hub), "train")
        if source_name not in hub:
            raise ValueError(f"{path!r} has no train split to take a {split} split from")
        own = hub[source_name]
        free = [i for i in range(len(own)) if source_name != "train" or i not in taken_from_train]
        if wanted[split] > len(free):
            raise ValueError(
                f"{path!r} ({name}) has {len(free)} rows left for the {split} split; asked for {wanted[split]}"
            )
        chosen = rng.sample(free, wanted[split])
        if source_name == "train":
            taken_from_train.update(chosen)
        rows = own.select(chosen).to_list() if chosen else []
        out[split] = [_hub_row(example, source_name, i) for example, i in zip(rows, chosen)]
    return {split: out[split] for split in ("train", "valid", "test")}


def _hub_row(example: dict, split: str, index: int) -> dict:
    if "translation" in example:
        en, fr = example["translation"]["en"], example["translation"]["fr"]
    elif "en" in example and "fr" in example:
        en, fr = example["en"], example["fr"]
    else:
        raise ValueError(f"a row has neither a 'translation' column nor 'en' and 'fr' columns: {sorted(example)}")
    ident = example.get("id")
    return {"id": str(ident) if ident is not None else f"{split}-{index}", "en": en, "fr": fr}
