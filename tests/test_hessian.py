"""course_utils.hessian against independent computations (row-by-row autograd, eigh)."""
import math

import pytest
import torch

from course_utils import hessian as hs


def product_loss(theta):
    """The notes' example: y = w1·w2·x with one pair (x = 1, ŷ = 1)."""
    return (1 - theta[0] * theta[1]) ** 2


def rowwise_hessian(loss_fn, theta):
    theta = theta.detach().requires_grad_()
    (g,) = torch.autograd.grad(loss_fn(theta), theta, create_graph=True)
    return torch.stack([torch.autograd.grad(g[i], theta, retain_graph=True)[0] for i in range(len(theta))])


def test_hessian_of_the_notes_example_at_the_origin_is_a_saddle_with_eigenvalues_plus_minus_2():
    H = hs.hessian(product_loss, torch.zeros(2, requires_grad=True))
    assert torch.equal(H, torch.tensor([[0.0, -2.0], [-2.0, 0.0]]))
    assert hs.critical_point_kind(H) == "saddle point"
    assert torch.allclose(torch.linalg.eigvalsh(H), torch.tensor([-2.0, 2.0]))
    assert hs.minimum_ratio(H) == 0.5


def test_points_on_the_curve_w1w2_equal_1_are_degenerate_minima():
    H = hs.hessian(product_loss, torch.tensor([2.0, 0.5], requires_grad=True))
    lam = torch.linalg.eigvalsh(H)
    assert lam[0].abs() < 1e-6 and lam[1] > 0
    assert hs.critical_point_kind(H) == "degenerate"


def test_hessian_matches_rowwise_autograd_on_a_random_network_loss():
    torch.manual_seed(0)
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randn(20, dtype=torch.float64)

    def loss(theta):
        W, v = theta[:12].view(4, 3), theta[12:]
        return ((torch.tanh(x @ W.T) @ v - y) ** 2).mean()

    theta = torch.randn(16, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(hs.hessian(loss, theta), rowwise_hessian(loss, theta), atol=1e-10)


@pytest.mark.parametrize("diag, kind", [
    ([1.0, 2.0], "local minimum"),
    ([-1.0, -3.0], "local maximum"),
    ([-1.0, 3.0], "saddle point"),
    ([0.0, 3.0], "degenerate"),
    ([0.0, -3.0], "degenerate"),
])
def test_critical_point_kind_follows_the_eigenvalue_signs(diag, kind):
    rotation = torch.tensor([[0.6, -0.8], [0.8, 0.6]], dtype=torch.float64)
    H = rotation @ torch.diag(torch.tensor(diag, dtype=torch.float64)) @ rotation.T
    assert hs.critical_point_kind(H) == kind


def test_escape_direction_lowers_the_loss_by_half_lambda_u_squared_to_second_order():
    theta0 = torch.zeros(2, requires_grad=True)
    lam, u = hs.escape_direction(hs.hessian(product_loss, theta0))
    assert lam == pytest.approx(-2.0)
    assert u.norm().item() == pytest.approx(1.0)
    step = 1e-2 * u
    predicted = 0.5 * lam * step.norm() ** 2
    actual = product_loss(theta0.detach() + step) - product_loss(theta0.detach())
    assert actual < 0
    assert actual.item() == pytest.approx(predicted.item(), rel=1e-3)


def test_extreme_eigenvalues_by_lanczos_match_the_exact_spectrum():
    torch.manual_seed(1)
    net = torch.nn.Sequential(torch.nn.Linear(1, 32), torch.nn.Tanh(), torch.nn.Linear(32, 1)).double()
    x = torch.linspace(-1, 1, 40, dtype=torch.float64).unsqueeze(1)
    y = torch.sin(3 * x)
    params = list(net.parameters())
    loss = lambda: torch.nn.functional.mse_loss(net(x), y)  # noqa: E731
    names = [n for n, _ in net.named_parameters()]

    def loss_of_vector(theta):
        chunks, i = {}, 0
        for name, p in zip(names, params):
            chunks[name] = theta[i:i + p.numel()].view_as(p)
            i += p.numel()
        return torch.nn.functional.mse_loss(torch.func.functional_call(net, chunks, (x,)), y)

    theta = torch.nn.utils.parameters_to_vector(params).detach().requires_grad_()
    exact = torch.linalg.eigvalsh(hs.hessian(loss_of_vector, theta))
    smallest, largest = hs.extreme_eigenvalues(loss, params, k=1, iters=60)
    assert smallest[0].item() == pytest.approx(exact[0].item(), rel=1e-2, abs=1e-8)
    assert largest[0].item() == pytest.approx(exact[-1].item(), rel=1e-2)


@pytest.mark.parametrize("H, message", [
    (torch.ones(2, 3), "square"),
    (torch.tensor([[1.0, 2.0], [0.0, 1.0]]), "symmetric"),
    (torch.tensor([[float("nan"), 0.0], [0.0, 1.0]]), "NaN"),
])
def test_bad_hessians_are_refused_with_a_clear_message(H, message):
    with pytest.raises(ValueError, match=message):
        hs.critical_point_kind(H)


def test_hessian_takes_a_theta_with_or_without_grad_and_refuses_integers_and_a_non_scalar_loss():
    point = torch.tensor([2.0, 0.5], dtype=torch.float64)
    assert torch.equal(hs.hessian(product_loss, point), hs.hessian(product_loss, point.clone().requires_grad_()))
    with pytest.raises(ValueError, match="floating-point"):
        hs.hessian(product_loss, torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="scalar"):
        hs.hessian(lambda t: t ** 2, torch.zeros(2, requires_grad=True))


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32, torch.float16, torch.bfloat16])
def test_hessian_takes_any_floating_point_theta_and_answers_in_its_dtype(dtype):
    point = torch.tensor([2.0, 0.5], dtype=dtype)
    H = hs.hessian(product_loss, point)
    assert H.dtype == dtype
    assert H.double().tolist() == hs.hessian(product_loss, point.double()).tolist()   # exact in every dtype here


