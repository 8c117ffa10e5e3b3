"""Chapter 0, the training recipe: hard sigmoids, the sigmoid model, one gradient step, updates per epoch,
the parameter count of a network (a prediction) and the practical guide's diagnosis of a training record.

References are in :mod:`course_utils.experiments.recipe`, except the two written out here (the parameter count and
the diagnosis, whose rules are section 5's). Each :class:`Mistake` is a wrong answer students commonly
write; when a result matches it, the verdict names it.
"""
import math

import torch

from ...experiments import recipe
from ..cases import coin, integer, normal, record_case, significant, uniform
from ..compare import close_number, same_int, same_label, same_numbers
from ..registry import Case, Exercise, Mistake, label_mistakes

NOTEBOOK = "00_training_recipe"


def _hard_sigmoid_case(rng):
    shape = (integer(rng, 3, 8),) if coin(rng) else (integer(rng, 2, 4), integer(rng, 2, 4))
    return Case((normal(rng, *shape, scale=2.0), uniform(rng, -2, 2), uniform(rng, -1, 1), uniform(rng, -3, 3)))


def _sigmoid_model_case(rng, n=None, d=None, k=None):
    n, d = n or integer(rng, 2, 6), d or integer(rng, 1, 4)
    k = k or integer(rng, 2, 5)
    return Case((normal(rng, n, d), normal(rng, k, d), normal(rng, k), normal(rng, k), uniform(rng, -1, 1)))


def _regression_case(rng, as_tensors=False, n=None):
    x = normal(rng, n or integer(rng, 4, 10), scale=2.0)
    y = (2 * x + 1 + normal(rng, len(x), scale=0.5)).round(decimals=2)
    w, b = uniform(rng, -1, 1), uniform(rng, -1, 1)
    if as_tensors:
        w, b = torch.tensor(w), torch.tensor(b)
    return Case((w, b, x, y, uniform(rng, 0.01, 0.2)))


def _updates_case(rng):
    n, batch_size = integer(rng, 1, 1000), integer(rng, 1, 64)
    return Case((n, batch_size), {"drop_last": coin(rng)} if coin(rng) else {})


# --- a prediction: how many parameters a network has -----------------------------------------

def parameter_count(problem):
    """The unknowns of a network with d features, L hidden layers of k sigmoids and one output:
    the first layer's W (k × d) and b (k), each later layer's W (k × k) and b (k), then c (k) and b."""
    d, k, layers = problem["d"], problem["k"], problem["layers"]
    return (d + 1) * k + (layers - 1) * (k + 1) * k + k + 1


def _network_sizes(rng):
    """d ≠ k, so that a count that gives every layer d inputs differs from the right one."""
    while True:
        sizes = {"d": integer(rng, 2, 12), "k": integer(rng, 3, 32), "layers": integer(rng, 2, 4)}
        if sizes["d"] != sizes["k"]:
            return Case((sizes,))


# --- a diagnosis: the practical guide of section 5 -------------------------------------------

LABELS = ("model bias", "optimization", "overfitting", "mismatch")


def diagnose_training(record):
    """Section 5's guide, read in its order: the training loss first (large means several times the noise's
    own loss), then, if it is large, whether a smaller model did clearly better on the same training data;
    if it is small, whether the validation loss (same distribution) is large too, or only the test loss."""
    noise = record["noise_loss"]
    if record["train_loss"] > 2 * noise:
        if record["smaller_model_train_loss"] < 0.75 * record["train_loss"]:
            return "optimization"
        return "model bias"
    if record["validation_loss"] > 2 * noise:
        return "overfitting"
    return "mismatch"


