"""Corpus BLEU against sacrebleu's, and its parts on hand-worked examples."""
import math
import random

import pytest
import sacrebleu
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from course_lib import bleu, data


def sacre(hyps, refs):
    return sacrebleu.corpus_bleu(hyps, [refs]).score


# ---------------------------------------------------------------------- the parts
def test_tokenize_13a_keeps_elisions_and_splits_punctuation():
    assert bleu.tokenize_13a("L'homme n'aime pas le chien.") == ["L'homme", "n'aime", "pas", "le", "chien", "."]
    assert bleu.tokenize_13a("Il a 3,5 kg, pas 4.") == ["Il", "a", "3,5", "kg", ",", "pas", "4", "."]
    assert bleu.tokenize_13a("&quot;Oui&quot; (dit-il) : 10-12 &amp; plus!") == [
        '"', "Oui", '"', "(", "dit-il", ")", ":", "10", "-", "12", "&", "plus", "!"]


def test_tokenize_13a_matches_sacrebleu_on_random_and_corpus_text():
    rng = random.Random(0)
    alphabet = "abcAB éàœ' -.,;:!?\"()[]{}<>&/\\@#$%^*+=_|~`0123456789\n\t"
    pieces = ["&quot;", "&amp;", "&lt;", "&gt;", "<skipped>", "-\n", "l'", "3.5", "1,000", "a-b", "7-"]
    lines = ["", " ", "  lead and trail  "]
    for _ in range(2000):
        parts = [rng.choice(pieces) if rng.random() < 0.15 else rng.choice(alphabet) for _ in range(rng.randint(0, 40))]
        lines.append("".join(parts))
    for pair in data.translation_pairs(300, seed=5):
        lines += [pair["en"], pair["fr"]]
    reference = Tokenizer13a()
    for line in lines:
        assert bleu.tokenize_13a(line) == reference(line).split(), repr(line)


def test_ngram_counts_counts_each_tuple_of_consecutive_tokens():
    tokens = "the cat sat on the cat".split()
    assert bleu.ngram_counts(tokens, 1) == {("the",): 2, ("cat",): 2, ("sat",): 1, ("on",): 1}
    assert bleu.ngram_counts(tokens, 2)[("the", "cat")] == 2
    assert sum(bleu.ngram_counts(tokens, 4).values()) == 3
    assert bleu.ngram_counts(tokens, 7) == {}
    assert bleu.ngram_counts([], 1) == {}
    with pytest.raises(ValueError):
        bleu.ngram_counts(tokens, 0)


def test_modified_precision_clips_counts_to_the_reference():
    # Papineni et al. (2002), section 2.1: "the" x 7 against "the cat is on the mat"
    hyp, ref = "the the the the the the the".split(), "the cat is on the mat".split()
    assert bleu.modified_precision(hyp, ref, 1) == (2, 7)
    assert bleu.modified_precision(hyp, ref, 2) == (0, 6)
    hyp = "the cat the cat on the mat".split()
    assert bleu.modified_precision(hyp, "the cat is on the mat".split(), 2) == (3, 6)
    assert bleu.modified_precision([], ref, 1) == (0, 0)
    assert bleu.modified_precision(["a", "b"], ["a", "b"], 3) == (0, 0)


def test_brevity_penalty_only_punishes_short_output():
    assert bleu.brevity_penalty(10, 10) == 1.0
    assert bleu.brevity_penalty(12, 10) == 1.0
    assert bleu.brevity_penalty(5, 10) == pytest.approx(math.exp(1 - 10 / 5))
    assert bleu.brevity_penalty(0, 10) == 0.0
    assert bleu.brevity_penalty(0, 0) == 1.0


# ---------------------------------------------------------------------- corpus BLEU = sacrebleu
WORDS = ["le", "la", "chat", "chien", "mange", "voit", "l'homme", "n'aime", "pas", "de", "pommes", ".", ",",
         "Le", "petit", "rouge", "au", "marché", "3.5", "(", ")", "!"]


def _random_sentence(rng, vocab, max_len):
    tokens = [rng.choice(vocab) for _ in range(rng.randint(0, max_len))]
    return " ".join(tokens)


def _perturb(rng, sentence):
    tokens = sentence.split()
    for _ in range(rng.randint(0, 4)):
        op = rng.random()
        if op < 0.3 and tokens:
            del tokens[rng.randrange(len(tokens))]
        elif op < 0.6:
            tokens.insert(rng.randint(0, len(tokens)), rng.choice(WORDS))
        elif tokens:
            tokens[rng.randrange(len(tokens))] = rng.choice(WORDS)
    return " ".join(tokens)


