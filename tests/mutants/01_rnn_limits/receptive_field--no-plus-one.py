def receptive_field(kernel_size, num_layers, dilation_base=1):
    """Counts the added positions but forgets the output's own position."""
    return (kernel_size - 1) * sum(dilation_base**i for i in range(num_layers))
