"""Learning from human preferences: a reward model, DPO, and a KL-penalised policy gradient (lesson 10_gpt_rlhf).

InstructGPT (Ouyang et al. 2022) tunes a pretrained language model towards what people prefer in
three steps: supervised fine-tuning on demonstrations; a *reward model* trained on pairs of
responses a labeller compared; reinforcement learning of the policy against that reward, with a
per-token KL penalty that keeps it near the fine-tuned model (the *reference*), because a learned
reward is only trustworthy near the data it was trained on. DPO (Rafailov et al. 2023) skips the
reward model and the sampling loop: under the same KL-regularised objective the optimal policy
defines an implicit reward beta * log(pi / pi_ref), so the preference pairs can train the policy
directly with a classification loss.

- ``sequence_logprobs``: log pi(response | prompt), the response tokens' log-probabilities SUMMED
  (not averaged; prompt and padding excluded), the quantity both DPO and the policy gradient use.
- ``RewardModel``: the LM's final hidden state at each sequence's last REAL token (not a padding
  position) through a scalar head; ``bradley_terry_loss`` and ``pairwise_accuracy`` train and
  score it on pairs: P(chosen preferred) = sigmoid(r_chosen - r_rejected) (Bradley and Terry 1952).
- ``dpo_loss``: -log sigmoid(beta * [(log pi - log pi_ref)(chosen) - (log pi - log pi_ref)(rejected)]).
- ``policy_gradient_loss``: REINFORCE with a mean-reward baseline on reward - beta * KL, the
  InstructGPT objective in miniature (plain policy gradient, no PPO clipping).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from course_lib.causal_lm import token_logprobs
from course_lib.gpt import GPT, check_attention_mask, hidden_states, positions_from_mask

__all__ = [
    "sequence_logprobs",
    "last_token_index",
    "RewardModel",
    "bradley_terry_loss",
    "pairwise_accuracy",
    "dpo_loss",
    "PolicyGradientStats",
    "policy_gradient_loss",
]


_RESPONSE = " (1 on the response's tokens, 0 on the prompt and padding)"


def _check_scores(**named: object) -> None:
    """Same-shaped (batch,) float tensors, at least one row."""
    shapes = set()
    for name, value in named.items():
        if not isinstance(value, Tensor) or not value.is_floating_point() or value.dim() != 1 or not value.numel():
            got = f"{value.dtype} {tuple(value.shape)}" if isinstance(value, Tensor) else type(value).__name__
            raise ValueError(f"{name} must be a non-empty float (batch,) tensor, one score per pair; got {got}.")
        shapes.add(value.shape)
    if len(shapes) > 1:
        raise ValueError(f"{', '.join(named)} must have one shape (one entry per pair); got {sorted(map(tuple, shapes))}.")


def sequence_logprobs(logits: Tensor, input_ids: Tensor, response_mask: Tensor) -> Tensor:
    """log pi(response | prompt) per sequence: the response tokens' log-probabilities summed, (batch,).

    ``logits`` (batch, seq, vocab) from the model on ``input_ids`` (batch, seq) = prompt + response
    (+ padding); ``response_mask`` (batch, seq), 1 on the response's tokens, 0 on the prompt and
    padding. Token t is scored by the logits at t - 1 (the shift), so position 0 cannot be a
    response token: ValueError if it is, or for shapes that do not fit. Float32, with gradients.
    Summed, not averaged: a sequence's probability is the product of its tokens'.
    """
    per_token = token_logprobs(logits, input_ids)  # (batch, seq - 1), checks logits and ids
    mask = check_attention_mask("response_mask", response_mask, tuple(input_ids.shape), _RESPONSE).float()
    if mask[:, 0].any():
        raise ValueError(
            "response_mask is 1 at position 0, which no logits score: a response must follow a prompt "
            "of at least one token (e.g. a start token)."
        )
    return (per_token * mask[:, 1:]).sum(dim=-1)


def last_token_index(attention_mask: Tensor) -> Tensor:
    """The position of each row's last real token, (batch,) long, for left or right padding.

    ``attention_mask`` (batch, seq), 1 = real, 0 = padding. With right padding this is the
    number of real tokens minus one, not seq - 1 (a padding position). ValueError for a row
    without a real token.
    """
    if not isinstance(attention_mask, Tensor) or attention_mask.dim() != 2:
        raise ValueError("attention_mask must be a (batch, seq) tensor of 1 (real) and 0 (padding).")
    mask = check_attention_mask("attention_mask", attention_mask, tuple(attention_mask.shape)).long()
    if (mask.sum(dim=-1) == 0).any():
        raise ValueError("a row of attention_mask has no real token, so it has no last token to score.")
    positions = torch.arange(mask.shape[1], device=mask.device)
    return (positions * mask).argmax(dim=-1)


class RewardModel(nn.Module):
    """A scalar reward for a whole sequence: a GPT's final hidden state at its last real token, through
    a linear head to one number (Ouyang et al. 2022, section 3.5; Stiennon et al. 2020).

    ``RewardModel(gpt)`` trains ``gpt`` itself (pass ``copy.deepcopy(sft_model)`` to keep the
    original); the head is ``nn.Linear(n_embd, 1, bias=False)`` (a bias cancels out of every
    comparison), as in HF's ``GPT2ForSequenceClassification``, starting from N(0, 1/(n_embd + 1)).
    ``forward(input_ids, attention_mask=None)`` -> rewards (batch,) float: input_ids (batch, seq),
    attention_mask (batch, seq) 1 = real, 0 = padding, left or right: positions are counted over
    the real tokens (``positions_from_mask``) and the reward read at ``last_token_index``, so a
    sequence gets the same reward however it is padded.
    """

    def __init__(self, gpt: GPT) -> None:
        super().__init__()
        if not isinstance(gpt, GPT):
            raise TypeError(f"RewardModel reads the hidden states of a course_lib.gpt.GPT; got {type(gpt).__name__}.")
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.n_embd, 1, bias=False)
        nn.init.normal_(self.head.weight, std=(gpt.config.n_embd + 1) ** -0.5)

    def forward(self, input_ids: Tensor, attention_mask: Tensor | None = None) -> Tensor:
        if attention_mask is None:
            hidden = hidden_states(self.gpt, input_ids)  # (batch, seq, n_embd); checks the inputs
            last = torch.full((input_ids.shape[0],), input_ids.shape[1] - 1, device=hidden.device)
        else:
            last = last_token_index(attention_mask)  # checks the mask
            hidden = hidden_states(self.gpt, input_ids, attention_mask, position_ids=positions_from_mask(attention_mask))
            last = last.to(hidden.device)
        return self.head(hidden[torch.arange(hidden.shape[0], device=hidden.device), last]).squeeze(-1)


def bradley_terry_loss(r_chosen: Tensor, r_rejected: Tensor) -> Tensor:
    """-log sigmoid(r_chosen - r_rejected), averaged over pairs: a float scalar tensor.

    The negative log-likelihood of the labels under the Bradley-Terry model P(chosen preferred) =
    sigmoid(r_chosen - r_rejected). ``r_chosen``, ``r_rejected``: (batch,) rewards of the preferred
    and the other response of each pair. Only differences matter: adding a constant to every
    reward changes nothing. ValueError for tensors that are not matching (batch,) floats.
    """
    _check_scores(r_chosen=r_chosen, r_rejected=r_rejected)
    return -F.logsigmoid(r_chosen - r_rejected).mean()


def pairwise_accuracy(r_chosen: Tensor, r_rejected: Tensor) -> float:
    """The share of pairs whose chosen response gets the strictly higher reward (ties count as wrong)."""
    _check_scores(r_chosen=r_chosen, r_rejected=r_rejected)
    return (r_chosen > r_rejected).float().mean().item()


def dpo_loss(
    policy_chosen_logps: Tensor,
    policy_rejected_logps: Tensor,
    reference_chosen_logps: Tensor,
    reference_rejected_logps: Tensor,
    beta: float = 0.1,
) -> tuple[Tensor, Tensor, Tensor]:
    """The DPO loss (Rafailov et al. 2023, eq. 7) and the implicit rewards: (loss, chosen_rewards, rejected_rewards).

    All four inputs are (batch,) float sequence log-probabilities (``sequence_logprobs``) of the
    chosen and rejected responses under the policy (with gradients) and the frozen reference. The
    implicit reward is beta * (log pi - log pi_ref); the loss is
    -log sigmoid(chosen_reward - rejected_reward), averaged over pairs, a float scalar. The
    reference is detached here, so it never receives a gradient. The rewards (batch,) are
    detached too (for plotting). When policy = reference the loss is ln 2 whatever beta is; it
    lowers only by raising the chosen margin over the rejected one (the chosen log-probability may
    still fall). ValueError for beta <= 0 (beta = 0 leaves the loss at ln 2) and for inputs that are
    not matching (batch,) floats; TypeError for a non-number beta.
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)):
        raise TypeError(f"beta must be a number > 0 (the strength of the KL constraint); got {beta!r}.")
    if not beta > 0:
        raise ValueError(f"beta must be > 0 (typically 0.1 to 0.5); got {beta}. With beta = 0 the loss is stuck at ln 2.")
    _check_scores(
        policy_chosen_logps=policy_chosen_logps,
        policy_rejected_logps=policy_rejected_logps,
        reference_chosen_logps=reference_chosen_logps,
        reference_rejected_logps=reference_rejected_logps,
    )
    chosen_rewards = beta * (policy_chosen_logps - reference_chosen_logps.detach())
    rejected_rewards = beta * (policy_rejected_logps - reference_rejected_logps.detach())
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


