"""Plots and interactive widgets, one module per lesson topic; ``explorer`` is the widget they share."""
from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt

__all__ = ["explorer"]


def explorer(controls: dict, compute: Callable, draw: Callable):
    """Controls above an Output area that ``draw`` fills again whenever a control changes.

    ``compute(**values)`` runs the learner's code; ``draw(result, **values)`` returns a figure and
    a line of text. The first call happens here, outside any widget, so its errors reach the cell.
    """
    import ipywidgets as w
    from IPython.display import display

    out = w.Output()

    def show(result, values) -> None:
        figure, text = draw(result, **values)
        out.clear_output(wait=True)
        with out:
            display(figure)
            print(text)
        plt.close(figure)

    def redraw(_=None) -> None:
        values = {name: control.value for name, control in controls.items()}
        try:
            result = compute(**values)
        except Exception as error:  # the learner's code failed for these settings: say so in one line
            plt.close("all")
            out.clear_output(wait=True)
            with out:
                print(f"✗ your code failed for {values}: {type(error).__name__}: {error}")
            return
        show(result, values)

    first = {name: control.value for name, control in controls.items()}
    show(compute(**first), first)
    for control in controls.values():
        control.observe(redraw, names="value")
    return w.VBox([w.HBox(list(controls.values()), layout=w.Layout(flex_flow="row wrap")), out])
