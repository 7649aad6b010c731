"""Corpora and loaders for the course.

Every lesson that trains on text gets its data from here. By default the data is
*embedded*: generated deterministically (seeded) by a grammar in this file, so every
notebook runs offline and in seconds. Where a standard public dataset exists, a
``source="hub"`` option loads it through ``datasets.load_dataset`` and returns it in
the same layout; nothing is downloaded, and ``datasets`` is not even imported, until
that option is used.

Sections
--------
1. Words: ``tokenize_words``, ``detokenize_words`` and ``Vocabulary`` (token <-> id with
   the special tokens ``<pad>`` = 0, ``<s>``, ``</s>``, ``<unk>``).
2. Translation corpus (lesson 06_translation): an English -> French grammar with real
   phenomena, ``translation_pairs``, ``translation_splits`` (with a test split of unseen
   combinations) and the hub loader.
"""
from __future__ import annotations

import bisect
import functools
import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

__all__ = [
    "tokenize_words",
    "detokenize_words",
    "Vocabulary",
    "HELD_OUT_COMBINATIONS",
    "translation_pairs",
    "translation_splits",
    "translation_pair_count",
]


# =====================================================================================
# 1. Words
# =====================================================================================

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


# =====================================================================================
# 2. Translation corpus (lesson 06_translation)
# =====================================================================================
#
# A small English -> French grammar. Each sentence is a present-tense clause
#
#   SUBJECT [not] VERB [OBJECT | to OBJECT | ADJECTIVE] [PLACE] .
#
# whose subject may carry a prepositional phrase, a relative clause or an English
# possessor ("the boy's dog" -> "le chien du garçon"). The French side is produced by
# rules, not by a word-for-word table, so that it is correct French:
#
# * gender and number agreement of articles, possessives, demonstratives, adjectives
#   (un petit chat / une petite pomme / de petites pommes), adjectives before the noun
#   for petit, grand, beau, joli, jeune, vieux, nouveau, bon, mauvais and after it for
#   the others, with bel / nouvel / vieil before a vowel (un vieil arbre);
# * subject-verb agreement, also across a phrase or a clause between them
#   (le chat près des chiens mange; les chats que le garçon voit dorment);
# * negation ne ... pas around the verb, with "de" replacing un / une / des / du / de la
#   on the direct object (il ne mange pas de pomme) but not le / la / les;
# * elision (l', d', n', j', qu') and contraction (au, aux, du, des), cet / mon before
#   a vowel, des -> de before a plural adjective; partitive articles for what one
#   cannot count (du pain, de la soupe, de l'eau);
# * possessives that agree with the thing possessed, not the owner ("his apple" and
#   "her apple" are both "sa pomme");
# * words and orders one language has and the other lacks: do-support, "a" / "an",
#   "the boy's dog" -> "le chien du garçon", "answers the man" -> "répond à l'homme",
#   "likes cats" -> "aime les chats" (generic definite), "listens to" -> "écoute".
#
# To keep the French a function of the English, English words whose French depends on
# something the English does not say have one fixed translation: "you" is "tu",
# "you all" is "vous", "they" is "ils", "child" is "enfant" (masculine); sentences whose
# adjective would have to agree with the unknown gender of "I", "you" or "we" are not
# generated. Light semantic tags keep the sentences sensible (people read, animals and
# people sleep, only food is eaten), and a few adjective-noun pairs whose French means
# something else (grand-père, belle-mère, vieille fille) are never made.

_SG, _PL = "sg", "pl"
_VOWELS = frozenset("aeiouyàâäéèêëîïôöûüœæh")  # h: every h-word in the lexicon is h muet


def _vowel_initial(word: str) -> bool:
    return word[:1].lower() in _VOWELS


@dataclass(frozen=True, eq=False)
class _Noun:
    en: str
    en_pl: str | None  # None: a mass noun (bread, water): singular only, partitive article
    fr: str
    fr_pl: str | None
    gender: str  # "m" or "f"
    tags: frozenset[str]

    @property
    def mass(self) -> bool:
        return self.en_pl is None


@dataclass(frozen=True, eq=False)
class _Adjective:
    en: str
    fr: tuple[str, str, str, str]  # masculine sg, feminine sg, masculine pl, feminine pl
    pre: bool  # placed before the noun in French
    tags: frozenset[str]  # the nouns it can describe
    before_vowel: str | None = None  # bel, nouvel, vieil
    colour: bool = False  # may follow another adjective: "a small red car"

    def form(self, gender: str, number: str, next_word: str = "") -> str:
        if self.before_vowel and gender == "m" and number == _SG and _vowel_initial(next_word):
            return self.before_vowel
        return self.fr[(gender == "f") + 2 * (number == _PL)]


@dataclass(frozen=True, eq=False)
class _Verb:
    en: str  # base form, with its particle: "look for"
    en3: str  # third person singular: "looks for"
    fr: tuple[str, str, str, str, str, str]  # je tu il nous vous ils
    frame: str  # "trans" (direct object), "ind" (object after "à"), "intr", "cop" (être + adjective)
    subject: frozenset[str] = frozenset()
    object: frozenset[str] = frozenset()
    generic: bool = False  # likes cats / bread -> aime les chats / le pain (definite, generic)


@dataclass(frozen=True, eq=False)
class _Pronoun:
    en: str
    fr: str
    person: int  # index into _Verb.fr
    gender: str
    copula: bool  # gender known: may take "is" + adjective


@dataclass(frozen=True, eq=False)
class _Preposition:
    en: str
    fr: tuple[str, ...]  # ("près", "de"): de contracts with the article that follows


@dataclass(frozen=True, eq=False)
class _Place:
    en: str  # "at the market" / "in the garden"
    fr: tuple[str, ...]  # ("à", "le", "marché") -> "au marché"


@dataclass(frozen=True, eq=False)
class _Possessive:
    en: str
    fr: tuple[str, str, str]  # masculine sg (also feminine before a vowel), feminine sg, plural


