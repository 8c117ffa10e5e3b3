"""Chapter 5's demos: the scale of a feature reshapes the error surface; the moving average of BN.

Each demo is a ``compute`` (pure, returns plain data) and a ``draw`` (matplotlib), wired to two
controls by a :class:`~course_utils.widgets.Demo`.
"""
from functools import lru_cache

import numpy as np
import torch

from .. import bn_experiments as bx
from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..surfaces import draw_path, draw_surface, gradient_descent, losses_along
from . import Control, Demo

# --- The scale of x₁ and the error surface ----------------------------------------------------------

#: The demo's learning rate and number of updates: the same for every surface.
SCALE_LEARNING_RATE = 0.3
SCALE_STEPS = 30
_SCALES = (1.0, 0.5, 0.2, 0.1, 0.05)


@lru_cache(maxsize=None)
def _scale_descent(scale_x1, normalised):
    surface = bx.feature_surface(scale_x1, normalised)
    path = gradient_descent(surface, bx.start_point(surface), SCALE_LEARNING_RATE, SCALE_STEPS)
    gap = losses_along(surface, path) - surface.loss(torch.tensor(surface.minimum, dtype=torch.float64))
    return surface, path.numpy(), gap.numpy()


def scale_compute(scale_x1=0.1, features="raw"):
    """SCALE_STEPS steps of gradient descent (η = SCALE_LEARNING_RATE) on the MSE surface of
    y ≈ w₁x₁ + w₂x₂, with x₁ of standard deviation ``scale_x1``, on raw or z-scored features."""
    if features not in ("raw", "z-scored"):
        raise ValueError(f"features must be 'raw' or 'z-scored', got {features!r}")
    surface, path, gap = _scale_descent(scale_x1, features == "z-scored")
    curvature = bx.curvatures(surface)
    return {"surface": surface, "path": path, "gap": gap, "features": features, "scale_x1": scale_x1,
            "condition": (curvature[-1] / curvature[0]).item()}


def scale_draw(data, ax):
    draw_surface(data["surface"], ax, n=40, levels=14)
    draw_path(data["path"], ax, color="white")
    ax.set_aspect("equal", adjustable="box")
    ax.locator_params(nbins=5)
    ax.set_title(f"{data['features']} features, x₁ scale {data['scale_x1']:g}: curvature ratio "
                 f"{data['condition']:.3g}\nafter {SCALE_STEPS} steps of η = {SCALE_LEARNING_RATE:g}: "
                 f"L − L* = {data['gap'][-1]:.2g}", fontsize=10)


FEATURE_SCALE_DEMO = Demo(
    title="The scale of a feature shapes the error surface",
    compute=scale_compute,
    draw=scale_draw,
    controls={
        "scale_x1": Control("scale of x₁ (x₂ has scale 1)", _SCALES, 0.1),
        "features": Control("features", ("raw", "z-scored"), "raw", format="{}"),
    },
    figsize=(5.0, 4.0),
    alt="Gradient descent zig-zags down an elongated error surface when x₁ is ten times smaller than x₂.",
)

# --- The moving average of the batch mean ----------------------------------------------------------

AVERAGE_STEPS = 150


def population_mean(step):
    """The mean of a feature z during training: it drifts while the layers below it learn."""
    return 1.0 + 2.0 * (1.0 - np.exp(-np.asarray(step, dtype=float) / 30.0))


@lru_cache(maxsize=None)
def average_batches(batch_size, seed=0):
    """AVERAGE_STEPS batches (B, 1) of one feature: its drifting mean plus noise of standard deviation 1."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(AVERAGE_STEPS, batch_size, 1, generator=g, dtype=torch.float64)
    return noise + torch.tensor(population_mean(np.arange(AVERAGE_STEPS)))[:, None, None]


def moving_average(values, p, start=0.0):
    """μ̄ after each value: μ̄ ← p·μ̄ + (1 − p)·μᵗ from μ̄ = start (BatchNorm1d's running_mean, momentum 1 − p)."""
    out, average = np.empty(len(values)), start
    for t, value in enumerate(values):
        average = p * average + (1 - p) * value
        out[t] = average
    return out


def average_compute(p=0.9, batch_size=16):
    """The batch means μᵗ of AVERAGE_STEPS batches of one drifting feature, and the moving average μ̄
    that a BatchNorm1d with momentum = 1 − p keeps of them (starting, as PyTorch's, at 0)."""
    means = average_batches(batch_size).mean(dim=(1, 2)).numpy()
    steps = np.arange(1, AVERAGE_STEPS + 1)
    return {"steps": steps, "batch_means": means, "running": moving_average(means, p),
            "population": population_mean(steps - 1), "p": p, "batch_size": batch_size}


def average_draw(data, ax):
    # No transparency and no combining accents (μ̄) in the text: both slow the PNG down noticeably.
    ax.plot(data["steps"], data["batch_means"], ".", color="#999999", markersize=3, label="batch mean μᵗ")
    ax.plot(data["steps"], data["population"], "--", color=ROLE_COLORS["target"], linewidth=1.5,
            label="mean over all data")
    ax.plot(data["steps"], data["running"], color=OPTIMISER_COLORS["momentum"], linewidth=2,
            label="moving average (running_mean)")
    ax.set_xlim(0, AVERAGE_STEPS)
    ax.set_ylim(-0.5, 4.5)
    # Fixed, few ticks: the automatic locator makes a dozen, each a handful of artists to build and draw.
    ax.set_xticks((0, 50, 100, 150))
    ax.set_yticks((0, 2, 4))
    ax.set_xlabel("training step t")
    ax.set_ylabel("mean of feature z")
    ax.set_title(f"p = {data['p']:g} (PyTorch momentum {1 - data['p']:.2g}), B = {data['batch_size']}: "
                 f"moving average {data['running'][-1]:.2f} at the end, true mean {data['population'][-1]:.2f}",
                 fontsize=9)
    ax.legend(loc="lower right", fontsize=8)


RUNNING_AVERAGE_DEMO = Demo(
    title="The moving average μ̄ ← p·μ̄ + (1 − p)·μᵗ",
    compute=average_compute,
    draw=average_draw,
    controls={
        "p": Control("p", (0.0, 0.5, 0.8, 0.9, 0.95, 0.99), 0.9),
        "batch_size": Control("batch size B", (2, 8, 32, 128), 8, format="{:d}"),
    },
    figsize=(6.5, 3.4),
    alt="Batch means scatter around a drifting mean; their moving average with p = 0.9 follows it smoothly.",
)
