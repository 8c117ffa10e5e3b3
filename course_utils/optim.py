r"""The notes' optimisers as ``torch.optim.Optimizer`` subclasses.

Symbols as in the notes: parameters :math:`\theta`, gradient :math:`g`, learning rate
:math:`\eta`, momentum :math:`\lambda`, movement :math:`m`.

**SGD** (plain gradient descent on whatever batch the loss was computed on):

.. math:: \theta^{i} = \theta^{i-1} - \eta\, g^{i-1}

**Momentum**, as the notes write it:

.. math::
   m^0 = 0, \qquad m^{i} = \lambda m^{i-1} - \eta g^{i-1}, \qquad \theta^{i} = \theta^{i-1} + m^{i},

so :math:`m^i = -\eta \sum_{j<i} \lambda^{i-1-j} g^j`: a weighted sum of all past gradients.

Relation to PyTorch: ``torch.optim.SGD(params, lr=η, momentum=λ)`` keeps a velocity
:math:`b^i = \lambda b^{i-1} + g^{i-1}` (with :math:`b^1 = g^0`) and steps
:math:`\theta^i = \theta^{i-1} - \eta b^i`. With a constant η, :math:`m^i = -\eta b^i` at
every step (PyTorch's ``momentum_buffer`` is our ``movement`` divided by −η), so both give
the same parameters; the tests check both facts over 200 steps. When a schedule changes η
the two part ways: ours applies the new η to new gradients only, PyTorch's rescales the
whole remembered velocity at once.

**Adaptive learning rates** divide each parameter's step by its own :math:`\sigma_i^t`:

.. math:: \theta_i^{t+1} = \theta_i^{t} - \frac{\eta}{\sigma_i^t + \varepsilon}\, g_i^t

- **AdaGrad** (the notes): :math:`\sigma_i^t = \sqrt{\tfrac{1}{t+1}\sum_{k=0}^{t} (g_i^k)^2}`, the root
  mean square of all past gradients. PyTorch's ``Adagrad`` divides by the root of the
  *sum* instead, so ours with η equals PyTorch's with learning rate
  :math:`\eta\sqrt{t+1}` at step t (and ε scaled by the same factor).
- **RMSProp** (the notes): :math:`\sigma_i^0 = |g_i^0|`,
  :math:`\sigma_i^t = \sqrt{\alpha(\sigma_i^{t-1})^2 + (1-\alpha)(g_i^t)^2}`. PyTorch's
  ``RMSprop`` starts its average at 0, so its first steps are larger by up to
  :math:`1/\sqrt{1-\alpha}`; the two averages differ by exactly :math:`\alpha^{t+1}(g_i^0)^2`.
- **Adam** = RMSProp + momentum with bias correction, identical to ``torch.optim.Adam``:

  .. math::
     m^t = \beta_1 m^{t-1} + (1-\beta_1) g^t,\quad v^t = \beta_2 v^{t-1} + (1-\beta_2)(g^t)^2,\quad
     \theta^{t+1} = \theta^t - \eta\,\frac{m^t/(1-\beta_1^{t+1})}{\sqrt{v^t/(1-\beta_2^{t+1})} + \varepsilon}

A step of AdaGrad, RMSProp or Adam allocates no memory: σ + ε is built in a work buffer
the optimiser keeps between steps. Every hyper-parameter may also be a tensor that broadcasts
against the parameters, e.g. (K, 1) for one value per row of a (K, d) parameter (Adam's ``betas``
a pair of them), as :func:`course_utils.surfaces.descend` runs K descents at once. A schedule
:math:`\eta^t` (chapter 3) is applied from outside, by a ``torch.optim.lr_scheduler`` that
rewrites ``group["lr"]``; see :mod:`course_utils.schedules`.
"""

import torch


def _check_hyperparameters(params, lr, momentum=0.0, eps=1.0, betas=(0.0, 0.0)):
    params = list(params)
    if not params:
        raise ValueError("the optimiser got an empty parameter list: pass model.parameters() "
                         "of a model that has parameters")
    if not _all(lr > 0):
        raise ValueError(f"the learning rate η must be > 0, got {lr}")
    if not (_all(momentum >= 0) and _all(momentum < 1)):
        raise ValueError(f"momentum λ must be in [0, 1), got {momentum}: with λ ≥ 1 old gradients never fade")
    if not _all(eps > 0):
        raise ValueError(f"eps must be > 0 (it keeps η/σ finite where σ = 0), got {eps}")
    for name, beta in zip(("β₁ (or α)", "β₂"), betas):
        if not (_all(beta >= 0) and _all(beta < 1)):
            raise ValueError(f"{name} must be in [0, 1), got {beta}")
    return params


