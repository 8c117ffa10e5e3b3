r"""Classification: softmax, its losses, and how much data makes a training set trustworthy.

**Softmax** turns scores (logits) :math:`y` into probabilities
:math:`y'_i = e^{y_i} / \sum_j e^{y_j}`: each in (0, 1), summing to 1, and the gaps widened.
Subtracting :math:`\max_j y_j` first changes nothing mathematically and keeps
:math:`e^{y}` from overflowing; :math:`\log\sum_j e^{y_j}` (log-sum-exp) is computed the
same way.

**Cross-entropy** with a one-hot label :math:`\hat y` (class c) is
:math:`e = -\sum_i \hat y_i \ln y'_i = -y_c + \log\sum_j e^{y_j}`; minimising it maximises
the likelihood of the labels. **MSE on the softmax** is
:math:`\sum_i (\hat y_i - y'_i)^2`, whose surface is flat where the wrong class dominates.

**Generalisation** (the lecture's notation): we want the trained hypothesis to be at most δ
worse on all data than the best one, :math:`L(h^{train}, D_{all}) - L(h^{all}, D_{all}) \le \delta`.
That holds when the training set is *good*, :math:`|L(h, D_{train}) - L(h, D_{all})| \le \delta/2`
for every h in H. Write ε = δ/2, the tolerance in Hoeffding's inequality: for a loss in [0, 1]
and N i.i.d. examples, :math:`P(\text{bad due to } h) \le 2e^{-2N\varepsilon^2}`, and the union
bound over a finite hypothesis set gives
:math:`P(\text{bad}) \le |H|\cdot 2e^{-2N\varepsilon^2}`. Making that at most a failure
probability p needs :math:`N \ge \ln(2|H|/p) / (2\varepsilon^2)`; the other way round, N
examples guarantee :math:`\varepsilon = \sqrt{\ln(2|H|/p) / (2N)}` (so δ = 2ε) with
probability ≥ 1 − p.
"""
import math

import torch


def _check_inputs(logits, targets):
    if not torch.is_tensor(logits) or not logits.is_floating_point():
        raise TypeError(f"logits must be a floating-point tensor, got {getattr(logits, 'dtype', type(logits).__name__)}")
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, classes), got {tuple(logits.shape)}")
    _check_targets(targets, logits.shape[0], logits.shape[1])


def _check_targets(targets, n, n_classes):
    if not torch.is_tensor(targets) or targets.dtype not in (torch.int64, torch.int32):
        raise TypeError("targets must be an integer tensor of class indices (dtype torch.long)")
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},), one class index per row of logits; got {tuple(targets.shape)}")
    if len(targets) and (targets.min() < 0 or targets.max() >= n_classes):
        raise ValueError(f"targets must be class indices in [0, {n_classes - 1}], got values from "
                         f"{targets.min().item()} to {targets.max().item()}")


def _reduce(per_example, reduction):
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none' (as in PyTorch), got {reduction!r}")
    return {"mean": per_example.mean, "sum": per_example.sum, "none": lambda: per_example}[reduction]()


def softmax(logits, dim=-1):
    """exp(y − max y) / Σ exp(y − max y): the probabilities of each class."""
    if not torch.is_tensor(logits) or not logits.is_floating_point():
        got = getattr(logits, "dtype", type(logits).__name__)
        raise TypeError(f"softmax needs a floating-point tensor of logits, got {got}")
    shifted = logits - logits.max(dim=dim, keepdim=True).values
    e = shifted.exp()
    return e / e.sum(dim=dim, keepdim=True)


def log_sum_exp(logits, dim=-1):
    """log Σ exp(y), computed as max y + log Σ exp(y − max y) so that it never overflows."""
    top = logits.max(dim=dim, keepdim=True).values
    return (top + (logits - top).exp().sum(dim=dim, keepdim=True).log()).squeeze(dim)


def one_hot(targets, n_classes):
    """The one-hot vectors ŷ (N, C) of class indices (N,): 1 at the class, 0 elsewhere (float)."""
    if not torch.is_tensor(targets) or targets.ndim != 1:
        raise ValueError(f"targets must be a 1-D tensor of class indices, got {getattr(targets, 'shape', targets)!r}")
    _check_targets(targets, len(targets), n_classes)
    return torch.nn.functional.one_hot(targets.long(), n_classes).to(torch.get_default_dtype())


def cross_entropy(logits, targets, reduction="mean"):
    """Cross-entropy of logits (N, C) against class indices (N,): e = −y_c + log Σⱼ exp(yⱼ) per example.

    Takes logits, like ``torch.nn.functional.cross_entropy``: the softmax is inside, as
    log-sum-exp, so it never overflows. ``reduction``: "mean" (L = (1/N) Σₙ eₙ), "sum" or "none".
    """
    _check_inputs(logits, targets)
    picked = logits.gather(1, targets.long().unsqueeze(1)).squeeze(1)
    return _reduce(log_sum_exp(logits, dim=1) - picked, reduction)


def mse_on_softmax(logits, targets, reduction="mean"):
    """e = Σᵢ (ŷᵢ − y'ᵢ)² per example, with one-hot ŷ and y' = softmax(y); reduced like cross_entropy."""
    _check_inputs(logits, targets)
    one_hot = torch.nn.functional.one_hot(targets.long(), logits.shape[1]).to(logits.dtype)
    return _reduce(((one_hot - softmax(logits, dim=1)) ** 2).sum(dim=1), reduction)


def _check_fraction(name, value):
    if not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1), got {value}")


def hoeffding_bound(n, eps, h_size=1):
    """|H|·2·exp(−2Nε²): an upper bound on P(the training set is bad for some h in H)."""
    _check_fraction("ε", eps)
    if n < 0 or h_size < 1:
        raise ValueError(f"need N ≥ 0 and |H| ≥ 1, got N={n}, |H|={h_size}")
    return h_size * 2 * math.exp(-2 * n * eps ** 2)


def samples_needed(eps, p_bad, h_size=1):
    """The smallest N with |H|·2·exp(−2Nε²) ≤ p, i.e. ⌈ln(2|H|/p) / (2ε²)⌉ (ε = δ/2, p = ``p_bad``)."""
    _check_fraction("ε", eps)
    _check_fraction("p", p_bad)
    if h_size < 1:
        raise ValueError(f"|H| must be ≥ 1, got {h_size}")
    return math.ceil(math.log(2 * h_size / p_bad) / (2 * eps ** 2))


def guaranteed_epsilon(n, p_bad, h_size=1):
    """ε = √(ln(2|H|/p) / (2N)): with probability ≥ 1 − p (p = ``p_bad``) every h in H has
    |L(h, D_train) − L(h, D_all)| ≤ ε = δ/2, so L(h_train, D_all) ≤ L(h_all, D_all) + δ."""
    _check_fraction("p", p_bad)
    if n < 1 or h_size < 1:
        raise ValueError(f"need N ≥ 1 and |H| ≥ 1, got N={n}, |H|={h_size}")
    return math.sqrt(math.log(2 * h_size / p_bad) / (2 * n))
