"""course_utils.classification against torch and against the bound's definition."""
import math

import pytest
import torch

from course_utils import classification as cl
from course_utils.experiments import classification as cx


@pytest.mark.parametrize("scale", [1.0, 30.0, 1e4])
def test_cross_entropy_matches_torch_including_huge_logits(scale):
    torch.manual_seed(0)
    logits = scale * torch.randn(50, 7, dtype=torch.float64)
    targets = torch.randint(0, 7, (50,))
    expected = torch.nn.functional.cross_entropy(logits, targets)
    assert torch.allclose(cl.cross_entropy(logits, targets), expected, atol=1e-6, rtol=1e-6)


def test_softmax_is_stable_and_matches_torch():
    logits = torch.tensor([[1e4, 0.0, -1e4], [1.0, 2.0, 3.0]], dtype=torch.float64)
    ours = cl.softmax(logits)
    assert torch.isfinite(ours).all()
    assert torch.allclose(ours, torch.softmax(logits, dim=-1))
    assert torch.allclose(ours.sum(-1), torch.ones(2, dtype=torch.float64))


def test_two_class_softmax_equals_the_sigmoid_of_the_logit_difference():
    z = torch.randn(20, 2, dtype=torch.float64)
    assert torch.allclose(cl.softmax(z)[:, 0], torch.sigmoid(z[:, 0] - z[:, 1]))


def test_mse_on_softmax_matches_its_definition():
    logits = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64)
    p = torch.softmax(logits, -1)[0]
    expected = (1 - p[0]) ** 2 + p[1] ** 2 + p[2] ** 2
    assert cl.mse_on_softmax(logits, torch.tensor([0])).item() == pytest.approx(expected.item())


def test_samples_needed_is_the_smallest_n_that_meets_the_failure_probability():
    n = cl.samples_needed(eps=0.1, p_bad=0.05, h_size=10_000)
    assert cl.hoeffding_bound(n, 0.1, 10_000) <= 0.05 < cl.hoeffding_bound(n - 1, 0.1, 10_000)
    assert n == math.ceil(math.log(2 * 10_000 / 0.05) / (2 * 0.1 ** 2))


@pytest.mark.parametrize("call, error, message", [
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 4, 1])), ValueError, r"\[0, 3\]"),
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 1])), ValueError, "shape"),
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0.0, 1.0, 2.0])), TypeError, "integer"),
    (lambda: cl.samples_needed(eps=0.0, p_bad=0.1), ValueError, "ε"),
    (lambda: cl.samples_needed(eps=0.1, p_bad=1.0), ValueError, "p must"),
    (lambda: cl.hoeffding_bound(10, eps=1.5), ValueError, "ε"),
])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_cross_entropy_matches_torch_in_float32_on_logits_of_plus_minus_1e4():
    logits = torch.tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0], [0.5, 0.25, -1e4]])
    targets = torch.tensor([1, 1, 2])
    ours, theirs = cl.cross_entropy(logits, targets), torch.nn.functional.cross_entropy(logits, targets)
    assert torch.isfinite(ours) and torch.allclose(ours, theirs, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_cross_entropy_reductions_match_torch(reduction):
    torch.manual_seed(1)
    logits, targets = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 4, (8,))
    expected = torch.nn.functional.cross_entropy(logits, targets, reduction=reduction)
    assert torch.allclose(cl.cross_entropy(logits, targets, reduction=reduction), expected)


