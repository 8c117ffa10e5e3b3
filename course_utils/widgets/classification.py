"""Chapter 4's demos: softmax and its temperature, the MSE and cross-entropy surfaces, the bound against the simulation.

Each demo is a ``compute`` (pure, returns plain data) and a ``draw`` (matplotlib), wired to at
most two controls by a :class:`~course_utils.widgets.Demo`. Each draws what never changes (the
surfaces, the axes' ticks and labels, the legend) once, into a picture pasted under every frame
(:func:`~course_utils.widgets.backdrop.paste_backdrop`) or, for softmax's outlines, over it
(:func:`~course_utils.widgets.backdrop.paste_overlay`); a frame draws only its bars, paths, curves and title.
"""
from functools import lru_cache

import numpy as np
import torch

from .. import classification as cl
from .. import optim
from ..experiments import classification as cx
from ..plotting import ROLE_COLORS
from ..pictures import draw_path
from ..surfaces import descend, grid, losses_along
from . import Control, Demo
from .backdrop import paste_backdrop, paste_overlay, spines_on_top, without_spines

#: One colour per loss, in every figure of the chapter.
LOSS_COLORS = {"cross-entropy": "#1f77b4", "MSE": "#d62728", "extra softmax": "#9467bd"}

# --- Softmax and its temperature ------------------------------------------------------------

#: The notes' example logits (y₁, y₂, y₃) = (3, 1, −3); the demo moves y₁.
SOFTMAX_LOGITS = (3.0, 1.0, -3.0)


def softmax_compute(y1=3.0, temperature=1.0):
    """y' = softmax(y / T) for y = (y₁, 1, −3): T < 1 sharpens towards one-hot, T > 1 flattens towards uniform."""
    logits = torch.tensor([y1, *SOFTMAX_LOGITS[1:]], dtype=torch.float64)
    return {"logits": logits.numpy(), "probabilities": cl.softmax(logits / temperature).numpy(),
            "y1": y1, "temperature": temperature}


_SOFTMAX_LIMITS = ((0.4, 3.6), (0, 1.05))


def _softmax_static(ax, y1):
    """What every frame at logit y₁ shares: the axes, their ticks (the x labels name the logits) and labels."""
    classes = np.arange(1, 4)
    logits = softmax_compute(y1)["logits"]
    ax.set_xticks(classes, [f"y{'₁₂₃'[c - 1]} = {v:g}" for c, v in zip(classes, logits)])
    ax.set_yticks([0, 0.5, 1])
    ax.grid(False)
    ax.set(xlim=_SOFTMAX_LIMITS[0], ylim=_SOFTMAX_LIMITS[1], xlabel="class, and its logit", ylabel="probability y′")
    without_spines(ax)


def _softmax_outline(ax, y1):
    """Drawn over the bars: the probabilities of the same logits at T = 1 (dashed), and the uniform 1/3 (dotted)."""
    ax.bar(np.arange(1, 4), softmax_compute(y1)["probabilities"], width=0.6, fill=False,
           edgecolor=ROLE_COLORS["data"], linestyle="--")
    ax.axhline(1 / 3, color=ROLE_COLORS["data"], linewidth=0.8, linestyle=":")
    ax.set(xlim=_SOFTMAX_LIMITS[0], ylim=_SOFTMAX_LIMITS[1])


def softmax_draw(data, ax):
    p = data["probabilities"]
    paste_backdrop([ax], _softmax_static, data["y1"])
    ax.bar(np.arange(1, 4), p, color=ROLE_COLORS["model"], width=0.6)
    paste_overlay([ax], _softmax_outline, data["y1"])
    spines_on_top(ax)
    ax.set_title(f"T = {data['temperature']:g}: y′ = ({', '.join(f'{v:.2f}' for v in p)})")


SOFTMAX_DEMO = Demo(
    "Softmax: probabilities from logits, sharpened or flattened by a temperature T", softmax_compute, softmax_draw,
    {"y1": Control("logit y₁", (-3.0, -1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 8.0), 3.0),
     "temperature": Control("temperature T", (0.25, 0.5, 1.0, 2.0, 5.0), 1.0)},
    alt="The logits (3, 1, −3) and their softmax (0.88, 0.12, 0.00).")

