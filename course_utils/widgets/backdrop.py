"""Quick demo frames: draw what never changes once, and paste it under every frame.

Most of a demo frame's drawing time goes to parts that are the same in every frame: an
axis's ticks and tick labels (matplotlib lays out each label's text, about 13 ms an axis),
axis labels, fixed titles, and contours of a surface. :func:`paste_backdrop` draws those once
per figure layout into an RGBA picture, pastes the picture under the frame, and turns the
axes' own decorations off; the frame then draws only what changes (a point, a path, a title).

A backdrop is drawn by a module-level function ``draw_static(*axes, *args)``; it and its
``args`` must be hashable, since pictures are cached on them (and on the figure's size, dpi
and axes' positions). The axes keep the limits ``draw_static`` left them with, so what the
frame draws lands where it belongs.

The picture is drawn at the figure's origin and at the figure's size in pixels wherever the
frame is saved (cropped to a tight box, or at another dpi), so it stays under its axes. Inside
``with drawn_in_one_pass():`` nothing is pasted: ``draw_static`` draws on the frame's own axes,
and the frame is drawn as plain matplotlib would draw it, the reference a pasted frame must match.
"""
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

#: Backdrops kept in memory (a 640 × 320 picture is 0.8 MB).
CACHE_SIZE = 64


#: True inside :func:`drawn_in_one_pass`.
_ONE_PASS = ContextVar("drawn_in_one_pass", default=False)


@contextmanager
def drawn_in_one_pass():
    """Inside this block, frames are drawn plainly, in one pass: :func:`paste_backdrop` and
    :func:`paste_overlay` draw on the frame's own axes instead of pasting cached pictures, and
    :func:`without_spines` and :func:`spines_on_top` leave the axes alone.

    Slower (every frame draws its ticks, labels and contours again), but it is what a pasted frame
    must look like: tests compare the two.
    """
    token = _ONE_PASS.set(True)
    try:
        yield
    finally:
        _ONE_PASS.reset(token)


def one_pass():
    """True while frames are drawn in one pass (inside :func:`drawn_in_one_pass`)."""
    return _ONE_PASS.get()


class Picture(Artist):
    """An RGBA picture of the whole figure, pasted before anything else is drawn.

    It is drawn where the figure's lower-left corner is, so a frame saved with a tight box
    (which moves the figure's origin off the canvas's) keeps it under its axes. ``at_dpi(dpi)``,
    if given, makes the picture for a frame saved at another dpi than the figure's.
    """

    zorder = -10

    def __init__(self, rgba, at_dpi=None, visible=None):
        super().__init__()
        self.rgba = rgba
        self.at_dpi = at_dpi
        self.visible = visible or visible_part(rgba)

    def _corners(self):
        """The figure's lower-left and upper-right corners in the pixels being drawn."""
        return self.figure.transFigure.transform([(0.0, 0.0), (1.0, 1.0)])

    def get_window_extent(self, renderer=None):
        """The whole figure: a tight box keeps all of the picture (its ticks and labels too)."""
        return Bbox(self._corners())

    def draw(self, renderer):
        if not self.get_visible():
            return
        (x0, y0), (x1, y1) = np.round(self._corners()).astype(int)
        rgba, (row, column, part) = self.rgba, self.visible
        if rgba.shape[:2] != (y1 - y0, x1 - x0):          # saved at another dpi
            if self.at_dpi is None:
                raise ValueError(f"a {rgba.shape[1]} × {rgba.shape[0]} picture cannot be pasted under a frame drawn "
                                 f"at {x1 - x0} × {y1 - y0} pixels")
            rgba, (row, column, part) = self.at_dpi(self.figure.dpi)
        canvas = np.asarray(renderer.buffer_rgba()) if hasattr(renderer, "buffer_rgba") else None
        if part is rgba and (x0, y0) == (0, 0) and canvas is not None and canvas.shape == rgba.shape:
            canvas[:] = rgba[::-1]        # an opaque picture of the whole canvas: what blending it would give
            return
        gc = renderer.new_gc()            # only the pixels that are not transparent: blending the others changes nothing
        renderer.draw_image(gc, x0 + column, y0 + row, part)
        gc.restore()


def visible_part(rgba):
    """(row, column, part): the smallest box of ``rgba`` that holds every pixel not wholly transparent, and where
    it starts; ``part`` is ``rgba`` itself when the picture is opaque."""
    alpha = rgba[..., 3]
    if alpha.min() == 255:
        return 0, 0, rgba
    rows, columns = np.flatnonzero(alpha.any(axis=1)), np.flatnonzero(alpha.any(axis=0))
    if len(rows) == 0:
        return 0, 0, rgba[:0, :0]
    return rows[0], columns[0], np.ascontiguousarray(rgba[rows[0]:rows[-1] + 1, columns[0]:columns[-1] + 1])


