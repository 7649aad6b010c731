"""Tests of course_lib.preferences: sequence log-probabilities against a token-by-token sum, the
reward model against HF transformers' GPT2ForSequenceClassification (last real token, not padding),
the Bradley-Terry and DPO losses against their formulas written out (value, ln 2 at policy =
reference, gradients, a reference that gets none), and the KL-penalised policy gradient on a bandit.

trl (1.16.0) is not used as a reference: its DPO loss is computed inside ``DPOTrainer._compute_loss``
from a model and a batch, not by a function of four log-probabilities, so the formula of
Rafailov et al. (2023, eq. 7) is written out here instead."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is local; never reach for the hub

import math

import pytest
import torch
import torch.nn.functional as F

transformers = pytest.importorskip("transformers")

from course_lib.causal_lm import token_logprobs  # noqa: E402
from course_lib.gpt import GPT, GPTConfig, hidden_states, load_hf_gpt2  # noqa: E402
from course_lib.preferences import (  # noqa: E402
    PolicyGradientStats,
    RewardModel,
    bradley_terry_loss,
    dpo_loss,
    last_token_index,
    pairwise_accuracy,
    policy_gradient_loss,
    sequence_logprobs,
)
from hf_gpt2 import PAD, hf_gpt2  # noqa: E402

LN2 = math.log(2)


# --- sequence log-probabilities ------------------------------------------------------------------


def test_sequence_logprobs_sums_the_response_tokens_only():
    logits = torch.randn(2, 7, 11, generator=torch.Generator().manual_seed(0))
    ids = torch.randint(0, 11, (2, 7), generator=torch.Generator().manual_seed(1))
    # row 0: prompt of 3, response of 4; row 1: prompt of 2, response of 3, then 2 padding
    response = torch.tensor([[0, 0, 0, 1, 1, 1, 1], [0, 0, 1, 1, 1, 0, 0]])
    expected = [
        sum(math.log(torch.softmax(logits[b, t - 1], -1)[ids[b, t]].item()) for t in range(7) if response[b, t])
        for b in range(2)
    ]
    got = sequence_logprobs(logits, ids, response)
    assert got.shape == (2,) and got.dtype == torch.float32
    torch.testing.assert_close(got, torch.tensor(expected), atol=1e-5, rtol=0)


def test_sequence_logprobs_has_gradients_only_through_response_positions():
    logits = torch.randn(1, 5, 4, requires_grad=True)
    ids = torch.tensor([[1, 2, 3, 0, 0]])
    sequence_logprobs(logits, ids, torch.tensor([[0, 0, 1, 1, 0]])).sum().backward()
    assert logits.grad[0, 1:3].abs().sum() > 0  # the logits at 1 and 2 score tokens 2 and 3
    assert logits.grad[0, [0, 3, 4]].abs().sum() == 0


def test_sequence_logprobs_errors():
    logits, ids = torch.randn(1, 3, 4), torch.tensor([[1, 2, 3]])
    with pytest.raises(ValueError, match="position 0"):
        sequence_logprobs(logits, ids, torch.tensor([[1, 1, 1]]))
    with pytest.raises(ValueError, match="response_mask"):
        sequence_logprobs(logits, ids, torch.tensor([[0, 1]]))
    with pytest.raises(ValueError, match="only 1 and 0"):
        sequence_logprobs(logits, ids, torch.tensor([[0, 2, 1]]))


# --- the reward model ----------------------------------------------------------------------------


def test_last_token_index_for_right_and_left_padding():
    assert last_token_index(torch.tensor([[1, 1, 1, 0], [1, 0, 0, 0], [0, 0, 1, 1], [1, 1, 1, 1]])).tolist() == [
        2, 0, 3, 3]
    with pytest.raises(ValueError, match="no real token"):
        last_token_index(torch.tensor([[1, 1], [0, 0]]))


def test_reward_model_matches_hf_sequence_classification():
    hf = hf_gpt2(transformers.GPT2ForSequenceClassification, num_labels=1)
    state = dict(hf.state_dict())
    score = state.pop("score.weight")
    model = RewardModel(load_hf_gpt2(GPT(GPTConfig.from_hf(hf.config)), state)).eval()
    with torch.no_grad():
        model.head.weight.copy_(score)
    ids = torch.randint(3, 61, (3, 9), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 6:] = 0
    mask[2, 2:] = 0
    ids = ids.masked_fill(mask == 0, PAD)
    with torch.no_grad():
        expected = hf(ids, attention_mask=mask).logits.squeeze(-1)
        got = model(ids, mask)
    assert got.shape == (3,)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=0)


def test_reward_does_not_depend_on_padding():
    torch.manual_seed(0)
    model = RewardModel(GPT(GPTConfig(vocab_size=20, n_positions=16, n_embd=16, n_layer=1, n_head=2))).eval()
    ids = torch.tensor([[4, 5, 6, 7]])
    with torch.no_grad():
        alone = model(ids)
        right = model(torch.tensor([[4, 5, 6, 7, 0, 0, 0]]), torch.tensor([[1, 1, 1, 1, 0, 0, 0]]))
        left = model(torch.tensor([[0, 0, 4, 5, 6, 7]]), torch.tensor([[0, 0, 1, 1, 1, 1]]))
        padding_read = model.head(hidden_states(model.gpt, torch.tensor([[4, 5, 6, 7, 0, 0, 0]]))[:, -1]).squeeze(-1)
    torch.testing.assert_close(right, alone, atol=1e-5, rtol=0)
    torch.testing.assert_close(left, alone, atol=1e-5, rtol=0)
    assert (padding_read - alone).abs().max() > 1e-3  # reading the last position, a pad, is another number


def test_reward_model_trains_on_a_toy_preference():
    """Bradley-Terry on pairs where the chosen sequence contains token 3: a few steps separate them."""
    torch.manual_seed(0)
    model = RewardModel(GPT(GPTConfig(vocab_size=8, n_positions=8, n_embd=16, n_layer=1, n_head=2, embd_pdrop=0.0,
                                      resid_pdrop=0.0)))
    chosen = torch.randint(4, 8, (32, 5))
    chosen[:, 2] = 3
    rejected = torch.randint(4, 8, (32, 5))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(30):
        loss = bradley_terry_loss(model(chosen), model(rejected))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        assert pairwise_accuracy(model(chosen), model(rejected)) == 1.0
        assert bradley_terry_loss(model(chosen), model(rejected)) < 0.1


def test_bradley_terry_loss_and_accuracy_formulas():
    r_chosen = torch.tensor([1.0, -0.5, 2.0, 0.3])
    r_rejected = torch.tensor([0.0, 0.5, 2.0, -1.0])
    expected = sum(math.log(1 + math.exp(-(c - r))) for c, r in zip(r_chosen.tolist(), r_rejected.tolist())) / 4
    assert bradley_terry_loss(r_chosen, r_rejected).item() == pytest.approx(expected, rel=1e-6)
    assert bradley_terry_loss(r_chosen + 7, r_rejected + 7).item() == pytest.approx(expected, rel=1e-6)
    assert pairwise_accuracy(r_chosen, r_rejected) == 0.5  # the tie counts as wrong
    with pytest.raises(ValueError, match="one shape"):
        bradley_terry_loss(r_chosen, r_rejected[:3])
    with pytest.raises(ValueError, match="float"):
        bradley_terry_loss(r_chosen.long(), r_rejected.long())


# --- DPO -----------------------------------------------------------------------------------------


def four_logps(seed: int, batch: int = 5) -> list[torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    return [-20 * torch.rand(batch, generator=generator) for _ in range(4)]


@pytest.mark.parametrize("beta", [0.05, 0.1, 0.5, 2.0])
def test_dpo_loss_matches_the_formula(beta):
    pc, pr, rc, rr = four_logps(0)
    loss, chosen_rewards, rejected_rewards = dpo_loss(pc, pr, rc, rr, beta)
    margins = [beta * ((a - b) - (c - d)) for a, b, c, d in zip(pc.tolist(), rc.tolist(), pr.tolist(), rr.tolist())]
    expected = sum(math.log(1 + math.exp(-m)) for m in margins) / len(margins)
    assert loss.dim() == 0 and loss.item() == pytest.approx(expected, rel=1e-5)
    torch.testing.assert_close(chosen_rewards, beta * (pc - rc))
    torch.testing.assert_close(rejected_rewards, beta * (pr - rr))
    assert not chosen_rewards.requires_grad


@pytest.mark.parametrize("beta", [0.01, 0.1, 1.0])
def test_dpo_loss_is_ln2_when_policy_is_reference(beta):
    pc, pr, _, _ = four_logps(1)
    loss, _, _ = dpo_loss(pc, pr, pc.clone(), pr.clone(), beta)
    assert loss.item() == pytest.approx(LN2, rel=1e-6)


def test_dpo_reference_gets_no_gradient_and_the_sign_raises_the_margin():
    pc, pr, rc, rr = (x.requires_grad_() for x in four_logps(2))
    loss, _, _ = dpo_loss(pc, pr, rc, rr, beta=0.1)
    loss.backward()
    assert rc.grad is None and rr.grad is None
    assert (pc.grad < 0).all() and (pr.grad > 0).all()  # descent raises chosen, lowers rejected
    margin = 0.1 * ((pc - rc) - (pr - rr)).detach()
    torch.testing.assert_close(pc.grad, -0.1 * torch.sigmoid(-margin) / 5)  # d/dm of -log sigmoid(m), averaged
    torch.testing.assert_close(pr.grad, 0.1 * torch.sigmoid(-margin) / 5)


def test_dpo_on_a_tiny_policy_raises_the_chosen_margin():
    """One step of DPO on a GPT: the implicit reward margin grows."""
    torch.manual_seed(0)
    config = GPTConfig(vocab_size=10, n_positions=8, n_embd=16, n_layer=1, n_head=2, embd_pdrop=0.0, resid_pdrop=0.0)
    policy, reference = GPT(config), GPT(config)
    reference.load_state_dict(policy.state_dict())
    chosen, rejected = torch.tensor([[1, 4, 5, 6]]), torch.tensor([[1, 4, 7, 8]])
    response = torch.tensor([[0, 0, 1, 1]])

    def margin() -> tuple[torch.Tensor, torch.Tensor]:
        logps = [sequence_logprobs(m(x), x, response) for m in (policy, reference) for x in (chosen, rejected)]
        loss, chosen_reward, rejected_reward = dpo_loss(*logps, beta=0.5)
        return loss, chosen_reward - rejected_reward

    loss, before = margin()
    assert loss.item() == pytest.approx(LN2, rel=1e-6) and before.item() == pytest.approx(0.0, abs=1e-6)
    optimiser = torch.optim.SGD(policy.parameters(), lr=0.5)
    loss.backward()
    optimiser.step()
    assert all(p.grad is None for p in reference.parameters())
    assert margin()[1].item() > 0.01


@pytest.mark.parametrize("beta, error", [(0.0, ValueError), (-0.1, ValueError), ("0.1", TypeError)])
def test_dpo_beta_must_be_positive(beta, error):
    with pytest.raises(error, match="beta"):
        dpo_loss(*four_logps(3), beta=beta)


def test_dpo_shapes_must_match():
    pc, pr, rc, rr = four_logps(4)
    with pytest.raises(ValueError, match="one shape"):
        dpo_loss(pc, pr, rc[:2], rr)
    with pytest.raises(ValueError, match=r"\(batch,\)"):
        dpo_loss(pc[:, None], pr[:, None], rc[:, None], rr[:, None])


# --- the KL-penalised policy gradient ------------------------------------------------------------


def bandit_logprobs(logits: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """(batch, 1): each one-token response's log-probability under a two-action policy."""
    return torch.log_softmax(logits, -1)[actions][:, None]


