r"""Chapter 3's experiments: one learning rate for all directions, and what adapts it.

The notes' convex, elongated error surface is the valley

.. math:: L(\theta) = a\,\theta_1^2 + b\,\theta_2^2, \qquad a = 10^{-3},\ b = 100,

flat along :math:`\theta_1` (curvature :math:`2a`) and steep across :math:`\theta_2`
(curvature :math:`2b = 200`). Gradient descent :math:`\theta \leftarrow \theta - \eta g` multiplies
each coordinate's distance to the minimum by :math:`1 - 2a\eta` and :math:`1 - 2b\eta` per step,
so η must stay below :math:`2/(2b) = 10^{-2}` for the steep direction, and then the flat one
needs thousands of steps per unit of progress. At exactly :math:`\eta = 10^{-2}` the steep
coordinate flips sign at every step: the parameters bounce between the walls.

The adaptive optimisers divide by :math:`\sigma_i^t` per coordinate,
:math:`\theta_i^{t+1} = \theta_i^t - \eta^t m_i^t / \sigma_i^t`, and cross the valley in a few
hundred steps. :func:`race` runs several optimisers and learning rates at once on the
valley (each learning rate is its own parameter group, so one optimiser runs them all),
for the demos; :func:`digits_experiment` trains a small network on real data.
"""
from dataclasses import dataclass, field
from typing import Dict, List

import torch

from . import optim, schedules
from .data import digits
from .surfaces import Surface, trajectory

#: The valley's coefficients: L = A·θ₁² + B·θ₂².
A, B = 1e-3, 100.0

#: Where every run on the valley starts.
START = (-9.0, 0.9)


def valley_loss(theta):
    """L(θ) = a·θ₁² + b·θ₂² for θ of shape (..., 2)."""
    return A * theta[..., 0] ** 2 + B * theta[..., 1] ** 2


VALLEY = Surface(name="10⁻³·θ₁² + 100·θ₂²", loss=valley_loss, xlim=(-10.0, 3.0), ylim=(-1.2, 1.2), minimum=(0.0, 0.0))


def valley_gradient(theta):
    """∇L = (2a·θ₁, 2b·θ₂), for θ of shape (..., 2)."""
    return theta * theta.new_tensor([2 * A, 2 * B])


def gd_on_valley(learning_rate, steps, start=START):
    """Gradient descent on the valley in closed form: θᵢᵗ = (1 − η·λᵢ)ᵗ θᵢ⁰ with λ = (2a, 2b).

    Exact for a quadratic, so it can answer for 100 000 steps at once; returns θᵗ as a
    float64 tensor (2,).
    """
    factors = 1 - learning_rate * torch.tensor([2 * A, 2 * B], dtype=torch.float64)
    return factors ** steps * torch.tensor(start, dtype=torch.float64)


# --- The optimisers of the chapter, by the names plotting.OPTIMISER_COLORS uses ---------

#: A readable name for each optimiser key.
NAMES = {"gd": "GD", "momentum": "momentum", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam",
         "adam_warmup": "Adam + warm-up"}


def make_optimizer(name, params, lr):
    """One of the chapter's optimisers, with the hyper-parameters the chapter uses besides η.

    ``params`` may be a list of tensors or of parameter groups (dicts with their own "lr").
    """
    makers = {
        "gd": lambda: optim.SGD(params, lr=lr),
        "momentum": lambda: optim.Momentum(params, lr=lr, momentum=0.9),
        "adagrad": lambda: optim.AdaGrad(params, lr=lr),
        "rmsprop": lambda: optim.RMSProp(params, lr=lr, alpha=0.9),
        "adam": lambda: optim.Adam(params, lr=lr),
        "adam_warmup": lambda: optim.Adam(params, lr=lr),
    }
    if name not in makers:
        raise ValueError(f"unknown optimiser {name!r}; choose one of {list(makers)}")
    return makers[name]()


#: Schedules as a factor f(t) of the peak η (the race offers the first three).
SCHEDULES = ("constant", "cosine decay", "warm-up + cosine", "step decay", "exponential decay",
             "Transformer (inverse √t)")


