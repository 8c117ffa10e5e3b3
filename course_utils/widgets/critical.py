r"""Chapter 1's demos on the notes' surface L(w₁, w₂) = (1 − w₁w₂)².

- ``TAYLOR_DEMO``: move a point θ′ over the surface; see the gradient g, the Hessian's
  eigenvectors (coloured by the sign of their eigenvalue λ) and, beside the true loss, its
  quadratic approximation L(θ′) + (θ − θ′)ᵀg + ½(θ − θ′)ᵀH(θ − θ′).
- ``ESCAPE_DEMO``: gradient descent started at the saddle point (0, 0), nudged by a small
  step along one of H's eigenvectors or a random direction, or not at all.

Drawing is quick because most of a frame never changes: the true loss's filled contours, the
axes' ticks, labels and fixed titles are drawn once into a picture
(:func:`~course_utils.widgets.backdrop.paste_backdrop`), and each frame pastes it and draws only
what moves (the point, its vectors, the quadratic approximation, the path, the loss curve).
"""
from functools import lru_cache

import numpy as np
import torch

from .. import optim
from ..experiments import critical
from .. import hessian as hs
from matplotlib.collections import LineCollection

from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..pictures import axes_pixels, draw_path, filled_contours, pixel_centres, show_picture
from ..surfaces import descend
from . import Control, Demo
from .backdrop import paste_backdrop, spines_on_top, without_spines

#: The contour levels both panels share, so equal colours mean equal values.
LEVELS = np.array([-8, -4, -2, -1, -0.5, 0, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32])
#: Colours of eigenvectors with a negative and a positive eigenvalue.
CURVATURE_COLORS = {"negative": "#d62728", "positive": "#1f77b4", "zero": "#7f7f7f"}
#: Points per side of the grid the demo's data gives the loss and its approximation on.
GRID_N = 200
WINDOW = (-2.0, 2.0)


@lru_cache(maxsize=1)
def _grid():
    """θ₁, θ₂ on a GRID_N × GRID_N grid of the window (pixel centres), and the true loss there.

    NumPy arrays: at this size a torch operation may start its thread pool, which costs more than
    the arithmetic on a busy machine.
    """
    T1, T2 = pixel_centres(WINDOW, WINDOW, (GRID_N, GRID_N))
    return T1, T2, critical.product_loss(np.stack([T1, T2], axis=-1))


@lru_cache(maxsize=4)
def _loss_picture(extend, size):
    """The true loss as filled contours, an RGBA picture of ``size`` pixels, drawn once and reused by every frame."""
    levels = LEVELS if extend == "both" else LEVELS[LEVELS >= 0]
    T1, T2 = pixel_centres(WINDOW, WINDOW, size)
    return filled_contours(critical.product_loss(np.stack([T1, T2], axis=-1)), levels, extend)


def _show_picture(ax, rgba):
    show_picture(ax, rgba, WINDOW, WINDOW)
    ax.grid(False)   # the bands already show the values; grid lines over them cost time and add clutter


@lru_cache(maxsize=64)
def _terms(w1, w2):
    """L(θ′), g and H at θ′ = (w₁, w₂) as plain floats, and H's eigenpairs."""
    _, value, g, H = critical.taylor_terms((w1, w2))
    lam, vectors = torch.linalg.eigh(H)
    kind = hs.critical_point_kind(H) if g.norm() < 1e-9 else "not a critical point"
    return value.item(), g.tolist(), H.tolist(), g.numpy(), lam.numpy(), vectors.T.numpy(), kind


def _quadratic_on(w1, w2, T1, T2):
    """The quadratic approximation around (w₁, w₂) at the points (T1, T2), in NumPy: the same form as
    critical.quadratic_approximation."""
    value, (g1, g2), ((h11, h12), (h21, h22)), *_ = _terms(w1, w2)
    d1, d2 = T1 - w1, T2 - w2
    return value + d1 * g1 + d2 * g2 + 0.5 * (h11 * d1 * d1 + (h12 + h21) * d1 * d2 + h22 * d2 * d2)


@lru_cache(maxsize=64)
def _taylor_at(w1, w2):
    """The quadratic approximation around (w₁, w₂) on the grid, g, H's eigenpairs and the point's kind.

    Cached: a frame's control values are all it depends on, and the demo has 49 points (0.3 MB each).
    """
    T1, T2, _ = _grid()
    *_, g, lam, vectors, kind = _terms(w1, w2)
    arrays = (_quadratic_on(w1, w2, T1, T2), g, lam, vectors)
    for array in arrays:   # shared by every call for this point: nobody may change them
        array.flags.writeable = False
    return (*arrays, kind)


