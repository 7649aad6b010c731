# hint: keep the token that crosses p too
def top_p_filter(logits, p):
    """Nucleus filter: keep the most probable tokens up to and including the one where their total reaches p."""
    sorted_logits = logits.sort(dim=-1, descending=True).values
    running = sorted_logits.softmax(dim=-1).cumsum(dim=-1)
    keep = running <= p
    threshold = sorted_logits.masked_fill(~keep, float("inf")).min(dim=-1, keepdim=True).values
    return logits.masked_fill(logits < threshold, float("-inf"))
