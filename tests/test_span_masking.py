"""Tests of course_lib.span_masking: the truncated geometric against scipy's geometric (renormalised,
mean 3.8, not the 4.46 of clipping), draws against the exact pmf (chi-square, with a check that the
test rejects the clipped distribution), spans of whole WordPiece words on the course corpus, the
15% budget counted in tokens, specials and padding never masked, 80/10/10 decided per span, and
the errors a learner meets."""

from __future__ import annotations

import functools

import pytest
import torch
from scipy import stats

from course_lib import mini_bert as mb
from course_lib import span_masking as sm
from course_lib.pretraining import IGNORE_INDEX
from course_lib.span_masking import (
    continuation_table,
    sample_span_lengths,
    sample_spans,
    span_length_mean,
    span_length_pmf,
    span_mask_tokens,
    word_starts,
)

MASK = 4
# SpanBERT's length distribution, computed here from scipy's geometric: the reference for every draw
PMF = torch.tensor([stats.geom.pmf(k, 0.2) / stats.geom.cdf(10, 0.2) for k in range(1, 11)], dtype=torch.float64)
MEAN = float((PMF * torch.arange(1, 11)).sum())
SD = float((PMF * (torch.arange(1, 11) - MEAN) ** 2).sum().sqrt())


@pytest.fixture(scope="module")
def tokenizer():
    return mb.train_vocabulary(400)  # small: many words of the corpus come in several ## pieces


@pytest.fixture(scope="module")
def batch(tokenizer):
    rows = mb.pretraining_dataset(tokenizer, "validation", n_documents=60)[:200]
    return {key: torch.tensor(rows[key]) for key in ("input_ids", "special_tokens_mask", "attention_mask")}


def words_of(row_ids: list[int], row_special: list[int], table: torch.Tensor) -> list[tuple[int, int]]:
    """Words as (start, end) ranges, computed here from the ## prefix alone."""
    words = []
    for i, (token, special) in enumerate(zip(row_ids, row_special)):
        if special:
            continue
        if table[token] and words and words[-1][1] == i:
            words[-1] = (words[-1][0], i + 1)
        else:
            words.append((i, i + 1))
    return words


# --- the distribution ---------------------------------------------------------------------------


@pytest.mark.parametrize("p, top", [(0.2, 10), (0.5, 4), (0.05, 30), (0.9, 3)])
def test_pmf_is_scipys_geometric_truncated_and_renormalised(p, top):
    lengths = range(1, top + 1)
    expected = torch.tensor([stats.geom.pmf(k, p) / stats.geom.cdf(top, p) for k in lengths], dtype=torch.float64)
    torch.testing.assert_close(span_length_pmf(p, top), expected, rtol=1e-12, atol=1e-15)
    assert span_length_mean(p, top) == pytest.approx(float((expected * torch.arange(1, top + 1)).sum()), rel=1e-12)


def test_spanbert_mean_is_3_8_not_the_4_46_of_clipping():
    assert span_length_mean() == pytest.approx(3.797, abs=5e-4)  # "mean(l) = 3.8", Joshi et al. 2020, section 3.1
    clipped = sum(k * stats.geom.pmf(k, 0.2) for k in range(1, 10)) + 10 * stats.geom.sf(9, 0.2)
    assert clipped == pytest.approx(4.463, abs=5e-4)
    assert span_length_pmf()[-1] == pytest.approx(stats.geom.pmf(10, 0.2) / stats.geom.cdf(10, 0.2))


def test_draws_follow_the_exact_pmf():
    n, pmf = 20_000, PMF
    draws = sample_span_lengths(n, torch.Generator().manual_seed(0))
    assert draws.dtype == torch.long and draws.shape == (n,) and draws.min() >= 1 and draws.max() <= 10
    counts = torch.bincount(draws - 1, minlength=10).double()
    assert stats.chisquare(counts.numpy(), (n * pmf).numpy()).pvalue > 1e-3
    assert abs(float(draws.double().mean()) - MEAN) < 4 * SD / n**0.5
    # the same test rejects the clipped distribution (a geometric with draws above 10 set to 10)
    clipped = torch.distributions.Geometric(probs=0.2).sample((n,)).long().add(1).clamp(max=10)
    clipped_counts = torch.bincount(clipped - 1, minlength=10).double()
    assert stats.chisquare(clipped_counts.numpy(), (n * pmf).numpy()).pvalue < 1e-6


def test_spans_take_their_length_from_the_sampler_in_words(monkeypatch, tokenizer, batch):
    lengths = []

    def three(n, generator, p, max_length):
        lengths.append((n, p, max_length))
        return torch.full((n,), 3, dtype=torch.long)

    monkeypatch.setattr(sm, "sample_span_lengths", three)
    table = continuation_table(tokenizer)
    ids, special = batch["input_ids"][:50], batch["special_tokens_mask"][:50]
    spans = sample_spans(ids, special, torch.Generator().manual_seed(0), is_continuation=table)
    assert lengths and all(call == (1, 0.2, 10) for call in lengths)
    assert len(lengths) == sum(map(len, spans))  # one length per span
    for row, row_spans in enumerate(spans):
        starts = [start for start, _ in words_of(ids[row].tolist(), special[row].tolist(), table)]
        for start, end in row_spans:
            n_words = sum(start <= s < end for s in starts)
            assert 1 <= n_words <= 3  # 3 words unless cut by the budget, a [SEP] or another span


