"""Chapter 3, adaptive learning rates: one RMSProp step, Adam's bias correction, a warm-up-then-cosine schedule;
then three about understanding: predict the largest stable learning rate of a tilted quadratic, predict the
length of Adam's first step, and choose (and explain) what warm-up is for.

The references are written out here in the notes' symbols; :mod:`course_utils.optim` and
:mod:`course_utils.schedules` implement the same formulas (the tests check that they agree).
"""
import math

import torch

from ... import schedules
from ..cases import coin, integer, normal, significant, uniform
from ..compare import Difference, close_number, describe, same_tensors
from ..registry import Case, Exercise, Mistake, choice_exercise

NOTEBOOK = "03_adaptive_learning_rate"


# --- references ---------------------------------------------------------------------------

def rmsprop_step(theta, g, sigma, learning_rate, alpha):
    """One RMSProp update: σ ← √(α·σ² + (1 − α)·g²), then θ ← θ − η·g/σ; returns (θ_new, σ_new)."""
    sigma_new = torch.sqrt(alpha * sigma ** 2 + (1 - alpha) * g ** 2)
    return theta - learning_rate * g / sigma_new, sigma_new


def adam_direction(m, v, t, beta1, beta2, eps):
    """Adam's bias-corrected direction m̂/(√v̂ + ε), with m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ), t counted from 1."""
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return m_hat / (torch.sqrt(v_hat) + eps)


def warmup_cosine(step, lr, total, warmup, lr_min=0.0):
    """ηᵗ: linear warm-up lr·(t + 1)/warmup for t < warmup, then a cosine from lr down to lr_min at t = total."""
    return schedules.warmup_cosine(step, lr, total, warmup, lr_min)


def largest_stable_lr(problem):
    """The largest learning rate at which plain gradient descent on L(θ) = ½ θᵀHθ still converges: 2/λ_max."""
    return 2.0 / float(torch.linalg.eigvalsh(problem["hessian"]).max())


def first_step_length(problem):
    """‖θ¹ − θ⁰‖ for Adam's first update: m̂⁰ = g⁰ and √v̂⁰ = |g⁰|, so each parameter with a nonzero gradient
    moves by η (up to ε) and one with a zero gradient stays put: η·√(number of nonzero gᵢ)."""
    g = problem["gradient"]
    return float((problem["lr"] * g.abs() / (g.abs() + problem["eps"])).norm())


def _distinct(values, apart=0.05):
    """True when no two of these positive numbers lie within ``apart`` (relative) of each other."""
    values = sorted(values)
    return all(high > (1 + apart) * low for low, high in zip(values, values[1:]))


def _quadratic_problem(rng):
    """A 2×2 Hessian with a steep and a flat direction, tilted enough that its diagonal is not its eigenvalues
    (the largest diagonal entry is at least 5 % below λ_max), and every named mistake is 5 % away from the
    answer and from one another. The steep eigenvector is not near-orthogonal to θ⁰ = (1, 1), where the
    notebook's experiment starts."""
    while True:
        a, c, b = uniform(rng, 1.0, 12.0), uniform(rng, 0.2, 3.0), uniform(rng, -2.0, 2.0)
        if a * c - b * b <= 0.05 or abs(b) <= 0.3:
            continue
        hessian = torch.tensor([[a, b], [b, c]], dtype=torch.float64)
        problem = {"hessian": hessian}
        _, eigenvectors = torch.linalg.eigh(hessian)
        steep_share = abs(float(eigenvectors[:, -1].sum())) / math.sqrt(2)
        answers = [largest_stable_lr(problem)] + [mistake.answer(problem) for mistake in _STABLE_LR_MISTAKES]
        if _distinct(answers) and steep_share > 0.3:
            return Case((problem,))


def _eigenvalues(problem):
    return torch.linalg.eigvalsh(problem["hessian"]).tolist()


_STABLE_LR_MISTAKES = [
    Mistake("that is 2/λ for the flat direction: the steep direction (the largest λ) is the one that "
            "overshoots first, and one diverging direction is enough to make the whole run diverge",
            lambda p: 2.0 / min(_eigenvalues(p))),
    Mistake("at 1/λ_max one step lands exactly on the minimum along the steepest direction (the factor "
            "1 − ηλ_max is 0); descent still converges above it, zig-zagging, until that factor reaches −1. "
            "(Section 2's factor 1 − 2aη is for L = aθ², whose curvature is 2a; here the curvatures are the "
            "eigenvalues λ of H themselves.)",
            lambda p: 1.0 / max(_eigenvalues(p))),
    Mistake("the diagonal entries of H are its curvatures along the axes, not its eigenvalues: "
            "this H is tilted, so use its eigenvalues (torch.linalg.eigvalsh)",
            lambda p: 2.0 / float(p["hessian"].diagonal().max())),
    Mistake("the trace is the sum of the eigenvalues, not the largest one",
            lambda p: 2.0 / float(p["hessian"].trace())),
]


