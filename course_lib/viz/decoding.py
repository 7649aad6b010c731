"""Pictures of decoding, drawn by the course (lesson 06_translation).

- ``trace_beam_search``: the steps of any beam search (the learner's own ``beam_search`` too), read off
  from what it asks the model: it runs the search on a wrapper of the model that notes the hypotheses
  the search feeds the decoder at each step (the live beam) and their next-token log-probabilities.
- ``draw_beam_search``: the tree a beam search grows, from those steps (or the ones
  ``course_lib.decoding.beam_search`` records with ``trace=[]``). Columns are the generated
  positions; each node is a hypothesis, labelled with its newest token and its total
  log-probability. Kept hypotheses are boxed, the best dropped extensions are grey, finished
  hypotheses (ending in ``</s>``) are green and show their length-normalised score, and the
  returned translation is drawn in blue.
- ``draw_kv_cache``: what one decoder layer's key/value cache holds at each step of cached greedy
  decoding: the positions whose keys and values are reused, the one computed at this step, and the
  source's keys and values for cross-attention, computed once.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import FancyBboxPatch, Rectangle
from torch import Tensor, nn

from course_lib.decoding import BeamStep, _never_pad, _scored, _step_record

__all__ = ["trace_beam_search", "draw_beam_search", "draw_kv_cache"]

_KEPT, _DROPPED, _FINISHED, _WINNER = "#fdf6e3", "#eeeeee", "#c9ecc1", "#1f5fbf"


class _Recorder(nn.Module):
    """``model`` as a beam search sees it, noting each prefix given to ``decode`` and its next-token log-probabilities."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.pad_id = model.pad_id
        if getattr(model, "max_len", None) is not None:
            self.max_len = model.max_len
        self.next_log_probs: dict[tuple[int, ...], Tensor] = {}  # prefix, <bos> first -> (vocab,) float64

    def encode(self, *args: Any, **kwargs: Any) -> Tensor:
        return self.model.encode(*args, **kwargs)

    def decode(self, tgt: Tensor, *args: Any, **kwargs: Any) -> Tensor:
        logits = self.model.decode(tgt, *args, **kwargs)
        log_probs = torch.log_softmax(logits[:, -1].detach().double(), dim=-1).cpu()
        for prefix, row in zip(tgt.tolist(), log_probs):
            self.next_log_probs.setdefault(tuple(prefix), row)
        return logits


def trace_beam_search(
    search: Callable[..., list[int]],
    model: nn.Module,
    src: Tensor,
    beam_size: int = 4,
    max_len: int = 50,
    alpha: float = 0.6,
    bos_id: int = 1,
    eos_id: int = 2,
) -> tuple[list[int], list[BeamStep]]:
    """Run ``search(model, src, beam_size=..., ...)`` and read its steps off the prefixes it decodes.

    ``search`` is any beam search with the signature of ``course_lib.decoding.beam_search`` (the
    learner's own, say). It runs on a wrapper of ``model`` that notes every prefix the search gives
    ``decode`` and the log-probabilities of its next token. The prefixes of t generated tokens are
    the live beam of step t + 1, so each step's ``BeamStep`` shows what was observed: the hypotheses
    extended and the extensions the search went on with (kept, live, <pad> too if it chose that);
    the rest of the beam (``beam_size`` minus the hypotheses finished earlier) went to the best
    extensions by <eos>, the finished ones. Dropped extensions shown are never <pad>. The last step
    decoded has no next step to show what was kept: there the best extensions (but <pad>) fill the
    beam, as the search's rule says, and at ``max_len`` the live ones finish too, without <eos>. Returns (the search's result, the steps), ready for ``draw_beam_search``.
    On ``course_lib.decoding.beam_search`` the steps are those it records with ``trace=[]``, except
    when its bound stops it at ``max_len`` itself: its record then leaves the live ones unfinished.
    """
    recorder = _Recorder(model)
    result = search(recorder, src, beam_size=beam_size, max_len=max_len, alpha=alpha, bos_id=bos_id, eos_id=eos_id)
    seen = recorder.next_log_probs
    beams: dict[int, list[tuple[int, ...]]] = {}  # generated tokens -> the prefixes decoded, in order
    for prefix in seen:
        beams.setdefault(len(prefix) - 1, []).append(prefix)
    steps: list[BeamStep] = []
    finished_count = 0
    for length in range(1, len(beams) + 1):
        if length - 1 not in beams:
            break
        live = beams[length - 1]
        live_log_probs = torch.tensor([sum(seen[p[:i]][p[i]].item() for i in range(1, len(p))) for p in live],
                                      dtype=torch.float64)
        scores = live_log_probs[:, None] + torch.stack([seen[p] for p in live])  # (live, vocab)
        kept = _kept(scores, live, beams.get(length), beam_size - finished_count, eos_id, recorder.pad_id)
        vocab = scores.shape[1]
        extended = torch.cat((torch.tensor(live)[kept // vocab], (kept % vocab)[:, None]), dim=1)
        log_probs, ends = scores.flatten()[kept], kept % vocab == eos_id
        ended = _scored(extended[ends], log_probs[ends], length, alpha)
        finished_count += len(ended)
        shown = _never_pad(scores, recorder.pad_id).flatten().index_put((kept,), log_probs).view_as(scores)
        step = _step_record(torch.tensor(live), live_log_probs, shown, kept, ended, log_probs[ends])
        if length == max_len:  # the live ones end here, without <eos>
            unfinished = _scored(extended[~ends], log_probs[~ends], length, alpha)
            step.finished += [(ids, lp, score) for (score, ids), lp in zip(unfinished, log_probs[~ends].tolist())]
        steps.append(step)
    return result, steps


def _kept(scores: Tensor, live: list, went_on: list | None, room: int, eos_id: int, pad_id: int) -> Tensor:
    """The flat indices into ``scores`` (live, vocab) of the extensions kept at one step, best first.

    ``went_on``: the prefixes decoded at the next step, the kept live extensions; the best <eos>
    extensions fill the rest of the ``room`` left in the beam. At the last step decoded (None), the
    best ``room`` extensions but <pad> ones (as ``course_lib.decoding.beam_search`` chooses).
    """
    vocab, flat = scores.shape[1], scores.flatten()
    if went_on is None:
        choices = _never_pad(scores, pad_id).flatten()
        return choices.topk(max(0, min(room, int(torch.isfinite(choices).sum())))).indices
    live_ones = [live.index(p[:-1]) * vocab + p[-1] for p in went_on if p[:-1] in live]
    best_ends = scores[:, eos_id].argsort(descending=True)[: max(0, room - len(live_ones))]
    kept = torch.tensor(live_ones + [row * vocab + eos_id for row in best_ends.tolist()], dtype=torch.long)
    return kept[flat[kept].argsort(descending=True, stable=True)]


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

    ``steps`` is the list of ``course_lib.decoding.BeamStep`` from ``trace_beam_search`` or the one
    ``beam_search(..., trace=steps)`` filled (anything with the same three fields will do), ``result`` the ids it returned,
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
