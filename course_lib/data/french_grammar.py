"""The English -> French grammar of the translation corpus (lesson 06_translation).

Each sentence is a present-tense clause

  SUBJECT [not] VERB [OBJECT | to OBJECT | ADJECTIVE] [PLACE] .

whose subject may carry a prepositional phrase, a relative clause or an English
possessor ("the boy's dog" -> "le chien du garçon"). The French side is produced by
rules, not by a word-for-word table, so that it is correct French:

* gender and number agreement of articles, possessives, demonstratives, adjectives
  (un petit chat / une petite pomme / de petites pommes), adjectives before the noun
  for petit, grand, beau, joli, jeune, vieux, nouveau, bon, mauvais and after it for
  the others, with bel / nouvel / vieil before a vowel (un vieil arbre);
* subject-verb agreement, also across a phrase or a clause between them
  (le chat près des chiens mange; les chats que le garçon voit dorment);
* negation ne ... pas around the verb, with "de" replacing un / une / des / du / de la
  on the direct object (il ne mange pas de pomme) but not le / la / les;
* elision (l', d', n', j', qu') and contraction (au, aux, du, des), cet / mon before
  a vowel, des -> de before a plural adjective; partitive articles for what one
  cannot count (du pain, de la soupe, de l'eau);
* possessives that agree with the thing possessed, not the owner ("his apple" and
  "her apple" are both "sa pomme");
* words and orders one language has and the other lacks: do-support, "a" / "an",
  "the boy's dog" -> "le chien du garçon", "answers the man" -> "répond à l'homme",
  "likes cats" -> "aime les chats" (generic definite), "listens to" -> "écoute".

Sentences whose adjective would have to agree with the unknown gender of "I", "you" or
"we" are not generated. The words come from ``french_lexicon``, the agreement of a noun
phrase and the spelling of a sentence from ``french_surface``, and every decision from a
choice function of ``choices``. ``Grammar(lexicon).sentence(pick)`` makes one sentence,
``Grammar(lexicon).count()`` counts them all; ``sample_pairs(seed)`` streams sentence
pairs from the grammar of the whole lexicon (``default_grammar()``).
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cached_property

from course_lib.data.choices import Pick, Sampler
from course_lib.data.french_lexicon import (
    EXCLUDED_ADJECTIVE_NOUN,
    PL,
    SG,
    Adjective,
    Lexicon,
    Noun,
    Verb,
)
from course_lib.data.french_surface import Phrase, realise_noun_phrase, realise_sentence

__all__ = ["Grammar", "default_grammar", "sample_derivations", "sample_pairs"]


# Sampling weights (the ``weights`` a choice function gets): they shape the corpus, never
# which sentences are possible.
_W_FRAME = {"trans": 0.45, "ind": 0.10, "intr": 0.22, "cop": 0.23}
_W_SUBJECT = {"pronoun": 0.25, "np": 0.75}
_W_MODIFIER = {"none": 0.55, "pp": 0.15, "subj_rel": 0.10, "obj_rel": 0.10, "possessor": 0.10}
_W_NUMBER = {SG: 0.6, PL: 0.4}


class _DeterminerWeights(dict):
    def __missing__(self, key: str) -> float:
        return self["poss"]  # each "poss:my", "poss:your", ...


_W_DET = _DeterminerWeights({"the": 4.0, "a": 2.0, "bare": 2.0, "this": 1.0, "poss": 0.4})
_W_ADJ = {"none": 0.5, "pre": 0.2, "post": 0.2, "both": 0.1}
_W_NEGATION = {False: 0.7, True: 0.3}
_W_PLACE = {False: 0.7, True: 0.3}

class Grammar:
    """Sentences of the lexicon, sampled (``sentence(pick)``) or counted (``count()``).

    Every decision goes through ``pick(options, weights)``: a random choice when
    sampling, every option in turn when enumerating. ``count()`` mirrors the choices
    and multiplies the numbers of options, so the tests can check it against full
    enumeration on a small lexicon.
    """

    def __init__(self, lexicon: Lexicon = Lexicon()):
        self.lex = lexicon
        self.frames = {f: tuple(v for v in lexicon.verbs if v.frame == f) for f in _W_FRAME}
        self.frames = {f: vs for f, vs in self.frames.items() if vs}
        self._nouns_with: dict[frozenset[str], tuple[Noun, ...]] = {}
        self._adjectives_of: dict[Noun, tuple[tuple[Adjective, ...], ...]] = {}
        self._cache: dict[str, dict] = {}

    # ------------------------------------------------------------------ lookup tables
    def nouns_with(self, tags: frozenset[str]) -> tuple[Noun, ...]:
        if tags not in self._nouns_with:
            self._nouns_with[tags] = tuple(n for n in self.lex.nouns if n.tags & tags)
        return self._nouns_with[tags]

    @cached_property
    def all_nouns(self) -> tuple[Noun, ...]:
        return tuple(n for n in self.lex.nouns if self.adjectives_of(n)[0] or self.adjectives_of(n)[1])

    def adjectives_of(self, noun: Noun) -> tuple[tuple[Adjective, ...], ...]:
        """(adjectives before it, adjectives after it, colours after it) for ``noun``."""
        if noun not in self._adjectives_of:
            ok = [a for a in self.lex.adjectives if a.tags & noun.tags and (a.en, noun.en) not in EXCLUDED_ADJECTIVE_NOUN]
            self._adjectives_of[noun] = (
                tuple(a for a in ok if a.pre),
                tuple(a for a in ok if not a.pre),
                tuple(a for a in ok if not a.pre and a.colour),
            )
        return self._adjectives_of[noun]

    @cached_property
    def person_adjectives(self) -> tuple[Adjective, ...]:
        return tuple(a for a in self.lex.adjectives if "person" in a.tags)

    @cached_property
    def _trans(self) -> tuple[Verb, ...]:
        return self.frames.get("trans", ())

    def subject_relative_verbs(self, noun: Noun) -> tuple[Verb, ...]:
        """Verbs for "the NOUN that VERBs the X": the noun is their subject."""
        return self._per_noun("subj_rel", noun, lambda: tuple(
            v for v in self._trans if noun.tags & v.subject and self.nouns_with(v.object)))

    def object_relative_verbs(self, noun: Noun) -> tuple[Verb, ...]:
        """Verbs for "the NOUN that the X VERBs": the noun is their object."""
        return self._per_noun("obj_rel", noun, lambda: tuple(v for v in self._trans if noun.tags & v.object))

    def _per_noun(self, table: str, key, compute):
        cache = self._cache.setdefault(table, {})
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    @cached_property
    def modifier_nouns(self) -> tuple[Noun, ...]:
        """Nouns after a preposition or as an English possessor: people, animals, things one can count."""
        return tuple(n for n in self.lex.nouns if not n.mass and n.tags & {"person", "animal", "object"})

    @cached_property
    def possessor_nouns(self) -> tuple[Noun, ...]:
        """Owners in "the boy's dog": people."""
        return tuple(n for n in self.lex.nouns if "person" in n.tags)

    @staticmethod
    def can_be_owned(noun: Noun) -> bool:
        """Heads of "the boy's X": relatives, animals and things, not "the boy's king"."""
        return bool(noun.tags & {"family", "animal", "object", "food", "mass_food", "drink"})

    def modifier_kinds(self, noun: Noun) -> tuple[str, ...]:
        return self._per_noun("modifiers", noun, lambda: self._modifier_kinds(noun))

    def _modifier_kinds(self, noun: Noun) -> tuple[str, ...]:
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

    def determiners(self, noun: Noun, number: str, role: str, generic: bool = False) -> tuple[str, ...]:
        """Which English determiners a noun phrase in ``role`` may start with.

        "bare" is no determiner: a plural ("cats") or a mass noun ("bread").
        Roles: "subject", "object", "oblique" (after a preposition or "to"),
        "possessor" ("the boy's"), "simple" (inside a relative clause: "the" only).
        """
        return self._per_noun("dets", (noun, number, role, generic),
                              lambda: self._determiners(noun, number, role, generic))

    def _determiners(self, noun: Noun, number: str, role: str, generic: bool) -> tuple[str, ...]:
        if role == "simple":
            return ("the",)
        if role == "possessor":
            role = "subject"
        dets = ["the"]
        if role == "object" or (number == PL and role == "oblique"):
            if noun.mass or number == PL:
                dets.append("bare")
        if number == SG and not noun.mass and not (role == "object" and generic):
            dets.append("a")
        dets.append("this")
        if self.can_be_owned(noun):  # "my dog", "my mother", but not "my king"
            dets += [f"poss:{p.en}" for p in self.lex.possessives]
        return tuple(dets)

    @staticmethod
    def numbers(noun: Noun) -> tuple[str, ...]:
        return (SG,) if noun.mass else (SG, PL)

    def adjective_kinds(self, noun: Noun) -> tuple[str, ...]:
        return self._per_noun("adjective_kinds", noun, lambda: self._adjective_kinds(noun))

    def _adjective_kinds(self, noun: Noun) -> tuple[str, ...]:
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

    def subject(self, pick: Pick, verb: Verb) -> Phrase:
        copula = verb.frame == "cop"
        pronouns = tuple(p for p in self.lex.pronouns if p.copula or not copula)
        nouns = self.all_nouns if copula else self.nouns_with(verb.subject)
        kinds = ("pronoun",) * bool(pronouns) + ("np",) * bool(nouns)
        if pick(kinds, _W_SUBJECT) == "pronoun":
            p = pick(pronouns)
            number = PL if p.person >= 3 else SG
            return Phrase(p.en.split(), [p.fr], [], number, p.gender, p.person)
        noun = pick(nouns)
        kinds = self.modifier_kinds(noun)
        kind = pick(kinds, _W_MODIFIER)
        if kind == "possessor":
            number = pick(self.numbers(noun), _W_NUMBER)
            pre, post = self.pick_adjectives(pick, noun)
            head = realise_noun_phrase(noun, number, "the", pre, post, self.lex.possessives)
            owner = self.noun_phrase(pick, None, "possessor", adjectives=False)
            plural_s = owner.number == PL and owner.en[-1].endswith("s")  # the boys' / the men's
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
            singular = head.number == SG
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

    def pick_adjectives(self, pick: Pick, noun: Noun) -> tuple[Adjective | None, Adjective | None]:
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
        noun: Noun | None = None,
        nouns: Sequence[Noun] | None = None,
    ) -> Phrase:
        if noun is None:
            if nouns is None:
                nouns = self.possessor_nouns if role == "possessor" else self.nouns_with(tags)
            noun = pick(nouns)
        numbers = self.numbers(noun)
        number = pick(numbers, _W_NUMBER)
        dets = self.determiners(noun, number, role, generic)
        det = pick(dets, _W_DET)
        pre, post = self.pick_adjectives(pick, noun) if adjectives else (None, None)
        return realise_noun_phrase(noun, number, det, pre, post, self.lex.possessives,
                                   negated=negated, generic=generic)

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

    def _count_adjectives(self, noun: Noun) -> int:
        pre, post, colours = self.adjectives_of(noun)
        return 1 + len(pre) + len(post) + len(pre) * len(colours)

    def _count_noun_phrases(self, nouns: Iterable[Noun], role: str, generic: bool = False,
                            adjectives: bool = True) -> int:
        total = 0
        for noun in nouns:
            for number in self.numbers(noun):
                dets = self.determiners(noun, number, role, generic)
                total += len(dets) * (self._count_adjectives(noun) if adjectives else 1)
        return total

    def _count_subjects(self, verb: Verb, weight: Callable[[Noun | None], int] | None) -> int:
        weight = weight or (lambda noun: 1)
        copula = verb.frame == "cop"
        pronouns = [p for p in self.lex.pronouns if p.copula or not copula]
        total = len(pronouns) * weight(None)
        nouns = self.all_nouns if copula else self.nouns_with(verb.subject)
        for noun in nouns:
            total += self._per_noun("count_subject", noun, functools.partial(self._count_noun_subjects, noun)) \
                * weight(noun)
        return total

    def _count_noun_subjects(self, noun: Noun) -> int:
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


@functools.cache
def default_grammar() -> Grammar:
    """The grammar of the whole lexicon, built once (its lookup tables fill as it is used)."""
    return Grammar()


def sample_derivations(seed: int | str, grammar: Grammar | None = None) -> Iterator[tuple[list, list, list[str]]]:
    """An endless stream of (English tokens, French tokens, combinations), duplicates included."""
    grammar = grammar or default_grammar()
    pick = Sampler(seed)
    while True:
        yield grammar.sentence(pick)


def sample_pairs(seed: int | str, grammar: Grammar | None = None) -> Iterator[tuple[str, str, list[str]]]:
    """An endless stream of (English, French, combinations), duplicates included."""
    for en, fr, combos in sample_derivations(seed, grammar):
        yield (*realise_sentence(en, fr), combos)