@lru_cache(maxsize=64)
def _quadratic_picture(w1, w2, size):
    """The quadratic approximation around (w₁, w₂) as filled contours (an RGBA picture), made once per point."""
    T1, T2 = pixel_centres(WINDOW, WINDOW, size)
    return filled_contours(_quadratic_on(w1, w2, T1, T2), LEVELS, "both")


def taylor_compute(w1=0.5, w2=-0.5):
    """The true loss and its quadratic approximation around θ′ = (w₁, w₂), with g and H's eigenpairs."""
    T1, T2, L = _grid()
    quadratic, g, lam, vectors, kind = _taylor_at(w1, w2)
    return {"T1": T1, "T2": T2, "loss": L, "quadratic": quadratic,
            "theta": np.array([w1, w2]), "gradient": g, "eigenvalues": lam,
            "eigenvectors": vectors, "kind": kind}


def _branch(sign):
    w1 = np.linspace(0.5, 2.0, 30) * sign
    return np.concatenate([w1, [np.nan]]), np.concatenate([1 / w1, [np.nan]])


#: The curve of minima w₁w₂ = 1 (both branches, split by a NaN), as (w₁, w₂) arrays.
_MINIMA_CURVE = tuple(np.concatenate(parts) for parts in zip(_branch(1), _branch(-1)))


def _frame(ax):
    ax.set(xlim=WINDOW, ylim=WINDOW, xticks=[-2, -1, 0, 1, 2], yticks=[-2, -1, 0, 1, 2], xlabel="w₁", ylabel="w₂")


def _curvature(lam):
    return "negative" if lam < -1e-9 else "positive" if lam > 1e-9 else "zero"


def _taylor_static(left, right):
    """What every frame of TAYLOR_DEMO shares: the true loss's filled contours, both axes, both titles."""
    _show_picture(left, _loss_picture("both", axes_pixels(left)))
    for ax, name in ((left, "true loss L(θ)"), (right, "quadratic approximation")):
        _frame(ax)
        ax.grid(False)
        ax.set_title(name)
    right.tick_params(labelleft=False)
    right.set_ylabel("")
    without_spines(left, right)


def taylor_draw(data, axes):
    # The filled contours are pictures (imshow), not contourf: the true loss's is in the backdrop,
    # drawn once for every frame, and the quadratic's is made once per point.
    left, right = axes
    paste_backdrop(axes, _taylor_static)
    spines_on_top(left, right)
    _show_picture(right, _quadratic_picture(*data["theta"], axes_pixels(right)))
    eigenvectors = [np.array([data["theta"] - 0.7 * u, data["theta"] + 0.7 * u]) for u in data["eigenvectors"]]
    eigencolors = [CURVATURE_COLORS[_curvature(lam)] for lam in data["eigenvalues"]]
    step = -0.25 * data["gradient"]
    for ax in axes:
        ax.add_collection(LineCollection(eigenvectors, colors=eigencolors, linewidths=2.5))
        if np.linalg.norm(step) > 1e-9:   # a plain polygon arrow: an annotation's fancy arrow draws far slower
            ax.arrow(*data["theta"], *step, color="white", width=0.02, head_width=0.15, head_length=0.15,
                     length_includes_head=True, zorder=3)
        ax.plot(*data["theta"], "o", color="white", markeredgecolor="black", markersize=7)
        ax.plot(*_MINIMA_CURVE, ":", color="white", linewidth=1)   # above the eigenvectors, as before
    lam = data["eigenvalues"]
    axes[0].text(0.02, 0.02, f"‖g‖ = {np.linalg.norm(data['gradient']):.2f}, λ = {lam[0]:.2f} and {lam[1]:.2f}\n{data['kind']}",
                 transform=axes[0].transAxes, fontsize=8, color="black",
                 bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


_POSITIONS = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)

TAYLOR_DEMO = Demo(
    "The quadratic approximation around a point θ′ = (w₁, w₂)", taylor_compute, taylor_draw,
    {"w1": Control("w₁ of θ′", _POSITIONS, 0.5), "w2": Control("w₂ of θ′", _POSITIONS, -0.5)},
    ncols=2, alt="The loss (1 − w₁w₂)² and its quadratic approximation around (0.5, −0.5), with the gradient "
        "and the Hessian's eigenvectors.",
)

