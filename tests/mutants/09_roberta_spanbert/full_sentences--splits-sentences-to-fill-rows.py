# hint: A sentence was split to fill a row
def full_sentences(documents, max_length, cls_id, sep_id, pad_id):
    """Fills every row to the brim, cutting sentences at row ends."""
    room = max_length - 2
    stream, separators = [], []
    for d, document in enumerate(documents):
        for s, sentence in enumerate(document):
            if not sentence:
                continue
            if stream and s == next(k for k, x in enumerate(document) if x):
                stream.append(sep_id)
                separators.append(1)
            stream.extend(sentence)
            separators.extend([0] * len(sentence))
    out = []
    for start in range(0, len(stream), room):
        content, separator = stream[start:start + room], separators[start:start + room]
        pad = max_length - len(content) - 2
        out.append({"input_ids": [cls_id, *content, sep_id] + [pad_id] * pad, "token_type_ids": [0] * max_length,
                    "attention_mask": [1] * (len(content) + 2) + [0] * pad,
                    "special_tokens_mask": [1, *separator, 1] + [1] * pad})
    return out
