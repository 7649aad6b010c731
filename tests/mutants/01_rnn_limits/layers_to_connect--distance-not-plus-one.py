def layers_to_connect(distance, kernel_size, dilation_base=1):
    """Stops when the receptive field reaches the distance, one position short."""
    layers = 0
    while receptive_field(kernel_size, layers, dilation_base) < distance:
        layers += 1
    return layers
