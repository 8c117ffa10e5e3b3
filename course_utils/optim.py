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
every step, so both give the same parameters; the tests check this over 200 steps.
"""
import torch


def _check_hyperparameters(params, lr, momentum=0.0):
    params = list(params)
    if not params:
        raise ValueError("the optimiser got an empty parameter list: pass model.parameters() "
                         "of a model that has parameters")
    if not lr > 0:
        raise ValueError(f"the learning rate η must be > 0, got {lr}")
    if not 0 <= momentum < 1:
        raise ValueError(f"momentum λ must be in [0, 1), got {momentum}: with λ ≥ 1 old gradients never fade")
    return params


class SGD(torch.optim.Optimizer):
    r"""θ ← θ − η·g."""

    def __init__(self, params, lr):
        super().__init__(_check_hyperparameters(params, lr), {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            grads = [p.grad for p in group["params"] if p.grad is not None]
            params = [p for p in group["params"] if p.grad is not None]
            if params:
                torch._foreach_add_(params, grads, alpha=-group["lr"])
        return loss


class Momentum(torch.optim.Optimizer):
    r"""m ← λ·m − η·g; θ ← θ + m (the notes' form; m starts at 0)."""

    def __init__(self, params, lr, momentum):
        super().__init__(_check_hyperparameters(params, lr, momentum), {"lr": lr, "momentum": momentum})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None if closure is None else torch.enable_grad()(closure)()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            grads = [p.grad for p in params]
            movements = []
            for p in params:
                state = self.state[p]
                if "movement" not in state:
                    state["movement"] = torch.zeros_like(p)
                movements.append(state["movement"])
            torch._foreach_mul_(movements, group["momentum"])           # λ·m
            torch._foreach_add_(movements, grads, alpha=-group["lr"])   # − η·g
            torch._foreach_add_(params, movements)                      # θ + m
        return loss
