"""Chapter 4, classification: a stable softmax, cross-entropy from logits, the N a bound needs.

References are in :mod:`course_utils.classification`. Each :class:`Mistake` is a wrong
answer students commonly write; when a result matches it, the verdict names it. Results
that overflow (NaN or inf where the reference is finite) get a hint of their own, since a
NaN never "matches" anything.
"""
import math

import torch

from ... import classification as cl
from ..cases import coin, integer, normal, uniform
from ..compare import Difference, same_int, same_tensor
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "04_classification"

OVERFLOW_HINT = ("exp overflowed: exp(y) is inf for y above about 89 in float32, and inf/inf is NaN. "
                 "Subtract each row's max first: exp(y − max y) gives the same softmax and never overflows")
LOG_OF_ZERO_HINT = ("a probability underflowed to 0 and its log is −inf: do not take log(softmax(y)); "
                    "compute −y_c + log Σ exp(y) with log-sum-exp (max y + log Σ exp(y − max y))")


def _overflow_aware(expected, got, rtol, atol):
    """same_tensor, with a specific hint when the answer is NaN or inf where the reference is finite.

    ``expected`` is only non-finite when a known mistake that overflows is compared with the
    answer: then NaN matches NaN, so that mistake can be recognised and named.
    """
    if isinstance(expected, torch.Tensor) and expected.is_floating_point() and not torch.isfinite(expected).all():
        same = (isinstance(got, torch.Tensor) and got.shape == expected.shape and got.dtype == expected.dtype
                and torch.allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True))
        return None if same else Difference("the answer differs from this known mistake")
    difference = same_tensor(expected, got, rtol, atol)
    if (difference is not None and isinstance(got, torch.Tensor) and got.shape == expected.shape
            and got.is_floating_point() and torch.isfinite(expected).all() and not torch.isfinite(got).all()):
        difference.hint = OVERFLOW_HINT if torch.isnan(got).any() else LOG_OF_ZERO_HINT
    return difference


# --- references, with exactly the arguments the student's functions take ----------------------


def stable_softmax(logits):
    """softmax over the last dimension, computed as exp(y − max y) / Σ exp(y − max y)."""
    return cl.softmax(logits, dim=-1)


def cross_entropy(logits, targets):
    """Mean over the examples of −y_c + log Σⱼ exp(yⱼ), for logits (N, C) and class indices (N,)."""
    return cl.cross_entropy(logits, targets)


# --- cases ---------------------------------------------------------------------------------


def _logits_case(rng):
    n, c = integer(rng, 2, 5), integer(rng, 2, 6)
    scale = 300.0 if coin(rng) else 3.0     # every other case has logits big enough to overflow exp
    return Case((normal(rng, n, c, scale=scale),))


def _cross_entropy_case(rng):
    (logits,) = _logits_case(rng).args
    return Case((logits, torch.randint(0, logits.shape[1], (logits.shape[0],), generator=rng)))


def _samples_case(rng):
    return Case((uniform(rng, 0.02, 0.3), uniform(rng, 0.01, 0.2), int(4 ** integer(rng, 1, 6))))


# --- typical wrong answers ---------------------------------------------------------------------


def _naive_softmax(logits):
    e = logits.exp()
    return e / e.sum(dim=-1, keepdim=True)


def _naive_cross_entropy(logits, targets):
    return -_naive_softmax(logits)[torch.arange(len(targets)), targets].log().mean()


def _softmax_over_columns(logits):
    return cl.softmax(logits, dim=0)


def _softmax_global_max(logits):
    e = (logits - logits.max()).exp()
    return e / e.sum(dim=-1, keepdim=True)


def _softmax_twice(logits):
    return cl.softmax(cl.softmax(logits))


def _cross_entropy_sum(logits, targets):
    return cl.cross_entropy(logits, targets, reduction="sum")


def _cross_entropy_after_softmax(logits, targets):
    return cl.cross_entropy(cl.softmax(logits), targets)


def _cross_entropy_no_minus(logits, targets):
    return -cl.cross_entropy(logits, targets)


def _cross_entropy_wrong_index(logits, targets):
    return -torch.log_softmax(logits, dim=1)[:, targets].mean()


