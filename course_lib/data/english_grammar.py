"""The grammar of the English document corpus, and a recogniser built from it.

The grammar is data: :class:`Token` (a word with its part-of-speech and BIO entity tag),
tuples (sequences), :class:`Alt` (a choice between sequences) and :class:`Slot` (a place
the story being told fills in: a character, a town...). One :class:`TopicGrammar` per
topic holds the sentences of each story stage. :mod:`course_lib.data.documents` tells
stories with it; here the same nodes compile into one regular expression per stage, so
that :func:`is_grammatical` accepts exactly the sentences the grammar can produce.

Also here, for lesson 10's rewards: :func:`sentence_stage`, :func:`story_order`,
:func:`ends_well`, :func:`on_topic`, :func:`characters_in`, :func:`split_sentences`, and
for lesson 07 :func:`fillers` (the words the grammar allows at one position).
"""
from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .english_lexicon import (FEMALE_NAMES, FESTIVALS, FUNCTION_WORDS, MALE_NAMES, ORGANISATIONS, PLACES,
                              SURNAMES, TOPICS, Topic, third_person)

__all__ = [
    "is_grammatical", "sentence_stage", "story_order", "ends_well", "on_topic", "characters_in",
    "split_sentences", "fillers", "TOPIC_NAMES", "STAGES",
    "Token", "Alt", "Slot", "TopicGrammar", "grammars", "entity", "surface", "DOT", "AT_FIRST", "IN_THE_END",
]

TOPIC_NAMES = tuple(topic.name for topic in TOPICS)
STAGES = ("arrival", "introduction", "work", "problem", "outcome", "ending")


# =====================================================================================
# The grammar: tokens, sequences (tuples), alternatives and slots the story fills in
# =====================================================================================
@dataclass(frozen=True)
class Token:
    word: str
    pos: str
    ner: str = "O"


@dataclass(frozen=True)
class Alt:
    options: tuple  # each a sequence of nodes
    mark: str | None = None  # record where the choice lands (an answer span)


@dataclass(frozen=True)
class Slot:
    key: str  # what the story puts here: "P", "C", "PAIR", "TOWN", ...
    accepts: Any  # the node that stands for every possible filler, for the recogniser
    mark: str | None = None


def alt(*options, mark: str | None = None) -> Alt:
    return Alt(tuple(o if isinstance(o, tuple) else (o,) for o in options), mark)


def tok(word: str) -> Token:
    return Token(word, FUNCTION_WORDS.get(word, "NOUN"))


def phrase(template: str, **slots) -> tuple:
    """Nodes of a template: "{KEY}" is ``slots[KEY]``, "^word" a verb, other words tagged by lookup."""
    return tuple(slots[w[1:-1]] if w[0] == "{" else Token(w[1:], "VERB") if w[0] == "^" else tok(w)
                 for w in template.split())


def choice(*templates: str, **slots) -> Alt:
    return alt(*(phrase(t, **slots) for t in templates))


def verb_phrase(text: str, plural: bool, negated: bool = False) -> tuple:
    """A verb phrase in the present, agreeing with its subject: "rise" -> rises / rise / does not rise."""
    verb, *rest = text.split()
    if negated:
        head = (Token("do" if plural else "does", "AUX"), tok("not"), Token(verb, "VERB"))
    else:
        head = (Token(verb if plural else third_person(verb), "VERB"),)
    return head + tuple(tok(w) for w in rest)


def entity(name: str, kind: str) -> tuple:
    return tuple(Token(w, "PROPN", ("B-" if i == 0 else "I-") + kind) for i, w in enumerate(name.split()))


NAME = (alt(*(Token(n, "PROPN", "B-PER") for n in FEMALE_NAMES + MALE_NAMES)),
        alt(*((Token(n, "PROPN", "I-PER"),) for n in SURNAMES), ()))
SUBJECT = alt(NAME, Token("she", "PRON"), Token("he", "PRON"))
SLOTS = {
    "P": Slot("P", SUBJECT), "C": Slot("C", SUBJECT), "C_OBJ": Slot("C_OBJ", NAME),
    "PAIR": Slot("PAIR", alt((*NAME, tok("and"), *NAME), Token("they", "PRON"))),
    "TOWN": Slot("TOWN", alt(*(entity(p, "LOC") for p in PLACES)), "town"),
    "HOME": Slot("HOME", alt(*(entity(p, "LOC") for p in PLACES)), "home"),
    "ORG": Slot("ORG", alt(*(entity(o, "ORG") for o in ORGANISATIONS)), "org"),
    "FEST": Slot("FEST", alt(*(entity(f, "MISC") for f in FESTIVALS))),
    "WHEN": choice("on a rainy morning", "on a cold evening", "at sunrise", "in the spring", "in the autumn"),
    "MOMENT": choice("in the morning ,", "at noon ,", "outside ,"),
    "TIME": choice("one morning ,", "one night ,", "that winter ,"),
    "EVENING": choice("that evening ,", "the next day ,", "later ,"),
}
DOT = tok(".")
AT_FIRST, IN_THE_END = phrase("at first ,"), phrase("in the end ,")


