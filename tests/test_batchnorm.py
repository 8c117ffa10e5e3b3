"""course_utils.batchnorm: BatchNorm1d against torch.nn.BatchNorm1d, and the three functions it is made of."""
import pytest
import torch

from course_utils.batchnorm import BatchNorm1d, batch_norm_eval, batch_norm_train, update_running_stats

TOL = 1e-6


def _pair(momentum, affine):
    return (BatchNorm1d(5, momentum=momentum, affine=affine).double(),
            torch.nn.BatchNorm1d(5, momentum=momentum, affine=affine).double())


def _forward_backward(module, x, upstream):
    x = x.clone().requires_grad_()
    y = module(x)
    (y * upstream).sum().backward()
    return y.detach(), x.grad


def _assert_same_step(ours, theirs, x, upstream):
    """Outputs, input gradients and γ, β gradients agree; then both take the same SGD step on γ, β."""
    y1, g1 = _forward_backward(ours, x, upstream)
    y2, g2 = _forward_backward(theirs, x, upstream)
    assert torch.allclose(y1, y2, atol=TOL) and torch.allclose(g1, g2, atol=TOL)
    if ours.affine:
        for a, b in ((ours.weight, theirs.weight), (ours.bias, theirs.bias)):
            assert torch.allclose(a.grad, b.grad, atol=TOL)
            with torch.no_grad():
                a -= 0.01 * a.grad
                b -= 0.01 * b.grad
            a.grad = b.grad = None


@pytest.mark.parametrize("shape", [(16, 5), (8, 5, 7)], ids=["2-D", "3-D"])
@pytest.mark.parametrize("affine", [True, False], ids=["affine", "no-affine"])
@pytest.mark.parametrize("momentum", [0.1, 0.2])
def test_batchnorm_matches_torch_over_100_steps_in_train_and_eval(shape, affine, momentum):
    """Every step: a training batch (outputs, gradients of input, γ, β, running statistics), then an
    evaluation batch in eval mode (outputs and the same gradients), then back to training."""
    torch.manual_seed(0)
    ours, theirs = _pair(momentum, affine)
    for step in range(100):
        ours.train(), theirs.train()
        x = 3 * torch.randn(*shape, dtype=torch.float64) + 2 + step / 50    # a drifting mean
        _assert_same_step(ours, theirs, x, torch.randn(*shape, dtype=torch.float64))
        assert torch.allclose(ours.running_mean, theirs.running_mean, atol=TOL)
        assert torch.allclose(ours.running_var, theirs.running_var, atol=TOL)
        assert ours.num_batches_tracked == theirs.num_batches_tracked == step + 1
        ours.eval(), theirs.eval()
        x = torch.randn(*shape, dtype=torch.float64)
        _assert_same_step(ours, theirs, x, torch.randn(*shape, dtype=torch.float64))
        _assert_same_step(ours, theirs, x[:1], torch.randn(1, *shape[1:], dtype=torch.float64))  # one example
    assert ours.num_batches_tracked == 100                     # eval mode did not touch the statistics


def test_running_statistics_use_p_equal_to_one_minus_momentum_and_the_unbiased_variance():
    torch.manual_seed(1)
    layer = BatchNorm1d(3, momentum=0.25)
    z = torch.randn(6, 3)
    layer(z)
    p = 0.75
    assert torch.allclose(layer.running_mean, p * torch.zeros(3) + (1 - p) * z.mean(0))
    assert torch.allclose(layer.running_var, p * torch.ones(3) + (1 - p) * z.var(0, unbiased=True))
    assert not torch.allclose(layer.running_var, p * torch.ones(3) + (1 - p) * z.var(0, unbiased=False))


