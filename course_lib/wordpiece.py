"""WordPiece: BERT's pre-tokenisation, greedy longest-match encoding, and training a vocabulary.

WordPiece (Schuster and Nakajima, 2012, "Japanese and Korean voice search"; Wu et al., 2016,
GNMT, section 4.1) cuts words into pieces from a fixed vocabulary, so that frequent words stay
whole and rare ones fall back to smaller, shared pieces. BERT (Devlin et al., 2019) uses a
30,522-piece vocabulary and tokenises in two stages, as google-research/bert's ``tokenization.py``
defines them and Hugging Face's ``BertTokenizerFast`` (Rust ``tokenizers``: BertNormalizer,
BertPreTokenizer, WordPiece) runs them; this module gives the same ids as the latter:

1. :func:`basic_tokenize` cleans the text and splits it into words and punctuation marks
   (the normaliser and the split, which track each character's origin, are in
   ``course_lib.bert_normalizer``).
2. :func:`wordpiece` cuts each word greedily, longest match first, into pieces; pieces that
   continue a word carry the prefix ``##`` (``"tokenization" -> ["token", "##ization"]``).
   A word with any part the vocabulary cannot cover becomes one ``[UNK]``.

:class:`WordPieceTokenizer` puts both together over a ``vocab.txt`` (one piece per line, id =
line number); ``WordPieceTokenizer.from_minilm()`` loads the real bert-base-uncased vocabulary.

:func:`train_wordpiece` learns a vocabulary from word counts. BERT's own trainer was never
published; this follows the likelihood criterion of Schuster and Nakajima as the Hugging Face
course's WordPiece chapter teaches it: start from single characters and repeatedly merge the
adjacent pair (a, b) with the highest score count(ab) / (count(a) * count(b)), which prefers
pairs whose parts rarely occur apart over pairs that are merely frequent.
(HF ``tokenizers``' WordPieceTrainer merges by frequency, like BPE, so it is not a reference.)
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from numbers import Integral
from pathlib import Path

from course_lib.arguments import check_int
from course_lib.bert_normalizer import normalize, word_spans

__all__ = ["SPECIAL_TOKENS", "CONTINUATION_PREFIX", "basic_tokenize", "wordpiece", "WordPieceTokenizer",
           "count_words", "train_wordpiece"]

SPECIAL_TOKENS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
CONTINUATION_PREFIX = "##"


def _check_text(text: object, name: str = "text") -> None:
    if not isinstance(text, str):
        hint = " Call it once per text." if isinstance(text, (list, tuple)) else ""
        raise TypeError(f"{name} must be a str; got {type(text).__name__}.{hint}")


def basic_tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split ``text`` into words and single punctuation marks, as BERT does before WordPiece.

    In order: drop NUL, U+FFFD and control, format, private-use and surrogate characters (Unicode
    categories Cc, Cf, Co, Cs) except tab, newline and carriage return (unassigned code points stay,
    and end up as [UNK]); turn every whitespace character into a space; put spaces
    around CJK ideographs, so each becomes a word; when ``lowercase``, strip accents (NFD, then
    drop the non-spacing marks, category Mn) and lowercase character by character (so a final
    capital sigma becomes "σ", as in HF's tokenizers, not "ς" as ``str.lower`` would give); split
    on spaces; split every punctuation character off as a token of its own. Punctuation is
    Unicode category P* or any ASCII symbol (codes 33-47, 58-64, 91-96, 123-126). Categories come
    from Python's Unicode tables; HF's are older, so about 500 characters added to Unicode since
    (marks and punctuation of rare scripts, none Latin, Greek, Cyrillic, CJK or emoji) differ from HF.

    >>> basic_tokenize("Héllo, WORLD!  It's $3.14 ~now~")
    ['hello', ',', 'world', '!', 'it', "'", 's', '$', '3', '.', '14', '~', 'now', '~']

    Raises ``TypeError`` unless ``text`` is a str.
    """
    _check_text(text)
    normalized, _ = normalize(text, lowercase)
    return [normalized[start:end] for start, end in word_spans(normalized)]


