"""What the mini-BERT learned, and what BERT's pretraining choices buy, measured (lesson 07).

:func:`fill_in_the_blank` lists the MLM head's top candidates for a [MASK]. Then three controlled
experiments, each at equal steps, on the recipe of ``course_lib.mini_bert``:

1. **Bidirectional against left-to-right.** Devlin et al. (2019) argue that a masked LM, whose
   every layer reads the words on both sides, beats a left-to-right LM (GPT: Radford et al.,
   2018, "Improving Language Understanding by Generative Pre-Training") and also ELMo (Peters et
   al., 2018, "Deep contextualized word representations"), whose forward and backward LSTM
   language models each read one side and are only concatenated on top ("shallowly" bidirectional).
   :class:`LeftToRightLM` is the same encoder, same size, with a causal mask and next-token
   prediction; :func:`right_context_items` are held-out sentences where ONLY the words after a
   blank decide it ("the ___ barks at the sheep": the dog); :func:`right_context_accuracy` scores
   both kinds of model on them.
2. **Why not always [MASK]?** [MASK] never occurs in fine-tuning, so BERT replaces only 80% of
   the chosen tokens by it, 10% by a random token and leaves 10% (Devlin et al. 2019, section 3.1
   and appendix C.2). :func:`mask_always` is the 100% variant; :func:`unmasked_accuracy` reads the
   MLM head on input WITHOUT any [MASK]: does it return the observed token (identity), and does
   it restore a token replaced by a random one (correction)?
3. **What NSP learns.** With negatives from any other document, a change of topic gives most
   NotNext pairs away; Lan et al. (2020, ALBERT) argue NSP is mostly topic prediction.
   The lesson measures NSP accuracy during pretraining (``mini_bert.run_pretraining(..., on_step=...)``)
   on held-out negatives from any other document and from a document of the same topic (then
   only coherence tells: characters, story order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor, nn

from course_lib.arguments import check_int, check_tokens
from course_lib.bert import BertConfig, BertForPreTraining
from course_lib.data.documents import document_corpus, sentence_stage
from course_lib.data.english_lexicon import TOPICS
from course_lib.mini_bert import RECIPE, batches, evaluation_batches, run_pretraining
from course_lib.pretraining import IGNORE_INDEX, bert_inputs, mask_tokens, mlm_loss
from course_lib.training import History, inference, model_device
from course_lib.transformer import causal_mask
from course_lib.wordpiece import SPECIAL_TOKENS, WordPieceTokenizer

if TYPE_CHECKING:  # imported where it is used: importing it takes seconds
    from datasets import Dataset

__all__ = [
    "fill_in_the_blank", "LeftToRightOutput", "LeftToRightLM", "pretrain_left_to_right", "BlankItem",
    "right_context_items", "right_context_accuracy", "mask_always", "unmasked_accuracy",
]


# --- what the MLM head predicts ------------------------------------------------------------------


def fill_in_the_blank(
    model: BertForPreTraining, tokenizer: WordPieceTokenizer, sentences: Sequence[str | tuple[str, str]], k: int = 5
) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable tokens, with their probabilities, at the one [MASK] of each input.

    An input is a sentence with ``[MASK]`` written in it once ("The [MASK] barks at the sheep."),
    read as one segment ``[CLS] A [SEP]``, or a pair ``(A, B)``, read ``[CLS] A [SEP] B [SEP]``
    with the [MASK] in either. The mini-BERT only ever saw pairs of consecutive sentences: give it
    the sentence before as A to ask it in its own format. Returns per input ``k`` (token,
    probability) pairs, most probable first. TypeError for a str instead of a list; ValueError
    for an input without exactly one [MASK] or a bad ``k``.
    """
    if isinstance(sentences, str):
        raise TypeError("sentences must be a list of str or (A, B) pairs; for one sentence pass [sentence].")
    check_int("k", k, "candidates per blank")
    out, mask_id = [], tokenizer.mask_token_id
    with inference(model):
        for sentence in sentences:
            a, b = (sentence, None) if isinstance(sentence, str) else sentence
            ids_a, ids_b = tokenizer.encode(a), None if b is None else tokenizer.encode(b)
            row = bert_inputs(ids_a, ids_b, model.config.max_position_embeddings, tokenizer.cls_token_id,
                              tokenizer.sep_token_id, tokenizer.pad_token_id)
            row = {key: values[:sum(row["attention_mask"])] for key, values in row.items()}  # the padding off
            if (found := row["input_ids"].count(mask_id)) != 1:
                raise ValueError(f"each input needs exactly one [MASK]; {sentence!r} has {found}.")
            device = model_device(model)
            ids, types = (torch.tensor([row[key]], device=device) for key in ("input_ids", "token_type_ids"))
            logits = model(ids, types).mlm_logits[0, row["input_ids"].index(mask_id)]
            top = logits.softmax(-1).topk(min(k, logits.numel()))
            out.append([(tokenizer.convert_ids_to_tokens(int(i)), float(p)) for p, i in zip(top.values, top.indices)])
    return out