class TopicGrammar:
    """The sentences of one topic's stories, stage by stage."""

    def __init__(self, topic: Topic):
        s = dict(SLOTS, THREATENED=Slot("THREATENED", alt(*map(tok, topic.threatened))))
        self.arrival = choice("{P} ^arrives in {TOWN} {WHEN} .", "{WHEN} , {P} ^arrives in {TOWN} .", **s)
        self.introduction = phrase("{P} is a {ROLE} from {HOME} .", ROLE=tok(topic.role), **s)
        self.team = choice("{P} ^works for the {ORG} with {C_OBJ} .", "{PAIR} ^work for the {ORG} .", **s)

        def action(plural: bool) -> tuple:
            actions = alt(*(verb_phrase(f"{verb} {obj}", plural) for verb, objects in topic.work for obj in objects))
            return actions, alt(phrase(topic.workplace), ()), DOT

        self.work_person = alt((s["P"], *action(False)), (s["C"], *action(False)), (s["PAIR"], *action(True)))
        creature = alt(*((tok("the"), tok(noun), *verb_phrase(c.verb_phrase, plural))
                         for c in topic.creatures for noun, plural in ((c.noun, False), (c.plural, True))))
        self.work_creature = alt((s["MOMENT"], creature, DOT), (creature, DOT))
        threat = alt(*((alt(phrase(t), mark="threat"), Token("threatens" if t.startswith("a ") else "threaten", "VERB"))
                       for t in topic.threats))
        self.problem = (s["TIME"], threat, tok("the"), s["THREATENED"], DOT)
        # events[good][i]: the i-th event told so that the story ends well (or badly), with
        # the verb that says so or negating the one that says the opposite
        self.events: dict[bool, list[Alt]] = {True: [], False: []}
        for good in (True, False):
            for e in topic.events:
                said, denied = (e.good, e.bad) if good else (e.bad, e.good)
                subject = (tok("the"), tok(e.subject))
                self.events[good].append(alt((*subject, *verb_phrase(said, e.plural)),
                                             (*subject, *verb_phrase(denied, e.plural, negated=True))))
            said, denied = ("save", "lose") if good else ("lose", "save")
            self.events[good].append(alt(*((who, *verb_phrase(f"{verb} the", who.key == "PAIR", neg), s["THREATENED"])
                                           for who in (s["P"], s["C"], s["PAIR"])
                                           for verb, neg in ((said, False), (denied, True)))))
        self.ending = choice("{EVENING} {P} ^writes a letter to {C_OBJ} .", "{EVENING} {PAIR} ^dance at the {FEST} .",
                             "{EVENING} {PAIR} ^go home to {HOME} .", **s)

    def stages(self) -> dict[str, Any]:
        """One node per stage, outcomes split by how they end, accepting any prefix."""
        prefix = alt(AT_FIRST, IN_THE_END, ())
        return {"arrival": self.arrival, "introduction": alt(self.introduction, self.team),
                "work": alt(self.work_person, self.work_creature), "problem": self.problem,
                "outcome good": (prefix, alt(*self.events[True]), DOT),
                "outcome bad": (prefix, alt(*self.events[False]), DOT), "ending": self.ending}


@functools.cache
def grammars() -> dict[str, TopicGrammar]:
    return {topic.name: TopicGrammar(topic) for topic in TOPICS}


def surface(words: Sequence[str]) -> tuple[str, list[int]]:
    """The sentence the words make (one space between words, none before "," and ".") and
    each word's character offset in it."""
    text, starts = "", []
    for i, word in enumerate(words):
        text += "" if i == 0 or word in ",." else " "
        starts.append(len(text))
        text += word
    return text, starts


# =====================================================================================
# Recognising sentences, and the properties a reward can be defined on
# =====================================================================================
def _pattern(node) -> str:
    """A regular expression for ``node``, to match against " " + sentence (one space before each word)."""
    if isinstance(node, Token):
        return re.escape(node.word) if node.word in ",." else " " + re.escape(node.word)
    if isinstance(node, tuple):
        return "".join(map(_pattern, node))
    if isinstance(node, Alt):
        return "(?:" + "|".join(map(_pattern, node.options)) + ")"
    return _pattern(node.accepts)


def _node_tokens(node, out: set[Token]) -> set[Token]:
    if isinstance(node, Token):
        out.add(node)
    else:
        for child in node if isinstance(node, tuple) else node.options if isinstance(node, Alt) else (node.accepts,):
            _node_tokens(child, out)
    return out


@functools.cache
def _recognisers() -> dict[str, re.Pattern]:
    """Stage ("outcome good" and "outcome bad" apart) -> the pattern of every sentence of that stage."""
    by_stage: dict[str, list] = {}
    for grammar in grammars().values():
        for stage, node in grammar.stages().items():
            by_stage.setdefault(stage, []).append(node)
    return {stage: re.compile(_pattern(alt(*nodes))) for stage, nodes in by_stage.items()}


