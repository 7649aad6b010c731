# hint: the logits skip the pooler
class BertForSequenceClassification(nn.Module):
    """BERT + dropout + a linear layer on the pooled [CLS] state."""

    def __init__(self, bert, num_labels, dropout=0.1):
        super().__init__()
        self.bert = bert
        self.num_labels = num_labels
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(bert.config.hidden_size, num_labels)

    def forward(self, input_ids, token_type_ids=None, attention_mask=None, labels=None):
        """(batch, seq) inputs, labels (batch,) or None -> ClassificationOutput(logits (batch, num_labels), loss)."""
        hidden = self.bert(input_ids, token_type_ids=token_type_ids, attention_mask=attention_mask).last_hidden_state
        logits = self.classifier(self.dropout(hidden[:, 0]))
        loss = None if labels is None else F.cross_entropy(logits, labels)
        return ClassificationOutput(logits=logits, loss=loss)
