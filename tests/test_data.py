"""Corpora and loaders: words and vocabularies, the English -> French lexicon, grammar and surface
realisation, the corpus's splits, the hub path."""
import collections
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course_lib import data
from course_lib.data import choices, french_grammar, french_lexicon, french_surface

ROOT = Path(__file__).resolve().parents[1]


# =====================================================================================
# Words and vocabularies
# =====================================================================================
def test_tokenize_words_splits_elisions_possessives_and_punctuation():
    assert data.tokenize_words("L'homme n'aime pas qu'il pleure.") == [
        "L'", "homme", "n'", "aime", "pas", "qu'", "il", "pleure", "."]
    assert data.tokenize_words("J'ai de l'eau, d'accord?") == ["J'", "ai", "de", "l'", "eau", ",", "d'", "accord", "?"]
    assert data.tokenize_words("The boy's dog and the boys' cat.") == [
        "The", "boy", "'s", "dog", "and", "the", "boys", "'", "cat", "."]
    assert data.tokenize_words("Aujourd'hui, jusqu'à l’école.") == ["Aujourd'hui", ",", "jusqu'à", "l’", "école", "."]
    assert data.tokenize_words("Le Chat", lowercase=True) == ["le", "chat"]
    assert data.tokenize_words("") == []


def test_detokenize_words_inverts_tokenize_words():
    for text in ["L'homme n'aime pas qu'il pleure.", "The boy's dog and the boys' cat.",
                 "Nous buvons de l'eau à l'école.", "Le chien (le petit) dort."]:
        assert data.detokenize_words(data.tokenize_words(text)) == text
    for pair in data.translation_pairs(3000, seed=4):
        for text in pair.values():
            assert data.detokenize_words(data.tokenize_words(text)) == text


def test_vocabulary_specials_order_and_round_trip():
    texts = ["Le chat dort.", "Le chien dort.", "Le chat mange."]
    vocab = data.Vocabulary.build(texts)
    assert vocab.itos[:4] == ["<pad>", "<s>", "</s>", "<unk>"]
    assert (vocab.pad_id, vocab.bos_id, vocab.eos_id, vocab.unk_id) == (0, 1, 2, 3)
    assert vocab.itos[4:] == [".", "Le", "chat", "dort", "chien", "mange"]  # by count, then alphabetically
    assert len(vocab) == 10 and "chat" in vocab and "chats" not in vocab
    ids = vocab.encode("Le chat dort.", add_bos=True, add_eos=True)
    assert ids == [1, 5, 6, 7, 4, 2]
    assert vocab.decode(ids + [0, 0]) == "Le chat dort."
    assert vocab.decode(ids, detokenize=False) == ["Le", "chat", "dort", "."]
    assert vocab.decode([1, 5, 2, 6, 7]) == "Le"  # reading stops at </s>
    assert vocab.encode("Le lapin dort.") == [5, 3, 7, 4]  # unknown word -> <unk>
    assert vocab.encode(["Le", "chat"]) == [5, 6]
    assert vocab.token_to_id("lapin") == 3 and vocab.id_to_token(6) == "chat"


def test_vocabulary_min_count_and_lowercase():
    texts = ["Le chat dort.", "le chien dort."]
    assert "chat" not in data.Vocabulary.build(texts, min_count=2)
    assert "dort" in data.Vocabulary.build(texts, min_count=2)
    lower = data.Vocabulary.build(texts, lowercase=True)
    assert "Le" not in lower and lower.encode("LE CHAT") == [lower.token_to_id("le"), lower.token_to_id("chat")]
    with pytest.raises(ValueError):
        data.Vocabulary.build(texts, min_count=0)


def test_vocabulary_round_trips_the_corpus():
    pairs = data.translation_pairs(2000, seed=2)
    for lang in ("en", "fr"):
        vocab = data.Vocabulary.build(p[lang] for p in pairs)
        for p in pairs:
            ids = vocab.encode(p[lang], add_bos=True, add_eos=True)
            assert data.Vocabulary.UNK not in vocab.decode(ids, detokenize=False)
            assert vocab.decode(ids) == p[lang]


