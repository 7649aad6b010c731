"""The English -> French lexicon of the translation corpus (lesson 06_translation).

Every word the grammar (``course_lib.data.french_grammar``) can use, in both languages,
with what the rules need to know about it: nouns (gender, plural, mass or count, semantic
tags), adjectives (four French forms, before or after the noun, bel / nouvel / vieil
before a vowel), verbs (French present tense, frame: direct object, object after "à",
none, or "be" + adjective), subject pronouns, prepositions, places and possessives.
``Lexicon`` holds them together; ``Lexicon().subset(...)`` keeps only some.

To keep the French a function of the English, English words whose French depends on
something the English does not say have one fixed translation: "you" is "tu", "you all"
is "vous", "they" is "ils", "child" is "enfant" (masculine). Light semantic tags keep the
sentences sensible (people read, animals and people sleep, only food is eaten), and a few
adjective-noun pairs whose French means something else (grand-père, belle-mère, vieille
fille) are never made (``EXCLUDED_ADJECTIVE_NOUN``).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "SG",
    "PL",
    "vowel_initial",
    "Noun",
    "Adjective",
    "Verb",
    "Pronoun",
    "Preposition",
    "Place",
    "Possessive",
    "er_present",
    "EXCLUDED_ADJECTIVE_NOUN",
    "Lexicon",
]


SG, PL = "sg", "pl"  # the two grammatical numbers, as the grammar and the words spell them
_VOWELS = frozenset("aeiouyàâäéèêëîïôöûüœæh")  # h: every h-word in the lexicon is h muet


def vowel_initial(word: str) -> bool:
    """Whether ``word`` starts with a vowel sound (elision, bel, cet, mon école)."""
    return word[:1].lower() in _VOWELS


@dataclass(frozen=True, eq=False)
class Noun:
    """A noun in both languages; ``tags`` say what it is (person, animal, food, ...) for the verbs."""

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
class Adjective:
    """An adjective: its four French forms, its place before or after the noun, the nouns it fits."""

    en: str
    fr: tuple[str, str, str, str]  # masculine sg, feminine sg, masculine pl, feminine pl
    pre: bool  # placed before the noun in French
    tags: frozenset[str]  # the nouns it can describe
    before_vowel: str | None = None  # bel, nouvel, vieil
    colour: bool = False  # may follow another adjective: "a small red car"

    def form(self, gender: str, number: str, next_word: str = "") -> str:
        """The French form that agrees with a noun of ``gender`` and ``number`` before ``next_word``."""
        if self.before_vowel and gender == "m" and number == SG and vowel_initial(next_word):
            return self.before_vowel
        return self.fr[(gender == "f") + 2 * (number == PL)]


@dataclass(frozen=True, eq=False)
class Verb:
    """A verb: English forms, French present tense, its frame and the tags of its subject and object."""

    en: str  # base form, with its particle: "look for"
    en3: str  # third person singular: "looks for"
    fr: tuple[str, str, str, str, str, str]  # je tu il nous vous ils
    frame: str  # "trans" (direct object), "ind" (object after "à"), "intr", "cop" (être + adjective)
    subject: frozenset[str] = frozenset()
    object: frozenset[str] = frozenset()
    generic: bool = False  # likes cats / bread -> aime les chats / le pain (definite, generic)


@dataclass(frozen=True, eq=False)
class Pronoun:
    """A subject pronoun; ``person`` picks the verb form."""

    en: str
    fr: str
    person: int  # index into Verb.fr
    gender: str
    copula: bool  # gender known: may take "is" + adjective


@dataclass(frozen=True, eq=False)
class Preposition:
    """A preposition of place, as in "the cat near the dogs"."""

    en: str
    fr: tuple[str, ...]  # ("près", "de"): de contracts with the article that follows


@dataclass(frozen=True, eq=False)
class Place:
    """A place phrase that may end a sentence ("at the market")."""

    en: str  # "at the market" / "in the garden"
    fr: tuple[str, ...]  # ("à", "le", "marché") -> "au marché"


@dataclass(frozen=True, eq=False)
class Possessive:
    """A possessive determiner: agrees with the thing possessed, not the owner."""

    en: str
    fr: tuple[str, str, str]  # masculine sg (also feminine before a vowel), feminine sg, plural


def er_present(stem: str) -> tuple[str, str, str, str, str, str]:
    """Present tense of a regular -er verb (manger and nager keep the e before -ons)."""
    nous = stem + ("eons" if stem.endswith("g") else "ons")
    return (stem + "e", stem + "es", stem + "e", nous, stem + "ez", stem + "ent")


def _n(en, en_pl, fr, fr_pl, gender, *tags) -> Noun:
    return Noun(en, en_pl, fr, fr_pl, gender, frozenset(tags))


def _a(en, fr4, pre, tags, before_vowel=None, colour=False) -> Adjective:
    if isinstance(fr4, str):
        fr4 = tuple(fr4.split())
    return Adjective(en, fr4, pre, frozenset(tags.split()), before_vowel, colour)


def _v(en, en3, fr, frame, subject="", obj="", generic=False) -> Verb:
    return Verb(en, en3, fr, frame, frozenset(subject.split()), frozenset(obj.split()), generic)


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
EXCLUDED_ADJECTIVE_NOUN = frozenset(
    [("big", "man"), ("old", "girl"), ("old", "boy"), ("beautiful", "girl")]
    + [("beautiful", n) for n in ("father", "mother", "brother", "sister")]
    + [("big", n) for n in ("father", "mother", "uncle", "aunt")]
)

_THINGS = "object food mass_food drink"
_VERBS = (
    # a direct object in both languages
    _v("eat", "eats", er_present("mang"), "trans", _ANIMATE, "food mass_food"),
    _v("drink", "drinks", ("bois", "bois", "boit", "buvons", "buvez", "boivent"), "trans", _ANIMATE, "drink"),
    _v("see", "sees", ("vois", "vois", "voit", "voyons", "voyez", "voient"), "trans", _ANIMATE,
       "person animal object food"),
    _v("watch", "watches", er_present("regard"), "trans", _ANIMATE, "person animal object"),
    _v("like", "likes", er_present("aim"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("love", "loves", er_present("ador"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("hate", "hates", er_present("détest"), "trans", _ANIMATE, "animal " + _THINGS, generic=True),
    _v("look for", "looks for", er_present("cherch"), "trans", _ANIMATE, "person animal object"),
    _v("find", "finds", er_present("trouv"), "trans", _ANIMATE, "animal object food"),
    _v("take", "takes", ("prends", "prends", "prend", "prenons", "prenez", "prennent"), "trans", "person",
       "small food"),
    _v("have", "has", ("ai", "as", "a", "avons", "avez", "ont"), "trans", "person",
       "family animal " + _THINGS),
    _v("carry", "carries", er_present("port"), "trans", "person", "small animal"),
    _v("buy", "buys", ("achète", "achètes", "achète", "achetons", "achetez", "achètent"), "trans", "person",
       _THINGS),
    _v("wash", "washes", er_present("lav"), "trans", "person", "small washable animal"),
    _v("draw", "draws", er_present("dessin"), "trans", "person", "person animal object food"),
    _v("catch", "catches", er_present("attrap"), "trans", _ANIMATE, "animal throwable"),
    _v("listen to", "listens to", er_present("écout"), "trans", _ANIMATE, "person animal"),
    _v("follow", "follows", ("suis", "suis", "suit", "suivons", "suivez", "suivent"), "trans", _ANIMATE,
       "person animal"),
    _v("help", "helps", er_present("aid"), "trans", "person", "person animal"),
    _v("read", "reads", ("lis", "lis", "lit", "lisons", "lisez", "lisent"), "trans", "person", "readable"),
    _v("throw", "throws", ("lance", "lances", "lance", "lançons", "lancez", "lancent"), "trans", "person",
       "throwable"),
    _v("open", "opens", ("ouvre", "ouvres", "ouvre", "ouvrons", "ouvrez", "ouvrent"), "trans", "person",
       "openable"),
    _v("know", "knows", ("connais", "connais", "connaît", "connaissons", "connaissez", "connaissent"),
       "trans", "person", "person animal"),
    _v("hide", "hides", er_present("cach"), "trans", _ANIMATE, "small food"),
    _v("call", "calls", ("appelle", "appelles", "appelle", "appelons", "appelez", "appellent"), "trans",
       "person", "person animal"),
    # the French object follows "à"
    _v("speak to", "speaks to", er_present("parl"), "ind", "person", "person animal"),
    _v("answer", "answers", ("réponds", "réponds", "répond", "répondons", "répondez", "répondent"), "ind",
       "person", "person"),
    _v("obey", "obeys", ("obéis", "obéis", "obéit", "obéissons", "obéissez", "obéissent"), "ind", _ANIMATE,
       "person"),
    # no object
    _v("sleep", "sleeps", ("dors", "dors", "dort", "dormons", "dormez", "dorment"), "intr", _ANIMATE),
    _v("sing", "sings", er_present("chant"), "intr", "person"),
    _v("dance", "dances", er_present("dans"), "intr", "person"),
    _v("swim", "swims", er_present("nag"), "intr", _ANIMATE),
    _v("run", "runs", ("cours", "cours", "court", "courons", "courez", "courent"), "intr", _ANIMATE),
    _v("play", "plays", er_present("jou"), "intr", _ANIMATE),
    _v("work", "works", er_present("travaill"), "intr", "person"),
    _v("arrive", "arrives", er_present("arriv"), "intr", _ANIMATE),
    _v("wait", "waits", ("attends", "attends", "attend", "attendons", "attendez", "attendent"), "intr",
       _ANIMATE),
    _v("laugh", "laughs", ("ris", "ris", "rit", "rions", "riez", "rient"), "intr", "person"),
    _v("cry", "cries", er_present("pleur"), "intr", "person"),
    _v("jump", "jumps", er_present("saut"), "intr", _ANIMATE),
    _v("walk", "walks", er_present("march"), "intr", _ANIMATE),
    # être + adjective
    _v("be", "is", ("suis", "es", "est", "sommes", "êtes", "sont"), "cop"),
)

_PRONOUNS = (
    Pronoun("I", "je", 0, "m", False),
    Pronoun("you", "tu", 1, "m", False),
    Pronoun("he", "il", 2, "m", True),
    Pronoun("she", "elle", 2, "f", True),
    Pronoun("we", "nous", 3, "m", False),
    Pronoun("you all", "vous", 4, "m", False),
    Pronoun("they", "ils", 5, "m", True),
)

_PREPOSITIONS = (
    Preposition("near", ("près", "de")),
    Preposition("next to", ("à", "côté", "de")),
    Preposition("far from", ("loin", "de")),
    Preposition("in front of", ("devant",)),
    Preposition("behind", ("derrière",)),
    Preposition("with", ("avec",)),
)


def _places() -> tuple[Place, ...]:
    at = [("market", "marché", "m"), ("park", "parc", "m"), ("museum", "musée", "m"), ("zoo", "zoo", "m"),
          ("restaurant", "restaurant", "m"), ("station", "gare", "f"), ("beach", "plage", "f"),
          ("library", "bibliothèque", "f"), ("school", "école", "f"), ("hospital", "hôpital", "m"),
          ("airport", "aéroport", "m"), ("church", "église", "f")]
    inside = [("garden", "jardin", "m"), ("kitchen", "cuisine", "f"), ("forest", "forêt", "f"),
              ("street", "rue", "f"), ("town", "ville", "f"), ("field", "champ", "m")]
    art = {"m": "le", "f": "la"}
    return tuple(
        [Place(f"at the {en}", ("à", art[g], fr)) for en, fr, g in at]
        + [Place(f"in the {en}", ("dans", art[g], fr)) for en, fr, g in inside]
    )


_PLACES = _places()

_POSSESSIVES = (
    Possessive("my", ("mon", "ma", "mes")),
    Possessive("your", ("ton", "ta", "tes")),
    Possessive("his", ("son", "sa", "ses")),
    Possessive("her", ("son", "sa", "ses")),
    Possessive("our", ("notre", "notre", "nos")),
    Possessive("their", ("leur", "leur", "leurs")),
)


@dataclass(frozen=True, eq=False)
class Lexicon:
    """The words the grammar may use; by default all of them. ``subset`` makes a smaller one for tests."""

    nouns: tuple[Noun, ...] = _NOUNS
    adjectives: tuple[Adjective, ...] = _ADJECTIVES
    verbs: tuple[Verb, ...] = _VERBS
    pronouns: tuple[Pronoun, ...] = _PRONOUNS
    prepositions: tuple[Preposition, ...] = _PREPOSITIONS
    places: tuple[Place, ...] = _PLACES
    possessives: tuple[Possessive, ...] = _POSSESSIVES

    def subset(self, **english: Iterable[str]) -> Lexicon:
        """The lexicon with only the named entries (by English word) in the given fields."""
        kept = {}
        for field_name, words in english.items():
            words = set(words)
            kept[field_name] = tuple(e for e in getattr(self, field_name) if e.en in words)
        return Lexicon(**{**self.__dict__, **kept})
