def pretraining_loss(prediction_logits, labels, seq_relationship_logits, next_sentence_label):
    """MLM cross-entropy over the chosen positions (labels != -100) + NSP cross-entropy over every example."""
    per_position = F.cross_entropy(prediction_logits.flatten(0, 1), labels.flatten(), reduction="none")
    mlm = per_position.mean()
    return mlm + F.cross_entropy(seq_relationship_logits, next_sentence_label)
