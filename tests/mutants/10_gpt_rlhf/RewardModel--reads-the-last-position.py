# hint: read the hidden state at the LAST REAL token
class RewardModel(nn.Module):
    """A scalar reward per sequence: the GPT's final hidden state at the last real token, through a linear head."""

    def __init__(self, gpt):
        super().__init__()
        self.gpt = gpt
        self.head = nn.Linear(gpt.config.n_embd, 1, bias=False)

    def forward(self, input_ids, attention_mask):
        """(batch, seq) right-padded ids and mask -> (batch,) rewards."""
        hidden = hidden_states(self.gpt, input_ids, attention_mask)
        return self.head(hidden[:, -1]).squeeze(-1)


def bradley_terry_loss(r_chosen, r_rejected):
    """-log sigmoid(r_chosen - r_rejected), averaged over pairs."""
    return -F.logsigmoid(r_chosen - r_rejected).mean()