def test_empirical_mean_span_length_on_a_long_row():
    # single-token words, 2% masked: few spans are cut short by the budget or by a neighbour
    ids = torch.randint(5, 1000, (8, 20_000), generator=torch.Generator().manual_seed(1))
    special = torch.zeros_like(ids)
    special[:, [0, -1]] = 1
    spans = sample_spans(ids, special, torch.Generator().manual_seed(2), 0.02)
    lengths = torch.tensor([end - start for row in spans for start, end in row], dtype=torch.float64)
    # cuts only make spans shorter: allow 4 standard errors above the mean, and 4 plus 0.15 below
    # (about 1 span in 100 is cut by its row's budget, a few in 100 by a neighbour; measured: 3.77)
    se = SD / len(lengths) ** 0.5
    assert MEAN - 4 * se - 0.15 < float(lengths.mean()) < MEAN + 4 * se


# --- words, budget, specials --------------------------------------------------------------------


def test_continuation_table_marks_the_hash_pieces(tokenizer):
    table = continuation_table(tokenizer)
    assert table.dtype == torch.bool and table.shape == (len(tokenizer),)
    assert table.tolist() == [t.startswith("##") for t in tokenizer.ids_to_tokens]
    assert torch.equal(continuation_table(tokenizer.ids_to_tokens), table)


def test_word_starts(tokenizer):
    ids = torch.tensor([[2, 10, 11, 11, 3, 11, 10, 3, 0]])
    table = torch.zeros(20, dtype=torch.bool)
    table[11] = True  # id 11 is a ## piece
    special = torch.tensor([[1, 0, 0, 0, 1, 0, 0, 1, 1]])
    assert word_starts(ids, special, table).tolist() == [[False, True, False, False, False, True, True, False, False]]


def test_spans_are_whole_words_and_meet_the_token_budget(tokenizer, batch):
    table = continuation_table(tokenizer)
    ids, special = batch["input_ids"], batch["special_tokens_mask"]
    assert table[ids].float().mean() > 0.2  # the test data really has words in pieces
    inputs, labels = span_mask_tokens(ids, special, len(tokenizer), MASK, torch.Generator().manual_seed(0),
                                      is_continuation=table)
    masked = labels != IGNORE_INDEX
    total_masked, total_maskable = 0, 0
    for row in range(len(ids)):
        words = words_of(ids[row].tolist(), special[row].tolist(), table)
        for start, end in words:  # each word wholly masked or not at all
            assert masked[row, start:end].all() or not masked[row, start:end].any(), (row, start, end)
        n = int((special[row] == 0).sum())
        budget = max(1, round(0.15 * n))
        longest = max(end - start for start, end in words)
        assert budget <= int(masked[row].sum()) < budget + longest  # counted in tokens, not spans
        total_masked, total_maskable = total_masked + int(masked[row].sum()), total_maskable + n
    assert 0.15 <= total_masked / total_maskable < 0.2
    assert torch.equal(labels[masked], ids[masked]) and not masked[special.bool()].any()


def test_single_token_words_hit_the_budget_exactly(batch):
    ids, special = batch["input_ids"], batch["special_tokens_mask"]
    _, labels = span_mask_tokens(ids, special, 400, MASK, torch.Generator().manual_seed(3), 0.3)
    n = (special == 0).sum(1)
    expected = torch.tensor([max(1, round(0.3 * int(k))) for k in n])
    assert torch.equal((labels != IGNORE_INDEX).sum(1), expected)


def test_spans_do_not_cross_separators_and_skip_padding(tokenizer, batch):
    ids, special, attention = batch["input_ids"], batch["special_tokens_mask"], batch["attention_mask"]
    spans = sample_spans(ids, special, torch.Generator().manual_seed(4), 0.5,
                         is_continuation=continuation_table(tokenizer))
    for row, row_spans in enumerate(spans):
        taken = torch.zeros(ids.shape[1], dtype=torch.long)
        for start, end in row_spans:
            assert not special[row, start:end].any() and attention[row, start:end].all()
            taken[start:end] += 1
        assert taken.max() <= 1  # no overlaps
    # attention_mask excludes positions special_tokens_mask does not
    hidden = special.clone()
    hidden[:, -1] = 0
    _, labels = span_mask_tokens(ids, hidden, 400, MASK, torch.Generator().manual_seed(4), attention_mask=attention)
    assert not (labels[attention == 0] != IGNORE_INDEX).any()


