"""Attention-weight plots and explorers for lesson 02_attention.

``draw_seq2seq_attention`` draws an RNN encoder-decoder with attention (Bahdanau et al., 2015) at
one decoder step: the picture of section 1.

Each explorer takes the learner's own functions, so what it shows is what their code computes:

- :func:`query_explorer` moves one 2-d query among six keys on the unit circle (sliders for its
  angle and length, and a softmax temperature) and shows the keys, the query, the output and the
  weights;
- :func:`scaling_explorer` draws random unit-variance queries and keys of size ``d_k`` (a slider
  over 1, 2, 4, ..., 1024), with a temperature slider and a checkbox that divides the scores by
  sqrt(d_k), and shows how peaked the weights are.

Both redraw their plot and a line of printed weights on every change. The first view is computed
before any widget is built, so an unfinished exercise fails the cell itself with its one-line
message instead of leaving an empty widget.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import matplotlib.pyplot as plt
import torch

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from course_lib.viz import explorer

__all__ = ["draw_seq2seq_attention", "plot_weights", "query_explorer", "scaling_explorer", "entropy"]

_WIDE = {"description_width": "initial"}  # show slider labels in full


def entropy(weights: torch.Tensor) -> float:
    """Entropy in nats of one row of weights (0 for a one-hot row, log n for a uniform one)."""
    p = weights.detach().double()
    return float(-(p * p.clamp_min(1e-300).log()).sum())


def plot_weights(weights: torch.Tensor, query_labels: Sequence[str] | None = None,
                 key_labels: Sequence[str] | None = None, ax: plt.Axes | None = None,
                 title: str | None = None, annotate: bool = True) -> plt.Axes:
    """Heatmap of a (Lq, Lk) weight matrix: queries down, keys across, values printed in the cells."""
    weights = weights.detach().cpu().double()
    if weights.dim() != 2:
        raise ValueError(f"plot_weights expects one (Lq, Lk) matrix; got shape {tuple(weights.shape)}.")
    if ax is None:
        _, ax = plt.subplots(figsize=(0.8 * weights.shape[1] + 1.6, 0.6 * weights.shape[0] + 1.2))
    ax.imshow(weights.numpy(), cmap="Blues", vmin=0.0, vmax=1.0)
    lq, lk = weights.shape
    ax.set_xticks(range(lk), key_labels if key_labels is not None else [str(j) for j in range(lk)])
    ax.set_yticks(range(lq), query_labels if query_labels is not None else [str(i) for i in range(lq)])
    if annotate and lq * lk <= 100:
        for i in range(lq):
            for j in range(lk):
                value = weights[i, j].item()
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                        color="white" if value > 0.6 else "black")
    ax.grid(False)
    if title:
        ax.set_title(title)
    return ax


def draw_seq2seq_attention(source: Sequence[str] = ("the", "black", "cat", "sleeps"),
                           target: Sequence[str] = ("le", "chat", "noir", "dort"), step: int = 1,
                           weights: Sequence[float] = (0.05, 0.1, 0.8, 0.05), ax: plt.Axes | None = None) -> plt.Axes:
    """Draw an RNN encoder-decoder with attention while it writes ``target[step]``; return the Axes.

    Bottom: the encoder RNN reads the source words and leaves one state h_j per word (the keys and the
    values). Top: the decoder RNN, whose state s before writing word ``step`` is the query. Between
    them: each h_j is scored against that state, a softmax turns the scores into ``weights`` (drawn as
    line widths), and the context vector c, the weighted average of the h_j, enters the decoder step.
    """
    n, m = len(source), len(target)
    if len(weights) != n or not 0 <= step < m:
        raise ValueError(f"need one weight per source word ({n}) and 0 <= step < {m}; "
                         f"got {len(weights)} weights and step={step}")
    if ax is None:
        _, ax = plt.subplots(figsize=(10.5, 5.6))
    colours = {"encoder": "#bfe0f5", "decoder": "#cdebc4", "attention": "#fbd5a8", "now": "#f6c9d6"}
    w, h = 1.0, 0.62
    enc_x = [1.2 * j for j in range(n)]
    dec_x = [1.2 * n + 1.6 + 1.2 * i for i in range(m + 1)]     # s_0 (start state), s_1, ..., s_m
    enc_y, dec_y, ctx_y = 1.1, 5.0, 3.3

    def box(x, y, text, kind, bold=False):
        ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.1",
                                    facecolor=colours[kind], edgecolor="black", linewidth=2.0 if bold else 1.0))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)

    def arrow(start, end, colour="black", width=1.1, style="-|>", dashed=False):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, linewidth=width, color=colour,
                                     linestyle="--" if dashed else "-", shrinkA=0, shrinkB=0))

    # encoder: words in, one state per word, the recurrence left to right
    for j, (x, word) in enumerate(zip(enc_x, source)):
        ax.text(x, 0.0, word, ha="center", va="center", fontsize=10, style="italic")
        arrow((x, 0.22), (x, enc_y - h / 2))
        box(x, enc_y, f"$h_{j + 1}$", "encoder")
        if j:
            arrow((enc_x[j - 1] + w / 2, enc_y), (x - w / 2, enc_y))
    ax.text(enc_x[0] - w / 2 - 0.15, enc_y, "encoder\nRNN", ha="right", va="center", fontsize=9)

    # decoder: start state, then one state per target word; words written so far come out on top
    for i, x in enumerate(dec_x):
        writing = i == step + 1
        box(x, dec_y, f"$s_{i}$", "now" if writing else "decoder", bold=writing or i == step)
        if i:
            arrow((dec_x[i - 1] + w / 2, dec_y), (x - w / 2, dec_y))
            word = target[i - 1] if i <= step + 1 else "…"
            ax.text(x, dec_y + 0.95, word, ha="center", va="center", fontsize=10, style="italic",
                    color="black" if i <= step + 1 else "grey")
            arrow((x, dec_y + h / 2), (x, dec_y + 0.75), colour="black" if i <= step + 1 else "grey")
    ax.text(dec_x[-1] + w / 2 + 0.15, dec_y, "decoder\nRNN", ha="left", va="center", fontsize=9)

    # attention for the word being written: query s_step, keys = values = h_j, context c into s_{step+1}
    query_x, now_x = dec_x[step], dec_x[step + 1]
    ctx_x = (enc_x[-1] + now_x) / 2 + 0.6
    ax.add_patch(plt.Circle((ctx_x, ctx_y), 0.36, facecolor=colours["attention"], edgecolor="black"))
    ax.text(ctx_x, ctx_y, "$c$", ha="center", va="center", fontsize=12)
    for j, (x, weight) in enumerate(zip(enc_x, weights)):
        start, end = (x, enc_y + h / 2), (ctx_x - 0.3, ctx_y - 0.2)
        arrow(start, end, colour="tab:orange", width=0.6 + 7 * float(weight))
        ax.text(x - 0.05, enc_y + h / 2 + 0.12, f"$\\alpha_{j + 1}$={float(weight):.2f}", fontsize=8.5,
                ha="right", va="bottom", color="tab:brown")
    arrow((query_x, dec_y - h / 2), (ctx_x + 0.12, ctx_y + 0.34), colour="tab:purple", dashed=True)
    ax.text((query_x + ctx_x) / 2 - 0.15, (dec_y + ctx_y) / 2 + 0.1, f"query $s_{step}$", color="tab:purple",
            fontsize=9, ha="right")
    arrow((ctx_x + 0.3, ctx_y + 0.2), (now_x - 0.1, dec_y - h / 2))
    ax.text(ctx_x + 0.5, ctx_y - 0.05, "$c = \\sum_j \\alpha_j h_j$", fontsize=10, ha="left", va="center")
    ax.text(enc_x[0] - w / 2, ctx_y + 1.0,
            f"writing \u201c{target[step]}\u201d:\n"
            f"1. score: $e_j = \\mathrm{{score}}(s_{step}, h_j)$\n"
            "2. weights: $\\alpha = \\mathrm{softmax}(e)$\n"
            "3. context: $c = \\sum_j \\alpha_j h_j$\n"
            "keys = values = encoder states",
            fontsize=9, ha="left", va="center", linespacing=1.5,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor="grey"))
    ax.set_xlim(enc_x[0] - 1.6, dec_x[-1] + 1.5)
    ax.set_ylim(-0.4, dec_y + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title("RNN encoder-decoder with attention (Bahdanau et al., 2015), one decoder step", fontsize=11)
    return ax


def query_explorer(attention: Callable, num_keys: int = 6):
    """Sliders move a 2-d query among ``num_keys`` unit keys; the weights follow.

    ``attention(query, key, value) -> (output, weights)`` is the learner's scaled dot-product
    attention; the values are the keys themselves, so the output is a point in the same plane.
    A temperature T divides the scores: softmax(q.k / (sqrt(2) T)) is computed as attention(q / T, ...).
    """
    import ipywidgets as w

    angles = torch.arange(num_keys, dtype=torch.float32) * (2 * math.pi / num_keys)
    keys = torch.stack([angles.cos(), angles.sin()], dim=-1)            # (num_keys, 2)
    controls = {
        "angle": w.IntSlider(value=40, min=0, max=360, step=5, description="query angle°", style=_WIDE),
        "length": w.FloatSlider(value=2.0, min=0.1, max=8.0, step=0.1, description="query length", style=_WIDE),
        "temperature": w.FloatSlider(value=1.0, min=0.1, max=5.0, step=0.1, description="temperature", style=_WIDE),
    }

    def compute(angle, length, temperature):
        theta = math.radians(angle)
        query = length * torch.tensor([[math.cos(theta), math.sin(theta)]])
        output, weights = attention(query / temperature, keys, keys)
        return query[0], output.detach()[0], weights.detach()[0]

    def draw(result, angle, length, temperature):
        query, output, weights = result
        fig, (left, right) = plt.subplots(1, 2, figsize=(8.5, 3.5))
        for i, key in enumerate(keys):
            left.annotate("", xy=key.tolist(), xytext=(0, 0),
                          arrowprops=dict(arrowstyle="->", color="tab:blue", lw=1 + 4 * weights[i].item()))
            left.annotate(f"k{i}", (key * 1.15).tolist(), ha="center", va="center")
        shown = query / max(length, 1.0)
        left.annotate("", xy=shown.tolist(), xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="tab:red", lw=2))
        left.plot(*output.tolist(), "k*", markersize=12, label="output (weighted mean of values)")
        left.set_xlim(-1.45, 1.45)
        left.set_ylim(-1.45, 1.45)
        left.set_aspect("equal")
        left.legend(loc="lower left", fontsize=7)
        left.set_title("query (red, drawn at most unit length)", fontsize=9)
        right.bar([f"k{i}" for i in range(len(keys))], weights.numpy(), color="tab:blue")
        right.set_ylim(0, 1)
        right.set_title(f"weights: entropy {entropy(weights):.2f} nats (uniform: {math.log(len(keys)):.2f})", fontsize=9)
        fig.tight_layout()
        text = (f"angle {angle}°, length {length:.1f}, temperature {temperature:.1f} -> weights "
                + " ".join(f"{x:.3f}" for x in weights.tolist()))
        return fig, text

    return explorer(controls, compute, draw)


def scaling_explorer(attention_scores: Callable, masked_softmax: Callable, num_keys: int = 12, seed: int = 3):
    """Random N(0, 1) query and keys of size d_k; a checkbox divides the scores by sqrt(d_k).

    ``attention_scores(query, key)`` (scaled) and ``masked_softmax(scores)`` are the learner's;
    the unscaled scores are ``query @ key.T``.
    """
    import ipywidgets as w

    controls = {
        "d_k": w.SelectionSlider(options=[2**i for i in range(11)], value=256, description="d_k", style=_WIDE),
        "temperature": w.FloatSlider(value=1.0, min=0.1, max=5.0, step=0.1, description="temperature", style=_WIDE),
        "scaled": w.Checkbox(value=False, description="divide by sqrt(d_k)"),
    }

    def compute(d_k, temperature, scaled):
        generator = torch.Generator().manual_seed(seed)
        query = torch.randn(1, d_k, generator=generator)
        keys = torch.randn(num_keys, d_k, generator=generator)
        scores = attention_scores(query, keys) if scaled else query @ keys.T
        return masked_softmax(scores / temperature).detach()[0]

    def draw(weights, d_k, temperature, scaled):
        fig, ax = plt.subplots(figsize=(7, 2.9))
        ax.bar(range(num_keys), weights.numpy(), color="tab:green" if scaled else "tab:orange")
        ax.set_ylim(0, 1)
        ax.set_xticks(range(num_keys))
        ax.set_xlabel("key")
        ax.set_ylabel("weight")
        kind = "q·k / sqrt(d_k)" if scaled else "raw q·k"
        ax.set_title(f"d_k = {d_k}, {kind}, T = {temperature:.1f}: largest weight {weights.max():.2f}, "
                     f"entropy {entropy(weights):.2f} nats", fontsize=9)
        fig.tight_layout()
        text = f"d_k={d_k} {kind} T={temperature:.1f} -> weights " + " ".join(f"{x:.3f}" for x in weights.tolist())
        return fig, text

    return explorer(controls, compute, draw)
