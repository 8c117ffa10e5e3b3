"""Chapter 0 (notebooks/00_training_recipe.ipynb): each sentence about an experiment's outcome, as a test.

Each test runs the chapter's own experiment (its settings, its functions in ``course_utils.guide``)
over three seeds, and must pass under every CPU code path PyTorch can take
(``ATEN_CPU_CAPABILITY=default|avx2`` and the machine's own). Each experiment runs once per seed
(cached) and serves every claim about it.
"""
from functools import lru_cache

import pytest
import torch

from course_utils import guide, recipe, surfaces
from course_utils.widgets import recipe as demos

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def model_bias(seed):
    return guide.model_bias(seed)


@lru_cache(maxsize=None)
def depth(seed, init):
    return guide.optimisation_failure(seed, init=init)


@lru_cache(maxsize=None)
def overfitting(seed):
    return guide.overfitting(seed)


@lru_cache(maxsize=None)
def mismatch(seed):
    return guide.mismatch(seed)


# ------------------------------------------------------------- 1.-2. gradient descent on a line


@pytest.mark.parametrize("learning_rate", [0.05, 0.2, 0.4])
def test_ch0_our_updates_and_torch_sgd_are_the_same_numbers(learning_rate):
    """Chapter 0, "1. Three steps" (Gradient descent):
    "Our updates and PyTorch's are the same numbers, close to the minimum but not yet on it." """
    x, y = recipe.make_line_data()
    surface = demos.line_surface()
    w, b = demos.GD_START
    for _ in range(100):
        w, b = recipe.linear_regression_step(w, b, x, y, learning_rate)
    path = surfaces.gradient_descent(surface, demos.GD_START, learning_rate=learning_rate, steps=100)
    assert abs(float(w) - path[-1, 0].item()) < 1e-9 and abs(float(b) - path[-1, 1].item()) < 1e-9


def test_ch0_every_learning_rate_above_its_limit_diverges_and_every_one_below_converges():
    """Chapter 0, "2. Play with it: the learning rate":
    "Every η above its limit in the table diverges; every one below heads for the minimum ...,
    and there is a band of learning rates that works for w alone but not for (w, b)." """
    surface = demos.line_surface()
    hessian = torch.autograd.functional.hessian(surface.loss, torch.tensor(surface.minimum))
    limit_w, limit_wb = 2 / hessian[0, 0].item(), 2 / torch.linalg.eigvalsh(hessian).max().item()
    band = 0
    for eta in demos.GD1_DEMO.controls["learning_rate"].values:
        one, two = demos.gd1_compute(eta, 100)["verdict"], demos.gd2_compute(eta, 100)["verdict"]
        assert (one == "diverges") == (eta > limit_w), (eta, one)
        assert (two == "diverges") == (eta > limit_wb), (eta, two)
        band += limit_wb < eta < limit_w
    assert band >= 1


# --------------------------------------------------------------------------- 5.1 model bias


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_the_line_is_stuck_at_the_best_line_and_the_network_fits_much_better(seed):
    """Chapter 0, "5.1 Model bias: the line that cannot bend":
    "The line's training loss is large, as large as its validation loss, and it already equals the
    lowest loss any line can reach ... The network ... reaches a much lower training loss." """
    line, net = model_bias(seed)
    assert line.train_loss == pytest.approx(guide.best_line_loss(line.x, line.y), rel=0.01)
    assert line.validation_loss == pytest.approx(line.train_loss, rel=0.2)
    assert net.train_loss < 0.5 * line.train_loss


# ----------------------------------------------------------------- 5.2 optimisation failure


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_the_deeper_plain_network_is_worse_on_training_data_at_the_loss_of_a_constant(seed):
    """Chapter 0, "5.2 Optimisation failure: deeper, and worse on the training data":
    "The deeper network is worse on the training data, not only on the validation data: its
    training loss ... is about the loss of a constant prediction ... against ... for two layers." """
    shallow, deep = depth(seed, "default")
    constant = deep.y.var(unbiased=False).item()
    assert deep.train_loss > 3 * shallow.train_loss and deep.validation_loss > shallow.validation_loss
    assert deep.train_loss == pytest.approx(constant, rel=0.05)


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_default_initialisation_shrinks_the_signal_about_sqrt6_per_layer_and_he_keeps_it(seed):
    """Chapter 0, "5.2 Optimisation failure":
    "Under the default initialisation each layer shrinks the variation by about ...×, near the
    √6 ≈ 2.45 of the estimate ... In the table, the variation now shrinks by only ...× per layer." """
    x, _ = recipe.make_curve_data(200, seed=seed)
    shrink = {}
    for init in ("default", "he"):
        sizes = guide.layer_signals(guide.deep_network(10, init=init, seed=seed), x)
        shrink[init] = (sizes[0] / sizes[-1]) ** (1 / 9)
    assert 2.0 < shrink["default"] < 3.5 and shrink["he"] < 1.6, shrink


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_the_lower_layers_get_a_far_smaller_gradient_under_the_default_initialisation(seed):
    """Chapter 0, "5.2 Optimisation failure":
    "The lower layers' weights get a gradient far smaller than under He's initialisation (the
    other column), and the first layer's ... compares with ... in the two-layer network." """
    x, y = recipe.make_curve_data(200, seed=seed)
    default = guide.layer_gradients(guide.deep_network(10, seed=seed), x, y)
    he = guide.layer_gradients(guide.deep_network(10, init="he", seed=seed), x, y)
    ratios = [d / h for d, h in zip(default, he)]
    assert max(ratios[:5]) < 1e-2 and ratios[0] < ratios[-1], ratios
    assert default[0] < 1e-2 * guide.first_layer_gradient(guide.deep_network(2, seed=seed), x, y)


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_with_he_initialisation_the_deeper_network_trains_to_the_lowest_training_loss(seed):
    """Chapter 0, "5.2 Optimisation failure":
    "With He initialisation the ten-layer network trains, and it ends with a lower training loss
    ... than the two-layer network with either initialisation." """
    shallow, _ = depth(seed, "default")
    he_shallow, he_deep = depth(seed, "he")
    assert he_deep.train_loss < min(shallow.train_loss, he_shallow.train_loss)


# ------------------------------------------------------------------------- 5.3 overfitting


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_few_examples_overfit_and_more_data_brings_validation_to_training(seed):
    """Chapter 0, "5.3 Overfitting: cured by more data":
    "With 10 examples ... its training loss is small, its validation loss ... times larger. With
    200 examples ... the validation loss falls, and the gap to the training loss nearly closes.
    The training loss rose." """
    few, many = overfitting(seed)
    assert few.validation_loss > 5 * few.train_loss
    assert many.validation_loss < few.validation_loss
    assert many.validation_loss < 1.5 * many.train_loss
    assert many.train_loss > few.train_loss


# ---------------------------------------------------------------------------- 5.4 mismatch


@pytest.mark.parametrize("seed", SEEDS)
def test_ch0_mismatch_is_far_off_on_test_data_and_more_data_does_not_cure_it(seed):
    """Chapter 0, "5.4 Mismatch: more data does not help":
    "Both networks fit the training range well: small training and validation losses. On the test
    data both are far off, and ten times more training data left the test loss about as large, far
    above the validation loss." """
    runs, test_losses = mismatch(seed)
    for run, test in zip(runs, test_losses):
        assert run.train_loss < 0.2 and run.validation_loss < 0.2
        assert test > 10 * run.validation_loss
    assert test_losses[1] > 0.5 * test_losses[0]
