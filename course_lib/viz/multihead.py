"""Attention maps per head, for lesson 03_multihead: a static plot and a small explorer widget.

The lesson's task uses tokens that are (colour, number) pairs with id ``colour * num_numbers + number``;
``token_labels`` writes them as a letter for the colour and a digit for the number ("C5").
"""
from __future__ import annotations

import string

import matplotlib.pyplot as plt
import torch

__all__ = ["token_labels", "plot_head_maps", "head_explorer"]


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
