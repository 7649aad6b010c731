# hint: the logits at position t predict the NEXT token
def lm_loss(logits, input_ids, attention_mask=None):
    """Mean cross-entropy of each real next token: logits[:, t] scores input_ids[:, t + 1]; padding targets ignored."""
    nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), input_ids.reshape(-1), reduction="none").reshape(input_ids.shape)
    if attention_mask is None:
        return nll.mean()
    real = attention_mask.to(nll.dtype)
    return (nll * real).sum() / real.sum()


def perplexity(logits, input_ids, attention_mask=None):
    """exp(lm_loss): how many equally likely tokens the model is choosing among."""
    return lm_loss(logits, input_ids, attention_mask).exp()
