r"""Chapter 0's practical guide: four small experiments, one per way training goes wrong.

Every experiment learns the same unknown curve :math:`\hat y = \sin 2x + x/2` (plus noise) with
the recipe of :mod:`course_utils.recipe` (mini-batch SGD, :math:`\theta \leftarrow \theta - \eta g`,
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
from dataclasses import dataclass

import torch

from .recipe import make_curve_data, mse, network, train


@dataclass
class Run:
    """One training run: the model after training, its training data, and its loss history."""

    name: str
    model: torch.nn.Module
    x: torch.Tensor
    y: torch.Tensor
    history: dict

    @property
    def train_loss(self):
        return self.history["train"][-1]

    @property
    def validation_loss(self):
        return self.history["validation"][-1]


def _run(name, model, n, epochs, batch_size, learning_rate, x_range=(-3.0, 3.0), noise=0.1, seed=0):
    """Draw n training and 500 validation examples from the same range, train, and return the Run."""
    x, y = make_curve_data(n, x_range, noise, seed)
    validation = make_curve_data(500, x_range, noise, seed + 1000)
    history = train(model, x, y, epochs, batch_size, learning_rate, validation, seed)
    return Run(name, model, x, y, history)


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
    ((model(x).squeeze(-1) - y) ** 2).mean().backward()
    return [layer.weight.grad.norm().item() for layer in model if isinstance(layer, torch.nn.Linear)]


def first_layer_gradient(model, x, y):
    """The size ‖∂L/∂W₁‖ of the gradient that reaches the first layer's weights."""
    return layer_gradients(model, x, y)[0]


def overfitting(seed=0, sizes=(10, 200), noise=0.3, updates=600, batch_size=20, learning_rate=0.1):
    """A flexible network (two hidden layers of 64 ReLUs) trained on few and on many noisy examples.

    Every run makes the same number of updates; with n ≤ batch_size each update uses all n examples.
    """
    runs = []
    for n in sizes:
        b = min(n, batch_size)
        epochs = updates * b // n
        runs.append(_run(f"N = {n}", network(2, 64, seed=seed), n, epochs, b, learning_rate, noise=noise, seed=seed))
    return runs


def mismatch(seed=0, sizes=(20, 200), train_range=(-3.0, 1.0), test_range=(1.0, 3.0), updates=300,
             batch_size=20, learning_rate=0.05):
    """Train (and validate) on x from ``train_range``; test on x from ``test_range``, a different distribution.

    Returns the runs and their test losses on 500 test examples.
    """
    x_test, y_test = make_curve_data(500, test_range, 0.1, seed + 2000)
    runs, test_losses = [], []
    for n in sizes:
        b = min(n, batch_size)
        run = _run(f"N = {n}", network(2, 64, seed=seed), n, updates * b // n, b, learning_rate, train_range, seed=seed)
        runs.append(run)
        test_losses.append(mse(run.model, x_test, y_test))
    return runs, test_losses


def loss_table(runs, **extra_columns):
    """The runs' final losses as an aligned text table; ``extra_columns`` maps a heading to one number per run."""
    columns = {"training L": [run.train_loss for run in runs],
               "validation L": [run.validation_loss for run in runs], **extra_columns}
    width = max(len(run.name) for run in runs) + 2
    lines = [" " * width + "".join(f"{heading:>15s}" for heading in columns)]
    for i, run in enumerate(runs):
        lines.append(run.name.ljust(width) + "".join(f"{values[i]:15.3f}" for values in columns.values()))
    return "\n".join(lines)

