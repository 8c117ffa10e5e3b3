"""Chapter 6, HW02 phoneme classification: the context window, a Classifier's size, per-class accuracy;
then three questions of understanding: how many parameters a wider window adds (a prediction), what to
change after a training run (a diagnosis), and why the validation set is made of whole utterances (a choice).

References are in :mod:`course_utils.hw02` (``libriphone.concat_feat`` and
``experiments``) or written out here. Each :class:`Mistake` is a wrong answer students
commonly write; when a result matches it, the verdict names it.
"""
import math

import torch

from ...hw02.experiments import classifier_parameter_count, per_class_accuracy
from ...hw02.libriphone import FEATURE_DIM, NUM_CLASSES, concat_feat
from ..cases import coin, integer, normal, uniform
from ..compare import Difference, close_number, same_int, same_label, same_tensor
from ..registry import Case, Exercise, Mistake, choice_exercise, label_mistakes

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
    return _windows(x, concat_nframes, lambda t, j, n: torch.where((t + j < 0) | (t + j >= n), -1, t + j))


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

def _class_case(rng):
    c = integer(rng, 2, 6)
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


def same_tensor_nan(expected, got, rtol, atol):
    """`same_tensor`, where NaN in the expected result must be NaN in the answer too (a class with no frames).

    An inf in the answer is a count divided by 0: the verdict says so, and whether that class has frames,
    before anything else (an all-inf answer is not about the class without frames)."""
    if isinstance(got, torch.Tensor) and got.shape == expected.shape and got.is_floating_point() \
            and expected.is_floating_point():
        infinite = torch.isinf(got)
        if infinite.any():
            index = int(infinite.nonzero()[0])
            has_frames = not math.isnan(expected[index].item())
            where = (f"class {index} has frames (expected {expected[index].item():.4g})" if has_frames
                     else f"class {index} has no frames (expected nan)")
            return Difference(
                f"got {got[index].item()} at index {index}, where {where}; "
                f"{int(infinite.sum())} of {got.numel()} values are infinite",
                "inf is a nonzero number divided by 0: the count you divide by is 0 where it must not be. "
                "Divide by the number of frames *labelled* c (all frames with true == c, right or wrong); "
                "check the mask or comparison that counts them" if has_frames else
                "inf is a nonzero number divided by 0; for a class with no frames the number of right frames "
                "is 0 too, so right/labelled gives 0/0 = nan there: check what you divide")
        missing = torch.isnan(expected)
        if (missing & ~torch.isnan(got)).any():
            index = int((missing & ~torch.isnan(got)).nonzero()[0])
            return Difference(f"expected nan at index {index}, got {got[index].item():.4g}",
                              "a class with no frames has no accuracy: 0/0 gives nan, which is the answer there")
        spurious = torch.isnan(got) & ~missing
        if spurious.any():
            index = int(spurious.nonzero()[0])
            return Difference(f"expected {expected[index].item():.4g} at index {index}, got nan",
                              f"nan is 0/0, but class {index} has frames: the count you divide by is 0 there; "
                              f"divide by the number of frames *labelled* c")
        both = missing & torch.isnan(got)
        expected, got = expected.masked_fill(both, 0.0), got.masked_fill(both, 0.0)
    return same_tensor(expected, got, rtol, atol)


# ----------------------------------------------------------------------------- predict: a wider window

def added_parameters(problem):
    """Parameters a Classifier gains when its window grows by m frames on each side: only the first layer's
    weight matrix reads the input, and it gains 39·2m columns of h weights."""
    return FEATURE_DIM * 2 * problem["more_each_side"] * problem["hidden_dim"]


def _window_problem(rng):
    """A Classifier preset (n = 2k + 1 frames, L hidden layers of width h, BatchNorm, dropout) and a window
    that grows by m frames on each side (L ≥ 2 keeps the every-layer mistake apart from the answer)."""
    return Case(({
        "concat_nframes": 2 * integer(rng, 0, 10) + 1,
        "hidden_layers": integer(rng, 2, 6),
        "hidden_dim": 4 * integer(rng, 8, 256),   # 32 … 1024: many answers, so a typed one fits one problem
        "batchnorm": coin(rng),
        "dropout": [0.0, 0.1, 0.25, 0.5][integer(rng, 0, 3)],
        "more_each_side": integer(rng, 1, 6),
    },))


def _parameters_of(problem, concat_nframes):
    return classifier_parameter_count(FEATURE_DIM * concat_nframes, NUM_CLASSES, problem["hidden_layers"],
                                      problem["hidden_dim"], problem["batchnorm"])


