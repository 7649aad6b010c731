"""The words of the English document corpus (:mod:`course_lib.data.documents`).

Everything here is data: the people, places, organisations and festivals that documents
mention, and for each of the eight topics the words that topic's sentences are built from.
The grammar that puts them together lives in :mod:`course_lib.data.documents`.

Invented or rare names are chosen on purpose: each first name and surname splits into at
least two WordPieces in the bert-base-uncased vocabulary ("Marisol" -> maris ##ol,
"Okonkwo" -> ok ##on ##k ##wo), so entity tagging must label continuation pieces.

Verb phrases are written in the base form ("bark at the sheep"); the grammar inflects the
verb (its first word) for a singular subject with :func:`third_person`. Each creature's
verb belongs to that creature alone, so the words *after* the noun decide it ("the ___
barks at the sheep" can only be the dog), which is what bidirectional MLM exploits.
"""
from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "FEMALE_NAMES", "MALE_NAMES", "SURNAMES", "PLACES", "ORGANISATIONS", "FESTIVALS",
    "Creature", "Event", "Topic", "TOPICS", "FUNCTION_WORDS", "third_person",
]

FEMALE_NAMES = (
    "Marisol", "Ysolde", "Oriane", "Ilsabet", "Zenobia", "Perpetua", "Brisenda", "Odalys",
    "Wilhelmina", "Tamsin", "Ottoline", "Seraphine", "Adaeze", "Ximena", "Wendeline",
    "Rosalind", "Philippa", "Ophira", "Esperanza",
)
MALE_NAMES = (
    "Thaddeus", "Ambrosius", "Evander", "Lysander", "Barnaby", "Osric", "Benedikt", "Eustace",
    "Hieronymus", "Jedediah", "Lorcan", "Mordecai", "Peregrine", "Rafferty", "Tobiah", "Ulric",
    "Zebedee",
)
SURNAMES = (
    "Okonkwo", "Abernathy", "Quillfeather", "Marchetti", "Oyelaran", "Achterberg", "Brannigan",
    "Castellanos", "Delacroix", "Eberhardt", "Fairweather", "Haverford", "Iwasaki", "Jorgensen",
    "Kowalczyk", "Lindqvist", "Moreau", "Oduya", "Pemberton", "Quartermaine", "Rasmussen",
    "Szabo", "Valdivia", "Wexley", "Yarborough", "Zelinski",
)
# Towns (LOC). Some are two words, so that I-LOC occurs.
PLACES = (
    "Kestrabay", "Port Velloran", "Amberlane", "Hollowmere", "Saltmarsh", "Greywick",
    "Dunmorrow", "Fennick Cross", "Ravensholt", "Orlamund", "Tollbridge", "Quenby",
    "Marrowdale", "Esker Vale", "Wyndle", "Brackenford",
)
ORGANISATIONS = tuple(
    f"{prefix} {kind}"
    for prefix in ("Larkspur", "Brightwater", "Copperfield", "Silverthorn", "Goldmere", "Ironvale")
    for kind in ("Guild", "Company", "Society")
)
FESTIVALS = ("Lantern Fair", "Candlewick Festival", "Midsummer Revel", "Ashfall Feast")


class Creature(NamedTuple):
    """An animal or thing with a verb phrase that only it takes: "the dog barks at the sheep"."""

    noun: str
    plural: str
    verb_phrase: str


class Event(NamedTuple):
    """An outcome: ``subject`` (after "the") with a good and a bad verb phrase.

    "the harvest succeeds" is good and "the harvest fails" bad; negation swaps them, so
    "the harvest does not fail" is good.
    """

    subject: str
    plural: bool
    good: str
    bad: str


class Topic(NamedTuple):
    """The words of one topic's documents.

    ``work`` pairs a verb with the objects it selects (bakers bake bread, not sails);
    ``threats`` are subjects of "... threatens the <threatened>", singular when they start
    with "a ", plural otherwise.
    """

    name: str
    role: str
    workplace: str
    work: tuple[tuple[str, tuple[str, ...]], ...]
    creatures: tuple[Creature, ...]
    threats: tuple[str, ...]
    threatened: tuple[str, ...]
    events: tuple[Event, ...]


