from collections import Counter


def modified_precision(hypothesis, reference, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    return len(set(hypothesis_ngrams) & set(ngrams(reference))), len(hypothesis_ngrams)
