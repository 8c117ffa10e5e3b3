"""Chapter 3's demos: an optimiser race on the elongated valley, and a schedule viewer.

Both run the optimisers of :mod:`course_utils.optim` on the valley of
:mod:`course_utils.experiments.adaptive` through :func:`course_utils.experiments.adaptive.race`, which runs every
learning rate (or schedule) of a control in one go; the results are cached, so moving a
slider mostly redraws.

Drawing is quick because most of a frame never changes: the valley's contours, the axes'
ticks and labels are drawn once into a picture (:func:`~course_utils.widgets.backdrop.paste_backdrop`), and each frame pastes it
and draws only its curves, titles and legend on top (matplotlib spends about 13 ms on each
axis's ticks and labels, and the same again on the contours' first draw).
"""
from functools import lru_cache

import numpy as np

from ..experiments import adaptive
from ..plotting import OPTIMISER_COLORS
from ..pictures import surface_picture
from . import Control, Demo
from .backdrop import paste_backdrop

#: Updates in every race.
RACE_STEPS = 300

#: The learning rates the race offers (the same for every optimiser).
RACE_LEARNING_RATES = (0.001, 0.01, 0.03, 0.1, 0.3, 1.0)

#: Which optimisers race, by label.
LINE_UPS = {
    "GD vs momentum": ("gd", "momentum"),
    "GD vs AdaGrad": ("gd", "adagrad"),
    "AdaGrad vs RMSProp": ("adagrad", "rmsprop"),
    "RMSProp vs Adam": ("rmsprop", "adam"),
    "all five": ("gd", "momentum", "adagrad", "rmsprop", "adam"),
}

#: Losses below this are drawn at it (the runs reach 10⁻³⁰; the eye needs no more).
LOSS_FLOOR = 1e-10


@lru_cache(maxsize=None)
def _race(name, schedule):
    """Paths (len(RACE_LEARNING_RATES), RACE_STEPS + 1, 2) and losses of one optimiser, every η."""
    paths = adaptive.race(name, RACE_LEARNING_RATES, schedule, RACE_STEPS)
    return paths.numpy(), adaptive.valley_loss(paths).numpy()


def _log_loss(losses):
    """log₁₀ of the losses clipped to [LOSS_FLOOR, ∞), the part after a divergence left out.

    (A linear axis of log₁₀ L draws several times quicker than a log-scaled axis.)
    """
    return np.log10(np.where(np.isfinite(losses), np.maximum(losses, LOSS_FLOOR), np.nan))


def _step_axis(ax, ylim, yticks, ylabel):
    """An axis of something over the run's steps t, with fixed ticks: matplotlib spends most of a frame making
    and placing ticks."""
    ax.set(ylim=ylim, xlim=(0, RACE_STEPS), xticks=range(0, RACE_STEPS + 1, 100), yticks=yticks, xlabel="step t",
           ylabel=ylabel)


def _loss_axis(ax):
    _step_axis(ax, (np.log10(LOSS_FLOOR) - 0.5, 4), (-10, -5, 0), "log₁₀ of the loss L")


def _verdict(losses):
    finite = np.isfinite(losses)
    if not finite.all():
        return f"diverges at step {int(np.argmin(finite))}"
    if losses.max() > 1e6:
        return f"blows up to L = {losses.max():.0e}"
    return f"L = {losses[-1]:.1e}"


def race_compute(line_up="GD vs AdaGrad", learning_rate=0.3, schedule="constant"):
    """Paths and loss curves on the valley for each optimiser of the line-up, at one peak η."""
    index = RACE_LEARNING_RATES.index(learning_rate)
    runs = []
    for name in LINE_UPS[line_up]:
        paths, losses = _race(name, schedule)
        runs.append({"name": name, "label": adaptive.NAMES[name], "path": paths[index],
                     "loss": losses[index], "verdict": _verdict(losses[index])})
    return {"runs": runs, "learning_rate": learning_rate, "schedule": schedule}


def _race_static(left, right):
    """What every frame of the race shares: the valley, the loss axes."""
    surface_picture(adaptive.VALLEY, left, n=30, levels=10)
    left.set(xticks=(-10, -5, 0), yticks=(-1, 0, 1))      # fixed ticks, as _step_axis's
    _loss_axis(right)
    right.set_title("loss along the way")


def _until_it_leaves(path, ax):
    """The path up to its first point outside the axes' view (the axes clip that last segment at their edge).

    A diverging run's later points lie far outside: drawn, the lines between them would fill a band
    of the picture (or of the page below it) instead of showing one path leaving the view."""
    (x0, x1), (y0, y1) = sorted(ax.get_xlim()), sorted(ax.get_ylim())
    finite = np.isfinite(path).all(axis=1)
    with np.errstate(invalid="ignore"):
        outside = ~finite | (path[:, 0] < x0) | (path[:, 0] > x1) | (path[:, 1] < y0) | (path[:, 1] > y1)
    if not outside.any():
        return path
    first = int(np.argmax(outside))
    return np.clip(path[:first + 1] if finite[first] else path[:first], -1e6, 1e6)


