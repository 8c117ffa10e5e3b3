"""Chapter 1, critical points: a 2×2 Hessian by autograd, the kind of a critical point, the
escape direction, the minimum ratio; then a prediction (how much a step along a negative
curvature lowers the loss) and a choice (what a small gradient tells you).

References are in :mod:`course_utils.hessian` (and one here, for the notes' loss).
Each :class:`Mistake` is a wrong answer students commonly write; when a result matches
it, the verdict names it.
"""
import math

import torch

from ... import hessian as hs
from ..cases import coin, integer, uniform
from ..compare import Difference, close_number, describe, same_tensor
from ..registry import Case, Exercise, Mistake, choice_exercise

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


def same_hessian(expected, got, rtol, atol):
    """:func:`same_tensor`, with the right dtype hint: the inputs are Python numbers, not tensors, so "keep
    the inputs' dtype" would not help; a tensor made from Python floats is float32 unless asked for float64."""
    if (isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point()
            and got.dtype != expected.dtype):
        return Difference(f"expected dtype float64, got {str(got.dtype).removeprefix('torch.')}",
                          "the inputs are Python numbers, and a tensor made from Python floats is float32 unless "
                          "you ask for another dtype: create the tensor that holds (w₁, w₂) with "
                          "dtype=torch.float64, as the exercise asks (second derivatives need the extra digits, "
                          "and the chapter's Hessians are all float64)")
    return same_tensor(expected, got, rtol, atol)


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
        hint = ("your function returned None: did you forget `return`?" if got is None
                else f"return one of the strings {', '.join(repr(k) for k in hs.KINDS)}")
        return Difference(f"expected the string {expected!r}, got {describe(got)}", hint)
    return Difference(f"expected {expected!r}, got {got!r}")


def _kind_by_signs(values, tol):
    """A kind read off signs, with no 'degenerate': minimum when every value is above tol, maximum when every
    one is below −tol, else saddle point."""
    if (values > tol).all():
        return "local minimum"
    if (values < -tol).all():
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
    if difference is None or isinstance(u, torch.Tensor) and same_tensor(-want, u, rtol, atol) is None:
        return None
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


# --- 5. Predict: how much a step along a negative curvature lowers the loss ---------------------


def saddle_escape_change(problem):
    """The change of the loss that the quadratic approximation predicts for the step θ' → θ' + α·u at a
    critical point θ': ½·(αu)ᵀH(αu) = ½·α²·λ·‖u‖² for an eigenvector u of eigenvalue λ."""
    H, u, alpha = problem["hessian"], problem["u"], problem["alpha"]
    return 0.5 * alpha ** 2 * float(u @ H @ u)


def _u_eigenvalue(p):
    return float(p["u"] @ p["hessian"] @ p["u"] / (p["u"] @ p["u"]))


def _u_norm(p):
    return float(p["u"].norm())


#: Wrong predictions students make, each with the misconception behind it (hint, answer(problem)).
_ESCAPE_MISTAKES = [
    ("the loss falls along u: its eigenvalue λ is negative, so ½·α²·λ·‖u‖² is a negative change "
     "(you gave the size of the drop with the sign of a rise)",
     lambda p: -saddle_escape_change(p)),
    ("the quadratic approximation has a ½: L(θ' + v) − L(θ') ≈ ½·vᵀHv",
     lambda p: 2 * saddle_escape_change(p)),
    ("u is not a unit vector here: with v = α·u, vᵀHv = α²·λ·‖u‖², so ‖u‖² counts",
     lambda p: 0.5 * p["alpha"] ** 2 * _u_eigenvalue(p)),
    ("‖u‖ enters squared, as α does: v = α·u gives vᵀHv = α²·λ·‖u‖²",
     lambda p: 0.5 * p["alpha"] ** 2 * _u_eigenvalue(p) * _u_norm(p)),
    ("α enters squared: the change is quadratic in the step v = α·u, so half the step gives a quarter of the "
     "change", lambda p: 0.5 * p["alpha"] * _u_eigenvalue(p) * _u_norm(p) ** 2),
    ("the step is α·u, not u: scale it by α (the change then scales by α²)",
     lambda p: 0.5 * _u_eigenvalue(p) * _u_norm(p) ** 2),
    ("λ must be u's own eigenvalue (Hu = λu), not the most negative one: this H has two negative "
     "eigenvalues, and u belongs to the other one",
     lambda p: 0.5 * p["alpha"] ** 2 * float(torch.linalg.eigvalsh(p["hessian"])[0]) * _u_norm(p) ** 2),
    ("the diagonal entries of H are its curvatures along the axes, not along u: this H is tilted, so use u's "
     "eigenvalue (Hu = λu)",
     lambda p: 0.5 * p["alpha"] ** 2 * float(p["hessian"].diagonal().min()) * _u_norm(p) ** 2),
    ("that includes the loss's higher-order terms (it is what the experiment below measures): the question "
     "asks what the quadratic approximation predicts",
     lambda p: saddle_escape_change(p) + 0.25 * (p["alpha"] * _u_norm(p)) ** 4),
]


