def offset_map(offset, d_model):
    """Rotates dimension i with dimension i + d_model/2 (the layout with all sines first)."""
    half = d_model // 2
    m = torch.zeros(d_model, d_model)
    for i in range(half):
        angle = offset / 10000 ** (2 * i / d_model)
        c, s = math.cos(angle), math.sin(angle)
        m[i, i], m[i, i + half], m[i + half, i], m[i + half, i + half] = c, s, -s, c
    return m