@lru_cache(maxsize=CACHE_SIZE)
def _render(draw_static, args, size, dpi, boxes):
    """``draw_static(*axes, *args)`` alone on a figure of that size and those axes: RGBA pixels, the axes' limits,
    and the pixels' :func:`visible_part`."""
    fig = Figure(figsize=size, dpi=dpi)
    axes = [fig.add_axes(box) for box in boxes]
    draw_static(*axes, *args)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[::-1])   # draw_image wants the bottom row first
    return rgba, tuple((ax.get_xlim(), ax.get_ylim()) for ax in axes), visible_part(rgba)


def _at_dpi(draw_static, args, size, boxes):
    """``dpi -> (RGBA, visible part)``: the same backdrop at another dpi, drawn under the rcParams of now (those of
    the frame)."""
    rc = matplotlib.rcParams.copy()

    def at_dpi(dpi):
        with matplotlib.rc_context({key: value for key, value in rc.items() if key != "backend"}):
            return _render(draw_static, args, size, dpi, boxes)[::2]

    return at_dpi


def paste_backdrop(axes, draw_static, *args):
    """Give ``axes`` (a sequence of the figure's Axes) what ``draw_static(*axes, *args)`` draws, from a cached picture.

    The axes keep draw_static's limits but draw no ticks, labels, grid or frame of their own:
    the picture has them. Returns the :class:`Picture` added to the figure.

    Inside :func:`drawn_in_one_pass`, ``draw_static`` draws on ``axes`` themselves, which keep
    its limits (as with a picture, what the frame draws next does not move them), and None is returned.
    """
    axes = list(np.atleast_1d(axes))
    if one_pass():
        draw_static(*axes, *args)
        for ax in axes:
            ax.set_xlim(ax.get_xlim())
            ax.set_ylim(ax.get_ylim())
        return None
    fig = axes[0].figure
    size, boxes = tuple(fig.get_size_inches()), tuple(tuple(ax.get_position().bounds) for ax in axes)
    try:
        rgba, limits, visible = _render(draw_static, tuple(args), size, fig.dpi, boxes)
    except TypeError as error:
        if "unhashable" in str(error):
            raise TypeError(f"paste_backdrop caches pictures on draw_static and its args, so they must be hashable "
                            f"(pass tuples, not lists or arrays): {error}") from None
        raise
    picture = Picture(rgba, _at_dpi(draw_static, tuple(args), size, boxes), visible)
    fig.add_artist(picture)
    for ax, (xlim, ylim) in zip(axes, limits):
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_axis_off()
    return picture


def without_spines(*axes):
    """In a ``draw_static``: leave the spines out of the backdrop, for the frame to draw (see :func:`spines_on_top`).

    (In one pass the axes draw their spines themselves: nothing to do.)"""
    if one_pass():
        return
    for ax in axes:
        ax.spines[:].set_visible(False)


def spines_on_top(*axes):
    """In a frame, after :func:`paste_backdrop`: draw the axes' spines over the frame's own artists, as matplotlib
    draws a whole figure, and nothing else of the axes (no patch, ticks, labels or grid: the backdrop has them).

    (In one pass the axes draw all of that themselves: nothing to do.)"""
    if one_pass():
        return
    for ax in axes:
        ax.set_axis_on()
        ax.xaxis.set_visible(False)
        ax.yaxis.set_visible(False)
        ax.patch.set_visible(False)


def _overlay(*axes_and_args):
    *axes, draw, args = axes_and_args
    axes[0].figure.patch.set_visible(False)
    draw(*axes, *args)
    for ax in axes:
        ax.set_axis_off()


def paste_overlay(axes, draw, *args):
    """Paste a transparent picture of what ``draw(*axes, *args)`` draws (e.g. a legend of proxy lines that never
    changes) over everything else of the frame, where matplotlib draws a legend. Cached like a backdrop.

    Inside :func:`drawn_in_one_pass`, ``draw`` draws on ``axes`` themselves (their limits kept) and None is returned."""
    axes = list(np.atleast_1d(axes))
    limits = [(ax.get_xlim(), ax.get_ylim(), ax.axison) for ax in axes]
    if one_pass():
        draw(*axes, *args)
        picture = None
    else:
        picture = paste_backdrop(axes, _overlay, draw, tuple(args))
        picture.set_zorder(10)
    for ax, (xlim, ylim, on) in zip(axes, limits):   # the overlay leaves the frame's axes as they were
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_axis_on() if on else ax.set_axis_off()
    return picture
