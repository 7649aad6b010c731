"""Why fine-tuning won, measured (lesson 08): the experiment runners of the fine-tuning lesson.

Devlin et al. (2019, "BERT: Pre-training of Deep Bidirectional Transformers for Language
Understanding") pretrain one encoder and then train it *whole*, with one small layer on top, on
each labelled task (section 3.2); ELMo (Peters et al., 2018) instead hands fixed features to a
task model. This module holds the loops the lesson runs with the learner's heads, each at equal
numbers of steps per arm, never equal wall time:

* :func:`story_endings` is the classification task: the last sentences of each story of the
  course's corpus and whether the story ends well (``course_lib.data.documents``).
* :func:`fine_tune` trains any head whose ``forward(**batch)`` returns an output with ``.loss``
  (classification, span QA, tagging) on a dict of tensors, with AdamW, linear warm-up and decay,
  as BERT's fine-tuning does; only the parameters that require gradients are trained, so a model
  whose encoder is frozen (feature-based) runs through the same loop.
* :func:`learning_curve` fine-tunes several starting points (pretrained, random initialisation)
  on growing subsets of the labels; :func:`frozen_features` and :func:`probe_accuracy` give the
  feature-based arm (a linear classifier on features computed once).
* :func:`compute_table` sets pretraining's cost against fine-tuning's.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.training import inference, model_device, train


# --- the classification task ---------------------------------------------------------------------------


def story_endings(split: str = "train", n: int | None = None, sentences: int = 3,
                  seed: int = 0) -> tuple[list[str], list[int]]:
    """The last ``sentences`` sentences of the first ``n`` stories of ``split``, and their labels.

    The label (1: the story ends well) is the outcome of the story's last outcome sentence read
    with its negation ("In the end, the sailors do not drown."), which always lies in the last
    three sentences; the sentence before it is often an earlier outcome that points the other way
    ("At first, the ship does not reach the harbour."). Cutting the story to its ending keeps the
    task and makes inputs about 35 mini-BERT tokens instead of 100, so that the real MiniLM
    weights can be run on it here. The stories are the corpus's default split sizes (3,000 /
    300 / 300), so ``n`` counts from the start of the same split whatever it is.
    """
    from course_lib.data.documents import document_corpus

    if sentences < 1:
        raise ValueError(f"sentences must be at least 1; got {sentences}")
    rows = document_corpus(seed=seed)[split]
    n = len(rows) if n is None else n
    texts = [" ".join(s[-sentences:]) for s in rows["sentences"][:n]]
    return texts, list(rows["label"][:n])


def subset(data: Mapping[str, Tensor], n: int) -> dict[str, Tensor]:
    """The first ``n`` rows of every tensor of ``data``."""
    return {k: v[:n] for k, v in data.items()}


# --- fine-tuning --------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one fine-tuning run cost: steps, examples seen, seconds, and its losses."""

    steps: int
    batch_size: int
    seconds: float
    losses: list[float]

    @property
    def examples_seen(self) -> int:
        return self.steps * self.batch_size

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(self.steps, 1)


def _trimmed(batch: dict[str, Tensor]) -> dict[str, Tensor]:
    """The batch cut to its longest real sequence (padding the whole batch shares costs time)."""
    if "attention_mask" not in batch:
        return batch
    longest = int(batch["attention_mask"].sum(1).max())
    return {k: (v[:, :longest] if v.dim() == 2 and v.shape[1] == batch["attention_mask"].shape[1] else v)
            for k, v in batch.items()}


def fine_tune(model: nn.Module, data: Mapping[str, Tensor], steps: int, lr: float, batch_size: int = 32,
              warmup: float = 0.1, weight_decay: float = 0.01, seed: int = 0, plot: bool = False,
              title: str = "fine-tuning") -> Run:
    """Train ``model`` for ``steps`` steps on random batches of ``data``; return the :class:`Run`.

    ``data`` maps the keyword arguments of ``model.forward`` (``input_ids``, ``attention_mask``,
    ``labels`` or ``start_positions``/``end_positions``, ...) to tensors with one row per example;
    each batch is ``batch_size`` rows drawn with replacement by a generator seeded with ``seed``,
    cut to its longest real sequence. The loss is ``model(**batch).loss``. AdamW over the
    parameters that require gradients only (a frozen encoder costs no optimizer state), learning
    rate warmed up linearly over the first ``warmup`` share of the steps and then decayed
    linearly to 0, gradients clipped at norm 1: BERT's fine-tuning recipe (Devlin et al. 2019,
    appendix A.3, with AdamW for its weight decay). The model is left in eval mode.
    """
    n = len(next(iter(data.values())))
    if n < 1:
        raise ValueError("data has no rows")
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("the model has no parameter that requires gradients: nothing to train")
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    ramp = max(1, int(warmup * steps))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / ramp, max(0.0, (steps - s) / max(1, steps - ramp))))
    generator = torch.Generator().manual_seed(seed)
    device = model_device(model)

    def batch(step: int) -> dict[str, Tensor]:
        rows = torch.randint(0, n, (batch_size,), generator=generator)
        return {k: v.to(device) for k, v in _trimmed({k: v[rows] for k, v in data.items()}).items()}

    torch.manual_seed(seed)  # the head's dropout masks
    history = train(model, batch, lambda m, b: m(**b).loss, steps, optimizer=optimizer, scheduler=scheduler,
                    plot=plot, title=title)
    return Run(steps, batch_size, history.seconds, history.losses)