def same_count(expected, got, rtol, atol):
    """A predicted count: `close_number` within ½, said in words fit for a whole number (all its digits)."""
    difference = close_number(expected, got, rtol, atol)
    if difference is not None and "is too " in difference.what:
        number = float(got.reshape(()).item()) if isinstance(got, torch.Tensor) else float(got)
        shown = f"{int(number)}" if number.is_integer() else f"{number!r}"
        side = "too high" if number > expected else "too low"
        difference.what = f"your answer {shown} is {side}: a count of parameters must be exact"
    return difference


def _in_proportion(problem):
    """P grows in proportion to the number of frames: P(n)·2m/n."""
    return _parameters_of(problem, problem["concat_nframes"]) * 2 * problem["more_each_side"] \
        / problem["concat_nframes"]


# ----------------------------------------------------------------------------- diagnose: the next step

NEXT_STEPS = ("context", "wider", "dropout", "longer")
OVERFITTING_GAP = 0.1      # train − validation accuracy at the last epoch: above it, the model overfits
STILL_RISING = 0.005       # validation accuracy gained in the last epoch: above it, training is not finished
FEW_FRAMES = 5             # a window of fewer frames sees hardly any context


def next_step(record):
    """The change a training record asks for: 'dropout' when the model overfits (a large gap between training
    and validation accuracy), 'longer' when validation accuracy is still rising, otherwise (both flat and
    close: model bias) 'context' when the window holds few frames, 'wider' when it already holds many."""
    train, val = record["train_acc"], record["val_acc"]
    if train[-1] - val[-1] > OVERFITTING_GAP:
        return "dropout"
    if val[-1] - val[-2] > STILL_RISING:
        return "longer"
    return "context" if record["concat_nframes"] < FEW_FRAMES else "wider"


def _curve(rng, epochs, start, end, rate, noise=0.001):
    """Accuracy per epoch: from `start` towards `end` with time constant 1/rate, plus a little noise."""
    e = torch.arange(1, epochs + 1, dtype=torch.float64)
    values = end - (end - start) * torch.exp(-rate * (e - 1))
    values = values + noise * (2 * torch.rand(epochs, generator=rng, dtype=torch.float64) - 1)
    return [round(float(v), 4) for v in values]


def _record(rng, scenario=None):
    """A made-up training record of an HW02 classifier, from one of four scenarios (drawn at random). Each
    scenario keeps clear of the others' thresholds: gaps of at most 0.03 or at least 0.15, last-epoch gains
    under 0.004 or over 0.009, windows of 1–3 or 11–21 frames where the window decides."""
    scenario = scenario or NEXT_STEPS[integer(rng, 0, 3)]
    epochs = integer(rng, 5, 10)
    record = {"concat_nframes": 2 * integer(rng, 5, 10) + 1, "hidden_layers": integer(rng, 1, 4),
              "hidden_dim": int(torch.tensor([128, 256, 512, 1024])[integer(rng, 0, 3)]),
              "dropout": [0.0, 0.25][integer(rng, 0, 1)]}
    if scenario == "longer":          # both still climbing, close together
        end = uniform(rng, 0.75, 0.9)
        rate = uniform(rng, 0.04, 0.12)
        val = _curve(rng, epochs, uniform(rng, 0.25, 0.35), end, rate)
        gap = uniform(rng, 0.0, 0.03)
        train = [round(v + gap * (i + 1) / epochs, 4) for i, v in enumerate(val)]
        record["concat_nframes"] = 2 * integer(rng, 0, 10) + 1
    elif scenario == "dropout":       # training accuracy climbs on, validation accuracy peaked and sags
        record["dropout"] = 0.0
        train = _curve(rng, epochs, uniform(rng, 0.45, 0.55), uniform(rng, 0.93, 0.99), uniform(rng, 0.4, 0.6))
        peak, sag = uniform(rng, 0.55, 0.66), uniform(rng, 0.0, 0.006)
        val = [round(min(train[i] - 0.01, peak) - sag * max(0, i - 2) + 0.001 * (2 * float(torch.rand(
            (), generator=rng)) - 1), 4) for i in range(epochs)]
    else:                             # model bias: both flat, close together, low
        if scenario == "context":
            record["concat_nframes"] = 2 * integer(rng, 0, 1) + 1
            level = uniform(rng, 0.4, 0.5)
        else:
            record["hidden_dim"] = int(torch.tensor([8, 16, 24, 32])[integer(rng, 0, 3)])
            level = uniform(rng, 0.52, 0.64)
        train = _curve(rng, epochs, level - uniform(rng, 0.1, 0.2), level, uniform(rng, 1.5, 2.5))
        gap = uniform(rng, 0.0, 0.03)
        val = [round(v - gap, 4) for v in _curve(rng, epochs, level - uniform(rng, 0.1, 0.2), level,
                                                 uniform(rng, 1.5, 2.5))]
    record.update(epoch=list(range(1, epochs + 1)), train_acc=train, val_acc=val)
    return Case((record,))


