"""Chapter 0's demos: gradient descent and the learning rate, one sigmoid, and curves from pieces.

Each demo is a ``compute`` (pure, returns plain data) and a ``draw`` (matplotlib), wired to at
most two controls by a :class:`~course_utils.widgets.Demo`.

Drawing is quick because most of a frame never changes: the axes' ticks, labels and grid, the
loss curve or surface, are drawn once into a picture pasted under every frame
(:func:`~course_utils.widgets.backdrop.paste_backdrop`), and the legends, which never change
either, into a transparent picture pasted over it. A frame draws only its lines, points, spines
and title in between, in the order matplotlib would, so it looks as if drawn whole.
"""
from functools import lru_cache

import numpy as np
import torch
from matplotlib.collections import LineCollection

from ..experiments import recipe
from ..experiments.recipe import GD_START, line_surface
from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..pictures import draw_path, surface_picture
from ..surfaces import gradient_descent, losses_along
from . import Control, Demo
from .backdrop import paste_backdrop, paste_overlay, spines_on_top, without_spines

# --- Drawing a frame between a backdrop and a legend ------------------------------------------


def _between(ax, draw_static, *args, legend=None):
    """Paste ``draw_static(ax, *args)``'s picture under ``ax``, ``legend(ax)``'s over it; ``ax`` draws only its spines.

    matplotlib draws an axes' grid and ticks under its lines, its spines over them, and a legend
    over everything: the backdrop has the first, the frame draws the spines (``ax`` with no patch,
    ticks or labels, which the backdrop has), and the legend's picture goes on top.
    """
    paste_backdrop([ax], draw_static, *args)                          # its limits are the frame's
    if legend is not None:
        paste_overlay([ax], legend)
    spines_on_top(ax)


def _axes(ax, xlim, ylim, xlabel="x", ylabel="y"):
    """A backdrop's axes: their window, few ticks and labels, and no spines (the frame draws them)."""
    ax.set(xlim=xlim, ylim=ylim, xlabel=xlabel, ylabel=ylabel)
    ax.locator_params(nbins=5)
    without_spines(ax)


# --- Gradient descent on one and on two parameters ------------------------------------------

def loss_of_w(theta):
    """L(w, b*): the surface cut at the best b, a loss of the one parameter θ = (w,)."""
    surface = line_surface()
    return surface.loss(torch.cat([theta, theta.new_tensor([surface.minimum[1]])]))


#: Longest descent a demo shows; shorter ones are its beginnings.
GD_MAX_STEPS = 100


@lru_cache(maxsize=None)
def _descent(n_parameters, learning_rate):
    """The GD_MAX_STEPS-update path from GD_START and the loss along it (cached per η)."""
    loss = loss_of_w if n_parameters == 1 else line_surface()
    path = gradient_descent(loss, GD_START[:n_parameters], learning_rate, GD_MAX_STEPS)
    return path.numpy(), losses_along(loss, path).numpy()


@lru_cache(maxsize=1)
def _loss_curve():
    """L(w, b*) on 120 values of w across the surface's window."""
    surface = line_surface()
    w = torch.linspace(*surface.xlim, 120, dtype=torch.float64)
    with torch.no_grad():
        curve = surface.loss(torch.stack([w, torch.full_like(w, surface.minimum[1])], dim=1))
    return w.numpy(), curve.numpy()


def _verdict(losses, steps):
    if len(losses) < steps + 1 or losses[steps] > losses[0]:
        return "diverges"
    return f"L = {losses[steps]:.3g}"


def gd1_compute(learning_rate=0.2, steps=10):
    """Gradient descent w ← w − η·dL/dw on L(w, b*), from w⁰ = GD_START[0]: the curve and the path."""
    w, curve = _loss_curve()
    path, losses = _descent(1, learning_rate)
    return {"w": w, "curve": curve, "path": path[: steps + 1, 0], "losses": losses[: steps + 1],
            "verdict": _verdict(losses, steps), "learning_rate": learning_rate, "steps": steps}


