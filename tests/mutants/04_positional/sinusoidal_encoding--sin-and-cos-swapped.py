def sinusoidal_encoding(num_positions, d_model):
    """Cosines in the even columns, sines in the odd ones."""
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    positions = torch.arange(num_positions, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angles = positions / 10000 ** (two_i / d_model)
    encoding = torch.zeros(num_positions, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.cos(angles)
    encoding[:, 1::2] = torch.sin(angles)
    return encoding.float()
