from collections import Counter


def modified_precision(hypothesis, reference, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    reference_ngrams = ngrams(reference)
    return sum(c for g, c in hypothesis_ngrams.items() if g in reference_ngrams), sum(hypothesis_ngrams.values())
