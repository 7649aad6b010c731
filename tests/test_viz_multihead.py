"""The attention-map plots of lesson 03_multihead."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from course_lib.viz.multihead import plot_head_maps, token_labels  # noqa: E402


def test_token_labels_write_colour_letter_and_number():
    assert token_labels(torch.tensor([0, 13, 63]), 8) == ["A0", "B5", "H7"]
    with pytest.raises(ValueError, match="one sequence"):
        token_labels(torch.zeros(2, 3, dtype=torch.long), 8)


def test_plot_head_maps_draws_one_panel_per_map():
    weights = torch.softmax(torch.randn(2, 4, 4), dim=-1)
    fig = plot_head_maps({"head 0": weights[0], "head 1": weights[1]}, ["A0", "A1", "B0", "B1"], title="t")
    panels = [ax for ax in fig.axes if ax.get_title().startswith("head")]
    assert len(panels) == 2 and [t.get_text() for t in panels[0].get_xticklabels()] == ["A0", "A1", "B0", "B1"]
    plt.close(fig)


def test_draw_split_merge_gives_every_head_its_consecutive_features():
    from course_lib.viz.multihead import draw_split_merge

    ax = draw_split_merge(d_model=12, num_heads=3, seq=2)
    texts = [t.get_text() for t in ax.texts]
    assert "head 0: features 0..3" in texts and "head 1" in texts and "head 2" in texts
    # each feature appears once per position in the input, once in its head and once merged: 3 * seq times
    assert all(texts.count(str(feature)) == 3 * 2 for feature in range(12))
    assert any("split_heads" == t for t in texts) and any("merge_heads" == t for t in texts)
    with pytest.raises(ValueError, match="divisible"):
        draw_split_merge(d_model=10, num_heads=3)
    plt.close("all")
