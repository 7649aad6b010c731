def permutation_equivariance_gap(layer, inputs, permutation):
    """Compares the layer's output on the permuted inputs with its unpermuted output."""
    with torch.no_grad():
        return (layer(inputs[:, permutation]) - layer(inputs)).abs().max().item()
