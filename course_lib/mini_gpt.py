"""The course's mini-GPT: stories as token ids, the recipe, pretraining, samples' quality, checkpoint (lesson 10).

A decoder-only language model (``course_lib.gpt.GPT``, GPT-2's architecture) trained on the whole
stories of the course's document corpus (``course_lib.data.documents``), so that everything it
writes can be judged exactly by the grammar that made the corpus: :func:`quality` counts the
sentences the grammar's recogniser accepts, whether the stages keep the story's order, whether
the story stays on its topic and how it ends.

The tokenizer is lesson 07's: the 1,300-piece WordPiece vocabulary of the shipped mini-BERT
(``assets/mini_bert/vocab.txt``, checksummed), lowercasing. Its special tokens double as GPT's:
``[CLS]`` starts a story (:data:`BOS_ID`), ``[SEP]`` ends it (:data:`EOS_ID`), ``[PAD]`` pads
(:data:`PAD_ID`). Lowercasing loses nothing the grammar needs: :func:`to_text` restores the
capitals (sentence starts and the corpus's names) and glues "," and "." to the word before.

:data:`RECIPE` makes the shipped checkpoint ``assets/mini_gpt/`` (HF ``GPT2LMHeadModel`` layout,
so ``transformers`` reads it; :func:`load_mini_gpt`); ``python -m course_lib.mini_gpt`` remakes it.
The preference experiments built on it are in ``course_lib.rlhf``.
"""

from __future__ import annotations

import functools
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import Tensor

from course_lib import checkpoints
from course_lib.causal_lm import corpus_perplexity, lm_loss
from course_lib.data.documents import document_corpus, is_grammatical, on_topic, split_sentences, story_order
from course_lib.data.english_lexicon import FEMALE_NAMES, FESTIVALS, MALE_NAMES, ORGANISATIONS, PLACES, SURNAMES
from course_lib.gpt import GPT, GPTConfig, load_gpt, save_gpt
from course_lib.training import History, train
from course_lib.wordpiece import SPECIAL_TOKENS, WordPieceTokenizer

__all__ = ["PAD_ID", "BOS_ID", "EOS_ID", "ASSET_DIR", "LESSON_STEPS", "LESSON_BATCH", "Recipe", "RECIPE", "tokenizer",
           "encode_stories", "stories", "new_model", "batches", "run_pretraining", "to_text", "quality",
           "make_mini_gpt", "save_mini_gpt", "load_mini_gpt"]

PAD_ID, BOS_ID, EOS_ID = (SPECIAL_TOKENS.index(t) for t in ("[PAD]", "[CLS]", "[SEP]"))
ASSET_DIR = Path(__file__).resolve().parent.parent / "assets" / "mini_gpt"
VOCAB = Path(__file__).resolve().parent.parent / "assets" / "mini_bert" / "vocab.txt"
# (full, fast) steps of the lesson's live pretraining; pass them to training.budget.
LESSON_STEPS = {"pretrain": (100, 3)}
LESSON_BATCH = 16  # stories per batch of the live run (the recipe uses 32)


@dataclass(frozen=True)
class Recipe:
    """How the course's mini-GPT is made (``assets/mini_gpt/recipe.json`` records it).

    ``GPTConfig`` sizes (no dropout: the runs are short and the corpus is 3,000 stories); ``steps``
    of ``batch_size`` whole stories; AdamW with ``lr``, linear warm-up over ``warmup`` of the
    steps then linear decay to 0, ``weight_decay`` on matrices. ``seed``: weights and batches.
    """

    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    n_positions: int = 128
    steps: int = 1500
    batch_size: int = 32
    lr: float = 3e-3
    warmup: float = 0.05
    weight_decay: float = 0.01
    seed: int = 0

    def config(self, vocab_size: int) -> GPTConfig:
        """The ``GPTConfig`` for a vocabulary of ``vocab_size`` entries."""
        return GPTConfig(vocab_size=vocab_size, n_positions=self.n_positions, n_embd=self.n_embd,
                         n_layer=self.n_layer, n_head=self.n_head, embd_pdrop=0.0, resid_pdrop=0.0)


RECIPE = Recipe()
REMAKE = "restore it from git, or remake the checkpoint: python -m course_lib.mini_gpt"


@functools.cache
def _vocab_digest() -> str:
    return json.loads((VOCAB.parent / "recipe.json").read_text())["sha256"]["vocab.txt"]


