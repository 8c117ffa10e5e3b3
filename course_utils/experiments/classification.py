r"""Chapter 4's experiments: the notes' three-class surfaces, a classifier trained with each loss, and why
more data generalises (good and bad training sets, measured).

**The notes' optimisation argument**: three classes, the label is class 1
(:math:`\hat y = (1, 0, 0)`), the logits :math:`y_1, y_2` are free and :math:`y_3` is held
very negative. :func:`three_class_surface` is the loss over :math:`(y_1, y_2)` as a
:class:`~course_utils.surfaces.Surface`, so the shared harness draws it and runs any
optimiser on it. The gradients explain the picture:
:math:`\partial e_{CE}/\partial y_i = y'_i - \hat y_i`, while
:math:`\partial e_{MSE}/\partial y_i = 2y'_i\,[(y'_i - \hat y_i) - \sum_j y'_j (y'_j - \hat y_j)]`
carries a factor :math:`y'_i`, which vanishes where the softmax saturates.

**Why more data generalises** (the lecture's argument).

**The task.** One feature :math:`x`, uniform on [0, 1); the label is
:math:`\hat y = 1[x \ge b]`, flipped with probability ν (label noise). The whole
population is :math:`D_{all}`; a training set :math:`D_{train}` is N examples drawn from it.

**The hypotheses.** :math:`H` holds |H| threshold classifiers :math:`h_t(x) = 1[x \ge t]`
with :math:`t = 0, 1/|H|, \dots, (|H|-1)/|H|`. The loss is the error rate, in [0, 1]. On the
population it is known exactly, :math:`L(h_t, D_{all}) = \nu + (1 - 2\nu)\,|t - b|`, so the
best member is :math:`h^{all}`, the threshold closest to b. On a training set it is the
fraction of its examples :math:`h_t` gets wrong, and :math:`h^{train}` minimises it.

**Good and bad** (the lecture's symbols). We want
:math:`L(h^{train}, D_{all}) - L(h^{all}, D_{all}) \le \delta`. :math:`D_{train}` is *good*
when every h has :math:`|L(h, D_{train}) - L(h, D_{all})| \le \delta/2`, and *bad* otherwise;
on a good set the wish holds. With ε = δ/2 (the tolerance of Hoeffding's inequality),
Hoeffding and the union bound give :math:`P(\text{bad}) \le |H|\cdot 2e^{-2N\varepsilon^2}`.
The simulation records each set's worst gap, so P(bad) for any ε is the fraction of gaps > ε.

:func:`simulate` draws many training sets at once (one tensor of shape (sets, N), no
Python loop over sets), computes every hypothesis's training loss by counting (bucket
each x among the thresholds, then cumulative sums), and returns for each set the worst
gap :math:`\max_h |L(h, D_{train}) - L(h, D_{all})|` and :math:`L(h^{train}, D_{all})`.
"""
from dataclasses import dataclass
from functools import lru_cache

import torch

from ..classification import _check_fraction, cross_entropy, hoeffding_bound, mse_on_softmax
from ..surfaces import Surface, trajectory
from ..training import accuracy, classifier, fit, mean_loss


# --- The notes' three-class optimisation argument --------------------------------------------

#: The logit y₃ of the third class, held so low that the class never matters.
Y3 = -1000.0
#: The window of the notes' figure, and its high-loss corner: y₁ low, y₂ high, label class 1.
SURFACE_WINDOW = (-10.0, 10.0)
HIGH_LOSS_CORNER = (-8.0, 8.0)

LOSSES = {"MSE": mse_on_softmax, "cross-entropy": cross_entropy}


