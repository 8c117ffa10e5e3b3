r"""Chapter 1's demos on the notes' surface L(w₁, w₂) = (1 − w₁w₂)².

- ``TAYLOR_DEMO``: move a point θ′ over the surface; see the gradient g, the Hessian's
  eigenvectors (coloured by the sign of their eigenvalue λ) and, beside the true loss, its
  quadratic approximation L(θ′) + (θ − θ′)ᵀg + ½(θ − θ′)ᵀH(θ − θ′).
- ``ESCAPE_DEMO``: gradient descent started at the saddle point (0, 0), nudged by a small
  step along one of H's eigenvectors or a random direction, or not at all.
"""
from functools import lru_cache

import numpy as np
import torch

from .. import critical
from .. import hessian as hs
from ..plotting import OPTIMISER_COLORS, ROLE_COLORS
from ..surfaces import draw_path, gradient_descent, losses_along
from . import Control, Demo

#: The contour levels both panels share, so equal colours mean equal values.
LEVELS = np.array([-8, -4, -2, -1, -0.5, 0, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32])
#: Colours of eigenvectors with a negative and a positive eigenvalue.
CURVATURE_COLORS = {"negative": "#d62728", "positive": "#1f77b4", "zero": "#7f7f7f"}
GRID_N = 40


@lru_cache(maxsize=1)
def _grid():
    """θ₁, θ₂ of a GRID_N × GRID_N grid over the surface's window, and the true loss there."""
    surface = critical.product_surface()
    t1 = torch.linspace(*surface.xlim, GRID_N, dtype=torch.float64)
    t2 = torch.linspace(*surface.ylim, GRID_N, dtype=torch.float64)
    T1, T2 = torch.meshgrid(t1, t2, indexing="xy")
    return T1, T2, critical.product_loss(torch.stack([T1, T2], dim=-1))


def quadratic_approximation(theta0, points):
    """L(θ′) + (θ − θ′)ᵀg + ½(θ − θ′)ᵀH(θ − θ′) of the notes' loss at ``points`` (..., 2)."""
    theta0 = torch.as_tensor(theta0, dtype=torch.float64).clone().requires_grad_()
    value = critical.product_loss(theta0)
    (g,) = torch.autograd.grad(value, theta0)
    H = hs.hessian(critical.product_loss, theta0)
    d = points - theta0.detach()
    return value.detach() + d @ g + 0.5 * ((d @ H) * d).sum(-1), g, H


def taylor_compute(w1=0.5, w2=-0.5):
    """The true loss and its quadratic approximation around θ′ = (w₁, w₂), with g and H's eigenpairs."""
    T1, T2, L = _grid()
    quadratic, g, H = quadratic_approximation((w1, w2), torch.stack([T1, T2], dim=-1))
    lam, vectors = torch.linalg.eigh(H)
    kind = hs.critical_point_kind(H) if g.norm() < 1e-9 else "not a critical point"
    return {"T1": T1.numpy(), "T2": T2.numpy(), "loss": L.numpy(), "quadratic": quadratic.numpy(),
            "theta": np.array([w1, w2]), "gradient": g.numpy(), "eigenvalues": lam.numpy(),
            "eigenvectors": vectors.T.numpy(), "kind": kind}


def _branch(sign):
    w1 = np.linspace(0.5, 2.0, 30) * sign
    return np.concatenate([w1, [np.nan]]), np.concatenate([1 / w1, [np.nan]])


#: The curve of minima w₁w₂ = 1 (both branches, split by a NaN), as (w₁, w₂) arrays.
_MINIMA_CURVE = tuple(np.concatenate(parts) for parts in zip(_branch(1), _branch(-1)))


def _frame(ax):
    ax.set_xlim(-2, 2)
    ax.set_ylim(-2, 2)
    ax.set_xticks([-2, -1, 0, 1, 2])
    ax.set_yticks([-2, -1, 0, 1, 2])
    ax.set_xlabel("w₁")
    ax.set_ylabel("w₂")


def _curvature(lam):
    return "negative" if lam < -1e-9 else "positive" if lam > 1e-9 else "zero"


