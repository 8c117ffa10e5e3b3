r"""Learning-rate schedules: :math:`\eta^t` as a function of the step t.

Each schedule is a plain function ``f(step) -> learning rate``; :func:`as_scheduler`
turns one into a ``torch.optim.lr_scheduler.LambdaLR`` for any optimiser.

- decay: step decay :math:`\eta^t = \eta\,\gamma^{\lfloor t/s \rfloor}`, exponential
  :math:`\eta\,\gamma^t`, cosine :math:`\eta_{\min} + \tfrac12(\eta - \eta_{\min})(1 + \cos(\pi t/T))`;
- warm-up: grow η linearly for the first :math:`T_w` steps, then decay (cosine); or the
  Transformer's :math:`d^{-1/2}\min(t^{-1/2},\, t\,T_w^{-3/2})`.

Warm-up helps adaptive optimisers because σ is estimated from few gradients at the
start, with high variance; small early steps wait until the estimate settles (RAdam).
"""
import math

import torch


def _check(peak, total=None, warmup=0):
    if not peak > 0:
        raise ValueError(f"the learning rate must be > 0, got {peak}")
    if total is not None and total < 1:
        raise ValueError(f"the run must have at least one step, got total={total}")
    if warmup < 0:
        raise ValueError(f"warm-up must be ≥ 0 steps, got {warmup}")
    if total is not None and warmup >= total:
        raise ValueError(f"the warm-up ({warmup} steps) must be shorter than the run ({total} steps)")


def step_decay(step, lr, gamma=0.1, every=30):
    """η·γ^⌊t / every⌋."""
    _check(lr)
    return lr * gamma ** (step // every)


def exponential_decay(step, lr, gamma=0.99):
    """η·γᵗ."""
    _check(lr)
    return lr * gamma ** step


def cosine_decay(step, lr, total, lr_min=0.0):
    """From η down to η_min along half a cosine over ``total`` steps, then η_min."""
    _check(lr, total)
    t = min(step, total)
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * t / total))


def warmup_cosine(step, lr, total, warmup, lr_min=0.0):
    """Linear warm-up from 0 to η over ``warmup`` steps, then cosine decay to η_min at ``total``."""
    _check(lr, total, warmup)
    if step < warmup:
        return lr * (step + 1) / warmup
    return cosine_decay(step - warmup, lr, total - warmup, lr_min)


def inverse_sqrt_warmup(step, d_model, warmup):
    """The Transformer's schedule: d_model^(−1/2) · min(t^(−1/2), t · warmup^(−3/2)), t = step + 1."""
    if d_model < 1 or warmup < 1:
        raise ValueError(f"need d_model ≥ 1 and warmup ≥ 1, got {d_model} and {warmup}")
    t = step + 1
    return d_model ** -0.5 * min(t ** -0.5, t * warmup ** -1.5)


def as_scheduler(optimizer, schedule):
    """A LambdaLR that sets every group's learning rate to ``schedule(step)`` at each step."""
    base = [group["lr"] for group in optimizer.param_groups]
    if any(b <= 0 for b in base):
        raise ValueError("the optimiser's learning rates must be > 0 to be rescaled by a schedule")
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, [lambda step, b=b: schedule(step) / b for b in base])
