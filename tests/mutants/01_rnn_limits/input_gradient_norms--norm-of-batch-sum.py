# loses: test_input_gradient_norms
# hint: take the norm of each example's gradient first
def input_gradient_norms(model, x):
    """Sums the gradient over the batch before taking the norm."""
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = model(x)
    (grad,) = torch.autograd.grad(outputs[:, -1].sum(), x)
    return grad.sum(dim=0).norm(dim=1)
