"""The shared backdrop of demo frames: drawn once, pasted under every frame, limits kept; or drawn in one pass."""
import io

import matplotlib
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_utils.widgets.backdrop import (Picture, drawn_in_one_pass, one_pass, paste_backdrop, paste_overlay,
                                           spines_on_top, without_spines)

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
    (fig1, ax1, _), (fig2, ax2, _) = _frame("a"), _frame("a")
    assert CALLS == ["a"]
    assert figure_png(fig1, bbox_inches=None) == figure_png(fig2, bbox_inches=None)   # the same picture under both
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


def figure_png(fig, dpi=None, bbox_inches=None):
    """The figure saved as a PNG (the whole figure, or cropped to a tight box)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, bbox_inches=bbox_inches)
    return buffer.getvalue()


def _rgb(png):
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def _data_frame(label="e", dpi=50):
    """A frame with a backdrop and a data layer of its own (a thick line from corner to corner of the data)."""
    fig = Figure(figsize=(3, 2), dpi=dpi)
    ax = fig.subplots()
    paste_backdrop([ax], _static, label)
    ax.plot([0, 10], [5, 0], color="red", linewidth=3)
    return fig


def test_in_one_pass_the_backdrop_is_drawn_on_the_axes_themselves():
    with drawn_in_one_pass():
        assert one_pass()
        fig = Figure(figsize=(3, 2), dpi=50)
        ax = fig.subplots()
        assert paste_backdrop([ax], _static, "f") is None
        assert ax.axison and ax.get_xlabel() == "f" and len(ax.lines) == 1       # the static line, on ax
        limits = ax.get_xlim(), ax.get_ylim()
        ax.plot([-100, 100], [-100, 100])                  # the frame draws within draw_static's limits
        assert (ax.get_xlim(), ax.get_ylim()) == limits
        without_spines(ax)
        spines_on_top(ax)
        assert all(spine.get_visible() for spine in ax.spines.values()) and ax.xaxis.get_visible()
        assert paste_overlay([ax], _legend) is None and ax.get_legend() is not None
        assert (ax.get_xlim(), ax.get_ylim()) == limits
    assert not one_pass()


def test_one_pass_ends_with_its_block_even_on_an_error():
    with pytest.raises(RuntimeError):
        with drawn_in_one_pass():
            raise RuntimeError
    assert not one_pass()


def test_a_pasted_frame_matches_its_one_pass_drawing():
    pasted = _rgb(figure_png(_data_frame(), bbox_inches=None))
    with drawn_in_one_pass():
        plain = _rgb(figure_png(_data_frame(), bbox_inches=None))
    assert pasted.shape == plain.shape == (100, 150, 3)
    assert (np.abs(pasted - plain).max(axis=2) > 32).mean() < 0.01


def test_a_pasted_frame_cropped_to_a_tight_box_keeps_the_picture_under_its_axes():
    """Saved with a tight box, the picture still covers the whole figure, where the frame's axes are."""
    whole = _rgb(figure_png(_data_frame(), bbox_inches=None))
    tight = _rgb(figure_png(_data_frame(), bbox_inches="tight"))   # the whole figure and savefig.pad_inches round it
    pad = round(matplotlib.rcParams["savefig.pad_inches"] * 50)
    assert tight.shape == (100 + 2 * pad, 150 + 2 * pad, 3)
    assert np.array_equal(tight[pad:-pad, pad:-pad], whole)


def test_a_pasted_frame_saved_at_another_dpi_gets_its_picture_at_that_dpi():
    fig = _data_frame()
    twice = _rgb(figure_png(fig, dpi=100, bbox_inches=None))
    with drawn_in_one_pass():
        plain = _rgb(figure_png(_data_frame(), dpi=100, bbox_inches=None))
    assert twice.shape == plain.shape == (200, 300, 3)
    assert (np.abs(twice - plain).max(axis=2) > 32).mean() < 0.01
    assert _rgb(figure_png(fig, bbox_inches=None)).shape == (100, 150, 3)   # and at its own dpi again


def test_a_picture_of_the_wrong_size_with_no_way_to_redraw_it_is_refused():
    fig = Figure(figsize=(3, 2), dpi=50)
    fig.add_artist(Picture(np.zeros((10, 10, 4), np.uint8)))
    with pytest.raises(ValueError, match="cannot be pasted"):
        figure_png(fig, bbox_inches=None)
