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
"""
from functools import lru_cache

import numpy as np
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

#: Backdrops kept in memory (a 640 × 320 picture is 0.8 MB).
CACHE_SIZE = 64


class Picture(Artist):
    """An RGBA picture of the whole figure, pasted before anything else is drawn."""

    zorder = -10

    def __init__(self, rgba):
        super().__init__()
        self.rgba = rgba

    def draw(self, renderer):
        gc = renderer.new_gc()
        renderer.draw_image(gc, 0, 0, self.rgba)
        gc.restore()


@lru_cache(maxsize=CACHE_SIZE)
def _render(draw_static, args, size, dpi, boxes):
    """``draw_static(*axes, *args)`` alone on a figure of that size and those axes: RGBA pixels and the axes' limits."""
    fig = Figure(figsize=size, dpi=dpi)
    axes = [fig.add_axes(box) for box in boxes]
    draw_static(*axes, *args)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[::-1])   # draw_image wants the bottom row first
    return rgba, tuple((ax.get_xlim(), ax.get_ylim()) for ax in axes)


def paste_backdrop(axes, draw_static, *args):
    """Give ``axes`` (a sequence of the figure's Axes) what ``draw_static(*axes, *args)`` draws, from a cached picture.

    The axes keep draw_static's limits but draw no ticks, labels, grid or frame of their own:
    the picture has them. Returns the :class:`Picture` added to the figure.
    """
    axes = list(np.atleast_1d(axes))
    fig = axes[0].figure
    boxes = tuple(tuple(ax.get_position().bounds) for ax in axes)
    try:
        rgba, limits = _render(draw_static, tuple(args), tuple(fig.get_size_inches()), fig.dpi, boxes)
    except TypeError as error:
        if "unhashable" in str(error):
            raise TypeError(f"paste_backdrop caches pictures on draw_static and its args, so they must be hashable "
                            f"(pass tuples, not lists or arrays): {error}") from None
        raise
    picture = Picture(rgba)
    fig.add_artist(picture)
    for ax, (xlim, ylim) in zip(axes, limits):
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_axis_off()
    return picture


def without_spines(*axes):
    """In a ``draw_static``: leave the spines out of the backdrop, for the frame to draw (see :func:`spines_on_top`)."""
    for ax in axes:
        ax.spines[:].set_visible(False)


def spines_on_top(*axes):
    """In a frame, after :func:`paste_backdrop`: draw the axes' spines over the frame's own artists, as matplotlib
    draws a whole figure, and nothing else of the axes (no patch, ticks, labels or grid: the backdrop has them)."""
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
    changes) over everything else of the frame, where matplotlib draws a legend. Cached like a backdrop."""
    axes = list(np.atleast_1d(axes))
    limits = [(ax.get_xlim(), ax.get_ylim(), ax.axison) for ax in axes]
    picture = paste_backdrop(axes, _overlay, draw, tuple(args))
    for ax, (xlim, ylim, on) in zip(axes, limits):   # the overlay leaves the frame's axes as they were
        ax.set_xlim(xlim)
        ax.set_ylim(ylim)
        ax.set_axis_on() if on else ax.set_axis_off()
    picture.set_zorder(10)
    return picture