def _nonzero(problem):
    return int((problem["gradient"] != 0).sum())


_FIRST_STEP_MISTAKES = [
    Mistake("that is gradient descent's first step, η‖g⁰‖. Adam divides each gᵢ by σᵢ = √v̂ᵢ, built from the "
            "same gradient: at the first update √v̂ᵢ = |gᵢ⁰|, so the size of the gradient cancels",
            lambda p: p["lr"] * float(p["gradient"].norm())),
    Mistake("that is the step without the bias correction: m⁰ = (1 − β₁)g⁰ and v⁰ = (1 − β₂)(g⁰)² start "
            "biased towards 0, and m̂⁰, v̂⁰ divide by 1 − β₁ and 1 − β₂, which undoes exactly that",
            lambda p: p["lr"] * (1 - p["beta1"]) / math.sqrt(1 - p["beta2"]) * math.sqrt(_nonzero(p))),
    Mistake("you corrected m but not v: v̂⁰ = v⁰/(1 − β₂) = (g⁰)², so √v̂⁰ = |g⁰|",
            lambda p: p["lr"] / math.sqrt(1 - p["beta2"]) * math.sqrt(_nonzero(p))),
    Mistake("you corrected v but not m: m̂⁰ = m⁰/(1 − β₁) = g⁰",
            lambda p: p["lr"] * (1 - p["beta1"]) * math.sqrt(_nonzero(p))),
    Mistake("a parameter whose gradient is exactly 0 has m̂ = 0 and does not move (ε keeps 0/0 away): "
            "count only the parameters with a nonzero gradient",
            lambda p: p["lr"] * math.sqrt(p["gradient"].numel())),
    Mistake("each parameter moves by η, but the step is a vector with one such entry per moving parameter: "
            "its length ‖θ¹ − θ⁰‖ is more than η",
            lambda p: p["lr"]),
    Mistake("that adds up the parameters' moves; the length of the step is the Euclidean norm "
            "‖θ¹ − θ⁰‖ = √(Σᵢ (θᵢ¹ − θᵢ⁰)²)",
            lambda p: p["lr"] * _nonzero(p)),
]


def _adam_problem(rng):
    """Adam's settings and a first gradient g⁰ whose nonzero entries span at least two of the five orders of
    magnitude they are drawn from (1e-3 to 1e2), with one to three entries exactly 0; every named mistake is
    5 % away from the answer and from one another."""
    while True:
        n = integer(rng, 5, 12)
        sizes = 10.0 ** (torch.rand(n, generator=rng, dtype=torch.float64) * 5 - 3)   # 1e-3 to 1e2
        signs = torch.where(torch.rand(n, generator=rng) < 0.5, -1.0, 1.0).double()
        gradient = torch.tensor([significant(v, 3) for v in (signs * sizes).tolist()], dtype=torch.float64)
        zeros = torch.randperm(n, generator=rng)[:integer(rng, 1, 3)]
        gradient[zeros] = 0.0
        problem = {"gradient": gradient,
                   "lr": significant(10.0 ** (torch.rand((), generator=rng).item() * 3 - 4), 2),
                   "beta1": uniform(rng, 0.8, 0.95),
                   "beta2": (0.99, 0.995, 0.998, 0.999, 0.9995, 0.9999)[integer(rng, 0, 5)],
                   "eps": 1e-8}
        answers = [first_step_length(problem)] + [mistake.answer(problem) for mistake in _FIRST_STEP_MISTAKES]
        moving = gradient[gradient != 0].abs()
        if len(moving) >= 3 and moving.max() >= 100 * moving.min() and _distinct(answers):
            return Case((problem,))


def same_float(expected, got, rtol, atol):
    """The answer must be a number (a Python float, or a one-element tensor) close to the reference."""
    if isinstance(got, torch.Tensor) and got.numel() == 1 and got.is_floating_point():
        got = float(got.reshape(()).item())
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        hint = "your function returned None: did you forget `return`?" if got is None else "return a number"
        return Difference(f"expected a number, got {describe(got)}", hint)
    if math.isclose(got, expected, rel_tol=rtol, abs_tol=atol):
        return None
    return Difference(f"expected {expected:.6g}, got {got:.6g}")


