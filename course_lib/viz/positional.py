"""An explorer for the sinusoidal positional encoding, for lesson 04_positional.

:func:`encoding_explorer` takes the learner's own ``sinusoidal_encoding`` and ``offset_map`` and
shows, for the chosen dimension, position and offset k:

- the whole table as a heatmap (positions across, dimensions down) with the chosen dimension's
  sine/cosine pair and the positions pos and pos + k marked;
- the chosen dimension as a function of position (a wave whose wavelength grows with the
  dimension), with its partner in the pair;
- the pair as a point on the unit circle: PE(pos), PE(pos + k), and M_k @ PE(pos), which lands on
  PE(pos + k) because M_k rotates every pair by k times its frequency;
- PE(pos) · PE(pos + k') for k' around 0, next to the same curve from another position: they
  coincide, because the dot product depends on the offset only.

Every slider change redraws the figure and the line of numbers under it. The first view is
computed before any widget is built, so an unfinished exercise fails the cell itself with its
one-line message instead of leaving an empty widget.
"""
from __future__ import annotations

import math
from typing import Callable

import matplotlib.pyplot as plt
import torch

from course_lib.viz import explorer

__all__ = ["encoding_view", "encoding_explorer"]

REFERENCE_POSITION = 30  # the dashed comparison curve in the dot-product panel


def encoding_view(table: torch.Tensor, offset_map: Callable[[int, int], torch.Tensor],
                  dimension: int, position: int, offset: int, base: float = 10000.0):
    """The explorer's figure and line of numbers for one setting of its sliders.

    ``table`` is a (num_positions, d_model) sinusoidal table; ``offset_map(k, d_model)`` returns the
    (d_model, d_model) map M_k. Returns ``(figure, text)``.
    """
    table = table.detach().cpu()
    num_positions, d_model = table.shape
    end = position + offset
    if not (0 <= position < num_positions and 0 <= end < num_positions):
        raise ValueError(f"position {position} and position + offset {end} must lie in 0..{num_positions - 1}")
    pair = dimension // 2
    sin_dim, cos_dim = 2 * pair, 2 * pair + 1
    frequency = 1.0 / base ** (2 * pair / d_model)
    wavelength = 2 * math.pi / frequency
    moved = (offset_map(offset, d_model).detach().cpu().to(table.dtype) @ table[position])

    fig, axes = plt.subplots(2, 2, figsize=(11.5, 6.8))
    heat, wave, circle, dots = axes.flat

    heat.imshow(table.T.numpy(), aspect="auto", cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
    heat.axhspan(sin_dim - 0.5, cos_dim + 0.5, color="gold", alpha=0.6)
    heat.axvline(position, color="tab:green", linewidth=1.5)
    heat.axvline(end, color="tab:orange", linewidth=1.5)
    heat.set_xlabel("position")
    heat.set_ylabel("dimension")
    heat.set_title(f"the table; pair {pair} = dims {sin_dim}, {cos_dim} in gold", fontsize=9)
    heat.grid(False)

    positions = torch.arange(num_positions)
    kind = "sin" if dimension % 2 == 0 else "cos"
    partner = cos_dim if dimension % 2 == 0 else sin_dim
    wave.plot(positions, table[:, dimension], color="tab:blue", label=f"dim {dimension} ({kind})")
    wave.plot(positions, table[:, partner], color="tab:blue", alpha=0.3,
              label=f"dim {partner} ({'cos' if kind == 'sin' else 'sin'}, its partner)")
    wave.plot(position, table[position, dimension], "o", color="tab:green", markersize=8, label=f"pos = {position}")
    wave.plot(end, table[end, dimension], "o", color="tab:orange", markersize=8, label=f"pos + k = {end}")
    wave.set_xlabel("position")
    wave.set_ylim(-1.15, 1.15)
    wave.set_title(f"dimension {dimension} along the positions: wavelength {wavelength:.1f}", fontsize=9)
    wave.legend(fontsize=7, loc="lower right", ncol=2)

    circle.plot(table[:, sin_dim], table[:, cos_dim], ".", color="lightgrey", markersize=4)
    circle.plot(table[position, sin_dim], table[position, cos_dim], "o", color="tab:green", markersize=10,
                label=f"PE({position})")
    circle.plot(table[end, sin_dim], table[end, cos_dim], "o", color="tab:orange", markersize=10,
                label=f"PE({end})")
    circle.plot(moved[sin_dim], moved[cos_dim], "kx", markersize=12, mew=2, label=f"M_{offset} @ PE({position})")
    circle.set_xlim(-1.25, 1.25)
    circle.set_ylim(-1.25, 1.25)
    circle.set_aspect("equal")
    circle.set_xlabel(f"dim {sin_dim} (sin)")
    circle.set_ylabel(f"dim {cos_dim} (cos)")
    circle.set_title(f"pair {pair} on the unit circle: k·w = {offset * frequency:.3f} rad", fontsize=9)
    circle.legend(fontsize=7, loc="center")

    reach = min(position, num_positions - 1 - position, REFERENCE_POSITION, num_positions - 1 - REFERENCE_POSITION)
    shifts = torch.arange(-reach, reach + 1)
    dots.plot(shifts, table[position + shifts] @ table[position], label=f"PE({position}) · PE({position} + k')")
    dots.plot(shifts, table[REFERENCE_POSITION + shifts] @ table[REFERENCE_POSITION], "--",
              label=f"PE({REFERENCE_POSITION}) · PE({REFERENCE_POSITION} + k')")
    dots.axvline(offset, color="tab:orange")
    dots.set_xlabel("offset k'")
    dots.set_title("dot products depend on the offset only", fontsize=9)
    dots.legend(fontsize=7, loc="lower center")
    fig.tight_layout()

    error = (moved - table[end]).abs().max().item()
    text = (f"dimension {dimension} ({kind}, pair {pair}, wavelength {wavelength:.1f}) · "
            f"PE({position})[{dimension}] = {table[position, dimension]:+.4f} · "
            f"PE({end})[{dimension}] = {table[end, dimension]:+.4f} · "
            f"(M_{offset} @ PE({position}))[{dimension}] = {moved[dimension]:+.4f} · "
            f"largest |M_k PE(pos) - PE(pos + k)| = {error:.1e} · "
            f"PE({position}) · PE({end}) = {(table[position] @ table[end]).item():.3f}")
    return fig, text


def encoding_explorer(sinusoidal_encoding: Callable[[int, int], torch.Tensor],
                      offset_map: Callable[[int, int], torch.Tensor],
                      d_model: int = 64, num_positions: int = 200, max_offset: int = 30):
    """Sliders for dimension, position and offset over the learner's sinusoidal table and offset map.

    Positions run from ``max_offset`` to ``num_positions - 1 - max_offset`` so that pos + k always
    stays inside the table.
    """
    import ipywidgets as w

    if num_positions <= 2 * max_offset:
        raise ValueError(f"num_positions={num_positions} leaves no room for offsets up to ±{max_offset}")
    table = sinusoidal_encoding(num_positions, d_model)  # the learner's code: errors reach the cell
    controls = {
        "dimension": w.IntSlider(value=6, min=0, max=d_model - 1, description="dimension",
                                 continuous_update=False),
        "position": w.IntSlider(value=40, min=max_offset, max=num_positions - 1 - max_offset,
                                description="position", continuous_update=False),
        "offset": w.IntSlider(value=8, min=-max_offset, max=max_offset, description="offset k",
                              continuous_update=False),
    }

    def view(**values):
        return encoding_view(table, offset_map, **values)  # the learner's offset map runs here

    return explorer(controls, view, lambda figure_and_text, **values: figure_and_text)