def test_policy_gradient_moves_towards_the_rewarded_action():
    logits = torch.zeros(2, requires_grad=True)
    reference = torch.zeros(2)
    actions = torch.tensor([0, 1, 0, 1, 1, 0])
    rewards = (actions == 1).float()
    loss, stats = policy_gradient_loss(
        bandit_logprobs(logits, actions), bandit_logprobs(reference, actions), torch.ones(6, 1), rewards, beta=0.1
    )
    loss.backward()
    assert logits.grad[1] < 0 < logits.grad[0]  # descent raises the rewarded action's logit
    assert isinstance(stats, PolicyGradientStats)
    assert stats.reward == pytest.approx(0.5) and stats.kl == pytest.approx(0.0, abs=1e-7)
    assert stats.objective == pytest.approx(0.5)


def test_policy_gradient_training_improves_reward_and_the_kl_holds_it_back():
    def train(beta: float) -> tuple[float, float]:
        generator = torch.Generator().manual_seed(0)
        logits = torch.zeros(2, requires_grad=True)
        optimiser = torch.optim.SGD([logits], lr=0.5)
        for _ in range(150):
            actions = torch.multinomial(torch.softmax(logits.detach(), -1), 64, replacement=True, generator=generator)
            rewards = (actions == 1).float()
            loss, stats = policy_gradient_loss(bandit_logprobs(logits, actions), bandit_logprobs(torch.zeros(2), actions),
                                               torch.ones(64, 1), rewards, beta)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        return torch.softmax(logits, -1)[1].item(), stats.kl

    free, penalised = train(0.0), train(1.0)
    assert free[0] > 0.95
    assert 0.6 < penalised[0] < free[0]  # the optimum of reward - KL is sigmoid(1 / beta) = 0.73
    assert penalised[1] < free[1]


