# loses: test_transformer_parameters
# hint: but the model has
def transformer_parameters(d_model, d_ff, num_layers, vocab):
    attention = 4 * (d_model * d_model + d_model)
    feed_forward = 2 * d_model * d_ff + d_ff + d_model
    norm = 2 * d_model
    layer = attention + feed_forward + 2 * norm
    return vocab * d_model + 2 * (num_layers * layer + norm) + vocab
