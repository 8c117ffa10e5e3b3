r"""Batch size: what one update costs, and what the batches do to the solution (chapter 2).

With :math:`N` training examples in batches of :math:`B`, an epoch makes :math:`\lceil N/B \rceil`
updates, each :math:`\theta \leftarrow \theta - \eta\, g`, where :math:`g` is the gradient of the
loss on one batch only. So

- **time**: an epoch costs :math:`\lceil N/B \rceil \cdot t(B)`, with :math:`t(B)` the time of
  one update on a batch of :math:`B`; while parallel hardware keeps :math:`t(B)` nearly flat,
  bigger batches make epochs cheaper (:func:`time_updates`);
- **noise**: :math:`g` is the full-batch gradient plus noise whose spread shrinks as
  :math:`B` grows, so small batches wander (:func:`minibatch_paths`, on a 2-D surface);
- **quality**: small and large batches end at different solutions; the sharpness of a
  solution is the top eigenvalue :math:`\lambda_{\max}` of the Hessian :math:`H` of the
  training loss there (:func:`sharpness`). Plain gradient descent cannot settle where
  :math:`\lambda_{\max} > 2/\eta`.

And the momentum chapter's question, when momentum damps a zig-zag: on a quadratic each
direction of curvature :math:`h` shrinks its error by a fixed factor per update, the **rate**,
:math:`|1 - \eta h|` for gradient descent and the largest :math:`|z|` of two eigenvalues for
momentum (:func:`gradient_descent_rate`, :func:`momentum_eigenvalues`, :func:`momentum_rate`).
"""
import cmath
import itertools
import math
import time

import torch
from torch import nn

from .. import optim
from ..hessian import extreme_eigenvalues
from ..surfaces import descend, elongated_bowl, trajectory
from ..training import accuracy, classifier, fit, mean_loss
from . import recipe


# ----------------------------------------------------------------------------- time


def devices():
    """The devices to time on: always "cpu", and "cuda" when a GPU is present."""
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def time_updates(model, x, y, batch_sizes, device="cpu", repeats=15):
    """The time of one update, and of one epoch, for each batch size: the fastest of ``repeats`` timed updates.

    One update is what training repeats: forward, cross-entropy loss, backward and an SGD
    step, on a batch of B rows of ``x`` (B ≤ N). An epoch is ⌈N/B⌉ updates. On a GPU every
    timing waits for the device to finish (``torch.cuda.synchronize``). The model is trained
    a little while it is timed; pass a copy if that matters. Other programs on the machine can only
    slow an update down, so the fastest of the repeats is the closest to the update's own cost.
    Not :func:`course_utils.training.fit`, which would time its own bookkeeping too (on a GPU, its check
    that each loss is finite waits for the device at every update).
    Returns a list of dicts with keys batch_size, seconds_per_update, seconds_per_epoch.
    """
    n = len(x)
    if not batch_sizes or any(not 1 <= b <= n for b in batch_sizes):
        raise ValueError(f"batch sizes must lie between 1 and N = {n}, got {list(batch_sizes)}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no GPU is present: use devices() to list what is here")
    model, x, y = model.to(device), x.to(device), y.to(device)
    optimizer = optim.SGD(model.parameters(), lr=1e-3)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def update(batch_x, batch_y):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(batch_x), batch_y).backward()
        optimizer.step()

    table = []
    for b in batch_sizes:
        batch_x, batch_y = x[:b], y[:b]
        for _ in range(3):                       # warm up (allocations, caches, kernels)
            update(batch_x, batch_y)
        seconds = []
        for _ in range(repeats):
            sync()
            start = time.perf_counter()
            update(batch_x, batch_y)
            sync()
            seconds.append(time.perf_counter() - start)
        t = min(seconds)
        table.append({"batch_size": b, "seconds_per_update": t, "seconds_per_epoch": t * math.ceil(n / b)})
    return table


