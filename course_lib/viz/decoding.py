"""Pictures of decoding, drawn by the course (lesson 06_translation).

- ``draw_beam_search``: the tree a beam search grows, from the steps ``course_lib.decoding.beam_search``
  records with ``trace=[]``. Columns are the generated positions; each node is a hypothesis, labelled
  with its newest token and its total log-probability. Kept hypotheses are boxed, the best dropped
  extensions are grey, finished hypotheses (ending in ``</s>``) are green and show their
  length-normalised score, and the returned translation is drawn in blue.
- ``draw_kv_cache``: what one decoder layer's key/value cache holds at each step of cached greedy
  decoding: the positions whose keys and values are reused, the one computed at this step, and the
  source's keys and values for cross-attention, computed once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
from matplotlib.patches import FancyBboxPatch, Rectangle

__all__ = ["draw_beam_search", "draw_kv_cache"]

_KEPT, _DROPPED, _FINISHED, _WINNER = "#fdf6e3", "#eeeeee", "#c9ecc1", "#1f5fbf"


def _tree(steps: Sequence[Any]) -> tuple[dict, dict]:
    """Nodes (ids tuple -> (depth, log-prob, status, score)) and edges (child -> parent)."""
    nodes: dict[tuple[int, ...], list] = {(): [0, 0.0, "kept", None]}
    parents: dict[tuple[int, ...], tuple[int, ...]] = {}
    for depth, step in enumerate(steps, start=1):
        for row, token, log_prob, kept in step.candidates:
            parent = tuple(step.extended[row][0])
            child = parent + (token,)
            nodes[child] = [depth, log_prob, "kept" if kept else "dropped", None]
            parents[child] = parent
        for ids, log_prob, score in step.finished:
            key = tuple(ids)
            if key in nodes:
                nodes[key][2:] = ["finished", score]
    return nodes, parents


def draw_beam_search(
    steps: Sequence[Any],
    result: Sequence[int],
    token_text: Callable[[int], str] = str,
    ax=None,
    title: str | None = None,
):
    """Draw the tree of a beam search and return the Axes.

    ``steps`` is the list of ``course_lib.decoding.BeamStep`` that ``beam_search(..., trace=steps)``
    filled (anything with the same three fields will do), ``result`` the ids it returned,
    ``token_text`` turns an id into the text shown (e.g. ``tgt_vocab.id_to_token``). Column t holds
    the hypotheses of t generated tokens: boxed if kept in the beam, grey if dropped (the best of
    the extensions that did not make it), green if finished, with s = log P / lp. Edges join a
    hypothesis to the one it extends; the returned translation is the blue path.
    """
    nodes, parents = _tree(steps)
    depth_count = max(depth for depth, *_ in nodes.values())
    columns: dict[int, list[tuple[int, ...]]] = {}
    for key, (depth, *_) in nodes.items():
        columns.setdefault(depth, []).append(key)
    height = max(len(keys) for keys in columns.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(1.0 + 1.55 * (depth_count + 1), 0.9 + 0.62 * height))
    positions: dict[tuple[int, ...], tuple[float, float]] = {(): (0.0, 0.0)}
    for depth in range(1, depth_count + 1):
        # children under their parent's place, best first: edges never cross
        keys = sorted(columns.get(depth, []), key=lambda k: (-positions[parents[k]][1], nodes[k][2] == "dropped", -nodes[k][1]))
        for i, key in enumerate(keys):
            positions[key] = (float(depth), (len(keys) - 1) / 2 - i)
    winner = {tuple(result[:i]) for i in range(len(result) + 1)}
    for child, parent in parents.items():
        (x0, y0), (x1, y1) = positions[parent], positions[child]
        on_path = child in winner and parent in winner
        dropped = nodes[child][2] == "dropped"
        ax.plot([x0 + 0.32, x1 - 0.32], [y0, y1], color=_WINNER if on_path else ("#bbbbbb" if dropped else "#555555"),
                linewidth=2.4 if on_path else 1.0, linestyle=":" if dropped else "-", zorder=1)
    for key, (x, y) in positions.items():
        _, log_prob, status, score = nodes[key]
        label = "<s>" if not key else token_text(key[-1])
        text = f"{label}\n{log_prob:.2f}" if key else label
        if status == "finished":
            text = f"{label}\ns={score:.2f}"
        colour = {"kept": _KEPT, "dropped": _DROPPED, "finished": _FINISHED}[status]
        ax.add_patch(FancyBboxPatch((x - 0.32, y - 0.24), 0.64, 0.48, boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=colour, zorder=2,
                                    edgecolor=_WINNER if key in winner else ("#aaaaaa" if status == "dropped" else "black"),
                                    linewidth=2.0 if key in winner else 0.8))
        ax.text(x, y, text, ha="center", va="center", fontsize=7.5, zorder=3,
                color="#888888" if status == "dropped" else "black")
    ax.set_xlim(-0.6, depth_count + 0.6)
    ax.set_ylim(-height / 2 - 0.2, height / 2 + 0.2)
    ax.set_xticks(range(depth_count + 1), ["start"] + [f"step {t}" for t in range(1, depth_count + 1)], fontsize=8)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.grid(False)
    ax.set_title(title or "beam search: kept (boxed), dropped (grey), finished (green, s = log P / lp); "
                          "the translation returned in blue", fontsize=9)
    return ax


def draw_kv_cache(
    fed: Sequence[str],
    predicted: Sequence[str],
    source: Sequence[str],
    cache_shapes: Sequence[tuple[int, ...]] | None = None,
    ax=None,
):
    """Draw what one decoder layer's key/value cache holds at each step of cached decoding; return the Axes.

    Row t is step t: the token fed (``fed[t]``: ``<s>`` first, then each token generated), the
    positions whose keys and values the cache already held (reused, blue), the position computed
    at this step (its query, key and value; the key and value are appended, orange), and the token
    predicted (``predicted[t]``). On the right, the source's keys and values for cross-attention,
    computed once before the first step. ``cache_shapes[t]``, if given, is the shape of the
    layer's ``cache.key`` after step t, written at the end of the row.
    """
    steps = len(fed)
    if len(predicted) != steps or (cache_shapes is not None and len(cache_shapes) != steps):
        raise ValueError(
            f"one fed token, one predicted token (and one cache shape) per step: got {len(fed)} fed, "
            f"{len(predicted)} predicted" + (f", {len(cache_shapes)} shapes" if cache_shapes is not None else "")
        )
    gap, src_width = 1.2, len(source)
    if ax is None:
        _, ax = plt.subplots(figsize=(1.6 + 0.62 * (steps + src_width + 5), 1.2 + 0.42 * steps))
    for t in range(steps):
        y = steps - 1 - t
        for position in range(steps):
            if position < t:
                colour, text = "#c6dbef", "k v"
            elif position == t:
                colour, text = "#fdae6b", "q k v"
            else:
                continue
            ax.add_patch(Rectangle((position, y), 0.94, 0.86, facecolor=colour, edgecolor="white"))
            ax.text(position + 0.47, y + 0.43, text, ha="center", va="center", fontsize=7)
        ax.text(-0.15, y + 0.43, f"step {t + 1}: feed {fed[t]}", ha="right", va="center", fontsize=8)
        note = f"→ {predicted[t]}"
        if cache_shapes is not None:
            note += f"   cache.key {tuple(cache_shapes[t])}"
        ax.text(steps + src_width + gap + 0.2, y + 0.43, note, ha="left", va="center", fontsize=8)
        for position in range(src_width):
            ax.add_patch(Rectangle((steps + gap + position, y), 0.94, 0.86, facecolor="#d9d9d9", edgecolor="white"))
            ax.text(steps + gap + position + 0.47, y + 0.43, "k v", ha="center", va="center", fontsize=7, color="#555555")
    for position, token in enumerate(fed):
        ax.text(position + 0.47, steps + 0.1, token, ha="center", va="bottom", fontsize=8, rotation=45)
    for position, token in enumerate(source):
        ax.text(steps + gap + position + 0.47, steps + 0.1, token, ha="center", va="bottom", fontsize=8, rotation=45)
    ax.text(steps / 2, -0.3, "masked self-attention:\nthe target positions so far", ha="center", va="top", fontsize=8)
    ax.text(steps + gap + src_width / 2, -0.3, "cross-attention:\nthe source, projected once", ha="center",
            va="top", fontsize=8)
    ax.set_xlim(-4.2, steps + src_width + gap + 7.5)
    ax.set_ylim(-1.4, steps + 1.6)
    ax.set_axis_off()
    ax.set_title("one decoder layer's key/value cache at each step: reused (blue), computed and appended "
                 "this step (orange)", fontsize=9)
    return ax
