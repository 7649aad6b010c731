# hint: model.bert.eval() only switches off dropout
def freeze_encoder(model):
    """Stop training model.bert (every parameter, the pooler included); return the trainable count left."""
    model.bert.eval()
    return count_trainable(model)


def count_trainable(model):
    """The number of scalar parameters of model that require gradients, each shared tensor once."""
    return sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
