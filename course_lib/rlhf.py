"""Lesson 10's preference experiments: a hidden "human", pairs of samples, SFT, a reward model, DPO
and a KL-penalised policy gradient, all on the course's mini-GPT (``course_lib.mini_gpt``).

The steps of InstructGPT (Ouyang et al. 2022) in miniature, with one change that makes every result
exact: the labeller is a function. :func:`human_score` judges a whole story with the corpus's own
grammar (``course_lib.data.documents``): 0 if it is not well told (a sentence the grammar cannot
produce, stages out of order, or another topic's words), 1 if it is well told, 2 if it is well told
AND ends well. Asked to compare two stories, the human prefers the higher score and gives no label
on a tie. Nothing in the models knows this rule: the reward model must learn it from the labels.

- :func:`prompt_set`: the first sentences of stories, ``[CLS]``-started, for the models to continue;
- :func:`sample`: continuations (lesson 10's ``generate``, or yours), laid out right-padded as
  ``[CLS] prompt response [SEP] [PAD]...`` with a response mask, each judged by the human;
- :func:`label_pairs`: two samples per prompt, the human's preference where there is one;
- :func:`supervised_fine_tuning`, :func:`train_reward_model`, :func:`run_dpo`,
  :func:`run_policy_gradient`: the training loops, each taking the loss it trains with (yours);
- :func:`win_rate`, :func:`kl_to_reference`: what the tuned models are worth, and how far they moved.

The losses' references are in ``course_lib.preferences``; compare arms at equal steps, not wall time.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from course_lib.causal_lm import lm_loss, token_logprobs
from course_lib.data.documents import document_corpus, ends_well, is_grammatical, on_topic, split_sentences, story_order
from course_lib.generation import generate
from course_lib.gpt import GPT
from course_lib.mini_gpt import BOS_ID, EOS_ID, PAD_ID, to_text
from course_lib.preferences import bradley_terry_loss, dpo_loss, policy_gradient_loss, sequence_logprobs
from course_lib.training import History, inference, train

__all__ = ["PROMPT_SENTENCES", "human_score", "prompt_set", "Samples", "sample", "Pairs", "label_pairs",
           "win_rate", "approval", "supervised_fine_tuning", "train_reward_model", "rewards", "reward_accuracy",
           "run_dpo", "kl_to_reference", "Curve", "run_policy_gradient", "frozen_copy"]

PROMPT_SENTENCES = 2  # the arrival and the introduction: who, where, and the topic


def human_score(text: str, topic: str) -> int:
    """The hidden human's judgement of a whole story about ``topic``: 0, 1 or 2.

    Well told = every sentence grammatical, the stages in the story's order (``story_order`` 1.0)
    and only ``topic``'s words (``on_topic``). 0 if not well told; 1 if well told; 2 if well told
    and it ends well (``ends_well``).
    """
    sentences = split_sentences(text)
    told = bool(sentences) and all(map(is_grammatical, sentences)) and story_order(text) == 1.0 and on_topic(text, topic)
    return int(told) + int(told and ends_well(text) is True)


def prompt_set(tok, split: str, n: int, start: int = 0) -> dict[str, list]:
    """``n`` prompts from ``split`` stories ``start``, ``start + 1``, ...: ``ids`` ([CLS] + the first
    :data:`PROMPT_SENTENCES` sentences, lists of ids), ``topic`` and ``text`` (the prompt's sentences)."""
    corpus = document_corpus(split=split)
    rows = corpus.select(range(start, min(start + n, len(corpus))))
    texts = [" ".join(s[:PROMPT_SENTENCES]) for s in rows["sentences"]]
    return {"ids": [[BOS_ID] + tok.encode(t) for t in texts], "topic": list(rows["topic"]), "text": texts}


def _left_padded(rows: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor]:
    longest = max(map(len, rows))
    ids = torch.full((len(rows), longest), PAD_ID, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, row in enumerate(rows):
        ids[i, longest - len(row):] = torch.tensor(row)
        mask[i, longest - len(row):] = 1
    return ids, mask


@dataclass
class Samples:
    """Stories as the models read them: ``input_ids``, ``attention_mask`` (right-padded) and
    ``response_mask`` (1 on the generated tokens, [SEP] included), all (n, seq) long; the ``text``
    each spells, its ``topic``, the human's ``score``."""

    input_ids: Tensor
    attention_mask: Tensor
    response_mask: Tensor
    text: list[str]
    topic: list[str]
    score: list[int]

    def __len__(self) -> int:
        return len(self.text)

    def select(self, rows: Sequence[int] | Tensor) -> Samples:
        rows = torch.as_tensor(rows, dtype=torch.long)
        mask = self.attention_mask[rows]
        length = max(1, int(mask.sum(dim=1).max())) if len(rows) else 1
        r = rows.tolist()
        return Samples(self.input_ids[rows, :length], mask[:, :length], self.response_mask[rows, :length],
                       [self.text[i] for i in r], [self.topic[i] for i in r], [self.score[i] for i in r])


def _layout(prompts: Sequence[Sequence[int]], responses: Sequence[Sequence[int]]) -> tuple[Tensor, Tensor, Tensor]:
    rows = [list(p) + list(r) for p, r in zip(prompts, responses)]
    longest = max(map(len, rows))
    ids = torch.full((len(rows), longest), PAD_ID, dtype=torch.long)
    mask, response = torch.zeros_like(ids), torch.zeros_like(ids)
    for i, (p, row) in enumerate(zip(prompts, rows)):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
        response[i, len(p): len(row)] = 1
    return ids, mask, response


def sample(model: torch.nn.Module, tok, prompts: dict[str, list], temperature: float = 1.0,
           generator: torch.Generator | None = None, max_new_tokens: int = 100, batch_size: int = 256,
           generate_fn: Callable[..., Tensor] | None = None, **sampling) -> Samples:
    """One continuation per prompt, up to and including ``[SEP]`` (or ``max_new_tokens``, fewer if the
    model's positions end first), judged by
    :func:`human_score`. ``generate_fn(model, input_ids, attention_mask, max_new_tokens)`` -> ids
    (yours; default ``course_lib.generation.generate`` with ``temperature``, ``sampling``
    (top_k, top_p) and ``generator``, stopping at ``[SEP]``)."""
    responses = []
    for start in range(0, len(prompts["ids"]), batch_size):
        rows = prompts["ids"][start: start + batch_size]
        ids, mask = _left_padded(rows)
        new = min(max_new_tokens, model.config.n_positions - ids.shape[1])  # every story must fit the model's positions
        if generate_fn is None:
            out = generate(model, ids, mask, new, temperature=temperature, generator=generator,
                           eos_token_id=EOS_ID, pad_token_id=PAD_ID, **sampling)
        else:
            out = generate_fn(model, ids, mask, new)
        for row in out[:, ids.shape[1]:].tolist():
            responses.append(row[: row.index(EOS_ID) + 1] if EOS_ID in row else row)
    input_ids, attention_mask, response_mask = _layout(prompts["ids"], responses)
    texts = [to_text(tok, row) for row in input_ids.tolist()]
    scores = [human_score(t, topic) for t, topic in zip(texts, prompts["topic"])]
    return Samples(input_ids, attention_mask, response_mask, texts, list(prompts["topic"]), scores)


def win_rate(scores: Sequence[int], baseline: Sequence[int]) -> float:
    """How often the human prefers a story to the baseline's story for the same prompt, ties counted half."""
    return sum((a > b) + 0.5 * (a == b) for a, b in zip(scores, baseline)) / len(scores)


def approval(scores: Sequence[int]) -> float:
    """The share of stories the human gives the top score (well told and ending well)."""
    return sum(s == 2 for s in scores) / len(scores)


@dataclass
class Pairs:
    """Labelled comparisons: ``chosen`` and ``rejected`` ``Samples``, row i of each for the same prompt."""

    chosen: Samples
    rejected: Samples

    def __len__(self) -> int:
        return len(self.chosen)

    def select(self, rows: Sequence[int] | Tensor) -> Pairs:
        return Pairs(self.chosen.select(rows), self.rejected.select(rows))


def label_pairs(first: Samples, second: Samples) -> Pairs:
    """The human compares ``first[i]`` with ``second[i]`` (two stories for one prompt): the higher
    :func:`human_score` is chosen; ties give no label and are left out."""
    n, both = len(first), _concat(first, second)
    chosen, rejected = [], []
    for i, (a, b) in enumerate(zip(first.score, second.score)):
        if a != b:
            chosen.append(i if a > b else n + i)
            rejected.append(n + i if a > b else i)
    return Pairs(both.select(chosen), both.select(rejected))


def _tensors(s: Samples) -> tuple[Tensor, Tensor, Tensor]:
    return s.input_ids, s.attention_mask, s.response_mask


def _concat(a: Samples, b: Samples) -> Samples:
    return Samples(*_padded_cat(a, b), a.text + b.text, a.topic + b.topic, a.score + b.score)


def _padded_cat(samples: Samples, other: Samples) -> tuple[Tensor, Tensor, Tensor]:
    length = max(samples.input_ids.shape[1], other.input_ids.shape[1])
    pad = lambda t: torch.nn.functional.pad(t, (0, length - t.shape[1]))
    return tuple(torch.cat((pad(a), pad(b))) for a, b in zip(_tensors(samples), _tensors(other)))


def _optimizer(model: torch.nn.Module, lr: float) -> torch.optim.Optimizer:
    return torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=0.0)


def _batches(n: int, batch_size: int, seed: int) -> Callable[[int], Tensor]:
    generator = torch.Generator().manual_seed(seed)
    order: list[int] = []

    def rows(step: int) -> Tensor:
        nonlocal order
        if len(order) < batch_size:
            order += torch.randperm(n, generator=generator).tolist()
        out, order = order[:batch_size], order[batch_size:]
        return torch.tensor(out)

    return rows


def supervised_fine_tuning(model: torch.nn.Module, demonstrations: Samples, steps: int, batch_size: int = 16,
                           lr: float = 1e-3, loss_fn: Callable[..., Tensor] = lm_loss, seed: int = 0,
                           plot: bool = True) -> History:
    """InstructGPT's first step: train ``model`` with the causal LM loss ``loss_fn(logits, ids, mask)``
    on whole demonstration stories, ``steps`` steps of ``batch_size``. Returns the History."""
    rows = _batches(len(demonstrations), batch_size, seed)

    def loss(m, step_rows):
        b = demonstrations.select(step_rows)
        return loss_fn(m(b.input_ids, b.attention_mask), b.input_ids, b.attention_mask)

    return train(model, lambda step: rows(step), loss, steps, optimizer=_optimizer(model, lr),
                 title="supervised fine-tuning", plot=plot)


def train_reward_model(reward_model: torch.nn.Module, pairs: Pairs, steps: int, batch_size: int = 16,
                       lr: float = 1e-3, loss_fn: Callable[[Tensor, Tensor], Tensor] = bradley_terry_loss,
                       seed: int = 0, plot: bool = True) -> History:
    """Train ``reward_model`` (ids, mask -> (batch,) rewards) with ``loss_fn(r_chosen, r_rejected)``
    (the Bradley-Terry loss, or yours) on ``pairs``; chosen and rejected go through one batch."""
    rows = _batches(len(pairs), batch_size, seed)

    def loss(m, step_rows):
        b = pairs.select(step_rows)
        ids, mask, _ = _padded_cat(b.chosen, b.rejected)
        rewards = m(ids, mask)
        return loss_fn(rewards[: len(step_rows)], rewards[len(step_rows):])

    return train(reward_model, lambda step: rows(step), loss, steps, optimizer=_optimizer(reward_model, lr),
                 title="reward model", plot=plot)


def rewards(reward_model: torch.nn.Module, samples: Samples, batch_size: int = 128) -> Tensor:
    """``reward_model``'s reward for each of ``samples``, (n,), in eval mode without gradients."""
    with inference(reward_model):
        return torch.cat([reward_model(samples.select(range(i, min(i + batch_size, len(samples)))).input_ids,
                                       samples.select(range(i, min(i + batch_size, len(samples)))).attention_mask)
                          for i in range(0, len(samples), batch_size)])


def reward_accuracy(reward_model: torch.nn.Module, pairs: Pairs) -> float:
    """The share of ``pairs`` whose chosen story gets the strictly higher reward."""
    return (rewards(reward_model, pairs.chosen) > rewards(reward_model, pairs.rejected)).float().mean().item()


def _logps(model: torch.nn.Module, samples: Samples, logps_fn: Callable = sequence_logprobs) -> Tensor:
    return logps_fn(model(samples.input_ids, samples.attention_mask), samples.input_ids, samples.response_mask)


def run_dpo(policy: torch.nn.Module, reference: torch.nn.Module, pairs: Pairs, steps: int, beta: float = 0.1,
            batch_size: int = 16, lr: float = 1e-3, loss_fn: Callable[..., Tensor] | None = None,
            logps_fn: Callable[[Tensor, Tensor, Tensor], Tensor] = sequence_logprobs, seed: int = 0,
            plot: bool = True, title: str = "DPO") -> History:
    """DPO: train ``policy`` on ``pairs`` against the frozen ``reference`` with
    ``loss_fn(policy_chosen, policy_rejected, reference_chosen, reference_rejected, beta)`` -> loss
    (yours; default ``preferences.dpo_loss``'s loss) and ``logps_fn(logits, ids, response_mask)``
    -> (batch,) sequence log-probabilities (yours or ``sequence_logprobs``)."""
    loss_fn = loss_fn or (lambda *args: dpo_loss(*args)[0])
    with inference(reference):
        ref_chosen = torch.cat([_logps(reference, pairs.chosen.select(range(i, min(i + 128, len(pairs)))), logps_fn)
                                for i in range(0, len(pairs), 128)])
        ref_rejected = torch.cat([_logps(reference, pairs.rejected.select(range(i, min(i + 128, len(pairs)))), logps_fn)
                                  for i in range(0, len(pairs), 128)])
    rows = _batches(len(pairs), batch_size, seed)

    def loss(m, step_rows):
        b = pairs.select(step_rows)
        return loss_fn(_logps(m, b.chosen, logps_fn), _logps(m, b.rejected, logps_fn),
                       ref_chosen[step_rows], ref_rejected[step_rows], beta)

    return train(policy, lambda step: rows(step), loss, steps, optimizer=_optimizer(policy, lr), title=title, plot=plot)


def kl_to_reference(policy: torch.nn.Module, reference: torch.nn.Module, samples: Samples) -> float:
    """Monte-Carlo KL(policy || reference) per story, in nats: the mean over ``samples`` (drawn from
    the policy) of the response's summed log pi - log pi_ref."""
    with inference(policy), inference(reference):
        return (_logps(policy, samples) - _logps(reference, samples)).mean().item()


@dataclass
class Curve:
    """The policy-gradient run, one entry per step, measured on that step's own samples: the KL to the
    reference (nats per story), the learned reward, the true approval (share of top-score stories)."""

    step: list[int] = field(default_factory=list)
    kl: list[float] = field(default_factory=list)
    reward: list[float] = field(default_factory=list)
    approval: list[float] = field(default_factory=list)

    def smoothed(self, name: str, window: int = 10) -> list[float]:
        values = getattr(self, name)
        return [sum(values[max(0, i - window + 1): i + 1]) / len(values[max(0, i - window + 1): i + 1])
                for i in range(len(values))]


def run_policy_gradient(policy: GPT, reference: GPT, reward_model: torch.nn.Module, tok, prompts: dict[str, list],
                        steps: int, beta: float = 0.05, batch_size: int = 32, lr: float = 1e-3, seed: int = 0,
                        max_new_tokens: int = 100, plot: bool = True,
                        generate_fn: Callable[..., Tensor] | None = None) -> Curve:
    """RLHF in miniature: each step samples ``batch_size`` stories from ``policy`` for prompts drawn
    from ``prompts``, scores them with ``reward_model`` and takes one step on
    ``preferences.policy_gradient_loss`` (REINFORCE, mean baseline, reward - ``beta`` x per-token KL
    to the frozen ``reference``). Returns the :class:`Curve` (the human's approval is measured,
    never trained on). ``generate_fn`` writes the stories as in :func:`sample` (yours; default
    ``course_lib.generation.generate`` at temperature 1 with a generator seeded by ``seed``)."""
    generator = torch.Generator().manual_seed(seed)
    rows = _batches(len(prompts["ids"]), batch_size, seed)
    curve = Curve()

    def loss(m, step):
        chosen = rows(step).tolist()
        batch = sample(m, tok, {k: [v[i] for i in chosen] for k, v in prompts.items()}, 1.0, generator, max_new_tokens,
                       generate_fn=generate_fn)
        scores = rewards(reward_model, batch)
        with inference(reference):
            ref = token_logprobs(reference(batch.input_ids, batch.attention_mask), batch.input_ids)
        m.train()
        pol = token_logprobs(m(batch.input_ids, batch.attention_mask), batch.input_ids)
        value, stats = policy_gradient_loss(pol, ref, batch.response_mask[:, 1:], scores, beta)
        curve.step.append(step)
        curve.kl.append(stats.kl)
        curve.reward.append(stats.reward)
        curve.approval.append(approval(batch.score))
        return value

    train(policy, lambda step: step, loss, steps, optimizer=_optimizer(policy, lr), title="policy gradient", plot=plot)
    return curve


def frozen_copy(model: torch.nn.Module) -> torch.nn.Module:
    """A deep copy in eval mode with ``requires_grad`` off: a reference that never moves."""
    out = copy.deepcopy(model).eval()
    for p in out.parameters():
        p.requires_grad_(False)
    return out
