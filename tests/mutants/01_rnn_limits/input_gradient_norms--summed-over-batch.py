# loses: test_input_gradient_norms
# hint: average the per-example norms over the batch (mean), do not sum them
def input_gradient_norms(model, x):
    """Adds up the per-example norms instead of averaging them."""
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = model(x)
    (grad,) = torch.autograd.grad(outputs[:, -1].sum(), x)
    return grad.norm(dim=2).sum(dim=0)
