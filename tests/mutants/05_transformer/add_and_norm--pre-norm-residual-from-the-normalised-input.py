# loses: test_add_and_norm
# hint: the residual path carries x itself
def add_and_norm(x, sublayer, norm, norm_first=False):
    if norm_first:
        h = norm(x)
        return h + sublayer(h)
    return norm(x + sublayer(x))