# --- cases ----------------------------------------------------------------------------------

def _rmsprop_case(rng):
    n = integer(rng, 2, 6)
    sigma = normal(rng, n).abs() + 0.1
    return Case((normal(rng, n), normal(rng, n, scale=2.0), sigma, uniform(rng, 0.01, 0.5), uniform(rng, 0.5, 0.99)))


def _adam_case(rng):
    n = integer(rng, 2, 6)
    beta1, beta2 = uniform(rng, 0.5, 0.95), uniform(rng, 0.9, 0.999)
    return Case((normal(rng, n, scale=0.5), normal(rng, n).abs() * 0.2 + 0.01, integer(rng, 1, 12), beta1, beta2, 1e-8))


def _schedule_case(rng):
    total = integer(rng, 20, 200)
    warmup = integer(rng, 1, total // 2)
    phase = integer(rng, 0, 2)
    step = (integer(rng, 0, warmup - 1), integer(rng, warmup, total), integer(rng, total, total + 20))[phase]
    kwargs = {"lr_min": uniform(rng, 0.0, 0.01)} if coin(rng) else {}
    return Case((step, uniform(rng, 0.01, 1.0), total, warmup), kwargs)


# --- typical mistakes -------------------------------------------------------------------------

def _rmsprop_old_sigma(theta, g, sigma, learning_rate, alpha):
    sigma_new = torch.sqrt(alpha * sigma ** 2 + (1 - alpha) * g ** 2)
    return theta - learning_rate * g / sigma, sigma_new


def _rmsprop_weights_swapped(theta, g, sigma, learning_rate, alpha):
    sigma_new = torch.sqrt((1 - alpha) * sigma ** 2 + alpha * g ** 2)
    return theta - learning_rate * g / sigma_new, sigma_new


def _rmsprop_no_squares(theta, g, sigma, learning_rate, alpha):
    sigma_new = alpha * sigma + (1 - alpha) * g.abs()
    return theta - learning_rate * g / sigma_new, sigma_new


def _rmsprop_no_root(theta, g, sigma, learning_rate, alpha):
    squared = alpha * sigma ** 2 + (1 - alpha) * g ** 2
    return theta - learning_rate * g / squared, squared


def _schedule_from_zero(step, lr, total, warmup, lr_min=0.0):
    if step < warmup:
        return lr * step / warmup
    return warmup_cosine(step, lr, total, warmup, lr_min)


def _schedule_cosine_over_whole_run(step, lr, total, warmup, lr_min=0.0):
    if step < warmup:
        return lr * (step + 1) / warmup
    return schedules.cosine_decay(step, lr, total, lr_min)


def _schedule_keeps_going(step, lr, total, warmup, lr_min=0.0):
    if step < warmup:
        return lr * (step + 1) / warmup
    t = step - warmup
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * t / (total - warmup)))


_PREDICTION = {"kind": "value", "compare": close_number, "rtol": 0.01, "atol": 0.0}   # a number, right within 1 %

