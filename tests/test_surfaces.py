"""course_utils.surfaces: the error surfaces and the trajectory runner every optimisation
chapter reuses."""
import numpy as np
import pytest
import torch

from course_utils import optim
from course_utils.surfaces import (descend, elongated_bowl, gradient_descent, grid, losses_along, regression_surface,
                                   trajectory)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    x = rng.uniform(-2, 3, size=25)
    return x, 1.7 * x - 0.4 + rng.normal(scale=0.3, size=25)


def test_regression_surface_minimum_is_the_least_squares_line(data):
    x, y = data
    surface = regression_surface(x, y)
    w_ls, b_ls = np.polyfit(x, y, deg=1)
    assert surface.minimum == pytest.approx((w_ls, b_ls), abs=1e-10)

    theta = torch.tensor(surface.minimum, dtype=torch.float64, requires_grad=True)
    surface.loss(theta).backward()
    assert theta.grad.abs().max() < 1e-10  # ∇L = 0 there
    assert surface.xlim[0] < surface.minimum[0] < surface.xlim[1]
    assert surface.ylim[0] < surface.minimum[1] < surface.ylim[1]


def test_regression_surface_loss_is_the_mean_squared_error(data):
    x, y = data
    surface = regression_surface(x, y)
    points = torch.tensor([[0.5, 1.0], [2.0, -1.0]], dtype=torch.float64)
    expected = [np.mean((b + w * x - y) ** 2) for w, b in points.tolist()]
    assert surface.loss(points).tolist() == pytest.approx(expected, rel=1e-12)
    assert surface.loss(points[0]).shape == ()  # one θ, one loss


@pytest.mark.parametrize("x, y, shapes", [
    ([1.0, 2.0, 3.0], [1.0, 2.0], "(3,) and (2,)"),
    ([[1.0, 2.0]], [[1.0, 2.0]], "(1, 2) and (1, 2)"),
    ([1.0], [2.0], "(1,) and (1,)"),
])
def test_regression_surface_rejects_data_that_is_not_two_equal_1d_arrays(x, y, shapes):
    with pytest.raises(ValueError, match=r"1-D and of the same length ≥ 2; got shapes " + shapes.replace("(", r"\(").replace(")", r"\)")):
        regression_surface(x, y)


def _descend_by_hand(a, b, start, learning_rate, steps):
    """θ ← θ − η∇L on L = a·θ₁² + b·θ₂², with ∇L = (2a·θ₁, 2b·θ₂) written out."""
    theta = np.array(start, dtype=float)
    path = [theta.copy()]
    for _ in range(steps):
        theta = theta - learning_rate * np.array([2 * a * theta[0], 2 * b * theta[1]])
        path.append(theta.copy())
    return np.array(path)


@pytest.mark.parametrize("learning_rate", [0.05, 0.4, 0.49])
def test_gradient_descent_matches_the_update_rule_written_by_hand(learning_rate):
    path = gradient_descent(elongated_bowl(0.1, 2.0), (-5.0, -2.0), learning_rate, steps=40)
    assert path.shape == (41, 2) and path.dtype == torch.float64
    np.testing.assert_allclose(path.numpy(), _descend_by_hand(0.1, 2.0, (-5.0, -2.0), learning_rate, 40), rtol=1e-12)


def test_gradient_descent_on_the_regression_surface_reaches_its_minimum(data):
    surface = regression_surface(*data)
    path = gradient_descent(surface, (0.0, 0.0), learning_rate=0.1, steps=2000)
    assert path[-1].tolist() == pytest.approx(surface.minimum, abs=1e-6)
    losses = losses_along(surface, path)
    assert losses.shape == (2001,) and bool((losses[1:] <= losses[:-1] + 1e-12).all())  # never goes up here


def test_trajectory_runs_any_torch_optimiser_on_a_plain_function():
    def loss(theta):
        return ((theta - torch.tensor([1.0, -2.0, 3.0], dtype=theta.dtype)) ** 2).sum()

    path = trajectory(loss, [0.0, 0.0, 0.0], lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9), steps=300)
    assert path.shape == (301, 3)
    assert path[0].tolist() == [0.0, 0.0, 0.0]
    assert path[-1].tolist() == pytest.approx([1.0, -2.0, 3.0], abs=1e-6)


def _diverging_path():
    # |1 − 2bη| = 39 on the steep axis: θ₂ grows 39× per step until L = 2θ₂² overflows float64.
    bowl = elongated_bowl(0.1, 2.0)
    return bowl, trajectory(bowl, (1.0, 1.0), lambda p: torch.optim.SGD(p, lr=10.0), steps=1000)