# =====================================================================================
# The grammar, on sentences chosen decision by decision
# =====================================================================================
def derive(*script):
    """The (English, French) sentence that the grammar builds when it makes these decisions.

    Decisions, in the order the grammar takes them: frame, verb, subject ("pronoun" +
    pronoun, or "np" + noun + modifier kind + the head's number, determiner, adjective
    kind and adjectives + the modifier's parts), negated, then the predicate adjective
    or the object's noun, number, determiner, adjective kind and adjectives, then
    whether a place follows and which.
    """
    script = list(script)

    def pick(options, weights=None):
        assert script, f"the script ran out; next options: {[getattr(o, 'en', o) for o in options]}"
        want = script.pop(0)
        for option in options:
            if option is want or (type(option) is type(want) and option == want) or getattr(option, "en", None) == want:
                return option
        raise AssertionError(f"{want!r} is not among the options {[getattr(o, 'en', o) for o in options]}")

    en, fr, _ = french_grammar.default_grammar().sentence(pick)
    assert not script, f"decisions left over: {script}"
    return french_surface.realise_sentence(en, fr)


SUBJECT_THE = ("none", "sg", "the", "none")  # no modifier, singular, "the", no adjective

CASES = [
    # gender and number agreement, adjective before or after the noun
    (("trans", "see", "pronoun", "he", False, "apple", "sg", "a", "pre", "small", False),
     "He sees a small apple.", "Il voit une petite pomme."),
    (("trans", "see", "pronoun", "he", False, "apple", "pl", "bare", "pre", "small", False),
     "He sees small apples.", "Il voit de petites pommes."),  # des -> de before an adjective
    (("trans", "see", "pronoun", "he", False, "apple", "pl", "bare", "post", "red", False),
     "He sees red apples.", "Il voit des pommes rouges."),
    (("trans", "see", "pronoun", "he", False, "car", "sg", "the", "both", "small", "red", False),
     "He sees the small red car.", "Il voit la petite voiture rouge."),
    (("trans", "see", "pronoun", "she", False, "horse", "pl", "the", "both", "beautiful", "white", False),
     "She sees the beautiful white horses.", "Elle voit les beaux chevaux blancs."),
    (("cop", "be", "np", "girl", "none", "pl", "the", "none", False, "happy"),
     "The girls are happy.", "Les filles sont heureuses."),
    (("cop", "be", "pronoun", "she", False, "old"), "She is old.", "Elle est vieille."),
    (("cop", "be", "pronoun", "they", True, "tired"), "They are not tired.", "Ils ne sont pas fatigués."),
    # bel, vieil, nouvel, cet, mon before a vowel; not in the plural nor after "is"
    (("intr", "sleep", "np", "man", "none", "sg", "a", "pre", "old", False, False),
     "An old man sleeps.", "Un vieil homme dort."),
    (("intr", "sleep", "np", "bird", "none", "sg", "this", "pre", "beautiful", False, False),
     "This beautiful bird sleeps.", "Ce bel oiseau dort."),
    (("intr", "sleep", "np", "bird", "none", "sg", "this", "none", False, False),
     "This bird sleeps.", "Cet oiseau dort."),
    (("trans", "buy", "pronoun", "I", False, "computer", "sg", "the", "pre", "new", False),
     "I buy the new computer.", "J'achète le nouvel ordinateur."),
    (("cop", "be", "np", "tree", "none", "pl", "this", "pre", "old", False, "beautiful"),
     "These old trees are beautiful.", "Ces vieux arbres sont beaux."),
    (("cop", "be", "np", "tree", *SUBJECT_THE, False, "old"), "The tree is old.", "L'arbre est vieux."),
    (("cop", "be", "np", "clock", "none", "sg", "poss:my", "none", False, "new"),
     "My clock is new.", "Mon horloge est nouvelle."),
    (("cop", "be", "np", "clock", "none", "sg", "poss:my", "pre", "old", False, "broken"),
     "My old clock is broken.", "Ma vieille horloge est cassée."),
    # subject-verb agreement, also across a phrase or a clause
    (("intr", "swim", "pronoun", "we", False, False), "We swim.", "Nous nageons."),
    (("trans", "throw", "pronoun", "we", False, "ball", "sg", "the", "none", False),
     "We throw the ball.", "Nous lançons le ballon."),
    (("intr", "run", "pronoun", "you all", False, False), "You all run.", "Vous courez."),
    (("trans", "eat", "np", "cat", "pp", "sg", "the", "pre", "small", "near", "dog", "pl", "the",
      False, "apple", "sg", "the", "none", False),
     "The small cat near the dogs eats the apple.", "Le petit chat près des chiens mange la pomme."),
    (("intr", "sleep", "np", "cat", "pp", "pl", "the", "none", "next to", "dog", "sg", "the", False, False),
     "The cats next to the dog sleep.", "Les chats à côté du chien dorment."),
    (("intr", "sleep", "np", "cat", "obj_rel", "sg", "the", "none", "see", "np", "dog", "pl", "the",
      False, False),
     "The cat that the dogs see sleeps.", "Le chat que les chiens voient dort."),
    (("intr", "sleep", "np", "cat", "subj_rel", "pl", "the", "none", "see", "dog", "sg", "the",
      False, False),
     "The cats that see the dog sleep.", "Les chats qui voient le chien dorment."),
    (("intr", "sleep", "np", "cat", "obj_rel", "sg", "the", "none", "see", "pronoun", "he", True, False),
     "The cat that he sees does not sleep.", "Le chat qu'il voit ne dort pas."),
    (("cop", "be", "np", "girl", "pp", "pl", "the", "none", "near", "boy", "sg", "the", False, "small"),
     "The girls near the boy are small.", "Les filles près du garçon sont petites."),
    (("intr", "sleep", "np", "dog", "possessor", "sg", "none", "boy", "pl", "the", False, False),
     "The boys' dog sleeps.", "Le chien des garçons dort."),
    (("intr", "sleep", "np", "dog", "possessor", "pl", "pre", "old", "actor", "sg", "a", False, False),
     "An actor's old dogs sleep.", "Les vieux chiens d'un acteur dorment."),
    (("intr", "sleep", "np", "mother", "possessor", "sg", "none", "child", "pl", "the", False, False),
     "The children's mother sleeps.", "La mère des enfants dort."),
    # negation: ne ... pas, and de for an indefinite or partitive direct object
    (("trans", "eat", "pronoun", "she", True, "apple", "sg", "a", "none", False),
     "She does not eat an apple.", "Elle ne mange pas de pomme."),
    (("trans", "drink", "pronoun", "I", True, "water", "sg", "bare", "none", False),
     "I do not drink water.", "Je ne bois pas d'eau."),
    (("trans", "see", "np", "boy", *SUBJECT_THE, True, "dog", "pl", "bare", "pre", "big", False),
     "The boy does not see big dogs.", "Le garçon ne voit pas de grands chiens."),
    (("trans", "have", "pronoun", "I", True, "book", "sg", "the", "none", False),
     "I do not have the book.", "Je n'ai pas le livre."),
    (("trans", "like", "pronoun", "you", True, "cat", "pl", "bare", "none", False),
     "You do not like cats.", "Tu n'aimes pas les chats."),  # generic: les, even after ne ... pas
    (("ind", "obey", "pronoun", "she", True, "king", "sg", "the", "none", False),
     "She does not obey the king.", "Elle n'obéit pas au roi."),  # à + le = au, no de after à
    (("cop", "be", "np", "car", *SUBJECT_THE, True, "red"), "The car is not red.", "La voiture n'est pas rouge."),
    # partitive articles, elision and contraction
    (("trans", "drink", "pronoun", "we", False, "water", "sg", "bare", "none", True, "at the school"),
     "We drink water at the school.", "Nous buvons de l'eau à l'école."),
    (("trans", "drink", "pronoun", "he", False, "milk", "sg", "bare", "post", "hot", True, "at the market"),
     "He drinks hot milk at the market.", "Il boit du lait chaud au marché."),
    (("trans", "eat", "pronoun", "they", False, "soup", "sg", "bare", "none", False),
     "They eat soup.", "Ils mangent de la soupe."),
    (("trans", "like", "pronoun", "you all", False, "bread", "sg", "bare", "none", False),
     "You all like bread.", "Vous aimez le pain."),
    (("ind", "speak to", "np", "girl", *SUBJECT_THE, False, "child", "pl", "the", "none", True, "at the park"),
     "The girl speaks to the children at the park.", "La fille parle aux enfants au parc."),
    (("ind", "answer", "np", "dog", *SUBJECT_THE, False, "man", "sg", "the", "none", False),
     None, None),  # "answer" takes people as subjects only: the script must fail
    (("ind", "answer", "pronoun", "I", False, "man", "sg", "the", "none", False),
     "I answer the man.", "Je réponds à l'homme."),
    (("trans", "open", "pronoun", "I", False, "window", "sg", "the", "none", True, "in the kitchen"),
     "I open the window in the kitchen.", "J'ouvre la fenêtre dans la cuisine."),
    (("intr", "sleep", "np", "cat", "pp", "sg", "the", "none", "near", "dog", "pl", "bare", False, False),
     "The cat near dogs sleeps.", "Le chat près de chiens dort."),  # de + des -> de
    (("intr", "sleep", "np", "cat", "pp", "sg", "the", "none", "far from", "elephant", "sg", "a", False, False),
     "The cat far from an elephant sleeps.", "Le chat loin d'un éléphant dort."),
    (("cop", "be", "np", "orange", "none", "sg", "poss:her", "none", False, "sweet"),
     "Her orange is sweet.", "Son orange est sucrée."),
    (("trans", "watch", "np", "uncle", "none", "sg", "poss:his", "none", False, "actress", "sg", "the", "none",
      False),
     "His uncle watches the actress.", "Son oncle regarde l'actrice."),
]


