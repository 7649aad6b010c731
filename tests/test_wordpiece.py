"""WordPiece against HF's BertTokenizerFast on the real bert-base-uncased vocabulary, wordpiece()
and train_wordpiece() on hand-worked cases, and train_wordpiece() against a slow exact reference."""
import functools
import random
import unicodedata
import warnings
from collections import Counter
from fractions import Fraction

import pytest
import torch

from course_lib.pretrained import minilm_file
from course_lib.wordpiece import (
    SPECIAL_TOKENS,
    WordPieceTokenizer,
    basic_tokenize,
    count_words,
    train_wordpiece,
    wordpiece,
)


@pytest.fixture(scope="module")
def ours():
    return WordPieceTokenizer.from_minilm()


@pytest.fixture(scope="module")
def hf_fast():
    from transformers import BertTokenizerFast

    # transformers 5 silently ignores vocab_file= and builds a 5-token vocabulary: pass vocab=
    tokenizer = BertTokenizerFast(vocab=str(minilm_file("vocab.txt")))
    assert len(tokenizer) == 30522
    return tokenizer


# ---------------------------------------------------------------------- sentences to compare on
WORDS = ("the cat sat on mat attention is all you need transformers bert pretraining masked language model "
         "unaffable tokenization antidisestablishmentarianism hyperparameterization subword BERTology "
         "iPhone McDonald's NASA tOkEnIzAtIoN GPT-2 don't o'clock state-of-the-art e-mail").split()
ACCENTED = ("café naïve Zürich Ångström résumé São Paulo Dvořák Łódź crème brûlée façade jalapeño Ærø Straße ẞ "
            "İstanbul ﬁnance e\u0301cole Ñandú Mötley Crüe").split()
OTHER_SCRIPTS = ("ΟΔΟΣ Σίσυφος ΣΑΣ αλφα Москва ПРИВЕТ مرحبا مَرْحَبًا שָׁלוֹם नमस्ते สวัสดี 한국어 서울 ひらがな カタカナ "
                 "中文 日本語 漢字 我爱NLP 𠀀𪜀 豈 ＡＢＣ１２３").split()
