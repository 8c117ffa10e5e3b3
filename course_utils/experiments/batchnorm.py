r"""Chapter 5's experiments: why normalising helps, and where batch normalisation goes wrong.

1. **Feature normalisation on a 2-D error surface.** A linear model
   :math:`y = w_1 x_1 + w_2 x_2` fitted by mean squared error to features of very different
   scales has an elongated error surface :math:`L(w_1, w_2)`: flat along :math:`w_1` (the
   small feature), steep along :math:`w_2`. The z-score :math:`\tilde x_i = (x_i - m_i)/\sigma_i`
   makes it round, and gradient descent :math:`\theta \leftarrow \theta - \eta g` then needs far
   fewer steps at the same learning rate η. Both surfaces are :class:`~course_utils.surfaces.Surface`
   objects, run with :func:`course_utils.surfaces.gradient_descent`.
2. **Batch normalisation in a network**, on scikit-learn's digits (:func:`course_utils.data.digits`):
   multilayer perceptrons ``Linear → BatchNorm1d → activation`` (BN before the activation, as in
   Ioffe & Szegedy) made with :class:`course_utils.batchnorm.BatchNorm1d`, trained by mini-batch SGD.
3. **Ioffe & Szegedy's experiment in small**: without BN at a base learning rate, with BN at 1×,
   5× and 30× of it, and with sigmoid activations; validation accuracy against steps.
4. **Santurkar et al.'s smoothness**: at points of training, move along the gradient,
   :math:`\theta - s\,g` for a few step sizes s, and measure how much the loss and the gradient
   change there, with and without BN.
5. **Pitfalls**: forgetting ``model.eval()``, very small batches, class-sorted batches.

Everything is seeded and runs in a few seconds on one CPU thread. A seed fixes the digits on one
machine only: another CPU rounds differently, and training amplifies that, so the chapter's
claims are tested over several seeds and CPU code paths.
"""
import copy
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from .. import surfaces
from ..batchnorm import BatchNorm1d, update_running_stats
from ..data import digits
from ..training import accuracy, fit

# --- 1. Two features of different scales --------------------------------------------------------

#: The weights the data are made with: y = 1.5·x₁ − 1·x₂ + noise.
TRUE_WEIGHTS = (1.5, -1.0)
#: Where gradient descent starts, relative to the minimum of the surface: (w₁*, w₂*) + START_OFFSET.
START_OFFSET = (-2.5, 1.5)


def two_feature_data(scale_x1=0.1, n=100, seed=0):
    """n examples of two features, x₁ of standard deviation ``scale_x1`` and x₂ of 1 (both with a
    non-zero mean), and y = 1.5·x₁ − x₂ + noise: returns (x (n, 2), y (n,)), float64."""
    if scale_x1 <= 0:
        raise ValueError(f"scale_x1 must be > 0, got {scale_x1}")
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(n, 2, generator=g, dtype=torch.float64)
    x = torch.stack([scale_x1 * (u[:, 0] + 1.0), u[:, 1] + 0.5], dim=1)
    y = x @ torch.tensor(TRUE_WEIGHTS, dtype=torch.float64) + 0.1 * torch.randn(n, generator=g, dtype=torch.float64)
    return x, y


def z_score(x):
    """x̃ = (x − m)/σ per column, with the column's mean m and (biased) standard deviation σ."""
    return (x - x.mean(dim=0)) / x.std(dim=0, unbiased=False)


@lru_cache(maxsize=None)
def feature_surface(scale_x1=0.1, normalised=False, seed=0):
    """The MSE of y ≈ w₁x₁ + w₂x₂ over (w₁, w₂), on raw or z-scored features, as a Surface.

    y is centred, so on z-scored features no bias is needed. The window is the same size
    around the minimum for every surface, so the shapes can be compared. ``seed`` draws the data.
    """
    x, y = two_feature_data(scale_x1, seed=seed)
    if normalised:
        x, y = z_score(x), y - y.mean()

    def loss(theta):
        theta = torch.as_tensor(theta, dtype=torch.float64)
        return ((theta @ x.T - y) ** 2).mean(dim=-1)      # θ (..., 2) → L (...)

    w_star = torch.linalg.lstsq(x, y.unsqueeze(1)).solution.squeeze(1).tolist()
    kind = "z-scored" if normalised else "raw"
    return surfaces.Surface(
        name=f"MSE on {kind} features, x₁ scale {scale_x1:g}",
        loss=loss,
        xlim=(w_star[0] - 4.0, w_star[0] + 4.0),
        ylim=(w_star[1] - 2.5, w_star[1] + 2.5),
        minimum=tuple(w_star),
        labels=("$w_1$", "$w_2$"),
    )