def _escape_step_problem(rng):
    """H (3×3, tilted) with one positive and two negative eigenvalues of clearly different sizes; u an
    eigenvector of one of the negative ones, not of unit length; a step α. The loss of the experiment,
    :func:`course_utils.experiments.critical.saddle_loss`, adds ¼‖θ‖⁴ to the quadratic, which changes the loss by
    3 % to 20 % of the prediction: visible in the experiment, too much to pass for the prediction.
    Redrawn until every mistake gives a value of its own."""
    while True:
        q, _ = torch.linalg.qr(torch.randn(3, 3, generator=rng, dtype=torch.float64))
        lam = torch.tensor([1.0, -1.0, -1.0], dtype=torch.float64) * (0.5 + 2.5 * torch.rand(
            3, generator=rng, dtype=torch.float64))
        H = (q @ torch.diag(lam) @ q.T).round(decimals=4)
        H = (H + H.T) / 2
        which = 1 if coin(rng) else 2
        sign = 1.0 if coin(rng) else -1.0
        length = uniform(rng, 0.5, 0.8) if coin(rng) else uniform(rng, 1.3, 2.5)
        u = (sign * length * q[:, which]).round(decimals=4)
        p = {"hessian": H, "u": u, "alpha": uniform(rng, 0.1, 0.6)}
        if _escape_problem_is_clear(p, lam):
            return Case((p,))


def _escape_problem_is_clear(p, lam):
    negative = sorted(lam[1:].tolist())
    quartic = (p["alpha"] * _u_norm(p)) ** 2 / (2 * abs(_u_eigenvalue(p)))
    if not (negative[0] < 1.3 * negative[1] and 0.03 <= quartic <= 0.2):
        return False
    right = saddle_escape_change(p)
    values = [right] + [wrong(p) for _, wrong in _ESCAPE_MISTAKES]
    distinct = [v for v in values[1:] if not math.isclose(v, right, rel_tol=0.05)]
    # the "most negative eigenvalue" mistake coincides with the answer when u belongs to it: allowed
    if len(distinct) < len(values) - 2:
        return False
    return all(not math.isclose(a, b, rel_tol=0.03) for i, a in enumerate([right] + distinct)
               for b in ([right] + distinct)[i + 1:])


# --- 6. Choose and explain: what a small gradient tells you -------------------------------------

SMALL_GRADIENT_WHY_NOT = {
    "a": "a small gradient says only that the slope is small, not which way the loss curves: at a saddle point "
         "the gradient is zero too, and a way down remains. Which kind of point it is, the second derivatives "
         "decide (the signs of H's eigenvalues)",
    "b": "the chapter's study found mostly saddle points, at the loss of a constant prediction: a tendency of one "
         "experiment, not a fact about this point. Whether a way down exists here, the eigenvalues of H here say",
    "d": "small is not zero: in section 7 many networks stalled with a small, slowly shrinking gradient while "
         "their weights kept growing, with no critical point in reach, and a threshold such as ‖g‖ < 10⁻³ accepts "
         "points far from every critical point. Whether one is near is itself to be checked",
}


EXERCISES = [
    Exercise(
        "critical.product_hessian", product_hessian, draw=_product_case, compare=same_hessian,
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
                    "(count |λ| ≤ tol as zero)", lambda H: _kind_by_signs(torch.linalg.eigvalsh(H), 0)),
            Mistake("the signs of the diagonal entries are not the signs of the eigenvalues: use "
                    "torch.linalg.eigvalsh(H)", lambda H: _kind_by_signs(torch.diagonal(H), 1e-6)),
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
    Exercise(
        "critical.saddle_escape_change", saddle_escape_change, draw=_escape_step_problem, kind="value",
        compare=close_number, rtol=0.01, atol=0.0,
        hint="near a critical point θ' the loss changes by about ½·vᵀHv for a step v; here v = α·u, and u is an "
             "eigenvector of H: what is Hu?",
        mistakes=[Mistake(hint, wrong) for hint, wrong in _ESCAPE_MISTAKES],
    ),
    choice_exercise("critical.small_gradient_meaning", "c", SMALL_GRADIENT_WHY_NOT),
]