NUMBERS = "3.14 1,000 42 1e-9 10% $5 2:30 1/2 ½ x² ① 0.5e+10 +44 -7".split()
EMOJI = "😀 🎉 👍🏽 ❤️ 🇫🇷 👨‍👩‍👧 🥰 ☃ ♥ ★".split()
PUNCT = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + list("“”‘’«»—–…¿¡·•§¶†‡‰′″、。「」『』！？（）：；，")
CONTROL = list("\x00\x01\x07\x1b\x7f\x85\u200b\u200d\ufeff\ufffd\t\n\r\x0b\x0c")
CONTROL += list("\xa0\u2003\u3000\u2028\u2029\u00ad\ue000")  # whitespace, soft hyphen, private use
SPECIAL = ["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "[[MASK]]", "[MASK", "x[SEP]y"]
LONG = ["a" * 100, "a" * 101, "x" * 150, "supercalifragilistic" * 6, "Zürich" * 20, "é" * 101]
# code point ranges where the Rust tokenizers crate and Python 3.11 agree on every character's category:
# ASCII to Armenian, general punctuation, CJK symbols and kana, CJK, Hangul, emoji
RANDOM_RANGES = [(0x21, 0x58F), (0x2000, 0x206F), (0x3000, 0x30FF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3),
                 (0x1F300, 0x1FAFF)]
# the edges of the CJK ranges, control characters, specials; the Rust crate's CJK Extension E starts at 0x2B920
EDGES = [(0x0, 0x20), (0xF900, 0xFAFF), (0xFFF0, 0xFFFF), (0x20000, 0x20010), (0x2B810, 0x2B830), (0x2B910, 0x2B930)]


@functools.cache
def vocab_words():
    return [t for t in WordPieceTokenizer.from_minilm().ids_to_tokens if t.isalpha() and not t.startswith("##")]


def _sentence(rng):
    kinds = [WORDS, ACCENTED, OTHER_SCRIPTS, NUMBERS, EMOJI, PUNCT, CONTROL, SPECIAL, LONG, vocab_words()]
    weights = [6, 3, 2, 2, 1, 3, 1, 0.5, 0.3, 6]
    parts = []
    for _ in range(rng.randint(1, 25)):
        if rng.random() < 0.08:
            low, high = rng.choice(RANDOM_RANGES)
            part = "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, 3)))
        else:
            part = rng.choice(rng.choices(kinds, weights)[0])
        roll = rng.random()
        part = part.upper() if roll < 0.1 else part.capitalize() if roll < 0.25 else part
        parts.append(part + rng.choice([" ", " ", " ", "", "  ", "\t", "\n", ", ", "."]))
    return "".join(parts)


def sentences(n=3000, seed=0):
    rng = random.Random(seed)
    return ["", " ", "\x00", "Hello, World!", "ΟΔΟΣ"] + [_sentence(rng) for _ in range(n)]


# ---------------------------------------------------------------------- the real vocabulary = HF
def test_the_real_vocab_loads_with_the_special_tokens_of_bert_base_uncased(ours):
    assert ours.vocab_size == len(ours) == 30522
    assert (ours.pad_token_id, ours.unk_token_id, ours.cls_token_id, ours.sep_token_id, ours.mask_token_id) == (
        0, 100, 101, 102, 103)
    assert ours.tokenize("Unaffable tokenization!") == ["una", "##ffa", "##ble", "token", "##ization", "!"]


def test_ids_equal_bert_tokenizer_fast_on_thousands_of_generated_sentences(ours, hf_fast):
    texts = sentences()
    expected = hf_fast(texts, add_special_tokens=False)["input_ids"]
    got = [ours.encode(text) for text in texts]
    mismatched = [(text, want, mine) for text, want, mine in zip(texts, expected, got) if want != mine]
    assert not mismatched, f"{len(texts) - len(mismatched)}/{len(texts)} match; first mismatch: {mismatched[0]!r}"
    covered = "".join(texts)
    for needle in ["$", "^", "~", "`", "+", "<", "=", ">", "|", "Σ", "中", "😀", "\x00", "[MASK]", "a" * 101]:
        assert needle in covered
    assert sum(ids == [100] for ids in expected) < len(texts) / 10  # not all [UNK]
    # the checkpoint's own tokenizer.json (what loading all-MiniLM-L6-v2 with HF gives) agrees too
    from transformers import BertTokenizerFast

    shipped = BertTokenizerFast.from_pretrained(str(minilm_file("tokenizer.json").parent))
    assert shipped(texts, add_special_tokens=False)["input_ids"] == got


def test_every_character_of_common_blocks_is_treated_as_hf_treats_it(ours, hf_fast):
    texts = []
    for low, high in RANDOM_RANGES + EDGES:
        texts += [f"x{chr(c)}x {chr(c)}A{chr(c)}" for c in range(low, high + 1) if not 0xD800 <= c <= 0xDFFF]
    expected = hf_fast(texts, add_special_tokens=False)["input_ids"]
    wrong = [text for text, ids in zip(texts, expected) if ours.encode(text) != ids]
    assert not wrong, f"{len(wrong)} characters differ, e.g. {[hex(ord(t[1])) for t in wrong[:10]]}"


def test_the_slow_tokenizer_agrees_except_on_greek_final_sigma_and_unassigned_code_points(ours):
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        slow = BertTokenizerLegacy(vocab_file=str(minilm_file("vocab.txt")))
    texts = sentences(800, seed=1)
    differ = [text for text in texts if slow.encode(text, add_special_tokens=False) != ours.encode(text)]
    # Python's str.lower() turns a word-final Σ into ς; HF's Rust tokenizer (and so this module) gives σ.
    # The slow tokenizer also drops unassigned code points (category Cn), which the fast one keeps as [UNK].
    assert all("Σ" in text or any(unicodedata.category(c) == "Cn" for c in text) for text in differ)
    assert len(differ) < len(texts) / 5
    assert slow.tokenize("ΟΔΟΣ") == ["ο", "##δ", "##ος"] and ours.tokenize("ΟΔΟΣ") == ["ο", "##δ", "##ο", "##σ"]


def test_decode_joins_continuation_pieces_as_hf_wordpiece_decoder(ours, hf_fast):
    from tokenizers import decoders

    decoder = decoders.WordPiece(prefix="##", cleanup=False)
    for text in sentences(300, seed=2):
        ids = ours.encode(text)
        assert ours.decode(ids) == decoder.decode(ours.convert_ids_to_tokens(ids)), repr(text)
    assert ours.decode(ours.encode("Tokenization works!")) == "tokenization works !"
    assert ours.decode([101, 19204, 3989, 102], skip_special_tokens=True) == "tokenization"
    assert ours.decode([3989]) == "##ization"


def test_save_and_from_file_give_back_the_same_vocabulary(ours, tmp_path):
    path = ours.save(tmp_path / "vocab.txt")
    assert path.read_text(encoding="utf-8") == minilm_file("vocab.txt").read_text(encoding="utf-8")
    again = WordPieceTokenizer.from_file(path)
    assert again.vocab == ours.vocab and again.ids_to_tokens == ours.ids_to_tokens


def test_conversions_and_encode_adds_no_special_tokens(ours):
    assert ours.encode("the cat") == [1996, 4937]
    assert ours.convert_tokens_to_ids("the") == 1996
    assert ours.convert_tokens_to_ids(["the", "no-such-token"]) == [1996, 100]
    assert ours.convert_ids_to_tokens(1996) == "the"
    assert ours.convert_ids_to_tokens([101, 102]) == ["[CLS]", "[SEP]"]
    assert ours.tokenize("a [MASK] b [mask]") == ["a", "[MASK]", "b", "[", "mask", "]"]
    assert ours.decode(torch.tensor([1996, 4937])) == "the cat"
    small = WordPieceTokenizer({"a": 1, "[UNK]": 0, "##b": 2})
    assert small.ids_to_tokens == ["[UNK]", "a", "##b"] and small.encode("ab ba") == [1, 2, 0]


# ---------------------------------------------------------------------- basic_tokenize
def test_basic_tokenize_splits_punctuation_including_ascii_symbols():
    assert basic_tokenize("Hello, World!") == ["hello", ",", "world", "!"]
    assert basic_tokenize("a$b^c~d`e+f<g=h>i|j") == list("a$b^c~d`e+f<g=h>i|j")
    assert basic_tokenize("3.14 and 1,000") == ["3", ".", "14", "and", "1", ",", "000"]
    assert basic_tokenize("«quoted»—yes…") == ["«", "quoted", "»", "—", "yes", "…"]
    assert basic_tokenize("x²½") == ["x²½"]  # No and So characters are not punctuation


def test_basic_tokenize_strips_accents_and_lowercases_only_when_asked():
    assert basic_tokenize("Café Ångström NAÏVE e\u0301") == ["cafe", "angstrom", "naive", "e"]
    assert basic_tokenize("Café Ångström", lowercase=False) == ["Café", "Ångström"]
    assert basic_tokenize("ΟΔΟΣ") == ["οδοσ"]  # character by character: no final sigma
    assert basic_tokenize("İstanbul Straße") == ["istanbul", "straße"]


def test_basic_tokenize_cleans_control_characters_and_whitespace():
    assert basic_tokenize("a\x00b\u200bc\ufffd\x07d e") == ["abcd", "e"]
    assert basic_tokenize(" a\tb\nc\u3000d\xa0e\u2028f  ") == list("abcdef")
    assert basic_tokenize("") == [] and basic_tokenize(" \t\n") == []


def test_basic_tokenize_makes_each_cjk_ideograph_a_word():
    assert basic_tokenize("我爱NLP") == ["我", "爱", "nlp"]
    assert basic_tokenize("日本語とカタカナ") == ["日", "本", "語", "とカタカナ"]  # kana are not split


# ---------------------------------------------------------------------- wordpiece
def test_wordpiece_takes_the_longest_match_first():
    vocab = {"un", "una", "##aff", "##able", "##ffa", "##ble"}
    assert wordpiece("unaffable", vocab) == ["una", "##ffa", "##ble"]  # not un ##aff ##able
    assert wordpiece("unaffable", vocab - {"una"}) == ["un", "##aff", "##able"]
    # greedy does not back off: "ab" leaves "c", which has no piece, though "a ##bc" would cover the word
    assert wordpiece("abc", {"a", "ab", "##bc"}) == ["[UNK]"]
    assert wordpiece("cat", {"cat": 0, "c": 1, "##at": 2}) == ["cat"]


def test_wordpiece_turns_the_whole_word_into_unk_when_any_part_is_missing():
    assert wordpiece("unaffable", {"un", "##aff"}) == ["[UNK]"]  # not ["un", "##aff", "[UNK]"]
    assert wordpiece("a", {"##a"}) == ["[UNK]"]  # a word starts without "##"
    assert wordpiece("ba", {"b", "a"}) == ["[UNK]"]  # and continues with it
    assert wordpiece("xyz", {"x"}, unk_token="<unk>") == ["<unk>"]
    assert wordpiece("", {"a"}) == []


def test_wordpiece_gives_unk_for_words_longer_than_max_chars():
    vocab = {"a", "##a"}
    assert wordpiece("aaaa", vocab, max_chars_per_word=4) == ["a", "##a", "##a", "##a"]
    assert wordpiece("aaaaa", vocab, max_chars_per_word=4) == ["[UNK]"]


def test_wordpiece_on_the_real_vocabulary(ours):
    assert wordpiece("tokenization", ours.vocab) == ["token", "##ization"]
    assert wordpiece("a" * 101, ours.vocab) == ["[UNK]"]
    assert wordpiece("😀", ours.vocab) == ["[UNK]"]


# ---------------------------------------------------------------------- train_wordpiece
HF_COURSE = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}


def test_train_wordpiece_merges_by_likelihood_not_frequency():
    # splits: h ##u ##g (10), p ##u ##g (5), p ##u ##n (12), b ##u ##n (4), h ##u ##g ##s (5)
    # piece counts: h 15, p 17, b 4, ##u 36, ##g 20, ##n 16, ##s 5
    # the most frequent pair is (##u, ##g), 20 times, score 20 / (36 * 20) = 1/36;
    # the likeliest is (##g, ##s), 5 times, score 5 / (20 * 5) = 1/20
    pairs = Counter()
    for word, count in HF_COURSE.items():
        split = [word[0]] + ["##" + c for c in word[1:]]
        pairs.update({pair: count for pair in zip(split, split[1:])})
    assert pairs.most_common(1) == [(("##u", "##g"), 20)]  # what a frequency (BPE-style) merge would pick
    vocab = train_wordpiece(HF_COURSE, 13)
    assert vocab == list(SPECIAL_TOKENS) + ["##g", "##n", "##s", "##u", "b", "h", "p", "##gs"]


def test_train_wordpiece_full_hand_worked_run():
    # merge 2: (h,##u) (##u,##g) (p,##u) (b,##u) (##u,##gs) (##u,##n) all score 1/36; highest count: (p,##u), 17
    # merge 3: (h,##u) 15/(15*19), (b,##u) 4/(4*19), (##u,##gs) 5/(19*5) tie at 1/19; highest count: (h,##u)
    # merge 4: (b,##u) 4/(4*4) = 1/4            merge 5: (hu,##gs) 5/(15*5) = 1/15
    # merge 6: (hu,##g) 10/(10*15) = 1/15       merge 7: (bu,##n) 4/(4*16) = 1/16
    # merge 8: (pu,##n) 12/(17*12) and (pu,##g) 5/(17*5) tie at 1/17; higher count: (pu,##n)
    # merge 9: (pu,##g) 5/(5*5); then every word is one piece and training stops
    merges = ["##gs", "pu", "hu", "bu", "hugs", "hug", "bun", "pun", "pug"]
    alphabet = ["##g", "##n", "##s", "##u", "b", "h", "p"]
    assert train_wordpiece(HF_COURSE, 100) == list(SPECIAL_TOKENS) + alphabet + merges
    assert train_wordpiece(HF_COURSE, 15) == list(SPECIAL_TOKENS) + alphabet + merges[:3]


def test_train_wordpiece_breaks_full_ties_alphabetically_whatever_the_input_order():
    assert train_wordpiece({"cd": 1, "ab": 1}, 10, special_tokens=()) == ["##b", "##d", "a", "c", "ab", "cd"]
    rng = random.Random(0)
    words = {"".join(rng.choices("abcd", k=rng.randint(1, 6))): rng.randint(1, 7) for _ in range(200)}
    shuffled = dict(random.Random(0).sample(sorted(words.items()), len(words)))
    assert train_wordpiece(words, 60) == train_wordpiece(shuffled, 60) == train_wordpiece(words, 60)


def _merge(split, a, b):
    out, i = [], 0
    while i < len(split):
        if split[i : i + 2] == [a, b]:
            out.append(a + b[2:])
            i += 2
        else:
            out.append(split[i])
            i += 1
    return out


def reference_train(word_counts, vocab_size, special_tokens=SPECIAL_TOKENS):
    """Recount everything before every merge, with exact fractions for the scores."""
    splits = {word: [word[0]] + ["##" + c for c in word[1:]] for word in word_counts}
    vocab = list(special_tokens) + sorted({p for s in splits.values() for p in s} - set(special_tokens))
    while len(vocab) < vocab_size:
        pieces, pairs = Counter(), Counter()
        for word, split in splits.items():
            for piece in split:
                pieces[piece] += word_counts[word]
            for pair in zip(split, split[1:]):
                pairs[pair] += word_counts[word]
        if not pairs:
            break
        a, b = min(pairs, key=lambda p: (-Fraction(pairs[p], pieces[p[0]] * pieces[p[1]]), -pairs[p], p))
        splits = {word: _merge(split, a, b) for word, split in splits.items()}
        if a + b[2:] not in vocab:
            vocab.append(a + b[2:])
    return vocab


@pytest.mark.parametrize("seed", range(6))
def test_train_wordpiece_equals_a_full_recount_reference(seed):
    rng = random.Random(seed)
    letters = "abcde" if seed % 2 else "abcdefghijklmnopqrstuvwxyz"
    words = {"".join(rng.choices(letters, k=rng.randint(1, 8))): rng.choice([1, 1, 2, 3, 5, 40])
             for _ in range(rng.randint(20, 150))}
    for size in (len(reference_train(words, 0)), len(reference_train(words, 0)) + 30, 10_000):
        assert train_wordpiece(words, size) == reference_train(words, size)


def test_trained_pieces_never_cross_a_word_boundary_and_cover_every_training_word():
    texts = ["the cat sat on the mat", "the hat sat on the cat", "a cat and a hat"] * 3
    counts = count_words(texts)
    assert counts["the"] == 12 and counts["a"] == 6
    vocab = train_wordpiece(counts, 10_000)
    for token in vocab[len(SPECIAL_TOKENS):]:
        if token.startswith("##"):
            assert any(token[2:] in word[1:] for word in counts), token
        else:
            assert any(word.startswith(token) for word in counts), token
    assert not any("ec" in token or "tc" in token for token in vocab)  # "the cat" glued would give these
    tokenizer = WordPieceTokenizer(vocab)
    for word in counts:
        assert tokenizer.tokenize(word) == [word]  # every word ended up a single piece
    assert WordPieceTokenizer.train(texts, 20).vocab_size == 20


def test_train_wordpiece_respects_vocab_size_and_puts_special_tokens_first():
    words = {"low": 5, "lower": 2, "newest": 6, "widest": 3}
    for size in (16, 20, 28):  # 5 special tokens + 11 characters; 12 merges make every word one piece
        vocab = train_wordpiece(words, size)
        assert len(vocab) == size and len(set(vocab)) == size
        assert vocab[:5] == list(SPECIAL_TOKENS)
    assert len(train_wordpiece(words, 10_000)) == 28
    assert train_wordpiece(words, 30, special_tokens=("<unk>",))[0] == "<unk>"
    tokenizer = WordPieceTokenizer(train_wordpiece(words, 20))
    for word in words:
        assert "[UNK]" not in tokenizer.tokenize(word)
        assert tokenizer.decode(tokenizer.encode(word)) == word


# ---------------------------------------------------------------------- errors
def test_errors_say_how_to_fix_the_call(tmp_path):
    with pytest.raises(ValueError, match=r"\[UNK\]"):
        WordPieceTokenizer(["[PAD]", "the", "cat"])
    with pytest.raises(ValueError, match="more than once"):
        WordPieceTokenizer(["[UNK]", "the", "the"])
    with pytest.raises(FileNotFoundError, match="no-such"):
        WordPieceTokenizer.from_file(tmp_path / "no-such-vocab.txt")
    with pytest.raises(ValueError, match=r"\[MASK\]"):
        WordPieceTokenizer(["[UNK]", "a"]).mask_token_id
    tokenizer = WordPieceTokenizer(["[UNK]", "a"])
    with pytest.raises(TypeError, match="str"):
        tokenizer.tokenize(["a", "b"])
    with pytest.raises(TypeError, match="str"):
        tokenizer.encode(None)
    with pytest.raises(ValueError, match="from 0 to 1"):
        tokenizer.decode([0, 2])
    with pytest.raises(TypeError, match="str"):
        basic_tokenize(b"bytes")
    with pytest.raises(TypeError, match="str"):
        wordpiece(42, {"a"})
    with pytest.raises(TypeError, match="dict"):
        wordpiece("a", ["a"])
    with pytest.raises(ValueError, match="at least 12"):
        train_wordpiece(HF_COURSE, 11)
    with pytest.raises(ValueError, match="positive"):
        train_wordpiece({"a": 0}, 10)
    with pytest.raises(TypeError, match="dict"):
        train_wordpiece(["hug", "pug"], 10)
    with pytest.raises(TypeError, match="one str"):
        count_words("a text")


# ---------------------------------------------------------------------- token alignment = HF
HARD_CASES = ["Café Ünïcödé", "İstanbul İZMİR", "cafe\u0301 and e\u0301cole", "a\u0301\u0316b a\u0316\u0301b", "中文abc 日本語!",
              "我爱NLP", "豈 ＡＢＣ１２３", "tokenization unaffable antidisestablishmentarianism", "U.S. $3.14 1,000 x² ½",
              "don't o'clock state-of-the-art", "☃ ♥ 😀 👍🏽 ❤️", "the [MASK] sat on [SEP]x[CLS] [mask]", "Σίσυφος ΟΔΟΣ",
              "x\u200by soft\u00adhyphen", "\x00lead\ufffd", "  spaced\t\nout\r\n", "a" * 101 + " ok", "Zürich" * 20,
              "ǅemal ﬁnance Straße ẞ Ⅻ", "한국어 서울", "naïve résumé!?", ""]


@functools.cache
def corpus_sentences():
    from course_lib.data.documents import document_corpus

    return [s for doc in document_corpus(split="validation")["sentences"] for s in doc]


def test_offsets_equal_bert_tokenizer_fast_on_the_corpus_and_hard_cases(ours, hf_fast):
    texts = corpus_sentences() + HARD_CASES + sentences(1500, seed=3)
    expected = hf_fast(texts, add_special_tokens=False, return_offsets_mapping=True)
    got = [ours.encode_with_offsets(text) for text in texts]
    wrong = [(text, mine) for text, mine, ids, offsets in zip(texts, got, expected["input_ids"], expected["offset_mapping"])
             if mine != (ids, [tuple(span) for span in offsets])]
    assert not wrong, f"{len(texts) - len(wrong)}/{len(texts)} equal; first difference: {wrong[0]!r}"
    assert len(texts) > 4000 and sum(len(ids) for ids, _ in got) > 50_000
    assert all(ours.encode(text) == ids for text, (ids, _) in zip(texts[:500], got[:500]))


def test_each_span_normalises_back_to_its_piece_and_unk_spans_the_whole_word(ours):
    for text in HARD_CASES + sentences(300, seed=4):
        for token, (start, end) in zip(ours.tokenize(text), ours.encode_with_offsets(text)[1]):
            assert 0 <= start < end <= len(text)
            if token in SPECIAL_TOKENS and token != "[UNK]":
                assert text[start:end] == token
            elif token != "[UNK]":  # a piece is the normalised characters of its span (a piece may split a
                # character that NFD decomposes, e.g. Hangul, so the span's normal form may be longer)
                assert token.removeprefix("##") in "".join(basic_tokenize(text[start:end])), (text, token, start)
    ids, spans = ours.encode_with_offsets("Café Ünaffäble tokenization ☃x")
    assert ours.convert_ids_to_tokens(ids)[:4] == ["cafe", "una", "##ffa", "##ble"]
    assert spans[:6] == [(0, 4), (5, 8), (8, 11), (11, 14), (15, 20), (20, 27)]
    assert (ids[-1], spans[-1]) == (ours.unk_token_id, (28, 30))  # the whole word "☃x", not just "☃"


def test_cased_offsets_equal_bert_tokenizer_fast_without_lowercasing():
    from transformers import BertTokenizerFast

    hf = BertTokenizerFast(vocab=str(minilm_file("vocab.txt")), do_lower_case=False)
    cased = WordPieceTokenizer.from_file(minilm_file("vocab.txt"), lowercase=False)
    texts = HARD_CASES + sentences(500, seed=5)
    expected = hf(texts, add_special_tokens=False, return_offsets_mapping=True)
    for text, ids, offsets in zip(texts, expected["input_ids"], expected["offset_mapping"]):
        assert cased.encode_with_offsets(text) == (ids, [tuple(span) for span in offsets]), repr(text)


HARD_WORDS = [["U.S.", "Café", "İstanbul", "New York", "don't", "[MASK]", "☃x", "a" * 101, "tokenization"],
              ["", "x", "\x00", "中文", " ", "e\u0301", "$3.14", "[mask]"], ["unaffable"], []]


def test_encode_words_equals_hf_word_ids_on_the_tagging_corpus(ours, hf_fast):
    from course_lib.data.documents import tagging_dataset

    sentences_ = list(tagging_dataset(split="validation")["tokens"]) + HARD_WORDS
    got = [ours.encode_words(words) for words in sentences_]
    several = 0
    for words, (ids, word_ids) in zip(sentences_, got):
        expected = hf_fast(words, is_split_into_words=True, add_special_tokens=False)
        assert (ids, word_ids) == (expected["input_ids"], expected.word_ids()), words
        several += len(word_ids) > len(set(word_ids))
    assert len(sentences_) > 2000 and several > 100  # many sentences have multi-piece words
    ids, word_ids = ours.encode_words(["U.S.", "", "unaffable"])
    assert word_ids == [0, 0, 0, 0, 2, 2, 2] and ids[4:] == ours.encode("unaffable")


def test_alignment_errors_say_what_to_pass(ours):
    with pytest.raises(TypeError, match="list of str, one per word"):
        ours.encode_words("the cat sat")
    with pytest.raises(TypeError, match=r"words\[1\] must be a str; got int"):
        ours.encode_words(["cat", 3])
    with pytest.raises(TypeError, match=r"words\[0\] must be a str; got list"):
        ours.encode_words([["nested"]])
    with pytest.raises(TypeError, match="must be a str"):
        ours.encode_with_offsets(["the cat"])