# --- MSE and cross-entropy surfaces, the same optimiser from the same start ----------------

#: Where the optimiser may start (y₁, y₂); the first is the notes' high-loss corner.
STARTS = ((-8, 8), (-5, 5), (-2, 2), (0, 0), (-8, 0), (0, 8))
SURFACE_UPDATES = 100
_TICKS = (-10, 0, 10)            # few ticks: each one is a handful of artists to build and draw
_TICK_LABELS = ("−10", "0", "10")


@lru_cache(maxsize=None)
def _surface(loss):
    return cx.three_class_surface(loss)


_LEARNING_RATES = (0.1, 0.3, 1.0, 3.0, 10.0)


@lru_cache(maxsize=None)
def _all_descents(loss):
    """The SGD path and the loss along it for every (start, η) of the demo, run side by side.

    One run of :func:`course_utils.surfaces.descend` (a row per start and η) replaces 30 separate
    runs: the first frame pays for all of them at once, and every later frame is a look-up.
    """
    surface = _surface(loss)
    combos = [(tuple(map(float, s)), lr) for s in STARTS for lr in _LEARNING_RATES]
    paths = descend(surface, [s for s, _ in combos], optim.SGD, SURFACE_UPDATES,
                    lr=[lr for _, lr in combos])                # (combos, updates + 1, 2)
    with torch.no_grad():
        losses = surface.loss(paths)
    return {combo: (paths[i].numpy(), losses[i].numpy()) for i, combo in enumerate(combos)}


@lru_cache(maxsize=None)
def _descent(loss, start, learning_rate):
    start = tuple(map(float, start))
    found = _all_descents(loss).get((start, learning_rate))
    if found is not None and np.isfinite(found[0]).all() and np.isfinite(found[1]).all():
        return found
    path = cx.descend_three_class(loss, start, learning_rate, SURFACE_UPDATES)   # off the grid, or cut short
    return path.numpy(), losses_along(_surface(loss), path).numpy()


def surfaces_compute(start=(-8, 8), learning_rate=1.0):
    """Gradient descent (SGD) for SURFACE_UPDATES updates on both surfaces from the same start."""
    runs = {}
    for loss in ("MSE", "cross-entropy"):
        path, losses = _descent(loss, tuple(start), learning_rate)
        runs[loss] = {"surface": _surface(loss), "path": path, "losses": losses}
    return {"runs": runs, "start": tuple(start), "learning_rate": learning_rate}


@lru_cache(maxsize=None)
def _surface_image(loss, n=100):
    """L on an n×n grid of the window (rows: y₂), computed once: every frame draws the same surface."""
    return grid(_surface(loss), n)[2].numpy()


def _surfaces_static(*axes):
    """What every frame shares: both surfaces, their ticks and axis labels (the second panel shares the y axis)."""
    for i, (ax, loss) in enumerate(zip(axes, ("MSE", "cross-entropy"))):
        # One image per panel, not contours: the surface never changes.
        ax.imshow(_surface_image(loss), extent=(*cx.SURFACE_WINDOW, *cx.SURFACE_WINDOW), origin="lower",
                  cmap="viridis", aspect="auto", interpolation="nearest")
        ax.set_xticks(_TICKS, _TICK_LABELS)
        ax.set_yticks(() if i else _TICKS, () if i else _TICK_LABELS)
        ax.grid(False)
        ax.set_xlabel("y₁")
        if not i:
            ax.set_ylabel("y₂")


def surfaces_draw(data, axes):
    paste_backdrop(axes, _surfaces_static)
    for ax, (loss, run) in zip(axes, data["runs"].items()):
        draw_path(run["path"], ax, color="white")
        ax.set_title(f"{loss}: L = {run['losses'][0]:.2f} → {run['losses'][-1]:.2f}")