def three_class_surface(loss="cross-entropy", y3=Y3):
    """The loss of one example of class 1 (index 0) over the logits (y₁, y₂), with y₃ fixed, as a Surface.

    ``loss`` is "MSE" (on the softmax) or "cross-entropy". The loss accepts θ = (y₁, y₂) of any
    leading shape, so the same function draws the contours and drives an optimiser.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss must be one of {list(LOSSES)}, got {loss!r}")
    loss_fn = LOSSES[loss]

    def value(theta):
        theta = torch.as_tensor(theta, dtype=torch.float64)
        if theta.shape[-1:] != (2,):
            raise ValueError(f"θ = (y₁, y₂) must have a last dimension of 2, got shape {tuple(theta.shape)}")
        logits = torch.cat([theta, theta.new_full(theta.shape[:-1] + (1,), y3)], dim=-1).reshape(-1, 3)
        targets = torch.zeros(len(logits), dtype=torch.long)
        return loss_fn(logits, targets, reduction="none").reshape(theta.shape[:-1])

    return Surface(name=f"{loss} of softmax(y₁, y₂, {y3:g}) against class 1", loss=value,
                   xlim=SURFACE_WINDOW, ylim=SURFACE_WINDOW, labels=("$y_1$", "$y_2$"))


def descend_three_class(loss, start=HIGH_LOSS_CORNER, learning_rate=1.0, steps=100, optimizer="sgd"):
    """The path (steps + 1, 2) of an optimiser ("sgd" or "adam") on three_class_surface(loss) from ``start``."""
    makers = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}
    if optimizer not in makers:
        raise ValueError(f"optimizer must be one of {list(makers)}, got {optimizer!r}")
    return trajectory(three_class_surface(loss), start, lambda p: makers[optimizer](p, lr=learning_rate), steps)


# --- Training a classifier with each loss -----------------------------------------------------

#: What the network's output goes through before the loss. The middle one is the classic bug:
#: nn.CrossEntropyLoss applies the softmax itself, so a softmax in the model is a second one.
TRAINING_LOSSES = {
    "cross-entropy on the logits": lambda logits, y: torch.nn.functional.cross_entropy(logits, y),
    "cross-entropy after an extra softmax": lambda logits, y: torch.nn.functional.cross_entropy(
        torch.softmax(logits, dim=1), y),
    "MSE on the softmax": lambda logits, y: mse_on_softmax(logits, y),
}


def train_classifier(loss, split, epochs=15, batch_size=64, learning_rate=0.1, hidden=32, seed=0):
    """Train :func:`~course_utils.training.classifier` (logits, no softmax at the end) on a
    :class:`~course_utils.data.Split` with SGD and one of TRAINING_LOSSES (:func:`course_utils.training.fit`,
    the batches reshuffled every epoch).

    Returns the :class:`~course_utils.training.Run`; its history holds, before training and after every
    epoch, the cross-entropy of the logits on the training set and the training and validation accuracy.
    """
    if loss not in TRAINING_LOSSES:
        raise ValueError(f"loss must be one of {list(TRAINING_LOSSES)}, got {loss!r}")
    model = classifier(split.n_features, split.n_classes, width=hidden, seed=seed)
    shuffler = torch.Generator().manual_seed(seed)
    n = len(split.x_train)
    batches = (batch for _ in range(epochs) for batch in torch.randperm(n, generator=shuffler).split(batch_size))
    per_epoch = -(-n // batch_size)
    return fit(model, torch.optim.SGD(model.parameters(), lr=learning_rate), TRAINING_LOSSES[loss],
               split.x_train, split.y_train, batches,
               {"cross-entropy": lambda model: mean_loss(model, split.x_train, split.y_train, cross_entropy),
                "train accuracy": lambda model: accuracy(model, split.x_train, split.y_train),
                "validation accuracy": lambda model: accuracy(model, split.x_val, split.y_val)},
               record_at=lambda update: update % per_epoch == 0, name=loss)


# --- Why more data generalises: the simulation -------------------------------------------------

#: Training-set sizes and hypothesis-set sizes of the chapter's experiments.
N_VALUES = (10, 20, 50, 100, 200, 500, 1000)
H_SIZES = (1, 4, 16, 64, 256)
#: Training sets drawn per point (per N).
N_SETS = 10_000
#: Examples drawn at once, at most: keeps memory small for large N (the sets are still one tensor).
_CHUNK = 2_000_000


@dataclass(frozen=True)
class ThresholdTask:
    """x ~ U[0, 1), label 1[x ≥ boundary] flipped with probability ``noise``."""

    boundary: float = 0.3
    noise: float = 0.1

    def __post_init__(self):
        if not 0 < self.boundary < 1 or not 0 <= self.noise < 0.5:
            raise ValueError(f"need 0 < boundary < 1 and 0 ≤ noise < 0.5, got {self.boundary}, {self.noise}")

    def loss_all(self, thresholds):
        """L(h_t, D_all) = ν + (1 − 2ν)·|t − b| for each threshold t."""
        t = torch.as_tensor(thresholds, dtype=torch.float64)
        return self.noise + (1 - 2 * self.noise) * (t - self.boundary).abs()

    def sample(self, n_sets, n, generator):
        """``n_sets`` training sets of ``n`` examples: x (n_sets, n) and labels (n_sets, n) as bool."""
        x = torch.rand(n_sets, n, generator=generator)
        flip = torch.rand(n_sets, n, generator=generator) < self.noise
        return x, (x >= self.boundary) ^ flip


def thresholds(h_size):
    """The thresholds t = j/|H|, j = 0 … |H| − 1, of a hypothesis set of size |H|."""
    if int(h_size) != h_size or h_size < 1:
        raise ValueError(f"|H| must be a whole number ≥ 1, got {h_size}")
    return torch.arange(int(h_size), dtype=torch.float64) / h_size


def training_losses(x, labels, h_size):
    """L(h_t, D_train) for every set (row of x) and every threshold t = j/|H|: shape (sets, |H|).

    h_t errs on an example of label 1 with x < t and on one of label 0 with x ≥ t. Put each x
    in bucket k = #{t ≤ x} = ⌊x·|H|⌋ + 1; then x < t_j exactly when k ≤ j, so cumulative
    counts of labels over the buckets give every threshold's errors at once.
    """
    n_sets, n = x.shape
    buckets = (x * h_size).floor().long().clamp_(0, h_size - 1) + 1   # 1 … |H| for x in [0, 1)
    # one count per (set, bucket, label): index = 2·(set·(|H| + 1) + bucket) + label
    flat = 2 * (buckets + (h_size + 1) * torch.arange(n_sets).unsqueeze(1)) + labels
    counts = torch.bincount(flat.flatten(), minlength=2 * n_sets * (h_size + 1)).reshape(n_sets, h_size + 1, 2)
    zeros, ones = counts[..., 0], counts[..., 1]
    ones_below = ones.cumsum(1)[:, :-1]                               # label 1 with x < t_j
    zeros_at_or_above = zeros.sum(1, keepdim=True) - zeros.cumsum(1)[:, :-1]
    return (ones_below + zeros_at_or_above).double() / n


def simulate(n, h_sizes=H_SIZES, n_sets=N_SETS, task=ThresholdTask(), seed=0):
    """Draw ``n_sets`` training sets of N = ``n`` examples; for each |H| in ``h_sizes``, per set:

    ``gap``: max over h of |L(h, D_train) − L(h, D_all)|, and ``loss_all_of_h_train``:
    L(h_train, D_all). Returns {|H|: {"gap": (n_sets,), "loss_all_of_h_train": (n_sets,)}}.
    The sets of h_sizes are nested (each size must divide the largest), so one pass serves all.
    """
    if n < 1 or n_sets < 1:
        raise ValueError(f"need N ≥ 1 and at least one training set, got N={n}, sets={n_sets}")
    largest = max(h_sizes)
    if any(largest % h for h in h_sizes):
        raise ValueError(f"every |H| must divide the largest ({largest}) so the sets nest; got {tuple(h_sizes)}")
    grid = thresholds(largest)
    generator = torch.Generator().manual_seed(seed)
    chunk = max(1, _CHUNK // n)
    sizes = [min(chunk, n_sets - start) for start in range(0, n_sets, chunk)]   # many sets each, to bound memory
    losses = torch.cat([training_losses(*task.sample(size, n, generator), largest) for size in sizes])
    result = {}
    for h in h_sizes:
        columns = slice(None, None, largest // h)
        train, truth = losses[:, columns], task.loss_all(grid[columns])
        result[h] = {"gap": (train - truth).abs().max(dim=1).values,
                     "loss_all_of_h_train": truth[train.argmin(dim=1)]}
    return result


@lru_cache(maxsize=None)
def gaps(n_values=N_VALUES, h_sizes=H_SIZES, n_sets=N_SETS, seed=0):
    """{|H|: (len(n_values), n_sets) tensor of worst gaps}: the simulation for every N, cached.

    P(bad) for any ε is then ``(gaps[h] > eps).double().mean(1)``, with no new draws.
    """
    runs = [simulate(n, h_sizes, n_sets, seed=seed + i) for i, n in enumerate(n_values)]
    return {h: torch.stack([run[h]["gap"] for run in runs]) for h in h_sizes}


def probability_bad(eps, h_size, n_values=N_VALUES, n_sets=N_SETS, seed=0):
    """The measured P(D_train is bad) = fraction of sets with a gap > ε, for each N in ``n_values``."""
    _check_fraction("ε", eps)
    table = gaps(tuple(n_values), H_SIZES, n_sets, seed)
    if h_size not in table:
        raise ValueError(f"|H| must be one of the simulated sizes {H_SIZES}, got {h_size}")
    return (table[h_size] > eps).double().mean(1)


def best_loss_all(h_size, task=ThresholdTask()):
    """L(h_all, D_all): the population loss of the best member of H."""
    return task.loss_all(thresholds(h_size)).min().item()


#: The most examples :func:`guarantee_report` simulates (a prediction far beyond it is reported, not run).
_MOST_EXAMPLES = 100_000


def guarantee_report(n, delta, confidence, h_size, n_sets=4_000, seed=1):
    """A few lines that test a predicted N against the bound and against the simulation, for the wish
    L(h_train, D_all) ≤ L(h_all, D_all) + δ with probability at least ``confidence``.

    With ε = δ/2 and p = 1 − confidence, it gives the bound |H|·2·exp(−2Nε²) at N and at N − 1, and, over
    ``n_sets`` training sets of N examples, the measured fractions of bad sets (some h off by more than ε)
    and of sets on which training ends more than δ above the best in H. ``n`` is whatever was predicted:
    ``...`` (not yet), something that is not a number, or a number out of range gets a sentence instead.
    """
    if n is Ellipsis:
        return "Make your prediction first: set samples_for_guarantee above to a number, then run this cell."
    try:
        value = float(n)
    except (TypeError, ValueError):
        return f"Your prediction is {type(n).__name__}, not a number: set it to the N you worked out."
    if not value >= 1:
        return f"Your prediction N = {value:g} is not a size of a training set (at least 1 example)."
    if value > _MOST_EXAMPLES:
        return f"Your prediction N = {value:g} is more than {_MOST_EXAMPLES:,} examples: too many to simulate here."
    n, eps, p_bad = round(value), delta / 2, 1 - confidence
    run = simulate(n, h_sizes=(h_size,), n_sets=n_sets, seed=seed)[h_size]
    bad = (run["gap"] > eps).double().mean().item()
    worse = (run["loss_all_of_h_train"] - best_loss_all(h_size) > delta).double().mean().item()
    bound, below = hoeffding_bound(n, eps, h_size), hoeffding_bound(n - 1, eps, h_size)
    sets = f"{n_sets:,}".replace(",", " ")
    return "\n".join([
        f"N = {n} examples, |H| = {h_size}, δ = {delta:g}, confidence {confidence:g}:",
        f"  the bound |H|·2·exp(−2Nε²) at N:     {bound:.4g}   ({'≤' if bound <= p_bad else '>'} p = {p_bad:.2g})",
        f"  the bound at N − 1 = {n - 1}:{' ' * max(1, 13 - len(str(n - 1)))}{below:.4g}   "
        f"({'≤' if below <= p_bad else '>'} p)",
        f"  measured over {sets} training sets of N examples:",
        f"    bad (some h off by more than δ/2):              {bad:.2%}",
        f"    training ends more than δ above the best in H: {worse:.2%}",
    ])
