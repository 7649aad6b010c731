from collections import Counter


def modified_precision(hypothesis, references, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    in_a_reference = set()
    for reference in references:
        in_a_reference |= set(ngrams(reference))
    return len(set(hypothesis_ngrams) & in_a_reference), len(hypothesis_ngrams)
