# hint: decide 80/10/10 once per span
def span_mask_tokens(input_ids, special_tokens_mask, vocab_size, mask_token_id, generator, mlm_probability=0.15, *,
                     is_continuation=None):
    """SpanBERT's masking: whole-word spans of geometric length up to the 15% budget, 80/10/10 per span."""
    maskable = special_tokens_mask == 0
    starts = maskable if is_continuation is None else word_starts(input_ids, special_tokens_mask, is_continuation)
    pmf = span_length_pmf()
    masked_ids, labels = input_ids.clone(), torch.full_like(input_ids, IGNORE_INDEX)
    for row in range(input_ids.shape[0]):
        words = []  # [first token, one past the last token] of each word
        for i in range(input_ids.shape[1]):
            if starts[row, i]:
                words.append([i, i + 1])
            elif maskable[row, i] and words:
                words[-1][1] = i + 1
        if not words:
            continue
        budget = max(1, round(mlm_probability * int(maskable[row].sum())))
        taken, spent = [False] * len(words), 0
        while spent < budget:
            free = [w for w, t in enumerate(taken) if not t]
            w = free[int(torch.randint(len(free), (1,), generator=generator))]
            length = int(torch.multinomial(pmf, 1, generator=generator)) + 1
            first = w
            while (w < len(words) and w - first < length and spent < budget and not taken[w]
                   and (w == first or words[w][0] == words[w - 1][1])):
                taken[w] = True
                spent += words[w][1] - words[w][0]
                w += 1
            start, end = words[first][0], words[w - 1][1]
            labels[row, start:end] = input_ids[row, start:end]
            for i in range(start, end):  # BERT's 80/10/10, token by token
                u = float(torch.rand(1, generator=generator))
                if u < 0.8:
                    masked_ids[row, i] = mask_token_id
                elif u < 0.9:
                    masked_ids[row, i] = int(torch.randint(vocab_size, (1,), generator=generator))
    return masked_ids, labels