@pytest.mark.parametrize("script, en, fr", CASES, ids=[c[1] or "impossible" for c in CASES])
def test_grammar_builds_correct_french(script, en, fr):
    if en is None:
        with pytest.raises(AssertionError, match="is not among the options"):
            derive(*script)
        return
    assert derive(*script) == (en, fr)


# =====================================================================================
# The grammar, on samples
# =====================================================================================
@pytest.fixture(scope="module")
def sample():
    return data.translation_pairs(20000, seed=1)


def test_every_phenomenon_occurs_often_in_a_sample(sample):
    french = " ".join(p["fr"] for p in sample)
    english = " ".join(p["en"] for p in sample)
    patterns = {
        r"\bau\b": 300, r"\baux\b": 100, r"\bdu\b": 200, r"\bl'": 1000, r"\bd'": 200, r"\bn'": 300,
        r"\b[Jj]'": 30, r"\bqu'": 50, r"\bne \w+ pas\b": 1000, r"\bpas d[e']": 300, r"\bbel\b": 30,
        r"\bvieil\b": 30, r"\bnouvel\b": 3, r"\b[Cc]et\b": 30, r"\bde (petit|grand|beau|joli|jeune|vieu|nouv|bon|mauv)": 50,
        r"\b(qui|que|qu')\b": 500, r"\bde l'eau\b": 5, r"\bde la\b": 50,
    }
    for pattern, at_least in patterns.items():
        assert len(re.findall(pattern, french)) >= at_least, pattern
    for pattern, at_least in {r"\ban\b": 200, r"'s\b": 200, r"s' ": 50, r"\bdoes not\b": 500, r"\bdo not\b": 300,
                              r"\bthat\b": 500}.items():
        assert len(re.findall(pattern, english)) >= at_least, pattern


