"""BERT's text normaliser and word splitter, keeping track of where every character came from.

The first stage of BERT's tokenizer (google-research/bert ``tokenization.py``, ``BasicTokenizer``;
HF ``tokenizers``' BertNormalizer and BertPreTokenizer): clean the text, isolate CJK ideographs,
strip accents and lowercase, then split on whitespace and punctuation. ``course_lib.wordpiece``
builds ``basic_tokenize`` and the tokenizer on it.

Normalising changes the text: characters are dropped (control characters, accents), one becomes
several (NFD: "é" -> "e" + U+0301; a CJK ideograph -> " 中 "). To give each token its span in
the ORIGINAL text, :func:`normalize` returns, beside the normalised text, the index of the
original character each normalised character came from: what HF's ``NormalizedString`` calls its
alignments (there in bytes, here in characters). A span of normalised characters [i, j) then
covers the original characters ``origins[i]`` to ``origins[j - 1]`` inclusive.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["is_cjk", "is_whitespace", "is_control", "is_punctuation", "normalize", "word_spans"]

# The CJK Unified Ideographs blocks that BERT splits character by character, as the Rust
# tokenizers crate lists them (its Extension E/F range starts at 0x2B920, not BERT's 0x2B820).
_CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)  # fmt: skip


def is_cjk(char: str) -> bool:
    """Whether ``char`` is a CJK ideograph, which BERT makes a word of its own."""
    code = ord(char)
    return code >= 0x3400 and any(low <= code <= high for low, high in _CJK_RANGES)


def is_whitespace(char: str) -> bool:
    """Unicode's White_Space property (Rust's ``char::is_whitespace``), less what cleaning drops first."""
    # its control characters (\v, \f, \x85) never get here because the cleaning drops control characters first
    return char in " \t\n\r\u2028\u2029" or unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    """Categories Cc, Cf, Co, Cs except tab, newline and carriage return: what cleaning drops."""
    # HF keeps unassigned code points (Cn), which then become [UNK]
    return char not in "\t\n\r" and unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs")


def is_punctuation(char: str) -> bool:
    """Unicode category P*, or any ASCII symbol (codes 33-47, 58-64, 91-96, 123-126)."""
    # BERT counts every non-alphanumeric ASCII symbol ($, ^, `, +, <, =, >, |, ~) as
    # punctuation, although Unicode files them under symbols (S*), not punctuation (P*)
    code = ord(char)
    return 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126 or (
        unicodedata.category(char).startswith("P"))


# ASCII text (most of the course's) takes a fast path: its control characters are the codes below 32
# and 127, its whitespace \t \n \r and space, its punctuation the symbols of is_punctuation
_ASCII_KEPT = re.compile(r"[\t\n\r -~]")
_ASCII_SPACES = str.maketrans("\t\n\r", "   ")
_ASCII_WORD = re.compile(r"[!-/:-@\[-`{-~]|[^ !-/:-@\[-`{-~]+")


@functools.lru_cache(maxsize=1 << 16)
def _decompose(chars: str) -> str:
    return unicodedata.normalize("NFD", chars)


def _canonical_order(chars: list[str], origins: list[int]) -> None:
    """NFD's last step, across characters: sort each run of combining marks by combining class
    (stably), carrying the origins along, so that the result is ``unicodedata.normalize("NFD", text)``."""
    run, keys = 0, []
    for char in chars:
        combining = unicodedata.combining(char)
        run += combining == 0  # a starter: no mark moves past it
        keys.append((run, combining))
    order = sorted(range(len(chars)), key=keys.__getitem__)
    chars[:] = [chars[k] for k in order]
    origins[:] = [origins[k] for k in order]


def normalize(text: str, lowercase: bool = True) -> tuple[str, list[int]]:
    """BERT's normaliser: the normalised text, and for each of its characters the index in ``text``
    of the character it came from (``len(origins) == len(normalised)``).

    In order, as HF's BertNormalizer: drop NUL, U+FFFD and control characters (:func:`is_control`);
    turn whitespace into spaces; put spaces around CJK ideographs; when ``lowercase``, strip accents
    (NFD, then drop the non-spacing marks, category Mn) and lowercase character by character (so a
    final capital sigma becomes "σ", as in HF, not "ς" as ``str.lower`` would give). Characters
    made from one character (its decomposition, the spaces around an ideograph, a lowercase of
    several characters) all point back to it, as HF aligns inserted characters.

    >>> normalize("Ça\\tva")
    ('ca va', [0, 1, 2, 3, 4])
    """
    if text.isascii():
        origins = [match.start() for match in _ASCII_KEPT.finditer(text)]
        cleaned = "".join([text[i] for i in origins]).translate(_ASCII_SPACES)
        return (cleaned.lower() if lowercase else cleaned), origins
    chars: list[str] = []
    origins = []
    for i, char in enumerate(text):
        if char in "\x00\ufffd" or is_control(char):
            continue
        new = " " if is_whitespace(char) else f" {char} " if is_cjk(char) else char
        if lowercase and not char.isascii():
            new = _decompose(new)
        chars.extend(new)
        origins.extend([i] * len(new))
    if not lowercase:
        return "".join(chars), origins
    _canonical_order(chars, origins)
    # HF strips accents first, then lowercases
    pairs = [(low, i) for char, i in zip(chars, origins) if unicodedata.category(char) != "Mn" for low in char.lower()]
    return "".join(low for low, _ in pairs), [i for _, i in pairs]


def word_spans(normalized: str) -> list[tuple[int, int]]:
    """The words of normalised text as [start, end) spans: split on spaces, and every punctuation
    character (:func:`is_punctuation`) a word of its own. HF's BertPreTokenizer."""
    if normalized.isascii():
        return [match.span() for match in _ASCII_WORD.finditer(normalized)]
    spans, start = [], 0
    for k, char in enumerate(normalized):
        if char == " " or is_punctuation(char):
            if k > start:
                spans.append((start, k))
            if char != " ":
                spans.append((k, k + 1))
            start = k + 1
    if start < len(normalized):
        spans.append((start, len(normalized)))
    return spans
