r"""Chapter 3's experiments: one learning rate for all directions, and what adapts it.

The notes' convex, elongated error surface is the valley

.. math:: L(\theta) = a\,\theta_1^2 + b\,\theta_2^2, \qquad a = 10^{-3},\ b = 100,

flat along :math:`\theta_1` (curvature :math:`2a`) and steep across :math:`\theta_2`
(curvature :math:`2b = 200`). Gradient descent :math:`\theta \leftarrow \theta - \eta g` multiplies
each coordinate's distance to the minimum by :math:`1 - 2a\eta` and :math:`1 - 2b\eta` per step,
so η must stay below :math:`2/(2b) = 10^{-2}` for the steep direction, and then the flat one
needs thousands of steps per unit of progress. At exactly :math:`\eta = 10^{-2}` the steep
coordinate flips sign at every step: the parameters bounce between the walls.

The adaptive optimisers divide by :math:`\sigma_i^t` per coordinate,
:math:`\theta_i^{t+1} = \theta_i^t - \eta^t \hat m_i^t / \sigma_i^t` (with :math:`\hat m` an
average of past gradients, as in Adam; not chapter 2's movement, which already contains
:math:`-\eta`), and cross the valley in a few hundred steps. Momentum tuned to the valley's two
curvatures (:func:`tuned_heavy_ball`) needs thousands. :func:`race` runs one optimiser at several
learning rates at once on the valley through the shared harness :func:`course_utils.surfaces.descend`,
for the demos; :func:`digits_experiment` trains a small network on real data.
"""
import bisect

import torch

from .. import optim, schedules
from ..data import digits
from ..surfaces import Surface, descend, trajectory
from ..training import accuracy, classifier, fit, mean_loss

#: The valley's coefficients: L = A·θ₁² + B·θ₂².
A, B = 1e-3, 100.0

#: Where every run on the valley starts.
START = (-9.0, 0.9)


def valley_loss(theta):
    """L(θ) = a·θ₁² + b·θ₂² for θ of shape (..., 2)."""
    return A * theta[..., 0] ** 2 + B * theta[..., 1] ** 2


VALLEY = Surface(name="10⁻³·θ₁² + 100·θ₂²", loss=valley_loss, xlim=(-10.0, 3.0), ylim=(-1.2, 1.2), minimum=(0.0, 0.0))


def valley_gradient(theta):
    """∇L = (2a·θ₁, 2b·θ₂), for θ of shape (..., 2)."""
    return theta * theta.new_tensor([2 * A, 2 * B])


def gd_on_valley(learning_rate, steps, start=START):
    """Gradient descent on the valley in closed form: θᵢᵗ = (1 − η·λᵢ)ᵗ θᵢ⁰ with λ = (2a, 2b).

    Exact for a quadratic, so it can answer for 100 000 steps at once; returns θᵗ as a
    float64 tensor (2,).
    """
    factors = 1 - learning_rate * torch.tensor([2 * A, 2 * B], dtype=torch.float64)
    return factors ** steps * torch.tensor(start, dtype=torch.float64)


# --- The optimisers of the chapter, by the names plotting.OPTIMISER_COLORS uses ---------

#: A readable name for each optimiser key.
NAMES = {"gd": "GD", "momentum": "momentum", "adagrad": "AdaGrad", "rmsprop": "RMSProp", "adam": "Adam",
         "adam_warmup": "Adam + warm-up"}


def make_optimizer(name, params, lr):
    """One of the chapter's optimisers, with the hyper-parameters the chapter uses besides η.

    ``params`` may be a list of tensors or of parameter groups (dicts with their own "lr").
    ``"torch_adagrad"`` is PyTorch's own ``Adagrad`` (the root of the *sum* of squares), for
    comparison with the notes' AdaGrad.
    """
    makers = {
        "torch_adagrad": lambda: torch.optim.Adagrad(params, lr=lr),
        "gd": lambda: optim.SGD(params, lr=lr),
        "momentum": lambda: optim.Momentum(params, lr=lr, momentum=0.9),
        "adagrad": lambda: optim.AdaGrad(params, lr=lr),
        "rmsprop": lambda: optim.RMSProp(params, lr=lr, alpha=0.9),
        "adam": lambda: optim.Adam(params, lr=lr),
        "adam_warmup": lambda: optim.Adam(params, lr=lr),
    }
    if name not in makers:
        raise ValueError(f"unknown optimiser {name!r}; choose one of {list(makers)}")
    return makers[name]()


#: Schedules as a factor f(t) of the peak η (the race offers the first three).
SCHEDULES = ("constant", "cosine decay", "warm-up + cosine", "step decay", "exponential decay",
             "Transformer (inverse √t)")


