r"""Chapter 2's demos: momentum on a ravine (after Distill's "Why Momentum Really Works"), and
the noise of minibatch SGD as the batch size changes.

Momentum, in the notes' form (:class:`course_utils.optim.Momentum`):
:math:`m^i = \lambda m^{i-1} - \eta g^{i-1}`, :math:`\theta^i = \theta^{i-1} + m^i`.
Each demo is a ``compute`` (pure, returns plain data) and a ``draw`` (matplotlib).

Drawing is quick because most of a frame never changes: the surface's contours, its minimum,
the axes' ticks and labels (and the batch demo's legend) are drawn once into a picture
(:func:`~course_utils.widgets.backdrop.paste_backdrop`); each frame pastes it and draws only its
paths, points, title and (for momentum, whose labels give the losses) legend on top.
"""
from functools import lru_cache

import numpy as np
import torch

from .. import optim
from ..experiments.momentum import ITERATIONS, RAVINE, minibatch_paths
from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..experiments.recipe import GD_START, line_surface, make_line_data
from ..pictures import surface_picture
from ..surfaces import descend
from . import Control, Demo
from .backdrop import paste_backdrop

# --- Momentum on a ravine ---------------------------------------------------------------------

#: The start points a reader can pick.
STARTS = ((-5.0, 2.0), (-5.0, -0.5), (4.0, 2.8))


_LEARNING_RATES = (0.02, 0.05, 0.1, 0.3, 0.5)
_MOMENTA = (0.0, 0.3, 0.5, 0.7, 0.8, 0.9)


@lru_cache(maxsize=None)
def _descents(combos):
    """The paths of momentum from every start in STARTS for each (η, λ) of ``combos``, run side by side.

    One run of :func:`course_utils.surfaces.descend` with :class:`course_utils.optim.Momentum` (a row per start
    and (η, λ)) replaces a run per (η, λ). Returns {(η, λ): [(path, losses) per start]}, each
    path cut, as :func:`course_utils.surfaces.trajectory` cuts it, before its loss stops being finite.
    """
    rows = [(lr, lam, start) for lr, lam in combos for start in STARTS]
    paths = descend(RAVINE, [start for _, _, start in rows], optim.Momentum, ITERATIONS,
                    lr=[lr for lr, _, _ in rows], momentum=[lam for _, lam, _ in rows])   # (rows, ITERATIONS + 1, 2)
    with torch.no_grad():
        losses = RAVINE.loss(paths)
    paths, losses = paths.numpy(), losses.numpy()
    finite = np.isfinite(losses) & np.isfinite(paths).all(axis=2)
    ends = np.where(finite.all(axis=1), ITERATIONS + 1, finite.argmin(axis=1))
    runs = [(paths[i, : max(end, 1)], losses[i, : max(end, 1)]) for i, end in enumerate(ends)]
    return {combo: runs[i * len(STARTS):(i + 1) * len(STARTS)] for i, combo in enumerate(combos)}


def _run(learning_rate, momentum, start):
    """One start's path and losses: from the demo's batched run when (η, λ) is one of its controls' values."""
    combo = (learning_rate, momentum)
    every = tuple((lr, lam) for lr in _LEARNING_RATES for lam in _MOMENTA)
    return _descents(every if combo in every else (combo,))[combo][STARTS.index(tuple(start))]


def momentum_compute(learning_rate=0.05, momentum=0.8, start=STARTS[0]):
    """150 updates of momentum and, for comparison, of plain gradient descent (same η) on RAVINE.

    ``start`` is one of STARTS; the paths of every start and every (η, λ) of the demo are computed
    together, once.
    """
    path, losses = _run(learning_rate, momentum, start)
    gd_path, gd_losses = _run(learning_rate, 0.0, start)
    return {"path": path, "losses": losses, "gd_path": gd_path, "gd_losses": gd_losses,
            "learning_rate": learning_rate, "momentum": momentum, "start": start,
            "diverged": len(path) < ITERATIONS + 1, "gd_diverged": len(gd_path) < ITERATIONS + 1}


def _final(losses, diverged):
    return "diverges" if diverged or losses[-1] > losses[0] else f"L = {losses[-1]:.1e}"


def _ravine_static(ax):
    """What every frame of the momentum demo shares: the ravine's contours, its minimum, the axes."""
    surface_picture(RAVINE, ax, n=60, levels=12)
    ax.set(xlabel="θ₁", ylabel="θ₂")


