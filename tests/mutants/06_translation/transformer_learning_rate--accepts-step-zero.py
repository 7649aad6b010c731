# loses: test_transformer_learning_rate
# hint: should raise a ValueError
def transformer_learning_rate(step, d_model, warmup=4000):
    step = max(step, 1)
    return d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)
