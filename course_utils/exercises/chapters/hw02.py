"""Chapter 6, HW02 phoneme classification: the context window, a Classifier's size, per-class accuracy.

References are in :mod:`course_utils.hw02` (``libriphone.concat_feat`` and
``experiments``). Each :class:`Mistake` is a wrong answer students commonly write;
when a result matches it, the verdict names it.
"""
import torch

from ...hw02.experiments import classifier_parameter_count, per_class_accuracy
from ...hw02.libriphone import concat_feat
from ..cases import coin, integer, normal
from ..compare import Difference, same_int, same_tensor
from ..registry import Case, Exercise, Mistake

NOTEBOOK = "06_hw02_phoneme_classification"


# ----------------------------------------------------------------------------- concat_feat

def _windows(x, concat_nframes, rows_of):
    """Rows of the windows given a function from (t, j) index grids to source rows (or −1 for zeros)."""
    k = concat_nframes // 2
    t = torch.arange(len(x))[:, None]
    rows = rows_of(t, torch.arange(-k, k + 1)[None, :], len(x))
    padded = torch.cat([x, torch.zeros(1, x.shape[1], dtype=x.dtype)])
    return padded[torch.where(rows < 0, len(x), rows)].reshape(len(x), -1)


def _zero_padding(x, concat_nframes):
    def rows(t, j, n):
        s = t + j
        return torch.where((s < 0) | (s >= n), -1, s)
    return _windows(x, concat_nframes, rows)


def _newest_first(x, concat_nframes):
    return _windows(x, concat_nframes, lambda t, j, n: (t - j).clamp(0, n - 1))


def _wrap_around(x, concat_nframes):
    return _windows(x, concat_nframes, lambda t, j, n: (t + j) % n)


def _window_after(x, concat_nframes):
    return _windows(x, concat_nframes, lambda t, j, n: (t + j + concat_nframes // 2).clamp(0, n - 1))


def _concat_case(rng):
    n = int(torch.tensor([1, 3, 5, 7, 9])[integer(rng, 0, 4)])
    return Case((normal(rng, integer(rng, 1, 12), integer(rng, 2, 4)), n))


# ----------------------------------------------------------------------------- parameter count

def _count_case(rng):
    return Case((integer(rng, 1, 30) * 39, 41, integer(rng, 1, 6), integer(rng, 2, 64), coin(rng)))


def _count(input_dim, output_dim, hidden_layers, hidden_dim, batchnorm, hidden_linears=None, biases=True,
           batchnorm_per_unit=2):
    h = hidden_dim
    linears = hidden_layers - 1 if hidden_linears is None else hidden_linears
    bias = 1 if biases else 0
    count = (input_dim * h + bias * h) + linears * (h * h + bias * h) + (h * output_dim + bias * output_dim)
    return count + (batchnorm_per_unit * hidden_layers * h if batchnorm else 0)


# ----------------------------------------------------------------------------- per-class accuracy

def _class_case(rng, num_classes=None):
    c = num_classes or integer(rng, 2, 6)
    true = torch.randint(0, c, (integer(rng, 5, 40),), generator=rng)
    wrong = torch.rand(len(true), generator=rng) < 0.4
    predicted = torch.where(wrong, torch.randint(0, c, (len(true),), generator=rng), true)
    return Case((true, predicted, c))


def _empty_class_case():
    """Class 3 of 5 has no frames: its accuracy is 0/0."""
    return Case((torch.tensor([0, 0, 1, 1, 2, 4, 4, 4]), torch.tensor([0, 1, 1, 1, 3, 4, 0, 4]), 5))


def _by_predicted(true, predicted, num_classes):
    """Precision: right frames over the frames *predicted* as each class."""
    n = torch.bincount(true * num_classes + predicted, minlength=num_classes ** 2).reshape(num_classes, -1).double()
    return (n.diagonal() / n.sum(0)).float()


def _empty_as_zero(true, predicted, num_classes):
    return per_class_accuracy(true, predicted, num_classes).nan_to_num(0.0)


def _overall(true, predicted, num_classes):
    return torch.full((num_classes,), (true == predicted).float().mean().item())


def same_tensor_nan(expected, got, rtol, atol):
    """`same_tensor`, where NaN in the expected result must be NaN in the answer too (a class with no frames)."""
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point() \
            and expected.is_floating_point():
        missing = torch.isnan(expected)
        if (missing & ~torch.isnan(got)).any():
            index = int((missing & ~torch.isnan(got)).nonzero()[0])
            return Difference(f"expected nan at index {index}, got {got[index].item():.4g}",
                              "a class with no frames has no accuracy: 0/0 gives nan, which is the answer there")
        both = missing & torch.isnan(got)
        expected, got = expected.masked_fill(both, 0.0), got.masked_fill(both, 0.0)
    return same_tensor(expected, got, rtol, atol)


EXERCISES = [
    Exercise(
        "hw02.concat_feat", concat_feat, draw=_concat_case,
        fixed=[Case((torch.arange(1.0, 5.0).reshape(4, 1), 3)), Case((torch.arange(6.0).reshape(3, 2), 7)),
               Case((torch.arange(1.0, 4.0).reshape(3, 1), 1))],
        mistakes=[
            Mistake("at the edges the window repeats the first (or last) frame, it does not fill in zeros: clamp "
                    "the frame index to 0 … T − 1", _zero_padding),
            Mistake("the oldest frame comes first: row t is x[t − k], …, x[t], …, x[t + k] in that order",
                    _newest_first),
            Mistake("the window must not wrap around from the end of the utterance to its start: clamp the index "
                    "instead of taking it modulo T", _wrap_around),
            Mistake("the window is centred on frame t: it runs from t − k to t + k, k = n // 2",
                    _window_after),
        ],
    ),
    Exercise(
        "hw02.classifier_parameter_count", classifier_parameter_count, draw=_count_case, compare=same_int,
        fixed=[Case((39, 41, 1, 256, False)), Case((819, 41, 3, 384, True)), Case((39, 41, 1, 4, True))],
        mistakes=[
            Mistake("BatchNorm1d has parameters too: γ and β, one of each per unit of every hidden layer",
                    lambda d, c, L, h, bn: _count(d, c, L, h, False)),
            Mistake("BatchNorm's running mean and variance are buffers, not parameters: count only γ and β",
                    lambda d, c, L, h, bn: _count(d, c, L, h, bn, batchnorm_per_unit=4)),
            Mistake("every nn.Linear has a bias as well as its weights: d·h + h, not d·h",
                    lambda d, c, L, h, bn: _count(d, c, L, h, bn, biases=False)),
            Mistake("with L hidden layers there are L − 1 linear layers from a hidden layer to the next (the first "
                    "one reads the input)",
                    lambda d, c, L, h, bn: _count(d, c, L, h, bn, hidden_linears=L)),
        ],
    ),
    Exercise(
        "hw02.per_class_accuracy", per_class_accuracy, draw=_class_case, compare=same_tensor_nan,
        fixed=[_empty_class_case(), Case((torch.tensor([1, 1, 0]), torch.tensor([1, 0, 0]), 2))],
        mistakes=[
            Mistake("divide by the number of frames *labelled* c (a row of the confusion matrix), not by the "
                    "number *predicted* as c", _by_predicted),
            Mistake("a class with no frames has no accuracy: 0/0 gives nan, which is the answer there",
                    _empty_as_zero),
            Mistake("that is the overall accuracy for every class: count the right frames class by class",
                    _overall),
        ],
    ),
]
