r"""Chapter 1's experiments: the notes' two-weight example, escaping a saddle point, and
how often training really ends at a local minimum.

**The notes' example.** The network :math:`y = w_1 w_2 x` with one training pair
:math:`(x, \hat y) = (1, 1)` has the loss :math:`L(\theta) = (\hat y - w_1 w_2 x)^2`,
:math:`\theta = (w_1, w_2)`. Its critical points (:math:`g = \nabla L = 0`) are found here
numerically, by driving :math:`\lVert g \rVert` to zero from many starts, and classified by
the eigenvalues :math:`\lambda` of the Hessian :math:`H` (:mod:`course_utils.hessian`).

**Escaping.** At a saddle point :math:`\theta'` with an eigenvector :math:`u` of a negative
eigenvalue :math:`\lambda`, the Taylor expansion predicts
:math:`L(\theta' + u) - L(\theta') \approx \tfrac12 \lambda \lVert u \rVert^2 < 0`;
:func:`saddle_loss` makes a loss with a given Hessian at a saddle point, to test such a prediction.

**Minimum ratio.** Many small networks :math:`1 \to h \to 1` (tanh) fit
:math:`\hat y = \operatorname{sinc}(5x)`, each trained for a different number of Adam updates
and then moved to the nearest critical point by driving :math:`\lVert g \rVert` to zero
(damped Newton steps on :math:`g(\theta) = 0`) until :math:`\lVert g \rVert` is below a
tolerance. At each point reached the Hessian's eigenvalues are counted as positive
(:math:`\lambda > \epsilon`), negative (:math:`\lambda < -\epsilon`) or flat
(:math:`\lvert\lambda\rvert \le \epsilon`); the minimum ratio is the fraction of the curved
directions that curve up, positive / (positive + negative)
(:func:`course_utils.hessian.minimum_ratio`).
"""
from dataclasses import dataclass

import torch
from torch.func import grad, jacrev, vmap

from .. import hessian as hs
from ..surfaces import Surface, descend

# --- The notes' example: y = w1·w2·x -----------------------------------------------------------


def product_loss(theta, x=1.0, y_hat=1.0):
    """L = (ŷ − w₁·w₂·x)² for θ = (w₁, w₂) in the last dimension (one loss per point)."""
    return (y_hat - theta[..., 0] * theta[..., 1] * x) ** 2


def taylor_terms(theta0, loss_fn=product_loss):
    """θ′, L(θ′), the gradient g and the exact Hessian H of a loss (the notes' by default) at θ′, by autograd.

    The gradient once (keeping its graph), then each row of H as the gradient of one component of g.
    """
    theta0 = torch.as_tensor(theta0, dtype=torch.float64).clone().requires_grad_()
    value = loss_fn(theta0)
    (g,) = torch.autograd.grad(value, theta0, create_graph=True)
    H = torch.stack([torch.autograd.grad(g[i], theta0, retain_graph=True)[0] for i in range(len(g))])
    return theta0.detach(), value.detach(), g.detach(), H


def quadratic_approximation(theta0, points, loss_fn=product_loss):
    r"""The Taylor approximation :math:`L(\theta') + (\theta - \theta')^\top g + \tfrac12 (\theta - \theta')^\top H (\theta - \theta')`
    of a loss (the notes' by default) around θ′ at ``points`` (..., 2); also returns g and H."""
    theta0, value, g, H = taylor_terms(theta0, loss_fn)
    d = torch.as_tensor(points, dtype=torch.float64) - theta0
    return value + d @ g + 0.5 * ((d @ H) * d).sum(-1), g, H


def product_surface():
    """The error surface of the notes' example on [−2, 2]², as a :class:`~course_utils.surfaces.Surface`."""
    return Surface(name="(1 − w₁w₂)²", loss=product_loss, xlim=(-2.0, 2.0), ylim=(-2.0, 2.0),
                   labels=("$w_1$", "$w_2$"))


