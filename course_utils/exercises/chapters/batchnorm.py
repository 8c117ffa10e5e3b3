"""Chapter 5, batch normalisation: the training-mode forward pass, the moving averages, the eval-mode output;
then two predictions (a trained layer's evaluation output, a running mean after a few batches) and a
diagnosis (which mode a BN network was in, from a record of its running mean and test accuracy).

References are in :mod:`course_utils.batchnorm`. Each :class:`Mistake` is a wrong answer students
commonly write; when a result matches it, the verdict names it. Cases use a large ε now and then
(so that forgetting ε shows) and p away from ½ (so that swapping p and 1 − p shows). A drawn problem
is redrawn until every named mistake gives a value clearly apart from the right one and from each other,
so that the verdict can tell them apart.
"""
import math

import torch

from ... import batchnorm
from ..cases import coin, integer, normal, record_case, uniform
from ..compare import close_number, same_label, same_tensors
from ..registry import Case, Exercise, Mistake, label_mistakes

NOTEBOOK = "05_batch_normalization"


def _features(rng, batch=None):
    batch, features = batch or integer(rng, 2, 8), integer(rng, 1, 5)
    scale = normal(rng, features).abs() * 2 + 0.5
    return normal(rng, batch, features) * scale + normal(rng, features, scale=3.0)


def _eps(rng):
    return uniform(rng, 0.05, 0.5) if coin(rng) else 1e-5


def _train_case(rng):
    z = _features(rng)
    c = z.shape[1]
    return Case((z, normal(rng, c).abs() + 0.5, normal(rng, c), _eps(rng)))


def _running_case(rng):
    z = _features(rng)
    c = z.shape[1]
    return Case((normal(rng, c), normal(rng, c).abs() + 0.5, z, uniform(rng, 0.6, 0.99)))


def _eval_case(rng):
    z = _features(rng, batch=integer(rng, 1, 6))
    c = z.shape[1]
    return Case((z, normal(rng, c, scale=2.0), normal(rng, c).abs() * 3 + 0.5, normal(rng, c).abs() + 0.5,
                 normal(rng, c), _eps(rng)))


_Z = torch.tensor([[1.0, 10.0, -2.0], [2.0, 30.0, -2.5], [4.0, 20.0, -1.0], [5.0, 0.0, -3.5]])
_GAMMA, _BETA = torch.tensor([1.0, 2.0, 0.5]), torch.tensor([0.0, -1.0, 3.0])


def _biased_std(z, eps):
    return torch.sqrt(z.var(dim=0, unbiased=False) + eps)


# --- predict: a trained layer's output in evaluation mode -------------------------------------------

def eval_output(problem):
    """ẑ of the first example z[0] in evaluation mode: γ·(z[0] − μ̄)/√(v̄ + ε) + β (the rest of the batch plays
    no part)."""
    z0 = float(problem["z"][0])
    return problem["gamma"] * (z0 - problem["running_mean"]) / math.sqrt(problem["running_var"] + problem["eps"]) \
        + problem["beta"]


def _eval_with(problem, root=math.sqrt, eps_inside=True, **changed):
    """γ·(z[0] − μ̄)/√(v̄ + ε) + β with some of the problem's numbers (or the root, or where ε goes)
    changed."""
    p = dict(problem, **changed)
    scale = root(p["running_var"] + p["eps"]) if eps_inside else root(p["running_var"]) + p["eps"]
    return p["gamma"] * (float(p["z"][0]) - p["running_mean"]) / scale + p["beta"]


def _batch_statistics(problem):
    z = problem["z"].double()
    return {"running_mean": float(z.mean()), "running_var": float(z.var(unbiased=False))}


EVAL_OUTPUT_MISTAKES = [
    Mistake("in evaluation mode BN does not look at the batch at all: it uses the moving averages μ̄ and v̄ kept "
            "during training, so the other examples of the batch play no part (you used the batch's own mean and "
            "variance, as in training mode)",
            lambda p: _eval_with(p, **_batch_statistics(p))),
    Mistake("you forgot ε: the denominator is √(v̄ + ε), and this layer's ε is large enough to matter",
            lambda p: _eval_with(p, eps=0.0)),
    Mistake("v̄ is a variance, σ̄²: divide by its square root √(v̄ + ε), the standard deviation, not by v̄ + ε",
            lambda p: _eval_with(p, root=lambda v: v)),
    Mistake("ε goes under the square root: √(v̄ + ε), not √v̄ + ε",
            lambda p: _eval_with(p, eps_inside=False)),
    Mistake("γ scales and β shifts: ẑ = γ·z̃ + β (you swapped them)",
            lambda p: _eval_with(p, gamma=p["beta"], beta=p["gamma"])),
    Mistake("you stopped at z̃: the layer's output is γ·z̃ + β, in evaluation mode too",
            lambda p: _eval_with(p, gamma=1.0, beta=0.0)),
]