def start_point(surface):
    """θ⁰ = the minimum + START_OFFSET: the same relative start on every surface."""
    return tuple(m + o for m, o in zip(surface.minimum, START_OFFSET))


def curvatures(surface):
    """The eigenvalues λ of the surface's Hessian (exact: the loss is quadratic), smallest first."""
    hessian = torch.autograd.functional.hessian(surface.loss, torch.tensor(surface.minimum, dtype=torch.float64))
    return torch.linalg.eigvalsh(hessian)


def steps_to_converge(surface, learning_rate, tol=1e-3, max_steps=5000):
    """Gradient-descent steps from start_point until L − L* ≤ tol·(L⁰ − L*); None if not within max_steps.

    Runs in chunks of doubling length, each continuing where the last stopped (plain gradient
    descent keeps no state), so a quick convergence costs only a few steps.
    """
    best = surface.loss(torch.tensor(surface.minimum, dtype=torch.float64))
    start = torch.tensor(start_point(surface), dtype=torch.float64)
    first_gap, done, chunk = surface.loss(start) - best, 0, 16
    while done < max_steps:
        chunk = min(chunk, max_steps - done)
        path = surfaces.gradient_descent(surface, start.tolist(), learning_rate, chunk)
        gap = surfaces.losses_along(surface, path)[1:] - best
        hit = (gap <= tol * first_gap).nonzero()
        if len(hit):
            return done + int(hit[0]) + 1
        if len(path) < chunk + 1:          # the path was cut: it diverged
            return None
        done, start, chunk = done + chunk, path[-1], 2 * chunk
    return None


def batch_statistics(z, eps=0.0):
    """(μ, σ) of each column of z (B, C) as BN takes them in training mode: the batch's mean and
    σ = √(v + ε), v the *biased* variance (÷ B). With γ = σ and β = μ the layer gives back z."""
    return z.mean(dim=0), torch.sqrt(z.var(dim=0, unbiased=False) + eps)


# --- The moving averages BN keeps, of a feature whose mean drifts ----------------------------------

#: Training steps of the drifting feature.
AVERAGE_STEPS = 150


def population_mean(step):
    """The mean of a feature z during training: it drifts while the layers below it learn."""
    return 1.0 + 2.0 * (1.0 - np.exp(-np.asarray(step, dtype=float) / 30.0))


@lru_cache(maxsize=None)
def drifting_batches(batch_size, seed=0):
    """AVERAGE_STEPS batches (B, 1) of one feature: its drifting mean plus noise of standard deviation 1."""
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(AVERAGE_STEPS, batch_size, 1, generator=g, dtype=torch.float64)
    return noise + torch.tensor(population_mean(np.arange(AVERAGE_STEPS)))[:, None, None]


def running_means(batches, p):
    """μ̄ after each batch (steps, K), as a BatchNorm1d with momentum 1 − p keeps it from μ̄ = 0:
    :func:`course_utils.batchnorm.update_running_stats`, batch after batch. ``p`` is K smoothing factors,
    one column each (the batches have one feature, which every column sees)."""
    p = torch.as_tensor(p, dtype=torch.float64).reshape(-1)
    mean, var = torch.zeros_like(p), torch.ones_like(p)
    means = []
    for z in batches:
        mean, var = update_running_stats(mean, var, z.expand(-1, len(p)), p)
        means.append(mean)
    return torch.stack(means)


# --- 2. Networks on the digits --------------------------------------------------------------------

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid}


