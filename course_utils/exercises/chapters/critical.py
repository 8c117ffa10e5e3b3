"""Chapter 1, critical points: a 2×2 Hessian by autograd, the kind of a critical point, the
escape direction, the minimum ratio.

References are in :mod:`course_utils.hessian` (and one here, for the notes' loss).
Each :class:`Mistake` is a wrong answer students commonly write; when a result matches
it, the verdict names it.
"""
import math

import torch

from ... import hessian as hs
from ..cases import coin, integer, uniform
from ..compare import Difference, describe, same_tensor
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "01_critical_points"


# --- 1. The Hessian of L = (ŷ − w₁·w₂·x)² by autograd ---------------------------------------


def product_hessian(w1, w2, x, y_hat):
    """The 2×2 Hessian of L(w₁, w₂) = (ŷ − w₁·w₂·x)² at (w₁, w₂), by autograd (float64)."""
    theta = torch.tensor([w1, w2], dtype=torch.float64, requires_grad=True)
    loss = (y_hat - theta[0] * theta[1] * x) ** 2
    (g,) = torch.autograd.grad(loss, theta, create_graph=True)
    return torch.stack([torch.autograd.grad(g[i], theta, retain_graph=True)[0] for i in range(2)])


def _gauss_newton(w1, w2, x, y_hat):
    """Only the term 2·JᵀJ (the Gauss–Newton part): what HW02-2 used, without the residual term."""
    J = torch.tensor([w2 * x, w1 * x], dtype=torch.float64)
    return 2 * torch.outer(J, J)


def _product_case(rng):
    return Case((uniform(rng, -2, 2), uniform(rng, -2, 2), uniform(rng, 0.5, 2), uniform(rng, -1, 2)))


# --- 2. The kind of a critical point from H -----------------------------------------------------


def _symmetric(rng, signs):
    """A random symmetric matrix whose eigenvalues have the given signs (+1, −1 or 0)."""
    n = len(signs)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=rng, dtype=torch.float64))
    magnitudes = 0.5 + 2 * torch.rand(n, generator=rng, dtype=torch.float64)
    lam = torch.tensor(signs, dtype=torch.float64) * magnitudes
    H = q @ torch.diag(lam) @ q.T
    return ((H + H.T) / 2).round(decimals=8)


def _kind_case(rng):
    n = integer(rng, 2, 4)
    pattern = integer(rng, 0, 3)
    signs = {0: [1] * n, 1: [-1] * n, 2: [1] + [-1] * (n - 1), 3: [0] + [1] * (n - 1)}[pattern]
    if pattern == 2 and coin(rng):
        signs = [-s for s in signs]
    return Case((_symmetric(rng, signs),))


def same_string(expected, got, rtol, atol):
    """The answer must be exactly the expected string."""
    if got == expected:
        return None
    if not isinstance(got, str):
        return Difference(f"expected the string {expected!r}, got {describe(got)}",
                          f"return one of the strings {', '.join(repr(k) for k in hs.KINDS)}")
    return Difference(f"expected {expected!r}, got {got!r}")


def _kind_by_diagonal(H):
    d = torch.diagonal(H)
    if (d > 1e-6).all():
        return "local minimum"
    if (d < -1e-6).all():
        return "local maximum"
    return "saddle point"


def _kind_without_degenerate(H):
    lam = torch.linalg.eigvalsh(H)
    if (lam > 0).all():
        return "local minimum"
    if (lam < 0).all():
        return "local maximum"
    return "saddle point"


# --- 3. The escape direction ---------------------------------------------------------------------


def same_eigenpair(expected, got, rtol, atol):
    """(λ, u): λ a number, u a unit eigenvector; u and −u are both right."""
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return Difference(f"expected a tuple (eigenvalue, u), got {describe(got)}",
                          "return both: `return eigenvalue, u`")
    lam, u = got
    if isinstance(lam, torch.Tensor) and lam.numel() == 1:
        lam = lam.item()
    if not isinstance(lam, (int, float)):
        return Difference(f"eigenvalue: expected a number, got {describe(lam)}")
    if not math.isclose(lam, expected[0], rel_tol=rtol, abs_tol=atol):
        return Difference(f"eigenvalue: expected {expected[0]:.4g}, got {lam:.4g}")
    want = expected[1]
    difference = same_tensor(want, u, rtol, atol)
    if difference is not None and isinstance(u, torch.Tensor) and same_tensor(-want, u, rtol, atol) is None:
        return None
    if difference is not None:
        difference.what = "u: " + difference.what
    return difference


def _escape_case(rng):
    n = integer(rng, 2, 4)
    signs = [-1] + [1 if coin(rng) else -1 for _ in range(n - 1)]
    return Case((_symmetric(rng, signs),))


def _largest_pair(H):
    lam, vectors = torch.linalg.eigh(H)
    return lam[-1].item(), vectors[:, -1]


def _row_instead_of_column(H):
    lam, vectors = torch.linalg.eigh(H)
    return lam[0].item(), vectors[0]


# --- 4. The minimum ratio ------------------------------------------------------------------------


