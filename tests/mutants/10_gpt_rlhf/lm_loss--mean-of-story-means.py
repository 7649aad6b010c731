# hint: Your loss averages per story
def lm_loss(logits, input_ids, attention_mask=None):
    """Mean cross-entropy of each real next token: logits[:, t] scores input_ids[:, t + 1]; padding targets ignored."""
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    nll = -log_probs.gather(-1, input_ids[:, 1:, None]).squeeze(-1)
    if attention_mask is None:
        return nll.mean()
    real = attention_mask[:, 1:].to(nll.dtype)
    return ((nll * real).sum(dim=1) / real.sum(dim=1)).mean()


def perplexity(logits, input_ids, attention_mask=None):
    """exp(lm_loss): how many equally likely tokens the model is choosing among."""
    return lm_loss(logits, input_ids, attention_mask).exp()
