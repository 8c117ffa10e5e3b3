"""The shared backdrop of demo frames: drawn once, pasted under every frame, limits kept."""
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_utils.widgets.backdrop import Picture, paste_backdrop, paste_overlay, spines_on_top, without_spines

CALLS = []


def _static(ax, label):
    CALLS.append(label)
    ax.plot([0, 10], [0, 5])
    ax.set_xlabel(label)


def _frame(label="x"):
    fig = Figure(figsize=(3, 2), dpi=50)
    ax = fig.subplots()
    picture = paste_backdrop([ax], _static, label)
    return fig, ax, picture


def test_the_backdrop_is_drawn_once_and_gives_its_limits():
    CALLS.clear()
    (_, ax1, p1), (_, ax2, p2) = _frame("a"), _frame("a")
    assert CALLS == ["a"] and p1.rgba is p2.rgba
    assert ax1.get_xlim() == ax2.get_xlim() and ax1.get_xlim()[0] <= 0 and ax1.get_xlim()[1] >= 10
    assert not ax1.axison                          # the picture has the ticks and labels
    _frame("b")
    assert CALLS == ["a", "b"]                     # other args, another picture


def test_the_pasted_frame_shows_the_backdrop():
    fig, _, picture = _frame("c")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    shown = np.asarray(canvas.buffer_rgba())
    assert picture.rgba.shape == shown.shape
    assert np.array_equal(shown[::-1], picture.rgba)   # nothing else was drawn on this frame
    assert (shown[..., :3] < 200).any()               # and the picture is not blank


def test_unhashable_args_are_refused_with_the_fix():
    fig = Figure(figsize=(3, 2), dpi=50)
    with pytest.raises(TypeError, match="must be hashable.*tuples"):
        paste_backdrop([fig.subplots()], _static, ["a list"])


def test_the_picture_is_an_artist_beneath_everything():
    assert Picture(np.zeros((2, 2, 4), np.uint8)).get_zorder() < 0


def _legend(ax):
    ax.plot([], [], color="red", label="a fixed legend")
    ax.legend(loc="upper right")


def test_an_overlay_goes_over_the_frame_and_leaves_its_axes_as_they_were():
    fig, ax, backdrop = _frame("d")
    limits = ax.get_xlim(), ax.get_ylim()
    overlay = paste_overlay([ax], _legend)
    spines_on_top(ax)
    assert (ax.get_xlim(), ax.get_ylim()) == limits
    assert overlay.get_zorder() > ax.get_zorder() > backdrop.get_zorder()
    assert (overlay.rgba[..., 3] == 0).mean() > 0.9          # transparent but for the legend
    assert ax.axison and not ax.xaxis.get_visible() and not ax.patch.get_visible()


def test_spines_are_left_to_the_frame():
    fig = Figure(figsize=(3, 2), dpi=50)
    ax = fig.subplots()
    without_spines(ax)
    assert not any(spine.get_visible() for spine in ax.spines.values())
