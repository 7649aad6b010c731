def rnn_forward(x, W_ih, W_hh, b_ih, b_hh, h0=None):
    """Multiplies the hidden state by W_hh instead of its transpose."""
    batch, steps, _ = x.shape
    h = x.new_zeros(batch, W_hh.shape[0]) if h0 is None else h0
    states = []
    for t in range(steps):
        h = torch.tanh(x[:, t] @ W_ih.T + b_ih + h @ W_hh + b_hh)
        states.append(h)
    return torch.stack(states, dim=1), h