# ----------------------------------------------------------------------------- momentum on a ravine

#: The ravine of the chapter: L = 0.1·θ₁² + 2·θ₂² (d2l's f2d), curvatures 0.2 and 4.
RAVINE = elongated_bowl(0.1, 2.0)
#: Updates drawn at once, as in Distill's figure.
ITERATIONS = 150


def momentum_path(loss, start, learning_rate, momentum, steps=ITERATIONS):
    """θ⁰ … θ^steps of :class:`course_utils.optim.Momentum` on a loss (λ = 0: plain gradient descent)."""
    return trajectory(loss, start, lambda p: optim.Momentum(p, lr=learning_rate, momentum=momentum), steps)


def two_valleys(theta):
    """A 1-D loss with a local minimum near θ = −2.1 and the global one near θ = 2.35 (the ball that rolls past
    a local minimum)."""
    return (theta ** 4 / 20 - theta ** 2 / 2 - theta / 4).sum()


# ----------------------------------------------------------------------------- noise, on a 2-D surface


def minibatch_paths(x, y, batch_size, learning_rate, epochs, runs=1, momentum=0.0, start=(-1.0, 3.0), seed=0):
    """Minibatch SGD on the line y ≈ b + w·x: ``runs`` independent paths of θ = (w, b).

    Each run shuffles the N examples after every epoch (its own order) and makes one update
    per batch on the mean squared error of that batch, with :class:`course_utils.optim.SGD`
    (or :class:`~course_utils.optim.Momentum` when ``momentum`` > 0). All runs go through
    :func:`course_utils.surfaces.trajectory` at once: θ holds every run's (w, b), and the loss
    is the sum of the runs' batch losses, whose gradient with respect to one run's (w, b) is
    that run's batch gradient.
    Returns a float64 tensor of shape (updates + 1, runs, 2).
    """
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    n = len(x)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie between 1 and N = {n}, got {batch_size}")
    generator = torch.Generator().manual_seed(seed)
    # The batches of every update, for every run: (updates, runs, B) indices.
    per_epoch = [torch.stack([torch.randperm(n, generator=generator) for _ in range(runs)]) for _ in range(epochs)]
    batches = [order[:, i:i + batch_size] for order in per_epoch for i in range(0, n, batch_size)]
    updates = iter(batches)

    def loss(theta):
        index = next(updates)                                      # (runs, B): this update's batches
        w, b = theta.view(runs, 2).unbind(dim=1)
        residual = b[:, None] + w[:, None] * x[index] - y[index]
        return (residual ** 2).mean(dim=1).sum()

    def make(p):
        return optim.Momentum(p, lr=learning_rate, momentum=momentum) if momentum else optim.SGD(p, lr=learning_rate)

    path = trajectory(loss, list(start) * runs, make, len(batches))
    return path.view(len(path), runs, 2)


# ----------------------------------------------------------------------------- quality


