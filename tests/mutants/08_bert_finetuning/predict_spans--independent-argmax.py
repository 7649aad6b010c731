# hint: ends (3) before it starts (5)
def best_spans(start_logits, end_logits, passage_mask, max_answer_length):
    """The best legal span of each row: (starts, ends, scores), each (batch,); ends inclusive."""
    start_best, starts = start_logits.masked_fill(~passage_mask, float("-inf")).max(dim=1)
    end_best, ends = end_logits.masked_fill(~passage_mask, float("-inf")).max(dim=1)
    return starts, ends, start_best + end_best


def predict_spans(start_logits, end_logits, passage_mask, max_answer_length, threshold):
    """The best span where its score > s_null + threshold, else (0, 0): (starts, ends), each (batch,)."""
    starts, ends, scores = best_spans(start_logits, end_logits, passage_mask, max_answer_length)
    null = start_logits[:, 0] + end_logits[:, 0]
    answered = scores > null + threshold
    return torch.where(answered, starts, 0), torch.where(answered, ends, 0)