def training_record(rng, cause):
    """A training record whose cause is ``cause`` (one of LABELS), its numbers scattered as measured losses are.

    The losses are in units of the noise's own loss ``noise_loss`` (σ² of the label noise: the loss a perfect
    model reaches on new data), drawn over three decades, so only comparisons tell "large" from "small".
    The bands leave gaps, so that any rule in the spirit of the guide (large = a few times the noise's loss;
    a smaller model "clearly" better = by a quarter or more) names every record's cause.
    """
    def u(low, high):
        return low + (high - low) * float(torch.rand((), generator=rng))

    noise = 10 ** u(-3, 0)
    if cause in ("model bias", "optimization"):
        train = noise * u(3.0, 20.0)
        validation = train * u(1.0, 1.2)
        test = validation * u(0.95, 1.1)
        smaller = train * (u(0.92, 2.0) if cause == "model bias" else u(0.1, 0.55))
        more_data_test = test * u(0.85, 1.05)
    elif cause == "overfitting":
        train = noise * u(0.1, 1.0)
        validation = noise * u(4.0, 20.0)
        test = validation * u(0.9, 1.15)
        smaller = train * u(1.5, 8.0)
        more_data_test = noise * u(1.1, 2.0)
    elif cause == "mismatch":
        train = noise * u(0.7, 1.25)
        validation = train * u(1.0, 1.15)
        test = noise * u(5.0, 30.0)
        smaller = train * u(1.0, 2.5)
        more_data_test = test * u(0.8, 1.1)
    else:
        raise ValueError(f"cause must be one of {LABELS}, not {cause!r}")
    values = {"noise_loss": noise, "train_loss": train, "validation_loss": validation, "test_loss": test,
              "smaller_model_train_loss": smaller, "more_data_test_loss": more_data_test}
    return {name: significant(value, 4) for name, value in values.items()}


def _fixed_record(cause, **losses):
    """A hand-made record: the losses in units of noise_loss = 0.01."""
    return Case(({"noise_loss": 0.01, **{name: significant(0.01 * value, 4) for name, value in losses.items()}},))


#: One record per cause, each at a band's edge: a model-bias record whose smaller model is a few percent
#: *better* (noise), a mismatch whose training loss is a little above the noise's loss.
FIXED_RECORDS = [
    _fixed_record("model bias", train_loss=6.0, validation_loss=6.4, test_loss=6.5, smaller_model_train_loss=5.7,
                  more_data_test_loss=6.1),
    _fixed_record("optimization", train_loss=9.5, validation_loss=10.2, test_loss=10.0,
                  smaller_model_train_loss=2.8, more_data_test_loss=9.6),
    _fixed_record("overfitting", train_loss=0.3, validation_loss=8.0, test_loss=8.4, smaller_model_train_loss=1.1,
                  more_data_test_loss=1.6),
    _fixed_record("mismatch", train_loss=1.25, validation_loss=1.4, test_loss=12.0, smaller_model_train_loss=1.9,
                  more_data_test_loss=11.0),
]

_LARGE_TRAIN = ("the training loss is several times the noise's own loss: the model fails on the very data it "
                "was trained on, so read the training loss first")
_SMALL_TRAIN = ("the training loss is as small as the noise allows: the model and its optimisation can fit the "
                "training data, so the trouble is not there")
_MISMATCH = "a mismatch leaves the training and validation losses small"
_ONLY_TEST = "Only the test loss is large here: the test data are not like the training data"