def test_french_has_no_missing_elision_or_contraction(sample):
    vowel = "[aeiouyàâéèêëîïôöûœh]"
    forbidden = [
        rf"\b(le|la|de|ne|je|que|me|te|se) {vowel}",  # l'arbre, d'eau, n'aime, j'aime, qu'il
        r"\bà (le|les)\b", r"\bde (le|les|des)\b",  # au, aux, du, des, de chiens
        rf"\bce {vowel}", rf"\b(ma|ta|sa) {vowel}",  # cet arbre, mon école
        rf"\b(beau|nouveau) {vowel}", r"\bdes (petit|grand|beau|joli|jeune|vieu|nouv|bon|mauv)",
        r"\bpas (un|une|des|du)\b",  # il ne mange pas de pomme
    ]
    for pair in sample:
        fr = pair["fr"].lower()
        for pattern in forbidden:
            assert not re.search(pattern, fr), (pattern, pair)
        assert not re.search(r"\b(bel|vieil|nouvel|cet) [^aeiouyéèêhœ]", fr), pair
        if " pas" in fr:
            assert re.search(r"\b(ne |n')\S+ pas\b", fr), pair
        assert not re.search(r"\ba [aeiou]", pair["en"].lower()), pair
        assert not re.search(r"\ban [^aeiou]", pair["en"].lower()), pair
        assert pair["en"][0].isupper() and pair["fr"][0].isupper()
        assert pair["en"].endswith(".") and pair["fr"].endswith(".")


