# loses: test_add_and_norm
# hint: Add the residual x to the sublayer's output first
def add_and_norm(x, sublayer, norm, norm_first=False):
    if norm_first:
        return x + sublayer(norm(x))
    return x + norm(sublayer(x))
