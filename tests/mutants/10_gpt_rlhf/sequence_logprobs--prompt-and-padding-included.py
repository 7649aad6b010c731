# hint: multiply by response_mask[:, 1:] first
def sequence_logprobs(logits, input_ids, response_mask):
    """log pi(response | prompt) per sequence: the response tokens' log-probabilities, summed. (batch,)"""
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    per_token = log_probs.gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    return per_token.sum(dim=-1)


def dpo_loss(policy_chosen_logps, policy_rejected_logps, reference_chosen_logps, reference_rejected_logps, beta=0.1):
    """-log sigmoid(beta * [(pi - ref)(chosen) - (pi - ref)(rejected)]), averaged over pairs; the reference gets no gradient."""
    chosen = beta * (policy_chosen_logps - reference_chosen_logps.detach())
    rejected = beta * (policy_rejected_logps - reference_rejected_logps.detach())
    return -F.logsigmoid(chosen - rejected).mean()
