"""Chapter 0, the training recipe: hard sigmoids, the sigmoid model, one gradient step, updates per epoch.

References are in :mod:`course_utils.recipe`. Each :class:`Mistake` is a wrong
answer students commonly write; when a result matches it, the verdict names it.
"""
import math

import torch

from ... import recipe
from ..cases import coin, integer, normal, uniform
from ..compare import same_int, same_numbers
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "00_training_recipe"


def _hard_sigmoid_case(rng):
    shape = (integer(rng, 3, 8),) if coin(rng) else (integer(rng, 2, 4), integer(rng, 2, 4))
    return Case((normal(rng, *shape, scale=2.0), uniform(rng, -2, 2), uniform(rng, -1, 1), uniform(rng, -3, 3)))


def _sigmoid_model_case(rng, n=None, d=None, k=None):
    n, d = n or integer(rng, 2, 6), d or integer(rng, 1, 4)
    k = k or integer(rng, 2, 5)
    return Case((normal(rng, n, d), normal(rng, k, d), normal(rng, k), normal(rng, k), uniform(rng, -1, 1)))


def _regression_case(rng, as_tensors=False):
    x = normal(rng, integer(rng, 4, 10), scale=2.0)
    y = (2 * x + 1 + normal(rng, len(x), scale=0.5)).round(decimals=2)
    w, b = uniform(rng, -1, 1), uniform(rng, -1, 1)
    if as_tensors:
        w, b = torch.tensor(w), torch.tensor(b)
    return Case((w, b, x, y, uniform(rng, 0.01, 0.2)))


def _updates_case(rng):
    n, batch_size = integer(rng, 1, 1000), integer(rng, 1, 64)
    return Case((n, batch_size), {"drop_last": coin(rng)} if coin(rng) else {})


def _step(w, b, x, y, learning_rate, gradients):
    dw, db = gradients((b + w * x - y), x)
    return w - learning_rate * dw, b - learning_rate * db


EXERCISES = [
    Exercise(
        "recipe.hard_sigmoid", recipe.hard_sigmoid, draw=_hard_sigmoid_case,
        fixed=[Case((torch.linspace(-1.0, 2.0, 7), 1.0, 0.0, 1.0))],
        mistakes=[
            Mistake("you left out the height c: multiply the difference of the two ReLUs by c",
                    lambda x, c, b, w: torch.relu(b + w * x) - torch.relu(b + w * x - 1)),
            Mistake("a hard sigmoid is flat again after the ramp: subtract ReLU(b + w·x − 1)",
                    lambda x, c, b, w: c * torch.relu(b + w * x)),
            Mistake("that is the smooth sigmoid c·σ(b + w·x); the hard sigmoid is two ReLUs",
                    lambda x, c, b, w: c * torch.sigmoid(b + w * x)),
            Mistake("b is the offset and w the slope: the ramp is in z = b + w·x",
                    lambda x, c, b, w: c * (torch.relu(w + b * x) - torch.relu(w + b * x - 1))),
        ],
    ),
    Exercise(
        "recipe.sigmoid_model", recipe.sigmoid_model, draw=_sigmoid_model_case,
        fixed=[_sigmoid_model_case(torch.Generator().manual_seed(0), n=4, d=3, k=3)],
        mistakes=[
            Mistake("check the orientation of W: it is (k, d), so the hidden layer is x @ W.T + b_hidden",
                    lambda x, W, b_hidden, c, b: b + torch.sigmoid(x @ W + b_hidden) @ c),
            Mistake("you left out the output bias b",
                    lambda x, W, b_hidden, c, b: torch.sigmoid(x @ W.T + b_hidden) @ c),
            Mistake("you left out b_hidden inside the sigmoid",
                    lambda x, W, b_hidden, c, b: b + torch.sigmoid(x @ W.T) @ c),
            Mistake("that is the ReLU model: this one uses torch.sigmoid", recipe.relu_model),
        ],
        error_hints={"mat1 and mat2 shapes cannot be multiplied":
                     "check the orientation of W: it is (k, d), so the hidden layer is x @ W.T + b_hidden"},
    ),
    Exercise(
        "recipe.linear_regression_step", recipe.linear_regression_step, draw=_regression_case,
        fixed=[_regression_case(torch.Generator().manual_seed(0), as_tensors=True)],
        compare=same_numbers("w_new", "b_new"), rtol=1e-4, atol=1e-5,
        mistakes=[
            Mistake("you moved uphill: gradient descent subtracts η·g (w − η·∂L/∂w), it does not add it",
                    lambda *case: _step(*case[:4], -case[4], lambda e, x: (2 * (e * x).mean(), 2 * e.mean()))),
            Mistake("you forgot the factor 2: the derivative of (b + w·x − ŷ)² is 2·(b + w·x − ŷ)·(its derivative)",
                    lambda *case: _step(*case, lambda e, x: ((e * x).mean(), e.mean()))),
            Mistake("the loss is the mean over the examples: use .mean(), not .sum(), in the gradient",
                    lambda *case: _step(*case, lambda e, x: (2 * (e * x).sum(), 2 * e.sum()))),
            Mistake("∂L/∂w carries a factor x and ∂L/∂b does not: ∂L/∂w = mean(2·(b + w·x − ŷ)·x)",
                    lambda *case: _step(*case, lambda e, x: (2 * e.mean(), 2 * (e * x).mean()))),
        ],
    ),
    Exercise(
        "recipe.updates_per_epoch", recipe.updates_per_epoch, draw=_updates_case, compare=same_int,
        fixed=[Case((100, 10)), Case((101, 10)), Case((101, 10), {"drop_last": True}), Case((5, 10)),
               Case((5, 10), {"drop_last": True}), Case((0, 4))],
        mistakes=[
            Mistake("the last, shorter batch still makes an update: round up (math.ceil) unless drop_last=True",
                    lambda n, batch_size, drop_last=False: n // batch_size),
            Mistake("with drop_last=True the last, shorter batch is dropped: round down (//) then",
                    lambda n, batch_size, drop_last=False: math.ceil(n / batch_size)),
            Mistake("n // B + 1 counts one update too many when B divides n: use math.ceil(n / B)",
                    lambda n, batch_size, drop_last=False: n // batch_size + (0 if drop_last else 1)),
        ],
    ),
]
