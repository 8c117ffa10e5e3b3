"""Chapter 2, batch size and momentum: one momentum step, the movement as a weighted sum of past
gradients, picking the batch size from a measured timing table, the rate of momentum in a ravine
(a prediction), the failing setting behind a training record (a diagnosis) and what a bigger batch
changes (a choice).

References are in :mod:`course_utils.experiments.momentum`, except the three written out here (the prediction,
the diagnosis and the choice). Each :class:`Mistake` is a wrong answer students commonly write;
when a result matches it, the verdict names it.
"""
import math

import torch

from ...experiments import momentum as experiments
from ..cases import coin, integer, normal, record_case, uniform
from .. import compare as comparisons
from ..compare import Difference, close_number, same_int, same_label
from ..registry import Case, Exercise, MadeOnUse, Mistake, choice_exercise, label_mistakes

NOTEBOOK = "02_batch_and_momentum"


def same_tensors(*names):
    """A comparison for answers that are a tuple of tensors, e.g. ``same_tensors("theta_new", "movement_new")``:
    :func:`..compare.same_tensors`, with an answer that is no such tuple named by its type."""
    each = comparisons.same_tensors(*names)

    def compare(expected, got, rtol, atol):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            wanted = f"a tuple ({', '.join(names)})"
            hint = ("your function returned None: did you forget `return`?" if got is None
                    else f"return all {len(names)} tensors: `return {', '.join(names)}`")
            return Difference(f"expected {wanted}, got a {type(got).__name__}" if got is not None
                              else f"expected {wanted}, got None", hint)
        return each(expected, got, rtol, atol)

    compare.__name__ = each.__name__
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


# --- a prediction: the rate of momentum in a ravine ---------------------------------------------

def ravine_rate(problem):
    """The factor by which momentum shrinks the error per update in the long run on L = a·θ₁² + b·θ₂²:
    the larger of the two directions' rates max|z|, with curvature h = 2a along the floor and 2b across."""
    return max(_direction_rates(problem))


def _direction_rates(p, curvature=lambda coefficient: 2 * coefficient):
    return [experiments.momentum_rate(p["learning_rate"], p["momentum"], curvature(p[k])) for k in ("a", "b")]


def _coefficient_as_curvature(p):
    return max(_direction_rates(p, curvature=lambda coefficient: coefficient))


def _faster_direction(p):
    return min(_direction_rates(p))


def _gradient_descent_rate(p):
    return max(experiments.gradient_descent_rate(p["learning_rate"], 2 * p[k]) for k in ("a", "b"))


def _square_root_of_momentum(p):
    return math.sqrt(p["momentum"])


_RAVINE_MISTAKES = (_coefficient_as_curvature, _faster_direction, _gradient_descent_rate, _square_root_of_momentum)


def _ravine_problem(rng):
    """A ravine, η and λ; in about half the problems the floor is the slow direction (η small for it), in the
    others the wall-to-wall direction (η h across close to momentum's limit 2(1 + λ)). The answer and every
    named mistake are at least 3 % apart, and the slow direction's two eigenvalues are apart (so a run shows its rate)."""
    while True:
        a = uniform(rng, 0.05, 0.3)
        b = round(a * uniform(rng, 8.0, 30.0), 2)
        lam = uniform(rng, 0.3, 0.9)
        low, high = (0.93, 0.99) if coin(rng) else (0.1, 0.9)
        problem = {"a": a, "b": b, "learning_rate": round(uniform(rng, low, high) * (1 + lam) / b, 3), "momentum": lam}
        floor, across = _direction_rates(problem)
        rate = max(floor, across)
        if not 0.6 < rate < 0.985 or abs(floor - across) < 0.03 * rate:
            continue
        values = [rate] + [mistake(problem) for mistake in _RAVINE_MISTAKES]
        if any(abs(x - y) < 0.03 * rate for i, x in enumerate(values) for y in values[i + 1:]):
            continue
        z1, z2 = experiments.momentum_eigenvalues(problem["learning_rate"], lam, 2 * (a if floor > across else b))
        if abs(z1 - z2) > 0.1:
            return Case((problem,))


# --- a diagnosis: which setting failed, from the training record -----------------------------------

LABELS = experiments.OPTIMISER_FAILURES


def diagnose_run(record):
    """The failing setting behind a record of the loss after each update: a loss that ends above where it
    started diverged (learning rate too large); a loss that changes direction at nearly every other update
    jitters (batch too small); a smooth loss still above half its start creeps (learning rate too small);
    a smooth loss that swings up and down in waves while falling far rings (momentum too high)."""
    loss = record["loss"]
    if not all(math.isfinite(value) for value in loss) or loss[-1] > loss[0]:
        return "learning rate too large"
    changes = [after - before for before, after in zip(loss, loss[1:])]
    turns = sum((c > 0) != (d > 0) for c, d in zip(changes, changes[1:])) / (len(changes) - 1)
    if turns > 0.4:
        return "batch too small"
    if loss[-1] > 0.5 * loss[0]:
        return "learning rate too small"
    return "momentum too high"


def _features(loss):
    changes = [after - before for before, after in zip(loss, loss[1:])]
    turns = sum((c > 0) != (d > 0) for c, d in zip(changes, changes[1:])) / (len(changes) - 1)
    return loss[-1] / loss[0], turns, sum(c > 0 for c in changes)


def _clear(failure, record):
    """True when the record shows its failure with a margin: any rule in the spirit of the chapter names it."""
    end, turns, rises = _features(record["loss"])
    return {"learning rate too large": end > 100,
            "learning rate too small": end > 0.55 and rises == 0,
            "momentum too high": end < 0.1 and turns < 0.3 and rises >= 10,
            "batch too small": end < 0.1 and turns > 0.48}[failure]