def wordpiece(
    word: str, vocab: Mapping[str, int] | AbstractSet[str], unk_token: str = "[UNK]", max_chars_per_word: int = 100
) -> list[str]:
    """Cut one word into vocabulary pieces, greedily taking the longest match first.

    From the start of the word, take the longest prefix that is in ``vocab``; then, from
    where it ended, the longest continuation that is in ``vocab`` with ``##`` in front; and so
    on to the end. If at some point not even one character matches, the whole word becomes
    ``[unk_token]`` (not the pieces matched so far), and so does a word of more than
    ``max_chars_per_word`` characters. An empty word gives ``[]``.

    >>> wordpiece("unaffable", {"un", "una", "##aff", "##able", "##ffa", "##ble"})
    ['una', '##ffa', '##ble']

    ``vocab`` is anything that answers ``piece in vocab`` by hashing: a dict token -> id or a
    set of tokens. Raises ``TypeError`` for a word that is not a str or a vocab that is a list.
    """
    _check_text(word, "word")
    if not isinstance(vocab, (Mapping, AbstractSet)):
        raise TypeError(f"vocab must be a dict token -> id or a set of tokens; got {type(vocab).__name__}. "
                        "For a list of tokens in id order, pass {token: i for i, token in enumerate(tokens)}.")
    check_int("max_chars_per_word", max_chars_per_word, "longer words become the unknown token")
    if len(word) > max_chars_per_word:
        return [unk_token]
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = word[start:end] if start == 0 else CONTINUATION_PREFIX + word[start:end]
            if piece in vocab:
                pieces.append(piece)
                start = end
                break
        else:
            return [unk_token]
    return pieces