@pytest.mark.parametrize("seed", range(40))
def test_corpus_bleu_matches_sacrebleu_on_random_corpora(seed):
    rng = random.Random(seed)
    for _ in range(25):
        n = rng.randint(1, 8)
        vocab = rng.sample(WORDS, rng.randint(2, len(WORDS)))
        refs = [_random_sentence(rng, vocab, rng.choice([3, 8, 15])) for _ in range(n)]
        style = rng.random()
        if style < 0.4:  # noisy copies of the references
            hyps = [_perturb(rng, r) for r in refs]
        elif style < 0.6:  # short output: brevity penalty, often no 3- or 4-grams at all
            hyps = [" ".join(r.split()[: rng.randint(0, 3)]) for r in refs]
        elif style < 0.7:  # some empty hypotheses
            hyps = [_perturb(rng, r) if rng.random() < 0.5 else "" for r in refs]
        else:  # unrelated sentences: few unigram matches, often no higher-order ones
            hyps = [_random_sentence(rng, vocab, 10) for _ in refs]
        assert bleu.corpus_bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=1e-6), (hyps, refs)


@pytest.mark.parametrize(
    "hyps, refs",
    [
        (["Le chat mange la pomme."], ["Le chat mange la pomme."]),  # perfect: 100
        ([""], ["Le chat mange."]),  # empty hypothesis
        (["", ""], ["", ""]),  # nothing at all
        (["", "Le chat mange la pomme."], ["Le chien dort.", "Le chat mange la pomme."]),
        (["Le chat"], ["Le chat mange la pomme."]),  # too short for 3- and 4-grams
        (["chat le mange pomme la"], ["le chat mange la pomme"]),  # unigrams only: smoothing
        (["le chat mange pomme la"], ["le chat mange la pomme"]),  # no 4-gram match
        (["le chat mange la souris"], ["le chat mange la pomme"]),  # every order matches
        (["la la la la la la la"], ["le chat est sur la table"]),
        (["Le chat mange.   "], ["Le chat mange."]),  # trailing space is ignored
        (["le chat mange."], ["Le chat mange."]),  # case matters
        (["a b c d e f g h i j"], ["a b c"]),  # longer than the reference: no penalty
        (["x y z"], ["a b c d e"]),  # no match at all
    ],
)
def test_corpus_bleu_matches_sacrebleu_on_edge_cases(hyps, refs):
    assert bleu.corpus_bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=1e-6)


def test_corpus_bleu_on_translations_of_the_course_corpus():
    rng = random.Random(1)
    pairs = data.translation_pairs(400, seed=9)
    refs = [p["fr"] for p in pairs]
    for noise in (0.0, 0.3, 1.0):
        hyps = [_perturb(rng, r) if rng.random() < noise else r for r in refs]
        assert bleu.corpus_bleu(hyps, refs) == pytest.approx(sacre(hyps, refs), abs=1e-6)
    assert bleu.corpus_bleu(refs, refs) == pytest.approx(100.0)


def test_corpus_bleu_is_a_corpus_statistic_not_a_mean_of_sentence_scores():
    hyps, refs = ["le chat mange la pomme", "le"], ["le chat mange la pomme", "le chien"]
    stats = bleu.bleu_statistics(hyps, refs)
    assert stats.matches == [6, 4, 3, 2] and stats.totals == [6, 4, 3, 2]
    assert (stats.hyp_len, stats.ref_len) == (6, 7)
    assert bleu.corpus_bleu(hyps, refs) == pytest.approx(100 * math.exp(1 - 7 / 6))
    assert stats.precisions == [100.0] * 4
    assert bleu.bleu_from_statistics(stats) == pytest.approx(sacre(hyps, refs), abs=1e-9)


def test_corpus_bleu_rejects_bad_input_with_a_clear_message():
    with pytest.raises(ValueError, match="one reference per hypothesis; got 2 hypotheses and 1 references"):
        bleu.corpus_bleu(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="at least one sentence"):
        bleu.corpus_bleu([], [])
    with pytest.raises(TypeError, match="list of strings"):
        bleu.corpus_bleu("a b", "a b")
    with pytest.raises(TypeError, match=r"`hypotheses\[1\]` must be a string"):
        bleu.corpus_bleu(["a", None], ["a", "b"])


# ---------------------------------------------------------------------- several references
def test_multi_reference_precision_clips_to_the_most_generous_single_reference():
    # Papineni et al. (2002), section 2.1: "the" x 7 against two references with 2 and 1 "the"
    hyp = "the the the the the the the".split()
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    assert bleu.multi_reference_precision(hyp, refs, 1) == (2, 7)
    # the max is taken per n-gram: "a" from the first reference, "b" from the second
    assert bleu.multi_reference_precision("a a b b".split(), ["a a b".split(), "a b b".split()], 1) == (4, 4)
    assert bleu.multi_reference_precision("a b".split(), [], 1) == (0, 2)
    assert bleu.multi_reference_precision(hyp, refs[:1], 1) == bleu.modified_precision(hyp, refs[0], 1)


