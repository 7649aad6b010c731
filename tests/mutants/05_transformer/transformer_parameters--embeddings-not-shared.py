# loses: test_transformer_parameters
# hint: but the model has
def transformer_parameters(d_model, d_ff, num_layers, vocab):
    attention = 4 * (d_model * d_model + d_model)
    feed_forward = 2 * d_model * d_ff + d_ff + d_model
    norm = 2 * d_model
    encoder = num_layers * (attention + feed_forward + 2 * norm) + norm
    decoder = num_layers * (2 * attention + feed_forward + 3 * norm) + norm
    return 3 * vocab * d_model + encoder + decoder + vocab