def test_cross_entropy_is_minus_log_of_the_softmax_probability_of_the_label():
    logits = torch.tensor([[2.0, 1.0, -1.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    targets = torch.tensor([0, 2])
    p = torch.softmax(logits, dim=1)
    expected = -(p[0, 0].log() + p[1, 2].log()) / 2
    assert cl.cross_entropy(logits, targets).item() == pytest.approx(expected.item())


def test_one_hot_puts_a_one_at_the_class():
    assert torch.equal(cl.one_hot(torch.tensor([2, 0]), 3), torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))


def test_guaranteed_epsilon_inverts_samples_needed():
    n = cl.samples_needed(eps=0.05, p_bad=0.01, h_size=64)
    assert cl.guaranteed_epsilon(n, 0.01, 64) <= 0.05 < cl.guaranteed_epsilon(n - 1, 0.01, 64)
    assert cl.hoeffding_bound(n, cl.guaranteed_epsilon(n, 0.01, 64), 64) == pytest.approx(0.01)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    logits = torch.tensor([[1.0, -2.0, 0.5]], dtype=torch.float64, requires_grad=True)
    cl.cross_entropy(logits, torch.tensor([1])).backward()
    assert torch.allclose(logits.grad, torch.softmax(logits.detach(), 1) - cl.one_hot(torch.tensor([1]), 3).double())


@pytest.mark.parametrize("loss", ["MSE", "cross-entropy"])
def test_three_class_surface_is_the_loss_of_the_three_logits(loss):
    surface = cx.three_class_surface(loss)
    theta = torch.tensor([[1.5, -0.5], [-8.0, 8.0]], dtype=torch.float64)
    logits = torch.cat([theta, torch.full((2, 1), cx.Y3, dtype=torch.float64)], dim=1)
    expected = cx.LOSSES[loss](logits, torch.tensor([0, 0]), reduction="none")
    assert torch.allclose(surface.loss(theta), expected)
    grid = torch.zeros(4, 5, 2, dtype=torch.float64)
    assert surface.loss(grid).shape == (4, 5)


def test_from_the_high_loss_corner_sgd_stalls_on_mse_and_moves_on_cross_entropy():
    mse = cx.descend_three_class("MSE", learning_rate=1.0, steps=100)
    ce = cx.descend_three_class("cross-entropy", learning_rate=1.0, steps=100)
    start = torch.tensor(cx.HIGH_LOSS_CORNER, dtype=torch.float64)
    assert (mse[-1] - start).norm() < 1e-3          # 100 updates and it has not moved
    assert (ce[-1] - start).norm() > 10             # it crossed to the low-loss side
    surface = cx.three_class_surface("MSE")
    assert surface.loss(mse[-1]) > 1.9 and cx.three_class_surface("cross-entropy").loss(ce[-1]) < 0.01


def test_adam_escapes_the_flat_mse_corner_where_sgd_does_not():
    path = cx.descend_three_class("MSE", learning_rate=0.1, steps=100, optimizer="adam")
    assert path[-1, 0] > path[-1, 1]      # y₁ > y₂: class 1 now wins


def test_train_classifier_extra_softmax_and_mse_learn_slower_than_cross_entropy():
    from course_utils.data import digits

    split = digits()
    final = {loss: cx.train_classifier(loss, split, epochs=3).history["cross-entropy"][-1] for loss in cx.TRAINING_LOSSES}
    right, double, mse = final.values()
    assert right < mse < double


@pytest.mark.parametrize("call, error, message", [
    (lambda: cl.cross_entropy(torch.zeros(2, 3), torch.tensor([-1, 0])), ValueError, r"\[0, 2\]"),
    (lambda: cl.mse_on_softmax(torch.zeros(2, 3), torch.tensor([0, 3])), ValueError, r"\[0, 2\]"),
    (lambda: cl.cross_entropy(torch.zeros(2, 3), torch.tensor([0, 1]), reduction="avg"), ValueError, "reduction"),
    (lambda: cl.one_hot(torch.tensor([0, 5]), 3), ValueError, r"\[0, 2\]"),
    (lambda: cl.softmax(torch.tensor([1, 2])), TypeError, "floating"),
    (lambda: cl.guaranteed_epsilon(100, p_bad=0.0), ValueError, "p must"),
    (lambda: cl.hoeffding_bound(10, eps=-0.1), ValueError, "ε"),
    (lambda: cx.three_class_surface("hinge"), ValueError, "MSE"),
    (lambda: cx.train_classifier("hinge", None), ValueError, "loss"),
])
def test_more_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