def predict(model: nn.Module, data: Mapping[str, Tensor], field: str = "logits", batch_size: int = 256) -> Tensor:
    """``model(**inputs).<field>`` over all rows of ``data`` (its labels left out), in eval mode."""
    inputs = {k: v for k, v in data.items() if k in ("input_ids", "token_type_ids", "attention_mask")}
    n = len(inputs["input_ids"])
    out = []
    with inference(model):
        for i in range(0, n, batch_size):
            chunk = {k: v[i:i + batch_size].to(model_device(model)) for k, v in inputs.items()}
            out.append(getattr(model(**chunk), field).cpu())
    return torch.cat(out)


def accuracy(model: nn.Module, data: Mapping[str, Tensor]) -> float:
    """Share of rows whose arg-max logit is ``data["labels"]``."""
    logits = predict(model, data)
    return (logits.argmax(-1) == data["labels"]).float().mean().item()


# --- pretrained against scratch, feature-based against fine-tuning -----------------------------------


def learning_curve(starts: Mapping[str, Callable[[], nn.Module]], train_data: Mapping[str, Tensor],
                   valid_data: Mapping[str, Tensor], sizes: Sequence[int], steps: int,
                   lr: Mapping[str, float] | float, batch_size: int = 32, seed: int = 0) -> list[dict]:
    """Validation accuracy of every starting point fine-tuned on the first ``n`` training rows, each ``n``.

    ``starts`` maps an arm's name to a function that builds a fresh model (e.g. the learner's
    classifier on a copy of the pretrained encoder, or on a randomly initialised twin). Every arm
    gets the same ``steps`` and ``batch_size`` at every size (a small set is seen many times over),
    the same seed, hence the same batches; ``lr`` may differ per arm. One row per (arm, size):
    ``arm``, ``n``, ``accuracy``, ``seconds``, ``seconds_per_step``.
    """
    rows = []
    for n in sizes:
        for name, build in starts.items():
            model = build()
            run = fine_tune(model, subset(train_data, n), steps, lr[name] if isinstance(lr, Mapping) else lr,
                            batch_size=batch_size, seed=seed)
            rows.append({"arm": name, "n": n, "accuracy": accuracy(model, valid_data), "seconds": run.seconds,
                         "seconds_per_step": run.seconds_per_step})
    return rows


def frozen_features(bert: nn.Module, data: Mapping[str, Tensor], pooling: str = "mean",
                    batch_size: int = 128) -> Tensor:
    """Features of a frozen encoder, computed once: (rows, hidden).

    ``pooling="cls"`` takes the final ``[CLS]`` state, ``"mean"`` the mean of the final states
    over real tokens (what all-MiniLM-L6-v2 was trained to give), ``"pooler"`` the pooler output.
    """
    from course_lib.bert import mean_pool

    if pooling not in ("cls", "mean", "pooler"):
        raise ValueError(f"pooling must be 'cls', 'mean' or 'pooler'; got {pooling!r}")
    out = []
    with inference(bert):
        for i in range(0, len(data["input_ids"]), batch_size):
            chunk = _trimmed({k: data[k][i:i + batch_size] for k in ("input_ids", "token_type_ids", "attention_mask")})
            result = bert(**chunk)
            if pooling == "cls":
                out.append(result.last_hidden_state[:, 0])
            elif pooling == "pooler":
                out.append(result.pooler_output)
            else:
                out.append(mean_pool(result.last_hidden_state, chunk["attention_mask"]))
    return torch.cat(out)


def probe_accuracy(train_x: Tensor, train_y: Tensor, valid_x: Tensor, valid_y: Tensor, steps: int = 300,
                   lr: float = 0.05, weight_decay: float = 1e-3, seed: int = 0) -> float:
    """A linear probe: logistic regression (full batch, Adam) on fixed features; validation accuracy.

    The features are standardised with the training rows' mean and standard deviation first.
    """
    torch.manual_seed(seed)
    mean, std = train_x.mean(0), train_x.std(0).clamp_min(1e-6) if len(train_x) > 1 else torch.ones(train_x.shape[1])
    x, v = (train_x - mean) / std, (valid_x - mean) / std
    probe = nn.Linear(x.shape[1], int(max(train_y.max(), valid_y.max())) + 1)
    optimizer = torch.optim.Adam(probe.parameters(), lr=lr, weight_decay=weight_decay)
    for _ in range(steps):
        loss = F.cross_entropy(probe(x), train_y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return (probe(v).argmax(-1) == valid_y).float().mean().item()


# --- compute ------------------------------------------------------------------------------------------

# Devlin et al. (2019), appendix A.2: BERT-base pretrained on 4 Cloud TPUs in Pod configuration (16 TPU
# chips) for 4 days, 1,000,000 steps of 256 sequences of up to 512 tokens; section 4 and A.3: every
# fine-tuning result in the paper takes at most 1 hour on a single Cloud TPU.
PAPER_PRETRAINING_TPU_HOURS = 4 * 24 * 4
PAPER_FINETUNING_TPU_HOURS = 1
PAPER_PRETRAINING_SEQUENCES = 1_000_000 * 256


def compute_table(pretraining_seconds: float, pretraining_examples: int, finetuning_seconds: float,
                  finetuning_examples: int) -> dict[str, float]:
    """Pretraining's cost over fine-tuning's: ours (seconds, examples seen) and the paper's (TPU-hours).

    The paper's ratio is a lower bound: "at most 1 hour" of fine-tuning.
    """
    if min(pretraining_seconds, finetuning_seconds, pretraining_examples, finetuning_examples) <= 0:
        raise ValueError("every cost must be positive")
    return {"seconds_ratio": pretraining_seconds / finetuning_seconds,
            "examples_ratio": pretraining_examples / finetuning_examples,
            "paper_tpu_hours_ratio_at_least": PAPER_PRETRAINING_TPU_HOURS / PAPER_FINETUNING_TPU_HOURS}