def test_trajectory_stops_where_the_path_diverges():
    bowl, path = _diverging_path()
    assert 50 < len(path) < 1001  # float64 overflows after about 97 steps
    assert bool(torch.isfinite(path).all()), "a diverged path must stay drawable"
    assert bool(torch.isfinite(losses_along(bowl, path[:-1])).all())


def test_trajectory_keeps_only_points_of_finite_loss():
    bowl, path = _diverging_path()
    assert bool(torch.isfinite(losses_along(bowl, path)).all())


def test_trajectory_with_zero_steps_is_the_start():
    path = gradient_descent(elongated_bowl(), (3.0, 1.0), 0.1, steps=0)
    assert path.tolist() == [[3.0, 1.0]]


def test_trajectory_rejects_a_negative_number_of_steps():
    with pytest.raises(ValueError, match="steps must be ≥ 0, got -1"):
        gradient_descent(elongated_bowl(), (3.0, 1.0), 0.1, steps=-1)


def test_trajectory_rejects_a_loss_that_is_not_a_scalar():
    with pytest.raises(ValueError, match=r"the loss must return a scalar for one θ, got shape \(2,\)"):
        trajectory(lambda theta: theta ** 2, (1.0, 1.0), lambda p: torch.optim.SGD(p, lr=0.1), steps=3)


def test_grid_evaluates_the_surface_over_its_window():
    surface = elongated_bowl(0.1, 2.0)
    T1, T2, L = grid(surface, n=30)
    assert T1.shape == T2.shape == L.shape == (30, 30)
    assert (T1.min().item(), T1.max().item()) == surface.xlim
    assert (T2.min().item(), T2.max().item()) == surface.ylim
    assert torch.allclose(L, 0.1 * T1 ** 2 + 2.0 * T2 ** 2)


def test_descend_gives_each_row_its_own_hyper_parameters_and_the_path_it_would_have_alone():
    bowl = elongated_bowl(0.1, 2.0)
    starts = [(-5.0, 2.0), (4.0, -1.0), (1.0, 2.5)]
    rates, momenta = [0.05, 0.3, 0.45], [0.0, 0.5, 0.9]
    paths = descend(bowl, starts, optim.Momentum, 60, lr=rates, momentum=momenta)
    assert paths.shape == (3, 61, 2) and paths.dtype == torch.float64
    for start, lr, lam, path in zip(starts, rates, momenta, paths):
        alone = trajectory(bowl, start, lambda p: torch.optim.SGD(p, lr=lr, momentum=lam), 60)
        np.testing.assert_allclose(path.numpy(), alone.numpy(), rtol=1e-12, atol=1e-12)


def test_descend_makes_a_diverging_row_nan_from_where_it_diverges_and_leaves_the_others():
    bowl = elongated_bowl(0.1, 2.0)
    paths = descend(bowl, [(1.0, 1.0), (1.0, 1.0)], optim.SGD, 200, lr=[10.0, 0.1])
    finite = torch.isfinite(paths).all(dim=2)
    assert bool(finite[1].all())
    first_bad = int(finite[0].logical_not().nonzero()[0])
    assert 50 < first_bad < 200 and not bool(finite[0, first_bad:].any())
    assert bool(torch.isfinite(bowl.loss(paths[0, :first_bad - 1])).all())


def test_descend_says_what_is_wrong_with_its_starts_or_a_hyper_parameter():
    bowl = elongated_bowl()
    with pytest.raises(ValueError, match=r"starts must have shape \(K, d\), one start per row; got shape \(2,\)"):
        descend(bowl, (1.0, 1.0), optim.SGD, 5, lr=0.1)
    with pytest.raises(ValueError, match=r"lr must be one number or one per start \(2\), got 3 values"):
        descend(bowl, [(1.0, 1.0), (2.0, 2.0)], optim.SGD, 5, lr=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="the learning rate η must be > 0"):
        descend(bowl, [(1.0, 1.0), (2.0, 2.0)], optim.SGD, 5, lr=[0.1, -0.2])


def _alone(loss, start, rule, steps, **hyperparameters):
    """One row descended by itself, with one number per hyper-parameter."""
    return descend(loss, [start], rule, steps, **hyperparameters)[0]