def _er(stem: str) -> tuple[str, str, str, str, str, str]:
    """Present tense of a regular -er verb (manger and nager keep the e before -ons)."""
    nous = stem + ("eons" if stem.endswith("g") else "ons")
    return (stem + "e", stem + "es", stem + "e", nous, stem + "ez", stem + "ent")


def _n(en, en_pl, fr, fr_pl, gender, *tags) -> _Noun:
    return _Noun(en, en_pl, fr, fr_pl, gender, frozenset(tags))


def _a(en, fr4, pre, tags, before_vowel=None, colour=False) -> _Adjective:
    if isinstance(fr4, str):
        fr4 = tuple(fr4.split())
    return _Adjective(en, fr4, pre, frozenset(tags.split()), before_vowel, colour)


def _v(en, en3, fr, frame, subject="", obj="", generic=False) -> _Verb:
    return _Verb(en, en3, fr, frame, frozenset(subject.split()), frozenset(obj.split()), generic)


_ANIMATE = "person animal"
_NOUNS = (
    # people (the English says the gender)
    _n("man", "men", "homme", "hommes", "m", "person"),
    _n("woman", "women", "femme", "femmes", "f", "person"),
    _n("boy", "boys", "garçon", "garçons", "m", "person"),
    _n("girl", "girls", "fille", "filles", "f", "person"),
    _n("king", "kings", "roi", "rois", "m", "person"),
    _n("queen", "queens", "reine", "reines", "f", "person"),
    _n("child", "children", "enfant", "enfants", "m", "person", "family"),
    _n("actor", "actors", "acteur", "acteurs", "m", "person"),
    _n("actress", "actresses", "actrice", "actrices", "f", "person"),
    _n("father", "fathers", "père", "pères", "m", "person", "family"),
    _n("mother", "mothers", "mère", "mères", "f", "person", "family"),
    _n("brother", "brothers", "frère", "frères", "m", "person", "family"),
    _n("sister", "sisters", "sœur", "sœurs", "f", "person", "family"),
    _n("uncle", "uncles", "oncle", "oncles", "m", "person", "family"),
    _n("aunt", "aunts", "tante", "tantes", "f", "person", "family"),
    # animals
    _n("cat", "cats", "chat", "chats", "m", "animal"),
    _n("dog", "dogs", "chien", "chiens", "m", "animal"),
    _n("bird", "birds", "oiseau", "oiseaux", "m", "animal"),
    _n("horse", "horses", "cheval", "chevaux", "m", "animal"),
    _n("cow", "cows", "vache", "vaches", "f", "animal"),
    _n("mouse", "mice", "souris", "souris", "f", "animal"),
    _n("rabbit", "rabbits", "lapin", "lapins", "m", "animal"),
    _n("hen", "hens", "poule", "poules", "f", "animal"),
    _n("elephant", "elephants", "éléphant", "éléphants", "m", "animal"),
    _n("bee", "bees", "abeille", "abeilles", "f", "animal"),
    _n("spider", "spiders", "araignée", "araignées", "f", "animal"),
    _n("bear", "bears", "ours", "ours", "m", "animal"),
    _n("lion", "lions", "lion", "lions", "m", "animal"),
    _n("goat", "goats", "chèvre", "chèvres", "f", "animal"),
    _n("fox", "foxes", "renard", "renards", "m", "animal"),
    _n("frog", "frogs", "grenouille", "grenouilles", "f", "animal"),
    _n("duck", "ducks", "canard", "canards", "m", "animal"),
    _n("turtle", "turtles", "tortue", "tortues", "f", "animal"),
    _n("wolf", "wolves", "loup", "loups", "m", "animal"),
    _n("monkey", "monkeys", "singe", "singes", "m", "animal"),
    # things ("small" ones can be taken, carried and hidden)
    _n("book", "books", "livre", "livres", "m", "object", "small", "readable", "openable"),
    _n("letter", "letters", "lettre", "lettres", "f", "object", "small", "readable", "openable"),
    _n("newspaper", "newspapers", "journal", "journaux", "m", "object", "small", "readable"),
    _n("table", "tables", "table", "tables", "f", "object", "small"),
    _n("chair", "chairs", "chaise", "chaises", "f", "object", "small"),
    _n("car", "cars", "voiture", "voitures", "f", "object", "washable"),
    _n("bicycle", "bicycles", "vélo", "vélos", "m", "object", "small"),
    _n("ball", "balls", "ballon", "ballons", "m", "object", "small", "throwable"),
    _n("flower", "flowers", "fleur", "fleurs", "f", "object", "small"),
    _n("tree", "trees", "arbre", "arbres", "m", "object"),
    _n("house", "houses", "maison", "maisons", "f", "object"),
    _n("hat", "hats", "chapeau", "chapeaux", "m", "object", "small", "throwable"),
    _n("key", "keys", "clé", "clés", "f", "object", "small", "throwable"),
    _n("bag", "bags", "sac", "sacs", "m", "object", "small", "openable"),
    _n("painting", "paintings", "tableau", "tableaux", "m", "object", "small"),
    _n("lamp", "lamps", "lampe", "lampes", "f", "object", "small"),
    _n("clock", "clocks", "horloge", "horloges", "f", "object", "small"),
    _n("plate", "plates", "assiette", "assiettes", "f", "object", "small"),
    _n("bottle", "bottles", "bouteille", "bouteilles", "f", "object", "small", "openable"),
    _n("box", "boxes", "boîte", "boîtes", "f", "object", "small", "openable"),
    _n("window", "windows", "fenêtre", "fenêtres", "f", "object", "openable", "washable"),
    _n("picture", "pictures", "image", "images", "f", "object", "small"),
    _n("umbrella", "umbrellas", "parapluie", "parapluies", "m", "object", "small", "openable"),
    _n("computer", "computers", "ordinateur", "ordinateurs", "m", "object", "small"),
    _n("pencil", "pencils", "crayon", "crayons", "m", "object", "small", "throwable"),
    _n("pen", "pens", "stylo", "stylos", "m", "object", "small", "throwable"),
    _n("mirror", "mirrors", "miroir", "miroirs", "m", "object", "small"),
    _n("knife", "knives", "couteau", "couteaux", "m", "object", "small"),
    _n("spoon", "spoons", "cuillère", "cuillères", "f", "object", "small"),
    # food one can count
    _n("apple", "apples", "pomme", "pommes", "f", "food"),
    _n("orange", "oranges", "orange", "oranges", "f", "food"),
    _n("banana", "bananas", "banane", "bananes", "f", "food"),
    _n("cake", "cakes", "gâteau", "gâteaux", "m", "food"),
    _n("carrot", "carrots", "carotte", "carottes", "f", "food"),
    _n("egg", "eggs", "œuf", "œufs", "m", "food"),
    _n("pear", "pears", "poire", "poires", "f", "food"),
    _n("tomato", "tomatoes", "tomate", "tomates", "f", "food"),
    _n("cookie", "cookies", "biscuit", "biscuits", "m", "food"),
    _n("sandwich", "sandwiches", "sandwich", "sandwichs", "m", "food"),
    # food and drink one cannot count (partitive: du pain, de la soupe, de l'eau)
    _n("bread", None, "pain", None, "m", "mass_food"),
    _n("cheese", None, "fromage", None, "m", "mass_food"),
    _n("rice", None, "riz", None, "m", "mass_food"),
    _n("soup", None, "soupe", None, "f", "mass_food"),
    _n("milk", None, "lait", None, "m", "drink"),
    _n("water", None, "eau", None, "f", "drink"),
    _n("coffee", None, "café", None, "m", "drink"),
    _n("tea", None, "thé", None, "m", "drink"),
    _n("juice", None, "jus", None, "m", "drink"),
)

