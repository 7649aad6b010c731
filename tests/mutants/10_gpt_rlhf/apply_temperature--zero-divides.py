# hint: temperature 0 must not divide
def apply_temperature(logits, temperature):
    """logits / temperature; temperature 0 is greedy: 0 at each row's argmax, -inf elsewhere."""
    return logits / temperature


def top_k_filter(logits, k):
    """Keep the k highest logits of each row (and ties with the k-th), -inf elsewhere."""
    k = min(k, logits.shape[-1])
    kth = logits.topk(k, dim=-1).values[..., -1:]
    return logits.masked_fill(logits < kth, float("-inf"))
