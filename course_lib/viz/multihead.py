"""Lesson 03_multihead's pictures: splitting and merging heads, attention maps per head, an explorer.

``draw_split_merge`` shows where every feature of a projected tensor goes when it is split into
heads and merged back.

The lesson's task uses tokens that are (colour, number) pairs with id ``colour * num_numbers + number``;
``token_labels`` writes them as a letter for the colour and a digit for the number ("C5").
"""
from __future__ import annotations

import string

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyArrowPatch, Rectangle

__all__ = ["draw_split_merge", "token_labels", "plot_head_maps", "head_explorer"]

_HEAD_COLOURS = ["#f4a261", "#8ecae6", "#90be6d", "#e5989b", "#b5a1e0", "#f6d55c", "#9ad0c2", "#d4a373"]


def draw_split_merge(d_model: int = 12, num_heads: int = 3, seq: int = 4, ax: plt.Axes | None = None) -> plt.Axes:
    """Draw split_heads and merge_heads for one sequence; return the Axes.

    Left: a projected sequence (seq, d_model), one row per position, each cell numbered by its
    feature and coloured by the head that owns it. Middle: ``split_heads`` gives every head its own
    (seq, d_k) block of consecutive features, the head axis in front; attention runs in each block
    separately. Right: ``merge_heads`` puts the heads' outputs side by side again, head 0's features
    first, and ``out_proj`` mixes them.
    """
    if d_model % num_heads or num_heads > len(_HEAD_COLOURS):
        raise ValueError(f"d_model={d_model} must be divisible by num_heads={num_heads}, "
                         f"and num_heads at most {len(_HEAD_COLOURS)}")
    d_k = d_model // num_heads
    if ax is None:
        _, ax = plt.subplots(figsize=(12.5, 0.34 * num_heads * (seq + 1.8) + 1.6))
    cell = 0.5

    def grid(x0: float, y0: float, columns: list[int], rows: int, label: str, faded: bool = False) -> None:
        """A block of rows x len(columns) cells whose top-left corner is (x0, y0); cell c shows feature c."""
        for r in range(rows):
            for c, feature in enumerate(columns):
                ax.add_patch(Rectangle((x0 + c * cell, y0 - (r + 1) * cell), cell, cell,
                                       facecolor=_HEAD_COLOURS[feature // d_k], edgecolor="white",
                                       alpha=0.55 if faded else 1.0))
                ax.text(x0 + (c + 0.5) * cell, y0 - (r + 0.5) * cell, str(feature), ha="center", va="center",
                        fontsize=7)
        ax.text(x0 + len(columns) * cell / 2, y0 + 0.18, label, ha="center", va="bottom", fontsize=9)
        for r in range(rows):
            ax.text(x0 - 0.1, y0 - (r + 0.5) * cell, f"pos {r}", ha="right", va="center", fontsize=7, color="grey")

    def arrow(x0: float, x1: float, y: float, text: str) -> None:
        ax.add_patch(FancyArrowPatch((x0, y), (x1, y), arrowstyle="-|>", mutation_scale=14, linewidth=1.4,
                                     color="black"))
        ax.text((x0 + x1) / 2, y + 0.15, text, ha="center", va="bottom", fontsize=9)

    features = list(range(d_model))
    gap = (seq + 1.8) * cell
    height = num_heads * gap - 1.8 * cell
    top = height
    left_y = top - (height - seq * cell) / 2
    grid(0.0, left_y, features, seq, f"projected queries (keys, values alike)\n(seq, d_model) = ({seq}, {d_model})")
    x_heads = d_model * cell + 3.2
    arrow(d_model * cell + 0.3, x_heads - 0.9, left_y - seq * cell / 2, "split_heads")
    for i in range(num_heads):
        y = top - i * gap
        grid(x_heads, y, features[i * d_k:(i + 1) * d_k], seq,
             f"head {i}: features {i * d_k}..{(i + 1) * d_k - 1}" if i == 0 else f"head {i}")
    ax.text(x_heads + d_k * cell / 2, -0.2,
            f"(heads, seq, d_k) = ({num_heads}, {seq}, {d_k})\nattention runs in each head separately",
            ha="center", va="top", fontsize=9)
    x_merged = x_heads + d_k * cell + 3.2
    arrow(x_heads + d_k * cell + 0.3, x_merged - 0.9, left_y - seq * cell / 2, "merge_heads")
    grid(x_merged, left_y, features, seq, f"head outputs side by side\n(seq, heads · d_k) = ({seq}, {d_model})", faded=True)
    ax.text(x_merged + d_model * cell / 2, left_y - seq * cell - 0.25,
            "then out_proj mixes the heads", ha="center", va="top", fontsize=9)
    ax.set_xlim(-1.0, x_merged + d_model * cell + 0.3)
    ax.set_ylim(-1.1, top + 1.0)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def token_labels(tokens: torch.Tensor, num_numbers: int) -> list[str]:
    """Labels such as "C5" (colour C, number 5) for a 1-d tensor of token ids."""
    if tokens.dim() != 1:
        raise ValueError(f"token_labels expects one sequence (a 1-d tensor); got shape {tuple(tokens.shape)}.")
    return [f"{string.ascii_uppercase[t // num_numbers]}{t % num_numbers}" for t in tokens.tolist()]


def plot_head_maps(maps: dict[str, torch.Tensor], labels: list[str], title: str | None = None) -> plt.Figure:
    """One heatmap per entry of ``maps`` (panel title -> (Lq, Lk) weights): queries down, keys across."""
    fig, axes = plt.subplots(1, len(maps), figsize=(3.4 * len(maps), 3.7), squeeze=False)
    ticks = range(len(labels))
    for ax, (name, weights) in zip(axes[0], maps.items()):
        image = ax.imshow(weights.detach().cpu().numpy(), vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_xticks(ticks, labels, rotation=90, fontsize=7)
        ax.set_yticks(ticks, labels, fontsize=7)
        ax.set_xlabel("key")
        ax.set_title(name, fontsize=10)
        ax.grid(False)
    axes[0][0].set_ylabel("query")
    fig.colorbar(image, ax=list(axes[0]), shrink=0.8, label="attention weight")
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def head_explorer(weights: dict[str, torch.Tensor], tokens: torch.Tensor, num_numbers: int):
    """A slider over sequences that redraws every head's map.

    ``weights`` maps a model's name to its weights for all sequences, (N, num_heads, L, L);
    ``tokens`` is (N, L).
    """
    import ipywidgets as w
    from IPython.display import display

    slider = w.IntSlider(value=0, min=0, max=tokens.shape[0] - 1, description="sequence",
                         continuous_update=False)
    out = w.Output()

    def draw(_=None) -> None:
        index = slider.value
        maps = {f"{name}: head {head}": per_model[index, head]
                for name, per_model in weights.items() for head in range(per_model.shape[1])}
        with out:
            out.clear_output(wait=True)
            fig = plot_head_maps(maps, token_labels(tokens[index], num_numbers))
            display(fig)
            plt.close(fig)

    slider.observe(draw, names="value")
    draw()
    return w.VBox([slider, out])