# --- 1. a left-to-right LM of the same size ----------------------------------------------------


@dataclass
class LeftToRightOutput:
    """``loss``: mean next-token cross-entropy (None without labels). ``logits``: (batch, seq, vocab),
    row t predicting token t + 1; with labels only the predicted rows, (num_predicted, vocab), in
    the order of ``labels[:, 1:] != -100``."""

    loss: Tensor | None
    logits: Tensor


class LeftToRightLM(nn.Module):
    """BERT's encoder with a causal mask and a next-token head: a GPT-style LM (Radford et al. 2018).

    The very modules of a ``BertForPreTraining(config)`` (embeddings, post-norm layers, the MLM
    head as the LM head, tied to the word embeddings); its NSP head is dropped and its pooler
    kept but unused. So, after the same ``torch.manual_seed``, it starts from the same weights as
    the bidirectional model, and has the same size less the NSP head. Position t attends to
    positions 0..t only (``transformer.causal_mask``) and predicts token t + 1.

    ``forward(input_ids, token_type_ids=None, attention_mask=None, labels=None)``: all (batch,
    seq) long, as for BERT; ``labels`` are the ids to predict at each position (-100: none, e.g.
    padding), shifted inside as in HF's causal LMs. Returns :class:`LeftToRightOutput`.
    """

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        bert = BertForPreTraining(config)
        self.config = config
        self.bert, self.lm_head = bert.bert, bert.mlm_head

    def forward(self, input_ids: Tensor, token_type_ids: Tensor | None = None,
                attention_mask: Tensor | None = None, labels: Tensor | None = None) -> LeftToRightOutput:
        check_tokens("input_ids", input_ids)
        length = input_ids.shape[1]
        if length > self.config.max_position_embeddings:
            raise ValueError(f"input_ids has {length} positions; the model has {self.config.max_position_embeddings}.")
        token_type_ids = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        real = torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask.bool()
        mask = real[:, None, None, :] & causal_mask(length).to(input_ids.device)  # (batch, 1, seq, seq)
        x = self.bert.embeddings(input_ids, token_type_ids)
        for layer in self.bert.layers:
            x = layer(x, mask)
        if labels is None:
            return LeftToRightOutput(loss=None, logits=self.lm_head(x))
        if tuple(labels.shape) != tuple(input_ids.shape):
            raise ValueError(f"labels must be shaped like input_ids {tuple(input_ids.shape)}; "
                             f"got {tuple(labels.shape)}.")
        targets = labels[:, 1:]
        logits = self.lm_head(x[:, :-1][targets != IGNORE_INDEX])
        return LeftToRightOutput(loss=mlm_loss(logits, targets), logits=logits)