def _gd1_static(ax):
    """What every frame of GD1_DEMO shares: the loss curve L(w, b*), the axes and their labels."""
    w, curve = _loss_curve()
    ax.plot(w, curve, color=ROLE_COLORS["data"], linewidth=1.2)
    _axes(ax, (w[0], w[-1]), (0, 1.1 * curve.max()), "w", "loss L")


def _gd1_legend(ax):
    ax.plot([], [], color=ROLE_COLORS["data"], linewidth=1.2, label="L(w), b fixed at b*")
    ax.plot([], [], "-o", color=OPTIMISER_COLORS["gd"], markersize=3, linewidth=1, label="w⁰, w¹, w², …")
    ax.legend(loc="upper center")


def gd1_draw(data, ax):
    _between(ax, _gd1_static, legend=_gd1_legend)
    color = OPTIMISER_COLORS["gd"]
    ax.plot(data["path"], data["losses"], "-o", color=color, markersize=3, linewidth=1)
    ax.plot(data["path"][0], data["losses"][0], "o", markersize=8, markerfacecolor="none", markeredgecolor=color)
    ax.set_title(f"η = {data['learning_rate']:g}, {data['steps']} updates: {data['verdict']}")


def gd2_compute(learning_rate=0.2, steps=30):
    """Gradient descent θ ← θ − η·∇L(θ) on the surface L(w, b), from θ⁰ = GD_START."""
    path, losses = _descent(2, learning_rate)
    return {"surface": line_surface(), "path": path[: steps + 1], "losses": losses[: steps + 1],
            "verdict": _verdict(losses, steps), "learning_rate": learning_rate, "steps": steps}


def _gd2_static(ax):
    """What every frame of GD2_DEMO shares: the error surface's contours, its minimum, the axes."""
    surface_picture(line_surface(), ax, n=40, levels=12)
    ax.locator_params(nbins=5)
    without_spines(ax)


def gd2_draw(data, ax):
    _between(ax, _gd2_static)
    draw_path(data["path"], ax, color="white")
    ax.set_title(f"η = {data['learning_rate']:g}, {data['steps']} updates: {data['verdict']}")


_LEARNING_RATES = (0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.8)


def _gd_controls(steps):
    """Both descent demos' controls: η (0.2 by default) and the number of updates shown."""
    return {"learning_rate": Control("learning rate η", _LEARNING_RATES, 0.2),
            "steps": Control("updates", (1, 3, 10, 30, 100), steps)}


GD1_DEMO = Demo(title="Gradient descent on one parameter w", compute=gd1_compute, draw=gd1_draw,
                controls=_gd_controls(10), alt="Ten updates of gradient descent with η = 0.2 on the loss L(w).")
GD2_DEMO = Demo(title="Gradient descent on two parameters (w, b)", compute=gd2_compute, draw=gd2_draw,
                controls=_gd_controls(30),
                alt="Thirty updates of gradient descent with η = 0.2 on the error surface L(w, b).")

# --- One sigmoid and the hard sigmoid it stands for -----------------------------------------

SIGMOID_X = np.linspace(-6, 6, 241)


def sigmoid_compute(w=1.0, b=0.0, c=1.0):
    """c·σ(b + w·x) on SIGMOID_X, and the hard sigmoid with the same height, centre and slope."""
    x = torch.as_tensor(SIGMOID_X)
    # matching_sigmoid maps hard (c, b, w) to sigmoid (c, 4b − 2, 4w); invert it.
    b_hard, w_hard = (b + 2) / 4, w / 4
    return {
        "x": SIGMOID_X, "w": w, "b": b, "c": c,
        "sigmoid": recipe.sigmoid_curve(x, c, b, w).numpy(),
        "hard": recipe.hard_sigmoid(x, c, b_hard, w_hard).numpy(),
        "centre": -b / w + 0.0,  # + 0.0 turns −0 into 0
    }


def _sigmoid_static(ax, c):
    """What every frame of SIGMOID_DEMO with height c shares: the axes and their labels."""
    _axes(ax, (-6, 6), (-0.1, 1.15 * c))


