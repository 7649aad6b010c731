# loses: test_input_gradient_norms
# hint: backpropagate only the outputs at the last time step
def input_gradient_norms(model, x):
    """Backpropagates the sum of every output instead of the last step's."""
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = model(x)
    (grad,) = torch.autograd.grad(outputs.sum(), x)
    return grad.norm(dim=2).mean(dim=0)
