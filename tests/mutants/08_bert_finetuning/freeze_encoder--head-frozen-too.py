# hint: freeze_encoder froze the head too
def freeze_encoder(model):
    """Stop training model.bert (every parameter, the pooler included); return the trainable count left."""
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return count_trainable(model)


def count_trainable(model):
    """The number of scalar parameters of model that require gradients, each shared tensor once."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
