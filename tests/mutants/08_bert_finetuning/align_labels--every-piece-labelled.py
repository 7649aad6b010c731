# hint: Continuation pieces got the word's label
def align_labels(word_ids, word_labels):
    """Word labels moved to tokens: the word's label on its first token, -100 elsewhere."""
    labels, previous = [], None
    for w in word_ids:
        labels.append(-100 if w is None else int(word_labels[w]))
        if w is not None:
            previous = w
    return labels


def word_predictions(token_predictions, word_ids):
    """Each word's prediction, read from its first token."""
    first = {}
    for prediction, w in zip(token_predictions, word_ids):
        if w is not None and w not in first:
            first[w] = int(prediction)
    return [first[w] for w in range(len(first))]