REASONS = {
    ("model bias", "optimization"):
        "the smaller model is no better on the training data (a few percent either way is the scatter of a "
        "measurement): nothing shows that better parameters exist, so the model itself is too simple",
    ("model bias", "overfitting"):
        f"{_LARGE_TRAIN}; overfitting means a small training loss and a large validation loss",
    ("model bias", "mismatch"):
        f"{_LARGE_TRAIN}; {_MISMATCH}. With the training loss large and a smaller model no better, the model "
        "itself is too simple",
    ("optimization", "model bias"):
        "the smaller model reaches a clearly lower training loss on the same data, and the bigger model could do "
        "everything the smaller one does: good parameters exist, gradient descent did not find them",
    ("optimization", "overfitting"):
        f"{_LARGE_TRAIN}; a model that overfits fits its training data well. A bigger model doing worse on the "
        "training data than a smaller one is an optimisation failure",
    ("optimization", "mismatch"):
        f"{_LARGE_TRAIN}; {_MISMATCH}. Here a smaller model did clearly better on the same training data: the "
        "optimisation failed",
    ("overfitting", "model bias"): f"{_SMALL_TRAIN}; the validation loss is the large one",
    ("overfitting", "optimization"):
        f"{_SMALL_TRAIN}: gradient descent found parameters that fit; they do not carry over to new examples",
    ("overfitting", "mismatch"):
        "the validation loss, on examples drawn like the training examples, is large too, and more data of the "
        "same kind lowered the test loss: that is overfitting. A mismatch leaves the validation loss small and is "
        "not helped by more data",
    ("mismatch", "model bias"): f"{_SMALL_TRAIN}; model bias would leave the training loss large. {_ONLY_TEST}",
    ("mismatch", "optimization"):
        f"{_SMALL_TRAIN}; a failed optimisation would leave the training loss large. {_ONLY_TEST}",
    ("mismatch", "overfitting"):
        "the validation loss is about as small as the training loss: on new examples drawn like the training ones "
        "the model does well. Only the test data, from elsewhere, are off, and more data of the same kind did not "
        "help",
}


def _step(w, b, x, y, learning_rate, gradients):
    dw, db = gradients((b + w * x - y), x)
    return w - learning_rate * dw, b - learning_rate * db


