r"""Error surfaces of two parameters and the descent engine.

Every optimisation chapter reuses this one harness, so a chapter changes one
thing (the optimiser, the learning rate, the surface) and the reader sees what
that one change does.

A surface is a loss :math:`L(\theta)` of :math:`\theta = (\theta_1, \theta_2)`.
Its ``loss`` accepts a tensor whose last dimension is 2 and returns one loss per
point, so the same function draws the contour grid and drives the optimiser.

The runner applies any ``torch.optim.Optimizer`` for ``steps`` updates

.. math:: \theta^{t+1} = \theta^{t} - \eta\, g^{t}, \qquad g^{t} = \nabla L(\theta^{t})

(or whatever rule the optimiser implements) and returns the whole path
:math:`\theta^0, \dots, \theta^{T}`: :func:`descend` from K starts at once, each with its own
hyper-parameters, :func:`trajectory` from one. Pictures of a surface are in :mod:`course_utils.pictures`.
"""
from dataclasses import dataclass
from typing import Callable, Optional, Tuple

import torch


@dataclass(frozen=True)
class Surface:
    """A named loss of two parameters with the window it is best looked at in."""

    name: str
    loss: Callable[[torch.Tensor], torch.Tensor]
    xlim: Tuple[float, float]
    ylim: Tuple[float, float]
    minimum: Optional[Tuple[float, float]] = None
    labels: Tuple[str, str] = (r"$\theta_1$", r"$\theta_2$")


def elongated_bowl(a=0.1, b=2.0):
    """L = a·θ₁² + b·θ₂²: a convex valley, steep across and flat along (d2l's f2d)."""
    return Surface(
        name=f"{a:g}·θ₁² + {b:g}·θ₂²",
        loss=lambda theta: a * theta[..., 0] ** 2 + b * theta[..., 1] ** 2,
        xlim=(-5.5, 5.5), ylim=(-3.0, 3.0), minimum=(0.0, 0.0),
    )