def _apart(values, relative=0.03, between_mistakes=0.01, absolute=0.02):
    """True when the right value (the first) is more than 3 % (and 0.02) away from every wrong one, and the wrong
    ones more than 1 % from each other (ten times the tolerance: the verdict names the right mistake)."""
    def far(a, b, share):
        return abs(a - b) > max(absolute, share * max(abs(a), abs(b)))

    right, *wrong = values
    return all(far(right, w, relative) for w in wrong) and \
        all(far(a, b, between_mistakes) for i, a in enumerate(wrong) for b in wrong[i + 1:])


def _eval_problem(rng):
    """A trained BatchNorm1d(1): its moving averages, γ, β and a large ε, and a batch whose own statistics are
    far from the moving averages (a test batch from elsewhere), so that using them shows."""
    while True:
        running_mean, running_var = uniform(rng, -2.0, 2.0), uniform(rng, 0.3, 4.0)
        batch = integer(rng, 3, 6)
        shift = uniform(rng, 1.0, 3.0) * (1 if coin(rng) else -1)
        z = (normal(rng, batch, scale=uniform(rng, 0.3, 3.0)) + running_mean + shift).round(decimals=2)
        problem = {"z": z, "running_mean": running_mean, "running_var": running_var,
                   "gamma": uniform(rng, 0.3, 3.0), "beta": uniform(rng, -2.0, 2.0),
                   "eps": [0.1, 0.2, 0.25, 0.5][integer(rng, 0, 3)]}
        values = [eval_output(problem)] + [mistake.answer(problem) for mistake in EVAL_OUTPUT_MISTAKES]
        if abs(float(z[0]) - running_mean) > 0.5 and abs(float(z.mean()) - running_mean) > 0.5 \
                and abs(problem["running_var"] + problem["eps"] - 1) > 0.3 and _apart(values):
            return Case((problem,))


# --- predict: the running mean after a few batches ------------------------------------------------------

def running_mean_after(problem):
    """PyTorch's running_mean after the batches whose means are ``batch_means``: it starts at 0 and each
    training batch moves it by μ̄ ← (1 − momentum)·μ̄ + momentum·μᵗ (momentum = 1 − p)."""
    mean = 0.0
    for batch_mean in problem["batch_means"].tolist():
        mean = (1 - problem["momentum"]) * mean + problem["momentum"] * batch_mean
    return mean


def _running_from(start, means, weight_of_old):
    for batch_mean in means:
        start = weight_of_old * start + (1 - weight_of_old) * batch_mean
    return float(start)


RUNNING_MEAN_MISTAKES = [
    Mistake("PyTorch's momentum is the weight of the *new* batch, 1 − p: μ̄ ← (1 − momentum)·μ̄ + momentum·μᵗ "
            "(you gave the new batch the weight 1 − momentum)",
            lambda p: _running_from(0.0, p["batch_means"].tolist(), p["momentum"])),
    Mistake("a moving average is not the plain average of the batch means: each update keeps 1 − momentum of "
            "the old value, starting from μ̄ = 0",
            lambda p: float(p["batch_means"].double().mean())),
    Mistake("the running mean does not start at the first batch's mean: it starts at 0 (PyTorch's initial "
            "value), and the first batch moves it only by momentum·μ¹",
            lambda p: _running_from(p["batch_means"][0].item(), p["batch_means"][1:].tolist(),
                                    1 - p["momentum"])),
    Mistake("the running mean is not the last batch's mean: it moves only a fraction momentum of the way "
            "towards each new batch",
            lambda p: float(p["batch_means"][-1])),
    Mistake("one update too few: every one of the batches, the last one included, moves the running mean",
            lambda p: _running_from(0.0, p["batch_means"].tolist()[:-1], 1 - p["momentum"])),
]


def _running_mean_problem(rng):
    """A few training batches of one feature whose mean drifts upward, through BatchNorm1d(1, momentum=0.1)."""
    while True:
        means, level = [], uniform(rng, 1.0, 3.0)
        for _ in range(integer(rng, 3, 7)):
            means.append(round(level, 2))
            level += uniform(rng, -0.3, 1.5)
        problem = {"momentum": 0.1, "batch_means": torch.tensor(means)}
        values = [running_mean_after(problem)] + [mistake.answer(problem) for mistake in RUNNING_MEAN_MISTAKES]
        if _apart(values):
            return Case((problem,))


# --- diagnose: which mode the network was in --------------------------------------------------------

MODES = ("correct", "forgot_eval", "forgot_train")
TEST_SETTINGS = ("B=256", "B=8", "B=64 sorted")


