"""Surface realisation: the words of the translation corpus's sentences (lesson 06_translation).

The grammar (``course_lib.data.french_grammar``) decides what a sentence says; this
module writes it in both languages. ``realise_noun_phrase`` makes a noun phrase's
determiner and adjectives agree with its noun: gender and number (un petit chat / une
petite pomme / de petites pommes), cet / mon before a vowel, partitive articles for what
one cannot count (du pain, de la soupe, de l'eau), "de" after a negated verb (pas de
pomme), possessives that agree with the thing possessed ("his apple" and "her apple" are
both "sa pomme"). ``realise_sentence`` then applies French elision and contraction
(l', d', n', j', qu'; au, aux, du, des), English "a" -> "an" before a vowel, the capital
letter and the full stop.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from course_lib.data.french_lexicon import PL, SG, Adjective, Noun, Possessive, vowel_initial
from course_lib.data.vocabulary import detokenize_words

__all__ = ["Phrase", "realise_noun_phrase", "french_surface", "english_surface", "realise_sentence"]


@dataclass
class Phrase:
    """Words of a noun phrase or subject in both languages, and what agrees with it."""

    en: list[str]
    fr: list[str]
    combos: list[str]  # "adj:old+tree", "verb:see+tree": see translation.HELD_OUT_COMBINATIONS
    number: str = SG
    gender: str = "m"
    person: int = 2  # index into Verb.fr: 2 il / elle, 5 ils / elles
    noun: Noun | None = None


def realise_noun_phrase(
    noun: Noun,
    number: str,
    det: str,
    pre: Adjective | None,
    post: Adjective | None,
    possessives: Sequence[Possessive] = (),
    *,
    negated: bool = False,
    generic: bool = False,
) -> Phrase:
    """The English and French words of one noun phrase, its determiner and adjectives agreeing.

    ``det`` is "the", "a", "bare" (no English determiner: a plural or a mass noun),
    "this" or "poss:<English possessive>" (looked up in ``possessives``); ``pre`` and
    ``post`` are the adjectives before and after the noun in French. ``negated``: the
    direct object of a negated verb (de pomme); ``generic``: the object of like / love /
    hate (les chats).
    """
    g, plural = noun.gender, number == PL
    noun_en = noun.en_pl if plural else noun.en
    noun_fr = noun.fr_pl if plural else noun.fr
    pre_fr = pre.form(g, number, noun_fr) if pre else None
    first = pre_fr or noun_fr  # the French word right after the determiner
    definite = ["les"] if plural else ["le" if g == "m" else "la"]

    if det == "the":
        det_en, det_fr = ["the"], definite
    elif det in ("a", "bare"):
        det_en = ["a"] if det == "a" else []
        if det == "bare" and generic:  # il aime les chats / le pain (also after ne ... pas)
            det_fr = definite
        elif negated:  # il ne mange pas de pomme / de pain
            det_fr = ["de"]
        elif noun.mass:  # du pain, de la soupe, de l'eau
            det_fr = ["de"] + definite
        elif plural:  # des pommes, de petites pommes
            det_fr = ["de"] if pre else ["des"]
        else:
            det_fr = ["un" if g == "m" else "une"]
    elif det == "this":
        det_en = ["these" if plural else "this"]
        if plural:
            det_fr = ["ces"]
        elif g == "m":
            det_fr = ["cet" if vowel_initial(first) else "ce"]
        else:
            det_fr = ["cette"]
    else:  # a possessive
        poss = next(p for p in possessives if p.en == det[5:])
        det_en = [poss.en]
        if plural:
            det_fr = [poss.fr[2]]
        elif g == "f" and not vowel_initial(first):
            det_fr = [poss.fr[1]]
        else:  # mon chien, mon école
            det_fr = [poss.fr[0]]

    en = det_en + ([pre.en] if pre else []) + ([post.en] if post else []) + [noun_en]
    fr = det_fr + ([pre_fr] if pre else []) + [noun_fr] + ([post.form(g, number)] if post else [])
    combos = [f"adj:{a.en}+{noun.en}" for a in (pre, post) if a]
    return Phrase(en, fr, combos, number, g, 5 if plural else 2, noun)


_FR_ELIDE = {"de": "d'", "ne": "n'", "je": "j'", "que": "qu'"}


def french_surface(tokens: Sequence[str]) -> list[str]:
    """Elision and contraction: ["à", "le", "marché"] -> ["au", "marché"], ["le", "arbre"] -> ["l'", "arbre"]."""
    toks = list(tokens)
    for i in range(len(toks) - 1):  # le / la before a vowel (before contraction: à l'école)
        if toks[i] in ("le", "la") and vowel_initial(toks[i + 1]):
            toks[i] = "l'"
    out: list[str] = []
    for tok in toks:
        prev = out[-1] if out else None
        if prev == "à" and tok in ("le", "les"):
            out[-1] = "au" if tok == "le" else "aux"
        elif prev == "de" and tok in ("le", "les"):
            out[-1] = "du" if tok == "le" else "des"
        elif prev == "de" and tok in ("des", "de"):  # près de chiens, près de petits chiens
            continue
        else:
            out.append(tok)
    for i in range(len(out) - 1):
        if out[i] in _FR_ELIDE and vowel_initial(out[i + 1]):
            out[i] = _FR_ELIDE[out[i]]
    return out


def english_surface(tokens: Sequence[str]) -> list[str]:
    """"a" becomes "an" before a vowel (the lexicon has no "hour" or "unicorn")."""
    return ["an" if t == "a" and i + 1 < len(tokens) and tokens[i + 1][0] in "aeiou" else t
            for i, t in enumerate(tokens)]


def _sentence_text(tokens: Sequence[str]) -> str:
    text = detokenize_words(list(tokens) + ["."])
    return text[0].upper() + text[1:]


def realise_sentence(en_tokens: Sequence[str], fr_tokens: Sequence[str]) -> tuple[str, str]:
    """The English and French sentences, as text, for the grammar's tokens."""
    return _sentence_text(english_surface(en_tokens)), _sentence_text(french_surface(fr_tokens))
