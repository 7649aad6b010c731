def transformer_learning_rate(step, d_model, warmup=4000):
    if step < 1:
        raise ValueError(f"steps are counted from 1; got step={step}")
    return min(step ** -0.5, step * warmup ** -1.5)
