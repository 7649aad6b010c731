def receptive_field(kernel_size, num_layers, dilation_base=1):
    """Starts the dilations at b instead of 1."""
    return 1 + (kernel_size - 1) * sum(dilation_base**i for i in range(1, num_layers + 1))