def test_english_determines_the_french():
    seen = {}
    stream = french_grammar.sample_pairs(7)  # with repeats, unlike translation_pairs
    for _ in range(20000):
        en, fr, _ = next(stream)
        assert seen.setdefault(en, fr) == fr, (en, seen[en], fr)
    assert len(seen) < 20000


def test_sentences_are_short_enough_for_a_small_transformer(sample):
    lengths = [len(data.tokenize_words(p[lang])) for p in sample for lang in ("en", "fr")]
    assert max(lengths) <= 22
    assert 6 <= sum(lengths) / len(lengths) <= 11


def test_lexicon_is_consistent():
    lex = french_lexicon.Lexicon()
    for verb in lex.verbs:
        assert len(verb.fr) == 6 and all(verb.fr), verb.en
    assert french_lexicon.er_present("mang")[3] == "mangeons" and french_lexicon.er_present("nag")[3] == "nageons"
    for noun in lex.nouns:
        assert (noun.en_pl is None) == (noun.fr_pl is None), noun.en
        assert noun.gender in ("m", "f")
    # every French word starting with h is h muet (l'homme, l'hôpital), so elision applies
    french_words = {w for n in lex.nouns for w in (n.fr, n.fr_pl) if w} | {p.fr[-1] for p in lex.places}
    assert {w for w in french_words if w.startswith("h")} <= {"homme", "hommes", "horloge", "horloges", "hôpital"}
    # "an" before a vowel letter is right for every English word of the lexicon (no "hour", no "unicorn")
    english_words = {n.en for n in lex.nouns} | {a.en for a in lex.adjectives}
    assert not any(w.startswith(("u", "eu", "one", "hour", "hon", "heir")) and w not in {"uncle", "umbrella"}
                   for w in english_words)
    # English plural and singular always differ, so the English says the number
    assert all(n.en != n.en_pl for n in lex.nouns)


def test_count_equals_full_enumeration_on_a_small_lexicon():
    tiny = french_lexicon.Lexicon().subset(
        nouns=["aunt", "bird", "milk"], adjectives=["old", "hot"], verbs=["drink", "obey", "sleep", "be"],
        pronouns=["I", "they"], prepositions=["next to"], places=["at the market"], possessives=[],
    )
    grammar = french_grammar.Grammar(tiny)
    pairs = {}
    paths = 0
    for en, fr, _ in choices.enumerate_derivations(grammar.sentence):
        paths += 1
        e, f = french_surface.realise_sentence(en, fr)
        assert pairs.setdefault(e, f) == f, e  # one French sentence per English sentence
    assert paths == len(pairs) == grammar.count() == 25286
    sampled = {french_surface.realise_sentence(e, f)[0] for e, f, _ in
               (grammar.sentence(choices.Sampler(s)) for s in range(300))}
    assert sampled <= set(pairs)
    assert pairs["The aunt next to the birds does not drink hot milk at the market."] == \
        "La tante à côté des oiseaux ne boit pas de lait chaud au marché."
    assert pairs["The milk that the birds drink is not hot."] == "Le lait que les oiseaux boivent n'est pas chaud."
    assert pairs["They do not obey the old aunt."] == "Ils n'obéissent pas à la vieille tante."


COUNT = 2_147_114_105_676_604  # distinct pairs the full grammar makes (see the notes of lesson 06)


