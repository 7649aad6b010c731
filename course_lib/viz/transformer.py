"""The Transformer's architecture, drawn by the course (lesson 05_transformer).

``draw_transformer`` draws the paper's Figure 1 (post-norm) with matplotlib patches, coloured by
kind of sublayer, with the final LayerNorms that ``torch.nn.Transformer`` and
``course_lib.transformer`` add on top of each stack.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

__all__ = ["draw_transformer"]


def draw_transformer(ax=None):
    """Draw the encoder-decoder Transformer (the paper's Figure 1, post-norm) and return the Axes.

    Boxes are coloured by kind: attention (orange), feed-forward (blue), Add & Norm (yellow),
    embeddings (pink), output layers (green). Thin arrows that bypass a sublayer are the residual
    connections. The dashed boxes are the final LayerNorms that ``torch.nn.Transformer`` and
    ``course_lib.transformer`` add on top of each stack; the paper's figure does not have them.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8.6, 10.6))
    colours = {
        "attention": "#fbd5a8",
        "ffn": "#bfe0f5",
        "norm": "#f6f0a2",
        "embed": "#f6c9d6",
        "output": "#cdebc4",
        "plain": "white",
    }
    width, height = 3.0, 0.62

    def box(x: float, y: float, text: str, kind: str, dashed: bool = False, h: float = height) -> None:
        ax.add_patch(
            FancyBboxPatch(
                (x - width / 2, y - h / 2), width, h, boxstyle="round,pad=0.02,rounding_size=0.12",
                facecolor=colours[kind], edgecolor="black", linewidth=1.0, linestyle="--" if dashed else "-",
            )
        )
        ax.text(x, y, text, ha="center", va="center", fontsize=9.5)

    def arrow(start: tuple[float, float], end: tuple[float, float], color: str = "black") -> None:
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=11, linewidth=1.1,
                                     color=color, shrinkA=0, shrinkB=0))

    def up(x: float, y_from: float, y_to: float) -> None:
        """Arrow between stacked boxes at x, from the top of the lower to the bottom of the upper."""
        arrow((x, y_from + height / 2), (x, y_to - height / 2))

    def residual(x_branch: float, y_from: float, y_to: float, x_out: float, x_in: float) -> None:
        """A residual connection: from the stream below a sublayer, around it, into Add & Norm."""
        ax.plot([x_branch, x_out, x_out], [y_from, y_from, y_to], color="black", linewidth=1.0)
        arrow((x_out, y_to), (x_in, y_to))

    def sublayer(x: float, y: float, text: str, kind: str, side: float, x_branch: float | None = None) -> float:
        """A sublayer at height y and its Add & Norm above; returns the Add & Norm's height."""
        box(x, y, text, kind)
        norm_y = y + 0.95
        box(x, norm_y, "Add & Norm", "norm")
        up(x, y, norm_y)
        residual(x if x_branch is None else x_branch, y - height / 2 - 0.2, norm_y,
                 x + side * (width / 2 + 0.28), x + side * width / 2)
        return norm_y

    enc_x, dec_x = 2.2, 7.4
    # inputs, embeddings and positional encodings
    for x, inputs, embedding in (
        (enc_x, "inputs (source tokens)", "input embedding × √d_model"),
        (dec_x, "outputs, shifted right\n(<bos> + target tokens)", "output embedding × √d_model"),
    ):
        ax.text(x, 0.0, inputs, ha="center", va="center", fontsize=9.5)
        box(x, 1.0, embedding, "embed")
        arrow((x, 0.3), (x, 1.0 - height / 2))
        ax.add_patch(plt.Circle((x, 2.0), 0.2, facecolor="white", edgecolor="black"))
        ax.text(x, 2.0, "+", ha="center", va="center", fontsize=13)
        up(x, 1.0, 2.0 - 0.2 + height / 2)
        ax.text(x - 1.85, 2.0, "positional\nencoding", ha="center", va="center", fontsize=8.5)
        ax.add_patch(plt.Circle((x - 1.0, 2.0), 0.17, facecolor="white", edgecolor="black"))
        ax.plot(*zip(*[(x - 1.1 + 0.2 * t / 20, 2.0 + 0.09 * math.sin(2 * math.pi * t / 20)) for t in range(21)]),
                color="black", linewidth=0.9)
        arrow((x - 0.83, 2.0), (x - 0.2, 2.0))

    # encoder layer: self-attention and feed-forward
    enc_base = 3.3
    arrow((enc_x, 2.2), (enc_x, enc_base - height / 2))
    enc_norm1 = sublayer(enc_x, enc_base, "multi-head\nself-attention", "attention", side=-1)
    enc_ffn = enc_norm1 + 1.05
    up(enc_x, enc_norm1, enc_ffn)
    enc_top = sublayer(enc_x, enc_ffn, "feed forward", "ffn", side=-1)
    enc_final = enc_top + 1.05
    up(enc_x, enc_top, enc_final)
    box(enc_x, enc_final, "final LayerNorm*", "norm", dashed=True)
    # three arrows into self-attention: Q, K, V from the same input
    for dx in (-0.8, 0.0, 0.8):
        arrow((enc_x, enc_base - height / 2 - 0.28), (enc_x + dx, enc_base - height / 2))
    ax.plot([enc_x, enc_x], [2.2, enc_base - height / 2 - 0.28], color="black", linewidth=1.1)

    # decoder layer: masked self-attention, cross-attention, feed-forward
    dec_base = 3.3
    arrow((dec_x, 2.2), (dec_x, dec_base - height / 2))
    dec_norm1 = sublayer(dec_x, dec_base, "masked multi-head\nself-attention", "attention", side=1)
    for dx in (-0.8, 0.0, 0.8):
        arrow((dec_x, dec_base - height / 2 - 0.28), (dec_x + dx, dec_base - height / 2))
    dec_cross = dec_norm1 + 1.05
    dec_norm2 = sublayer(dec_x, dec_cross, "multi-head\ncross-attention", "attention", side=1,
                         x_branch=dec_x + 0.8)
    arrow((dec_x + 0.8, dec_norm1 + height / 2), (dec_x + 0.8, dec_cross - height / 2))
    ax.text(dec_x + 0.88, (dec_norm1 + dec_cross) / 2, "Q", fontsize=8, va="center")
    dec_ffn = dec_norm2 + 1.05
    up(dec_x, dec_norm2, dec_ffn)
    dec_top = sublayer(dec_x, dec_ffn, "feed forward", "ffn", side=1)
    dec_final = dec_top + 1.05
    up(dec_x, dec_top, dec_final)
    box(dec_x, dec_final, "final LayerNorm*", "norm", dashed=True)

    # the memory: encoder output into the decoder's cross-attention as keys and values
    route_y = enc_final + height / 2 + 0.35
    mid_x = (enc_x + dec_x) / 2
    ax.plot([enc_x, enc_x, mid_x, mid_x], [enc_final + height / 2, route_y, route_y, dec_cross - height / 2 - 0.3],
            color="tab:red", linewidth=1.4)
    for dx in (-0.8, 0.0):
        ax.plot([mid_x, dec_x + dx], [dec_cross - height / 2 - 0.3] * 2, color="tab:red", linewidth=1.4)
        arrow((dec_x + dx, dec_cross - height / 2 - 0.3), (dec_x + dx, dec_cross - height / 2), color="tab:red")
    ax.text((enc_x + mid_x) / 2 + 0.3, route_y + 0.18, "memory (encoder output)", color="tab:red", fontsize=8.5, ha="center")
    ax.text(dec_x - 0.9, dec_cross - height / 2 - 0.14, "K", fontsize=8, color="tab:red", va="center", ha="right")
    ax.text(dec_x - 0.1, dec_cross - height / 2 - 0.14, "V", fontsize=8, color="tab:red", va="center", ha="right")
    ax.text(dec_x - 1.0, dec_base - height / 2 - 0.14, "causal mask: position i sees 0..i", fontsize=7.5,
            ha="right", va="center", style="italic")

    # the N x frames around one layer of each stack
    for x, bottom, top, side in ((enc_x, enc_base, enc_top, -1), (dec_x, dec_base, dec_top, 1)):
        left = x - width / 2 - 0.5
        ax.add_patch(FancyBboxPatch((left, bottom - height / 2 - 0.45), width + 1.0, top - bottom + height + 0.62,
                                    boxstyle="round,pad=0.02,rounding_size=0.2", facecolor="#f2f2f2",
                                    edgecolor="grey", linewidth=1.2, zorder=-1))
        label_x = left - 0.12 if side < 0 else left + width + 1.12
        ax.text(label_x, (bottom + top) / 2, "N ×", fontsize=12, ha="right" if side < 0 else "left",
                va="center", weight="bold")
    ax.text(enc_x, enc_base - height / 2 - 0.62, "encoder layer", fontsize=8.5, ha="center", color="dimgrey")
    ax.text(dec_x + 1.55, dec_base - height / 2 - 0.62, "decoder layer", fontsize=8.5, ha="right", color="dimgrey")

    # output layers
    linear_y = dec_final + 1.0
    softmax_y = linear_y + 0.9
    up(dec_x, dec_final, linear_y)
    box(dec_x, linear_y, "linear (d_model → vocab)", "output")
    up(dec_x, linear_y, softmax_y)
    box(dec_x, softmax_y, "softmax", "output")
    arrow((dec_x, softmax_y + height / 2), (dec_x, softmax_y + 0.75))
    ax.text(dec_x, softmax_y + 0.95, "next-token probabilities", ha="center", va="center", fontsize=9.5)
    ax.text(enc_x, softmax_y + 0.55, "* not in the paper's figure:\ntorch.nn.Transformer and course_lib\n"
            "add a LayerNorm on top of each stack", fontsize=7.5, ha="center", va="center", color="dimgrey")

    ax.set_xlim(-0.4, 10.2)
    ax.set_ylim(-0.5, softmax_y + 1.3)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("The Transformer (Vaswani et al. 2017), post-norm as in the paper", fontsize=11)
    return ax
