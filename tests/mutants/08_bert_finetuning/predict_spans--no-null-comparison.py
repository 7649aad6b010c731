# hint: Compare the best span's score with s_null + threshold
def best_spans(start_logits, end_logits, passage_mask, max_answer_length):
    """The best legal span of each row: (starts, ends, scores), each (batch,); ends inclusive."""
    seq = start_logits.shape[1]
    position = torch.arange(seq, device=start_logits.device)
    length = position[None, :] - position[:, None]         # j - i at [i, j]
    allowed = (length >= 0) & (length < max_answer_length) & passage_mask[:, :, None] & passage_mask[:, None, :]
    scores = (start_logits[:, :, None] + end_logits[:, None, :]).masked_fill(~allowed, float("-inf"))
    best, flat = scores.flatten(1).max(dim=1)
    return flat // seq, flat % seq, best


def predict_spans(start_logits, end_logits, passage_mask, max_answer_length, threshold):
    """The best span where its score > s_null + threshold, else (0, 0): (starts, ends), each (batch,)."""
    starts, ends, scores = best_spans(start_logits, end_logits, passage_mask, max_answer_length)
    null = start_logits[:, 0] + end_logits[:, 0]
    answered = scores > threshold
    return torch.where(answered, starts, 0), torch.where(answered, ends, 0)