def regression_surface(x, y):
    """The mean squared error of y ≈ b + w·x over data (x, y), as a surface over θ = (w, b).

    The minimum is the least-squares line, solved in closed form.
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 2:
        raise ValueError(f"x and y must be 1-D and of the same length ≥ 2; got shapes {tuple(x.shape)} and {tuple(y.shape)}")

    def loss(theta):
        theta = torch.as_tensor(theta, dtype=torch.float64)
        w, b = theta[..., 0:1], theta[..., 1:2]
        return ((b + w * x - y) ** 2).mean(dim=-1)

    design = torch.stack([x, torch.ones_like(x)], dim=1)
    w_star, b_star = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.squeeze(1).tolist()
    span_w = 2.0 * max(1.0, abs(w_star))
    span_b = 2.0 * max(1.0, abs(b_star))
    return Surface(
        name="mean squared error of y = b + w·x",
        loss=loss,
        xlim=(w_star - span_w, w_star + span_w),
        ylim=(b_star - span_b, b_star + span_b),
        minimum=(w_star, b_star),
        labels=("$w$", "$b$"),
    )


def grid(surface, n=120):
    """Evaluate a surface on an n×n grid of its window: returns (θ₁, θ₂, L), each (n, n)."""
    t1 = torch.linspace(*surface.xlim, n, dtype=torch.float64)
    t2 = torch.linspace(*surface.ylim, n, dtype=torch.float64)
    T1, T2 = torch.meshgrid(t1, t2, indexing="xy")
    with torch.no_grad():
        L = surface.loss(torch.stack([T1, T2], dim=-1))
    return T1, T2, L


def descend(loss, starts, optimizer, steps, schedule=None, gradient=None, **hyperparameters):
    r"""Descend a loss from K starts at once, one per row of ``starts`` (K, d): the paths, shape (K, steps + 1, d).

    ``optimizer`` is any of the course's update rules (a class of :mod:`course_utils.optim`, or of
    ``torch.optim``), built once as ``optimizer([θ], **hyperparameters)`` on θ of shape (K, d). A
    hyper-parameter is one number for every row, or K numbers, one per row (the rules of
    :mod:`course_utils.optim` take them as a (K, 1) tensor; K equal numbers are passed as one, which
    every rule of ``torch.optim`` takes). ``betas`` is one pair (β₁, β₂) for every row, even when
    K = 2, or one pair per row, shape (K, 2). ``schedule(t)``, if given, is the factor of the
    learning rate at update t (counted from 0): ηᵗ = η·schedule(t), one number or one per row.

    ``loss`` maps θ (K, d) to the K rows' losses, and is called once per update; the rows are
    independent, so the gradient of their sum is each row's own gradient, and each row makes exactly
    the updates it would make alone. Where the gradient is known in closed form, ``gradient(θ)`` may
    give it, (K, d), instead of autograd (many times quicker for a surface of two parameters); ``loss``
    is then called once, on the whole paths (K, steps + 1, d). A row is NaN from the first point whose
    θ, or whose loss (computed for the update from it), is not finite, so a path that diverges can
    still be cut and drawn.
    """
    loss_fn = loss.loss if isinstance(loss, Surface) else loss
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    theta = torch.as_tensor(starts, dtype=torch.float64).clone()
    if theta.ndim != 2:
        raise ValueError(f"starts must have shape (K, d), one start per row; got shape {tuple(theta.shape)}")
    rows = len(theta)
    hyperparameters = {name: _per_row(name, value, rows) for name, value in hyperparameters.items()}
    try:
        update = optimizer([theta.requires_grad_(True)], **hyperparameters)
    except (TypeError, ValueError, RuntimeError) as error:
        if not any(torch.is_tensor(v) for value in hyperparameters.values()
                   for v in (value if isinstance(value, tuple) else (value,))):
            raise
        raise ValueError(f"{error}: this update rule takes one number per hyper-parameter, not one per start; "
                         "use a rule of course_utils.optim, or one descend per value") from error
    learning_rate = update.param_groups[0]["lr"] if schedule is not None else None
    paths = torch.empty(rows, steps + 1, theta.shape[1], dtype=torch.float64)
    paths[:, 0] = theta.detach()
    losses = torch.zeros(rows, steps + 1, dtype=torch.float64)      # the last point's loss is not needed
    for t in range(steps):
        if schedule is not None:
            update.param_groups[0]["lr"] = learning_rate * _per_row("schedule(t)", schedule(t), rows)
        if gradient is None:
            value = loss_fn(theta)
            if value.shape != (rows,):
                raise ValueError(f"the loss must return one loss per start, shape ({rows},); got {tuple(value.shape)}")
            (theta.grad,) = torch.autograd.grad(value.sum(), theta)
            losses[:, t] = value.detach()
        else:
            theta.grad = gradient(theta.detach())
        update.step()
        paths[:, t + 1] = theta.detach()
    if gradient is not None:
        with torch.no_grad():
            losses = loss_fn(paths)
    finite = torch.isfinite(losses) & torch.isfinite(paths).all(dim=2)
    paths[finite.logical_not().cumsum(dim=1) > 0] = float("nan")
    return paths


def _per_row(name, value, rows):
    """A hyper-parameter as one number, or as a (rows, 1) tensor of one value per row (``betas``: a pair of them)."""
    if name == "betas":
        pair = torch.as_tensor(value, dtype=torch.float64)
        if pair.shape == (2,):
            return tuple(pair.tolist())
        if pair.shape != (rows, 2):
            raise ValueError(f"betas must be one pair (β₁, β₂) or one pair per start, shape ({rows}, 2); "
                             f"got shape {tuple(pair.shape)}")
        return _per_row("β₁", pair[:, 0], rows), _per_row("β₂", pair[:, 1], rows)
    value = torch.as_tensor(value, dtype=torch.float64).flatten()
    if len(value) not in (1, rows):
        raise ValueError(f"{name} must be one number or one per start ({rows}), got {len(value)} values")
    return value[0].item() if bool((value == value[0]).all()) else value[:, None]


def trajectory(loss, start, make_optimizer, steps):
    """Run an optimiser on a loss of a few parameters and return the path, shape (steps + 1, d).

    ``loss`` maps θ (a 1-D tensor) to a scalar; a :class:`Surface` is accepted too.
    ``make_optimizer(params)`` builds the optimiser, e.g.
    ``lambda p: torch.optim.SGD(p, lr=0.1)``. One row of :func:`descend`; a path that diverges
    is cut where the loss stops being finite, so callers can still draw it.
    """
    loss_fn = loss.loss if isinstance(loss, Surface) else loss
    start = torch.tensor(start, dtype=torch.float64).flatten()

    def one_row(theta):
        value = loss_fn(theta[0])
        if value.ndim != 0:
            raise ValueError(f"the loss must return a scalar for one θ, got shape {tuple(value.shape)}")
        return value[None]

    path = descend(one_row, start[None], make_optimizer, steps)[0]
    kept = int(torch.isfinite(path).all(dim=1).sum())
    return path[:kept] if kept else start[None]


def gradient_descent(loss, start, learning_rate, steps):
    """Plain gradient descent θ ← θ − η·∇L(θ); the path, shape (steps + 1, d)."""
    return trajectory(loss, start, lambda p: torch.optim.SGD(p, lr=learning_rate), steps)


def losses_along(loss, path):
    """The loss at every point of a path (a 1-D tensor)."""
    loss_fn = loss.loss if isinstance(loss, Surface) else loss
    with torch.no_grad():
        return torch.stack([loss_fn(theta) for theta in path])