def schedule_factor(schedule, steps, warmup=30):
    """f(t) with ηᵗ = η·f(t) for a run of ``steps`` updates: 1; a cosine from 1 to 0; a linear
    warm-up over ``warmup`` steps, then the cosine; halving every steps/5; γ = 0.99 per step;
    or the Transformer's warm-up and 1/√t decay, scaled to peak at 1."""
    if schedule == "constant":
        return lambda t: 1.0
    if schedule == "cosine decay":
        return lambda t: schedules.cosine_decay(t, 1.0, steps)
    if schedule == "warm-up + cosine":
        return lambda t: schedules.warmup_cosine(t, 1.0, steps, warmup)
    if schedule == "step decay":
        return lambda t: schedules.step_decay(t, 1.0, gamma=0.5, every=max(1, steps // 5))
    if schedule == "exponential decay":
        return lambda t: schedules.exponential_decay(t, 1.0, gamma=0.99)
    if schedule == "Transformer (inverse √t)":
        peak = schedules.inverse_sqrt_warmup(warmup - 1, 1, warmup)
        return lambda t: schedules.inverse_sqrt_warmup(t, 1, warmup) / peak
    raise ValueError(f"unknown schedule {schedule!r}; choose one of {SCHEDULES}")


def race(name, learning_rates, schedule="constant", steps=300, start=START, warmup=30):
    """Paths of one optimiser on the valley for several peak learning rates at once.

    Every η is one row of :func:`course_utils.surfaces.descend` (one optimiser runs them all, each
    row with its own η and schedule; the optimisers work coordinate by coordinate, so the runs do
    not interact). ``schedule`` is one name of :data:`SCHEDULES` for all runs, or one per run.
    Returns a float64 tensor (len(learning_rates), steps + 1, 2); a run that diverges is NaN from
    the first point whose loss is not finite.
    """
    names = [schedule] * len(learning_rates) if isinstance(schedule, str) else list(schedule)
    if len(names) != len(learning_rates):
        raise ValueError(f"got {len(learning_rates)} learning rates but {len(names)} schedules")
    factors = [schedule_factor(s, steps, warmup) for s in names]
    return descend(VALLEY, [start] * len(learning_rates), lambda params, lr: make_optimizer(name, params, lr),
                   steps, schedule=lambda t: [factor(t) for factor in factors], gradient=valley_gradient,
                   lr=learning_rates)


# --- Momentum on the valley: chapter 2's λ, and λ tuned to the valley -------------------

def heavy_ball_on_valley(learning_rate, momentum, steps, start=START):
    r"""The loss after each of ``steps`` updates of momentum in the notes' form,
    :math:`m^i = \lambda m^{i-1} - \eta g^{i-1}`, :math:`\theta^i = \theta^{i-1} + m^i`
    (:class:`course_utils.optim.Momentum`), on the valley: a list of ``steps + 1`` losses.
    With λ = 0 it is gradient descent.
    """
    path = descend(VALLEY, [start], optim.Momentum, steps, gradient=valley_gradient, lr=learning_rate,
                   momentum=momentum)[0]
    return valley_loss(path).tolist()


def tuned_heavy_ball():
    r"""(η, λ) that make momentum converge fastest on the valley (Polyak's heavy ball; Goh 2017).

    With the smallest and largest curvature :math:`\mu = 2a`, :math:`L = 2b` and
    :math:`\kappa = L/\mu`: :math:`\eta = 4/(\sqrt L + \sqrt\mu)^2`,
    :math:`\lambda = ig((\sqrt\kappa - 1)/(\sqrt\kappa + 1)ig)^2`. These are the values of
    PyTorch's ``SGD(lr=η, momentum=λ)`` too: at a constant η the notes' form and PyTorch's make
    the same steps. The error then shrinks by :math:`\sqrt\lambda = (\sqrt\kappa-1)/(\sqrt\kappa+1)`
    per step, against :math:`(\kappa-1)/(\kappa+1)` for gradient descent at its best η.
    """
    mu, big = 2 * A, 2 * B
    root_kappa = (big / mu) ** 0.5
    return 4 / (big ** 0.5 + mu ** 0.5) ** 2, ((root_kappa - 1) / (root_kappa + 1)) ** 2


def steps_to_tolerance(losses, tolerance):
    """The first step from which the loss stays below ``tolerance`` (None if it is not below at the end)."""
    above = [t for t, loss in enumerate(losses) if not loss < tolerance]
    if above and above[-1] == len(losses) - 1:
        return None
    return above[-1] + 1 if above else 0


def gd_steps_to_tolerance(learning_rate, tolerance, start=START):
    """The same for gradient descent, from its closed form (its loss falls at every step when
    |1 − ηλᵢ| < 1 for both curvatures λᵢ); None if it never gets there."""
    factors = [(1 - learning_rate * 2 * A) ** 2, (1 - learning_rate * 2 * B) ** 2]
    if max(factors) >= 1:
        return None
    loss = lambda t: A * start[0] ** 2 * factors[0] ** t + B * start[1] ** 2 * factors[1] ** t
    high = 1
    while not loss(high) < tolerance:
        high *= 2
    return bisect.bisect_left(range(high), True, key=lambda t: loss(t) < tolerance)


# --- 1. Stuck, with a large gradient --------------------------------------------------

def stuck_run(learning_rate=1e-2, steps=200):
    """Gradient descent on the valley through the shared harness: the path, the loss and the
    gradient (norm and steep component) at every step."""
    path = trajectory(VALLEY, START, lambda p: optim.SGD(p, lr=learning_rate), steps)
    gradients = valley_gradient(path)
    return {"path": path, "loss": valley_loss(path), "gradient_norm": gradients.norm(dim=1),
            "steep_gradient": gradients[:, 1]}


# --- 6. Real data: the digits ---------------------------------------------------------

#: Peak learning rates of the digits experiment (common starting points for each optimiser).
DIGITS_LEARNING_RATES = {"gd": 0.1, "momentum": 0.1, "adagrad": 0.01, "rmsprop": 0.01, "adam": 0.01,
                         "adam_warmup": 0.01}


def digits_experiment(names=tuple(DIGITS_LEARNING_RATES), epochs=8, batch_size=64, seed=0, warmup_epochs=1):
    """Train the same network (64 pixels → 64 ReLUs → 10 classes, :func:`course_utils.training.classifier`)
    from the same start with each optimiser on scikit-learn's digits.

    Every run sees the same batches in the same order. ``adam_warmup`` is Adam with a linear
    warm-up over ``warmup_epochs`` epochs and a cosine decay to 0 at the end. Returns
    {name: Run}: each run's history holds the training and validation loss ("train", "validation")
    before training and after every epoch (a run that diverged ends both at an infinite loss), and the
    run keeps the trained model's validation accuracy.
    """
    data = digits(seed=seed)
    n = len(data.x_train)
    per_epoch = -(-n // batch_size)
    order = torch.Generator().manual_seed(seed)
    batches = [torch.randperm(n, generator=order).split(batch_size) for _ in range(epochs)]
    runs = {}
    for name in names:
        model = classifier(64, 10, width=64, seed=seed)
        optimizer = make_optimizer(name, model.parameters(), DIGITS_LEARNING_RATES[name])
        scheduler = None
        if name == "adam_warmup":
            total, warmup = epochs * per_epoch, warmup_epochs * per_epoch
            scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer, lambda t: schedules.warmup_cosine(t, 1.0, total, warmup))
        run = fit(model, optimizer, torch.nn.functional.cross_entropy, data.x_train, data.y_train,
                  (batch for epoch_batches in batches for batch in epoch_batches),
                  {"train": lambda model: mean_loss(model, data.x_train, data.y_train),
                   "validation": lambda model: mean_loss(model, data.x_val, data.y_val)},
                  record_at=lambda update: update % per_epoch == 0, scheduler=scheduler, name=NAMES[name])
        if run.diverged:   # the curves end at an infinite loss, not at the last finite epoch
            for curve in run.history.values():
                curve.append(float("inf"))
        run.validation_accuracy = accuracy(model, data.x_val, data.y_val)
        runs[name] = run
    return runs


def adam_early_steps(seed=0, steps=200, learning_rate=0.01, batch_size=64, record=(1, 2, 5, 10, 20, 50, 200)):
    r"""What Adam's first steps are made of, on the digits network with batches of ``batch_size``.

    After update t (counted from 1, as PyTorch does) Adam has moved each parameter by
    :math:`\eta\,|\hat m / (\sqrt{\hat v} + \varepsilon)|`. At t = 1, :math:`\hat m = g` and
    :math:`\hat v = g^2`, so that factor is 1 for every parameter: a step of η along the sign of
    one batch's gradient. For each t in ``record``, over the parameters whose gradients are not
    all zero: ``median_step`` (the median of that factor, so the median step is η times it),
    and ``against_full_batch`` (the fraction whose step points against the gradient of the whole
    training set at the parameters the step started from). Returns {t: {...}}. The updates are made
    by :func:`course_utils.training.fit`, which shows each batch before its update (when the
    full-batch gradient is taken) and records after it (when Adam's state is read).
    """
    data = digits(seed=seed)
    model = classifier(64, 10, width=64, seed=seed)
    params = list(model.parameters())
    optimizer = optim.Adam(params, lr=learning_rate)
    (beta1, beta2), eps = optimizer.param_groups[0]["betas"], optimizer.param_groups[0]["eps"]
    n = len(data.x_train)
    order = torch.Generator().manual_seed(seed)
    batches = torch.cat([torch.randperm(n, generator=order) for _ in range(steps * batch_size // n + 1)])
    flat = lambda tensors: torch.cat([t.flatten() for t in tensors])
    full = {}                    # t → the gradient of the whole training set where update t starts

    def before_update(model, x_batch, y_batch, t):
        if t in record:
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(data.x_train), data.y_train).backward()
            full[t] = flat(p.grad for p in params)

    def last_step(model):        # after update t = the last one in record: what it was made of
        if not full:
            return None
        t = max(full)
        m_hat = flat(optimizer.state[p]["m"] for p in params) / (1 - beta1 ** t)
        v_hat = flat(optimizer.state[p]["v"] for p in params) / (1 - beta2 ** t)
        live = v_hat > 0
        factor = (m_hat[live] / (v_hat[live].sqrt() + eps)).abs()
        return {"median_step": factor.median().item(),
                "against_full_batch": (m_hat[live].sign() * full[t][live].sign() < 0).double().mean().item(),
                "parameters": int(live.sum())}

    run = fit(model, optimizer, torch.nn.functional.cross_entropy, data.x_train, data.y_train,
              (batches[(t - 1) * batch_size:t * batch_size] for t in range(1, steps + 1)), {"step": last_step},
              record_at=lambda t: t in record, on_step=before_update)
    return {t: step for t, step in zip(run.updates, run.history["step"]) if t in record}


def digits_over_seeds(seeds=(0, 1, 2), **kwargs):
    """:func:`digits_experiment` once per seed (a new split, initialisation and batch order each
    time); returns {seed: {name: Run}}."""
    return {seed: digits_experiment(seed=seed, **kwargs) for seed in seeds}


def results_over_seeds_table(runs_by_seed):
    """Each optimiser's peak η, its training loss after the first and the last epoch, validation
    loss and accuracy: the median over the seeds, and the smallest and largest value."""
    def cell(values, spec):
        values = sorted(values)
        return f"{values[len(values) // 2]:{spec}} ({values[0]:{spec}}–{values[-1]:{spec}})"

    runs = list(runs_by_seed.values())
    lines = [f"{'optimiser':16s}{'η':>5s}{'training L, epoch 1':>24s}{'training L, last':>26s}{'validation L':>22s}"
             f"{'accuracy, %':>25s}"]
    for key in runs[0]:
        lines.append(f"{runs[0][key].name:16s}{DIGITS_LEARNING_RATES[key]:5g}"
                     f"{cell([r[key].history['train'][1] for r in runs], '.3f'):>24s}"
                     f"{cell([r[key].train_loss for r in runs], '.4f'):>26s}"
                     f"{cell([r[key].validation_loss for r in runs], '.3f'):>22s}"
                     f"{cell([r[key].validation_accuracy * 100 for r in runs], '.1f'):>25s}")
    return "\n".join(lines)


# --- the exercises' experiments: gradient descent on a quadratic, Adam's first step ---------------

def gd_on_quadratic(hessian, learning_rate, steps, start=(1.0, 1.0)):
    """Plain gradient descent θ ← θ − η·Hθ on L(θ) = ½ θᵀHθ (minimum at θ = 0) through
    :func:`course_utils.surfaces.descend`; returns the path, shape (steps + 1, n), NaN from where it
    diverges."""
    hessian = torch.as_tensor(hessian, dtype=torch.float64)
    return descend(lambda theta: 0.5 * ((theta @ hessian) * theta).sum(dim=-1), [start], torch.optim.SGD, steps,
                   gradient=lambda theta: theta @ hessian.T, lr=learning_rate)[0]


def stable_lr_by_trial(hessian, steps=1000, start=(1.0, 1.0), iterations=30):
    """The largest η at which ``steps`` steps of gradient descent on ½ θᵀHθ end no farther from the minimum
    than they started, found by trial (bisection over η), without looking at H's eigenvalues."""
    start_distance = torch.as_tensor(start, dtype=torch.float64).norm()

    def settles(learning_rate):
        return bool(gd_on_quadratic(hessian, learning_rate, steps, start)[-1].norm() <= start_distance)

    low, high = 0.0, 1.0
    while settles(high):
        low, high = high, 2 * high
    for _ in range(iterations):
        middle = (low + high) / 2
        low, high = (middle, high) if settles(middle) else (low, middle)
    return low


def adam_first_step(gradient, learning_rate, beta1, beta2, eps):
    """θ¹ − θ⁰: the first update of ``torch.optim.Adam`` from θ⁰ = 0, fed the gradient ``gradient``."""
    theta = torch.zeros_like(torch.as_tensor(gradient, dtype=torch.float64), requires_grad=True)
    adam = torch.optim.Adam([theta], lr=learning_rate, betas=(beta1, beta2), eps=eps)
    theta.grad = torch.as_tensor(gradient, dtype=torch.float64).clone()
    adam.step()
    return theta.detach().clone()
