def sinusoidal_encoding(num_positions, d_model):
    """Uses the pair index i in the exponent where the formula has 2i."""
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    positions = torch.arange(num_positions, dtype=torch.float64)[:, None]
    i = torch.arange(d_model // 2, dtype=torch.float64)
    angles = positions / 10000 ** (i / d_model)
    encoding = torch.zeros(num_positions, d_model, dtype=torch.float64)
    encoding[:, 0::2] = torch.sin(angles)
    encoding[:, 1::2] = torch.cos(angles)
    return encoding.float()
