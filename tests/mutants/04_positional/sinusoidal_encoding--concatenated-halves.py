def sinusoidal_encoding(num_positions, d_model):
    """All the sines, then all the cosines (the tensor2tensor / Marian layout)."""
    if d_model % 2 != 0:
        raise ValueError("d_model must be even")
    positions = torch.arange(num_positions, dtype=torch.float64)[:, None]
    two_i = torch.arange(0, d_model, 2, dtype=torch.float64)
    angles = positions / 10000 ** (two_i / d_model)
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1).float()
