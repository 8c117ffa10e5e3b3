"""Small helpers to draw random exercise cases from a ``torch.Generator``.

Numbers are rounded to two decimals so that a case printed in a verdict can be
typed back into a notebook and gives the same result.
"""
import torch


def normal(rng, *shape, scale=1.0):
    """A float32 tensor of N(0, scale²) values, rounded to two decimals."""
    return (torch.randn(*shape, generator=rng) * scale).round(decimals=2)


def uniform(rng, low, high):
    """A Python float drawn uniformly from [low, high), rounded to two decimals."""
    return round(low + (high - low) * torch.rand((), generator=rng).item(), 2)


def integer(rng, low, high):
    """A Python int drawn uniformly from low to high, both included."""
    return int(torch.randint(low, high + 1, (), generator=rng))


def coin(rng):
    """True or False, each with probability ½."""
    return bool(torch.rand((), generator=rng) < 0.5)
