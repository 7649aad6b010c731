# loses: test_input_gradient_norms
# hint: backpropagate the sum of the last outputs, not their mean
def input_gradient_norms(model, x):
    """Backpropagates the mean of the last outputs instead of their sum."""
    x = x.detach().clone().requires_grad_(True)
    outputs, _ = model(x)
    (grad,) = torch.autograd.grad(outputs[:, -1].mean(), x)
    return grad.norm(dim=2).mean(dim=0)
