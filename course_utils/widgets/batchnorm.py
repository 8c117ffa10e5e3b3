"""Chapter 5's demos: the scale of a feature reshapes the error surface; the moving average of BN.

Each demo is a ``compute`` (pure, returns plain data) and a ``draw`` (matplotlib), wired to two
controls by a :class:`~course_utils.widgets.Demo`.

Both draw quickly because most of a frame is drawn once
(:func:`~course_utils.widgets.backdrop.paste_backdrop`): the axes, their labels and what one
control fixes (the w₂ axis of a kind of features; the batch means of a batch size) come from a
cached picture, and a frame draws only what it changes. The error surface is a picture of its
filled contours computed in NumPy (contourf's own bands and colours), not contourf's paths.
"""
from functools import lru_cache

import numpy as np
import torch

from ..experiments import batchnorm as bx
from .. import optim
from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..pictures import (axes_pixels, contour_levels, draw_path, filled_contours, log_scale, mark_minimum,
                        pixel_centres, show_picture)
from ..surfaces import descend
from . import Control, Demo
from .backdrop import one_pass, paste_backdrop, without_spines

# --- The scale of x₁ and the error surface ----------------------------------------------------------

#: The demo's learning rate and number of updates: the same for every surface.
SCALE_LEARNING_RATE = 0.3
SCALE_STEPS = 30
_SCALES = (1.0, 0.5, 0.2, 0.1, 0.05)
#: The filled contours: how many levels, as ``contourf(levels=SCALE_LEVELS)`` chooses them on a
#: SCALE_GRID_N × SCALE_GRID_N grid (as ``draw_surface`` does).
SCALE_LEVELS = 14
SCALE_GRID_N = 40


def _quadratic_form(surface):
    """S with L(w) = L* + (w − w*)ᵀ S (w − w*): the MSE is quadratic, so three of its values pin S down."""
    w_star = torch.tensor(surface.minimum, dtype=torch.float64)
    best, l1, l2, l12 = surface.loss(w_star + torch.tensor([[0.0, 0.0], [1, 0], [0, 1], [1, 1]],
                                                            dtype=torch.float64)).tolist()
    s11, s22 = l1 - best, l2 - best
    s12 = (l12 - best - s11 - s22) / 2
    return np.array([[s11, s12], [s12, s22]])


@lru_cache(maxsize=None)
def _scale_descents(keys):
    """{(scale of x₁, normalised): (surface, S, path, L − L* along it)}: gradient descent on every surface of
    ``keys`` in one run of :func:`course_utils.surfaces.descend`, a row per surface, each on its exact
    quadratic form L − L* = (w − w*)ᵀ S (w − w*) (the MSE is quadratic), so the first frame pays for all."""
    surfaces = [bx.feature_surface(*key) for key in keys]
    S = np.array([_quadratic_form(surface) for surface in surfaces])
    w_star = np.array([surface.minimum for surface in surfaces])

    def gaps(w):
        d = w - torch.from_numpy(w_star)
        return torch.einsum("ki,kij,kj->k", d, torch.from_numpy(S), d)

    paths = descend(gaps, [bx.start_point(surface) for surface in surfaces], optim.SGD, SCALE_STEPS,
                    lr=SCALE_LEARNING_RATE).numpy()
    d = paths - w_star[:, None]
    gap = np.einsum("kti,kij,ktj->kt", d, S, d)
    return {key: (surface, S[k], paths[k], gap[k]) for k, (key, surface) in enumerate(zip(keys, surfaces))}


def _scale_descent(scale_x1, normalised):
    """The surface, its S, the path (SCALE_STEPS + 1, 2) of gradient descent on the MSE, and L − L* along it."""
    every = tuple((s, n) for s in _SCALES for n in (False, True))
    return _scale_descents(every if (scale_x1, normalised) in every else ((scale_x1, normalised),))[
        scale_x1, normalised]