def race_draw(data, axes):
    left, right = axes
    paste_backdrop(axes, _race_static)
    steps = np.arange(RACE_STEPS + 1)
    for run in data["runs"]:
        color = OPTIMISER_COLORS[run["name"]]
        path = _until_it_leaves(run["path"], left)
        left.plot(path[:, 0], path[:, 1], color=color, linewidth=1.2)      # lines only: markers cost
        right.plot(steps, _log_loss(run["loss"]), color=color, linewidth=1.2,
                   label=f"{run['label']}: {run['verdict']}")
    start = data["runs"][0]["path"][0]
    left.plot(*start, "o", markersize=8, markerfacecolor="none", markeredgecolor="white")
    left.set_title(f"η = {data['learning_rate']:g}, {data['schedule']}")
    right.legend(loc="upper right", fontsize=7)


RACE_DEMO = Demo(
    "Optimiser race on the elongated valley", race_compute, race_draw,
    {"line_up": Control("optimisers", tuple(LINE_UPS), "GD vs AdaGrad"),
     "learning_rate": Control("peak learning rate η", RACE_LEARNING_RATES, 0.3),
     "schedule": Control("schedule", adaptive.SCHEDULES[:3], "constant")},
    ncols=2, alt="GD bounces at η = 0.01 and diverges above it, while AdaGrad with η = 0.3 crosses the valley, "
        "with bursts sideways late in the run.")

# --- The schedule viewer ------------------------------------------------------------

#: AdaGrad's peak learning rate in the viewer: large enough for the bursts.
VIEWER_LEARNING_RATE = 0.3
VIEWER_WARMUPS = (10, 30, 90)


@lru_cache(maxsize=None)
def _adagrad_under_every_schedule(warmup):
    """AdaGrad's loss on the valley under each schedule, {schedule: losses}, at one warm-up length."""
    paths = adaptive.race("adagrad", [VIEWER_LEARNING_RATE] * len(adaptive.SCHEDULES), adaptive.SCHEDULES,
                          RACE_STEPS, warmup=warmup)
    return dict(zip(adaptive.SCHEDULES, adaptive.valley_loss(paths).numpy()))


def schedule_compute(schedule="warm-up + cosine", warmup=30):
    """ηᵗ over the run for one schedule, and AdaGrad's loss on the valley under it and under a constant η."""
    factor = adaptive.schedule_factor(schedule, RACE_STEPS, warmup)
    losses = _adagrad_under_every_schedule(warmup)
    return {"schedule": schedule, "warmup": warmup,
            "eta": VIEWER_LEARNING_RATE * np.array([factor(t) for t in range(RACE_STEPS)]),
            "loss": losses[schedule], "constant_loss": losses["constant"]}


def _schedule_static(left, right):
    """What every frame of the viewer shares: both axes, and the right one's title."""
    _step_axis(left, (0, 1.1 * VIEWER_LEARNING_RATE), (0, 0.1, 0.2, 0.3), "learning rate ηᵗ")
    _loss_axis(right)
    right.set_title(f"AdaGrad on the valley, peak η = {VIEWER_LEARNING_RATE:g}")


def schedule_draw(data, axes):
    left, right = axes
    paste_backdrop(axes, _schedule_static)
    steps = np.arange(RACE_STEPS)
    left.plot(steps, data["eta"], color=OPTIMISER_COLORS["adagrad"], linewidth=1.8)
    warm = f", warm-up {data['warmup']}" if "warm" in data["schedule"] or "Transformer" in data["schedule"] else ""
    left.set_title(f"{data['schedule']}{warm}")
    steps = np.arange(RACE_STEPS + 1)
    right.plot(steps, _log_loss(data["constant_loss"]), color="#999999", linewidth=1, label="constant η")
    right.plot(steps, _log_loss(data["loss"]), color=OPTIMISER_COLORS["adagrad"], linewidth=1.4,
               label=data["schedule"])
    right.legend(loc="upper right", fontsize=7)


SCHEDULE_DEMO = Demo(
    "Learning-rate schedules, and what they do to AdaGrad's bursts", schedule_compute, schedule_draw,
    {"schedule": Control("schedule", adaptive.SCHEDULES, "warm-up + cosine"),
     "warmup": Control("warm-up steps", VIEWER_WARMUPS, 30)},
    ncols=2,
    alt="A linear warm-up over 30 steps then a cosine decay; AdaGrad on the valley under it has no late bursts.")
