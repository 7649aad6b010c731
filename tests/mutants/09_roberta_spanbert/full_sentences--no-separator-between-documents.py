# hint: runs straight into the second document
def full_sentences(documents, max_length, cls_id, sep_id, pad_id):
    """Packs sentences in order but forgets the [SEP] between documents."""
    room = max_length - 2
    rows, row = [], []
    for document in documents:
        for sentence in document:
            if not sentence:
                continue
            if row and len(row) + len(sentence) > room:
                rows.append(row)
                row = []
            row.extend(sentence[:room] if not row else sentence)
    if row:
        rows.append(row)
    out = []
    for content in rows:
        pad = max_length - len(content) - 2
        out.append({"input_ids": [cls_id, *content, sep_id] + [pad_id] * pad, "token_type_ids": [0] * max_length,
                    "attention_mask": [1] * (len(content) + 2) + [0] * pad,
                    "special_tokens_mask": [1] + [0] * len(content) + [1] + [1] * pad})
    return out