def pretrain_left_to_right(
    model: LeftToRightLM, dataset: Dataset, steps: int, batch_size: int = 32, lr: float = RECIPE.lr,
    seed: int = 0, plot: bool = True, title: str = "pretraining left to right",
) -> History:
    """Train ``model`` to predict every next token of the pairs of ``dataset`` (the input of
    ``pretrain``, unmasked: same rows in the same order for the same ``seed``), padding excluded,
    with the same optimiser and schedule. Returns the History; the model ends in eval mode."""
    if not isinstance(model, LeftToRightLM):
        raise TypeError(f"model must be a LeftToRightLM; got {type(model).__name__} (use pretrain for BERT).")
    batch = batches(dataset, batch_size, seed, model.config.vocab_size, mask_fn=None, device=model_device(model))

    def loss(model: LeftToRightLM, b: dict[str, Tensor]) -> Tensor:
        labels = b["input_ids"].masked_fill(b["attention_mask"] == 0, IGNORE_INDEX)
        return model(b["input_ids"], b["token_type_ids"], b["attention_mask"], labels).loss

    return run_pretraining(model, batch, loss, steps, lr, plot, title)


@dataclass(frozen=True)
class BlankItem:
    """A held-out sentence whose blank only the words AFTER it decide.

    ``context``: the sentence before it in its document (segment A); ``words``: the sentence, as
    the corpus's ``words`` column; ``index``: the blank; ``topic``: the document's topic.
    """

    context: str
    words: tuple[str, ...]
    index: int
    topic: str

    @property
    def answer(self) -> str:
        """The word in the blank, lowercased (what an uncased model must predict)."""
        return self.words[self.index].lower()

    def with_mask(self) -> str:
        """The sentence with ``[MASK]`` in the blank, words joined by spaces."""
        return " ".join(w if i != self.index else "[MASK]" for i, w in enumerate(self.words))


_CREATURES = frozenset(word for topic in TOPICS for c in topic.creatures for word in (c.noun, c.plural))


def right_context_items(tokenizer: WordPieceTokenizer, split: str = "test", seed: int = 0) -> list[BlankItem]:
    """The subject of every creature sentence (story stage "work") in the split's documents ("The dog
    barks at the sheep.", "Outside, the owls hoot in the dark."), with the sentence before it as context.

    Only the verb phrase after the noun decides it: each creature has a verb of its own, and its
    agreement gives the number, while the words before allow every creature of the topic
    (``documents.fillers`` confirms both; the tests check it). Items whose answer is not one piece
    of ``tokenizer`` are left out (each blank is one [MASK]). About 400 items for the test split.
    """
    items = []
    for document in document_corpus(seed=seed, split=split):
        for k, words in enumerate(document["words"][1:], start=1):
            if sentence_stage(document["sentences"][k]) != "work":  # "At first, the ship sinks." is an outcome
                continue
            for i in range(1, len(words)):
                if (words[i - 1].lower() == "the" and (i == 1 or words[i - 2] == ",") and words[i] in _CREATURES
                        and len(tokenizer.tokenize(words[i])) == 1):
                    items.append(BlankItem(document["sentences"][k - 1], tuple(words), i, document["topic"]))
    return items


