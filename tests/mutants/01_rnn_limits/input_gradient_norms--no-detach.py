# loses: test_input_gradient_norms
# hint: work on x.detach().clone() and leave x as it was
def input_gradient_norms(model, x):
    """Turns on gradients for the caller's own x and reads x.grad: the caller's tensor changes."""
    x.requires_grad_(True)
    outputs, _ = model(x)
    outputs[:, -1].sum().backward()
    return x.grad.norm(dim=2).mean(dim=0)
