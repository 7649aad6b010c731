# loses: test_corpus_bleu, test_corpus_bleu_details
# hint: Your score is the mean of sentence-level BLEU
def corpus_bleu(hypotheses, references):
    if any(len(stream) != len(hypotheses) for stream in references):
        raise ValueError("every reference stream needs one reference per hypothesis")
    scores = []
    for i, hypothesis in enumerate(hypotheses):
        hyp_tokens = bleu.tokenize_13a(hypothesis)
        ref_tokens = [bleu.tokenize_13a(stream[i]) for stream in references]
        ref_len = min((len(tokens) for tokens in ref_tokens), key=lambda length: (abs(length - len(hyp_tokens)), length))
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
        penalty = 1.0 if len(hyp_tokens) >= ref_len else math.exp(1 - ref_len / len(hyp_tokens))
        scores.append(100 * penalty * math.exp(sum(log_precisions) / 4))
    return sum(scores) / len(scores)
