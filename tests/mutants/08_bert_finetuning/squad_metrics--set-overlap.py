# hint: count the overlap as a multiset
import re
import string
from collections import Counter


def normalize_answer(text):
    """Lowercase, drop ASCII punctuation, drop the articles a/an/the, collapse whitespace."""
    text = "".join(char for char in text.lower() if char not in string.punctuation)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction, gold_answers):
    """1.0 if the normalised prediction equals a normalised gold answer (or both are empty), else 0.0."""
    golds = [gold for gold in gold_answers if normalize_answer(gold)] or [""]
    return float(any(normalize_answer(prediction) == normalize_answer(gold) for gold in golds))


def token_f1(prediction, gold_answers):
    """The best token F1 of the prediction over the gold answers; no-answer scores as in SQuAD 2.0."""
    golds = [gold for gold in gold_answers if normalize_answer(gold)] or [""]
    predicted = normalize_answer(prediction).split()
    best = 0.0
    for gold in golds:
        gold_tokens = normalize_answer(gold).split()
        if not predicted or not gold_tokens:
            score = float(predicted == gold_tokens)
        else:
            same = len(set(predicted) & set(gold_tokens))
            precision, recall = same / len(predicted), same / len(gold_tokens)
            score = 0.0 if same == 0 else 2 * precision * recall / (precision + recall)
        best = max(best, score)
    return best