class WordPieceTokenizer:
    """Text <-> WordPiece tokens <-> ids over a fixed vocabulary, as BERT's tokenizer does.

    ``vocab`` is the list of pieces in id order (``vocab[i]`` has id ``i``; what
    :func:`train_wordpiece` returns) or a dict piece -> id with ids 0..n-1. It must contain
    ``[UNK]``; the other special tokens ([PAD], [CLS], [SEP], [MASK]) are looked up by name when
    asked for (``tokenizer.mask_token_id``). ``lowercase`` selects an uncased model (lowercase and
    strip accents, as bert-base-uncased) or a cased one.

    Special tokens written in the text ("the [MASK] sat") are kept whole, as HF's tokenizer does;
    lowercase "[mask]" is ordinary text. :meth:`encode` adds no [CLS]/[SEP]: BERT's inputs (one or
    two segments, [CLS], [SEP], segment ids) are built from its output elsewhere.

    Raises ``ValueError`` for a vocabulary without ``[UNK]``, with a piece twice, an empty piece or
    one containing a line break, and ``TypeError`` for anything but a list/tuple or dict of str.
    """

    def __init__(self, vocab: Sequence[str] | Mapping[str, int], lowercase: bool = True) -> None:
        if isinstance(vocab, Mapping):
            if sorted(vocab.values()) != list(range(len(vocab))):
                raise ValueError("the ids of a dict vocab must be 0, 1, ..., len(vocab) - 1, each once.")
            vocab = sorted(vocab, key=vocab.__getitem__)
        if not isinstance(vocab, (list, tuple)):
            kind = type(vocab).__name__
            raise TypeError(f"vocab must be a list of tokens in id order or a dict token -> id; got {kind}.")
        tokens = list(vocab)
        for token in tokens:
            if not isinstance(token, str) or not token or "\n" in token or "\r" in token:
                raise ValueError(f"every vocabulary entry must be a non-empty str on one line; got {token!r}.")
        self.ids_to_tokens: list[str] = tokens
        self.vocab: dict[str, int] = {token: i for i, token in enumerate(tokens)}
        if len(self.vocab) != len(tokens):
            twice = sorted(token for token, n in Counter(tokens).items() if n > 1)
            raise ValueError(f"the vocabulary lists these tokens more than once: {twice[:10]}; keep each once.")
        if "[UNK]" not in self.vocab:
            raise ValueError("the vocabulary has no [UNK] token, so words it cannot cover have no id; add "
                             "'[UNK]' (train_wordpiece puts the special tokens first).")
        self.lowercase = lowercase
        specials = sorted((t for t in SPECIAL_TOKENS if t in self.vocab), key=len, reverse=True)
        self._special_pattern = re.compile("(" + "|".join(map(re.escape, specials)) + ")")
        self._cache: dict[str, list[str]] = {}  # word -> pieces: words repeat a lot

    @classmethod
    def from_file(cls, path: str | Path, lowercase: bool = True) -> WordPieceTokenizer:
        """Read a ``vocab.txt``: one token per line (UTF-8), the id being the line number from 0.

        Raises ``FileNotFoundError`` (naming the path) when there is no such file.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no vocabulary file at {path}; pass the path of a vocab.txt.")
        lines = path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the newline that ends the last line
        return cls([line.rstrip("\r") for line in lines], lowercase=lowercase)

    @classmethod
    def from_minilm(cls) -> WordPieceTokenizer:
        """The bert-base-uncased vocabulary (30,522 pieces) shipped with all-MiniLM-L6-v2, checksum-verified."""
        from course_lib.pretrained import minilm_file

        return cls.from_file(minilm_file("vocab.txt"), lowercase=True)

    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int, lowercase: bool = True) -> WordPieceTokenizer:
        """Pre-tokenise ``texts``, count the words and train a vocabulary of ``vocab_size`` on them."""
        return cls(train_wordpiece(count_words(texts, lowercase), vocab_size), lowercase=lowercase)

    def save(self, path: str | Path) -> Path:
        """Write the vocabulary as a ``vocab.txt`` (one token per line, in id order) and return its path."""
        Path(path).write_text("".join(token + "\n" for token in self.ids_to_tokens), encoding="utf-8")
        return Path(path)

    @property
    def vocab_size(self) -> int:
        """The number of tokens in the vocabulary (30,522 for bert-base-uncased)."""
        return len(self.ids_to_tokens)

    __len__ = vocab_size.fget

    def __repr__(self) -> str:
        return f"WordPieceTokenizer(vocab_size={self.vocab_size}, lowercase={self.lowercase})"

    def _special_id(self, token: str) -> int:
        if token not in self.vocab:
            raise ValueError(f"this vocabulary has no {token} token; train or load one that has it.")
        return self.vocab[token]

    pad_token_id = property(lambda self: self._special_id("[PAD]"), doc="Id of [PAD].")
    unk_token_id = property(lambda self: self._special_id("[UNK]"), doc="Id of [UNK].")
    cls_token_id = property(lambda self: self._special_id("[CLS]"), doc="Id of [CLS].")
    sep_token_id = property(lambda self: self._special_id("[SEP]"), doc="Id of [SEP].")
    mask_token_id = property(lambda self: self._special_id("[MASK]"), doc="Id of [MASK].")

    def _pieces(self, word: str) -> list[str]:
        if word not in self._cache:
            self._cache = self._cache if len(self._cache) < 100_000 else {}
            self._cache[word] = wordpiece(word, self.vocab)
        return self._cache[word]

    def _tokens_with_offsets(self, text: str) -> list[tuple[str, tuple[int, int]]]:
        """Each token of ``text`` with its (start, end) character span in ``text``."""
        _check_text(text)
        out, offset = [], 0
        for i, part in enumerate(self._special_pattern.split(text)):
            if i % 2:  # the split keeps the special tokens at odd positions
                out.append((part, (offset, offset + len(part))))
                offset += len(part)
                continue
            normalized, origins = normalize(part, self.lowercase)
            for start, end in word_spans(normalized):
                pieces = self._pieces(normalized[start:end])
                # each piece covers its own characters of the word; an [UNK] covers the whole word
                lengths = [end - start] if pieces == ["[UNK]"] else [
                    len(piece) - (len(CONTINUATION_PREFIX) if k else 0) for k, piece in enumerate(pieces)]
                for piece, length in zip(pieces, lengths):
                    out.append((piece, (offset + origins[start], offset + origins[start + length - 1] + 1)))
                    start += length
            offset += len(part)
        return out

    def tokenize(self, text: str) -> list[str]:
        """``text`` as a list of WordPiece tokens: ``"Tokenization!" -> ["token", "##ization", "!"]``.

        Raises ``TypeError`` unless ``text`` is a str.
        """
        return [token for token, _ in self._tokens_with_offsets(text)]

    def encode(self, text: str) -> list[int]:
        """The ids of ``tokenize(text)``, without [CLS], [SEP] or padding."""
        return self.convert_tokens_to_ids(self.tokenize(text))

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """The ids of ``tokenize(text)`` and each token's (start, end) character span in ``text``.

        ``text[start:end]`` is what the token was made from, end exclusive, in the ORIGINAL text:
        with its case and accents (``"Café"`` gives "cafe" at (0, 4)); a ``##`` piece covers its part
        of the word, an [UNK] the whole word; characters the normaliser dropped inside a token (an
        accent written as a combining mark) are inside its span. What extractive question answering
        needs to turn a predicted token span back into text. Equal to HF's ``BertTokenizerFast(text,
        add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]``.

        >>> WordPieceTokenizer.from_minilm().encode_with_offsets("Ünaffäble!")  # una ##ffa ##ble !
        ([14477, 20961, 3468, 999], [(0, 3), (3, 6), (6, 9), (9, 10)])

        Raises ``TypeError`` unless ``text`` is a str.
        """
        tokens = self._tokens_with_offsets(text)
        return self.convert_tokens_to_ids([token for token, _ in tokens]), [span for _, span in tokens]

    def encode_words(self, words: Sequence[str]) -> tuple[list[int], list[int]]:
        """Ids of pre-split words (a CoNLL sentence) and, for each token, the index of its word.

        Each word is tokenised on its own, as ``encode`` would (``"U.S."`` gives u . s . with
        one word index; ``"playing"`` may give play ##ing). A word that is nothing but control
        characters or spaces gives no token at all. Equal to HF's ``BertTokenizerFast(words,
        is_split_into_words=True, add_special_tokens=False)``: its ``input_ids`` and ``word_ids()``.

        Raises ``TypeError`` when ``words`` is a str (pass ``text.split()`` or use ``encode``) or
        not a sequence, or a word is not a str (naming its index).
        """
        if isinstance(words, str) or not isinstance(words, Sequence):
            kind = type(words).__name__
            raise TypeError(f"words must be a list of str, one per word; got {kind}. For raw text use encode(text).")
        ids: list[int] = []
        word_ids: list[int] = []
        for w, word in enumerate(words):
            if not isinstance(word, str):
                raise TypeError(f"words[{w}] must be a str; got {type(word).__name__} {word!r:.40}.")
            word_ids_before = len(ids)
            ids += self.encode(word)
            word_ids += [w] * (len(ids) - word_ids_before)
        return ids, word_ids

    def convert_tokens_to_ids(self, tokens: str | Sequence[str]) -> int | list[int]:
        """Id of one token, or ids of a list of tokens; a token not in the vocabulary gets [UNK]'s id."""
        unk = self.vocab["[UNK]"]
        if isinstance(tokens, str):
            return self.vocab.get(tokens, unk)
        return [self.vocab.get(token, unk) for token in tokens]

    def convert_ids_to_tokens(self, ids: int | Iterable[int]) -> str | list[str]:
        """Token of one id, or tokens of a sequence of ids (a list, a 1-D tensor or array).

        Raises ``ValueError`` for an id outside 0..vocab_size-1.
        """
        ids = ids.tolist() if hasattr(ids, "tolist") else ids
        single = isinstance(ids, Integral)
        ids = [ids] if single else list(ids)
        for i in ids:
            if isinstance(i, bool) or not isinstance(i, Integral) or not 0 <= i < self.vocab_size:
                raise ValueError(f"token ids must be ints from 0 to {self.vocab_size - 1}; got {i!r}.")
        tokens = [self.ids_to_tokens[i] for i in ids]
        return tokens[0] if single else tokens

    def decode(self, ids: Iterable[int], skip_special_tokens: bool = False) -> str:
        """Text from ids: tokens joined by spaces, each ``##`` piece glued to the one before.

        ``decode(encode("Tokenization works!")) == "tokenization works !"``: what
        :func:`basic_tokenize` removed (case, accents, spacing around punctuation) does not come
        back. Unlike HF's ``decode``, no English-specific clean-up ("works !" -> "works!") is done.
        """
        tokens = self.convert_ids_to_tokens(ids)
        tokens = [tokens] if isinstance(tokens, str) else tokens
        tokens = [t for t in tokens if not (skip_special_tokens and t in SPECIAL_TOKENS)]
        glued = [t[len(CONTINUATION_PREFIX) :] if t.startswith(CONTINUATION_PREFIX) else " " + t for t in tokens[1:]]
        return "".join(tokens[:1] + glued)


