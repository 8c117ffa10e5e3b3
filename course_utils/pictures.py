r"""Pictures of an error surface: one colour scale, one filled-contour picture, one minimum marker.

Every figure and demo of a loss :math:`L(\theta_1, \theta_2)` colours it the same way. With the
log scale the colour follows :math:`\log_{10}(L - \min L + 10^{-3})`, so the flat floor of a
valley still shows its shape (:func:`log_scale`). Filled contours come two ways:

- :func:`draw_surface`: matplotlib's ``contourf`` over a grid, for the chapters' figures;
- :func:`filled_contours`: the same bands and colours as a picture, one value per pixel of
  the axes (:func:`axes_pixels` reads their size from the figure), for demos, which redraw on
  every slider move: a picture draws several times quicker than contourf's band polygons, and
  each pixel has its true band rather than one interpolated across a coarse grid.

:func:`mark_minimum` marks the minimum with one white star, :func:`draw_path` a trajectory.
"""
from functools import lru_cache

import numpy as np
import torch
from matplotlib.artist import Artist

from .surfaces import grid

#: The minimum's marker in every picture of a surface.
MINIMUM_MARKER = {"marker": "*", "color": "white", "markersize": 11, "markeredgecolor": "black", "linestyle": "none"}


def log_scale(L, floor=None):
    """log₁₀(L − floor + 10⁻³), floor = min L unless given: the colour scale of every picture of a surface.

    A value below a given floor (a pixel nearer the minimum than any point of the grid the floor was
    taken on) counts as the floor. NumPy arrays and torch tensors alike (each keeps its type)."""
    gap = L - (L.min() if floor is None else floor)
    if torch.is_tensor(gap):
        return torch.log10(gap.clamp(min=0) + 1e-3)
    return np.log10(np.maximum(gap, 0) + 1e-3)


def mark_minimum(ax, point):
    """The minimum θ* as a white star."""
    ax.plot(*point, **MINIMUM_MARKER)


def draw_surface(surface, ax, n=100, levels=20):
    """Filled contours (matplotlib's contourf) of a surface on an n×n grid, labelled, with its minimum marked.

    The colours follow :func:`log_scale`."""
    T1, T2, L = grid(surface, n)
    ax.contourf(T1.numpy(), T2.numpy(), log_scale(L).numpy(), levels=levels, cmap="viridis", alpha=0.9)
    if surface.minimum is not None:
        mark_minimum(ax, surface.minimum)
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel=surface.labels[0], ylabel=surface.labels[1])