def test_closest_reference_length_prefers_the_shorter_on_a_tie():
    assert bleu.closest_reference_length(5, [3, 7, 9]) == 3  # 3 and 7 both 2 away
    assert bleu.closest_reference_length(5, [7, 3]) == 3
    assert bleu.closest_reference_length(8, [3, 7, 9]) == 7
    assert bleu.closest_reference_length(0, [4, 2]) == 2
    with pytest.raises(ValueError, match="at least one reference length"):
        bleu.closest_reference_length(3, [])


def test_corpus_bleu_with_several_references_matches_sacrebleus_published_example():
    # sacrebleu's README: two reference streams, BLEU 48.53
    hyps = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]
    refs = [["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
            ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."]]
    assert round(bleu.corpus_bleu(hyps, refs), 2) == 48.53
    assert bleu.corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-6)
    assert bleu.corpus_bleu(hyps, tuple(refs)) == bleu.corpus_bleu(hyps, refs)
    # one stream in sacrebleu's layout is the same as the flat list
    assert bleu.corpus_bleu(hyps, [refs[0]]) == bleu.corpus_bleu(hyps, refs[0]) == pytest.approx(sacre(hyps, refs[0]))


def test_several_references_use_the_closest_length_and_the_largest_counts():
    hyps, refs = ["a b c d e"], [["a b c"], ["a b c d e f g"], ["a b c d e f g"]]  # lengths 3 and 7: tie, take 3
    stats = bleu.bleu_statistics(hyps, refs)
    assert (stats.hyp_len, stats.ref_len) == (5, 3)
    assert stats.matches == [5, 4, 3, 2] and stats.totals == [5, 4, 3, 2]
    assert bleu.corpus_bleu(hyps, refs) == pytest.approx(100.0)
    assert bleu.corpus_bleu(hyps, refs) == pytest.approx(sacrebleu.corpus_bleu(hyps, refs).score, abs=1e-6)


@pytest.mark.parametrize("seed", range(20))
def test_corpus_bleu_matches_sacrebleu_with_several_references(seed):
    rng = random.Random(100 + seed)
    for _ in range(10):
        n, num_refs = rng.randint(1, 8), rng.randint(2, 4)
        vocab = rng.sample(WORDS, rng.randint(2, len(WORDS)))
        sources = [_random_sentence(rng, vocab, rng.choice([3, 8, 15])) for _ in range(n)]
        streams = [[_perturb(rng, s) if rng.random() < 0.8 else _random_sentence(rng, vocab, 12) for s in sources]
                   for _ in range(num_refs)]
        style = rng.random()
        if style < 0.5:  # noisy translations
            hyps = [_perturb(rng, s) for s in sources]
        elif style < 0.7:  # short output: brevity penalty against the closest reference
            hyps = [" ".join(s.split()[: rng.randint(0, 3)]) for s in sources]
        elif style < 0.8:  # some empty hypotheses
            hyps = [_perturb(rng, s) if rng.random() < 0.5 else "" for s in sources]
        else:
            hyps = [_random_sentence(rng, vocab, 10) for _ in sources]
        expected = sacrebleu.corpus_bleu(hyps, streams).score
        assert bleu.corpus_bleu(hyps, streams) == pytest.approx(expected, abs=1e-6), (hyps, streams)


def test_several_references_reject_bad_input_with_a_clear_message():
    hyps = ["a b", "c d", "e f"]
    with pytest.raises(ValueError, match=r"`references` is empty; pass one reference string per hypothesis"):
        bleu.corpus_bleu(hyps, [])
    with pytest.raises(ValueError, match=r"`references\[1\]` has 2 sentences but there are 3 hypotheses"):
        bleu.corpus_bleu(hyps, [["a", "b", "c"], ["a", "b"]])
    with pytest.raises(ValueError, match=r"transpose them into streams with list\(zip\(\*references\)\)"):
        bleu.corpus_bleu(hyps, [["a b", "a c"], ["c d", "c e"], ["e f", "e g"]])
    with pytest.raises(TypeError, match=r"only strings .* or only lists of strings"):
        bleu.corpus_bleu(hyps, ["a b", ["c d"], "e f"])
    with pytest.raises(TypeError, match=r"`references\[1\]\[2\]` must be a string"):
        bleu.corpus_bleu(hyps, [["a", "b", "c"], ["a", "b", None]])
    with pytest.raises(ValueError, match="at least one sentence"):
        bleu.corpus_bleu([], [[], []])
