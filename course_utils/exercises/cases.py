"""Small helpers to draw random exercise cases from a ``torch.Generator``.

Numbers are rounded to two decimals so that a case printed in a verdict can be
typed back into a notebook and gives the same result.
"""
import hashlib
import hmac

import torch

from .registry import Case


def hidden_cases(exercise, key):
    """The grader's cases for ``exercise``: its fixed cases, then random ones from a seed made of the grading
    key and the exercise id (HMAC-SHA256). The same key gives the same cases on every run, on every machine
    and for every student; without the key (kept by the instructor) nobody can tell what they are."""
    digest = hmac.new(bytes(key), exercise.id.encode(), hashlib.sha256).digest()
    seed = int.from_bytes(digest[:8], "little") >> 1
    return exercise._cases(seed, exercise.hidden_random_cases)


def normal(rng, *shape, scale=1.0):
    """A float32 tensor of N(0, scale²) values, rounded to two decimals."""
    return (torch.randn(*shape, generator=rng) * scale).round(decimals=2)


def uniform(rng, low, high):
    """A Python float drawn uniformly from [low, high), rounded to two decimals."""
    return round(low + (high - low) * torch.rand((), generator=rng).item(), 2)


def integer(rng, low, high):
    """A Python int drawn uniformly from low to high, both included."""
    return int(torch.randint(low, high + 1, (), generator=rng))


def significant(value, digits):
    """``value`` rounded to ``digits`` significant digits, so that it reads well in a verdict and can be typed
    back in."""
    return float(f"{value:.{digits}g}")


def coin(rng):
    """True or False, each with probability ½."""
    return bool(torch.rand((), generator=rng) < 0.5)


def record_case(make, labels):
    """draw(rng) for a diagnosis: the case ``make(rng, label)`` for a label drawn uniformly from ``labels``."""
    return lambda rng: Case((make(rng, labels[integer(rng, 0, len(labels) - 1)]),))
