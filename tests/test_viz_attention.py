"""The pictures and widgets of lesson 02_attention that can be checked without a browser."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.attention import draw_seq2seq_attention, entropy, plot_weights  # noqa: E402


def test_seq2seq_picture_labels_every_state_word_and_weight():
    ax = draw_seq2seq_attention(["a", "b", "c"], ["x", "y"], step=1, weights=[0.2, 0.7, 0.1])
    texts = [t.get_text() for t in ax.texts]
    for label in ("a", "b", "c", "x", "y", "$h_1$", "$h_3$", "$s_0$", "$s_2$", "$c$", "query $s_1$"):
        assert label in texts, label
    assert any("=0.70" in t for t in texts) and any('writing \u201cy\u201d' in t for t in texts)
    plt.close("all")


def test_seq2seq_picture_refuses_weights_that_do_not_fit():
    with pytest.raises(ValueError, match="one weight per source word"):
        draw_seq2seq_attention(["a", "b"], ["x"], step=0, weights=[1.0])
    with pytest.raises(ValueError, match="step"):
        draw_seq2seq_attention(["a"], ["x"], step=1, weights=[1.0])


def test_plot_weights_and_entropy():
    ax = plot_weights(torch.tensor([[0.5, 0.5], [1.0, 0.0]]), ["q0", "q1"], ["k0", "k1"])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["k0", "k1"]
    assert entropy(torch.tensor([1.0, 0.0])) == 0.0
    assert entropy(torch.ones(4) / 4) == pytest.approx(torch.log(torch.tensor(4.0)).item())
    plt.close("all")