def _cross_entropy_log_of_softmax(logits, targets):
    return -cl.softmax(logits).log()[torch.arange(len(targets)), targets].mean()


EXERCISES = [
    Exercise(
        "classification.stable_softmax", stable_softmax, draw=_logits_case, compare=_overflow_aware,
        fixed=[Case((torch.tensor([[3.0, 1.0, -3.0]]),)),
               Case((torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.5, -1.0]]),)),
               Case((torch.tensor([[1000.0, 0.0, -1000.0], [1.0, 2.0, 3.0]]),)),
               Case((torch.tensor([[900.0, 899.0], [0.0, 1.0]]),))],
        mistakes=[
            Mistake(OVERFLOW_HINT, _naive_softmax),
            Mistake("softmax was applied twice: the values are the softmax of the right probabilities",
                    _softmax_twice),
            Mistake("normalise each row (each example) over its classes: sum over dim=-1, not dim=0",
                    _softmax_over_columns),
            Mistake("subtract each row's own max (max(dim=-1, keepdim=True)), not the max of the whole tensor: "
                    "a row far below it underflows to 0/0",
                    _softmax_global_max),
        ],
        error_hints={"must match the size": "keep the reduced dimension so the max broadcasts against each row: "
                                            "logits.max(dim=-1, keepdim=True).values"},
    ),
    Exercise(
        "classification.cross_entropy", cross_entropy, draw=_cross_entropy_case, compare=_overflow_aware,
        fixed=[Case((torch.tensor([[3.0, 1.0, -3.0]]), torch.tensor([0]))),
               Case((torch.tensor([[2.0, 0.0, 1.0], [0.5, 1.5, -1.0]]), torch.tensor([2, 1]))),
               Case((torch.tensor([[1e4, 0.0, -1e4], [-1e4, 1e4, 0.0]]), torch.tensor([0, 1]))),
               Case((torch.tensor([[1e4, 0.0], [0.0, 1.0]]), torch.tensor([1, 1])))],
        mistakes=[
            Mistake(LOG_OF_ZERO_HINT, _cross_entropy_log_of_softmax),   # before the naive one: both give inf on case 4
            Mistake(OVERFLOW_HINT, _naive_cross_entropy),
            Mistake("the loss is the mean over the examples, L = (1/N) Σₙ eₙ: use .mean(), not .sum()",
                    _cross_entropy_sum),
            Mistake("you applied softmax before the cross-entropy: cross_entropy takes logits and contains "
                    "the softmax, so that is a second softmax", _cross_entropy_after_softmax),
            Mistake("cross-entropy is −ln y′_c, a positive number: you left out the minus sign",
                    _cross_entropy_no_minus),
            Mistake("pick one logit per example, logits[torch.arange(N), targets]; logits[:, targets] "
                    "picks every target's column for every example", _cross_entropy_wrong_index),
        ],
    ),
    Exercise(
        "classification.samples_needed", cl.samples_needed, draw=_samples_case, compare=same_int,
        fixed=[Case((0.1, 0.05, 1)), Case((0.1, 0.05, 1000)), Case((0.05, 0.01, 64)), Case((0.25, 0.1, 4))],
        mistakes=[
            Mistake("round up with math.ceil: N must be at least ln(2|H|/p)/(2ε²), and int() or // round down",
                    lambda eps, p_bad, h_size: int(math.log(2 * h_size / p_bad) / (2 * eps ** 2))),
            Mistake("Hoeffding's bound is 2·exp(−2Nε²): the 2 in front gives ln(2|H|/p), not ln(|H|/p)",
                    lambda eps, p_bad, h_size: math.ceil(math.log(h_size / p_bad) / (2 * eps ** 2))),
            Mistake("the exponent is −2Nε²: divide by 2ε², not by ε²",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 * h_size / p_bad) / eps ** 2)),
            Mistake("the union bound multiplies by |H|: the logarithm is ln(2|H|/p)",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 / p_bad) / (2 * eps ** 2))),
            Mistake("ε is squared in the bound: divide by 2ε², not by 2ε",
                    lambda eps, p_bad, h_size: math.ceil(math.log(2 * h_size / p_bad) / (2 * eps))),
        ],
    ),
]