SURFACES_DEMO = Demo(
    "MSE against cross-entropy: the same SGD, 100 updates, from the same start", surfaces_compute, surfaces_draw,
    {"start": Control("start (y₁, y₂)", STARTS, (-8, 8)),
     "learning_rate": Control("learning rate η", _LEARNING_RATES, 1.0)},
    ncols=2,
    alt="From the corner y₁ = −8, y₂ = 8, SGD does not move on the MSE surface and crosses the cross-entropy surface.")

# --- The union bound against the simulation ------------------------------------------------

#: The failure probability p for the "N needed" marker: N such that P(bad) ≤ p.
P_BAD = 0.05
_FLOOR = -4.6   # log10 of the lowest probability drawn


def bound_compute(eps=0.1, h_size=16):
    """Measured P(bad training set) over 10⁴ sets per N, and the bound |H|·2·exp(−2Nε²), for each N."""
    n = np.array(cx.N_VALUES)
    return {
        "n": n, "eps": eps, "h_size": h_size, "n_sets": cx.N_SETS,
        "measured": cx.probability_bad(eps, h_size).numpy(),
        "bound": np.array([cl.hoeffding_bound(int(k), eps, h_size) for k in n]),
        "needed": cl.samples_needed(eps, P_BAD, h_size),
    }


#: Where the bound figure's N axis ends, in log10 N (a little beyond the simulated N).
_LOG_N_LIMITS = (np.log10(cx.N_VALUES[0]) - 0.05, np.log10(cx.N_VALUES[-1]) + 0.05)


def _bound_static(ax):
    """What every frame of the bound figure shares: log-labelled axes, and the legend (drawn with proxy lines)."""
    # log10 of N and of P drawn on linear axes with log labels: the same picture as log scales,
    # at a fraction of the drawing time.
    ax.plot([], [], "--", color=ROLE_COLORS["model"], label="bound min(1, |H|·2·exp(−2Nε²))")
    ax.plot([], [], "o-", color=ROLE_COLORS["data"], markersize=4,
            label=f"measured over {cx.N_SETS:,} training sets".replace(",", " "))
    ax.set_xticks([1, 2, 3], ["10", "100", "1000"])
    ax.set_yticks([-4, -3, -2, -1, 0], ["10⁻⁴", "10⁻³", "0.01", "0.1", "1"])
    ax.set(xlim=_LOG_N_LIMITS, ylim=(_FLOOR, 0.3),
           xlabel="training set size N (log scale)", ylabel="P(training set is bad)")
    ax.legend(loc="lower left", fontsize=8)


def bound_draw(data, ax):
    paste_backdrop(ax, _bound_static)
    n, measured = data["n"], data["measured"]
    fine = np.geomspace(n[0], n[-1], 100)
    bound = np.minimum(1, data["h_size"] * 2 * np.exp(-2 * fine * data["eps"] ** 2))
    ax.plot(np.log10(fine), np.log10(np.maximum(bound, 1e-300)), "--", color=ROLE_COLORS["model"])
    seen = measured > 0
    ax.plot(np.log10(n[seen]), np.log10(measured[seen]), "o-", color=ROLE_COLORS["data"], markersize=4)
    if (~seen).any():
        ax.plot(np.log10(n[~seen]), np.full((~seen).sum(), _FLOOR + 0.2), "v", color=ROLE_COLORS["data"],
                markersize=5)                              # no bad set at all among the n_sets
    if data["needed"] <= n[-1]:
        ax.axvline(np.log10(data["needed"]), color=ROLE_COLORS["target"], linewidth=1, linestyle=":")
    ax.set_title(f"ε = δ/2 = {data['eps']:g}, |H| = {data['h_size']}: N ≥ {data['needed']} makes P(bad) ≤ {P_BAD:g}")


BOUND_DEMO = Demo(
    "How likely is a bad training set? The bound against the simulation", bound_compute, bound_draw,
    {"eps": Control("tolerance ε = δ/2", (0.05, 0.1, 0.15, 0.2, 0.3), 0.1),
     "h_size": Control("hypotheses |H|", cx.H_SIZES, 16)},
    alt="For ε = 0.1 and |H| = 16, the measured probability of a bad training set lies below the bound at every N.")
