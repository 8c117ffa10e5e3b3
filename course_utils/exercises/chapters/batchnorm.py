"""Chapter 5, batch normalisation: the training-mode forward pass, the moving averages, the eval-mode output.

References are in :mod:`course_utils.batchnorm`. Each :class:`Mistake` is a wrong answer students
commonly write; when a result matches it, the verdict names it. Cases use a large ε now and then
(so that forgetting ε shows) and p away from ½ (so that swapping p and 1 − p shows).
"""
import torch

from ... import batchnorm
from ..cases import coin, integer, normal, uniform
from ..compare import Difference, same_tensor
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "05_batch_normalization"


def same_tensors(*names):
    """A comparison for answers that are a tuple of tensors, e.g. ``same_tensors("running_mean", "running_var")``."""

    def compare(expected, got, rtol, atol):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            kind = "None" if got is None else type(got).__name__
            hint = ("your function returned None: did you forget `return`?" if got is None
                    else f"return both: `return {', '.join(names)}`")
            return Difference(f"expected a tuple ({', '.join(names)}), got {kind}", hint)
        for name, want, have in zip(names, expected, got):
            difference = same_tensor(want, have, rtol, atol)
            if difference is not None:
                return Difference(f"{name}: {difference.what}", difference.hint)
        return None

    compare.__name__ = f"same_tensors({', '.join(names)})"
    return compare


def _features(rng, batch=None, features=None):
    batch, features = batch or integer(rng, 2, 8), features or integer(rng, 1, 5)
    scale = normal(rng, features).abs() * 2 + 0.5
    return normal(rng, batch, features) * scale + normal(rng, features, scale=3.0)


def _eps(rng):
    return uniform(rng, 0.05, 0.5) if coin(rng) else 1e-5


def _train_case(rng):
    z = _features(rng)
    c = z.shape[1]
    return Case((z, normal(rng, c).abs() + 0.5, normal(rng, c), _eps(rng)))


def _running_case(rng):
    z = _features(rng)
    c = z.shape[1]
    return Case((normal(rng, c), normal(rng, c).abs() + 0.5, z, uniform(rng, 0.6, 0.99)))


def _eval_case(rng):
    z = _features(rng, batch=integer(rng, 1, 6))
    c = z.shape[1]
    return Case((z, normal(rng, c, scale=2.0), normal(rng, c).abs() * 3 + 0.5, normal(rng, c).abs() + 0.5,
                 normal(rng, c), _eps(rng)))


_Z = torch.tensor([[1.0, 10.0, -2.0], [2.0, 30.0, -2.5], [4.0, 20.0, -1.0], [5.0, 0.0, -3.5]])
_GAMMA, _BETA = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, -1.0, 3.0])


def _biased_std(z, eps):
    return torch.sqrt(z.var(dim=0, unbiased=False) + eps)


EXERCISES = [
    Exercise(
        "batchnorm.batch_norm_train", batchnorm.batch_norm_train, draw=_train_case,
        fixed=[Case((_Z, _GAMMA, _BETA, 0.5)), Case((_Z[:2], _GAMMA, _BETA, 1e-5))],
        mistakes=[
            Mistake("normalise with the biased variance, mean((z − μ)²) over the batch: "
                    "z.var(dim=0, unbiased=False); the unbiased one (÷ (B − 1)) is only for the running variance",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / torch.sqrt(z.var(0) + eps) + beta),
            Mistake("you forgot ε: divide by √(v + ε), which stays finite when a feature is constant over the batch",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / z.std(0, unbiased=False) + beta),
            Mistake("ε goes under the square root: σ = √(v + ε), not √v + ε",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / (z.std(0, unbiased=False) + eps) + beta),
            Mistake("the statistics are per feature, over the examples of the batch: reduce over dim=0 (the rows), "
                    "not dim=1",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(1, keepdim=True))
                    / torch.sqrt(z.var(1, unbiased=False, keepdim=True) + eps) + beta),
            Mistake("you left out γ and β: the output is γ ⊙ z̃ + β",
                    lambda z, gamma, beta, eps: (z - z.mean(0)) / _biased_std(z, eps)),
            Mistake("the output is γ ⊙ z̃ + β: γ scales, β shifts (you swapped them)",
                    lambda z, gamma, beta, eps: beta * (z - z.mean(0)) / _biased_std(z, eps) + gamma),
        ],
    ),
    Exercise(
        "batchnorm.update_running_stats", batchnorm.update_running_stats, draw=_running_case,
        fixed=[Case((torch.zeros(3), torch.ones(3), _Z, 0.9))],
        compare=same_tensors("running_mean", "running_var"),
        mistakes=[
            Mistake("p weighs the old average: μ̄ ← p·μ̄ + (1 − p)·μ. You swapped p and 1 − p; "
                    "PyTorch's momentum is 1 − p, the weight of the *new* batch",
                    lambda m, v, z, p: ((1 - p) * m + p * z.mean(0), (1 - p) * v + p * z.var(0))),
            Mistake("the running variance uses the unbiased batch variance, divided by B − 1 "
                    "(z.var(dim=0), unbiased=True), as PyTorch does",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(0), p * v + (1 - p) * z.var(0, unbiased=False))),
            Mistake("average the variance, not the standard deviation: running_var holds a variance",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(0), p * v + (1 - p) * z.std(0))),
            Mistake("the statistics are per feature, over the examples of the batch: reduce over dim=0",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(1).mean(), p * v + (1 - p) * z.var(1).mean())),
        ],
    ),
    Exercise(
        "batchnorm.batch_norm_eval", batchnorm.batch_norm_eval, draw=_eval_case,
        fixed=[Case((_Z, torch.tensor([2.0, 15.0, -2.0]), torch.tensor([4.0, 100.0, 1.0]), _GAMMA, _BETA, 0.5)),
               Case((_Z[:1], torch.tensor([2.0, 15.0, -2.0]), torch.tensor([4.0, 100.0, 1.0]), _GAMMA, _BETA, 1e-5))],
        mistakes=[
            Mistake("in evaluation mode use the moving averages running_mean and running_var, not the statistics "
                    "of the batch: a test batch may hold one example",
                    lambda z, m, v, gamma, beta, eps: batchnorm.batch_norm_train(z, gamma, beta, eps)),
            Mistake("running_var is a variance: divide by its square root, √(v̄ + ε)",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / (v + eps) + beta),
            Mistake("you forgot ε: divide by √(v̄ + ε), exactly as in training",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / torch.sqrt(v) + beta),
            Mistake("ε goes under the square root: √(v̄ + ε), not √v̄ + ε",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / (torch.sqrt(v) + eps) + beta),
            Mistake("you left out γ and β: the output is γ ⊙ z̃ + β in evaluation mode too",
                    lambda z, m, v, gamma, beta, eps: (z - m) / torch.sqrt(v + eps)),
        ],
    ),
]
