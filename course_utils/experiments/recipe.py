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

**The practical guide**: four small experiments, one per way training goes wrong.

Every experiment learns the same unknown curve :math:`\hat y = \sin 2x + x/2` (plus noise) with
the recipe above (mini-batch SGD, :math:`\theta \leftarrow \theta - \eta g`,
shuffling every epoch) and reports the mean squared error :math:`L` on the training set and on a
validation set drawn from the same distribution. What the two losses do tells the failures apart:

- **model bias**: :math:`L_\text{train}` is large, and even the best parameters of the model
  cannot make it small (the model is too simple);
- **optimisation failure**: :math:`L_\text{train}` is large although the model could do better
  (a deeper network, which contains the shallower one, ends with a *larger* training loss;
  here because under PyTorch's default initialisation the gradient shrinks layer by layer,
  and He's initialisation fixes it);
- **overfitting**: :math:`L_\text{train}` is small, :math:`L_\text{val}` large; more data helps;
- **mismatch**: training and test data come from different distributions; :math:`L_\text{val}`
  (same distribution as training) is small, the test loss large, and more data does not help.

All computations are in float64 and seeded, so the numbers repeat run to run on one machine
(on another CPU the last digits may differ).
"""
import math
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..surfaces import regression_surface
from ..training import fit, mean_loss


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
    constant, *pieces = hard_sigmoid_pieces(knots_x, knots_y)
    y = torch.full_like(torch.as_tensor(x, dtype=torch.float64), float(constant))
    for c, b, w in zip(*pieces):
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


#: Where gradient descent starts on the line's error surface: (w⁰, b⁰).
GD_START = (-1.0, 3.0)


@lru_cache(maxsize=1)
def line_surface():
    """The error surface L(w, b) of y = b + w·x on the chapter's 20 points (make_line_data)."""
    return regression_surface(*make_line_data())


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


def squared_error(output, y):
    """The mean squared error of a batch of outputs (N, 1) against its labels ŷ (N,), as a tensor."""
    return ((output.squeeze(-1) - y) ** 2).mean()


def mse(model, x, y):
    """The mean squared error of a model on (x, ŷ), as a float."""
    return mean_loss(model, x, y, squared_error)


def batches(n_examples, batch_size, generator=None):
    """One epoch's batches: the indices 0 … N−1 shuffled, cut into pieces of batch_size (the last may be short)."""
    order = torch.randperm(n_examples, generator=generator)
    return list(order.split(batch_size))


def train(model, x, y, epochs, batch_size, learning_rate, validation=None, seed=0, name=""):
    """The recipe: for each epoch, shuffle, and make one SGD update θ ← θ − η·g per batch.

    `fit`, the course's one training loop, makes the updates and records the loss on the whole training
    set ("train"), and on validation = (x_val, y_val) if given ("validation"), before training and after
    every epoch; it returns them in a `Run`, with the model.
    """
    shuffler = torch.Generator().manual_seed(seed)
    every_batch = (index for _ in range(epochs) for index in batches(len(x), batch_size, shuffler))
    losses = {"train": lambda model: mse(model, x, y)}
    if validation:
        losses["validation"] = lambda model: mse(model, *validation)
    per_epoch = updates_per_epoch(len(x), batch_size)
    return fit(model, torch.optim.SGD(model.parameters(), lr=learning_rate), squared_error, x, y, every_batch,
               losses, record_at=lambda update: update % per_epoch == 0, name=name)


# --- The practical guide: model bias, optimisation failure, overfitting, mismatch ------------------


def _run(name, model, n, epochs, batch_size, learning_rate, x_range=(-3.0, 3.0), noise=0.1, seed=0):
    """Draw n training and 500 validation examples from the same range, train, and return the Run."""
    x, y = make_curve_data(n, x_range, noise, seed)
    validation = make_curve_data(500, x_range, noise, seed + 1000)
    return train(model, x, y, epochs, batch_size, learning_rate, validation, seed, name)


def best_line_loss(x, y):
    """The smallest training loss any line y = b + w·x can reach on (x, ŷ): least squares, in closed form."""
    design = torch.cat([x.reshape(len(y), -1), torch.ones(len(y), 1, dtype=x.dtype)], dim=1)
    solution = torch.linalg.lstsq(design, y.reshape(-1, 1)).solution
    return ((design @ solution).squeeze(1) - y).pow(2).mean().item()


def model_bias(seed=0, n=200, epochs=30, batch_size=20, learning_rate=0.05):
    """The linear model y = b + w·x against a network with two hidden layers of 32 ReLUs."""
    return [
        _run("linear", network(0, 1, seed=seed), n, epochs, batch_size, learning_rate, seed=seed),
        _run("network", network(2, 32, seed=seed), n, epochs, batch_size, learning_rate, seed=seed),
    ]


def he_initialisation(model, seed=0):
    r"""Re-draw every ``nn.Linear`` of ``model`` with He et al.'s initialisation for ReLU layers:
    :math:`W_{ij} \sim U(-a, a)` with :math:`\operatorname{Var} W_{ij} = 2/\text{fan\_in}`
    (``torch.nn.init.kaiming_uniform_``), biases 0. Returns the model.

    PyTorch's default draws :math:`U(-1/\sqrt{\text{fan\_in}}, 1/\sqrt{\text{fan\_in}})`, variance
    :math:`1/(3\,\text{fan\_in})`: through a ReLU layer the mean square of the signal, and of the
    gradient on its way back, is multiplied by about :math:`\text{fan\_in}\cdot\operatorname{Var}W/2
    = 1/6`, so its size shrinks by about :math:`\sqrt 6 \approx 2.45` per layer. He's variance
    makes that factor 1.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in model:
            if isinstance(layer, torch.nn.Linear):
                torch.nn.init.kaiming_uniform_(layer.weight, nonlinearity="relu")
                torch.nn.init.zeros_(layer.bias)
    return model


def deep_network(depth, width=16, init="default", seed=0):
    """A plain ReLU network of ``depth`` hidden layers, with PyTorch's default initialisation or He's."""
    model = network(depth, width, seed=seed)
    return he_initialisation(model, seed) if init == "he" else model


def optimisation_failure(seed=0, depths=(2, 10), width=16, n=200, epochs=40, batch_size=20, learning_rate=0.02,
                         init="default"):
    """Plain ReLU networks of several depths (no normalisation, no shortcuts), same data, same budget.

    ``init`` is "default" (PyTorch's) or "he" (:func:`he_initialisation`).
    """
    suffix = ", He init" if init == "he" else ""
    return [
        _run(f"{depth} hidden layers{suffix}", deep_network(depth, width, init, seed), n, epochs, batch_size,
             learning_rate, seed=seed)
        for depth in depths
    ]


def layer_signals(model, x):
    """How much each hidden layer's output still varies with the input: the standard deviation of
    each ReLU unit's output over the examples x, root-mean-squared over the layer's units.
    (What does not vary with x, such as a bias passed on, carries nothing about x.)"""
    sizes = []
    with torch.no_grad():
        for layer in model:
            x = layer(x)
            if isinstance(layer, torch.nn.ReLU):
                sizes.append(x.var(dim=0, unbiased=False).mean().sqrt().item())
    return sizes


def layer_gradients(model, x, y):
    """The size ‖∂L/∂Wₗ‖ of the gradient that reaches each layer's weights, first layer first."""
    model.zero_grad()
    squared_error(model(x), y).backward()
    return [layer.weight.grad.norm().item() for layer in model if isinstance(layer, torch.nn.Linear)]


def first_layer_gradient(model, x, y):
    """The size ‖∂L/∂W₁‖ of the gradient that reaches the first layer's weights."""
    return layer_gradients(model, x, y)[0]


def _flexible_run(n, updates, batch_size, learning_rate, seed, **data):
    """:func:`_run` of a flexible network (two hidden layers of 64 ReLUs) on n examples for about ``updates``
    updates; with n ≤ batch_size each update uses all n examples."""
    b = min(n, batch_size)
    return _run(f"N = {n}", network(2, 64, seed=seed), n, updates * b // n, b, learning_rate, seed=seed, **data)


def overfitting(seed=0, sizes=(10, 200), noise=0.3, updates=600, batch_size=20, learning_rate=0.1):
    """A flexible network (two hidden layers of 64 ReLUs) trained on few and on many noisy examples.

    Every run makes the same number of updates; with n ≤ batch_size each update uses all n examples.
    """
    return [_flexible_run(n, updates, batch_size, learning_rate, seed, noise=noise) for n in sizes]


def mismatch(seed=0, sizes=(20, 200), train_range=(-3.0, 1.0), test_range=(1.0, 3.0), updates=300,
             batch_size=20, learning_rate=0.05):
    """Train (and validate) on x from ``train_range``; test on x from ``test_range``, a different distribution.

    Returns the runs and their test losses on 500 test examples.
    """
    x_test, y_test = make_curve_data(500, test_range, 0.1, seed + 2000)
    runs = [_flexible_run(n, updates, batch_size, learning_rate, seed, x_range=train_range) for n in sizes]
    return runs, [mse(run.model, x_test, y_test) for run in runs]


def loss_table(runs, **extra_columns):
    """The runs' final losses as an aligned text table; ``extra_columns`` maps a heading to one number per run."""
    columns = {"training L": [run.train_loss for run in runs],
               "validation L": [run.validation_loss for run in runs], **extra_columns}
    width = max(len(run.name) for run in runs) + 2
    lines = [" " * width + "".join(f"{heading:>15s}" for heading in columns)]
    for i, run in enumerate(runs):
        lines.append(run.name.ljust(width) + "".join(f"{values[i]:15.3f}" for values in columns.values()))
    return "\n".join(lines)