def scale_compute(scale_x1=0.1, features="raw"):
    """SCALE_STEPS steps of gradient descent (η = SCALE_LEARNING_RATE) on the MSE surface of
    y ≈ w₁x₁ + w₂x₂, with x₁ of standard deviation ``scale_x1``, on raw or z-scored features."""
    if features not in ("raw", "z-scored"):
        raise ValueError(f"features must be 'raw' or 'z-scored', got {features!r}")
    surface, S, path, gap = _scale_descent(scale_x1, features == "z-scored")
    curvature = np.linalg.eigvalsh(2 * S)        # the Hessian's eigenvalues, as bx.curvatures gives them
    return {"surface": surface, "path": path, "gap": gap, "features": features, "scale_x1": scale_x1,
            "condition": float(curvature[-1] / curvature[0])}


def _loss_gap(S, w_star, w1, w2):
    """L − L* at (w1, w2)."""
    d1, d2 = w1 - w_star[0], w2 - w_star[1]
    return S[0, 0] * d1 * d1 + 2 * S[0, 1] * d1 * d2 + S[1, 1] * d2 * d2


@lru_cache(maxsize=None)
def _surface_picture(scale_x1, normalised, size):
    """The surface's filled contours as an RGBA picture of ``size`` (the axes' pixels): the bands and colours
    ``draw_surface(surface, ax, n=SCALE_GRID_N, levels=SCALE_LEVELS)`` draws with contourf, each pixel in its
    true band."""
    surface, S, _, _ = _scale_descent(scale_x1, normalised)
    w_star = np.array(surface.minimum)
    w1, w2 = np.meshgrid(np.linspace(*surface.xlim, SCALE_GRID_N), np.linspace(*surface.ylim, SCALE_GRID_N))
    grid_gap = _loss_gap(S, w_star, w1, w2)
    floor = grid_gap.min()                      # min L over draw_surface's grid, as its colour scale takes it
    levels = contour_levels(log_scale(grid_gap, floor), SCALE_LEVELS)
    p1, p2 = pixel_centres(surface.xlim, surface.ylim, size, sparse=True)
    return filled_contours(log_scale(_loss_gap(S, w_star, p1, p2), floor), levels, alpha=0.9)


def _scale_static(ax, features):
    """What every frame on raw (or z-scored) features shares: the w₂ axis and both axis labels.

    w₂* is the same at every scale of x₁, so the w₂ window and its ticks are too; the w₁ window
    follows w₁*, so each frame draws its own w₁ ticks (and the grid and frame over its surface).
    """
    surface = bx.feature_surface(_SCALES[0], features == "z-scored")
    ax.set(xlim=surface.xlim, ylim=surface.ylim)
    _scale_axes(ax)
    if not one_pass():
        ax.tick_params(axis="x", colors="none")     # unseen, but the w₁ label sits below them as below the frame's
    ax.set(xlabel=surface.labels[0], ylabel=surface.labels[1])
    without_spines(ax)                                   # each frame draws them, over its surface


def _scale_axes(ax):
    ax.set_aspect("equal", adjustable="box")
    ax.locator_params(nbins=5)


def scale_draw(data, ax):
    surface = data["surface"]
    paste_backdrop([ax], _scale_static, data["features"])
    if not one_pass():
        ax.set_axis_on()                                      # the w₁ axis, the grid and the frame, over the surface
        ax.tick_params(axis="y", left=False, labelleft=False)   # the w₂ ticks are in the backdrop
    ax.set_xlim(*surface.xlim)
    _scale_axes(ax)
    show_picture(ax, _surface_picture(data["scale_x1"], data["features"] == "z-scored", axes_pixels(ax)),
                 surface.xlim, surface.ylim)
    mark_minimum(ax, surface.minimum)
    draw_path(data["path"], ax, color="white")
    ax.set_title(f"{data['features']} features, x₁ scale {data['scale_x1']:g}: curvature ratio "
                 f"{data['condition']:.3g}\nafter {SCALE_STEPS} steps of η = {SCALE_LEARNING_RATE:g}: "
                 f"L − L* = {data['gap'][-1]:.2g}", fontsize=10)