def test_the_output_in_training_mode_uses_the_biased_variance_and_has_mean_0_variance_1():
    z = torch.randn(10, 4, dtype=torch.float64) * torch.tensor([0.1, 1.0, 10.0, 100.0], dtype=torch.float64) + 5
    out = BatchNorm1d(4, eps=0.0).double()(z)
    assert torch.allclose(out.mean(0), torch.zeros(4, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(out.var(0, unbiased=False), torch.ones(4, dtype=torch.float64))


def test_gamma_sigma_beta_mu_makes_the_layer_the_identity():
    z = torch.randn(32, 3, dtype=torch.float64) * 4 + 1
    layer = BatchNorm1d(3, eps=0.0).double()
    with torch.no_grad():
        layer.weight.copy_(z.std(0, unbiased=False))
        layer.bias.copy_(z.mean(0))
    assert torch.allclose(layer(z), z)


def test_state_dicts_load_into_each_other():
    ours, theirs = BatchNorm1d(4, momentum=0.3), torch.nn.BatchNorm1d(4, momentum=0.3)
    for _ in range(3):
        ours(torch.randn(8, 4) * 2 + 1)
    theirs.load_state_dict(ours.state_dict())
    ours.eval(), theirs.eval()
    x = torch.randn(5, 4)
    assert torch.allclose(ours(x), theirs(x), atol=1e-6)


def test_the_three_functions_make_up_the_layer():
    torch.manual_seed(2)
    layer, z = BatchNorm1d(3, momentum=0.1), torch.randn(7, 3)
    with torch.no_grad():
        layer.weight.uniform_(0.5, 2), layer.bias.normal_()
    gamma, beta = layer.weight.detach(), layer.bias.detach()
    assert torch.allclose(layer(z), batch_norm_train(z, gamma, beta), atol=1e-6)
    mean, var = update_running_stats(torch.zeros(3), torch.ones(3), z, p=0.9)
    assert torch.allclose(layer.running_mean, mean) and torch.allclose(layer.running_var, var)
    layer.eval()
    assert torch.allclose(layer(z), batch_norm_eval(z, mean, var, gamma, beta), atol=1e-6)


def test_update_running_stats_leaves_its_inputs_alone():
    mean, var, z = torch.zeros(2), torch.ones(2), torch.randn(4, 2)
    update_running_stats(mean, var, z, 0.9)
    assert torch.equal(mean, torch.zeros(2)) and torch.equal(var, torch.ones(2))


# --- bad input --------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(1, 3), (1, 3, 1)])
def test_a_batch_of_one_in_training_mode_is_refused_like_pytorch(shape):
    x = torch.randn(*shape)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        torch.nn.BatchNorm1d(3)(x)
    with pytest.raises(ValueError, match="more than 1 value per channel.*model.eval()"):
        BatchNorm1d(3)(x)


def test_one_example_of_several_positions_trains_and_one_example_evaluates():
    x = torch.randn(1, 3, 4)                  # N = 1 but N·L = 4 values per feature: fine, as in PyTorch
    assert torch.allclose(BatchNorm1d(3)(x), torch.nn.BatchNorm1d(3)(x), atol=1e-6)
    layer = BatchNorm1d(3).eval()
    assert layer(torch.randn(1, 3)).shape == (1, 3)


@pytest.mark.parametrize("x, message", [
    (torch.randn(4, 6), r"expects 3 features in dimension 1, i\.e\. input of shape \(N, 3\) or \(N, 3, L\), "
                        r"got input of shape \(4, 6\)"),
    (torch.randn(4, 6, 2), r"expects 3 features .* got input of shape \(4, 6, 2\)"),
    (torch.randn(4), r"expects input of shape \(N, 3\) or \(N, 3, L\), got 1-D input of shape \(4,\)"),
    (torch.randn(2, 3, 4, 5), r"\(N, 3\) or \(N, 3, L\), got 4-D input"),
])
@pytest.mark.parametrize("training", [True, False])
def test_wrong_feature_count_or_rank_names_the_expected_shape(x, message, training):
    layer = BatchNorm1d(3).train(training)
    with pytest.raises(ValueError, match=message):
        layer(x)


@pytest.mark.parametrize("kwargs, message", [
    ({"num_features": 0}, "num_features must be ≥ 1"),
    ({"num_features": 3, "momentum": 1.5}, r"momentum \(= 1 − p\) must be in \[0, 1\]"),
    ({"num_features": 3, "eps": -1.0}, "eps must be ≥ 0"),
])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchNorm1d(**kwargs)