def _all(condition):
    """A hyper-parameter's check, for one number or a tensor of one value per row (see :func:`_groups`)."""
    return bool(torch.as_tensor(condition).all())


def _loss(closure):
    """What ``step(closure)`` returns: the loss the closure computes (with gradients on), or None."""
    return None if closure is None else torch.enable_grad()(closure)()


def _groups(optimizer):
    """The parameter groups a step updates, as (group, its parameters that have a gradient, those
    gradients, path); path is how the update runs over the tensors:

    - ``"per row"`` where a hyper-parameter is a tensor, e.g. (K, 1): one value per row of a (K, d)
      parameter (:func:`course_utils.surfaces.descend`). ``alpha=`` and ``value=`` take only numbers,
      so this path multiplies by the tensor first, with the roundings of each row's run alone;
    - ``"foreach"``: one ``torch._foreach_*`` kernel per operation over all tensors, by default on a GPU;
    - ``"one at a time"``, by default on a CPU: as ``torch.optim`` finds, finishing each tensor while
      it is still in the cache beats sweeping the whole model once per operation.
    """
    for group in optimizer.param_groups:
        params = [p for p in group["params"] if p.grad is not None]
        if params:
            values = [v for key, value in group.items() if key != "params"
                      for v in (value if isinstance(value, tuple) else (value,))]
            foreach = all(p.is_cuda for p in params) if group.get("foreach") is None else group["foreach"]
            path = "per row" if any(torch.is_tensor(v) for v in values) else "foreach" if foreach else "one at a time"
            yield group, params, [p.grad for p in params], path


def _state_tensors(optimizer, params, name, init):
    tensors = []
    for p in params:
        state = optimizer.state[p]
        if name not in state:
            state[name] = init(p)
        tensors.append(state[name])
    return tensors