def gradient_norm_descent(loss_fn, thetas, steps=40, damping=1e-12, tol=0.0):
    r"""Drive ‖g‖ to zero from each row of ``thetas`` (shape (K, n)) by damped Newton steps

    .. math:: \theta \leftarrow \theta - (H^2 + \mu I)^{-1} H g, \qquad \mu = \lVert g \rVert^2,

    Levenberg–Marquardt on the equations g(θ) = 0. Unlike gradient descent on L it is
    attracted by every kind of critical point, saddle points included. All K points move at
    once (``torch.func.vmap``); a point stops moving once its ‖g‖ ≤ ``tol``. Returns the
    points reached, shape (K, n), float64.
    """
    thetas = thetas.detach().double().clone()
    g_fn, h_fn = vmap(grad(loss_fn)), vmap(jacrev(jacrev(loss_fn)))
    eye = torch.eye(thetas.shape[1], dtype=thetas.dtype)
    for _ in range(steps):
        g, H = g_fn(thetas), h_fn(thetas)
        norm2 = (g * g).sum(dim=1)
        moving = norm2 > tol ** 2
        if not moving.any():
            break
        mu = damping + norm2[:, None, None]
        step = torch.linalg.solve(H @ H + mu * eye, H @ g[:, :, None])[:, :, 0]
        thetas = thetas - torch.where(moving[:, None], step, torch.zeros_like(step))
    return thetas


@dataclass
class CriticalPoint:
    """A point where ‖g‖ is (numerically) zero, with its loss, Hessian eigenvalues and kind."""

    theta: torch.Tensor
    loss: float
    gradient_norm: float
    eigenvalues: torch.Tensor
    kind: str


def classify(loss_fn, theta, tol=1e-6):
    """The :class:`CriticalPoint` at θ: loss, ‖g‖, eigenvalues of the exact Hessian, and its kind."""
    theta = theta.detach().clone().requires_grad_()
    (g,) = torch.autograd.grad(loss_fn(theta), theta)
    H = hs.hessian(loss_fn, theta)
    return CriticalPoint(theta.detach(), loss_fn(theta).item(), g.norm().item(),
                         torch.linalg.eigvalsh(H), hs.critical_point_kind(H, tol=tol))


def product_critical_points(n_starts=25, seed=0, tol=1e-9):
    """The critical points of the notes' example found from ``n_starts`` random starts in [−2, 2]².

    Returns one :class:`CriticalPoint` per start that reached ‖g‖ < tol, sorted by loss, then w₁.
    """
    generator = torch.Generator().manual_seed(seed)
    starts = 4 * torch.rand(n_starts, 2, generator=generator, dtype=torch.float64) - 2
    points = [classify(product_loss, theta) for theta in gradient_norm_descent(product_loss, starts, steps=30)]
    points = [point for point in points if point.gradient_norm < tol]
    return sorted(points, key=lambda p: (round(p.loss, 6), p.theta[0].item()))


# --- Escaping a saddle point --------------------------------------------------------------------


def escape_table(loss_fn, theta, step_sizes):
    """Along the escape direction u at θ (most negative eigenvalue λ), for each step size α:
    (α, predicted change ½λα², true change L(θ + αu) − L(θ)). Also returns λ and u."""
    theta = theta.detach()
    lam, u = hs.escape_direction(hs.hessian(loss_fn, theta))
    base = loss_fn(theta).item()
    rows = [(alpha, 0.5 * lam * alpha ** 2, loss_fn(theta + alpha * u).item() - base)
            for alpha in step_sizes]
    return lam, u, rows


def saddle_loss(H):
    r"""A loss with a critical point at :math:`\theta' = 0` whose Hessian there is ``H``:
    :math:`L(\theta) = \tfrac12 \theta^\top H \theta + \tfrac14 \lVert\theta\rVert^4`.

    The quartic term has a zero gradient and a zero Hessian at 0, so there the quadratic
    approximation is :math:`\tfrac12 v^\top H v`; farther out it bends the loss back up, and the
    true change of the loss departs from the approximation's. Takes a 1-D float64 θ."""
    def loss(theta):
        return 0.5 * theta @ H @ theta + 0.25 * (theta @ theta) ** 2

    return loss


# --- How common are local minima? The minimum-ratio study -------------------------------------


def sinc_data(n_points=32):
    """n_points inputs x evenly on [−1, 1] and targets ŷ = sinc(5x) = sin(5πx)/(5πx), both (n_points,)."""
    x = torch.linspace(-1, 1, n_points, dtype=torch.float64)
    return x, torch.sinc(5 * x)


def network_loss(theta, x, y, hidden):
    """The MSE of the network y = b + Σᵢ cᵢ·tanh(wᵢx + bᵢ), θ = (w, b, c, b) as one flat vector."""
    w, b, c = theta[:hidden], theta[hidden:2 * hidden], theta[2 * hidden:3 * hidden]
    prediction = torch.tanh(x[:, None] * w + b) @ c + theta[3 * hidden]
    return ((prediction - y) ** 2).mean()


