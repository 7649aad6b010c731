"""Lesson 01's recurrent pieces against torch's own modules."""
import pytest
import torch
from torch import nn

from course_lib import rnn


@pytest.mark.parametrize("with_h0", [False, True])
def test_rnn_forward_matches_torch_rnn_with_copied_weights(with_h0):
    torch.manual_seed(0)
    reference = nn.RNN(5, 7, batch_first=True).double()
    x = torch.randn(3, 9, 5, dtype=torch.float64)
    h0 = torch.randn(3, 7, dtype=torch.float64) if with_h0 else None
    outputs, h_last = rnn.rnn_forward(x, reference.weight_ih_l0, reference.weight_hh_l0,
                                      reference.bias_ih_l0, reference.bias_hh_l0, h0)
    expected, expected_h = reference(x, None if h0 is None else h0.unsqueeze(0))
    torch.testing.assert_close(outputs, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(h_last, expected_h[0], rtol=1e-12, atol=1e-12)


def test_rnn_forward_rejects_wrong_shapes_with_a_clear_message():
    W = torch.zeros(4, 3)
    with pytest.raises(ValueError, match=r"\(batch, time, input_size\)"):
        rnn.rnn_forward(torch.zeros(5, 3), W, torch.zeros(4, 4), torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="W_ih must be \\(hidden_size, input_size\\)"):
        rnn.rnn_forward(torch.zeros(2, 5, 6), W, torch.zeros(4, 4), torch.zeros(4), torch.zeros(4))


def test_input_gradient_norms_is_exact_for_a_cumulative_sum():
    class CumulativeSum(nn.Module):
        def forward(self, x):
            return x.cumsum(dim=1), None

    x = torch.randn(2, 6, 9)
    torch.testing.assert_close(rnn.input_gradient_norms(CumulativeSum(), x), torch.full((6,), 3.0))
    assert not x.requires_grad


def test_input_gradient_norms_match_autograd_on_an_lstm_and_shrink_with_distance():
    torch.manual_seed(0)
    lstm = nn.LSTM(4, 16, batch_first=True).double()
    x = torch.randn(3, 40, 4, dtype=torch.float64, requires_grad=True)
    outputs, _ = lstm(x)
    outputs[:, -1].sum().backward()
    torch.testing.assert_close(rnn.input_gradient_norms(lstm, x), x.grad.norm(dim=2).mean(dim=0))
    norms = rnn.input_gradient_norms(nn.RNN(4, 16, batch_first=True).double(), x)
    assert norms[0] < 1e-3 * norms[-1]


def test_sequence_tagger_shapes_and_cell_choice():
    tagger = rnn.SequenceTagger(vocab_size=8, hidden_size=12, cell="lstm")
    assert tagger(torch.randint(8, (2, 5))).shape == (2, 5, 8)
    with pytest.raises(ValueError, match="'rnn' or 'lstm'"):
        rnn.SequenceTagger(8, 12, cell="gru")
