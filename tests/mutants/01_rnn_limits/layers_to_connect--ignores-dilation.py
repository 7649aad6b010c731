def layers_to_connect(distance, kernel_size, dilation_base=1):
    """Uses the plain-stack formula whatever the dilation."""
    return math.ceil(distance / (kernel_size - 1))
