"""The sinusoidal-encoding explorer of lesson 04_positional."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from course_lib.positional import offset_map, sinusoidal_encoding  # noqa: E402
from course_lib.viz.positional import encoding_explorer, encoding_view  # noqa: E402


def test_view_draws_four_panels_and_reports_the_rotation_error():
    table = sinusoidal_encoding(200, 64)
    fig, text = encoding_view(table, offset_map, dimension=6, position=40, offset=8)
    assert len([ax for ax in fig.axes if ax.get_title()]) == 4
    assert "dimension 6 (sin, pair 3" in text and "PE(48)" in text
    error = float(text.split("PE(pos + k)| = ")[1].split(" ")[0])
    assert error < 1e-5  # M_8 @ PE(40) is PE(48)
    plt.close(fig)
    with pytest.raises(ValueError, match="must lie in"):
        encoding_view(table, offset_map, dimension=0, position=190, offset=20)


def test_every_slider_changes_what_is_shown(capsys):
    explorer = encoding_explorer(sinusoidal_encoding, offset_map)
    sliders = explorer.children[0].children
    assert [s.description for s in sliders] == ["dimension", "position", "offset k"]
    assert sliders[1].min + sliders[2].min >= 0 and sliders[1].max + sliders[2].max <= 199
    capsys.readouterr()
    seen = []
    for slider in sliders:  # outside a kernel the Output area passes its text through to stdout
        slider.value = slider.value + 1
        seen.append(capsys.readouterr().out)
    assert all(seen) and len(set(seen)) == 3, seen
    plt.close("all")


def test_a_failing_offset_map_shows_one_line():
    calls = []

    def broken(offset, d_model):
        calls.append(offset)
        if len(calls) > 1:
            raise RuntimeError("boom")
        return offset_map(offset, d_model)

    explorer = encoding_explorer(sinusoidal_encoding, broken)
    explorer.children[0].children[2].value = 3  # must not raise
    plt.close("all")