def taylor_draw(data, axes):
    w1, w2 = data["theta"]
    for ax, values, name in zip(axes, (data["loss"], data["quadratic"]), ("true loss L(θ)", "quadratic approximation")):
        ax.contourf(data["T1"], data["T2"], values, levels=LEVELS, cmap="viridis", extend="both")
        for lam, u in zip(data["eigenvalues"], data["eigenvectors"]):
            ends = np.array([data["theta"] - 0.7 * u, data["theta"] + 0.7 * u])
            ax.plot(ends[:, 0], ends[:, 1], color=CURVATURE_COLORS[_curvature(lam)], linewidth=2.5)
        step = -0.25 * data["gradient"]
        if np.linalg.norm(step) > 1e-9:
            ax.annotate("", xy=data["theta"] + step, xytext=data["theta"],
                        arrowprops={"arrowstyle": "->", "color": "white", "linewidth": 1.8})
        ax.plot(w1, w2, "o", color="white", markeredgecolor="black", markersize=7)
        ax.plot(*_MINIMA_CURVE, ":", color="white", linewidth=1)
        _frame(ax)
        ax.set_title(name)
    axes[1].set_yticklabels([])
    axes[1].set_ylabel("")
    lam = data["eigenvalues"]
    axes[0].text(0.02, 0.02, f"‖g‖ = {np.linalg.norm(data['gradient']):.2f}, λ = {lam[0]:.2f} and {lam[1]:.2f}\n{data['kind']}",
                 transform=axes[0].transAxes, fontsize=8, color="black",
                 bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})


_POSITIONS = (-1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5)

TAYLOR_DEMO = Demo(
    title="The quadratic approximation around a point θ′ = (w₁, w₂)",
    compute=taylor_compute,
    draw=taylor_draw,
    controls={"w1": Control("w₁ of θ′", _POSITIONS, 0.5), "w2": Control("w₂ of θ′", _POSITIONS, -0.5)},
    ncols=2,
    figsize=(8.0, 3.8),
    alt="The loss (1 − w₁w₂)² and its quadratic approximation around (0.5, −0.5), with the gradient "
        "and the Hessian's eigenvectors.",
)

# --- Escaping the saddle point at the origin --------------------------------------------------

ESCAPE_LEARNING_RATE = 0.1
ESCAPE_STEPS = 60
SADDLE = (0.0, 0.0)


@lru_cache(maxsize=1)
def _saddle_eigenpairs():
    """Eigenvalues (ascending) and unit eigenvectors (rows) of H at the saddle point (0, 0)."""
    H = hs.hessian(critical.product_loss, torch.zeros(2, dtype=torch.float64, requires_grad=True))
    lam, vectors = torch.linalg.eigh(H)
    return lam, vectors.T


def nudge(direction, size):
    """The start θ⁰ = (0, 0) + size·d for a unit direction d: "none", "λ < 0", "λ > 0" or "random"."""
    lam, vectors = _saddle_eigenpairs()
    if direction == "none":
        return torch.zeros(2, dtype=torch.float64)
    if direction == "random":
        d = torch.randn(2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        return size * d / d.norm()
    return size * vectors[0 if direction == "λ < 0" else 1]


def escape_compute(direction="λ < 0", size=0.01):
    """Gradient descent (η = ESCAPE_LEARNING_RATE, ESCAPE_STEPS updates) from the nudged saddle point."""
    start = nudge(direction, size)
    path = gradient_descent(critical.product_loss, start.tolist(), ESCAPE_LEARNING_RATE, ESCAPE_STEPS)
    return {"path": path.numpy(), "losses": losses_along(critical.product_loss, path).numpy(),
            "direction": direction, "size": size, "T1": _grid()[0].numpy(), "T2": _grid()[1].numpy(),
            "loss": _grid()[2].numpy()}


def escape_draw(data, axes):
    ax, curve = axes
    ax.contourf(data["T1"], data["T2"], data["loss"], levels=LEVELS[LEVELS >= 0], cmap="viridis", extend="max")
    ax.plot(*SADDLE, "x", color="white", markersize=9, markeredgewidth=2)
    draw_path(data["path"], ax, color=OPTIMISER_COLORS["gd"])
    ax.plot(*_MINIMA_CURVE, ":", color="white", linewidth=1)
    _frame(ax)
    what = "no nudge" if data["direction"] == "none" else f"nudge {data['size']:g} along {data['direction']}"
    ax.set_title(what)
    curve.plot(data["losses"], color=OPTIMISER_COLORS["gd"])
    curve.set_ylim(-0.05, 1.1)
    curve.set_xlim(0, ESCAPE_STEPS)
    curve.locator_params(nbins=4)
    curve.set_xlabel("update")
    curve.set_ylabel("loss L", color=ROLE_COLORS["data"])
    curve.set_title(f"after {ESCAPE_STEPS} updates: L = {data['losses'][-1]:.3f}")


ESCAPE_DEMO = Demo(
    title="Gradient descent from the saddle point (0, 0), nudged",
    compute=escape_compute,
    draw=escape_draw,
    controls={
        "direction": Control("nudge direction", ("none", "λ < 0", "λ > 0", "random"), "λ < 0", format="{}"),
        "size": Control("nudge size", (0.001, 0.01, 0.1, 0.3), 0.01),
    },
    ncols=2,
    figsize=(8.0, 3.4),
    alt="Gradient descent started 0.01 away from the saddle point along the eigenvector of the negative "
        "eigenvalue slides down to the curve of minima w₁w₂ = 1.",
)
