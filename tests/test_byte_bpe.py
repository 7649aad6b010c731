"""Tests of course_lib.byte_bpe: the byte-to-unicode table against transformers' and the ByteLevel
pre-tokenizer's (every byte valid UTF-8 can produce), the round trip against tokenizers' ByteLevel
decoder, a byte-level BPE trained on the course corpus that encodes hostile strings with no unknown
token and decodes them back exactly where lesson 07's WordPiece gives [UNK], and the errors."""

from __future__ import annotations

import pytest
from tokenizers import decoders, pre_tokenizers
from transformers.convert_slow_tokenizer import bytes_to_unicode as transformers_bytes_to_unicode

from course_lib import mini_bert as mb
from course_lib.byte_bpe import (
    ROBERTA_SPECIAL_TOKENS,
    byte_level_decode,
    byte_level_encode,
    bytes_to_unicode,
    corpus_byte_bpe,
    train_byte_bpe,
)

HOSTILE = [
    "naïve café, Ünaffäble façade",  # accents
    "e\u0301 versus é",  # a combining accent and the composed letter
    "we 😀 emoji 👩‍👩‍👧 and flags 🇫🇷",  # 4-byte characters and zero-width joiners
    "東京で寿司を食べた。",  # CJK
    "Зд\u0440авствуй, Ελλάδα, مرحبا, שָׁלוֹם",  # Cyrillic, Greek, Arabic, Hebrew with points
    "zxqvbrmplk glorfindel-ish splendiferousness",  # unseen words
    "tabs\tnew\nlines\r\n  double  spaces \x00 nul \x7f del \u00a0nbsp \u00ad soft",  # controls and odd spaces
    "\ufeffBOM, \u200bzero-width, \U0010ffff last code point, \ue000 private use",
    "",
]


def all_valid_utf8_leads() -> str:
    """A text whose UTF-8 uses every byte that valid UTF-8 can contain (all but C0, C1, F5-FF)."""
    pieces = [bytes(range(128))]
    pieces += [bytes([lead, 0x80]) for lead in range(0xC2, 0xE0)]
    pieces += [bytes([lead, 0xA0 if lead == 0xE0 else 0x80, 0x80]) for lead in range(0xE0, 0xF0)]
    pieces += [bytes([lead, 0x90 if lead == 0xF0 else 0x80, 0x80, 0x80]) for lead in range(0xF0, 0xF5)]
    pieces += [bytes([0xC2, continuation]) for continuation in range(0x80, 0xC0)]
    return b"".join(pieces).decode("utf-8")


@pytest.fixture(scope="module")
def bpe():
    return corpus_byte_bpe()


def test_table_equals_transformers_and_the_bytelevel_alphabet():
    table = bytes_to_unicode()
    assert table == transformers_bytes_to_unicode()
    assert list(table) == list(range(256)) and len(set(table.values())) == 256
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())
    assert table[ord("a")] == "a" and table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ" and table[0] == "Ā"
    assert all(ch.isprintable() and not ch.isspace() for ch in table.values())


def test_encoding_equals_the_bytelevel_pre_tokenizer_on_every_byte():
    text = all_valid_utf8_leads()
    assert len(set(text.encode("utf-8"))) == 256 - 13  # every byte UTF-8 allows: all but C0, C1, F5-FF
    reference = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    for sample in [text, *HOSTILE[:-1]]:
        (piece, _), = reference.pre_tokenize_str(sample)
        assert byte_level_encode(sample) == piece
        assert len(byte_level_encode(sample)) == len(sample.encode("utf-8"))


@pytest.mark.parametrize("text", HOSTILE + [all_valid_utf8_leads()])
def test_decoding_inverts_encoding_as_the_bytelevel_decoder_does(text):
    symbols = byte_level_encode(text)
    assert byte_level_decode(symbols) == text
    tokens = [symbols[i:i + 3] for i in range(0, len(symbols), 3)]  # pieces that may end inside a character
    assert byte_level_decode(tokens) == decoders.ByteLevel().decode(tokens) == text


def test_a_piece_cut_inside_a_character_decodes_to_the_replacement_character():
    symbols = byte_level_encode("😀")
    assert len(symbols) == 4 and byte_level_decode(symbols[:2]) == decoders.ByteLevel().decode([symbols[:2]])
    assert "\ufffd" in byte_level_decode(symbols[:2])


@pytest.mark.parametrize("text", HOSTILE)
def test_trained_bpe_encodes_anything_without_unknown_and_decodes_exactly(bpe, text):
    encoding = bpe.encode(text)
    unk = bpe.token_to_id("<unk>")
    assert unk not in encoding.ids
    assert (encoding.ids[0], encoding.ids[-1]) == (bpe.token_to_id("<s>"), bpe.token_to_id("</s>"))
    assert bpe.decode(encoding.ids) == text
    bare = bpe.encode(text, add_special_tokens=False)
    assert "".join(bare.tokens) == "".join(p for p, _ in bpe.pre_tokenizer.pre_tokenize_str(text))


def test_wordpiece_of_lesson_07_gives_unk_where_byte_bpe_does_not(bpe):
    wordpiece = mb.train_vocabulary()
    for text in ("we 😀 emoji", "東京で寿司を食べた。", "Ελλάδα"):
        assert "[UNK]" in wordpiece.tokenize(text)
        assert bpe.decode(bpe.encode(text).ids) == text


def test_the_corpus_bpe_has_every_byte_and_frequent_words_whole(bpe):
    vocab = bpe.get_vocab()
    assert bpe.get_vocab_size() == 1300
    assert [vocab[t] for t in ROBERTA_SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    assert set(bytes_to_unicode().values()) <= set(vocab)
    assert bpe.encode(" bread", add_special_tokens=False).tokens == ["Ġbread"]  # a frequent word, with its space
    assert len(bpe.encode(" splendiferousness", add_special_tokens=False).tokens) > 2  # an unseen one, in pieces


def test_train_byte_bpe_on_a_few_texts():
    texts = ["low lower lowest", "newer newest wider", "low low low"] * 5
    tokenizer = train_byte_bpe(texts, 300, min_frequency=2, special_tokens=("<s>", "</s>"))
    assert tokenizer.token_to_id("<s>") == 0 and tokenizer.token_to_id("Ġlow") is not None
    assert tokenizer.decode(tokenizer.encode("lowest 😀").ids) == "lowest 😀"


def test_errors_say_what_to_pass():
    with pytest.raises(ValueError, match="256 bytes"):
        train_byte_bpe(["a b"], 260)
    with pytest.raises(TypeError, match="wrap it in a list"):
        train_byte_bpe("one text", 300)
    with pytest.raises(ValueError, match="'<s>' and '</s>'"):
        train_byte_bpe(["a"], 300, special_tokens=("<pad>",))
    with pytest.raises(ValueError, match="not byte-level characters"):
        byte_level_decode("ĠĀ 東")
    with pytest.raises(TypeError, match="must be a str"):
        byte_level_encode(b"bytes")
