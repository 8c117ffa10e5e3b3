r"""Learning-rate schedules: the :math:`\eta^t` of the notes' update, a function of the step t.

.. math:: \theta_i^{t+1} = \theta_i^t - \frac{\eta^t}{\sigma_i^t}\, \hat m_i^t

(:math:`\hat m_i^t` an average of past gradients, as Adam's; the notes write :math:`m_i^t`.)

Each schedule is a plain function ``f(step, ...) -> learning rate`` with t = ``step``
counted from 0; ``torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: f(t, 1.0, ...))`` applies
one as a factor of the optimiser's η before step t.

- **decay** (学习率衰减, also called annealing, 学习率退火): step decay
  :math:`\eta^t = \eta\,\gamma^{\lfloor t/s \rfloor}`, exponential :math:`\eta\,\gamma^t`, cosine
  :math:`\eta_{\min} + \tfrac12(\eta - \eta_{\min})(1 + \cos(\pi t/T))` over a run of T steps;
- **warm-up** (预热): grow η linearly over the first :math:`T_w` steps,
  :math:`\eta^t = \eta\,(t+1)/T_w`, then decay along a cosine to :math:`\eta_{\min}` at step T;
  or the Transformer's :math:`\eta^t = d^{-1/2}\min\big((t+1)^{-1/2},\, (t+1)\,T_w^{-3/2}\big)`,
  which rises linearly for :math:`T_w` steps and then decays as :math:`1/\sqrt{t}`.

Warm-up helps adaptive optimisers because their first steps are full size (Adam's first
is exactly η·sign(g)) yet rest on one or a few noisy gradients, while σ is still estimated
from few of them, with high variance; small early steps wait until the estimate settles
(RAdam).

Bad settings (η ≤ 0, γ outside (0, 1], a warm-up as long as the run or longer, t < 0)
raise a ``ValueError`` that names the problem.
"""
import math


def _check(peak, total=None, warmup=0, step=0, lr_min=0.0):
    if not peak > 0:
        raise ValueError(f"the learning rate must be > 0, got {peak}")
    if step < 0:
        raise ValueError(f"the step t counts from 0, got {step}")
    if total is not None and total < 1:
        raise ValueError(f"the run must have at least one step, got total={total}")
    if warmup < 0:
        raise ValueError(f"warm-up must be ≥ 0 steps, got {warmup}")
    if total is not None and warmup >= total:
        raise ValueError(f"the warm-up ({warmup} steps) must be shorter than the run ({total} steps): "
                         "lengthen the run or shorten the warm-up")
    if not 0 <= lr_min <= peak:
        raise ValueError(f"lr_min must lie in [0, lr] = [0, {peak}], got {lr_min}")


def _check_decay(gamma, every=1):
    if not 0 < gamma <= 1:
        raise ValueError(f"the decay factor γ must lie in (0, 1], got {gamma}: γ > 1 would grow the learning rate")
    if every < 1:
        raise ValueError(f"the learning rate can be cut at most every step: every must be ≥ 1, got {every}")


def step_decay(step, lr, gamma=0.1, every=30):
    """η·γ^⌊t / every⌋: cut by γ every ``every`` steps."""
    _check(lr, step=step)
    _check_decay(gamma, every)
    return lr * gamma ** (step // every)


def exponential_decay(step, lr, gamma=0.99):
    """η·γᵗ."""
    _check(lr, step=step)
    _check_decay(gamma)
    return lr * gamma ** step


def cosine_decay(step, lr, total, lr_min=0.0):
    """From η down to η_min along half a cosine over ``total`` steps, then η_min."""
    _check(lr, total, step=step, lr_min=lr_min)
    t = min(step, total)
    return lr_min + 0.5 * (lr - lr_min) * (1 + math.cos(math.pi * t / total))


def warmup_cosine(step, lr, total, warmup, lr_min=0.0):
    """Linear warm-up from 0 to η over ``warmup`` steps, then cosine decay to η_min at ``total``."""
    _check(lr, total, warmup, step=step, lr_min=lr_min)
    if step < warmup:
        return lr * (step + 1) / warmup
    return cosine_decay(step - warmup, lr, total - warmup, lr_min)


def inverse_sqrt_warmup(step, d_model, warmup):
    """The Transformer's schedule: d_model^(−1/2) · min(t^(−1/2), t · warmup^(−3/2)), t = step + 1."""
    if d_model < 1 or warmup < 1:
        raise ValueError(f"need d_model ≥ 1 and warmup ≥ 1, got {d_model} and {warmup}")
    if step < 0:
        raise ValueError(f"the step t counts from 0, got {step}")
    t = step + 1
    return d_model ** -0.5 * min(t ** -0.5, t * warmup ** -1.5)