_ADJECTIVES = (
    # before the noun in French
    _a("small", "petit petite petits petites", True, "person animal object food"),
    _a("big", "grand grande grands grandes", True, "person animal object"),
    _a("beautiful", "beau belle beaux belles", True, "person animal object food", "bel"),
    _a("pretty", "joli jolie jolis jolies", True, "animal object"),
    _a("young", "jeune jeune jeunes jeunes", True, "person animal"),
    _a("old", "vieux vieille vieux vieilles", True, "person animal object", "vieil"),
    _a("new", "nouveau nouvelle nouveaux nouvelles", True, "object", "nouvel"),
    _a("good", "bon bonne bons bonnes", True, "object food"),
    _a("bad", "mauvais mauvaise mauvais mauvaises", True, "object food"),
    # after the noun
    _a("red", "rouge rouge rouges rouges", False, "object food", colour=True),
    _a("black", "noir noire noirs noires", False, "object animal", colour=True),
    _a("white", "blanc blanche blancs blanches", False, "object animal", colour=True),
    _a("green", "vert verte verts vertes", False, "object food", colour=True),
    _a("blue", "bleu bleue bleus bleues", False, "object", colour=True),
    _a("yellow", "jaune jaune jaunes jaunes", False, "object food", colour=True),
    _a("grey", "gris grise gris grises", False, "object animal", colour=True),
    _a("happy", "heureux heureuse heureux heureuses", False, _ANIMATE),
    _a("sad", "triste triste tristes tristes", False, _ANIMATE),
    _a("tired", "fatigué fatiguée fatigués fatiguées", False, _ANIMATE),
    _a("sick", "malade malade malades malades", False, _ANIMATE),
    _a("clever", "intelligent intelligente intelligents intelligentes", False, _ANIMATE),
    _a("broken", "cassé cassée cassés cassées", False, "object"),
    _a("heavy", "lourd lourde lourds lourdes", False, "object"),
    _a("expensive", "cher chère chers chères", False, "object"),
    _a("fresh", "frais fraîche frais fraîches", False, "mass_food drink"),
    _a("hot", "chaud chaude chauds chaudes", False, "mass_food drink"),
    _a("cold", "froid froide froids froides", False, "mass_food drink"),
    _a("delicious", "délicieux délicieuse délicieux délicieuses", False, "food mass_food"),
    _a("sweet", "sucré sucrée sucrés sucrées", False, "food drink"),
)

# (adjective, noun) pairs the grammar never makes, because the French means something
# else: un grand homme (a great man), une vieille fille (a spinster), un vieux garçon
# (a bachelor), une belle fille / belle-fille (a daughter-in-law), beau-père, belle-mère,
# beau-frère, belle-sœur (in-laws), grand-père, grand-mère, grand-oncle, grand-tante.
_EXCLUDED_ADJECTIVE_NOUN = frozenset(
    [("big", "man"), ("old", "girl"), ("old", "boy"), ("beautiful", "girl")]
    + [("beautiful", n) for n in ("father", "mother", "brother", "sister")]
    + [("big", n) for n in ("father", "mother", "uncle", "aunt")]
)

