r"""Chapter 0, the training recipe: a function with unknowns, a loss, optimisation.

Symbols as in the notes: input :math:`x`, label :math:`\hat y`, parameters
:math:`\theta` (here :math:`w, b, c, W`), learning rate :math:`\eta`.

A hard sigmoid (a ramp from 0 up to :math:`c`) is two ReLUs:

.. math:: c\,[\max(0, b + wx) - \max(0, b + wx - 1)]

Any piecewise-linear curve is a constant plus a sum of hard sigmoids, and a
smooth sigmoid :math:`c\,\sigma(b + wx)` approximates each one, which gives the
model of the notes in matrix form

.. math:: y = b + c^\top \sigma(\mathbf{b} + W x).

One step of gradient descent on the mean squared error
:math:`L(w, b) = \frac1N \sum_n (b + w x_n - \hat y_n)^2` is

.. math:: w \leftarrow w - \eta\,\frac{\partial L}{\partial w}, \qquad
          b \leftarrow b - \eta\,\frac{\partial L}{\partial b}.

In practice the :math:`N` examples are split into batches of :math:`B`; each batch
gives one *update*, and one pass over all batches is an *epoch*
(:math:`\lceil N/B \rceil` updates), after which the examples are shuffled again.
"""
import math

import numpy as np
import torch
from torch import nn


def hard_sigmoid(x, c, b, w):
    """c·[ReLU(b + w·x) − ReLU(b + w·x − 1)]: 0, then a ramp, then flat at c."""
    z = b + w * x
    return c * (torch.relu(z) - torch.relu(z - 1))


def sigmoid_model(x, W, b_hidden, c, b):
    """y = b + cᵀσ(b_hidden + W x) for a batch: x (N, d), W (k, d), b_hidden (k,), c (k,) → y (N,)."""
    return b + torch.sigmoid(x @ W.T + b_hidden) @ c


def relu_model(x, W, b_hidden, c, b):
    """The same model with ReLU in place of the sigmoid: y = b + cᵀ ReLU(b_hidden + W x)."""
    return b + torch.relu(x @ W.T + b_hidden) @ c


def mse_gradients(w, b, x, y):
    """∂L/∂w and ∂L/∂b of L = mean((b + w·x − y)²), written out by hand."""
    error = b + w * x - y
    return 2 * (error * x).mean(), 2 * error.mean()


def linear_regression_step(w, b, x, y, learning_rate):
    """One gradient-descent step on the MSE of y ≈ b + w·x; returns the new (w, b)."""
    dw, db = mse_gradients(w, b, x, y)
    return w - learning_rate * dw, b - learning_rate * db


def updates_per_epoch(n_examples, batch_size, drop_last=False):
    """How many parameter updates one epoch makes: ⌈N / B⌉ (⌊N / B⌋ when the last short batch is dropped)."""
    if n_examples < 0 or batch_size < 1:
        raise ValueError(f"need n_examples ≥ 0 and batch_size ≥ 1, got {n_examples} and {batch_size}")
    return n_examples // batch_size if drop_last else math.ceil(n_examples / batch_size)


# --- Curves from pieces: hard sigmoids, sigmoids, ReLUs -------------------------------------

def sigmoid_curve(x, c, b, w):
    """One sigmoid of the notes: c·σ(b + w·x) = c / (1 + e^{−(b + w·x)})."""
    return c * torch.sigmoid(b + w * x)


def matching_sigmoid(c, b, w):
    """The (c, b, w) of the sigmoid that stands in for hard_sigmoid(x, c, b, w).

    Same height c, same centre (where b + w·x = ½) and same slope there (c·w): c·σ(4(b + w·x) − 2).
    """
    return c, 4 * b - 2, 4 * w


def piecewise_linear(x, knots_x, knots_y):
    """The curve through the points (knots_x[i], knots_y[i]), joined by straight lines, flat beyond the ends."""
    knots_x = torch.as_tensor(knots_x, dtype=torch.float64)
    knots_y = torch.as_tensor(knots_y, dtype=torch.float64)
    y = torch.full_like(torch.as_tensor(x, dtype=torch.float64), float(knots_y[0]))
    for c, b, w in zip(*hard_sigmoid_pieces(knots_x, knots_y)[1:]):
        y = y + hard_sigmoid(x, c, b, w)
    return y


def hard_sigmoid_pieces(knots_x, knots_y):
    """A piecewise-linear curve as constant + Σᵢ hard_sigmoid(x, cᵢ, bᵢ, wᵢ): returns (constant, c, b, w).

    Segment i runs from knots_x[i] to knots_x[i+1] and rises by cᵢ = knots_y[i+1] − knots_y[i]; its ramp
    b + w·x goes from 0 to 1 over the segment, so w = 1 / (x_{i+1} − x_i) and b = −w·x_i.
    """
    knots_x = torch.as_tensor(knots_x, dtype=torch.float64)
    knots_y = torch.as_tensor(knots_y, dtype=torch.float64)
    if knots_x.ndim != 1 or knots_x.shape != knots_y.shape or len(knots_x) < 2:
        raise ValueError("knots_x and knots_y must be 1-D, of the same length ≥ 2")
    if not (knots_x.diff() > 0).all():
        raise ValueError("knots_x must be strictly increasing")
    w = 1 / knots_x.diff()
    return knots_y[0], knots_y.diff(), -w * knots_x[:-1], w


