def corpus_bleu(hypotheses, references):
    if len(hypotheses) != len(references):
        raise ValueError("one reference per hypothesis")
    scores = []
    for hypothesis, reference in zip(hypotheses, references):
        hyp_tokens, ref_tokens = bleu.tokenize_13a(hypothesis), bleu.tokenize_13a(reference)
        log_precisions, unmatched_orders = [], 0
        for n in range(1, 5):
            m, t = modified_precision(hyp_tokens, ref_tokens, n)
            if t == 0:
                log_precisions = None
                break
            if m == 0:
                unmatched_orders += 1
                m = 1 / 2 ** unmatched_orders
            log_precisions.append(math.log(m / t))
        if not log_precisions or unmatched_orders == 4:
            scores.append(0.0)
            continue
        penalty = 1.0 if len(hyp_tokens) >= len(ref_tokens) else math.exp(1 - len(ref_tokens) / len(hyp_tokens))
        scores.append(100 * penalty * math.exp(sum(log_precisions) / 4))
    return sum(scores) / len(scores)
