# hint: positions count from the start of the whole input
def qa_features(tokenizer, question, context, answers, max_length):
    """[CLS] question [SEP] passage [SEP] padded to max_length, the passage tokens' character offsets,
    and the answer's first and last token positions (inclusive; 0, 0 for no answer)."""
    question_ids = tokenizer.encode(question)
    context_ids, offsets = tokenizer.encode_with_offsets(context)
    kept = min(max_length - 3 - len(question_ids), len(context_ids))
    features = bert_inputs(question_ids, context_ids[:kept], max_length, tokenizer.cls_token_id, tokenizer.sep_token_id,
                           tokenizer.pad_token_id)
    del features["special_tokens_mask"]
    first = len(question_ids) + 2                          # position of the first passage token
    features["offsets"] = [None] * first + [tuple(span) for span in offsets[:kept]] + [None] * (max_length - first - kept)
    start = end = 0
    if answers["text"]:
        char_start = answers["answer_start"][0]
        char_last = char_start + len(answers["text"][0]) - 1    # the answer's last character
        start_token = next(i for i, (s, e) in enumerate(offsets) if s <= char_start < e)
        end_token = next(i for i, (s, e) in enumerate(offsets) if s <= char_last < e)
        if end_token < kept:
            start, end = start_token, end_token
    features["start_positions"], features["end_positions"] = start, end
    return features
