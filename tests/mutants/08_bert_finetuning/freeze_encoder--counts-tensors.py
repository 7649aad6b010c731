# hint: the number of parameter TENSORS
def freeze_encoder(model):
    """Stop training model.bert (every parameter, the pooler included); return the trainable count left."""
    for parameter in model.bert.parameters():
        parameter.requires_grad_(False)
    return count_trainable(model)


def count_trainable(model):
    """The number of scalar parameters of model that require gradients, each shared tensor once."""
    return len([parameter for parameter in model.parameters() if parameter.requires_grad])
