def permutation_equivariance_gap(layer, inputs, permutation):
    """Averages the differences instead of taking the largest."""
    with torch.no_grad():
        return (layer(inputs[:, permutation]) - layer(inputs)[:, permutation]).abs().mean().item()
