def permutation_equivariance_gap(layer, inputs, permutation):
    """Indexes the first axis, which is the batch, not the sequence."""
    with torch.no_grad():
        return (layer(inputs[permutation]) - layer(inputs)[permutation]).abs().max().item()