# --- Escaping the saddle point at the origin --------------------------------------------------

ESCAPE_LEARNING_RATE = 0.1
ESCAPE_STEPS = 60
SADDLE = (0.0, 0.0)


def nudge(direction, size):
    """The start θ⁰ = (0, 0) + size·d for a unit direction d: "none", "λ < 0", "λ > 0" or "random"."""
    if direction == "none":
        return torch.zeros(2, dtype=torch.float64)
    if direction == "random":
        d = torch.randn(2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        return size * d / d.norm()
    vectors = _terms(*SADDLE)[5]         # H's unit eigenvectors at the saddle point (rows), eigenvalues ascending
    return size * torch.tensor(vectors[0 if direction == "λ < 0" else 1])


def _descent(starts):
    """Gradient descent θ ← θ − η·∇L(θ) on the notes' loss from starts (K, 2): the paths (K, ESCAPE_STEPS + 1, 2)."""
    return descend(critical.product_loss, starts, optim.SGD, ESCAPE_STEPS, lr=ESCAPE_LEARNING_RATE)


_DIRECTIONS = ("none", "λ < 0", "λ > 0", "random")
_SIZES = (0.001, 0.01, 0.1, 0.3)


@lru_cache(maxsize=1)
def _all_descents():
    """The paths of every frame of ESCAPE_DEMO at once, {(direction, size): path}.

    One run of :func:`course_utils.surfaces.descend` (a row per frame) costs about what one path costs
    alone, so the first frame drawn pays for all the others.
    """
    keys = [(d, s) for d in _DIRECTIONS for s in _SIZES]
    paths = _descent(torch.stack([nudge(d, s) for d, s in keys]))
    return {key: paths[i] for i, key in enumerate(keys)}


def escape_compute(direction="λ < 0", size=0.01):
    """Gradient descent (η = ESCAPE_LEARNING_RATE, ESCAPE_STEPS updates) from the nudged saddle point."""
    path = _all_descents().get((direction, size))
    if path is None:
        path = _descent(nudge(direction, size)[None])[0]
    T1, T2, L = _grid()
    return {"path": path.numpy(), "losses": critical.product_loss(path).numpy(),
            "direction": direction, "size": size, "T1": T1, "T2": T2, "loss": L}


def _escape_static(ax, curve):
    """What every frame of ESCAPE_DEMO shares: the loss's filled contours, the saddle, both axes."""
    # The loss is the same in every frame: one picture of its filled contours (imshow).
    _show_picture(ax, _loss_picture("max", axes_pixels(ax)))
    ax.plot(*SADDLE, "x", color="white", markersize=9, markeredgewidth=2)
    _frame(ax)
    curve.set(ylim=(-0.05, 1.1), xlim=(0, ESCAPE_STEPS), xlabel="update")
    curve.locator_params(nbins=4)
    curve.set_ylabel("loss L", color=ROLE_COLORS["data"])
    without_spines(ax, curve)


def escape_draw(data, axes):
    ax, curve = axes
    paste_backdrop(axes, _escape_static)
    spines_on_top(ax, curve)
    draw_path(data["path"], ax, color=OPTIMISER_COLORS["gd"])
    ax.plot(*_MINIMA_CURVE, ":", color="white", linewidth=1)   # above the path, as before
    what = "no nudge" if data["direction"] == "none" else f"nudge {data['size']:g} along {data['direction']}"
    ax.set_title(what)
    curve.plot(data["losses"], color=OPTIMISER_COLORS["gd"])
    curve.set_title(f"after {ESCAPE_STEPS} updates: L = {data['losses'][-1]:.3f}")


ESCAPE_DEMO = Demo(
    title="Gradient descent from the saddle point (0, 0), nudged",
    compute=escape_compute,
    draw=escape_draw,
    controls={
        "direction": Control("nudge direction", _DIRECTIONS, "λ < 0"),
        "size": Control("nudge size", _SIZES, 0.01),
    },
    ncols=2, alt="Gradient descent started 0.01 away from the saddle point along the eigenvector of the negative "
        "eigenvalue slides down to the curve of minima w₁w₂ = 1.")