def fixed_units(x, n_pieces, activation, x_range):
    """The hidden outputs a (N, k) of units placed by hand: n_pieces equal ramps tiling x_range.

    ``activation`` is "hard sigmoid" (k = n), "sigmoid" (their matching sigmoids, k = n) or
    "ReLU" (the two ReLUs of each hard sigmoid, k = 2n).
    """
    lo, hi = x_range
    knots = torch.linspace(lo, hi, n_pieces + 1, dtype=torch.float64)
    w = torch.full((n_pieces,), n_pieces / (hi - lo), dtype=torch.float64)
    b = -w * knots[:-1]
    z = b + w * torch.as_tensor(x, dtype=torch.float64).reshape(-1, 1)
    if activation == "hard sigmoid":
        return hard_sigmoid(z, 1.0, 0.0, 1.0)
    if activation == "sigmoid":
        _, b_s, w_s = matching_sigmoid(1.0, 0.0, 1.0)
        return torch.sigmoid(b_s + w_s * z)
    if activation == "ReLU":
        return torch.cat([torch.relu(z), torch.relu(z - 1)], dim=1)
    raise ValueError(f"activation must be 'hard sigmoid', 'sigmoid' or 'ReLU', got {activation!r}")


def fit_output_layer(units, y):
    """Least-squares c and b of y ≈ b + units @ c, the hidden units held fixed: returns (c, b).

    Solved by NumPy's ``lstsq`` (minimum-norm when units repeat): on these small systems it is
    far quicker than a multi-threaded LAPACK call.
    """
    design = torch.cat([units, torch.ones(len(units), 1, dtype=units.dtype)], dim=1).numpy()
    target = torch.as_tensor(y, dtype=units.dtype).reshape(-1).numpy()
    solution = torch.from_numpy(np.linalg.lstsq(design, target, rcond=None)[0])
    return solution[:-1], solution[-1]


# --- Data, a network, and the training loop of the recipe -----------------------------------

def make_line_data(n=20, w=2.0, b=1.0, noise=0.5, x_range=(0.0, 2.0), seed=0):
    """n examples of ŷ = b + w·x + noise·ε with x ~ Uniform(x_range), ε ~ N(0, 1): x (n,), ŷ (n,), float64."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = x_range
    x = lo + (hi - lo) * torch.rand(n, generator=g, dtype=torch.float64)
    return x, b + w * x + noise * torch.randn(n, generator=g, dtype=torch.float64)


def target_curve(x):
    """The unknown function the experiments learn: ŷ = sin(2x) + x/2."""
    return torch.sin(2 * x) + 0.5 * x


def make_curve_data(n, x_range=(-3.0, 3.0), noise=0.1, seed=0):
    """n examples x ~ Uniform(x_range), ŷ = target_curve(x) + noise·ε, ε ~ N(0, 1): x (n, 1), ŷ (n,), float64."""
    g = torch.Generator().manual_seed(seed)
    lo, hi = x_range
    x = lo + (hi - lo) * torch.rand(n, 1, generator=g, dtype=torch.float64)
    y = target_curve(x).squeeze(1) + noise * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def network(hidden_layers, width, activation=nn.ReLU, seed=0):
    """y = b + cᵀ a(... a(b₁ + W₁x)): ``hidden_layers`` layers of ``width`` units, 1 input, 1 output, float64.

    No hidden layers gives the linear model y = b + w·x. PyTorch's default initialisation, seeded
    by ``seed`` without touching the global random state.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        layers, d = [], 1
        for _ in range(hidden_layers):
            layers += [nn.Linear(d, width, dtype=torch.float64), activation()]
            d = width
        layers.append(nn.Linear(d, 1, dtype=torch.float64))
        return nn.Sequential(*layers)


def mse(model, x, y):
    """The mean squared error of a model on (x, ŷ), as a float."""
    with torch.no_grad():
        return ((model(x).squeeze(-1) - y) ** 2).mean().item()


def batches(n_examples, batch_size, generator=None):
    """One epoch's batches: the indices 0 … N−1 shuffled, cut into pieces of batch_size (the last may be short)."""
    order = torch.randperm(n_examples, generator=generator)
    return list(order.split(batch_size))


def train(model, x, y, epochs, batch_size, learning_rate, validation=None, seed=0):
    """The recipe: for each epoch, shuffle, and make one SGD update θ ← θ − η·g per batch.

    Returns the loss history, one value per epoch (and one before training) on the whole
    training set, and on ``validation = (x_val, y_val)`` if given: {"train": [...], "validation": [...]}.
    """
    g = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=learning_rate)
    history = {"train": [mse(model, x, y)], "validation": [mse(model, *validation)] if validation else []}
    for _ in range(epochs):
        for index in batches(len(x), batch_size, g):
            loss = ((model(x[index]).squeeze(-1) - y[index]) ** 2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        history["train"].append(mse(model, x, y))
        if validation:
            history["validation"].append(mse(model, *validation))
    return history