def test_80_10_10_is_decided_per_span():
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(10, 30_000, (300, 80), generator=g)
    special = torch.zeros_like(ids)
    special[:, [0, -1]] = 1
    spans = sample_spans(ids, special, torch.Generator().manual_seed(6), 0.15)
    inputs, labels = span_mask_tokens(ids, special, 30_000, MASK, torch.Generator().manual_seed(6), 0.15)
    chosen = torch.zeros_like(ids, dtype=torch.bool)
    for row, row_spans in enumerate(spans):
        for start, end in row_spans:
            chosen[row, start:end] = True
    assert torch.equal(labels != IGNORE_INDEX, chosen)  # the spans come first from the generator: the same spans
    kinds = {"mask": 0, "keep": 0, "random": 0}
    for row, row_spans in enumerate(spans):
        for start, end in row_spans:
            got, original = inputs[row, start:end], ids[row, start:end]
            assert (labels[row, start:end] == original).all()
            if (got == MASK).all():
                kinds["mask"] += 1
            elif torch.equal(got, original):
                kinds["keep"] += 1
            else:  # random tokens: none of them [MASK] or the original, but for a 1 in 30,000 coincidence
                assert ((got != MASK) & (got != original)).float().mean() > 0.5
                kinds["random"] += 1
    n = sum(kinds.values())
    assert n > 1000
    for kind, share in (("mask", 0.8), ("keep", 0.1), ("random", 0.1)):
        assert abs(kinds[kind] / n - share) < 4 * (share * (1 - share) / n) ** 0.5, kinds


def test_it_is_a_mask_fn_for_mini_bert_batches(tokenizer):
    dataset = mb.pretraining_dataset(tokenizer, "validation", n_documents=20)
    mask_fn = functools.partial(span_mask_tokens, is_continuation=continuation_table(tokenizer))
    b = mb.batches(dataset, 8, 0, len(tokenizer), mask_fn=mask_fn)(0)
    assert b["labels"].shape == b["input_ids"].shape and (b["labels"] != IGNORE_INDEX).any()


def test_same_seed_same_masks_and_input_untouched(batch):
    ids, special = batch["input_ids"], batch["special_tokens_mask"]
    before = ids.clone()
    a = span_mask_tokens(ids, special, 400, MASK, torch.Generator().manual_seed(7))
    b = span_mask_tokens(ids, special, 400, MASK, torch.Generator().manual_seed(7))
    assert all(torch.equal(x, y) for x, y in zip(a, b)) and torch.equal(ids, before)


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs, error, words", [
    ({"p": 0.0}, ValueError, "p must be a probability"),
    ({"p": 1.5}, ValueError, "p must be a probability"),
    ({"max_span_words": 0}, ValueError, "max_length must be a positive int"),
    ({"mlm_probability": 0.0}, ValueError, "mlm_probability must be in (0, 1]"),
    ({"mlm_probability": 1.2}, ValueError, "mlm_probability must be in (0, 1]"),
    ({"is_continuation": torch.zeros(7, dtype=torch.bool)}, ValueError, "vocab_size=400"),
    ({"is_continuation": torch.zeros(400)}, ValueError, "bool tensor"),
])
def test_bad_arguments_say_what_to_pass(batch, kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        span_mask_tokens(batch["input_ids"], batch["special_tokens_mask"], 400, MASK, torch.Generator(), **kwargs)


def test_bad_tensors_say_what_is_wrong(batch):
    ids, special, g = batch["input_ids"], batch["special_tokens_mask"], torch.Generator()
    with pytest.raises(TypeError, match="torch.long"):
        span_mask_tokens(ids.int(), special, 400, MASK, g)
    with pytest.raises(TypeError, match="integer token ids"):
        span_mask_tokens(ids.float(), special, 400, MASK, g)
    with pytest.raises(ValueError, match="shaped like input_ids"):
        span_mask_tokens(ids, special[:, :-1], 400, MASK, g)
    with pytest.raises(ValueError, match="only 0 and 1"):
        span_mask_tokens(ids, special * 2, 400, MASK, g)
    with pytest.raises(ValueError, match="mask_token_id"):
        span_mask_tokens(ids, special, 400, 400, g)
    with pytest.raises(TypeError, match="torch.Generator"):
        span_mask_tokens(ids, special, 400, MASK, 0)
    with pytest.raises(TypeError, match="WordPieceTokenizer"):
        continuation_table("##a")
    with pytest.raises(ValueError, match="positive int"):
        sample_span_lengths(0, g)


def test_edge_cases_a_single_token_and_nothing_to_mask():
    inputs, labels = span_mask_tokens(torch.tensor([[2, 7, 3], [2, 3, 0]]), torch.tensor([[1, 0, 1], [1, 1, 1]]),
                                      10, MASK, torch.Generator().manual_seed(1))
    assert labels.tolist() == [[IGNORE_INDEX, 7, IGNORE_INDEX], [IGNORE_INDEX] * 3]  # the budget is at least 1
    assert inputs[1].tolist() == [2, 3, 0]