def mlp(depth=4, width=32, batch_norm=True, activation="relu", seed=0, n_in=64, n_out=10):
    """``depth`` hidden layers of ``width`` units, each Linear → (BatchNorm1d) → activation, then a Linear."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    torch.manual_seed(seed)
    layers, size = [], n_in
    for _ in range(depth):
        layers.append(nn.Linear(size, width))
        if batch_norm:
            layers.append(BatchNorm1d(width))
        layers.append(ACTIVATIONS[activation]())
        size = width
    layers.append(nn.Linear(size, n_out))
    return nn.Sequential(*layers)


def batch_order(y, order, generator):
    """The order in which one epoch visits the examples: ``"shuffled"`` (a random permutation) or
    ``"sorted"`` (grouped by class, so a batch holds one or two classes)."""
    if order == "shuffled":
        return torch.randperm(len(y), generator=generator)
    if order == "sorted":
        return torch.sort(y, stable=True).indices
    raise ValueError(f"order must be 'shuffled' or 'sorted', got {order!r}")


def train(model, learning_rate, steps, split=None, batch_size=32, order="shuffled", eval_every=25, seed=0,
          name="", on_step=None):
    """Mini-batch SGD on the cross-entropy, θ ← θ − η·g, for ``steps`` updates (:func:`course_utils.training.fit`).

    The run's history holds the validation accuracy (eval mode) every ``eval_every`` updates
    ("validation_accuracy"), and the run keeps the last one measured as ``validation_accuracy`` (for a
    run that diverged, the last before it did). ``on_step(model, x_batch, y_batch, update)``, if given,
    sees each batch before its update. A run whose loss stops being finite is stopped and marked diverged."""
    split = split or digits()
    generator = torch.Generator().manual_seed(seed)

    def batches():                 # the next batch_size examples of the order, a new order when too few are left
        order_now, position = batch_order(split.y_train, order, generator), 0
        for _ in range(steps):
            if position + batch_size > len(order_now):
                order_now, position = batch_order(split.y_train, order, generator), 0
            yield order_now[position:position + batch_size]
            position += batch_size

    run = fit(model, torch.optim.SGD(model.parameters(), lr=learning_rate), nn.functional.cross_entropy,
              split.x_train, split.y_train, batches(),
              {"validation_accuracy": lambda model: accuracy(model, split.x_val, split.y_val)},
              record_at=lambda update: update % eval_every == 0, on_step=on_step, name=name)
    run.validation_accuracy = run.history["validation_accuracy"][-1]
    return run


# --- 3. Ioffe & Szegedy in small -------------------------------------------------------------------

#: (name, batch norm, activation, learning-rate multiple): the notes' figure, plus the failures
#: without BN that explain it.
IOFFE_SZEGEDY_RUNS = (
    ("without BN", False, "relu", 1),
    ("BN", True, "relu", 1),
    ("BN, 5× η", True, "relu", 5),
    ("BN, 30× η", True, "relu", 30),
    ("BN, 5× η, sigmoid", True, "sigmoid", 5),
    ("without BN, 30× η", False, "relu", 30),
    ("without BN, 5× η, sigmoid", False, "sigmoid", 5),
)


def ioffe_szegedy(base_learning_rate=0.03, steps=200, depth=4, width=32, batch_size=32, seed=0,
                  runs=IOFFE_SZEGEDY_RUNS):
    """One Run per row of ``runs``, all from the same initial weights (per activation) and batches."""
    split = digits()
    return [
        train(mlp(depth, width, batch_norm, activation, seed), multiple * base_learning_rate, steps, split,
              batch_size, seed=seed, name=name)
        for name, batch_norm, activation, multiple in runs
    ]


# --- 4. Santurkar et al.: how smooth is the loss along the gradient? -------------------------------

def _flat_gradient(model, x, y):
    model.zero_grad()
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return loss.item(), torch.cat([p.grad.reshape(-1) for p in model.parameters()])


def along_gradient(model, x, y, step_sizes):
    """Move θ along −g: for each s, L(θ − s·g) and ∇L(θ − s·g) on the batch (x, y).

    Returns {"loss": [L(θ − s·g) for s], "gradient_change": [‖∇L(θ − s·g) − g‖ for s],
    "beta": [‖∇L(θ − s·g) − g‖ / ‖s·g‖ for s]}. The model is left exactly as it was: the moving
    averages too (they do not enter a training-mode loss, and are restored anyway).
    """
    params = list(model.parameters())
    saved = {k: v.clone() for k, v in model.state_dict().items()}      # θ and the moving averages
    theta = nn.utils.parameters_to_vector(params).detach()
    _, g = _flat_gradient(model, x, y)
    out = {"loss": [], "gradient_change": [], "beta": []}
    for s in step_sizes:
        with torch.no_grad():                                          # θ ← θ − s·g, tensor by tensor
            for p, moved in zip(params, (theta - s * g).split([p.numel() for p in params])):
                p.copy_(moved.view_as(p))
        loss, g_moved = _flat_gradient(model, x, y)
        change = (g_moved - g).norm().item()
        out["loss"].append(loss)
        out["gradient_change"].append(change)
        out["beta"].append(change / (s * g.norm().item()))
    model.zero_grad()
    model.load_state_dict(saved)
    return out


def smoothness(batch_norm, learning_rate=0.1, steps=300, every=25, multiples=(0.5, 1, 2, 4), depth=4,
               width=32, seed=0):
    """Train with and without BN and, every ``every`` steps, look along the gradient at step sizes
    s = multiple·η. Returns {"steps", "loss_range" (max − min of L over s), "gradient_change"
    (max over s), "beta" (max over s), "accuracy"}."""
    record = {"steps": [], "loss_range": [], "gradient_change": [], "beta": []}

    def look(model, x, y, update):
        made = update - 1                   # the updates made before this one
        if made % every == 0:
            seen = along_gradient(model, x, y, [m * learning_rate for m in multiples])
            record["steps"].append(made)
            record["loss_range"].append(max(seen["loss"]) - min(seen["loss"]))
            record["gradient_change"].append(max(seen["gradient_change"]))
            record["beta"].append(max(seen["beta"]))

    run = train(mlp(depth, width, batch_norm, seed=seed), learning_rate, steps, seed=seed, on_step=look,
                name="BN" if batch_norm else "without BN")
    record["accuracy"] = run.validation_accuracy
    return record


# --- 5. Pitfalls -------------------------------------------------------------------------------------

def small_batches(batch_sizes=(2, 4, 32), learning_rate=0.1, steps=300, seed=0):
    """{B: (run without BN, run with BN)}: the same number of updates at each batch size B."""
    split = digits()
    return {
        b: tuple(train(mlp(batch_norm=bn, seed=seed), learning_rate, steps, split, batch_size=b, eval_every=steps,
                       seed=seed, name=f"B = {b}, {'BN' if bn else 'without BN'}") for bn in (False, True))
        for b in batch_sizes
    }


def train_mode_accuracy(model, x, y, batch_size=32, order="shuffled", seed=0):
    """The accuracy when the model predicts in *training* mode (model.eval() forgotten), in batches of
    ``batch_size`` taken in ``order``. Works on a copy: the model's moving averages stay as they were
    (in training mode every forward pass would update them). A last batch of one example is left out."""
    model = copy.deepcopy(model).train()
    index = batch_order(y, order, torch.Generator().manual_seed(seed))
    batches = [batch for batch in index.split(batch_size) if len(batch) > 1]
    with torch.no_grad():
        correct = sum((model(x[batch]).argmax(dim=1) == y[batch]).sum().item() for batch in batches)
    return correct / sum(len(batch) for batch in batches)


def forgot_eval(model, split=None):
    """[(how the validation set is predicted, accuracy)]: eval mode, then training mode in shuffled
    batches of 32, class-sorted batches of 32, and shuffled batches of 4 and 2."""
    split = split or digits()
    x, y = split.x_val, split.y_val
    return [("model.eval(), any batch size", accuracy(model, x, y))] + [
        (f"training mode, {order} batches of {b}", train_mode_accuracy(model, x, y, b, order))
        for order, b in (("shuffled", 32), ("sorted", 32), ("shuffled", 4), ("shuffled", 2))
    ]