def _moves(values, tolerance=1e-6):
    return any(abs(b - a) > tolerance for a, b in zip(values, values[1:]))


def diagnose_bn_mode(record):
    """'forgot_eval' when the test changed the running mean or its accuracy depends on the test batches (the
    layers were left in training mode); else 'forgot_train' when the running mean stood still over the last
    epochs of training (the layers were in evaluation mode while training); else 'correct'."""
    accuracies = list(record["test_accuracy"].values())
    if _moves(record["test_running_mean"]) or max(accuracies) - min(accuracies) > 1e-6:
        return "forgot_eval"
    if not _moves(record["train_running_mean"][-3:]):
        return "forgot_train"
    return "correct"


def _record(rng, mode):
    """A drawn record of one BN feature's running mean (after each of 6 epochs, then after each of 5 test
    batches of 256) and the test accuracy for shuffled batches of 256 and 8 and class-sorted batches of 64."""
    target, epochs = uniform(rng, -2.0, 2.0), 6
    frozen_from = integer(rng, 0, 2) if mode == "forgot_train" else epochs
    train, mean = [], 0.0
    for epoch in range(epochs):
        if epoch < frozen_from:
            step = (target - mean) * uniform(rng, 0.4, 0.9)
            mean = mean + step + (0.02 + abs(uniform(rng, -0.08, 0.08))) * (1 if coin(rng) else -1)
        train.append(round(mean, 3))
    if mode == "forgot_eval":
        test, value = [], train[-1]
        for _ in range(5):
            value += (0.02 + abs(uniform(rng, -0.15, 0.15))) * (1 if coin(rng) else -1)
            test.append(round(value, 3))
        best = uniform(rng, 0.75, 0.97)
        accuracy = [best - uniform(rng, 0.005, 0.02), best - uniform(rng, 0.05, 0.3), best - uniform(rng, 0.3, 0.6)]
    else:
        test = [train[-1]] * 5
        accuracy = [uniform(rng, 0.75, 0.97) if mode == "correct" else uniform(rng, 0.4, 0.9)] * 3
    return {"train_running_mean": train, "test_running_mean": test,
            "test_accuracy": {name: round(max(a, 0.05), 3) for name, a in zip(TEST_SETTINGS, accuracy)}}


def example_record(mode=None, seed=0):
    """One drawn record of the diagnose exercise (of ``mode``, or of a random one), to see its format."""
    rng = torch.Generator().manual_seed(seed)
    return _record(rng, mode or MODES[integer(rng, 0, len(MODES) - 1)])


MODE_REASONS = {
    ("correct", "forgot_eval"): "the test left the running mean where training left it, and the accuracy is the "
                                "same for every test batch: each example was normalised on its own with the "
                                "moving averages, which is evaluation mode, so model.eval() was called",
    ("correct", "forgot_train"): "the running mean kept moving until the last epoch of training: it is updated only "
                                 "in training mode, so the network did train in training mode",
    ("forgot_eval", "correct"): "the running mean changed during the test, and the accuracy depends on the size and "
                                "order of the test batches: neither can happen in evaluation mode, so the test ran "
                                "in training mode (model.eval() forgotten)",
    ("forgot_eval", "forgot_train"): "the running mean moved in every epoch of training, so training was in training "
                                     "mode; it is the test that was not in evaluation mode (the running mean moved, "
                                     "and the accuracy depends on the test batches)",
    ("forgot_train", "correct"): "the running mean stood still over the last epochs of training: it is updated only "
                                 "in training mode, so the network trained in evaluation mode (model.eval() called "
                                 "for a validation pass, and model.train() forgotten after it)",
    ("forgot_train", "forgot_eval"): "the test was in evaluation mode: the running mean did not move during the "
                                     "test, and the accuracy is the same for every batch size and order; it is "
                                     "training that ran in evaluation mode (the running mean stood still there)",
}


_FIXED_RECORDS = [Case((example_record(mode, seed),)) for mode, seed in zip(MODES, (1, 2, 3))]


