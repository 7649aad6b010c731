# hint: feed each new token at its row's last position + 1
def generate(model, input_ids, attention_mask, max_new_tokens, sample, use_cache=True):
    """Left-padded prompts (batch, length) followed by max_new_tokens tokens drawn one at a time by sample(logits)."""
    ids, mask = input_ids, attention_mask
    positions = positions_from_mask(attention_mask)
    cache = new_cache(model) if use_cache else None
    with torch.no_grad():
        logits = model(ids, mask, positions, cache)[:, -1]
        for step in range(max_new_tokens):
            token = sample(logits)[:, None]
            ids = torch.cat((ids, token), dim=1)
            mask = torch.cat((mask, torch.ones_like(token)), dim=1)
            positions = torch.cat((positions, positions[:, -1:] + 1), dim=1)
            if step == max_new_tokens - 1:
                break
            if use_cache:
                logits = model(token, mask, torch.zeros_like(token), cache)[:, -1]
            else:
                logits = model(ids, mask, positions)[:, -1]
    return ids