def count_words(texts: Iterable[str], lowercase: bool = True) -> Counter:
    """How often each word of :func:`basic_tokenize` occurs in ``texts``: the input of :func:`train_wordpiece`."""
    if isinstance(texts, str):
        raise TypeError("texts must be an iterable of str, not one str; wrap it in a list: [text].")
    counts: Counter = Counter()
    for text in texts:
        counts.update(basic_tokenize(text, lowercase))
    return counts


def _merge(pieces: list[str], a: str, b: str, merged: str) -> list[str]:
    """``pieces`` with every adjacent (a, b), scanned left to right, replaced by ``merged``."""
    out, i = [], 0
    while i < len(pieces):
        if i + 1 < len(pieces) and pieces[i] == a and pieces[i + 1] == b:
            out.append(merged)
            i += 2
        else:
            out.append(pieces[i])
            i += 1
    return out


def train_wordpiece(
    word_counts: Mapping[str, int], vocab_size: int, special_tokens: Sequence[str] = SPECIAL_TOKENS
) -> list[str]:
    """Learn a WordPiece vocabulary of at most ``vocab_size`` tokens from word counts.

    ``word_counts`` maps each word (what :func:`basic_tokenize` gives, e.g. from
    :func:`count_words`) to how often it occurs. Returns the vocabulary in id order: the
    ``special_tokens``, then the alphabet (every word's first character, and ``"##" + c`` for
    every character c seen later in a word), sorted, then one token per merge, in merge order.

    Each word starts as its characters (``"hug" -> h ##u ##g``). A merge picks the adjacent
    pair (a, b) with the highest score count(ab) / (count(a) * count(b)), counts being
    occurrences weighted by word count; ties go to the higher count(ab), then to the
    alphabetically first (a, b). So the order of ``word_counts`` does not matter. (The Hugging
    Face course breaks ties by which pair it met first in the corpus instead.) The pair is merged
    everywhere, left to right, into a + b without b's "##" (``h + ##u -> hu``,
    ``##g + ##s -> ##gs``); pieces never span two words. A merge whose token is already in the
    vocabulary is applied but adds no entry. Training stops at ``vocab_size`` tokens, or earlier
    when every word is a single piece.

    Raises ``ValueError`` when ``vocab_size`` is smaller than the special tokens plus the
    alphabet, or a count is not a positive int; ``TypeError`` for a word that is not a non-empty str.
    """
    if not isinstance(word_counts, Mapping):
        kind = type(word_counts).__name__
        raise TypeError(f"word_counts must be a dict word -> count (see count_words); got {kind}.")
    if isinstance(special_tokens, str) or not all(isinstance(token, str) for token in special_tokens):
        raise TypeError(f"special_tokens must be a sequence of str; got {special_tokens!r}.")
    check_int("vocab_size", vocab_size, "the number of tokens to learn")
    words, counts = list(word_counts), list(word_counts.values())
    for word, count in zip(words, counts):
        if not isinstance(word, str) or not word:
            raise (ValueError if word == "" else TypeError)(f"every word must be a non-empty str; got {word!r}.")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"the count of {word!r} must be a positive int; got {count!r}. Drop words never seen.")
    splits = [[word[0]] + [CONTINUATION_PREFIX + char for char in word[1:]] for word in words]
    vocab = list(dict.fromkeys(special_tokens))
    known = set(vocab)
    vocab += [piece for piece in sorted({piece for split in splits for piece in split}) if piece not in known]
    known.update(vocab)
    if vocab_size < len(vocab):
        raise ValueError(f"vocab_size={vocab_size} is smaller than the {len(vocab)} special tokens and characters "
                         f"every vocabulary of these words needs; ask for at least {len(vocab)}.")

    piece_count: Counter = Counter()  # occurrences of each piece, weighted by word count
    pair_count: Counter = Counter()
    words_with: defaultdict[tuple[str, str], set[int]] = defaultdict(set)  # pair -> words it occurs in
    pairs_with: defaultdict[str, set[tuple[str, str]]] = defaultdict(set)  # piece -> pairs it is part of
    for w, (split, count) in enumerate(zip(splits, counts)):
        for piece in split:
            piece_count[piece] += count
        for pair in zip(split, split[1:]):
            pair_count[pair] += count
            words_with[pair].add(w)
            pairs_with[pair[0]].add(pair)
            pairs_with[pair[1]].add(pair)

    def entry(pair: tuple[str, str]) -> tuple[float, int, str, str]:
        # a min-heap entry: highest score first, then highest count, then alphabetical
        count = pair_count[pair]
        return (-count / (piece_count[pair[0]] * piece_count[pair[1]]), -count, *pair)

    # Scores change whenever a merge changes count(a) or count(b), so the heap holds stale
    # entries too; a popped entry is used only if it still equals the pair's current one.
    heap = [entry(pair) for pair in pair_count]
    heapq.heapify(heap)
    while len(vocab) < vocab_size and heap:
        top = heapq.heappop(heap)
        a, b = top[2], top[3]
        if pair_count.get((a, b), 0) <= 0 or top != entry((a, b)):
            continue
        merged = a + b[len(CONTINUATION_PREFIX) :]  # b never starts a word, so it carries "##"
        touched = set()
        for w in words_with.pop((a, b)):
            old = splits[w]
            new = splits[w] = _merge(old, a, b, merged)
            count = counts[w]
            piece_count[a] -= count * (len(old) - len(new))  # each merge turns one a and one b into ab
            piece_count[b] -= count * (len(old) - len(new))
            piece_count[merged] += count * (len(old) - len(new))
            old_pairs, new_pairs = list(zip(old, old[1:])), list(zip(new, new[1:]))
            for pair in old_pairs:
                pair_count[pair] -= count
            for pair in new_pairs:
                pair_count[pair] += count
                words_with[pair].add(w)
                pairs_with[pair[0]].add(pair)
                pairs_with[pair[1]].add(pair)
            for pair in set(old_pairs) - set(new_pairs) - {(a, b)}:
                words_with[pair].discard(w)
            touched.update(old_pairs, new_pairs)
        if merged not in known:
            vocab.append(merged)
            known.add(merged)
        for pair in touched | pairs_with[a] | pairs_with[b] | pairs_with[merged]:
            if pair_count[pair] > 0:
                heapq.heappush(heap, entry(pair))
            else:
                pair_count.pop(pair, None)
                words_with.pop(pair, None)
                pairs_with[pair[0]].discard(pair)
                pairs_with[pair[1]].discard(pair)
    return vocab