@pytest.mark.parametrize("rule, hyperparameters", [
    (optim.SGD, {}),
    (optim.Momentum, {"momentum": [0.0, 0.5, 0.9]}),
    (optim.AdaGrad, {"eps": [1e-10, 1e-3, 0.1]}),
    (optim.RMSProp, {"alpha": [0.5, 0.9, 0.99], "eps": [1e-8, 1e-3, 0.1]}),
    (optim.Adam, {"betas": [(0.9, 0.999), (0.5, 0.9), (0.0, 0.5)], "eps": [1e-8, 1e-3, 0.1]}),
], ids=["SGD", "Momentum", "AdaGrad", "RMSProp", "Adam"])
def test_descend_with_one_learning_rate_per_row_makes_each_row_the_run_it_makes_alone(rule, hyperparameters):
    bowl = elongated_bowl(0.1, 2.0)
    starts, rates = [(-5.0, 2.0), (4.0, -1.0), (1.0, 2.5)], [0.05, 0.3, 0.9]
    paths = descend(bowl, starts, rule, 40, lr=rates, **hyperparameters)
    for k, start in enumerate(starts):
        own = {name: tuple(value[k]) if name == "betas" else value[k] for name, value in hyperparameters.items()}
        torch.testing.assert_close(paths[k], _alone(bowl, start, rule, 40, lr=rates[k], **own),
                                   rtol=1e-12, atol=1e-12, equal_nan=True)


def test_descend_reads_a_betas_pair_as_one_pair_for_every_row_even_with_two_rows():
    bowl = elongated_bowl(0.1, 2.0)
    starts = [(-5.0, 2.0), (4.0, -1.0)]
    paths = descend(bowl, starts, optim.Adam, 30, lr=[0.1, 0.5], betas=(0.9, 0.999))
    for start, lr, path in zip(starts, (0.1, 0.5), paths):
        torch.testing.assert_close(path, _alone(bowl, start, optim.Adam, 30, lr=lr, betas=(0.9, 0.999)),
                                   rtol=1e-12, atol=1e-12)
    per_row = descend(bowl, starts, optim.Adam, 30, lr=0.1, betas=[(0.9, 0.999), (0.5, 0.9)])
    torch.testing.assert_close(per_row[1], _alone(bowl, starts[1], optim.Adam, 30, lr=0.1, betas=(0.5, 0.9)),
                               rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match=r"betas must be one pair \(β₁, β₂\) or one pair per start, shape \(2, 2\); "
                                         r"got shape \(3,\)"):
        descend(bowl, starts, optim.Adam, 3, lr=0.1, betas=(0.9, 0.99, 0.999))


def test_descend_follows_a_schedule_per_row_and_a_closed_form_gradient_as_autograd_does():
    bowl = elongated_bowl(0.1, 2.0)
    starts, factors = [(-5.0, 2.0), (4.0, -1.0)], [lambda t: 1.0, lambda t: 0.9 ** t]
    schedule = lambda t: [f(t) for f in factors]  # noqa: E731
    paths = descend(bowl, starts, optim.Momentum, 30, schedule, lr=0.4, momentum=0.5)
    for start, factor, path in zip(starts, factors, paths):
        theta = torch.tensor(start, dtype=torch.float64, requires_grad=True)
        update = optim.Momentum([theta], lr=0.4, momentum=0.5)
        scheduler = torch.optim.lr_scheduler.LambdaLR(update, factor)
        for _ in range(30):
            update.zero_grad()
            bowl.loss(theta).backward()
            update.step()
            scheduler.step()
        torch.testing.assert_close(path[-1], theta.detach(), rtol=1e-12, atol=1e-12)
    gradient = lambda theta: theta * theta.new_tensor([0.2, 4.0])  # noqa: E731
    closed = descend(bowl, starts, optim.Momentum, 30, schedule, gradient, lr=0.4, momentum=0.5)
    torch.testing.assert_close(closed, paths, rtol=1e-12, atol=1e-12)
    diverging = descend(bowl, starts, optim.SGD, 200, gradient=gradient, lr=[10.0, 0.1])
    torch.testing.assert_close(diverging, descend(bowl, starts, optim.SGD, 200, lr=[10.0, 0.1]), equal_nan=True)


def test_descend_says_when_a_rule_takes_no_values_per_row_or_the_loss_is_not_one_per_row():
    bowl = elongated_bowl()
    with pytest.raises(ValueError, match="this update rule takes one number per hyper-parameter, not one per start"):
        descend(bowl, [(1.0, 1.0), (2.0, 2.0)], torch.optim.Adagrad, 5, lr=[0.1, 0.2])
    paths = descend(bowl, [(1.0, 1.0), (2.0, 2.0)], torch.optim.Adagrad, 5, lr=[0.1, 0.1])   # equal: one number
    torch.testing.assert_close(paths[1], _alone(bowl, (2.0, 2.0), torch.optim.Adagrad, 5, lr=0.1))
    with pytest.raises(ValueError, match=r"the loss must return one loss per start, shape \(2,\); got \(\)"):
        descend(lambda theta: bowl.loss(theta).sum(), [(1.0, 1.0), (2.0, 2.0)], optim.SGD, 5, lr=0.1)