def sinc_network_loss(hidden, n_points=32):
    """The loss θ ↦ L(θ) of a 1-h-1 tanh network on :func:`sinc_data` (one flat θ)."""
    x, y = sinc_data(n_points)
    return lambda theta: network_loss(theta, x, y, hidden)


def n_parameters(hidden):
    """3h + 1 parameters for a 1-h-1 network."""
    return 3 * hidden + 1


@dataclass
class Study:
    """The minimum-ratio study: one entry per network that reached a critical point (‖g‖ < tol),
    and, under ``stalled_``, the networks that did not."""

    losses: torch.Tensor          # training loss at the critical point
    ratios: torch.Tensor          # minimum ratio there (flat eigenvalues set aside)
    positive: torch.Tensor        # how many eigenvalues of H are > eigenvalue_tol
    negative: torch.Tensor        # how many are < −eigenvalue_tol
    flat: torch.Tensor            # how many are within eigenvalue_tol of zero
    gradient_norms: torch.Tensor  # ‖g‖ there
    updates: torch.Tensor         # Adam updates made before moving to the critical point
    stalled_points: torch.Tensor            # the others: where the Newton steps left them (rows θ),
    stalled_losses: torch.Tensor            # their loss there,
    stalled_gradient_norms: torch.Tensor    # and their ‖g‖ there (≥ tol)
    n_networks: int               # how many networks were trained
    tol: float                    # ‖g‖ below which a point counts as critical
    eigenvalue_tol: float         # |λ| up to which an eigenvalue counts as flat
    target_variance: float        # the loss of the best constant prediction (the mean of ŷ)


def adam_snapshots(loss_fn, theta, updates, learning_rate):
    """Train all rows of ``theta`` together with Adam (:func:`course_utils.surfaces.descend`, the loss
    vmapped over the rows) and return row k as it was after ``updates[k]`` updates: a point of its
    path, so later updates (Adam's momentum keeps moving a parameter whose gradient is zero) cannot
    touch it."""
    paths = descend(vmap(loss_fn), theta.detach(), torch.optim.Adam, int(updates.max()), lr=learning_rate)
    return paths[torch.arange(len(theta)), updates]


def minimum_ratio_study(n_networks=40, hidden=4, n_points=32, max_updates=1000, newton_steps=200,
                        learning_rate=0.02, init_scale=1.0, tol=1e-8, eigenvalue_tol=1e-6, seed=0):
    """Train ``n_networks`` 1-h-1 tanh networks on sinc data, all at once (vmap), network k for
    a number of Adam updates spread between 0 and ``max_updates``; then drive each one's ‖g‖
    towards zero with up to ``newton_steps`` damped Newton steps and keep those that reach
    ‖g‖ < ``tol``. At each point kept the exact Hessian (:func:`course_utils.hessian.hessian`)
    gives the counts of positive, negative and flat eigenvalues and the minimum ratio.
    """
    x, y = sinc_data(n_points)
    generator = torch.Generator().manual_seed(seed)
    n = n_parameters(hidden)
    theta = init_scale * torch.randn(n_networks, n, generator=generator, dtype=torch.float64)
    updates = torch.round(torch.logspace(0, torch.log10(torch.tensor(max_updates + 1.0)), n_networks) - 1).long()
    loss_one = sinc_network_loss(hidden, n_points)
    trained = adam_snapshots(loss_one, theta, updates, learning_rate)
    points = gradient_norm_descent(loss_one, trained, newton_steps, tol=tol / 10)
    losses, norms = vmap(loss_one)(points), vmap(grad(loss_one))(points).norm(dim=1)
    kept = norms < tol
    counts, ratios = [], []
    for point in points[kept]:
        H = hs.hessian(loss_one, point)
        counts.append(hs.curvature_counts(H, eigenvalue_tol))
        ratios.append(hs.minimum_ratio(H, eigenvalue_tol))
    counts = torch.tensor(counts, dtype=torch.long).reshape(-1, 3).T
    return Study(losses[kept], torch.tensor(ratios, dtype=torch.float64), counts[0], counts[1], counts[2],
                 norms[kept], updates[kept], points[~kept], losses[~kept], norms[~kept],
                 n_networks, tol, eigenvalue_tol, y.var(unbiased=False).item())