EXERCISES = [
    Exercise(
        "batchnorm.batch_norm_train", batchnorm.batch_norm_train, draw=_train_case,
        fixed=[Case((_Z, _GAMMA, _BETA, 0.5)), Case((_Z[:2], _GAMMA, _BETA, 1e-5))],
        mistakes=[
            Mistake("normalise with the biased variance, mean((z − μ)²) over the batch: "
                    "z.var(dim=0, unbiased=False); the unbiased one (÷ (B − 1)) is only for the running variance",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / torch.sqrt(z.var(0) + eps) + beta),
            Mistake("you forgot ε: divide by √(v + ε), which stays finite when a feature is constant over the batch",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / z.std(0, unbiased=False) + beta),
            Mistake("ε goes under the square root: σ = √(v + ε), not √v + ε",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(0)) / (z.std(0, unbiased=False) + eps) + beta),
            Mistake("the statistics are per feature, over the examples of the batch: reduce over dim=0 (the rows), "
                    "not dim=1",
                    lambda z, gamma, beta, eps: gamma * (z - z.mean(1, keepdim=True))
                    / torch.sqrt(z.var(1, unbiased=False, keepdim=True) + eps) + beta),
            Mistake("you left out γ and β: the output is γ ⊙ z̃ + β",
                    lambda z, gamma, beta, eps: (z - z.mean(0)) / _biased_std(z, eps)),
            Mistake("the output is γ ⊙ z̃ + β: γ scales, β shifts (you swapped them)",
                    lambda z, gamma, beta, eps: beta * (z - z.mean(0)) / _biased_std(z, eps) + gamma),
        ],
    ),
    Exercise(
        "batchnorm.update_running_stats", batchnorm.update_running_stats, draw=_running_case,
        fixed=[Case((torch.zeros(3), torch.ones(3), _Z, 0.9))],
        compare=same_tensors("running_mean", "running_var"),
        mistakes=[
            Mistake("p weighs the old average: μ̄ ← p·μ̄ + (1 − p)·μ. You swapped p and 1 − p; "
                    "PyTorch's momentum is 1 − p, the weight of the *new* batch",
                    lambda m, v, z, p: ((1 - p) * m + p * z.mean(0), (1 - p) * v + p * z.var(0))),
            Mistake("the running variance uses the unbiased batch variance, divided by B − 1 "
                    "(z.var(dim=0), unbiased=True), as PyTorch does",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(0), p * v + (1 - p) * z.var(0, unbiased=False))),
            Mistake("average the variance, not the standard deviation: running_var holds a variance",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(0), p * v + (1 - p) * z.std(0))),
            Mistake("the statistics are per feature, over the examples of the batch: reduce over dim=0",
                    lambda m, v, z, p: (p * m + (1 - p) * z.mean(1).mean(), p * v + (1 - p) * z.var(1).mean())),
        ],
    ),
    Exercise(
        "batchnorm.batch_norm_eval", batchnorm.batch_norm_eval, draw=_eval_case,
        fixed=[Case((_Z, torch.tensor([2.0, 15.0, -2.0]), torch.tensor([4.0, 100.0, 1.0]), _GAMMA, _BETA, 0.5)),
               Case((_Z[:1], torch.tensor([2.0, 15.0, -2.0]), torch.tensor([4.0, 100.0, 1.0]), _GAMMA, _BETA, 1e-5))],
        mistakes=[
            Mistake("in evaluation mode use the moving averages running_mean and running_var, not the statistics "
                    "of the batch: a test batch may hold one example",
                    lambda z, m, v, gamma, beta, eps: batchnorm.batch_norm_train(z, gamma, beta, eps)),
            Mistake("running_var is a variance: divide by its square root, √(v̄ + ε)",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / (v + eps) + beta),
            Mistake("you forgot ε: divide by √(v̄ + ε), exactly as in training",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / torch.sqrt(v) + beta),
            Mistake("ε goes under the square root: √(v̄ + ε), not √v̄ + ε",
                    lambda z, m, v, gamma, beta, eps: gamma * (z - m) / (torch.sqrt(v) + eps) + beta),
            Mistake("you left out γ and β: the output is γ ⊙ z̃ + β in evaluation mode too",
                    lambda z, m, v, gamma, beta, eps: (z - m) / torch.sqrt(v + eps)),
        ],
    ),
    Exercise(
        "batchnorm.eval_output", eval_output, draw=_eval_problem, kind="value", compare=close_number,
        rtol=1e-3, atol=1e-4, mistakes=EVAL_OUTPUT_MISTAKES,
        hint="in evaluation mode the output is γ·(z − μ̄)/√(v̄ + ε) + β, with the layer's moving averages μ̄, v̄",
    ),
    Exercise(
        "batchnorm.running_mean_after", running_mean_after, draw=_running_mean_problem, kind="value",
        compare=close_number, rtol=1e-3, atol=1e-4, mistakes=RUNNING_MEAN_MISTAKES,
        hint="start from μ̄ = 0 and apply μ̄ ← (1 − momentum)·μ̄ + momentum·μᵗ once per batch, in order",
    ),
    Exercise(
        "batchnorm.diagnose_bn_mode", diagnose_bn_mode, draw=record_case(_record, MODES),
        fixed=_FIXED_RECORDS, compare=same_label(MODES), mistakes=label_mistakes(diagnose_bn_mode, MODE_REASONS),
        visible_random_cases=9, hidden_random_cases=15,
    ),
]
