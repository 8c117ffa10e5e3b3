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
"""
import math

import torch


def _check_hyperparameters(params, lr, momentum=0.0, eps=1.0, betas=(0.0, 0.0)):
    params = list(params)
    if not params:
        raise ValueError("the optimiser got an empty parameter list: pass model.parameters() "
                         "of a model that has parameters")
    if not lr > 0:
        raise ValueError(f"the learning rate η must be > 0, got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum λ must be in [0, 1), got {momentum}: with λ ≥ 1 old gradients never fade")
    if not eps > 0:
        raise ValueError(f"eps must be > 0 (it keeps η/σ finite where σ = 0), got {eps}")
    for name, beta in zip(("β₁ (or α)", "β₂"), betas):
        if not 0 <= beta < 1:
            raise ValueError(f"{name} must be in [0, 1), got {beta}")
    return params


def _with_grad(group):
    params = [p for p in group["params"] if p.grad is not None]
    return params, [p.grad for p in params]


def _state_tensors(optimizer, params, name, init):
    tensors = []
    for p in params:
        state = optimizer.state[p]
        if name not in state:
            state[name] = init(p)
        tensors.append(state[name])
    return tensors


def _use_foreach(params):
    """One fused kernel per operation over all tensors on a GPU; one tensor at a time on a CPU.

    The same choice as ``torch.optim``'s default: on a CPU, finishing each tensor while it is
    still in the cache beats sweeping the whole model once per operation.
    """
    return all(p.is_cuda for p in params)


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
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params, grads = _with_grad(group)
            if not params:
                continue
            if _use_foreach(params):
                torch._foreach_add_(params, grads, alpha=-group["lr"])
            else:
                for p, g in zip(params, grads):
                    p.add_(g, alpha=-group["lr"])
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
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params, grads = _with_grad(group)
            if not params:
                continue
            movements = _state_tensors(self, params, "movement", torch.zeros_like)   # m⁰ = 0
            lr, momentum = group["lr"], group["momentum"]
            if _use_foreach(params):
                torch._foreach_mul_(movements, momentum)               # λ·m
                torch._foreach_add_(movements, grads, alpha=-lr)       # − η·g
                torch._foreach_add_(params, movements)                 # θ + m
            else:
                for p, g, m in zip(params, grads, movements):
                    m.mul_(momentum).add_(g, alpha=-lr)
                    p.add_(m)
        return loss


class AdaGrad(torch.optim.Optimizer):
    r"""σ = root mean square of all past gradients; θ ← θ − η·g / (σ + ε)  (the notes' AdaGrad)."""

    def __init__(self, params, lr, eps=1e-10):
        super().__init__(_check_hyperparameters(params, lr, eps=eps), {"lr": lr, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params, grads = _with_grad(group)
            if not params:
                continue
            sums = _state_tensors(self, params, "sum_of_squares", torch.zeros_like)
            for p in params:
                self.state[p]["count"] = self.state[p].get("count", 0) + 1
            count = self.state[params[0]]["count"]
            torch._foreach_addcmul_(sums, grads, grads)
            sigma = torch._foreach_sqrt(torch._foreach_div(sums, count))
            torch._foreach_add_(sigma, group["eps"])
            torch._foreach_addcdiv_(params, grads, sigma, value=-group["lr"])
        return loss


class RMSProp(torch.optim.Optimizer):
    r"""σ² ← α·σ² + (1 − α)·g², starting from σ⁰ = |g⁰|; θ ← θ − η·g / (σ + ε)  (the notes' RMSProp)."""

    def __init__(self, params, lr, alpha=0.99, eps=1e-8):
        super().__init__(_check_hyperparameters(params, lr, eps=eps, betas=(alpha, 0.0)),
                         {"lr": lr, "alpha": alpha, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params, grads = _with_grad(group)
            if not params:
                continue
            first = "square_avg" not in self.state[params[0]]
            squares = _state_tensors(self, params, "square_avg", torch.zeros_like)
            if first:                                   # σ⁰ = |g⁰|
                torch._foreach_addcmul_(squares, grads, grads)
            else:
                torch._foreach_mul_(squares, group["alpha"])
                torch._foreach_addcmul_(squares, grads, grads, value=1 - group["alpha"])
            sigma = torch._foreach_sqrt(squares)
            torch._foreach_add_(sigma, group["eps"])
            torch._foreach_addcdiv_(params, grads, sigma, value=-group["lr"])
        return loss


class Adam(torch.optim.Optimizer):
    r"""RMSProp + momentum with bias correction; the same updates as ``torch.optim.Adam``."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(_check_hyperparameters(params, lr, eps=eps, betas=betas),
                         {"lr": lr, "betas": tuple(betas), "eps": eps})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params, grads = _with_grad(group)
            if not params:
                continue
            beta1, beta2 = group["betas"]
            m = _state_tensors(self, params, "m", torch.zeros_like)
            v = _state_tensors(self, params, "v", torch.zeros_like)
            for p in params:
                self.state[p]["step"] = self.state[p].get("step", 0) + 1
            t = self.state[params[0]]["step"]
            torch._foreach_lerp_(m, grads, 1 - beta1)                      # m ← β₁m + (1 − β₁)g
            torch._foreach_mul_(v, beta2)
            torch._foreach_addcmul_(v, grads, grads, value=1 - beta2)      # v ← β₂v + (1 − β₂)g²
            correction1, correction2 = 1 - beta1 ** t, 1 - beta2 ** t
            denominator = torch._foreach_sqrt(v)
            torch._foreach_div_(denominator, math.sqrt(correction2))
            torch._foreach_add_(denominator, group["eps"])                 # √v̂ + ε
            torch._foreach_addcdiv_(params, m, denominator, value=-group["lr"] / correction1)
        return loss