def test_count_of_the_full_grammar():
    assert data.translation_pair_count() == COUNT


# =====================================================================================
# translation_pairs and translation_splits
# =====================================================================================
def test_translation_pairs_are_deterministic_distinct_and_seeded():
    a = data.translation_pairs(3000, seed=3)
    assert a == data.translation_pairs(3000, seed=3)
    assert a[:100] == data.translation_pairs(100, seed=3)
    assert len({p["en"] for p in a}) == 3000
    assert all(set(p) == {"en", "fr"} for p in a)
    assert a[:50] != data.translation_pairs(50, seed=4)
    assert data.translation_pairs(0) == []
    with pytest.raises(ValueError):
        data.translation_pairs(-1)


def test_translation_pairs_do_not_depend_on_the_hash_seed():
    code = ("import hashlib; from course_lib import data; "
            "print(hashlib.sha256(repr(data.translation_splits(300, 50, 50, seed=2)).encode()).hexdigest())")
    digests = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
        digests.add(out.stdout.strip())
    assert len(digests) == 1


@pytest.fixture(scope="module")
def splits():
    return data.translation_splits(with_combinations=True)


def test_splits_have_the_documented_layout_and_sizes(splits):
    assert list(splits) == ["train", "valid", "test"]
    assert [len(splits[k]) for k in splits] == [12000, 1000, 1000]
    for name, rows in splits.items():
        assert [r["id"] for r in rows] == [f"{name}-{i}" for i in range(len(rows))]
        assert all(set(r) == {"id", "en", "fr", "combinations"} for r in rows)
    plain = data.translation_splits(200, 20, 20)
    assert all(set(r) == {"id", "en", "fr"} for rows in plain.values() for r in rows)
    # the test split depends on the seed and n_test only; a smaller n_test gives a prefix
    assert [r["en"] for r in plain["test"]] == [r["en"] for r in splits["test"][:20]]
    # rows are fresh dicts on every call (the corpus behind them is cached)
    plain["train"][0]["en"] = "changed"
    assert data.translation_splits(200, 20, 20)["train"][0]["en"] != "changed"


def test_no_sentence_is_in_two_splits(splits):
    sentences = [r["en"] for rows in splits.values() for r in rows]
    assert len(sentences) == len(set(sentences))


def test_test_split_holds_out_combinations_of_words_seen_in_training(splits):
    held_out = set(data.HELD_OUT_COMBINATIONS)
    train_combos = set()
    for split in ("train", "valid"):
        for r in splits[split]:
            assert held_out.isdisjoint(r["combinations"]), r
            train_combos.update(r["combinations"])
    test_held_out = collections.Counter()
    for r in splits["test"]:
        hits = held_out.intersection(r["combinations"])
        assert hits, r
        test_held_out.update(hits)
        assert not hits & train_combos
    assert set(test_held_out) == held_out  # every held-out combination is tested
    assert min(test_held_out.values()) >= 15
    # ... and every word of every test sentence occurs in training, in both languages
    for lang in ("en", "fr"):
        train_words = {w for r in splits["train"] for w in data.tokenize_words(r[lang])}
        test_words = {w for r in splits["test"] for w in data.tokenize_words(r[lang])}
        assert test_words <= train_words, test_words - train_words
    # each held-out combination is made of words that training has seen in other combinations
    for combo in held_out:
        kind, rest = combo.split(":")
        first, noun = rest.split("+")
        assert any(c.startswith(f"{kind}:{first}+") for c in train_combos), combo
        assert any(c.endswith(f"+{noun}") for c in train_combos), combo


def test_held_out_combinations_can_be_produced_by_the_grammar():
    grammar = french_grammar.default_grammar()
    nouns = {n.en: n for n in grammar.lex.nouns}
    verbs = {v.en: v for v in grammar.lex.verbs}
    for combo in data.HELD_OUT_COMBINATIONS:
        kind, rest = combo.split(":")
        first, noun = rest.split("+")
        if kind == "adj":
            pre, post, _ = grammar.adjectives_of(nouns[noun])
            assert first in {a.en for a in pre + post}, combo
        else:
            assert nouns[noun] in grammar.nouns_with(verbs[first].object), combo


