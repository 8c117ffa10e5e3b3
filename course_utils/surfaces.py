r"""Error surfaces of two parameters and the trajectory runner.

Every optimisation chapter reuses this one harness, so a chapter changes one
thing (the optimiser, the learning rate, the surface) and the reader sees what
that one change does.

A surface is a loss :math:`L(\theta)` of :math:`\theta = (\theta_1, \theta_2)`.
Its ``loss`` accepts a tensor whose last dimension is 2 and returns one loss per
point, so the same function draws the contour grid and drives the optimiser.

The runner applies any ``torch.optim.Optimizer`` for ``steps`` updates

.. math:: \theta^{t+1} = \theta^{t} - \eta\, g^{t}, \qquad g^{t} = \nabla L(\theta^{t})

(or whatever rule the optimiser implements) and returns the whole path
:math:`\theta^0, \dots, \theta^{T}`.
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


def trajectory(loss, start, make_optimizer, steps):
    """Run an optimiser on a loss of a few parameters and return the path, shape (steps + 1, d).

    ``loss`` maps θ (a 1-D tensor) to a scalar; a :class:`Surface` is accepted too.
    ``make_optimizer(params)`` builds the optimiser, e.g.
    ``lambda p: torch.optim.SGD(p, lr=0.1)``. A path that diverges is cut where the
    loss stops being finite, so callers can still draw it.
    """
    loss_fn = loss.loss if isinstance(loss, Surface) else loss
    if steps < 0:
        raise ValueError(f"steps must be ≥ 0, got {steps}")
    theta = torch.tensor(start, dtype=torch.float64).flatten().requires_grad_(True)
    optimizer = make_optimizer([theta])
    path = [theta.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        value = loss_fn(theta)
        if value.ndim != 0:
            raise ValueError(f"the loss must return a scalar for one θ, got shape {tuple(value.shape)}")
        if not torch.isfinite(value):
            if len(path) > 1:
                path.pop()          # θ is finite but its loss is not: cut the path before it
            break
        value.backward()
        optimizer.step()
        if not torch.isfinite(theta).all():
            break
        path.append(theta.detach().clone())
    return torch.stack(path)


def gradient_descent(loss, start, learning_rate, steps):
    """Plain gradient descent θ ← θ − η·∇L(θ); the path, shape (steps + 1, d)."""
    return trajectory(loss, start, lambda p: torch.optim.SGD(p, lr=learning_rate), steps)


def losses_along(loss, path):
    """The loss at every point of a path (a 1-D tensor)."""
    loss_fn = loss.loss if isinstance(loss, Surface) else loss
    with torch.no_grad():
        return torch.stack([loss_fn(theta) for theta in path])


def draw_surface(surface, ax, n=100, levels=20, log=True):
    """Filled contours of a surface on a matplotlib Axes, labelled, with its minimum marked.

    With ``log`` the colours follow log₁₀(L − min L + 10⁻³), so the flat floor of a valley
    still shows its shape.
    """
    T1, T2, L = grid(surface, n)
    Z = torch.log10(L - L.min() + 1e-3) if log else L
    ax.contourf(T1.numpy(), T2.numpy(), Z.numpy(), levels=levels, cmap="viridis", alpha=0.9)
    if surface.minimum is not None:
        ax.plot(*surface.minimum, marker="*", color="white", markersize=11, markeredgecolor="black", linestyle="none")
    ax.set_xlim(*surface.xlim)
    ax.set_ylim(*surface.ylim)
    ax.set_xlabel(surface.labels[0])
    ax.set_ylabel(surface.labels[1])


def draw_path(path, ax, color, label=None):
    """A trajectory as dots joined by lines, starting point ringed."""
    path = path.detach().numpy() if torch.is_tensor(path) else path
    ax.plot(path[:, 0], path[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2, label=label)
    ax.plot(path[0, 0], path[0, 1], "o", markersize=8, markerfacecolor="none", markeredgecolor=color)
