def offset_map(offset, d_model):
    """[[cos, -sin], [sin, cos]] from memory: right for (cos, sin) pairs, wrong for (sin, cos) pairs."""
    m = torch.zeros(d_model, d_model)
    for i in range(d_model // 2):
        angle = offset / 10000 ** (2 * i / d_model)
        c, s = math.cos(angle), math.sin(angle)
        m[2 * i : 2 * i + 2, 2 * i : 2 * i + 2] = torch.tensor([[c, -s], [s, c]])
    return m
