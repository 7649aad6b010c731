def top_p_filter(logits, p):
    """Nucleus filter: keep the most probable tokens up to and including the one where their total reaches p."""
    running = logits.softmax(dim=-1).cumsum(dim=-1)
    keep = torch.cat((torch.ones_like(running[..., :1], dtype=torch.bool), running[..., :-1] < p), dim=-1)
    return logits.masked_fill(~keep, float("-inf"))
