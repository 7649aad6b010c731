"""Byte-level BPE, RoBERTa's tokenizer (lesson 09_roberta_spanbert).

RoBERTa (Liu et al. 2019, section 4.4) replaces BERT's 30K WordPiece vocabulary with GPT-2's
byte-level BPE (Radford et al. 2019, section 2.2): the text's UTF-8 BYTES are the base alphabet,
so every string has an encoding and no token is ever unknown, where a WordPiece vocabulary gives
[UNK] for a character it never saw (an emoji, a Chinese character). BPE (Sennrich et al. 2016)
then merges the most frequent adjacent pair of symbols, again and again, until the vocabulary
is full.

GPT-2 does not feed raw bytes to BPE: it first maps each of the 256 bytes to a printable Unicode
character (:func:`bytes_to_unicode`), so that the merges and the vocabulary file are text, and no
byte becomes whitespace or a control character that a text pipeline would strip. The printable
bytes keep their own character ("a" is "a"); the other 68 (controls, space, DEL, NBSP, soft
hyphen...) take the characters from U+0100 on, in byte order, so a space is "Ġ" (U+0120) and a
newline "Ċ". HF ``tokenizers``' ``ByteLevel`` pre-tokenizer and decoder use the same table.

- :func:`bytes_to_unicode`, :func:`byte_level_encode`, :func:`byte_level_decode`: the map and its use;
- :func:`train_byte_bpe`: a byte-level BPE trained with HF ``tokenizers`` (``ByteLevel``
  pre-tokenizer, GPT-2's word split included, ``BpeTrainer`` with all 256 byte characters in the
  initial alphabet, RoBERTa's special tokens and ``<s> ... </s>`` template);
- :func:`corpus_byte_bpe`: one trained on the course's documents (cased: RoBERTa does not lowercase).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from course_lib.arguments import check_int

if TYPE_CHECKING:  # imported where it is used
    from tokenizers import Tokenizer

__all__ = [
    "ROBERTA_SPECIAL_TOKENS",
    "bytes_to_unicode",
    "byte_level_encode",
    "byte_level_decode",
    "train_byte_bpe",
    "corpus_byte_bpe",
]

# ids 0-4 here; RoBERTa has the same first four and <mask> last
ROBERTA_SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map from each byte 0..255 to one printable character: a dict of 256 entries.

    Bytes that are printable Latin-1 characters map to themselves: "!".."~" (33-126), "¡".."¬"
    (161-172) and "®".."ÿ" (174-255), 188 bytes in all. The 68 others (0-32, 127-160, 173) map,
    in increasing byte order, to chr(256), chr(257), ...: byte 0 is "Ā", the space (32) "Ġ".
    Equal to ``tokenizers.pre_tokenizers.ByteLevel``'s table and to
    ``transformers.convert_slow_tokenizer.bytes_to_unicode()``.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    table = {byte: chr(byte) for byte in printable}
    others = (byte for byte in range(256) if byte not in table)
    table.update((byte, chr(256 + k)) for k, byte in enumerate(others))
    return dict(sorted(table.items()))


@functools.cache
def _unicode_to_bytes() -> dict[str, int]:
    return {char: byte for byte, char in bytes_to_unicode().items()}


def byte_level_encode(text: str) -> str:
    """``text``'s UTF-8 bytes, each as its :func:`bytes_to_unicode` character: "héllo 😀" -> "hÃ©lloĠðŁĺĢ".

    One character per byte, so the result is as long as ``text.encode("utf-8")``. What
    ``ByteLevel(add_prefix_space=False, use_regex=False).pre_tokenize_str(text)`` gives as its one
    piece. TypeError unless ``text`` is a str.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}.")
    table = bytes_to_unicode()
    return "".join(table[byte] for byte in text.encode("utf-8"))