def test_policy_gradient_matches_reinforce_written_out():
    logprobs = torch.tensor([[-1.0, -0.5, -2.0], [-0.2, -0.1, -0.3]], requires_grad=True)
    reference = torch.tensor([[-1.2, -0.4, -2.0], [-0.1, -0.1, -0.5]])
    mask = torch.tensor([[0, 1, 1], [0, 1, 1]])
    rewards = torch.tensor([1.0, -1.0])
    beta = 0.5
    loss, stats = policy_gradient_loss(logprobs, reference, mask, rewards, beta)
    kl = [(-0.5 + 0.4) + (-2.0 + 2.0), (-0.1 + 0.1) + (-0.3 + 0.5)]
    returns = [1.0 - beta * kl[0], -1.0 - beta * kl[1]]
    baseline = sum(returns) / 2
    expected = -sum((g - baseline) * (lp1 + lp2) for g, lp1, lp2 in zip(returns, [-0.5, -0.1], [-2.0, -0.3])) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    assert stats.kl == pytest.approx(sum(kl) / 2, abs=1e-6)
    assert stats.objective == pytest.approx(baseline, abs=1e-6)
    loss.backward()
    assert logprobs.grad[:, 0].abs().sum() == 0  # prompt tokens are not trained


def test_policy_gradient_kl_is_zero_when_policy_is_reference():
    config = GPTConfig(vocab_size=10, n_positions=8, n_embd=16, n_layer=1, n_head=2)
    torch.manual_seed(0)
    policy = GPT(config).eval()
    ids = torch.randint(0, 10, (3, 6))
    per_token = token_logprobs(policy(ids), ids)
    _, stats = policy_gradient_loss(per_token, per_token.detach().clone(), torch.ones(3, 5), torch.randn(3), beta=0.2)
    assert stats.kl == 0.0