EXERCISES = [
    Exercise(
        "adaptive.rmsprop_step", rmsprop_step, draw=_rmsprop_case, compare=same_tensors("theta_new", "sigma_new"),
        fixed=[Case((torch.tensor([1.0, -2.0]), torch.tensor([0.5, 4.0]), torch.tensor([1.0, 1.0]), 0.1, 0.9))],
        mistakes=[
            Mistake("update σ first, then divide by the new σᵗ (the notes' step uses σᵗ, which already includes gᵗ)",
                    _rmsprop_old_sigma),
            Mistake("α weighs the past: σᵗ = √(α·(σᵗ⁻¹)² + (1 − α)·(gᵗ)²), not the other way round",
                    _rmsprop_weights_swapped),
            Mistake("average the squares, then take the root: σ = √(α·σ² + (1 − α)·g²), not α·σ + (1 − α)·|g|",
                    _rmsprop_no_squares),
            Mistake("σ is the root of the average of squares: take torch.sqrt of it", _rmsprop_no_root),
        ],
    ),
    Exercise(
        "adaptive.adam_direction", adam_direction, draw=_adam_case,
        fixed=[Case((torch.tensor([0.3, -0.1, 0.05]), torch.tensor([0.02, 0.01, 0.03]), 3, 0.8, 0.99, 1e-8)),
               Case((torch.tensor([0.1, -0.2]), torch.tensor([0.001, 0.004]), 1, 0.9, 0.999, 1e-8))],
        mistakes=[
            Mistake("you left out the bias correction: divide m by 1 − β₁ᵗ and v by 1 − β₂ᵗ",
                    lambda m, v, t, beta1, beta2, eps: m / (torch.sqrt(v) + eps)),
            Mistake("t counts from 1 here: at t = 1 the correction is 1 − β, so use β ** t, not β ** (t − 1)",
                    lambda m, v, t, beta1, beta2, eps: adam_direction(m, v, t - 1, beta1, beta2, eps)),
            Mistake("section 3(c) numbers the updates from 0, so its 1 − βᵗ⁺¹ is 1 − βᵗ when t counts them "
                    "from 1, as here: after one update (t = 1) the correction divides by 1 − β",
                    lambda m, v, t, beta1, beta2, eps: adam_direction(m, v, t + 1, beta1, beta2, eps)),
            Mistake("correct v too: v̂ = v/(1 − β₂ᵗ) before the square root",
                    lambda m, v, t, beta1, beta2, eps: (m / (1 - beta1 ** t)) / (torch.sqrt(v) + eps)),
            Mistake("correct v before the root: √(v/(1 − β₂ᵗ)), not √v/(1 − β₂ᵗ)",
                    lambda m, v, t, beta1, beta2, eps:
                    (m / (1 - beta1 ** t)) / (torch.sqrt(v) / (1 - beta2 ** t) + eps)),
        ],
    ),
    Exercise(
        "adaptive.warmup_cosine", warmup_cosine, draw=_schedule_case, compare=same_float,
        fixed=[Case((0, 1.0, 100, 10)), Case((9, 1.0, 100, 10)), Case((10, 1.0, 100, 10)), Case((55, 0.5, 100, 10)),
               Case((100, 1.0, 100, 10), {"lr_min": 0.05}), Case((150, 1.0, 100, 10), {"lr_min": 0.05})],
        mistakes=[
            Mistake("the warm-up starts at lr/warmup, not 0: at step t use lr·(t + 1)/warmup (a step of η = 0 is wasted)",
                    _schedule_from_zero),
            Mistake("the cosine starts after the warm-up: use t − warmup out of total − warmup steps",
                    _schedule_cosine_over_whole_run),
            Mistake("the cosine ends at lr_min: lr_min + ½·(lr − lr_min)·(1 + cos(π·t/T))",
                    lambda step, lr, total, warmup, lr_min=0.0: warmup_cosine(step, lr, total, warmup, 0.0)),
            Mistake("after the run (step ≥ total) the learning rate stays at lr_min: clamp the step at total",
                    _schedule_keeps_going),
        ],
    ),
    Exercise(
        "adaptive.largest_stable_lr", largest_stable_lr, draw=_quadratic_problem, mistakes=_STABLE_LR_MISTAKES,
        hint="along each eigenvector of H, one step multiplies the distance to the minimum by (1 − η·λ); "
             "which λ decides whether every such factor stays inside (−1, 1)?", **_PREDICTION),
    Exercise(
        "adaptive.first_step_length", first_step_length, draw=_adam_problem, mistakes=_FIRST_STEP_MISTAKES,
        hint="work out m̂⁰ and v̂⁰ for one parameter from m⁻¹ = v⁻¹ = 0: how far does a parameter move at the "
             "first update, and how does that depend on the size of its gradient?", **_PREDICTION),
    # What warm-up is for (section 4): the first steps are full-size steps resting on a σ (and m̂) built from
    # one or a few noisy gradients.
    choice_exercise("adaptive.why_warmup", "c", {
        "a": "the bias correction does not blow the first steps up: m⁰ and v⁰ start biased towards 0, and "
             "dividing by 1 − β₁ and 1 − β₂ undoes exactly that bias, so m̂⁰ = g⁰, √v̂⁰ = |g⁰| and each "
             "parameter moves by η, no more",
        "b": "that is gradient descent's behaviour, not Adam's: Adam divides each gradient by σ = √v̂, built "
             "from the same gradients, so a large gradient gets a large σ and the step stays about η",
        "d": "the bursts come late in the run, once σ has shrunk on the flat floor; what stops them is the "
             "decay of ηᵗ late in the run (section 4's cosine decay without a warm-up stops them just as "
             "well). Warm-up changes only the first steps",
    }),
]
