"""Chapter 2, batch size and momentum: one momentum step, the movement as a weighted sum of past
gradients, and picking the batch size from a measured timing table.

References are in :mod:`course_utils.batching`. Each :class:`Mistake` is a wrong answer
students commonly write; when a result matches it, the verdict names it.
"""
import math

import torch

from ... import batching
from ..cases import integer, normal, uniform
from ..compare import Difference, same_int, same_tensor
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "02_batch_and_momentum"


def same_tensors(*names):
    """A comparison for answers that are a tuple of tensors, e.g. ``same_tensors("theta_new", "movement_new")``."""

    def compare(expected, got, rtol, atol):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            wanted = f"a tuple ({', '.join(names)})"
            hint = ("your function returned None: did you forget `return`?" if got is None
                    else f"return all {len(names)} tensors: `return {', '.join(names)}`")
            return Difference(f"expected {wanted}, got a {type(got).__name__}" if got is not None
                              else f"expected {wanted}, got None", hint)
        for name, want, have in zip(names, expected, got):
            difference = same_tensor(want, have, rtol, atol)
            if difference is not None:
                difference.what = f"{name}: {difference.what}"
                return difference
        return None

    compare.__name__ = f"same_tensors({', '.join(names)})"
    return compare


def _step_case(rng):
    d = integer(rng, 1, 6)
    return Case((normal(rng, d), normal(rng, d, scale=0.5), normal(rng, d), uniform(rng, 0.01, 0.5),
                 uniform(rng, 0.1, 0.95)))


def _gradients_case(rng):
    return Case((normal(rng, integer(rng, 2, 7), integer(rng, 1, 4)), uniform(rng, 0.01, 0.5), uniform(rng, 0.3, 0.95)))


def _timing_case(rng):
    """A timing table shaped like a measured one: flat while the hardware has idle lanes, then linear."""
    batch_sizes = [2 ** k for k in range(integer(rng, 6, 10))]
    overhead, per_example, knee = uniform(rng, 1, 5) * 1e-4, uniform(rng, 1, 5) * 1e-6, 2 ** integer(rng, 2, 6)
    seconds = [round(overhead + per_example * max(b, knee), 7) for b in batch_sizes]
    n = integer(rng, 500, 5000)
    epochs = [math.ceil(n / b) * t for b, t in zip(batch_sizes, seconds)]
    fraction = uniform(rng, 0.0, 1.0)
    limit = max(round(min(epochs) + fraction * (max(epochs) - min(epochs)), 6), min(epochs))   # one fits
    return Case((batch_sizes, seconds, n, limit))


def _pick(batch_sizes, seconds, limit, epoch_time, choose=min):
    fitting = [b for b, t in zip(batch_sizes, seconds) if epoch_time(b, t) <= limit]
    return choose(fitting) if fitting else None


EXERCISES = [
    Exercise(
        "momentum.momentum_step", batching.momentum_step, draw=_step_case,
        fixed=[Case((torch.tensor([1.0, -2.0]), torch.tensor([0.5, 0.0]), torch.tensor([2.0, 1.0]), 0.1, 0.9)),
               Case((torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([3.0]), 0.1, 0.5))],
        compare=same_tensors("theta_new", "movement_new"),
        mistakes=[
            Mistake("the movement goes against the gradient: m' = λ·m − η·g, not λ·m + η·g",
                    lambda theta, m, g, lr, lam: (theta + lam * m + lr * g, lam * m + lr * g)),
            Mistake("move θ by the new movement m' = λ·m − η·g, not by the old m",
                    lambda theta, m, g, lr, lam: (theta + m, lam * m - lr * g)),
            Mistake("the old movement is scaled by λ before adding −η·g: m' = λ·m − η·g",
                    lambda theta, m, g, lr, lam: (theta + m - lr * g, m - lr * g)),
            Mistake("that is PyTorch's form (b' = λ·b + g, θ' = θ − η·b'); the notes' movement m' = λ·m − η·g "
                    "already includes −η, so θ' = θ + m'",
                    lambda theta, m, g, lr, lam: (theta - lr * (lam * m + g), lam * m + g)),
        ],
    ),
    Exercise(
        "momentum.movement_from_gradients", batching.movement_from_gradients, draw=_gradients_case,
        fixed=[Case((torch.tensor([[1.0], [2.0], [4.0]]), 0.1, 0.5)),
               Case((torch.tensor([[1.0, 2.0], [3.0, -1.0]]), 0.1, 0.9))],
        mistakes=[
            Mistake("the newest gradient g^(i−1) gets weight 1 and the oldest g⁰ gets λ^(i−1): "
                    "you gave the old gradients the large weights",
                    lambda G, lr, lam: -lr * (lam ** torch.arange(G.shape[0], dtype=G.dtype) @ G)),
            Mistake("the exponent is i−1−j: the newest gradient has weight λ⁰ = 1, not λ",
                    lambda G, lr, lam: -lr * (lam ** torch.arange(G.shape[0], 0, -1, dtype=G.dtype) @ G)),
            Mistake("m^i = −η Σ λ^(i−1−j) g^j: you left out the factor −η (that sum is PyTorch's velocity b^i)",
                    lambda G, lr, lam: lam ** torch.arange(G.shape[0] - 1, -1, -1, dtype=G.dtype) @ G),
            Mistake("without the weights λ^(i−1−j) every past gradient counts fully: multiply g^j by λ^(i−1−j)",
                    lambda G, lr, lam: -lr * G.sum(dim=0)),
        ],
    ),
    Exercise(
        "momentum.pick_batch_size", batching.pick_batch_size, draw=_timing_case, compare=same_int,
        fixed=[Case(([1, 10, 100, 1000], [1e-3, 1.1e-3, 1.5e-3, 1.8e-2], 1000, 0.02)),
               Case(([1, 8, 64, 512], [2e-4, 2e-4, 4e-4, 3e-3], 1000, 0.0062)),
               Case(([1, 4, 16, 64], [1e-3, 1e-3, 1e-3, 5e-3], 100, 0.03))],
        mistakes=[
            Mistake("take the smallest batch size that fits the time, not the largest: a smaller batch makes more "
                    "updates per epoch, and counted in epochs small batches get further",
                    lambda bs, ts, n, limit: _pick(bs, ts, limit, lambda b, t: math.ceil(n / b) * t, max)),
            Mistake("an epoch is ⌈N/B⌉ updates: the last, shorter batch makes an update too (math.ceil, not //)",
                    lambda bs, ts, n, limit: _pick(bs, ts, limit, lambda b, t: (n // b) * t)),
            Mistake("the limit is on one epoch, ⌈N/B⌉ updates of t(B) each, not on one update",
                    lambda bs, ts, n, limit: _pick(bs, ts, limit, lambda b, t: t)),
            Mistake("not simply the fastest epoch: the smallest batch size whose epoch fits the limit",
                    lambda bs, ts, n, limit: min(zip(bs, ts), key=lambda bt: math.ceil(n / bt[0]) * bt[1])[0]),
        ],
    ),
]
