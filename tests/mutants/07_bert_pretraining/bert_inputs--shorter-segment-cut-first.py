def bert_inputs(tokens_a, tokens_b, max_length, cls_id, sep_id, pad_id):
    """[CLS] A [SEP] (B [SEP]), truncated longest-first and right-padded: input_ids, token_type_ids, attention_mask, special_tokens_mask."""
    a, b = list(tokens_a), list(tokens_b or [])
    b_began_longer = len(b) >= len(a)
    while len(a) + len(b) > max_length - (2 if tokens_b is None else 3):
        if len(a) < len(b) or (len(a) == len(b) and b_began_longer):
            a.pop()
        else:
            b.pop()
    input_ids = [cls_id] + a + [sep_id]
    token_type_ids = [0] * len(input_ids)
    special_tokens_mask = [1] + [0] * len(a) + [1]
    if tokens_b is not None:
        input_ids += b + [sep_id]
        token_type_ids += [1] * (len(b) + 1)
        special_tokens_mask += [0] * len(b) + [1]
    pad = max_length - len(input_ids)
    return {"input_ids": input_ids + [pad_id] * pad, "token_type_ids": token_type_ids + [0] * pad,
            "attention_mask": [1] * len(input_ids) + [0] * pad, "special_tokens_mask": special_tokens_mask + [1] * pad}