def schedule_factor(schedule, steps, warmup=30):
    """f(t) with ηᵗ = η·f(t) for a run of ``steps`` updates: 1; a cosine from 1 to 0; a linear
    warm-up over ``warmup`` steps, then the cosine; halving every steps/5; γ = 0.99 per step;
    or the Transformer's warm-up and 1/√t decay, scaled to peak at 1."""
    if schedule == "constant":
        return lambda t: 1.0
    if schedule == "cosine decay":
        return lambda t: schedules.cosine_decay(t, 1.0, steps)
    if schedule == "warm-up + cosine":
        return lambda t: schedules.warmup_cosine(t, 1.0, steps, warmup)
    if schedule == "step decay":
        return lambda t: schedules.step_decay(t, 1.0, gamma=0.5, every=max(1, steps // 5))
    if schedule == "exponential decay":
        return lambda t: schedules.exponential_decay(t, 1.0, gamma=0.99)
    if schedule == "Transformer (inverse √t)":
        peak = schedules.inverse_sqrt_warmup(warmup - 1, 1, warmup)
        return lambda t: schedules.inverse_sqrt_warmup(t, 1, warmup) / peak
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")


def race(name, learning_rates, schedule="constant", steps=300, start=START, warmup=30):
    """Paths of one optimiser on the valley for several peak learning rates at once.

    Every η gets its own θ in its own parameter group, so one optimiser and one scheduler
    run them all; the optimisers work coordinate by coordinate, so the runs do not
    interact. ``schedule`` is one name of :data:`SCHEDULES` for all runs, or one per run.
    Returns a float64 tensor (len(learning_rates), steps + 1, 2); a run that diverges is
    NaN from the first step whose loss is not finite.
    """
    names = [schedule] * len(learning_rates) if isinstance(schedule, str) else list(schedule)
    if len(names) != len(learning_rates):
        raise ValueError(f"got {len(learning_rates)} learning rates but {len(names)} schedules")
    thetas = [torch.tensor(start, dtype=torch.float64) for _ in learning_rates]
    optimizer = make_optimizer(name, [{"params": [t], "lr": lr} for t, lr in zip(thetas, learning_rates)],
                               lr=learning_rates[0])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, [schedule_factor(s, steps, warmup) for s in names])
    paths = torch.empty(len(thetas), steps + 1, 2, dtype=torch.float64)
    paths[:, 0] = torch.stack(thetas)
    for t in range(steps):
        for theta in thetas:
            theta.grad = valley_gradient(theta)
        optimizer.step()
        scheduler.step()
        paths[:, t + 1] = torch.stack(thetas)
    diverged = ~torch.isfinite(valley_loss(paths))
    paths[diverged.cumsum(dim=1) > 0] = float("nan")
    return paths


def race_one(name, learning_rate, schedule="constant", steps=300, start=START, warmup=30):
    """The same run through the shared harness :func:`course_utils.surfaces.trajectory` (slower;
    the tests check that :func:`race` agrees with it)."""
    factor = schedule_factor(schedule, steps, warmup)

    class Scheduled:
        def __init__(self, params):
            self.optimizer = make_optimizer(name, params, learning_rate)
            self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)

        def zero_grad(self):
            self.optimizer.zero_grad()

        def step(self):
            self.optimizer.step()
            self.scheduler.step()

    return trajectory(VALLEY, start, Scheduled, steps)


# --- 1. Stuck, with a large gradient --------------------------------------------------

def stuck_run(learning_rate=1e-2, steps=200):
    """Gradient descent on the valley through the shared harness: the path, the loss and the
    gradient (norm and steep component) at every step."""
    path = trajectory(VALLEY, START, lambda p: optim.SGD(p, lr=learning_rate), steps)
    gradients = valley_gradient(path)
    return {"path": path, "loss": valley_loss(path), "gradient_norm": gradients.norm(dim=1),
            "steep_gradient": gradients[:, 1]}


# --- 6. Real data: the digits ---------------------------------------------------------

#: Peak learning rates of the digits experiment (common starting points for each optimiser).
DIGITS_LEARNING_RATES = {"gd": 0.1, "momentum": 0.1, "adagrad": 0.01, "rmsprop": 0.01, "adam": 0.01,
                         "adam_warmup": 0.01}


@dataclass
class Run:
    """One training run: per-epoch training and validation loss, validation accuracy at the end."""

    name: str
    train: List[float] = field(default_factory=list)
    validation: List[float] = field(default_factory=list)
    accuracy: float = 0.0


def digits_model(seed=0):
    """64 pixels → 64 ReLUs → 10 classes."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))


def digits_experiment(names=tuple(DIGITS_LEARNING_RATES), epochs=8, batch_size=64, seed=0, warmup_epochs=1):
    """Train the same network from the same start with each optimiser on scikit-learn's digits.

    Every run sees the same batches in the same order. ``adam_warmup`` is Adam with a linear
    warm-up over ``warmup_epochs`` epochs and a cosine decay to 0 at the end. Returns
    {name: Run}.
    """
    data = digits(seed=seed)
    n = len(data.x_train)
    per_epoch = -(-n // batch_size)
    order = torch.Generator().manual_seed(seed)
    batches = [torch.randperm(n, generator=order).split(batch_size) for _ in range(epochs)]
    runs = {}
    for name in names:
        model = digits_model(seed)
        optimizer = make_optimizer(name, model.parameters(), DIGITS_LEARNING_RATES[name])
        scheduler = None
        if name == "adam_warmup":
            total, warmup = epochs * per_epoch, warmup_epochs * per_epoch
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda t: schedules.warmup_cosine(t, 1.0, total, warmup))
        run = runs[name] = Run(NAMES[name])
        _record(run, model, data)
        for epoch_batches in batches:
            for batch in epoch_batches:
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(data.x_train[batch]), data.y_train[batch]).backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
            _record(run, model, data)
        with torch.no_grad():
            run.accuracy = (model(data.x_val).argmax(1) == data.y_val).float().mean().item()
    return runs


def _record(run, model, data):
    with torch.no_grad():
        run.train.append(torch.nn.functional.cross_entropy(model(data.x_train), data.y_train).item())
        run.validation.append(torch.nn.functional.cross_entropy(model(data.x_val), data.y_val).item())


def results_table(runs: Dict[str, Run]):
    """The final losses and accuracy of each run, one line each."""
    lines = [f"{'optimiser':16s}{'η':>7s}{'training L':>12s}{'validation L':>14s}{'accuracy':>10s}"]
    for key, run in runs.items():
        lines.append(f"{run.name:16s}{DIGITS_LEARNING_RATES[key]:7g}{run.train[-1]:12.3f}"
                     f"{run.validation[-1]:14.3f}{run.accuracy:10.1%}")
    return "\n".join(lines)