def _ratio_case(rng):
    """Eigenvalues of random signs, one of them positive, one negative, and zero to two flat (|λ| ~ 1e-9)."""
    n = integer(rng, 3, 6)
    signs = [1, -1] + [integer(rng, -1, 1) for _ in range(n - 2)]
    return Case((_symmetric(rng, signs),))


def _curvature(H, tol=1e-6):
    lam = torch.linalg.eigvalsh(H)
    return (lam > tol).sum().item(), (lam < -tol).sum().item(), len(lam)


def same_float(expected, got, rtol, atol):
    """The answer must be a Python float (a one-element tensor is accepted) close to the expected one."""
    value = got.item() if isinstance(got, torch.Tensor) and got.numel() == 1 else got
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return Difference(f"expected the number {expected:.4g}, got {describe(got)}",
                          "return one number: the fraction of the curved eigenvalues that are positive")
    if math.isclose(value, expected, rel_tol=rtol, abs_tol=atol):
        return None
    return Difference(f"expected {expected:.4g}, got {value:.4g}")


EXERCISES = [
    Exercise(
        "critical.product_hessian", product_hessian, draw=_product_case,
        fixed=[Case((1.0, 2.0, 1.0, 0.0)), Case((0.0, 0.0, 1.0, 1.0)), Case((2.0, 0.5, 1.0, 1.0))],
        mistakes=[
            Mistake("that is only 2·JᵀJ, the Gauss–Newton part: differentiate the gradient itself "
                    "(create_graph=True), which adds the term −2(ŷ − w₁w₂x)·x off the diagonal",
                    _gauss_newton),
            Mistake("the Hessian is a 2×2 matrix of second derivatives; the diagonal alone misses ∂²L/∂w₁∂w₂",
                    lambda *case: torch.diag(torch.diagonal(product_hessian(*case)))),
        ],
        error_hints={"does not require grad": "differentiate twice: compute the gradient with create_graph=True "
                                              "so that it can be differentiated again"},
    ),
    Exercise(
        "critical.critical_point_kind", hs.critical_point_kind, draw=_kind_case, compare=same_string,
        fixed=[Case((torch.tensor([[1.0, 3.0], [3.0, 1.0]], dtype=torch.float64),)),
               Case((torch.tensor([[0.0, -2.0], [-2.0, 0.0]], dtype=torch.float64),)),
               Case((torch.tensor([[0.0, 0.0], [0.0, 3.0]], dtype=torch.float64),)),
               Case((torch.tensor([[2.0, 2.0], [2.0, 2.0]], dtype=torch.float64),))],
        mistakes=[
            Mistake("an eigenvalue of (numerically) zero decides nothing: then the answer is 'degenerate' "
                    "(count |λ| ≤ tol as zero)", _kind_without_degenerate),
            Mistake("the signs of the diagonal entries are not the signs of the eigenvalues: use "
                    "torch.linalg.eigvalsh(H)", _kind_by_diagonal),
        ],
    ),
    Exercise(
        "critical.escape_direction", hs.escape_direction, draw=_escape_case, compare=same_eigenpair,
        fixed=[Case((torch.tensor([[0.0, -2.0], [-2.0, 0.0]], dtype=torch.float64),))],
        mistakes=[
            Mistake("that is the largest eigenvalue: escape along the most negative one (eigh sorts them "
                    "ascending, so it is the first)", _largest_pair),
            Mistake("the eigenvectors are the columns of eigh's second result: take vectors[:, 0], not vectors[0]",
                    _row_instead_of_column),
        ],
    ),
    Exercise(
        "critical.minimum_ratio", hs.minimum_ratio, draw=_ratio_case, compare=same_float,
        fixed=[Case((torch.tensor([[0.0, -2.0], [-2.0, 0.0]], dtype=torch.float64),)),
               Case((torch.tensor([[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, -1.0]], dtype=torch.float64),)),
               Case((torch.diag(torch.tensor([2.0, -1.0, 1e-12], dtype=torch.float64)),))],
        mistakes=[
            Mistake("an eigenvalue within tol of zero is flat: rounding decides its sign, so set it aside "
                    "(count only λ > tol as positive and λ < −tol as negative)",
                    lambda H: (torch.linalg.eigvalsh(H) > 0).double().mean().item()),
            Mistake("divide by the number of curved eigenvalues (|λ| > tol), not by all of them: the flat ones "
                    "are set aside", lambda H: _curvature(H)[0] / _curvature(H)[2]),
            Mistake("the minimum ratio is a fraction: divide the count of positive eigenvalues by the count of "
                    "curved ones", lambda H: float(_curvature(H)[0])),
            Mistake("that counts the negative eigenvalues: the minimum ratio counts the positive ones",
                    lambda H: _curvature(H)[1] / (_curvature(H)[0] + _curvature(H)[1])),
            Mistake("the signs of the diagonal entries are not the signs of the eigenvalues: use "
                    "torch.linalg.eigvalsh(H)", lambda H: (torch.diagonal(H) > 1e-6).double().mean().item()),
        ],
    ),
]