def right_context_accuracy(model: BertForPreTraining | LeftToRightLM, tokenizer: WordPieceTokenizer,
                           items: Sequence[BlankItem]) -> float:
    """Share of ``items`` whose blank the model's top prediction fills with the right word.

    Each item is the pair ``[CLS] context [SEP] sentence [SEP]``. A ``BertForPreTraining`` gets the
    blank as [MASK] and reads both sides; a ``LeftToRightLM`` gets the sentence whole and is
    scored on its prediction at the position before the blank, so from the left context alone.
    A float in [0, 1]; eval mode. ValueError for no items or an answer that is not one token.
    """
    if not items:
        raise ValueError("items is empty: build them with right_context_items(tokenizer).")
    bidirectional = not isinstance(model, LeftToRightLM)
    correct = 0
    with inference(model):
        for item in items:
            answer = tokenizer.convert_tokens_to_ids(item.answer)
            sentence = tokenizer.encode(item.with_mask())
            blank = sentence.index(tokenizer.mask_token_id)
            if answer == tokenizer.unk_token_id or len(tokenizer.encode(" ".join(item.words))) != len(sentence):
                raise ValueError(f"{item.answer!r} is not one token of this vocabulary; build the items with it.")
            if not bidirectional:
                sentence[blank] = answer
            context = tokenizer.encode(item.context)
            row = bert_inputs(context, sentence, len(context) + len(sentence) + 3, tokenizer.cls_token_id,
                              tokenizer.sep_token_id, tokenizer.pad_token_id)
            position = len(context) + 2 + blank  # [CLS] context [SEP] then the sentence
            ids = torch.tensor([row["input_ids"]], device=model_device(model))
            types = torch.tensor([row["token_type_ids"]], device=model_device(model))
            if bidirectional:
                logits = model(ids, types).mlm_logits[0, position]
            else:
                logits = model(ids, types).logits[0, position - 1]
            correct += int(logits.argmax()) == answer
    return correct / len(items)


# --- 2. 100% [MASK] against 80/10/10 -----------------------------------------------------------


def mask_always(
    input_ids: Tensor, special_tokens_mask: Tensor, vocab_size: int, mask_token_id: int,
    generator: torch.Generator, mlm_probability: float = 0.15,
) -> tuple[Tensor, Tensor]:
    """``mask_tokens`` with every chosen position replaced by [MASK] (no random, none kept).

    The signature of lesson 07's exercise ``mask_tokens``, whose draws it uses (the learner's, in the
    homework edition), so the same chosen positions and labels under the same generator state; only
    the replacement differs. Returns (input_ids, labels), both (batch, seq) long.
    """
    _, labels = mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator, mlm_probability)
    return input_ids.masked_fill(labels != IGNORE_INDEX, mask_token_id), labels


def unmasked_accuracy(model: BertForPreTraining, dataset: Dataset, n: int | None = 1000, seed: int = 0,
                      replace_probability: float = 0.15) -> dict[str, float]:
    """The MLM head on input with no [MASK] at all, as in fine-tuning: two shares, each in [0, 1].

    ``"identity"``: on the first ``n`` rows unchanged, the share of real, non-special positions
    where the top prediction is the token that is there. ``"correction"``: the same rows with each
    such position replaced, with probability ``replace_probability``, by a different random
    non-special token (draws from ``torch.Generator().manual_seed(seed)``, the same for every
    model); the share of replaced positions where the top prediction is the original token.
    """
    if not 0.0 < replace_probability <= 1.0:
        raise ValueError(f"replace_probability must be in (0, 1]; got {replace_probability!r}.")
    device, vocab = model_device(model), model.config.vocab_size
    first = len(SPECIAL_TOKENS)  # random tokens come from [first, vocab): never [MASK] or another special
    generator = torch.Generator().manual_seed(seed)
    counts = {"identity": [0, 0], "correction": [0, 0]}
    with inference(model):
        for b in evaluation_batches(dataset, n):
            ids, types, real = b["input_ids"], b["token_type_ids"], b["attention_mask"]
            ordinary = (ids >= first) & (real == 1)
            replaced = ordinary & (torch.rand(ids.shape, generator=generator) < replace_probability)
            other = torch.randint(first, vocab - 1, ids.shape, generator=generator)
            other += (other >= ids).long()  # uniform over the ordinary tokens other than the original
            corrupted = torch.where(replaced, other, ids)
            for name, inputs, where in (("identity", ids, ordinary), ("correction", corrupted, replaced)):
                logits = model(inputs.to(device), types.to(device), real.to(device)).mlm_logits
                counts[name][0] += int((logits.argmax(-1).cpu() == ids)[where].sum())
                counts[name][1] += int(where.sum())
    return {name: right / max(total, 1) for name, (right, total) in counts.items()}