TOPICS = (
    Topic("baking", "baker", "in the bakery",
          (("bake", ("bread", "pies", "cakes")), ("knead", ("the dough",)), ("slice", ("the loaves",))),
          (Creature("kettle", "kettles", "whistle on the stove"), Creature("oven", "ovens", "glow in the corner"),
           Creature("cat", "cats", "purr by the fire")),
          ("a fire", "mice"), ("flour", "bakery"),
          (Event("bread", False, "rise in the oven", "burn in the oven"),
           Event("guests", True, "praise the cakes", "refuse the cakes"))),
    Topic("sailing", "sailor", "at the harbour",
          (("mend", ("the sails", "the ropes")), ("steer", ("the ship",)), ("load", ("the cargo",))),
          (Creature("ship", "ships", "sail into the harbour"), Creature("gull", "gulls", "screech above the mast"),
           Creature("wind", "winds", "howl over the deck")),
          ("a storm", "pirates"), ("ship", "cargo"),
          (Event("ship", False, "reach the harbour", "sink"),
           Event("sailors", True, "survive", "drown"))),
    Topic("farming", "farmer", "in the fields",
          (("plough", ("the soil",)), ("sow", ("wheat", "barley")), ("milk", ("the cows",))),
          (Creature("cow", "cows", "graze in the meadow"), Creature("rooster", "roosters", "crow at dawn"),
           Creature("pig", "pigs", "grunt in the mud")),
          ("a drought", "locusts"), ("harvest", "wheat"),
          (Event("harvest", False, "succeed", "fail"),
           Event("crops", True, "grow tall", "wither"))),
    Topic("music", "musician", "in the hall",
          (("play", ("the fiddle", "the flute")), ("sing", ("ballads", "hymns")), ("compose", ("a waltz",))),
          (Creature("bell", "bells", "chime in the tower"), Creature("drum", "drums", "boom in the square"),
           Creature("organ", "organs", "drone in the chapel")),
          ("a fever", "a quarrel"), ("concert", "choir"),
          (Event("concert", False, "delight the audience", "bore the audience"),
           Event("singers", True, "remember the words", "forget the words"))),
    Topic("trade", "merchant", "at the market",
          (("sell", ("spices", "silk")), ("weigh", ("the saffron",)), ("count", ("the coins",))),
          (Creature("cart", "carts", "rattle over the cobbles"), Creature("horse", "horses", "neigh at the gate"),
           Creature("coin", "coins", "clink in the purse")),
          ("thieves", "a rival"), ("stall", "goods"),
          (Event("stall", False, "prosper", "close"),
           Event("buyers", True, "return to the stall", "avoid the stall"))),
    Topic("herding", "shepherd", "on the hills",
          (("shear", ("the sheep",)), ("guide", ("the flock",)), ("count", ("the lambs",))),
          (Creature("dog", "dogs", "bark at the sheep"), Creature("sheep", "sheep", "bleat on the hill"),
           Creature("owl", "owls", "hoot in the dark")),
          ("wolves", "a blizzard"), ("flock", "lambs"),
          (Event("flock", False, "stay safe", "scatter"),
           Event("lambs", True, "thrive", "perish"))),
    Topic("building", "carpenter", "in the workshop",
          (("saw", ("the planks",)), ("build", ("a barn", "a bridge")), ("carve", ("a chair",))),
          (Creature("hammer", "hammers", "pound the nails"), Creature("saw", "saws", "whine through the wood"),
           Creature("scaffold", "scaffolds", "creak in the wind")),
          ("a flood", "a gale"), ("bridge", "roof"),
          (Event("bridge", False, "stand firm", "collapse"),
           Event("walls", True, "hold", "crack"))),
    Topic("fishing", "fisher", "on the river",
          (("cast", ("the nets",)), ("catch", ("trout", "salmon")), ("mend", ("the nets",))),
          (Creature("boat", "boats", "drift downstream"), Creature("heron", "herons", "wade in the shallows"),
           Creature("otter", "otters", "splash near the bank")),
          ("poachers", "a heatwave"), ("catch", "nets"),
          (Event("catch", False, "feed the village", "rot"),
           Event("nets", True, "hold", "tear"))),
)

# Part-of-speech tags of the closed-class words and of the adjectives and adverbs; every
# other word of a phrase is a NOUN, except verbs, which the grammar tags VERB itself.
FUNCTION_WORDS = {
    **dict.fromkeys(("the", "a", "that"), "DET"),
    **dict.fromkeys(("in", "on", "at", "into", "above", "over", "by", "through", "with", "to",
                     "from", "for", "near"), "ADP"),
    **dict.fromkeys(("she", "he", "they"), "PRON"),
    **dict.fromkeys(("is", "does", "do"), "AUX"),
    **dict.fromkeys(("tall", "firm", "safe", "rainy", "cold", "next"), "ADJ"),
    **dict.fromkeys(("first", "later", "home", "downstream", "outside"), "ADV"),
    "and": "CCONJ", "not": "PART", "one": "NUM", ",": "PUNCT", ".": "PUNCT",
}


def third_person(verb: str) -> str:
    """The third-person singular present of a base-form verb: bake -> bakes, reach -> reaches."""
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and verb[-2:-1] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"
