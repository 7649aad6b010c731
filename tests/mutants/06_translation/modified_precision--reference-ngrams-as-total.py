from collections import Counter


def modified_precision(hypothesis, references, n):
    def ngrams(tokens):
        return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))

    hypothesis_ngrams = ngrams(hypothesis)
    most_in_one_reference = Counter()
    for reference in references:
        most_in_one_reference |= ngrams(reference)
    return sum((hypothesis_ngrams & most_in_one_reference).values()), sum(most_in_one_reference.values())