def draw_path(path, ax, color, label=None):
    """A trajectory as dots joined by lines, starting point ringed."""
    path = path.detach().numpy() if torch.is_tensor(path) else path
    ax.plot(path[:, 0], path[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2, label=label)
    ax.plot(path[0, 0], path[0, 1], "o", markersize=8, markerfacecolor="none", markeredgecolor=color)


# --- The filled contours as a picture --------------------------------------------------------------


def axes_pixels(ax):
    """(width, height) of an Axes in pixels, as its figure draws it (after any fixed aspect is applied)."""
    ax.apply_aspect()
    fig = ax.figure
    width, height = ax.get_position().size * fig.get_size_inches() * fig.dpi
    return round(width), round(height)


def pixel_centres(xlim, ylim, size, sparse=False):
    """θ₁, θ₂ at the centres of the pixels of a (width, height) picture of the window, rows from the bottom;
    ``sparse``: a row of θ₁ and a column of θ₂, which broadcast to the picture."""
    width, height = size
    step1, step2 = (xlim[1] - xlim[0]) / width, (ylim[1] - ylim[0]) / height
    t1 = np.linspace(xlim[0] + step1 / 2, xlim[1] - step1 / 2, width)
    t2 = np.linspace(ylim[0] + step2 / 2, ylim[1] - step2 / 2, height)
    return np.meshgrid(t1, t2, indexing="xy", sparse=sparse)


def contour_levels(values, n):
    """The levels ``contourf(values, levels=n)`` picks: MaxNLocator(n + 1) over their range, one level beyond each end."""
    from matplotlib.ticker import MaxNLocator

    zmin, zmax = float(np.min(values)), float(np.max(values))
    levels = MaxNLocator(n + 1).tick_values(zmin, zmax)
    under, over = np.flatnonzero(levels < zmin), np.flatnonzero(levels > zmax)
    return tuple(levels[(under[-1] if len(under) else 0):(over[0] + 1 if len(over) else len(levels))])


@lru_cache(maxsize=None)
def band_colors(levels, extend="neither", alpha=1.0):
    """RGBA (uint8) of each band of ``contourf(levels=levels, cmap="viridis", extend=extend, alpha=alpha)`` on
    white, lowest first (with ``extend``, the colour below levels[0] first and the one above levels[-1] last)."""
    from matplotlib.figure import Figure

    x = np.linspace(-1.0, 1.0, 3)
    colors = Figure().subplots().contourf(x, x, np.outer(x, x), levels=list(levels), cmap="viridis",
                                          extend=extend).get_facecolor()
    colors = alpha * np.asarray(colors) + (1 - alpha)
    colors = np.round(255 * colors).astype(np.uint8)      # RGBA: matplotlib draws it twice as fast as RGB
    colors[:, 3] = 255
    return colors


def filled_contours(values, levels, extend="neither", alpha=1.0):
    """``values`` (a picture, rows from the bottom) coloured by the band of ``levels`` each falls in, z₁ < z ≤ z₂,
    as contourf colours them: an RGBA picture. Values beyond the levels take the end bands' colours, or with
    ``extend`` the colours below and above."""
    colors = band_colors(tuple(levels), extend, alpha)
    index = np.searchsorted(np.asarray(levels), values)       # 0: ≤ levels[0]; len(levels): > levels[-1]
    if extend not in ("min", "both"):
        index -= 1
    np.clip(index, 0, len(colors) - 1, out=index)
    rgba = colors.view(np.uint32)[:, 0].take(index)           # a pixel's four bytes as one number: a quicker take
    return rgba.view(np.uint8).reshape(*index.shape, 4)


class AxesPicture(Artist):
    """A picture (rows from the bottom) that fills its Axes, drawn where an image is (zorder 0): one
    picture pixel per screen pixel, or, at another size (a small array, or the figure saved at another
    dpi), each screen pixel takes the picture's pixel under its centre."""

    zorder = 0

    def __init__(self, rgba):
        super().__init__()
        self.rgba = rgba

    def draw(self, renderer):
        if not self.get_visible():
            return
        box = self.axes.bbox
        width, height, rgba = round(box.width), round(box.height), self.rgba
        if rgba.shape[:2] != (height, width):           # the picture's pixel under each pixel's centre
            rows = ((np.arange(height) + 0.5) * rgba.shape[0] / height).astype(int)
            rgba = np.ascontiguousarray(rgba[rows][:, ((np.arange(width) + 0.5) * rgba.shape[1] / width).astype(int)])
        gc = renderer.new_gc()
        renderer.draw_image(gc, round(box.x0), round(box.y0), rgba)
        gc.restore()


def show_picture(ax, rgba, xlim, ylim):
    """Paste a picture over the window (xlim, ylim) of an Axes (its aspect kept), each screen pixel showing the
    picture's pixel under its centre (one for one when the picture has the axes' size, :func:`axes_pixels`).

    When (xlim, ylim) is the axes' window, the picture is drawn as it is (:class:`AxesPicture`), several times
    quicker than matplotlib's ``imshow``; otherwise through ``imshow``."""
    width, height = axes_pixels(ax)
    window = np.array([ax.get_xlim(), ax.get_ylim()])
    pixel = np.abs(np.diff(window, axis=1)) / [[width], [height]]
    if (np.abs(window - [xlim, ylim]) < 1e-3 * pixel).all():
        ax.add_artist(AxesPicture(rgba))
    else:
        ax.imshow(rgba, origin="lower", extent=(*xlim, *ylim), aspect=ax.get_aspect(), interpolation="nearest")


def surface_picture(surface, ax, n=100, levels=20, alpha=0.9):
    """What :func:`draw_surface` draws (window, labels, bands, colours, minimum), with the filled contours as a
    picture at the axes' size: the bands are those contourf picks on the n×n grid, each pixel in its true band."""
    T1, T2, L = grid(surface, n)
    bands = contour_levels(log_scale(L).numpy(), levels)
    ax.set(xlim=surface.xlim, ylim=surface.ylim, xlabel=surface.labels[0], ylabel=surface.labels[1])
    P1, P2 = pixel_centres(surface.xlim, surface.ylim, axes_pixels(ax))
    with torch.no_grad():
        values = surface.loss(torch.as_tensor(np.stack([P1, P2], axis=-1), dtype=torch.float64))
    show_picture(ax, filled_contours(log_scale(values, L.min()).numpy(), bands, alpha=alpha), surface.xlim, surface.ylim)
    if surface.minimum is not None:
        mark_minimum(ax, surface.minimum)