EXERCISES = [
    Exercise(
        "recipe.hard_sigmoid", recipe.hard_sigmoid, draw=_hard_sigmoid_case,
        fixed=[Case((torch.linspace(-1.0, 2.0, 7), 1.0, 0.0, 1.0))],
        mistakes=[
            Mistake("you left out the height c: multiply the difference of the two ReLUs by c",
                    lambda x, c, b, w: torch.relu(b + w * x) - torch.relu(b + w * x - 1)),
            Mistake("a hard sigmoid is flat again after the ramp: subtract ReLU(b + w·x − 1)",
                    lambda x, c, b, w: c * torch.relu(b + w * x)),
            Mistake("that is the smooth sigmoid c·σ(b + w·x); the hard sigmoid is two ReLUs",
                    lambda x, c, b, w: c * torch.sigmoid(b + w * x)),
            Mistake("b is the offset and w the slope: the ramp is in z = b + w·x",
                    lambda x, c, b, w: c * (torch.relu(w + b * x) - torch.relu(w + b * x - 1))),
        ],
    ),
    Exercise(
        "recipe.sigmoid_model", recipe.sigmoid_model, draw=_sigmoid_model_case,
        fixed=[_sigmoid_model_case(torch.Generator().manual_seed(0), n=4, d=3, k=3)],
        mistakes=[
            Mistake("check the orientation of W: it is (k, d), so the hidden layer is x @ W.T + b_hidden",
                    lambda x, W, b_hidden, c, b: b + torch.sigmoid(x @ W + b_hidden) @ c),
            Mistake("you left out the output bias b",
                    lambda x, W, b_hidden, c, b: torch.sigmoid(x @ W.T + b_hidden) @ c),
            Mistake("you left out b_hidden inside the sigmoid",
                    lambda x, W, b_hidden, c, b: b + torch.sigmoid(x @ W.T) @ c),
            Mistake("that is the ReLU model: this one uses torch.sigmoid", recipe.relu_model),
        ],
        error_hints={"mat1 and mat2 shapes cannot be multiplied":
                     "check the orientation of W: it is (k, d), so the hidden layer is x @ W.T + b_hidden"},
    ),
    Exercise(
        "recipe.linear_regression_step", recipe.linear_regression_step, draw=_regression_case,
        # The visible cases cover the hidden ones' lengths 4 … 10: fixed ones of length 4, 9 and 10 (w, b as
        # tensors and as numbers), and enough drawn ones that both ends of the range come up among them too.
        fixed=[_regression_case(torch.Generator().manual_seed(0), as_tensors=True, n=10),
               _regression_case(torch.Generator().manual_seed(1), n=9),
               _regression_case(torch.Generator().manual_seed(2), as_tensors=True, n=4)],
        visible_random_cases=8,
        compare=same_numbers("w_new", "b_new"), rtol=1e-4, atol=1e-5,
        mistakes=[
            Mistake("you moved uphill: gradient descent subtracts η·g (w − η·∂L/∂w), it does not add it",
                    lambda *case: _step(*case[:4], -case[4], lambda e, x: (2 * (e * x).mean(), 2 * e.mean()))),
            Mistake("you forgot the factor 2: the derivative of (b + w·x − ŷ)² is 2·(b + w·x − ŷ)·(its derivative)",
                    lambda *case: _step(*case, lambda e, x: ((e * x).mean(), e.mean()))),
            Mistake("the loss is the mean over the examples: use .mean(), not .sum(), in the gradient",
                    lambda *case: _step(*case, lambda e, x: (2 * (e * x).sum(), 2 * e.sum()))),
            Mistake("∂L/∂w carries a factor x and ∂L/∂b does not: ∂L/∂w = mean(2·(b + w·x − ŷ)·x)",
                    lambda *case: _step(*case, lambda e, x: (2 * e.mean(), 2 * (e * x).mean()))),
        ],
    ),
    Exercise(
        "recipe.updates_per_epoch", recipe.updates_per_epoch, draw=_updates_case, compare=same_int,
        fixed=[Case((100, 10)), Case((101, 10)), Case((101, 10), {"drop_last": True}), Case((5, 10)),
               Case((5, 10), {"drop_last": True}), Case((0, 4))],
        mistakes=[
            Mistake("the last, shorter batch still makes an update: round up (math.ceil) unless drop_last=True",
                    lambda n, batch_size, drop_last=False: n // batch_size),
            Mistake("with drop_last=True the last, shorter batch is dropped: round down (//) then",
                    lambda n, batch_size, drop_last=False: math.ceil(n / batch_size)),
            Mistake("n // B + 1 counts one update too many when B divides n: use math.ceil(n / B)",
                    lambda n, batch_size, drop_last=False: n // batch_size + (0 if drop_last else 1)),
        ],
    ),
    Exercise(
        "recipe.parameter_count", parameter_count, draw=_network_sizes, kind="value",
        compare=close_number, rtol=0.0, atol=1e-9,
        hint="count the unknowns layer by layer: each layer has one weight per input per unit, and one bias "
             "per unit; the output y = b + cᵀa has its own weights c and bias b",
        mistakes=[
            Mistake("you left out the biases: every unit has its own bᵢ inside the sigmoid, and the output its b",
                    lambda p: p["d"] * p["k"] + (p["layers"] - 1) * p["k"] ** 2 + p["k"]),
            Mistake("only the first hidden layer reads the d features; each later one reads the k outputs a of "
                    "the layer before it, so its W is k × k",
                    lambda p: p["layers"] * (p["d"] + 1) * p["k"] + p["k"] + 1),
            Mistake("there are L hidden layers: after the first, each adds a k × k matrix W and k biases",
                    lambda p: (p["d"] + 1) * p["k"] + p["k"] + 1),
            Mistake("the output y = b + cᵀa has its own bias b: count it too", lambda p: parameter_count(p) - 1),
            Mistake("count the output layer too: its k weights c and its bias b",
                    lambda p: parameter_count(p) - p["k"] - 1),
        ],
    ),
    Exercise(
        "recipe.diagnose_training", diagnose_training, draw=record_case(training_record, LABELS),
        fixed=FIXED_RECORDS, compare=same_label(LABELS), visible_random_cases=12, hidden_random_cases=24,
        hint="read the training loss first, measured against noise_loss; then the smaller model's training loss "
             "or the validation and test losses, as section 5's table does",
        mistakes=label_mistakes(diagnose_training, REASONS),
    ),
]
