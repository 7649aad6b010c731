def offset_map(offset, d_model):
    """Rotates each pair by w_i, a shift by one position, whatever the offset."""
    m = torch.zeros(d_model, d_model)
    for i in range(d_model // 2):
        angle = 1 / 10000 ** (2 * i / d_model)
        c, s = math.cos(angle), math.sin(angle)
        m[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, s], [-s, c]])
    return m