def momentum_draw(data, ax):
    paste_backdrop([ax], _ravine_static)
    gd, path = data["gd_path"], data["path"]
    ax.plot(gd[:, 0], gd[:, 1], "-", color="white", linewidth=1, alpha=0.8,
            label=f"gradient descent: {_final(data['gd_losses'], data['gd_diverged'])}")
    ax.plot(path[:, 0], path[:, 1], "-o", color=OPTIMISER_COLORS["momentum"], markersize=2, linewidth=1.2,
            label=f"momentum: {_final(data['losses'], data['diverged'])}")
    ax.plot(*data["start"], "o", markersize=8, markerfacecolor="none", markeredgecolor="white")
    ax.set_title(f"η = {data['learning_rate']:g}, λ = {data['momentum']:g}: loss after {ITERATIONS} updates")
    # White paths need a dark box to be read against the light outer contours.
    ax.legend(loc="lower right", fontsize=8, labelcolor="white", frameon=True, facecolor="#222222",
              framealpha=0.75, edgecolor="none")


MOMENTUM_DEMO = Demo(
    "Momentum on a ravine: 150 updates", momentum_compute, momentum_draw,
    {"learning_rate": Control("learning rate η", _LEARNING_RATES, 0.05),
     "momentum": Control("momentum λ", _MOMENTA, 0.8),
     "start": Control("start θ⁰", STARTS, STARTS[0], format="({0[0]:g}, {0[1]:g})")},
    alt="150 updates of momentum (η = 0.05, λ = 0.8) and of gradient descent on the ravine 0.1·θ₁² + 2·θ₂².")

# --- Minibatch SGD: the path and its spread ---------------------------------------------------

#: The learning rate of the batch-size demo, and how many runs make its spread.
BATCH_LEARNING_RATE = 0.1
BATCH_RUNS = 30
_BATCH_EPOCHS = (1, 3, 10, 30)


@lru_cache(maxsize=None)
def _minibatch_runs(batch_size):
    x, y = make_line_data()
    path = minibatch_paths(x, y, batch_size, BATCH_LEARNING_RATE, max(_BATCH_EPOCHS), runs=BATCH_RUNS,
                           start=GD_START, seed=batch_size)
    return path.numpy()


def batch_compute(batch_size=1, epochs=10):
    """Minibatch SGD (η = BATCH_LEARNING_RATE) on chapter 0's line, N = 20: 30 runs of ``epochs`` epochs.

    Returns one run's path, every run's end point, and the spread of the end points: the
    root-mean-square distance from their mean.
    """
    x, _ = make_line_data()
    per_epoch = -(-len(x) // batch_size)
    paths = _minibatch_runs(batch_size)[: epochs * per_epoch + 1]
    ends = paths[-1]
    spread = float(np.sqrt(((ends - ends.mean(axis=0)) ** 2).sum(axis=1).mean()))
    return {"path": paths[:, 0], "ends": ends, "spread": spread, "batch_size": batch_size,
            "epochs": epochs, "updates": len(paths) - 1, "minimum": line_surface().minimum,
            "distance": float(np.linalg.norm(ends.mean(axis=0) - np.array(line_surface().minimum)))}


def _line_static(ax):
    """What every frame of the batch-size demo shares: the line's error surface, its minimum, the axes, the legend."""
    surface_picture(line_surface(), ax, n=60, levels=12)
    ax.set(xlabel="w", ylabel="b")
    # The legend never changes: proxies with no data draw its entries here, once.
    ax.plot([], [], "-", color=OPTIMISER_COLORS["sgd"], linewidth=1, label="one run")
    ax.plot([], [], "o", color="white", markeredgecolor=ROLE_COLORS["data"], markersize=4, linestyle="none",
            label=f"where {BATCH_RUNS} runs end")
    ax.legend(loc="upper right", fontsize=8)


def batch_draw(data, ax):
    paste_backdrop([ax], _line_static)
    path = data["path"]
    ax.plot(path[:, 0], path[:, 1], "-", color=OPTIMISER_COLORS["sgd"], linewidth=1)
    ax.plot(path[0, 0], path[0, 1], "o", markersize=8, markerfacecolor="none", markeredgecolor="white")
    ax.plot(data["ends"][:, 0], data["ends"][:, 1], "o", color="white", markeredgecolor=ROLE_COLORS["data"],
            markersize=4, linestyle="none")
    ax.set_title(f"B = {data['batch_size']}, {data['epochs']} epochs = {data['updates']} updates: "
                 f"end points spread {data['spread']:.2f}")


BATCH_DEMO = Demo(
    "Minibatch SGD on 20 examples: one path and where 30 runs end", batch_compute, batch_draw,
    {"batch_size": Control("batch size B", (1, 2, 5, 10, 20), 1),
     "epochs": Control("epochs", _BATCH_EPOCHS, 10)},
    alt="Minibatch SGD with batch size 1 for 10 epochs on the line's error surface; 30 runs end in a cloud.")
