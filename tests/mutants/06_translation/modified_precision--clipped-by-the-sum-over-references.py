# loses: test_modified_precision
# hint: you add up the counts of the references
from collections import Counter


def modified_precision(hypothesis, references, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    all_references = Counter()
    for reference in references:
        all_references += ngrams(reference)
    return sum((hypothesis_ngrams & all_references).values()), sum(hypothesis_ngrams.values())