def test_split_arguments_are_checked():
    with pytest.raises(ValueError, match="source"):
        data.translation_splits(10, 1, 1, source="web")
    with pytest.raises(ValueError, match="n_valid"):
        data.translation_splits(10, -1, 1)
    with pytest.raises(ValueError, match="with_combinations"):
        data.translation_splits(10, 1, 1, source="hub", with_combinations=True)


def test_importing_and_using_the_embedded_corpus_does_not_import_datasets():
    code = ("import sys; from course_lib import data; data.translation_splits(50, 5, 5); "
            "assert 'datasets' not in sys.modules, 'datasets was imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


# =====================================================================================
# source="hub", against a local copy laid out as the hub lays out opus_books
# =====================================================================================
HUB_CARD = """---
language:
- en
- fr
configs:
- config_name: en-fr
  data_files:
  - split: train
    path: en-fr/train-*
dataset_info:
- config_name: en-fr
  features:
  - name: id
    dtype: string
  - name: translation
    dtype:
      translation:
        languages:
        - en
        - fr
---
# A local stand-in for Helsinki-NLP/opus_books (config en-fr), written by the test
"""


def _make_hub_fixture(root: Path, n: int = 60) -> Path:
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"id": datasets.Value("string"),
                                  "translation": datasets.Translation(languages=["en", "fr"])})
    rows = {"id": [str(i) for i in range(n)],
            "translation": [{"en": f"Sentence number {i}.", "fr": f"Phrase numéro {i}."} for i in range(n)]}
    (root / "en-fr").mkdir(parents=True)
    datasets.Dataset.from_dict(rows, features=features).to_parquet(str(root / "en-fr" / "train-00000-of-00001.parquet"))
    (root / "README.md").write_text(HUB_CARD, encoding="utf-8")
    return root


@pytest.fixture
def offline(monkeypatch):
    """datasets and huggingface_hub in offline mode: any attempt to reach the hub fails at once."""
    datasets = pytest.importorskip("datasets")
    import huggingface_hub.constants

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)


def test_hub_source_loads_a_hub_layout_through_load_dataset(tmp_path, offline):
    repo = _make_hub_fixture(tmp_path / "opus_books")
    kwargs = dict(source="hub", path=str(repo), name="en-fr", cache_dir=str(tmp_path / "cache"))
    splits = data.translation_splits(30, 10, 10, seed=0, **kwargs)
    assert [len(splits[k]) for k in ("train", "valid", "test")] == [30, 10, 10]
    ids = [r["id"] for rows in splits.values() for r in rows]
    assert len(set(ids)) == 50  # valid and test are carved out of train, disjoint from it
    for rows in splits.values():
        for r in rows:
            assert set(r) == {"id", "en", "fr"}
            assert r["en"] == f"Sentence number {r['id']}." and r["fr"] == f"Phrase numéro {r['id']}."
    assert splits == data.translation_splits(30, 10, 10, seed=0, **kwargs)
    assert splits != data.translation_splits(30, 10, 10, seed=1, **kwargs)
    with pytest.raises(ValueError, match="rows left"):
        data.translation_splits(55, 10, 10, seed=0, **kwargs)


def test_hub_source_uses_the_datasets_own_validation_and_test_splits(tmp_path, offline):
    datasets = pytest.importorskip("datasets")
    root = tmp_path / "flat"
    root.mkdir()
    for split, n in (("train", 20), ("validation", 8), ("test", 6)):
        datasets.Dataset.from_dict({"en": [f"{split} {i}" for i in range(n)], "fr": [f"{split} fr {i}" for i in range(n)]}) \
            .to_json(str(root / f"{split}.jsonl"))
    splits = data.translation_splits(10, 8, 6, source="hub", path=str(root), name=None, cache_dir=str(tmp_path / "c"))
    assert {r["en"].split()[0] for r in splits["valid"]} == {"validation"}
    assert {r["en"].split()[0] for r in splits["test"]} == {"test"}
    assert {r["en"].split()[0] for r in splits["train"]} == {"train"}
    assert all(r["id"].startswith(("train-", "validation-", "test-")) for rows in splits.values() for r in rows)