def training_record(rng, failure):
    """A record of ``failure`` (one of LABELS), redrawn until it shows its failure clearly."""
    while True:
        record = experiments.failing_run(failure, rng)
        if _clear(failure, record):
            return record


_LARGE, _SMALL, _MOMENTUM, _BATCH = LABELS

_DIAGNOSE_REASONS = {
    (_LARGE, _SMALL): "the loss did not fall slowly, it rose: it ends far above where it started. Steps too small "
                      "make the loss fall a little at every update; steps too large overshoot the minimum by more "
                      "each time",
    (_LARGE, _MOMENTUM): "too much momentum makes the loss swing, but the swings die out and it ends far below its "
                         "start; this loss grows at every update and ends far above it: the learning rate is past "
                         "the limit (η·h > 2(1 + λ) across the ravine)",
    (_LARGE, _BATCH): "batch noise makes the loss jitter around a level below the start; this loss grows at every "
                      "update without a single dip, and ends far above its start: it diverges, which noise does not "
                      "do",
    (_SMALL, _LARGE): "the loss fell, at every update: a learning rate too large makes it rise or bounce",
    (_SMALL, _MOMENTUM): "the loss never went up: too much momentum shows as swings, the loss rising for several "
                         "updates and falling again; this one just creeps down",
    (_SMALL, _BATCH): "the loss fell smoothly at every update, without a single jitter: small batches make it go "
                      "up and down from one update to the next. It is slow, not noisy: after all the updates it is "
                      "still above half its start",
    (_MOMENTUM, _LARGE): "the loss rises again and again, but each swing peaks lower and it ends far below its start: "
                         "a learning rate too large makes it end above its start",
    (_MOMENTUM, _SMALL): "the loss fell far overall; it went up at times, which a too-small learning rate never does "
                         "(it falls a little at every update): these are momentum's swings",
    (_MOMENTUM, _BATCH): "these ups and downs are smooth waves: the loss rises for several updates in a row, then falls "
                         "for several, and the waves die out. That is momentum carrying θ past the valley floor and "
                         "back; batch noise changes direction at nearly every other update",
    (_BATCH, _LARGE): "the loss ends far below its start; it jitters around a level instead of growing: noise, "
                      "not divergence",
    (_BATCH, _SMALL): "the loss fell fast at first, so the steps are not too small; then it stopped falling and "
                      "jitters from one update to the next around a level: the noise of small batches holds it there",
    (_BATCH, _MOMENTUM): "these ups and downs change direction at nearly every update, at random, and they do not die "
                         "out: the noise of small batches. Momentum's swings are smooth waves over several updates "
                         "that shrink as the run goes on",
}

#: One record of each failure, first in every check and grading (so every label is seen), made on first use.
FIXED_RECORDS = MadeOnUse(lambda: [Case((training_record(torch.Generator().manual_seed(seed), failure),))
                                   for seed, failure in enumerate(LABELS)])


EXERCISES = [
    Exercise(
        "momentum.momentum_step", experiments.momentum_step, draw=_step_case,
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
        "momentum.movement_from_gradients", experiments.movement_from_gradients, draw=_gradients_case,
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
        "momentum.pick_batch_size", experiments.pick_batch_size, draw=_timing_case, compare=same_int,
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
    Exercise(
        "momentum.ravine_rate", ravine_rate, draw=_ravine_problem, kind="value", compare=close_number,
        rtol=0.01, atol=0.0,
        hint="after many updates, each direction's error has shrunk by its own rate per update, max|z| of the "
             "roots of z² − (1 + λ − η·h)·z + λ = 0; what is left is the error of the direction that shrinks "
             "slowest",
        mistakes=[
            Mistake("the curvature of a·θ² is its second derivative, h = 2a, not a: use h = 2a along the floor "
                    "and 2b across", _coefficient_as_curvature),
            Mistake("that is the rate of the faster direction; after many updates its error is gone and the "
                    "slower direction's is all that is left: the larger of the two rates sets the pace",
                    _faster_direction),
            Mistake("that is plain gradient descent's rate |1 − η·h|; with momentum the error follows "
                    "θ^(i+1) = (1 + λ − η·h)·θ^i − λ·θ^(i−1), whose rate is max|z| of the roots of "
                    "z² − (1 + λ − η·h)·z + λ = 0", _gradient_descent_rate),
            Mistake("√λ is the rate only while the roots are complex, (1 − √λ)² < η·h < (1 + √λ)²; in the slow "
                    "direction here they are real, and the larger root is bigger than √λ",
                    _square_root_of_momentum),
        ],
    ),
    Exercise(
        "momentum.diagnose_run", diagnose_run, draw=record_case(training_record, LABELS), fixed=FIXED_RECORDS,
        compare=same_label(LABELS), visible_random_cases=6, hidden_random_cases=12,
        mistakes=label_mistakes(diagnose_run, _DIAGNOSE_REASONS),
    ),
    choice_exercise("momentum.bigger_batch", "b", {
        "a": "the time of an update does not grow with B while the parallel lanes still have room (up to about "
             "a thousand on the lecture's GPU): each update takes as long as before, and there are ten times "
             "fewer of them",
        "c": "an epoch's time is its number of updates times the time of one; the examples are not processed "
             "one after another, so ten times fewer updates of the same time make a ten times shorter epoch",
        "d": "a more accurate gradient does not make up for ten times fewer updates: counted in epochs, large "
             "batches are behind (section 3); counted in updates they catch up",
    }),
]