def test_hessian_refuses_a_loss_that_is_nan_at_theta():
    with pytest.raises(ValueError, match="NaN"):
        hs.hessian(lambda t: torch.log(t).sum(), torch.tensor([-1.0, 2.0], requires_grad=True))


def test_hessian_in_chunks_of_rows_matches_the_row_loop_when_n_is_not_a_multiple_of_the_chunk():
    torch.manual_seed(2)
    A = torch.randn(13, 13, dtype=torch.float64)
    loss = lambda t: (torch.sin(A @ t) ** 2).sum()  # noqa: E731
    theta = torch.randn(13, dtype=torch.float64, requires_grad=True)
    assert 13 % hs.CHUNK_ROWS != 0
    assert torch.allclose(hs.hessian(loss, theta), rowwise_hessian(loss, theta), atol=1e-10)


# --------------------------------------------------------------- the structured two-layer Hessian

@pytest.mark.parametrize("activation, d", [("relu", 1), ("relu", 3), ("tanh", 1), ("tanh", 2)])
def test_two_layer_mse_hessian_equals_autograd(activation, d):
    generator = torch.Generator().manual_seed(d)
    x = torch.randn(40, d, dtype=torch.float64, generator=generator)
    y = torch.randn(40, dtype=torch.float64, generator=generator)
    loss = hs.TwoLayerMSE(x, y, hidden=6, activation=activation)
    theta = torch.randn(loss.n_parameters, dtype=torch.float64, generator=generator, requires_grad=True)
    expected = rowwise_hessian(lambda t: loss(t), theta)           # a plain function: the generic route
    assert torch.allclose(loss.exact_hessian(theta), expected, atol=1e-10)
    assert torch.allclose(hs.hessian(loss, theta), expected, atol=1e-10)   # hessian() uses the structure