@pytest.mark.parametrize(
    "change, words",
    [
        (dict(beta=-1.0), "beta"),
        (dict(reference_logprobs=torch.zeros(2, 4)), "must match"),
        (dict(response_mask=torch.ones(2, 4)), "response_mask"),
        (dict(rewards=torch.zeros(3)), "one entry per sequence"),
        (dict(policy_logprobs=torch.zeros(2, 3, dtype=torch.long)), "float"),
    ],
)
def test_policy_gradient_errors(change, words):
    arguments = dict(policy_logprobs=torch.zeros(2, 3), reference_logprobs=torch.zeros(2, 3),
                     response_mask=torch.ones(2, 3), rewards=torch.zeros(2), beta=0.1)
    with pytest.raises(ValueError, match=words):
        policy_gradient_loss(**{**arguments, **change})


def test_reward_model_refuses_a_non_gpt():
    with pytest.raises(TypeError, match="course_lib.gpt.GPT"):
        RewardModel(torch.nn.Linear(2, 2))


def test_logsigmoid_form_is_stable_for_large_margins():
    loss, _, _ = dpo_loss(torch.tensor([0.0]), torch.tensor([-1e4]), torch.tensor([0.0]), torch.tensor([0.0]), beta=1.0)
    assert loss.item() == pytest.approx(0.0, abs=1e-6)
    loss, _, _ = dpo_loss(torch.tensor([-1e4]), torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([0.0]), beta=1.0)
    assert loss.item() == pytest.approx(1e4, rel=1e-6) and math.isfinite(loss.item())
    assert F.logsigmoid(torch.tensor(-1e4)).item() == pytest.approx(-1e4)