def byte_level_decode(symbols: str | Sequence[str]) -> str:
    """The text whose :func:`byte_level_encode` is ``symbols`` (a str, or tokens to concatenate).

    The characters go back to bytes, and the bytes are decoded as UTF-8. A piece that ends inside a
    character (one token of "😀", which takes four bytes) is not valid UTF-8 alone: its incomplete
    bytes become U+FFFD, as GPT-2's and ``tokenizers``' ByteLevel decoders do; decode whole token
    sequences to get the text back exactly. ValueError naming a character outside the table.
    """
    text = symbols if isinstance(symbols, str) else "".join(symbols)
    table = _unicode_to_bytes()
    unknown = sorted({char for char in text if char not in table})
    if unknown:
        raise ValueError(f"{unknown[:5]} are not byte-level characters (bytes_to_unicode's values): decode token "
                         "strings from a byte-level vocabulary, not plain text.")
    return bytes(table[char] for char in text).decode("utf-8", errors="replace")


def train_byte_bpe(
    texts: Iterable[str],
    vocab_size: int,
    min_frequency: int = 2,
    special_tokens: Sequence[str] = ROBERTA_SPECIAL_TOKENS,
) -> Tokenizer:
    """A byte-level BPE ``tokenizers.Tokenizer`` of ``vocab_size`` entries, trained on ``texts``.

    ``Tokenizer(BPE())`` with no unknown token; pre-tokenizer ``ByteLevel(add_prefix_space=False)``
    (GPT-2's regex split into words, numbers, punctuation and spaces, then the byte map); decoder
    ``ByteLevel()``; ``BpeTrainer(vocab_size, min_frequency, special_tokens,
    initial_alphabet=ByteLevel.alphabet())``, so all 256 byte characters are in the vocabulary
    even if the corpus never shows them; post-processor ``RobertaProcessing``: ``encode(text)``
    gives ``<s> text </s>``, ``encode(text, add_special_tokens=False)`` the bare pieces.
    ``special_tokens`` take ids 0.. in order and must include ``<s>`` and ``</s>``; the vocabulary
    may stop short of ``vocab_size`` when no pair occurs ``min_frequency`` times any more.
    ValueError if ``vocab_size`` cannot hold the 256 bytes and the special tokens; TypeError for
    ``texts`` given as one str.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of str, not one str; wrap it in a list: [text].")
    specials = list(special_tokens)
    if "<s>" not in specials or "</s>" not in specials:
        raise ValueError(f"special_tokens must include '<s>' and '</s>' (RoBERTa's template); got {specials}.")
    check_int("vocab_size", vocab_size, f"it must hold the 256 bytes and {len(specials)} special tokens",
              minimum=256 + len(specials))
    check_int("min_frequency", min_frequency, "the fewest occurrences of a pair worth merging")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tokenizer.train_from_iterator(texts, trainer=trainer)
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", tokenizer.token_to_id("</s>")),
                                                            ("<s>", tokenizer.token_to_id("<s>")),
                                                            add_prefix_space=False)
    return tokenizer


@functools.cache
def _corpus_byte_bpe(vocab_size: int, seed: int) -> str:
    from course_lib.data.documents import document_corpus

    return train_byte_bpe(document_corpus(seed=seed, split="train")["text"], vocab_size).to_str()


def corpus_byte_bpe(vocab_size: int = 1300, seed: int = 0) -> Tokenizer:
    """A byte-level BPE (:func:`train_byte_bpe`) trained on the train split of ``document_corpus(seed=seed)``.

    Cased text, as RoBERTa. ``vocab_size`` 1,300 by default, the size of lesson 07's WordPiece
    (``mini_bert.train_vocabulary()``), so the two compare at equal size. About a second; cached
    per process (each call returns a fresh ``Tokenizer``, so changing one does not change the next).
    """
    from tokenizers import Tokenizer

    check_int("vocab_size", vocab_size, "entries in the vocabulary", minimum=256 + len(ROBERTA_SPECIAL_TOKENS))
    return Tokenizer.from_str(_corpus_byte_bpe(vocab_size, seed))
