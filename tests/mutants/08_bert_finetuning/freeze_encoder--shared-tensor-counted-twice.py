# hint: counted one layer registered under two names twice
def freeze_encoder(model):
    """Stop training model.bert (every parameter, the pooler included); return the trainable count left."""
    for parameter in model.bert.parameters():
        parameter.requires_grad_(False)
    return count_trainable(model)


def count_trainable(model):
    """The number of scalar parameters of model that require gradients, each shared tensor once."""
    return sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False) if p.requires_grad)
