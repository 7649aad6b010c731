def pretraining_loss(prediction_logits, labels, seq_relationship_logits, next_sentence_label):
    """MLM cross-entropy over the chosen positions (labels != -100) + NSP cross-entropy over every example."""
    chosen = labels != -100
    if chosen.any():
        mlm = F.cross_entropy(prediction_logits[chosen], labels[chosen])
    else:
        mlm = prediction_logits.sum() * 0.0
    return mlm + F.cross_entropy(seq_relationship_logits, next_sentence_label, ignore_index=0)