FEATURE_SCALE_DEMO = Demo(
    "The scale of a feature shapes the error surface", scale_compute, scale_draw,
    {"scale_x1": Control("scale of x₁ (x₂ has scale 1)", _SCALES, 0.1),
     "features": Control("features", ("raw", "z-scored"), "raw")},
    alt="Gradient descent zig-zags down an elongated error surface when x₁ is ten times smaller than x₂.",
    ticks=7)                     # each frame draws its own w₁ axis, and the grid over its surface

# --- The moving average of the batch mean ----------------------------------------------------------

_SMOOTHING = (0.0, 0.5, 0.8, 0.9, 0.95, 0.99)


@lru_cache(maxsize=None)
def _averages(batch_size):
    """The batch means μᵗ of the drifting feature's batches and, for every p of the demo, the moving average."""
    batches = bx.drifting_batches(batch_size)
    running = bx.running_means(batches, _SMOOTHING).T.numpy()
    return batches.mean(dim=(1, 2)).numpy(), dict(zip(_SMOOTHING, running))


def average_compute(p=0.9, batch_size=16):
    """The batch means μᵗ of AVERAGE_STEPS batches of one drifting feature, and the moving average μ̄
    that a BatchNorm1d with momentum = 1 − p keeps of them (starting, as PyTorch's, at 0)."""
    means, running = _averages(batch_size)
    if p not in running:
        running = {p: bx.running_means(bx.drifting_batches(batch_size), p)[:, 0].numpy()}
    steps = np.arange(1, bx.AVERAGE_STEPS + 1)
    return {"steps": steps, "batch_means": means, "running": running[p],
            "population": bx.population_mean(steps - 1), "p": p, "batch_size": batch_size}


def _average_static(ax, batch_size):
    """What every frame at batch size B shares: its batch means, the true mean, the axes and the legend."""
    data = average_compute(0.0, batch_size)
    # No transparency and no combining accents (μ̄) in the text: both slow the PNG down noticeably.
    ax.plot(data["steps"], data["batch_means"], ".", color="#999999", markersize=3, label="batch mean μᵗ")
    ax.plot(data["steps"], data["population"], "--", color=ROLE_COLORS["target"], linewidth=1.5,
            label="mean over all data")
    ax.plot([], [], **_RUNNING_STYLE, label="moving average (running_mean)")     # each frame draws it
    # Fixed, few ticks: the automatic locator makes a dozen, each a handful of artists to build and draw.
    ax.set(xlim=(0, bx.AVERAGE_STEPS), ylim=(-0.5, 4.5), xticks=(0, 50, 100, 150), yticks=(0, 2, 4),
           xlabel="training step t", ylabel="mean of feature z")
    ax.legend(loc="lower right", fontsize=8)


_RUNNING_STYLE = {"color": OPTIMISER_COLORS["momentum"], "linewidth": 2}


def average_draw(data, ax):
    # The batch means, the true mean, the axes and the legend depend on B only: a picture drawn once per B.
    paste_backdrop([ax], _average_static, data["batch_size"])
    ax.plot(data["steps"], data["running"], **_RUNNING_STYLE)
    ax.set_title(f"p = {data['p']:g} (PyTorch momentum {1 - data['p']:.2g}), B = {data['batch_size']}: "
                 f"moving average {data['running'][-1]:.2f} at the end, true mean {data['population'][-1]:.2f}",
                 fontsize=9)


RUNNING_AVERAGE_DEMO = Demo(
    "The moving average μ̄ ← p·μ̄ + (1 − p)·μᵗ", average_compute, average_draw,
    {"p": Control("p", _SMOOTHING, 0.9),
     "batch_size": Control("batch size B", (2, 8, 32, 128), 8)},
    alt="Batch means scatter around a drifting mean; their moving average with p = 0.9 follows it smoothly.")