def train_classifier(split, batch_size, learning_rate, epochs=None, updates=None, momentum=0.0, width=64,
                     seed=0, name=None, stop_below=None):
    """Train :func:`~course_utils.training.classifier` on a :class:`course_utils.data.Split` with minibatch
    SGD (or momentum), by :func:`course_utils.training.fit`.

    Give exactly one of ``epochs`` (each a shuffled pass over the training set, ⌈N/B⌉
    updates) or ``updates`` (stop after that many, which may end mid-epoch). The model starts
    from the same initialisation for every batch size (``seed``). The run's history holds, after
    every epoch (every few epochs when there are more than 100), the training loss ("train") and the
    validation accuracy ("validation_accuracy"); the run also keeps the trained model's accuracies.
    With ``stop_below``, training also stops at the end of the first epoch whose training
    loss is below it (to compare solutions of the same training loss).
    """
    if (epochs is None) == (updates is None):
        raise ValueError("give exactly one of epochs= or updates=")
    n = len(split.x_train)
    if not 1 <= batch_size <= n:
        raise ValueError(f"batch_size must lie between 1 and N = {n}, got {batch_size}")
    per_epoch = math.ceil(n / batch_size)
    total = epochs * per_epoch if updates is None else updates
    model = classifier(split.n_features, split.n_classes, width, seed)
    optimizer = (optim.Momentum(model.parameters(), lr=learning_rate, momentum=momentum) if momentum
                 else optim.SGD(model.parameters(), lr=learning_rate))
    shuffler = torch.Generator().manual_seed(seed)
    epochs_of_batches = (batch for _ in range(-(-total // per_epoch)) for batch in recipe.batches(n, batch_size, shuffler))
    stride = max(1, math.ceil(total / per_epoch) // 100)      # at most about 100 records
    run = fit(model, optimizer, nn.functional.cross_entropy, split.x_train, split.y_train,
              itertools.islice(epochs_of_batches, total),
              {"train": lambda model: mean_loss(model, split.x_train, split.y_train),
               "validation_accuracy": lambda model: accuracy(model, split.x_val, split.y_val)},
              record_at=lambda update: update % (stride * per_epoch) == 0,
              stop=None if stop_below is None else lambda run: run.history["train"][-1] < stop_below,
              name=name or f"B = {batch_size}")
    run.train_accuracy = accuracy(model, split.x_train, split.y_train)
    run.validation_accuracy = accuracy(model, split.x_val, split.y_val)
    return run


def sharpness(model, x, y, iters=40):
    """The top eigenvalue λ_max of the Hessian of the cross-entropy on all of (x, y).

    Computed by :func:`course_utils.hessian.extreme_eigenvalues` (Lanczos on Hessian-vector
    products), so it works for models far too big for the Hessian itself.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    _, largest = extreme_eigenvalues(lambda: nn.functional.cross_entropy(model(x), y), params, k=1, iters=iters)
    return largest[-1].item()


def flatness_over_seeds(split, seeds, batch_sizes, learning_rate=0.1, stop_below=0.05, max_updates=3000, iters=15):
    """Small against large batches at the same training loss, once per seed: where do they end?

    For each seed (the initialisation and the shuffles) and batch size, :func:`train_classifier`
    runs until the training loss is below ``stop_below`` (at most ``max_updates`` updates), then
    the solution's :func:`sharpness` is measured. Returns ``{batch_size: {"sharpness": [...],
    "validation_accuracy": [...], "train_loss": [...], "updates": [...]}}``, one entry per seed.
    """
    table = {b: {"sharpness": [], "validation_accuracy": [], "train_loss": [], "updates": []} for b in batch_sizes}
    for seed in seeds:
        for b in batch_sizes:
            run = train_classifier(split, b, learning_rate, updates=max_updates, seed=seed, stop_below=stop_below)
            row = table[b]
            row["sharpness"].append(sharpness(run.model, split.x_train, split.y_train, iters=iters))
            row["validation_accuracy"].append(run.validation_accuracy)
            row["train_loss"].append(run.train_loss)
            row["updates"].append(run.updates[-1])
    return table


# ----------------------------------------------------------------------------- rates on a quadratic


def gradient_descent_rate(learning_rate, curvature):
    r"""The factor :math:`|1 - \eta h|` by which gradient descent shrinks the error per update.

    On :math:`L = \tfrac{h}{2}\theta^2` (one direction of curvature :math:`h`, minimum at 0) the
    update :math:`\theta \leftarrow \theta - \eta h \theta` multiplies :math:`\theta` by
    :math:`1 - \eta h`: negative when :math:`\eta h > 1` (the step overshoots, the path zig-zags),
    and of size above 1, diverging, when :math:`\eta h > 2`.
    """
    return abs(1 - learning_rate * curvature)


def momentum_eigenvalues(learning_rate, momentum, curvature):
    r"""The two eigenvalues :math:`z_1, z_2` of momentum's update on :math:`L = \tfrac{h}{2}\theta^2`.

    With :math:`g = h\theta`, the notes' update :math:`m^i = \lambda m^{i-1} - \eta g^{i-1}`,
    :math:`\theta^i = \theta^{i-1} + m^i` is, since :math:`m^i = \theta^i - \theta^{i-1}`,

    .. math:: \theta^{i+1} = (1 + \lambda - \eta h)\,\theta^i - \lambda\,\theta^{i-1},
        \qquad \begin{pmatrix}\theta^{i+1}\\ \theta^i\end{pmatrix} =
        \begin{pmatrix}1 + \lambda - \eta h & -\lambda\\ 1 & 0\end{pmatrix}
        \begin{pmatrix}\theta^{i}\\ \theta^{i-1}\end{pmatrix},

    whose eigenvalues solve :math:`z^2 - (1 + \lambda - \eta h)\,z + \lambda = 0`. Their product
    is :math:`\lambda`; they are complex (the error oscillates, with :math:`|z_1| = |z_2| = \sqrt\lambda`)
    when :math:`(1 - \sqrt\lambda)^2 < \eta h < (1 + \sqrt\lambda)^2`. Returns two complex numbers,
    the larger in size first.
    """
    a = 1 + momentum - learning_rate * curvature
    root = cmath.sqrt(a * a - 4 * momentum)
    z1, z2 = (a + root) / 2, (a - root) / 2
    return (z1, z2) if abs(z1) >= abs(z2) else (z2, z1)


def momentum_rate(learning_rate, momentum, curvature):
    r"""The factor by which momentum shrinks the error per update, in the long run: :math:`\max |z|`.

    Never below :math:`\sqrt\lambda` (the eigenvalues' product is :math:`\lambda`), exactly
    :math:`\sqrt\lambda` while they are complex, below 1 (convergence) exactly when
    :math:`0 < \eta h < 2(1 + \lambda)`. Momentum beats gradient descent along a direction exactly
    when :math:`|1 - \eta h| > \sqrt\lambda`. With :math:`\lambda = 0` it is
    :func:`gradient_descent_rate`.
    """
    return abs(momentum_eigenvalues(learning_rate, momentum, curvature)[0])


# ----------------------------------------------------------------------------- by hand (the exercises)


def momentum_step(theta, movement, gradient, learning_rate, momentum):
    """One update of momentum in the notes' form: m' = λ·m − η·g, θ' = θ + m'. Returns (θ', m')."""
    movement = momentum * movement - learning_rate * gradient
    return theta + movement, movement


def movement_from_gradients(gradients, learning_rate, momentum):
    """m^i = −η Σ_j λ^(i−1−j) g^j for the rows g⁰ … g^(i−1) of ``gradients`` (shape (i, d)); returns (d,)."""
    i = gradients.shape[0]
    weights = momentum ** torch.arange(i - 1, -1, -1, dtype=gradients.dtype)    # λ^(i−1), …, λ, 1
    return -learning_rate * (weights @ gradients)


def pick_batch_size(batch_sizes, seconds_per_update, n_examples, seconds_per_epoch):
    """The smallest batch size whose epoch, ⌈N/B⌉ updates of t(B) each, takes at most ``seconds_per_epoch``.

    Small batches make more updates per epoch, big ones make faster epochs: take the smallest
    that the time allows. ``None`` when no batch size fits.
    """
    fitting = [b for b, t in zip(batch_sizes, seconds_per_update)
               if math.ceil(n_examples / b) * t <= seconds_per_epoch]
    return min(fitting) if fitting else None


def measured_rate(path, skip=60, window=30):
    r"""The rate of a descent towards the minimum at 0, measured: how much :math:`\|\theta\|` shrinks per update.

    The largest :math:`\|\theta^i\|` over the last ``window`` updates against the largest over the
    ``window`` updates after the first ``skip`` (the maxima ride over the oscillations), as a factor
    per update. After the first updates the slowest direction's error is all that is left, so this
    approaches the largest rate of the directions (:func:`momentum_rate` of each).
    """
    norms = path.norm(dim=1)
    if len(norms) < skip + 2 * window:
        raise ValueError(f"a path of {len(norms)} points is too short: measure at least {skip + 2 * window}")
    early, late = norms[skip:skip + window].max(), norms[-window:].max()
    return float((late / early) ** (1.0 / (len(norms) - window - skip)))


# ----------------------------------------------------------------------------- failing settings, as a record shows them

#: The optimiser settings that fail, as :func:`failing_run` draws them.
OPTIMISER_FAILURES = ("learning rate too large", "learning rate too small", "momentum too high", "batch too small")


def failing_run(failure, generator, updates=120):
    r"""The training record of a run with one failing setting: the loss after each update.

    Momentum (:class:`course_utils.optim.Momentum`) on a ravine :math:`L = a\,\theta_1^2 + b\,\theta_2^2`
    (:math:`h = 2a` along the floor, :math:`2b` across), from a random start, with :math:`\eta`,
    :math:`\lambda` and the batch noise drawn for ``failure`` (one of :data:`OPTIMISER_FAILURES`):

    - *learning rate too large*: :math:`\eta h > 2(1 + \lambda)` across, so the error grows;
    - *learning rate too small*: :math:`\eta h` of about a thousandth across, so the loss creeps down;
    - *momentum too high*: :math:`\lambda \ge 0.93`, so the error spirals in at :math:`\sqrt\lambda`;
    - *batch too small*: a good :math:`\eta, \lambda`, but each gradient and each recorded loss is that
      of a small batch, the full one plus noise, so the loss falls to a level set by the noise and
      jitters there.

    Returns ``{"loss": [L⁰, L¹, …]}`` (Python floats, ``updates + 1`` of them).
    """
    def u(low, high):
        return low + (high - low) * float(torch.rand((), generator=generator))

    def normal(*shape):
        return torch.randn(shape, generator=generator, dtype=torch.float64)

    if failure not in OPTIMISER_FAILURES:
        raise ValueError(f"failure must be one of {OPTIMISER_FAILURES}, not {failure!r}")
    a = u(0.05, 0.2)
    b = a * u(10.0, 30.0)
    h = torch.tensor([2 * a, 2 * b], dtype=torch.float64)
    momentum = u(0.93, 0.98) if failure == "momentum too high" else u(0.0, 0.5)
    eta_h = {"learning rate too large": u(1.01, 1.06) * 2 * (1 + momentum), "learning rate too small": u(0.0005, 0.0015),
             "momentum too high": u(0.03, 0.15), "batch too small": u(0.3, 0.8)}[failure]
    start = torch.tensor([[u(-5.0, -3.0), u(1.5, 2.5)]], dtype=torch.float64)
    noisy = failure == "batch too small"
    gradient_noise = u(0.2, 0.4) * math.sqrt(float((h / 2 * start ** 2).sum())) if noisy else 0.0
    factors = []   # each recorded loss's factor: 1 at θ⁰, then, for small batches, the full loss scattered

    def gradient(theta):   # drawn in a loop's order: the scatter of L(θⁱ), then the noise of the gradient at θⁱ
        factors.append(math.exp(0.4 * float(normal())) if noisy and factors else 1.0)
        return h * theta + gradient_noise * normal(2)

    path = descend(lambda theta: (h / 2 * theta ** 2).sum(dim=-1), start, optim.Momentum, updates,
                   gradient=gradient, lr=eta_h / (2 * b), momentum=momentum)[0]
    gradient(path[-1])   # the last point's draws (its scatter, and a gradient it does not use)
    losses = (h / 2 * path ** 2).sum(dim=-1)
    return {"loss": [float(loss) * factor for loss, factor in zip(losses, factors)]}