class SGD(torch.optim.Optimizer):
    r"""Plain (minibatch) gradient descent, the update of chapter 0.

    .. math:: \theta^{i} = \theta^{i-1} - \eta\, g^{i-1}

    where :math:`g^{i-1}` is the gradient of the loss of the batch used for update i.
    The same parameters as ``torch.optim.SGD(params, lr=η)``.

    Args:
        params: the parameters θ (e.g. ``model.parameters()``), not empty.
        lr: the learning rate η > 0.
    """

    def __init__(self, params, lr):
        super().__init__(_check_hyperparameters(params, lr), {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _loss(closure)
        for group, params, grads, path in _groups(self):
            lr = group["lr"]
            if path == "per row":
                for rows, g in zip(params, grads):
                    rows.addcmul_(g, -lr)                             # θ − η·g, η one per row
            elif path == "foreach":
                torch._foreach_add_(params, grads, alpha=-lr)
            else:
                for p, g in zip(params, grads):
                    p.add_(g, alpha=-lr)                              # θ − η·g
        return loss


class Momentum(torch.optim.Optimizer):
    r"""Gradient descent with momentum, in the notes' form.

    .. math::
       m^0 = 0, \qquad m^{i} = \lambda m^{i-1} - \eta\, g^{i-1}, \qquad \theta^{i} = \theta^{i-1} + m^{i},

    so the movement is a weighted sum of all past gradients,
    :math:`m^i = -\eta \sum_{j=0}^{i-1} \lambda^{i-1-j} g^j`, kept per parameter in
    ``optimizer.state[p]["movement"]``.

    Equal to ``torch.optim.SGD(params, lr=η, momentum=λ)`` at constant η: PyTorch keeps
    :math:`b^i = \lambda b^{i-1} + g^{i-1}` and steps :math:`\theta^i = \theta^{i-1} - \eta b^i`,
    so :math:`m^i = -\eta\, b^i` (its ``momentum_buffer`` times −η is our ``movement``).

    Args:
        params: the parameters θ (e.g. ``model.parameters()``), not empty.
        lr: the learning rate η > 0.
        momentum: λ in [0, 1); λ = 0 is plain gradient descent.
    """

    def __init__(self, params, lr, momentum):
        super().__init__(_check_hyperparameters(params, lr, momentum), {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _loss(closure)
        for group, params, grads, path in _groups(self):
            movements = _state_tensors(self, params, "movement", torch.zeros_like)   # m⁰ = 0
            lr, momentum = group["lr"], group["momentum"]
            if path == "per row":
                for rows, g, m in zip(params, grads, movements):      # λ and η: one per row
                    rows.add_(m.mul_(momentum).addcmul_(g, -lr))
            elif path == "foreach":
                torch._foreach_mul_(movements, momentum)               # λ·m
                torch._foreach_add_(movements, grads, alpha=-lr)       # − η·g
                torch._foreach_add_(params, movements)                 # θ + m
            else:
                for p, g, m in zip(params, grads, movements):
                    m.mul_(momentum).add_(g, alpha=-lr)
                    p.add_(m)
        return loss


def _workspace(optimizer, params, separate):
    """Work tensors shaped like ``params`` for σ + ε, carved from buffers the optimiser keeps
    between steps (outside its state_dict), so that a step allocates no memory.

    ``separate``: disjoint views, one per tensor, for ``torch._foreach_*`` ops; otherwise every
    view starts at the same place, for a loop that finishes one tensor before the next (the
    buffer then stays in the cache).
    """
    buffers = optimizer.__dict__.setdefault("_workspace", {})
    need = {}
    for p in params:
        key = (p.device, p.dtype)
        need[key] = need.get(key, 0) + p.numel() if separate else max(need.get(key, 0), p.numel())
    for key, size in need.items():
        if key not in buffers or buffers[key].numel() < size:
            buffers[key] = torch.empty(size, device=key[0], dtype=key[1])
    views, offsets = [], {}
    for p in params:
        key = (p.device, p.dtype)
        start = offsets.get(key, 0)
        views.append(buffers[key][start:start + p.numel()].view_as(p))
        if separate:
            offsets[key] = start + p.numel()
    return views


def _count_steps(optimizer, params, name):
    """Add one to each parameter's step counter ``state[name]`` and return the counts."""
    counts = []
    for p in params:
        state = optimizer.state[p]
        state[name] = state.get(name, 0) + 1
        counts.append(state[name])
    return counts


class AdaGrad(torch.optim.Optimizer):
    r"""AdaGrad as the notes define it: η divided by the root *mean* square of all past gradients.

    .. math::
       \sigma_i^t = \sqrt{\frac{1}{t+1}\sum_{k=0}^{t} (g_i^k)^2}, \qquad
       \theta_i^{t+1} = \theta_i^t - \frac{\eta}{\sigma_i^t + \varepsilon}\, g_i^t

    ``state[p]["sum_of_squares"]`` holds :math:`\sum_k (g_i^k)^2` and ``state[p]["count"]``
    holds t + 1.

    Relation to PyTorch: ``torch.optim.Adagrad`` divides by :math:`\sqrt{\sum_k (g_i^k)^2} + \varepsilon`,
    the root of the *sum*. Since :math:`\sigma_i^t = \sqrt{\sum_k (g_i^k)^2}\,/\sqrt{t+1}`, ours with
    (η, ε) makes exactly the steps of PyTorch's with learning rate :math:`\eta\sqrt{t+1}` and
    eps :math:`\varepsilon\sqrt{t+1}` at step t (tested). Read the other way, PyTorch's Adagrad is
    the notes' AdaGrad with the decay :math:`\eta^t = \eta/\sqrt{t+1}` built in.

    Args:
        params: the parameters θ, not empty.
        lr: the learning rate η > 0.
        eps: ε > 0, keeps the step finite where σ = 0.
        foreach: one ``torch._foreach_*`` kernel per operation over all tensors (the default
            on a GPU) or one tensor at a time (the default on a CPU, where it is quicker).
    """

    def __init__(self, params, lr, eps=1e-10, foreach=None):
        super().__init__(_check_hyperparameters(params, lr, eps=eps), {"lr": lr, "eps": eps, "foreach": foreach})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _loss(closure)
        for group, params, grads, path in _groups(self):
            sums = _state_tensors(self, params, "sum_of_squares", torch.zeros_like)
            counts = _count_steps(self, params, "count")                  # t + 1
            lr, eps = group["lr"], group["eps"]
            sigmas = _workspace(self, params, separate=path == "foreach")
            if path == "per row":                                          # η, ε: one per row
                for rows, g, s, sigma, n in zip(params, grads, sums, sigmas, counts):
                    s.addcmul_(g, g)
                    torch.div(s, n, out=sigma).sqrt_().add_(eps)
                    rows.addcdiv_(-lr * g, sigma)
            elif path == "foreach":
                torch._foreach_addcmul_(sums, grads, grads)                # Σ (gᵏ)²
                torch._foreach_copy_(sigmas, sums)
                torch._foreach_div_(sigmas, counts)                        # mean of the squares
                torch._foreach_sqrt_(sigmas)                               # σ: their root
                torch._foreach_add_(sigmas, eps)
                torch._foreach_addcdiv_(params, grads, sigmas, value=-lr)  # θ − η·g/(σ + ε)
            else:
                for p, g, s, sigma, n in zip(params, grads, sums, sigmas, counts):
                    s.addcmul_(g, g)
                    torch.div(s, n, out=sigma).sqrt_().add_(eps)
                    p.addcdiv_(g, sigma, value=-lr)
        return loss


class RMSProp(torch.optim.Optimizer):
    r"""RMSProp as the notes define it: an exponential average of squared gradients, started at the first.

    .. math::
       \sigma_i^0 = |g_i^0|, \qquad
       \sigma_i^t = \sqrt{\alpha(\sigma_i^{t-1})^2 + (1-\alpha)(g_i^t)^2}, \qquad
       \theta_i^{t+1} = \theta_i^t - \frac{\eta}{\sigma_i^t + \varepsilon}\, g_i^t

    with 0 ≤ α < 1: a small α trusts the newest gradient, a large α the past.
    ``state[p]["square_avg"]`` holds :math:`(\sigma_i^t)^2`.

    Relation to PyTorch: ``torch.optim.RMSprop(params, lr=η, alpha=α)`` starts its average at
    0, :math:`v^t = \alpha v^{t-1} + (1-\alpha)(g^t)^2` with :math:`v^{-1} = 0`. The two averages
    differ by exactly :math:`(\sigma_i^t)^2 - v_i^t = \alpha^{t+1}(g_i^0)^2` when both see the same
    gradients (tested), so PyTorch's first steps are larger, the first by
    :math:`1/\sqrt{1-\alpha}` (10× for α = 0.99), and the two agree once :math:`\alpha^{t+1}` is
    negligible. Ours takes a first step of size η in every coordinate.

    Args:
        params: the parameters θ, not empty.
        lr: the learning rate η > 0.
        alpha: α in [0, 1).
        eps: ε > 0.
        foreach: as for :class:`AdaGrad`.
    """

    def __init__(self, params, lr, alpha=0.99, eps=1e-8, foreach=None):
        super().__init__(_check_hyperparameters(params, lr, eps=eps, betas=(alpha, 0.0)),
                         {"lr": lr, "alpha": alpha, "eps": eps, "foreach": foreach})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _loss(closure)
        for group, params, grads, path in _groups(self):
            # σ² starts at (g⁰)²: the update below then leaves it there, so σ⁰ = |g⁰|.
            squares = _state_tensors(self, params, "square_avg", lambda p: p.grad * p.grad)
            lr, alpha, eps = group["lr"], group["alpha"], group["eps"]
            sigmas = _workspace(self, params, separate=path == "foreach")
            if path == "per row":                                                 # η, α, ε: one per row
                for rows, g, s, sigma in zip(params, grads, squares, sigmas):
                    s.mul_(alpha).addcmul_((1 - alpha) * g, g)
                    torch.sqrt(s, out=sigma).add_(eps)
                    rows.addcdiv_(-lr * g, sigma)
            elif path == "foreach":
                torch._foreach_mul_(squares, alpha)
                torch._foreach_addcmul_(squares, grads, grads, value=1 - alpha)   # σ² ← ασ² + (1 − α)g²
                torch._foreach_copy_(sigmas, squares)
                torch._foreach_sqrt_(sigmas)
                torch._foreach_add_(sigmas, eps)
                torch._foreach_addcdiv_(params, grads, sigmas, value=-lr)         # θ − η·g/(σ + ε)
            else:
                for p, g, s, sigma in zip(params, grads, squares, sigmas):
                    s.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                    torch.sqrt(s, out=sigma).add_(eps)
                    p.addcdiv_(g, sigma, value=-lr)
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adam = RMSProp + momentum, with bias correction: the same updates as ``torch.optim.Adam``.

    .. math::
       m^t = \beta_1 m^{t-1} + (1-\beta_1)\, g^t, \qquad
       v^t = \beta_2 v^{t-1} + (1-\beta_2)\, (g^t)^2, \qquad m^{-1} = v^{-1} = 0,

       \hat m^t = \frac{m^t}{1-\beta_1^{t+1}}, \qquad \hat v^t = \frac{v^t}{1-\beta_2^{t+1}}, \qquad
       \theta^{t+1} = \theta^t - \eta\, \frac{\hat m^t}{\sqrt{\hat v^t} + \varepsilon}

    (every operation entry by entry). :math:`m^t` is momentum's weighted sum of past gradients
    (chapter 2), :math:`\sqrt{v^t}` is RMSProp's σ. Both averages start at 0, which biases them
    towards 0 for the first steps; dividing by :math:`1-\beta^{t+1}` (the total weight the
    average has given to gradients so far) removes that bias, so the first step has size
    about η in every coordinate. ``state[p]`` holds ``m``, ``v`` and ``step`` (t + 1, as
    PyTorch counts).

    The operations are PyTorch's, in PyTorch's order, so the parameters agree with
    ``torch.optim.Adam(params, lr=η, betas=(β₁, β₂), eps=ε)`` to rounding (tested over 200 steps).

    Args:
        params: the parameters θ, not empty.
        lr: the learning rate η > 0.
        betas: (β₁, β₂), each in [0, 1).
        eps: ε > 0.
        foreach: as for :class:`AdaGrad`.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, foreach=None):
        betas = tuple(betas)
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (β₁, β₂), got {betas}")
        super().__init__(_check_hyperparameters(params, lr, eps=eps, betas=betas),
                         {"lr": lr, "betas": betas, "eps": eps, "foreach": foreach})

    @torch.no_grad()
    def step(self, closure=None):
        loss = _loss(closure)
        for group, params, grads, path in _groups(self):
            (beta1, beta2), lr, eps = group["betas"], group["lr"], group["eps"]
            m = _state_tensors(self, params, "m", torch.zeros_like)
            v = _state_tensors(self, params, "v", torch.zeros_like)
            steps = _count_steps(self, params, "step")
            step_sizes = [-lr / (1 - beta1 ** t) for t in steps]              # −η/(1 − β₁ᵗ⁺¹)
            root_corrections = [(1 - beta2 ** t) ** 0.5 for t in steps]       # √(1 − β₂ᵗ⁺¹)
            denominators = _workspace(self, params, separate=path == "foreach")
            tensors = zip(params, grads, m, v, denominators, step_sizes, root_corrections)
            if path == "per row":                                             # η, β₁, β₂, ε: one per row
                for p, g, m_i, v_i, d, size, root in tensors:
                    m_i.lerp_(g, 1 - beta1)
                    v_i.mul_(beta2).addcmul_((1 - beta2) * g, g)
                    torch.sqrt(v_i, out=d).div_(root).add_(eps)
                    p.addcdiv_(size * m_i, d)
            elif path == "foreach":
                torch._foreach_lerp_(m, grads, 1 - beta1)                     # m ← β₁m + (1 − β₁)g
                torch._foreach_mul_(v, beta2)
                torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)     # v ← β₂v + (1 − β₂)g²
                torch._foreach_copy_(denominators, v)
                torch._foreach_sqrt_(denominators)
                torch._foreach_div_(denominators, root_corrections)
                torch._foreach_add_(denominators, eps)                        # √v̂ + ε
                torch._foreach_addcdiv_(params, m, denominators, step_sizes)  # θ − η·m̂/(√v̂ + ε)
            else:
                for p, g, m_i, v_i, d, size, root in tensors:
                    m_i.lerp_(g, 1 - beta1)
                    v_i.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    torch.sqrt(v_i, out=d).div_(root).add_(eps)
                    p.addcdiv_(m_i, d, value=size)
        return loss
