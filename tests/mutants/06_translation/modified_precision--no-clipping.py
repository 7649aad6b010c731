# loses: test_modified_precision
# hint: clip each n-gram's count to its count in the reference
from collections import Counter


def modified_precision(hypothesis, references, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    in_a_reference = set()
    for reference in references:
        in_a_reference |= set(ngrams(reference))
    return sum(c for g, c in hypothesis_ngrams.items() if g in in_a_reference), sum(hypothesis_ngrams.values())
