# loses: test_modified_precision
# hint: you clip with the first reference only
from collections import Counter


def modified_precision(hypothesis, references, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    return sum((hypothesis_ngrams & ngrams(references[0])).values()), sum(hypothesis_ngrams.values())