FLAT = "both curves are flat: the last epochs gained next to nothing, so more epochs will not help"
CLOSE = ("training and validation accuracy are close: the model does not overfit, it cannot even fit the "
         "training frames (model bias), and dropout, which handicaps it while it learns, would make that worse")
RISING = ("both curves are still rising: the run stopped before the model learned what it can; train longer "
          "before you change the model")
NEXT_STEP_REASONS = {
    ("longer", "dropout"): "the gap between training and validation accuracy is small: the model does not "
                           "overfit, and dropout would only slow its learning further",
    ("longer", "context"): RISING, ("longer", "wider"): RISING,
    ("dropout", "longer"): "validation accuracy has stopped rising while training accuracy climbs on: more "
                           "epochs widen that gap, they do not close it",
    ("dropout", "wider"): "the model already fits the training frames far better than the validation frames "
                          "(overfitting): a wider one would fit them better still, not generalise better",
    ("dropout", "context"): "the training accuracy is high, so the input already tells the training frames "
                            "apart; the gap to validation is overfitting, and more context frames add parameters "
                            "to overfit with",
    ("context", "longer"): FLAT, ("wider", "longer"): FLAT,
    ("context", "dropout"): CLOSE, ("wider", "dropout"): CLOSE,
    ("context", "wider"): "the window holds only a frame or three: what tells the phonemes apart (the frames "
                          "around them) is not in the input, and no width can recover it; give it context frames",
    ("wider", "context"): "the window already spans many frames, so the context is in the input; with so few "
                          "hidden units the network is too small to use it: widen it",
}


# ----------------------------------------------------------------------------- choose: the validation split

SPLIT_REASONS = {
    "a": "memory is not the reason: training already draws each batch from frames of all its utterances, "
         "shuffled (section 7); the split decides what the validation accuracy measures",
    "c": "the windows do not cross the split: they are cut from each utterance's own frames, whichever set a "
         "frame lands in, so a frame split breaks no window",
    "d": "a random split of frames puts every frequent class on both sides; it is a split of utterances that "
         "can leave a rare class out of one side",
}


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
                    lambda true, predicted, c: per_class_accuracy(true, predicted, c).nan_to_num(0.0)),
            Mistake("that is the overall accuracy for every class: count the right frames class by class",
                    lambda true, predicted, c: torch.full((c,), (true == predicted).float().mean().item())),
        ],
    ),
    Exercise(
        "hw02.added_parameters", added_parameters, draw=_window_problem, kind="value", compare=same_count,
        rtol=0.0, atol=0.5,
        hint="which layers of the Classifier read the input, and which of their parameters depend on its size?",
        mistakes=[
            Mistake("the window grows on both sides: m frames before frame t and m after it, so n grows by 2m",
                    lambda p: FEATURE_DIM * p["more_each_side"] * p["hidden_dim"]),
            Mistake("each frame is 39 numbers (13 MFCC, Δ and ΔΔ): the input grows by 39·2m values, not 2m",
                    lambda p: 2 * p["more_each_side"] * p["hidden_dim"]),
            Mistake("the first layer's bias has one value per hidden unit, whatever the input size: only its weight "
                    "matrix gains columns", lambda p: FEATURE_DIM * 2 * p["more_each_side"] * (p["hidden_dim"] + 1)),
            Mistake("only the first linear layer reads the input: the later hidden layers map h units to h units "
                    "whatever the window", lambda p: FEATURE_DIM * 2 * p["more_each_side"] * p["hidden_dim"]
                    * p["hidden_layers"]),
            Mistake("that is the wider model's whole count: the question is how many parameters it gains, "
                    "P(n + 2m) − P(n)", lambda p: _parameters_of(p, p["concat_nframes"] + 2 * p["more_each_side"])),
            Mistake("the parameter count does not grow in proportion to n: the hidden-to-hidden layers, the output "
                    "layer, the biases and BatchNorm's γ and β do not depend on the window", _in_proportion),
        ],
    ),
    Exercise(
        "hw02.next_step", next_step, draw=_record, compare=same_label(NEXT_STEPS), visible_random_cases=12,
        hidden_random_cases=16, mistakes=label_mistakes(next_step, NEXT_STEP_REASONS),
        hint="read the last epoch: the gap between training and validation accuracy, whether validation accuracy "
             "still rises, and how many frames the window holds",
    ),
    choice_exercise("hw02.split_by_utterance", "b", SPLIT_REASONS),
]