@functools.cache
def _vocabulary() -> tuple[frozenset[str], dict[str, frozenset[str]]]:
    """(every word of the grammar, topic -> the nouns, verbs and adjectives only that topic's sentences use)."""
    tokens = {name: _node_tokens(tuple(g.stages().values()), set()) for name, g in grammars().items()}
    content = {name: {t.word for t in ts if t.pos in ("NOUN", "VERB", "ADJ")} for name, ts in tokens.items()}
    own = {name: frozenset(w - set().union(*(o for n, o in content.items() if n != name)))
           for name, w in content.items()}
    return frozenset(t.word for ts in tokens.values() for t in ts), own


_PROPER = frozenset(w for names in (FEMALE_NAMES, MALE_NAMES, SURNAMES, PLACES, ORGANISATIONS, FESTIVALS)
                    for name in names for w in name.split())


def _stage_key(sentence: str) -> str | None:
    if not isinstance(sentence, str):
        raise TypeError(f"sentence must be a str; got {type(sentence).__name__}.")
    if not sentence[:1].isupper():
        return None
    if sentence.split(" ", 1)[0] not in _PROPER:  # the grammar's words are lowercase, bar the names
        sentence = sentence[0].lower() + sentence[1:]
    return next((stage for stage, pattern in _recognisers().items() if pattern.fullmatch(" " + sentence)), None)


def is_grammatical(sentence: str) -> bool:
    """Whether the corpus's grammar can produce ``sentence``, exactly as written.

    One sentence, capitalised, words separated by single spaces, "," and "." glued to the
    word before: "The dogs bark at the sheep." is grammatical; "The dogs barks at the sheep."
    (agreement), "The ship barks at the sheep." (selection), "The barks dog at the sheep."
    and "the dogs bark at the sheep." are not. Which character a pronoun refers to is a
    matter of the document, not of the sentence, and is not checked. Tens of thousands of
    sentences a second. Raises TypeError unless ``sentence`` is a str.
    """
    return _stage_key(sentence) is not None


def sentence_stage(sentence: str) -> str | None:
    """The story stage (one of :data:`STAGES`) a grammatical sentence belongs to; None if ungrammatical."""
    stage = _stage_key(sentence)
    return stage.split()[0] if stage else None


def split_sentences(text: str) -> list[str]:
    """``text`` cut after each ".", "!" or "?" followed by white space; empty pieces dropped."""
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def story_order(text: str) -> float:
    """The fraction of adjacent sentence pairs that are both grammatical and keep the story order.

    A pair keeps the order when the second sentence's stage does not come before the
    first's in :data:`STAGES`. Every document of the corpus scores 1.0; a text with fewer
    than two sentences has no order and scores 0.0. A float in [0, 1].
    """
    stages = [sentence_stage(s) for s in split_sentences(text)]
    pairs = list(zip(stages, stages[1:]))
    kept = sum(a is not None and b is not None and STAGES.index(a) <= STAGES.index(b) for a, b in pairs)
    return kept / len(pairs) if pairs else 0.0


def ends_well(text: str) -> bool | None:
    """Whether the last outcome sentence of ``text`` ends the story well; None if it has none.

    On the corpus's documents this is ``label == 1``. Negation counts: "The harvest does
    not fail." ends well.
    """
    outcomes = [k for k in map(_stage_key, split_sentences(text)) if k and k.startswith("outcome")]
    return outcomes[-1] == "outcome good" if outcomes else None


def on_topic(text: str, topic: str) -> bool:
    """Whether ``text`` uses a noun, verb or adjective that only ``topic``'s stories use, and none of
    another topic's.

    ``topic`` is one of :data:`TOPIC_NAMES` (ValueError otherwise). "The dog barks at the
    sheep." is on topic for "herding"; add "The ship sinks." and it is on topic for none.
    """
    if topic not in TOPIC_NAMES:
        raise ValueError(f"topic must be one of {TOPIC_NAMES}; got {topic!r}.")
    found = set(re.findall(r"[a-z]+", text.lower()))
    own = _vocabulary()[1]
    return bool(found & own[topic]) and not any(found & words for name, words in own.items() if name != topic)


def characters_in(text: str) -> list[str]:
    """The first names of the corpus's characters that ``text`` mentions, in order of first mention."""
    names = set(FEMALE_NAMES + MALE_NAMES)
    return list(dict.fromkeys(w for w in re.findall(r"[A-Z][a-z]+", text) if w in names))


def fillers(words: list[str], index: int) -> list[str]:
    """Every word of the grammar that makes the sentence grammatical when put at ``words[index]``.

    ``words`` is a sentence as in the corpus's ``words`` column. For lesson 07: at the noun
    of ["The", "dog", "barks", "at", "the", "sheep", "."] only "dog" fits, although after
    "The" alone any noun could follow. Sorted; raises IndexError for an index outside ``words``.
    """
    words, found = list(words), []
    for word in sorted(_vocabulary()[0]):
        if index in (0, -len(words)) and word not in _PROPER:
            word = word[0].upper() + word[1:]
        words[index] = word
        if is_grammatical(surface(words)[0]):
            found.append(word)
    return found