@dataclass
class PolicyGradientStats:
    """What a policy-gradient step reports, averaged over the batch (floats, for plotting).

    reward: the reward model's score; kl: the sampled estimate of KL(pi || pi_ref) per sequence,
    the sum over response tokens of log pi - log pi_ref; objective: reward - beta * kl.
    """

    reward: float
    kl: float
    objective: float


def policy_gradient_loss(
    policy_logprobs: Tensor,
    reference_logprobs: Tensor,
    response_mask: Tensor,
    rewards: Tensor,
    beta: float,
) -> tuple[Tensor, PolicyGradientStats]:
    """REINFORCE with a baseline on the KL-penalised reward; returns (loss, ``PolicyGradientStats``).

    ``policy_logprobs`` (batch, T): log pi of each sampled token (with gradients), e.g.
    ``token_logprobs(policy(ids), ids)``; ``reference_logprobs`` (batch, T): the same tokens under
    the frozen reference; ``response_mask`` (batch, T): 1 on the sampled response's tokens, 0 on
    the prompt and padding (aligned with the log-probabilities: for ``token_logprobs``'s output,
    the sequence's mask without its first column, ``mask[:, 1:]``); ``rewards`` (batch,): the reward model's score of each sequence.

    Per token the KL penalty is beta * (log pi - log pi_ref) (Ouyang et al. 2022, eq. 2), summed
    over the response into each sequence's return R = reward - beta * KL. The baseline is the
    batch's mean return; the advantage A = R - mean(R) is a constant (no gradient through it), and
    loss = -mean(A * log pi(response)): descending it makes responses with above-average return
    more likely. Its gradient estimates minus the gradient of E[reward - beta * KL]. The baseline
needs several responses per step: with a batch of one the advantage is 0. ValueError for
    shapes that do not fit, a mask not 0/1, or beta < 0 (beta = 0 drops the penalty).
    """
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta >= 0:
        raise ValueError(f"beta must be a number >= 0 (the weight of the KL penalty); got {beta!r}.")
    for name, value in (("policy_logprobs", policy_logprobs), ("reference_logprobs", reference_logprobs)):
        if not isinstance(value, Tensor) or not value.is_floating_point() or value.dim() != 2:
            raise ValueError(f"{name} must be a float (batch, T) tensor of per-token log-probabilities.")
    if reference_logprobs.shape != policy_logprobs.shape:
        raise ValueError(
            f"reference_logprobs {tuple(reference_logprobs.shape)} must match policy_logprobs "
            f"{tuple(policy_logprobs.shape)}: the same sampled tokens under both models."
        )
    mask = check_attention_mask("response_mask", response_mask, tuple(policy_logprobs.shape), _RESPONSE).float()
    _check_scores(rewards=rewards)
    if rewards.shape[0] != policy_logprobs.shape[0]:
        raise ValueError(f"rewards must have one entry per sequence ({policy_logprobs.shape[0]}); got {rewards.shape[0]}.")
    kl = ((policy_logprobs - reference_logprobs.detach()) * mask).sum(dim=-1).detach()
    returns = rewards.detach() - beta * kl
    advantages = returns - returns.mean()
    loss = -(advantages * (policy_logprobs * mask).sum(dim=-1)).mean()
    stats = PolicyGradientStats(rewards.mean().item(), kl.mean().item(), returns.mean().item())
    return loss, stats