def _sigmoid_legend(ax):
    ax.plot([], [], "--", color=ROLE_COLORS["target"], label="hard sigmoid it stands for")
    ax.plot([], [], color=ROLE_COLORS["model"], linewidth=2, label="c·σ(b + w·x)")
    ax.legend(loc="upper left")


def sigmoid_draw(data, ax):
    _between(ax, _sigmoid_static, data["c"], legend=_sigmoid_legend)
    ax.plot(data["x"], data["hard"], "--", color=ROLE_COLORS["target"])
    ax.plot(data["x"], data["sigmoid"], color=ROLE_COLORS["model"], linewidth=2)
    if abs(data["centre"]) <= 6:
        ax.axvline(data["centre"], color=ROLE_COLORS["data"], linewidth=0.8, linestyle=":")
    ax.set_title(f"w = {data['w']:g}, b = {data['b']:g}, c = {data['c']:g}: centre at x = −b/w = {data['centre'] + 0.0:.3g}")


SIGMOID_DEMO = Demo(
    "One sigmoid: w sets the steepness, b the shift", sigmoid_compute, sigmoid_draw,
    {"w": Control("w", (-4.0, -1.0, 0.5, 1.0, 2.0, 4.0, 10.0), 1.0),
     "b": Control("b", (-2.0, -1.0, 0.0, 1.0, 2.0), 0.0)},
    alt="The sigmoid σ(b + wx) with w = 1 and b = 0, and the hard sigmoid it approximates.")

# --- A curve from n pieces ------------------------------------------------------------------

FIT_RANGE = (-3.0, 3.0)
FIT_X = torch.linspace(*FIT_RANGE, 241, dtype=torch.float64)


def fit_compute(n_pieces=5, activation="sigmoid"):
    """Fit target_curve on FIT_RANGE with n hand-placed units (ReLU: 2n) by least squares on c and b."""
    y = recipe.target_curve(FIT_X)
    units = recipe.fixed_units(FIT_X, n_pieces, activation, FIT_RANGE)
    c, b = recipe.fit_output_layer(units, y)
    fit = b + units @ c
    return {
        "x": FIT_X.numpy(), "target": y.numpy(), "fit": fit.numpy(),
        "pieces": (units * c).numpy(), "b": b.item(),
        "n_pieces": n_pieces, "activation": activation, "n_units": units.shape[1],
        "mse": ((fit - y) ** 2).mean().item(),
    }


def _fit_static(ax):
    """What every frame of FIT_DEMO shares: the axes and their labels."""
    _axes(ax, FIT_RANGE, (-6, 3))


def _fit_legend(ax):
    ax.plot([], [], color=ROLE_COLORS["target"], linewidth=2.5, alpha=0.6, label="curve to fit")
    ax.plot([], [], color=ROLE_COLORS["model"], linewidth=1.5, label="fit: b + the sum of the pieces")
    ax.add_collection(LineCollection([], colors=ROLE_COLORS["data"], linewidths=0.7, alpha=0.6,
                                     label="the pieces, shifted down"))
    ax.legend(loc="upper left", fontsize=8)


def fit_draw(data, ax):
    _between(ax, _fit_static, legend=_fit_legend)
    ax.plot(data["x"], data["target"], color=ROLE_COLORS["target"], linewidth=2.5, alpha=0.6)
    ax.plot(data["x"], data["fit"], color=ROLE_COLORS["model"], linewidth=1.5)
    # One collection for all the pieces: a single artist draws far quicker than 40 lines.
    pieces = [np.column_stack([data["x"], piece - 3.5]) for piece in data["pieces"].T]
    ax.add_collection(LineCollection(pieces, colors=ROLE_COLORS["data"], linewidths=0.7, alpha=0.6))
    ax.set_title(f"{data['n_units']} {data['activation']} units: MSE = {data['mse']:.2g}")


FIT_DEMO = Demo(
    "A curve from pieces: more units, a closer fit", fit_compute, fit_draw,
    {"n_pieces": Control("pieces n", (1, 3, 5, 7, 10, 14, 20), 5),
     "activation": Control("activation", ("hard sigmoid", "sigmoid", "ReLU"), "sigmoid")},
    alt="sin(2x) + x/2 fitted with 5 sigmoids.")
