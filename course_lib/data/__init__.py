"""Corpora and loaders for the course: one module per corpus or generator.

Every lesson that trains on text gets its data from here. By default the data is
*embedded*: generated deterministically (seeded) by the course's own code, so every
notebook runs offline and in seconds. Where a standard public dataset exists, a
``source="hub"`` option loads it through ``datasets.load_dataset`` and returns it in the
same layout; ``datasets`` is not imported until that option is used.

Modules
-------
- ``vocabulary``: ``tokenize_words``, ``detokenize_words`` and ``Vocabulary`` (token <-> id,
  with ``<pad>`` = 0, ``<s>``, ``</s>``, ``<unk>``).
- ``french_lexicon``: the English -> French words of the translation corpus (``Lexicon``).
- ``french_grammar``: the rules that make English -> French sentence pairs (``Grammar``),
  their sampling weights, and the streams ``sample_pairs``.
- ``french_surface``: noun-phrase agreement, elision and contraction: the words of a sentence.
- ``choices``: the choice functions that drive a grammar (seeded sampling, steered
  sampling, enumeration of every derivation).
- ``translation``: the corpus of lesson 06_translation, ``translation_pairs``,
  ``translation_splits`` (a test split of unseen combinations, ``HELD_OUT_COMBINATIONS``)
  and its hub loader.
- ``documents`` (with its words in ``english_lexicon`` and its sentence rules and recogniser in
  ``english_grammar``): the document corpus of lessons 07-10 and its task views (SQuAD v2,
  CoNLL-2003 and SST-2 columns) as ``datasets.DatasetDict``. Import it as
  ``from course_lib.data import documents``; it is not re-exported here, so that the translation
  lessons never build ``datasets`` objects.
- ``hub``: the public datasets behind the English corpus's ``source="hub"`` (Wikitext for the
  documents, GLUE SST-2, SQuAD v2 and CoNLL-2003 for the task views), read into the course's columns.

The names the notebooks use are re-exported here: ``data.Vocabulary``,
``data.translation_splits``, ...
"""
from __future__ import annotations

from course_lib.data.translation import (
    HELD_OUT_COMBINATIONS,
    translation_pair_count,
    translation_pairs,
    translation_splits,
)
from course_lib.data.vocabulary import Vocabulary, detokenize_words, tokenize_words

__all__ = [
    "tokenize_words",
    "detokenize_words",
    "Vocabulary",
    "HELD_OUT_COMBINATIONS",
    "translation_pairs",
    "translation_splits",
    "translation_pair_count",
]
