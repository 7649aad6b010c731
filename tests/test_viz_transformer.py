"""Tests of course_lib.viz.transformer: the drawing of the architecture names every part."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from course_lib.viz.transformer import draw_transformer  # noqa: E402


def test_draw_transformer_labels_every_part():
    ax = draw_transformer()
    texts = " ".join(text.get_text() for text in ax.texts)
    for part in ("multi-head\nself-attention", "masked multi-head", "cross-attention", "feed forward",
                 "Add & Norm", "positional", "√d_model", "N ×", "linear", "softmax", "shifted right"):
        assert part in texts, part
    assert sum(text.get_text() == "Add & Norm" for text in ax.texts) == 5  # 2 encoder + 3 decoder
    plt.close(ax.figure)