def tokenizer() -> WordPieceTokenizer:
    """Lesson 07's WordPiece tokenizer (the mini-BERT's 1,300 pieces, lowercasing), checksum verified."""
    checkpoints.verify(VOCAB, "restore assets/mini_bert/ from git.", _vocab_digest())
    return WordPieceTokenizer.from_file(VOCAB, lowercase=True)


def encode_stories(tok: WordPieceTokenizer, texts: Sequence[str], max_length: int = RECIPE.n_positions) -> dict[str, Tensor]:
    """``[CLS] story [SEP]`` per text, right-padded with ``[PAD]``: ``input_ids`` and ``attention_mask``
    (num_texts, longest) long. ValueError if a story needs more than ``max_length`` tokens."""
    rows = [[BOS_ID] + tok.encode(text) + [EOS_ID] for text in texts]
    longest = max(map(len, rows))
    if longest > max_length:
        raise ValueError(f"a story needs {longest} tokens, more than max_length={max_length}.")
    ids = torch.full((len(rows), longest), PAD_ID, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return {"input_ids": ids, "attention_mask": mask}


@functools.cache
def _stories(split: str, n: int | None) -> tuple[dict[str, Tensor], tuple[str, ...], tuple[str, ...]]:
    corpus = document_corpus(split=split)
    n = len(corpus) if n is None else min(n, len(corpus))
    texts = tuple(corpus["text"][:n])
    return encode_stories(tokenizer(), texts), texts, tuple(corpus["topic"][:n])


def stories(split: str, n: int | None = None) -> dict[str, object]:
    """The first ``n`` stories of a split (all if None) of ``document_corpus()``: ``input_ids`` and
    ``attention_mask`` (:func:`encode_stories`), ``text`` and ``topic`` (tuples of str). Cached."""
    encoded, texts, topics = _stories(split, n)
    return dict(encoded) | {"text": texts, "topic": topics}


def new_model(vocab_size: int, recipe: Recipe = RECIPE, seed: int | None = None,
              model_class: Callable[[GPTConfig], torch.nn.Module] = GPT) -> torch.nn.Module:
    """A fresh ``model_class(recipe.config(vocab_size))`` (the course's GPT, or yours), seeded by ``seed``
    (the recipe's if None), in train mode."""
    torch.manual_seed(recipe.seed if seed is None else seed)
    return model_class(recipe.config(vocab_size))


def batches(data: dict[str, Tensor], batch_size: int, seed: int = 0) -> Callable[[int], dict[str, Tensor]]:
    """step -> a batch of ``batch_size`` stories (``input_ids``, ``attention_mask``), a fresh shuffle per
    epoch, the same for the same seed; each batch cut to its longest story."""
    n = data["input_ids"].shape[0]
    per_epoch = max(1, n // batch_size)
    orders: dict[int, Tensor] = {}

    def batch(step: int) -> dict[str, Tensor]:
        epoch, index = divmod(step, per_epoch)
        if epoch not in orders:
            orders.clear()
            orders[epoch] = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 10_000 + epoch))
        rows = orders[epoch][index * batch_size: (index + 1) * batch_size]
        mask = data["attention_mask"][rows]
        length = int(mask.sum(dim=1).max())
        return {"input_ids": data["input_ids"][rows, :length], "attention_mask": mask[:, :length]}

    return batch


def run_pretraining(model: torch.nn.Module, batch: Callable[[int], dict[str, Tensor]], steps: int,
                    loss_fn: Callable[..., Tensor] = lm_loss, lr: float = RECIPE.lr, plot: bool = True,
                    title: str = "pretraining the mini-GPT", warmup: float = RECIPE.warmup,
                    weight_decay: float = RECIPE.weight_decay) -> History:
    """Train ``model`` (ids, mask -> logits) for ``steps`` steps with ``loss_fn(logits, input_ids,
    attention_mask)`` (the causal LM loss: ``lm_loss``, or yours) through ``training.train``
    (progress bar, live loss plot): AdamW, linear warm-up then linear decay to 0. The model ends in
    eval mode; returns the History."""
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW([{"params": [p for p in params if p.dim() >= 2], "weight_decay": weight_decay},
                                   {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}], lr=lr)
    warm = max(1, math.ceil(warmup * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warm, max(0.0, (steps - step) / max(1, steps - warm))))

    def loss(m: torch.nn.Module, b: dict[str, Tensor]) -> Tensor:
        return loss_fn(m(b["input_ids"], b["attention_mask"]), b["input_ids"], b["attention_mask"])

    return train(model, batch, loss, steps, optimizer=optimizer, scheduler=schedule, title=title, plot=plot)


