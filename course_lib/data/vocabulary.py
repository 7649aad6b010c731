"""Words and vocabularies: text to tokens to ids and back (lessons 06 onwards).

``tokenize_words`` splits text into words and punctuation, with the French elided words
("l'", "n'", "qu'") and the English possessive "'s" as tokens of their own;
``detokenize_words`` joins tokens back into text; ``Vocabulary`` maps tokens to ids and
back, with the special tokens ``<pad>`` = 0, ``<s>``, ``</s>``, ``<unk>`` first.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

__all__ = ["tokenize_words", "detokenize_words", "Vocabulary"]

# French elided words ("l'", "j'", "n'", "d'", "qu'", ...) are tokens of their own, the
# English possessive "'s" is a token of its own, any other apostrophe inside a word
# ("aujourd'hui", "don't") stays inside it, and every other symbol is one token.
_ELIDED = r"(?:qu|[cdjlmnst])['’]"
_TOKEN_RE = re.compile(
    rf"(?<!\w){_ELIDED}(?=\w)"  # l' j' n' d' qu' ... before a word
    r"|['’]s\b"  # English possessive 's
    r"|\w+(?:['’](?!s\b)\w+)*"  # a word, possibly with inner apostrophes
    r"|[^\w\s]",  # any other symbol
    re.IGNORECASE,
)
_ELIDED_TOKEN_RE = re.compile(rf"{_ELIDED}", re.IGNORECASE)
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}%'’") | {"'s", "’s"}
_NO_SPACE_AFTER = frozenset("([{")


def tokenize_words(text: str, lowercase: bool = False) -> list[str]:
    """Split ``text`` into words and punctuation; elided French words are tokens of their own.

    >>> tokenize_words("L'homme n'aime pas le chien du garçon.")
    ["L'", 'homme', "n'", 'aime', 'pas', 'le', 'chien', 'du', 'garçon', '.']
    >>> tokenize_words("The boy's dog eats.")
    ['The', 'boy', "'s", 'dog', 'eats', '.']
    """
    if lowercase:
        text = text.lower()
    return _TOKEN_RE.findall(text)


def detokenize_words(tokens: Iterable[str]) -> str:
    """Join tokens back into text: the inverse of :func:`tokenize_words` on the course's corpora.

    Elided words glue to the next word ("l'" + "homme" -> "l'homme"), punctuation and
    "'s" glue to the previous one, everything else is separated by one space.
    """
    out: list[str] = []
    glue_next = True
    for token in tokens:
        if not glue_next and token not in _NO_SPACE_BEFORE:
            out.append(" ")
        out.append(token)
        glue_next = token in _NO_SPACE_AFTER or (token[-1:] in "'’" and bool(_ELIDED_TOKEN_RE.fullmatch(token)))
    return "".join(out)


class Vocabulary:
    """A mapping between tokens and integer ids, with four special tokens first.

    ``<pad>`` = 0 (padding), ``<s>`` = 1 (start of sentence, the decoder's first input),
    ``</s>`` = 2 (end of sentence), ``<unk>`` = 3 (any token not in the vocabulary);
    ordinary tokens follow, most frequent first (ties in alphabetical order), so the
    ids are the same on every machine.

    >>> vocab = Vocabulary.build(["Le chat dort.", "Le chien dort."])
    >>> vocab.encode("Le chat dort.", add_bos=True, add_eos=True)
    [1, 5, 7, 6, 4, 2]
    >>> vocab.decode([1, 5, 7, 6, 4, 2, 0, 0])
    'Le chat dort.'
    """

    PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
    SPECIALS = (PAD, BOS, EOS, UNK)

    def __init__(self, tokens: Iterable[str] = (), lowercase: bool = False):
        self.lowercase = lowercase
        self.itos: list[str] = list(self.SPECIALS)
        self.stoi: dict[str, int] = {tok: i for i, tok in enumerate(self.itos)}
        for tok in tokens:
            if tok not in self.stoi:
                self.stoi[tok] = len(self.itos)
                self.itos.append(tok)

    @classmethod
    def build(
        cls,
        texts: Iterable[str | Sequence[str]],
        min_count: int = 1,
        lowercase: bool = False,
    ) -> Vocabulary:
        """A vocabulary of every token seen at least ``min_count`` times in ``texts``.

        ``texts`` holds sentences (tokenized with :func:`tokenize_words`) or lists of tokens.
        """
        if min_count < 1:
            raise ValueError(f"min_count must be at least 1; got {min_count}")
        counts: Counter[str] = Counter()
        for text in texts:
            if isinstance(text, str):
                counts.update(tokenize_words(text, lowercase=lowercase))
            else:
                counts.update(t.lower() if lowercase else t for t in text)
        kept = sorted((tok for tok, c in counts.items() if c >= min_count), key=lambda t: (-counts[t], t))
        return cls(kept, lowercase=lowercase)

    pad_id, bos_id, eos_id, unk_id = 0, 1, 2, 3

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} tokens: {', '.join(self.itos[4:12])}, ...)"

    def token_to_id(self, token: str) -> int:
        return self.stoi.get(token, self.unk_id)

    def id_to_token(self, index: int) -> str:
        return self.itos[index]

    def encode(self, text: str | Sequence[str], add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Token ids of ``text`` (a sentence, or a list of tokens); unknown tokens become ``<unk>``."""
        tokens = tokenize_words(text, self.lowercase) if isinstance(text, str) else list(text)
        ids = [self.token_to_id(t) for t in tokens]
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def decode(self, ids: Iterable[int], detokenize: bool = True) -> str | list[str]:
        """The sentence that ``ids`` stand for.

        Reading stops at the first ``</s>``; ``<s>`` and ``<pad>`` are skipped. With
        ``detokenize=False`` the list of tokens is returned instead of a string.
        """
        tokens: list[str] = []
        for i in ids:
            i = int(i)
            if i == self.eos_id:
                break
            if i in (self.bos_id, self.pad_id):
                continue
            tokens.append(self.itos[i])
        return detokenize_words(tokens) if detokenize else tokens