_THINGS = "object food mass_food drink"
_VERBS = (
    # a direct object in both languages
    _v("eat", "eats", _er("mang"), "trans", _ANIMATE, "food mass_food"),
    _v("drink", "drinks", ("bois", "bois", "boit", "buvons", "buvez", "boivent"), "trans", _ANIMATE, "drink"),
    _v("see", "sees", ("vois", "vois", "voit", "voyons", "voyez", "voient"), "trans", _ANIMATE,
       "person animal object food"),
    _v("watch", "watches", _er("regard"), "trans", _ANIMATE, "person animal object"),
    _v("like", "likes", _er("aim"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("love", "loves", _er("ador"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("hate", "hates", _er("détest"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("look for", "looks for", _er("cherch"), "trans", _ANIMATE, "person animal object"),
    _v("find", "finds", _er("trouv"), "trans", _ANIMATE, "animal object food"),
    _v("take", "takes", ("prends", "prends", "prend", "prenons", "prenez", "prennent"), "trans", "person",
       "small food"),
    _v("have", "has", ("ai", "as", "a", "avons", "avez", "ont"), "trans", "person",
       "family animal " + _THINGS),
    _v("carry", "carries", _er("port"), "trans", "person", "small animal"),
    _v("buy", "buys", ("achète", "achètes", "achète", "achetons", "achetez", "achètent"), "trans", "person",
       _THINGS),
    _v("wash", "washes", _er("lav"), "trans", "person", "small washable animal"),
    _v("draw", "draws", _er("dessin"), "trans", "person", "person animal object food"),
    _v("catch", "catches", _er("attrap"), "trans", _ANIMATE, "animal throwable"),
    _v("listen to", "listens to", _er("écout"), "trans", _ANIMATE, "person animal"),
    _v("follow", "follows", ("suis", "suis", "suit", "suivons", "suivez", "suivent"), "trans", _ANIMATE,
       "person animal"),
    _v("help", "helps", _er("aid"), "trans", "person", "person animal"),
    _v("read", "reads", ("lis", "lis", "lit", "lisons", "lisez", "lisent"), "trans", "person", "readable"),
    _v("throw", "throws", ("lance", "lances", "lance", "lançons", "lancez", "lancent"), "trans", "person",
       "throwable"),
    _v("open", "opens", ("ouvre", "ouvres", "ouvre", "ouvrons", "ouvrez", "ouvrent"), "trans", "person",
       "openable"),
    _v("know", "knows", ("connais", "connais", "connaît", "connaissons", "connaissez", "connaissent"),
       "trans", "person", "person animal"),
    _v("hide", "hides", _er("cach"), "trans", _ANIMATE, "small food"),
    _v("call", "calls", ("appelle", "appelles", "appelle", "appelons", "appelez", "appellent"), "trans",
       "person", "person animal"),
    # the French object follows "à"
    _v("speak to", "speaks to", _er("parl"), "ind", "person", "person animal"),
    _v("answer", "answers", ("réponds", "réponds", "répond", "répondons", "répondez", "répondent"), "ind",
       "person", "person"),
    _v("obey", "obeys", ("obéis", "obéis", "obéit", "obéissons", "obéissez", "obéissent"), "ind", _ANIMATE,
       "person"),
    # no object
    _v("sleep", "sleeps", ("dors", "dors", "dort", "dormons", "dormez", "dorment"), "intr", _ANIMATE),
    _v("sing", "sings", _er("chant"), "intr", "person"),
    _v("dance", "dances", _er("dans"), "intr", "person"),
    _v("swim", "swims", _er("nag"), "intr", _ANIMATE),
    _v("run", "runs", ("cours", "cours", "court", "courons", "courez", "courent"), "intr", _ANIMATE),
    _v("play", "plays", _er("jou"), "intr", _ANIMATE),
    _v("work", "works", _er("travaill"), "intr", "person"),
    _v("arrive", "arrives", _er("arriv"), "intr", _ANIMATE),
    _v("wait", "waits", ("attends", "attends", "attend", "attendons", "attendez", "attendent"), "intr",
       _ANIMATE),
    _v("laugh", "laughs", ("ris", "ris", "rit", "rions", "riez", "rient"), "intr", "person"),
    _v("cry", "cries", _er("pleur"), "intr", "person"),
    _v("jump", "jumps", _er("saut"), "intr", _ANIMATE),
    _v("walk", "walks", _er("march"), "intr", _ANIMATE),
    # être + adjective
    _v("be", "is", ("suis", "es", "est", "sommes", "êtes", "sont"), "cop"),
)

_PRONOUNS = (
    _Pronoun("I", "je", 0, "m", False),
    _Pronoun("you", "tu", 1, "m", False),
    _Pronoun("he", "il", 2, "m", True),
    _Pronoun("she", "elle", 2, "f", True),
    _Pronoun("we", "nous", 3, "m", False),
    _Pronoun("you all", "vous", 4, "m", False),
    _Pronoun("they", "ils", 5, "m", True),
)

_PREPOSITIONS = (
    _Preposition("near", ("près", "de")),
    _Preposition("next to", ("à", "côté", "de")),
    _Preposition("far from", ("loin", "de")),
    _Preposition("in front of", ("devant",)),
    _Preposition("behind", ("derrière",)),
    _Preposition("with", ("avec",)),
)


def _places() -> tuple[_Place, ...]:
    at = [("market", "marché", "m"), ("park", "parc", "m"), ("museum", "musée", "m"), ("zoo", "zoo", "m"),
          ("restaurant", "restaurant", "m"), ("station", "gare", "f"), ("beach", "plage", "f"),
          ("library", "bibliothèque", "f"), ("school", "école", "f"), ("hospital", "hôpital", "m"),
          ("airport", "aéroport", "m"), ("church", "église", "f")]
    inside = [("garden", "jardin", "m"), ("kitchen", "cuisine", "f"), ("forest", "forêt", "f"),
              ("street", "rue", "f"), ("town", "ville", "f"), ("field", "champ", "m")]
    art = {"m": "le", "f": "la"}
    return tuple(
        [_Place(f"at the {en}", ("à", art[g], fr)) for en, fr, g in at]
        + [_Place(f"in the {en}", ("dans", art[g], fr)) for en, fr, g in inside]
    )


_PLACES = _places()

_POSSESSIVES = (
    _Possessive("my", ("mon", "ma", "mes")),
    _Possessive("your", ("ton", "ta", "tes")),
    _Possessive("his", ("son", "sa", "ses")),
    _Possessive("her", ("son", "sa", "ses")),
    _Possessive("our", ("notre", "notre", "nos")),
    _Possessive("their", ("leur", "leur", "leurs")),
)

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


@dataclass(frozen=True, eq=False)
class _Lexicon:
    nouns: tuple[_Noun, ...] = _NOUNS
    adjectives: tuple[_Adjective, ...] = _ADJECTIVES
    verbs: tuple[_Verb, ...] = _VERBS
    pronouns: tuple[_Pronoun, ...] = _PRONOUNS
    prepositions: tuple[_Preposition, ...] = _PREPOSITIONS
    places: tuple[_Place, ...] = _PLACES
    possessives: tuple[_Possessive, ...] = _POSSESSIVES

    def subset(self, **english: Iterable[str]) -> _Lexicon:
        """The lexicon with only the named entries (by English word) in the given fields."""
        kept = {}
        for field_name, words in english.items():
            words = set(words)
            kept[field_name] = tuple(e for e in getattr(self, field_name) if e.en in words)
        return _Lexicon(**{**self.__dict__, **kept})


# Sampling weights: they shape the corpus, never which sentences are possible.
_W_FRAME = {"trans": 0.45, "ind": 0.10, "intr": 0.22, "cop": 0.23}
_W_SUBJECT = {"pronoun": 0.25, "np": 0.75}
_W_MODIFIER = {"none": 0.55, "pp": 0.15, "subj_rel": 0.10, "obj_rel": 0.10, "possessor": 0.10}
_W_NUMBER = {_SG: 0.6, _PL: 0.4}


class _DeterminerWeights(dict):
    def __missing__(self, key: str) -> float:
        return self["poss"]  # each "poss:my", "poss:your", ...


_W_DET = _DeterminerWeights({"the": 4.0, "a": 2.0, "bare": 2.0, "this": 1.0, "poss": 0.4})
_W_ADJ = {"none": 0.5, "pre": 0.2, "post": 0.2, "both": 0.1}
_W_NEGATION = {False: 0.7, True: 0.3}
_W_PLACE = {False: 0.7, True: 0.3}

# A choice function: picks one of ``options``, uniformly or with relative weights
# ``weights[option]`` (a dict: one of the _W_* tables above).
Pick = Callable[..., object]


@dataclass
class _Phrase:
    en: list[str]
    fr: list[str]
    combos: list[str]
    number: str = _SG
    gender: str = "m"
    person: int = 2
    noun: _Noun | None = None


class _Grammar:
    """Sentences of the lexicon, sampled (``sentence(pick)``) or counted (``count()``).

    Every decision goes through ``pick(options, weights)``: a random choice when
    sampling, every option in turn when enumerating. ``count()`` mirrors the choices
    and multiplies the numbers of options, so the tests can check it against full
    enumeration on a small lexicon.
    """

    def __init__(self, lexicon: _Lexicon = _Lexicon()):
        self.lex = lexicon
        self.frames = {f: tuple(v for v in lexicon.verbs if v.frame == f) for f in _W_FRAME}
        self.frames = {f: vs for f, vs in self.frames.items() if vs}
        self._nouns_with: dict[frozenset[str], tuple[_Noun, ...]] = {}
        self._adjectives_of: dict[_Noun, tuple[tuple[_Adjective, ...], ...]] = {}
        self._cache: dict[str, dict] = {}

    # ------------------------------------------------------------------ lookup tables
    def nouns_with(self, tags: frozenset[str]) -> tuple[_Noun, ...]:
        if tags not in self._nouns_with:
            self._nouns_with[tags] = tuple(n for n in self.lex.nouns if n.tags & tags)
        return self._nouns_with[tags]

    @cached_property
    def all_nouns(self) -> tuple[_Noun, ...]:
        return tuple(n for n in self.lex.nouns if self.adjectives_of(n)[0] or self.adjectives_of(n)[1])

    def adjectives_of(self, noun: _Noun) -> tuple[tuple[_Adjective, ...], ...]:
        """(adjectives before it, adjectives after it, colours after it) for ``noun``."""
        if noun not in self._adjectives_of:
            ok = [a for a in self.lex.adjectives if a.tags & noun.tags and (a.en, noun.en) not in _EXCLUDED_ADJECTIVE_NOUN]
            self._adjectives_of[noun] = (
                tuple(a for a in ok if a.pre),
                tuple(a for a in ok if not a.pre),
                tuple(a for a in ok if not a.pre and a.colour),
            )
        return self._adjectives_of[noun]

    @cached_property
    def person_adjectives(self) -> tuple[_Adjective, ...]:
        return tuple(a for a in self.lex.adjectives if "person" in a.tags)

    @cached_property
    def _trans(self) -> tuple[_Verb, ...]:
        return self.frames.get("trans", ())

    def subject_relative_verbs(self, noun: _Noun) -> tuple[_Verb, ...]:
        """Verbs for "the NOUN that VERBs the X": the noun is their subject."""
        return self._per_noun("subj_rel", noun, lambda: tuple(
            v for v in self._trans if noun.tags & v.subject and self.nouns_with(v.object)))

    def object_relative_verbs(self, noun: _Noun) -> tuple[_Verb, ...]:
        """Verbs for "the NOUN that the X VERBs": the noun is their object."""
        return self._per_noun("obj_rel", noun, lambda: tuple(v for v in self._trans if noun.tags & v.object))

    def _per_noun(self, table: str, key, compute):
        cache = self._cache.setdefault(table, {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    @cached_property
    def modifier_nouns(self) -> tuple[_Noun, ...]:
        """Nouns after a preposition or as an English possessor: people, animals, things one can count."""
        return tuple(n for n in self.lex.nouns if not n.mass and n.tags & {"person", "animal", "object"})

    @cached_property
    def possessor_nouns(self) -> tuple[_Noun, ...]:
        """Owners in "the boy's dog": people."""
        return tuple(n for n in self.lex.nouns if "person" in n.tags)

    @staticmethod
    def can_be_owned(noun: _Noun) -> bool:
        """Heads of "the boy's X": relatives, animals and things, not "the boy's king"."""
        return bool(noun.tags & {"family", "animal", "object", "food", "mass_food", "drink"})

    def modifier_kinds(self, noun: _Noun) -> tuple[str, ...]:
        return self._per_noun("modifiers", noun, lambda: self._modifier_kinds(noun))

    def _modifier_kinds(self, noun: _Noun) -> tuple[str, ...]:
        kinds = ["none"]
        if self.lex.prepositions and self.modifier_nouns:
            kinds.append("pp")
        if self.subject_relative_verbs(noun):
            kinds.append("subj_rel")
        if self.object_relative_verbs(noun):
            kinds.append("obj_rel")
        if self.possessor_nouns and self.can_be_owned(noun):
            kinds.append("possessor")
        return tuple(kinds)

    def determiners(self, noun: _Noun, number: str, role: str, generic: bool = False) -> tuple[str, ...]:
        """Which English determiners a noun phrase in ``role`` may start with.

        "bare" is no determiner: a plural ("cats") or a mass noun ("bread").
        Roles: "subject", "object", "oblique" (after a preposition or "to"),
        "possessor" ("the boy's"), "simple" (inside a relative clause: "the" only).
        """
        return self._per_noun("dets", (noun, number, role, generic),
                              lambda: self._determiners(noun, number, role, generic))

    def _determiners(self, noun: _Noun, number: str, role: str, generic: bool) -> tuple[str, ...]:
        if role == "simple":
            return ("the",)
        if role == "possessor":
            role = "subject"
        dets = ["the"]
        if role == "object" or (number == _PL and role == "oblique"):
            if noun.mass or number == _PL:
                dets.append("bare")
        if number == _SG and not noun.mass and not (role == "object" and generic):
            dets.append("a")
        dets.append("this")
        if self.can_be_owned(noun):  # "my dog", "my mother", but not "my king"
            dets += [f"poss:{p.en}" for p in self.lex.possessives]
        return tuple(dets)

    @staticmethod
    def numbers(noun: _Noun) -> tuple[str, ...]:
        return (_SG,) if noun.mass else (_SG, _PL)

    def adjective_kinds(self, noun: _Noun) -> tuple[str, ...]:
        return self._per_noun("adjective_kinds", noun, lambda: self._adjective_kinds(noun))

    def _adjective_kinds(self, noun: _Noun) -> tuple[str, ...]:
        pre, post, colours = self.adjectives_of(noun)
        return ("none",) + (("pre",) if pre else ()) + (("post",) if post else ()) + (("both",) if pre and colours else ())

    # ------------------------------------------------------------------ sampling
    def sentence(self, pick: Pick) -> tuple[list[str], list[str], list[str]]:
        """One sentence: English tokens, French tokens (before elision), combinations."""
        frames = tuple(self.frames)
        frame = pick(frames, _W_FRAME)
        verb = pick(self.frames[frame])
        subject = self.subject(pick, verb)
        negated = pick((False, True), _W_NEGATION)
        third_singular = subject.person == 2
        en = list(subject.en)
        fr = list(subject.fr)
        combos = list(subject.combos)
        if frame == "cop":
            en += ["is" if third_singular else "are"] + (["not"] if negated else [])
        elif negated:
            en += ["does" if third_singular else "do", "not"] + verb.en.split()
        else:
            en += (verb.en3 if third_singular else verb.en).split()
        fr += (["ne"] if negated else []) + [verb.fr[subject.person]] + (["pas"] if negated else [])

        if frame == "cop":
            if subject.noun is None:
                options = self.person_adjectives
            else:
                pre, post, _ = self.adjectives_of(subject.noun)
                options = pre + post
            adjective = pick(options)
            en.append(adjective.en)
            fr.append(adjective.form(subject.gender, subject.number))
            if subject.noun is not None:
                combos.append(f"adj:{adjective.en}+{subject.noun.en}")
        elif frame in ("trans", "ind"):
            role = "object" if frame == "trans" else "oblique"
            obj = self.noun_phrase(pick, verb.object, role, negated=negated and frame == "trans",
                                   generic=verb.generic)
            en += obj.en
            fr += (["à"] if frame == "ind" else []) + obj.fr
            combos += obj.combos + [f"verb:{verb.en}+{obj.noun.en}"]
        if frame != "cop" and self.lex.places:
            if pick((False, True), _W_PLACE):
                place = pick(self.lex.places)
                en += place.en.split()
                fr += list(place.fr)
        return en, fr, combos

    def subject(self, pick: Pick, verb: _Verb) -> _Phrase:
        copula = verb.frame == "cop"
        pronouns = tuple(p for p in self.lex.pronouns if p.copula or not copula)
        nouns = self.all_nouns if copula else self.nouns_with(verb.subject)
        kinds = ("pronoun",) * bool(pronouns) + ("np",) * bool(nouns)
        if pick(kinds, _W_SUBJECT) == "pronoun":
            p = pick(pronouns)
            number = _PL if p.person >= 3 else _SG
            return _Phrase(p.en.split(), [p.fr], [], number, p.gender, p.person)
        noun = pick(nouns)
        kinds = self.modifier_kinds(noun)
        kind = pick(kinds, _W_MODIFIER)
        if kind == "possessor":
            number = pick(self.numbers(noun), _W_NUMBER)
            pre, post = self.pick_adjectives(pick, noun)
            head = self.realise(noun, number, "the", pre, post)
            owner = self.noun_phrase(pick, None, "possessor", adjectives=False)
            plural_s = owner.number == _PL and owner.en[-1].endswith("s")  # the boys' / the men's
            owner_en = owner.en + ["'" if plural_s else "'s"]
            en = owner_en + head.en[1:]  # "the boy's small dog": the owner replaces "the"
            fr = head.fr + ["de"] + owner.fr  # "le petit chien du garçon"
            head.en, head.fr, head.combos = en, fr, head.combos + owner.combos
            return head
        head = self.noun_phrase(pick, None, "subject", noun=noun)
        if kind == "pp":
            prep = pick(self.lex.prepositions)
            inner = self.noun_phrase(pick, None, "oblique", adjectives=False, nouns=self.modifier_nouns)
            head.en += prep.en.split() + inner.en
            head.fr += list(prep.fr) + inner.fr
        elif kind == "subj_rel":  # the cat that sees the dogs
            v = pick(self.subject_relative_verbs(noun))
            inner = self.noun_phrase(pick, v.object, "simple", adjectives=False, generic=v.generic)
            singular = head.number == _SG
            head.en += ["that"] + (v.en3 if singular else v.en).split() + inner.en
            head.fr += ["qui", v.fr[2 if singular else 5]] + inner.fr
            head.combos.append(f"verb:{v.en}+{inner.noun.en}")
        elif kind == "obj_rel":  # the cat that the dogs see
            v = pick(self.object_relative_verbs(noun))
            kinds = ("pronoun",) * bool(self.lex.pronouns) + ("np",)
            if pick(kinds, _W_SUBJECT) == "pronoun":
                p = pick(self.lex.pronouns)
                s_en, s_fr, person = p.en.split(), [p.fr], p.person
            else:
                s = self.noun_phrase(pick, v.subject, "simple", adjectives=False)
                s_en, s_fr, person = s.en, s.fr, s.person
            head.en += ["that"] + s_en + (v.en3 if person == 2 else v.en).split()
            head.fr += ["que"] + s_fr + [v.fr[person]]
            head.combos.append(f"verb:{v.en}+{noun.en}")
        return head

    def pick_adjectives(self, pick: Pick, noun: _Noun) -> tuple[_Adjective | None, _Adjective | None]:
        pre, post, colours = self.adjectives_of(noun)
        kinds = self.adjective_kinds(noun)
        kind = pick(kinds, _W_ADJ)
        if kind == "none":
            return None, None
        if kind == "pre":
            return pick(pre), None
        if kind == "post":
            return None, pick(post)
        return pick(pre), pick(colours)

    def noun_phrase(
        self,
        pick: Pick,
        tags: frozenset[str] | None,
        role: str,
        *,
        negated: bool = False,
        generic: bool = False,
        adjectives: bool = True,
        noun: _Noun | None = None,
        nouns: Sequence[_Noun] | None = None,
    ) -> _Phrase:
        if noun is None:
            if nouns is None:
                nouns = self.possessor_nouns if role == "possessor" else self.nouns_with(tags)
            noun = pick(nouns)
        numbers = self.numbers(noun)
        number = pick(numbers, _W_NUMBER)
        dets = self.determiners(noun, number, role, generic)
        det = pick(dets, _W_DET)
        pre, post = self.pick_adjectives(pick, noun) if adjectives else (None, None)
        return self.realise(noun, number, det, pre, post, negated=negated, generic=generic)

    def realise(
        self,
        noun: _Noun,
        number: str,
        det: str,
        pre: _Adjective | None,
        post: _Adjective | None,
        *,
        negated: bool = False,
        generic: bool = False,
    ) -> _Phrase:
        """The English and French words of one noun phrase."""
        g, plural = noun.gender, number == _PL
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
                det_fr = ["cet" if _vowel_initial(first) else "ce"]
            else:
                det_fr = ["cette"]
        else:  # a possessive
            poss = next(p for p in self.lex.possessives if p.en == det[5:])
            det_en = [poss.en]
            if plural:
                det_fr = [poss.fr[2]]
            elif g == "f" and not _vowel_initial(first):
                det_fr = [poss.fr[1]]
            else:  # mon chien, mon école
                det_fr = [poss.fr[0]]

        en = det_en + ([pre.en] if pre else []) + ([post.en] if post else []) + [noun_en]
        fr = det_fr + ([pre_fr] if pre else []) + [noun_fr] + ([post.form(g, number)] if post else [])
        combos = [f"adj:{a.en}+{noun.en}" for a in (pre, post) if a]
        return _Phrase(en, fr, combos, number, g, 5 if plural else 2, noun)

    # ------------------------------------------------------------------ counting
    def count(self) -> int:
        """How many distinct sentences ``sentence`` can produce."""
        total = 0
        places = 1 + len(self.lex.places) if self.lex.places else 1
        for frame, verbs in self.frames.items():
            for verb in verbs:
                if frame == "cop":
                    def weight(noun):  # the predicate adjectives
                        if noun is None:
                            return len(self.person_adjectives)
                        pre, post, _ = self.adjectives_of(noun)
                        return len(pre) + len(post)
                    rest = 1
                else:
                    weight = None
                    if frame == "intr":
                        rest = places
                    else:
                        role = "object" if frame == "trans" else "oblique"
                        rest = self._count_noun_phrases(self.nouns_with(verb.object), role, verb.generic) * places
                total += self._count_subjects(verb, weight) * rest * 2  # 2: affirmative, negated
        return total

    def _count_adjectives(self, noun: _Noun) -> int:
        pre, post, colours = self.adjectives_of(noun)
        return 1 + len(pre) + len(post) + len(pre) * len(colours)

    def _count_noun_phrases(self, nouns: Iterable[_Noun], role: str, generic: bool = False,
                            adjectives: bool = True) -> int:
        total = 0
        for noun in nouns:
            for number in self.numbers(noun):
                dets = self.determiners(noun, number, role, generic)
                total += len(dets) * (self._count_adjectives(noun) if adjectives else 1)
        return total

    def _count_subjects(self, verb: _Verb, weight: Callable[[_Noun | None], int] | None) -> int:
        weight = weight or (lambda noun: 1)
        copula = verb.frame == "cop"
        pronouns = [p for p in self.lex.pronouns if p.copula or not copula]
        total = len(pronouns) * weight(None)
        nouns = self.all_nouns if copula else self.nouns_with(verb.subject)
        for noun in nouns:
            total += self._per_noun("count_subject", noun, functools.partial(self._count_noun_subjects, noun)) \
                * weight(noun)
        return total

    def _count_noun_subjects(self, noun: _Noun) -> int:
        """How many subject phrases have ``noun`` as their head."""
        kinds = self.modifier_kinds(noun)
        modified = 1  # "none"
        if "pp" in kinds:
            modified += len(self.lex.prepositions) * self._count_noun_phrases(
                self.modifier_nouns, "oblique", adjectives=False)
        if "subj_rel" in kinds:
            modified += sum(self._count_noun_phrases(self.nouns_with(v.object), "simple", adjectives=False)
                            for v in self.subject_relative_verbs(noun))
        if "obj_rel" in kinds:
            modified += sum(len(self.lex.pronouns) + self._count_noun_phrases(
                self.nouns_with(v.subject), "simple", adjectives=False)
                for v in self.object_relative_verbs(noun))
        count = self._count_noun_phrases([noun], "subject") * modified
        if "possessor" in kinds:
            count += len(self.numbers(noun)) * self._count_adjectives(noun) * self._count_noun_phrases(
                self.possessor_nouns, "possessor", adjectives=False)
        return count


# ---------------------------------------------------------------------- French and English surface
_FR_ELIDE = {"de": "d'", "ne": "n'", "je": "j'", "que": "qu'"}


def _french_surface(tokens: Sequence[str]) -> list[str]:
    """Elision and contraction: ["à", "le", "marché"] -> ["au", "marché"], ["le", "arbre"] -> ["l'", "arbre"]."""
    toks = list(tokens)
    for i in range(len(toks) - 1):  # le / la before a vowel (before contraction: à l'école)
        if toks[i] in ("le", "la") and _vowel_initial(toks[i + 1]):
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
        if out[i] in _FR_ELIDE and _vowel_initial(out[i + 1]):
            out[i] = _FR_ELIDE[out[i]]
    return out


def _english_surface(tokens: Sequence[str]) -> list[str]:
    """"a" becomes "an" before a vowel (the lexicon has no "hour" or "unicorn")."""
    return ["an" if t == "a" and i + 1 < len(tokens) and tokens[i + 1][0] in "aeiou" else t
            for i, t in enumerate(tokens)]


def _sentence_text(tokens: Sequence[str]) -> str:
    text = detokenize_words(list(tokens) + ["."])
    return text[0].upper() + text[1:]


def _realise_sentence(en_tokens, fr_tokens) -> tuple[str, str]:
    return _sentence_text(_english_surface(en_tokens)), _sentence_text(_french_surface(fr_tokens))


# ---------------------------------------------------------------------- sampling and enumerating
class _Sampler:
    """``pick`` for random sampling from a seeded ``random.Random``."""

    def __init__(self, seed: int | str):
        self.random = random.Random(seed).random
        self._cumulative: dict[tuple, list[float]] = {}

    def __call__(self, options: Sequence, weights: dict | None = None):
        if weights is None or len(options) == 1:
            return options[int(self.random() * len(options))]
        key = (id(weights), options)
        cum = self._cumulative.get(key)
        if cum is None:
            cum = self._cumulative[key] = list(itertools.accumulate(weights[o] for o in options))
        return options[bisect.bisect_right(cum, self.random() * cum[-1])]


class _SteeredSampler(_Sampler):
    """A sampler that, half of the time, picks any option whose English word is in ``words``.

    Every sentence it makes is one the grammar can make; it only makes some more
    likely. The test split uses it to reach each held-out combination equally often.
    """

    def __init__(self, seed: int | str, words: Iterable[str] = (), boost: float = 0.5):
        super().__init__(seed)
        self.words, self.boost = frozenset(words), boost

    def __call__(self, options: Sequence, weights: dict | None = None):
        if self.words and len(options) > 1:
            wanted = [o for o in options if getattr(o, "en", None) in self.words]
            if wanted and self.random() < self.boost:
                return wanted[int(self.random() * len(wanted))]
        return super().__call__(options, weights)


def _enumerate_derivations(derive: Callable[[Pick], object]) -> Iterator[object]:
    """Every result of ``derive`` over all choice sequences (depth first, by replaying choices)."""
    stack: list[list[int]] = [[]]
    while stack:
        prefix = stack.pop()
        sizes: list[int] = []

        def pick(options, weights=None, prefix=prefix, sizes=sizes):
            i = len(sizes)
            sizes.append(len(options))
            return options[prefix[i] if i < len(prefix) else 0]

        result = derive(pick)
        # the branches this run opened beyond the forced prefix, to explore later
        for i in range(len(prefix), len(sizes)):
            for j in range(1, sizes[i]):
                stack.append(prefix + [0] * (i - len(prefix)) + [j])
        yield result


_GRAMMAR: _Grammar | None = None


def _grammar() -> _Grammar:
    global _GRAMMAR
    if _GRAMMAR is None:
        _GRAMMAR = _Grammar()
    return _GRAMMAR


def _derivations(seed: int | str, grammar: _Grammar | None = None) -> Iterator[tuple[list, list, list[str]]]:
    """An endless stream of (English tokens, French tokens, combinations), duplicates included."""
    grammar = grammar or _grammar()
    pick = _Sampler(seed)
    while True:
        yield grammar.sentence(pick)


def _examples(seed: int | str, grammar: _Grammar | None = None) -> Iterator[tuple[str, str, list[str]]]:
    """An endless stream of (English, French, combinations), duplicates included."""
    for en, fr, combos in _derivations(seed, grammar):
        yield (*_realise_sentence(en, fr), combos)


def translation_pair_count() -> int:
    """How many distinct English -> French pairs the embedded grammar can produce."""
    return _grammar().count()


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
    for en, fr, _ in _examples(seed):
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
    grammar = _grammar()
    sampler = _SteeredSampler(f"{seed}/test")
    rows = splits["test"]
    while len(rows) < n_test:
        combo = HELD_OUT_COMBINATIONS[len(rows) % len(HELD_OUT_COMBINATIONS)]
        sampler.words = frozenset(combo.split(":")[1].split("+"))
        en_tokens, fr_tokens, combos = grammar.sentence(sampler)
        if combo in combos:
            en, fr = _realise_sentence(en_tokens, fr_tokens)
            if en not in seen:
                seen.add(en)
                rows.append((en, fr, tuple(sorted(set(combos)))))
    # Train and valid: the grammar's own distribution, without any held-out combination.
    for split, size in (("train", n_train), ("valid", n_valid)):
        rows = splits[split]
        for en_tokens, fr_tokens, combos in _derivations(f"{seed}/{split}", grammar):
            if len(rows) == size:
                break
            if not held_out.isdisjoint(combos):
                continue
            en, fr = _realise_sentence(en_tokens, fr_tokens)
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
