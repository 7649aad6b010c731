# loses: test_transformer_learning_rate
# hint: After warm-up the rate decays as step^-0.5
def transformer_learning_rate(step, d_model, warmup=4000):
    if step < 1:
        raise ValueError(f"steps are counted from 1; got step={step}")
    return d_model ** -0.5 * min(warmup ** -0.5, step * warmup ** -1.5)
