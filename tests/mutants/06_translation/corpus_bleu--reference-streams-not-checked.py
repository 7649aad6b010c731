# loses: test_corpus_bleu
# hint: should raise a ValueError
def corpus_bleu(hypotheses, references):
    matches, totals = [0] * 4, [0] * 4
    hyp_len = ref_len = 0
    for i, hypothesis in enumerate(hypotheses):
        hyp_tokens = bleu.tokenize_13a(hypothesis)
        ref_tokens = [bleu.tokenize_13a(stream[i]) for stream in references]
        hyp_len += len(hyp_tokens)
        ref_len += min((len(tokens) for tokens in ref_tokens), key=lambda length: (abs(length - len(hyp_tokens)), length))
        for n in range(1, 5):
            m, t = modified_precision(hyp_tokens, ref_tokens, n)
            matches[n - 1] += m
            totals[n - 1] += t
    if hyp_len == 0 or not any(matches) or not all(totals):
        return 0.0
    log_precisions, unmatched_orders = [], 0
    for m, t in zip(matches, totals):
        if m == 0:
            unmatched_orders += 1
            log_precisions.append(math.log(1 / (2 ** unmatched_orders * t)))
        else:
            log_precisions.append(math.log(m / t))
    brevity_penalty = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return 100 * brevity_penalty * math.exp(sum(log_precisions) / 4)
