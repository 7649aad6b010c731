# hint: divide by the temperature
def apply_temperature(logits, temperature):
    """logits / temperature; temperature 0 is greedy: 0 at each row's argmax, -inf elsewhere."""
    if temperature == 0:
        greedy = torch.full_like(logits, float("-inf"))
        return greedy.scatter(-1, logits.argmax(dim=-1, keepdim=True), 0.0)
    return logits * temperature


def top_k_filter(logits, k):
    """Keep the k highest logits of each row (and ties with the k-th), -inf elsewhere."""
    k = min(k, logits.shape[-1])
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