# --- what a sample is worth -----------------------------------------------------------------------

_NAMES = {w.lower(): w for names in (FEMALE_NAMES, MALE_NAMES, SURNAMES, PLACES, ORGANISATIONS, FESTIVALS)
          for name in names for w in name.split()}


def to_text(tok: WordPieceTokenizer, ids: Sequence[int] | Tensor) -> str:
    """The story that ``ids`` spell, as the corpus writes it: from after ``[CLS]`` (if it starts
    there) up to the first ``[SEP]``, padding and special tokens dropped, pieces joined, names and
    sentence starts capitalised, "," and "." glued to the word before."""
    ids = [int(i) for i in ids]
    if EOS_ID in ids:
        ids = ids[: ids.index(EOS_ID)]
    words = tok.decode([i for i in ids if i >= len(SPECIAL_TOKENS)]).split()
    out, start = [], True
    for word in words:
        word = _NAMES.get(word, word)
        if start and word[:1].isalpha():
            word = word[0].upper() + word[1:]
        start = word in (".", "!", "?")
        out.append(word)
    return re.sub(r" ([,.])", r"\1", " ".join(out))


def quality(texts: Sequence[str], topics: Sequence[str] | None = None) -> dict[str, float]:
    """How well ``texts`` are written, by the corpus's own grammar, averaged over the texts:
    ``grammatical`` (share of sentences ``is_grammatical`` accepts, pooled), ``all_grammatical``
    (share of texts whose every sentence is), ``story_order`` (mean of ``story_order``) and, with
    ``topics``, ``on_topic`` (share of texts ``on_topic`` for their topic)."""
    sentences = [s for t in texts for s in split_sentences(t)]
    grammatical = [is_grammatical(s) for s in sentences]
    out = {"grammatical": sum(grammatical) / max(1, len(sentences)),
           "all_grammatical": sum(bool(split_sentences(t)) and all(map(is_grammatical, split_sentences(t)))
                                  for t in texts) / max(1, len(texts)),
           "story_order": sum(map(story_order, texts)) / max(1, len(texts))}
    if topics is not None:
        out["on_topic"] = sum(on_topic(t, topic) for t, topic in zip(texts, topics)) / max(1, len(texts))
    return out


# --- the shipped checkpoint ---------------------------------------------------------------------


def make_mini_gpt(recipe: Recipe = RECIPE, plot: bool = False) -> tuple[GPT, WordPieceTokenizer, dict]:
    """Pretrain the mini-GPT from :data:`RECIPE` on the train stories; (model, tokenizer, figures)."""
    start = time.perf_counter()
    tok = tokenizer()
    train_set = stories("train")
    model = new_model(len(tok), recipe)
    history = run_pretraining(model, batches(train_set, recipe.batch_size, recipe.seed), recipe.steps,
                              lr=recipe.lr, plot=plot, warmup=recipe.warmup, weight_decay=recipe.weight_decay)
    valid = stories("validation")
    figures = {"perplexity_validation": corpus_perplexity(model, valid["input_ids"], valid["attention_mask"]),
               "final_loss": sum(history.losses[-50:]) / 50, "seconds": round(time.perf_counter() - start, 1)}
    return model.eval(), tok, figures


def save_mini_gpt(model: GPT, tok: WordPieceTokenizer, recipe: Recipe, figures: dict,
                  path: str | Path = ASSET_DIR) -> Path:
    """Write the checkpoint folder ``path`` (``course_lib.gpt.save_gpt``); return it."""
    record = {"recipe": asdict(recipe), "figures": dict(figures), "torch": torch.__version__}
    special = {"bos_token_id": BOS_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID}
    return save_gpt(model, tok, path, record, special)


def load_mini_gpt(path: str | Path | None = None) -> tuple[GPT, WordPieceTokenizer]:
    """The course's pretrained mini-GPT (eval mode, CPU) and its tokenizer, from ``assets/mini_gpt/``
    (or ``path``), every file's sha256 checked first. FileNotFoundError / ValueError otherwise."""
    return load_gpt(ASSET_DIR if path is None else path, REMAKE)


if __name__ == "__main__":
    torch.set_num_threads(1)  # one thread: the same sums in the same order on every run
    made = make_mini_gpt(RECIPE)
    print(json.dumps(made[2], indent=2), f"\nwrote {save_mini_gpt(*made[:2], RECIPE, made[2])}")