def test_two_layer_mse_is_the_loss_of_the_torch_network_with_the_same_parameters():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.Tanh(), torch.nn.Linear(5, 1)).double()
    x, y = torch.randn(30, 2, dtype=torch.float64), torch.randn(30, 1, dtype=torch.float64)
    theta = torch.nn.utils.parameters_to_vector(net.parameters())
    loss = hs.TwoLayerMSE(x, y, hidden=5, activation="tanh")
    assert torch.allclose(loss(theta), torch.nn.functional.mse_loss(net(x), y), rtol=0, atol=1e-14)


def test_the_gauss_newton_part_is_positive_semidefinite_and_misses_the_negative_curvature():
    x = torch.linspace(-1, 1, 64, dtype=torch.float64)
    loss = hs.TwoLayerMSE(x, torch.sinc(5 * x), hidden=16, activation="relu")
    theta = torch.randn(loss.n_parameters, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    G, H = loss.gauss_newton(theta), loss.exact_hessian(theta)
    assert torch.linalg.eigvalsh(G)[0] > -1e-10
    assert torch.linalg.eigvalsh(H)[0] < -1e-3                  # the true Hessian sees a way down
    assert torch.allclose(G, 2 / 64 * loss.jacobian(theta).T @ loss.jacobian(theta))


@pytest.mark.parametrize("args, message", [
    (dict(x=torch.zeros(5), y=torch.zeros(4), hidden=3), "same N"),
    (dict(x=torch.zeros(5), y=torch.zeros(5), hidden=0), "hidden must be a positive int"),
    (dict(x=torch.zeros(5), y=torch.zeros(5), hidden=3, activation="gelu"), "activation must be one of"),
])
def test_two_layer_mse_refuses_bad_settings(args, message):
    with pytest.raises(ValueError, match=message):
        hs.TwoLayerMSE(**args)


def test_two_layer_mse_names_the_parameter_count_it_expects():
    loss = hs.TwoLayerMSE(torch.zeros(5), torch.zeros(5), hidden=3)
    with pytest.raises(ValueError, match="10 parameters of a 1-3-1 network"):
        loss.exact_hessian(torch.zeros(9, dtype=torch.float64))


def test_minimum_ratio_sets_flat_eigenvalues_aside_and_counts_them():
    H = torch.diag(torch.tensor([3.0, 1.0, -2.0, 1e-12, -1e-15], dtype=torch.float64))
    assert hs.curvature_counts(H) == (2, 1, 2)
    assert hs.minimum_ratio(H) == 2 / 3
    assert hs.curvature_counts(H, tol=0.0) == (3, 2, 0) and hs.minimum_ratio(H, tol=0.0) == 3 / 5
    assert math.isnan(hs.minimum_ratio(torch.zeros(2, 2, dtype=torch.float64)))


# --- chapter 1's study helpers (course_utils.experiments.critical), which rely on the Hessian -----------------

def test_adam_snapshots_hold_each_network_as_it_was_after_its_own_number_of_updates():
    from course_utils.experiments import critical

    loss = critical.sinc_network_loss(hidden=2, n_points=8)
    start = torch.randn(3, critical.n_parameters(2), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    updates = torch.tensor([0, 3, 7])
    snapshots = critical.adam_snapshots(loss, start, updates, learning_rate=0.05)
    for k in range(3):
        theta = start[k].clone().requires_grad_()
        optimizer = torch.optim.Adam([theta], lr=0.05)
        for _ in range(int(updates[k])):
            optimizer.zero_grad()
            loss(theta).backward()
            optimizer.step()
        assert torch.allclose(snapshots[k], theta.detach(), rtol=0, atol=1e-12)


def test_gradient_norm_descent_leaves_a_point_alone_once_its_gradient_is_below_tol():
    from course_utils.experiments import critical

    H = torch.tensor([[2.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    loss = lambda t: 0.5 * (t - 1) @ H @ (t - 1)  # noqa: E731
    starts = torch.tensor([[1.0 + 1e-9, 1.0], [3.0, -2.0]], dtype=torch.float64)
    found = critical.gradient_norm_descent(loss, starts, steps=30, tol=1e-6)
    assert torch.equal(found[0], starts[0])
    assert torch.allclose(found[1], torch.ones(2, dtype=torch.float64), atol=1e-8)
