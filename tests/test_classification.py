"""course_utils.classification against torch and against the bound's definition."""
import math

import pytest
import torch

from course_utils import classification as cl


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


def test_samples_needed_is_the_smallest_n_that_meets_delta():
    n = cl.samples_needed(eps=0.1, delta=0.05, h_size=10_000)
    assert cl.hoeffding_bound(n, 0.1, 10_000) <= 0.05 < cl.hoeffding_bound(n - 1, 0.1, 10_000)
    assert n == math.ceil(math.log(2 * 10_000 / 0.05) / (2 * 0.1 ** 2))


@pytest.mark.parametrize("call, error, message", [
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 4, 1])), ValueError, r"\[0, 3\]"),
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0, 1])), ValueError, "shape"),
    (lambda: cl.cross_entropy(torch.zeros(3, 4), torch.tensor([0.0, 1.0, 2.0])), TypeError, "integer"),
    (lambda: cl.cross_entropy_of_probabilities(torch.randn(3, 4), torch.tensor([0, 1, 2])), ValueError, "logits"),
    (lambda: cl.samples_needed(eps=0.0, delta=0.1), ValueError, "ε"),
    (lambda: cl.samples_needed(eps=0.1, delta=1.0), ValueError, "δ"),
    (lambda: cl.hoeffding_bound(10, eps=1.5), ValueError, "ε"),
])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()
