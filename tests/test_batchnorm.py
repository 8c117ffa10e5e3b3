"""course_utils.batchnorm.BatchNorm1d against torch.nn.BatchNorm1d."""
import pytest
import torch

from course_utils.batchnorm import BatchNorm1d


@pytest.mark.parametrize("shape", [(16, 5), (8, 5, 7)])
@pytest.mark.parametrize("affine", [True, False])
def test_batchnorm_matches_torch_over_100_steps_in_train_and_eval(shape, affine):
    torch.manual_seed(0)
    ours = BatchNorm1d(5, momentum=0.2, affine=affine).double()
    theirs = torch.nn.BatchNorm1d(5, momentum=0.2, affine=affine).double()
    for step in range(100):
        x1 = (3 * torch.randn(*shape, dtype=torch.float64) + 2).requires_grad_()
        x2 = x1.detach().clone().requires_grad_()
        upstream = torch.randn(*shape, dtype=torch.float64)
        y1, y2 = ours(x1), theirs(x2)
        assert torch.allclose(y1, y2, atol=1e-6)
        (y1 * upstream).sum().backward()
        (y2 * upstream).sum().backward()
        assert torch.allclose(x1.grad, x2.grad, atol=1e-6)
        if affine:
            assert torch.allclose(ours.weight.grad, theirs.weight.grad, atol=1e-6)
            assert torch.allclose(ours.bias.grad, theirs.bias.grad, atol=1e-6)
            with torch.no_grad():                      # take the same SGD step on γ and β
                for a, b in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
                    a -= 0.01 * a.grad
                    b -= 0.01 * b.grad
                    a.grad = b.grad = None
    assert torch.allclose(ours.running_mean, theirs.running_mean, atol=1e-6)
    assert torch.allclose(ours.running_var, theirs.running_var, atol=1e-6)
    ours.eval(), theirs.eval()
    x = torch.randn(*shape, dtype=torch.float64)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)
    assert torch.allclose(ours(x[:1]), theirs(x[:1]), atol=1e-6)   # one example works in eval mode


def test_a_batch_of_one_in_training_mode_is_refused_like_pytorch():
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        BatchNorm1d(3)(torch.randn(1, 3))


@pytest.mark.parametrize("x, message", [
    (torch.randn(4, 6), r"expects 3 features"),
    (torch.randn(4), r"\(N, 3\) or \(N, 3, L\)"),
    (torch.randn(2, 3, 4, 5), r"\(N, 3\) or \(N, 3, L\)"),
])
def test_wrong_feature_count_or_rank_names_the_expected_shape(x, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(3)(x)
