"""Chapter 2: course_utils.experiments.momentum, the momentum demos and the chapter's exercises."""
import math

import numpy as np
import pytest
import torch

from course_utils import data, optim
from course_utils.experiments import momentum as experiments
from course_utils.experiments import recipe
from course_utils.exercises import all_exercises, get_exercise
from course_utils.widgets import all_frames
from course_utils.widgets import momentum as demos

from conftest import verdict

IDS = ["momentum.momentum_step", "momentum.movement_from_gradients", "momentum.pick_batch_size",
       "momentum.ravine_rate", "momentum.diagnose_run", "momentum.bigger_batch"]


# ---------------------------------------------------------------------------- by hand vs the optimiser


def test_momentum_step_by_hand_matches_the_optimiser_over_many_steps():
    theta = torch.randn(5, dtype=torch.float64, requires_grad=True)
    by_hand, movement = theta.detach().clone(), torch.zeros(5, dtype=torch.float64)
    opt = optim.Momentum([theta], lr=0.05, momentum=0.9)
    for i in range(50):
        g = torch.randn(5, dtype=torch.float64, generator=torch.Generator().manual_seed(i))
        theta.grad = g.clone()
        opt.step()
        by_hand, movement = experiments.momentum_step(by_hand, movement, g, 0.05, 0.9)
    assert torch.allclose(theta.detach(), by_hand) and torch.allclose(opt.state[theta]["movement"], movement)


def test_movement_from_gradients_is_the_recursion_unrolled():
    grads = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    movement = torch.zeros(3, dtype=torch.float64)
    for g in grads:
        movement = 0.8 * movement - 0.1 * g
    assert torch.allclose(experiments.movement_from_gradients(grads, 0.1, 0.8), movement)
    assert torch.allclose(experiments.movement_from_gradients(grads, 0.1, 0.0), -0.1 * grads[-1])   # λ = 0: plain GD


def test_pick_batch_size_takes_the_smallest_that_fits_and_none_when_nothing_does():
    sizes, seconds = [1, 10, 100], [1e-3, 1e-3, 2e-3]     # epochs of N = 100: 0.1, 0.01, 0.002 s
    assert experiments.pick_batch_size(sizes, seconds, 100, 0.05) == 10
    assert experiments.pick_batch_size(sizes, seconds, 100, 0.2) == 1
    assert experiments.pick_batch_size(sizes, seconds, 100, 0.001) is None
    assert experiments.pick_batch_size([64], [1e-3], 100, 0.002) == 64       # ⌈100/64⌉ = 2 updates


# ---------------------------------------------------------------------------- time


def test_time_updates_gives_one_row_per_batch_size_with_epoch_equal_to_ceil_n_over_b_updates():
    split = data.digits()
    x, y = split.x_train[:100], split.y_train[:100]
    table = experiments.time_updates(experiments.classifier(64, 10, width=16), x, y, [1, 7, 100], repeats=2)
    assert [row["batch_size"] for row in table] == [1, 7, 100]
    for row in table:
        assert row["seconds_per_update"] > 0
        assert row["seconds_per_epoch"] == pytest.approx(row["seconds_per_update"] * math.ceil(100 / row["batch_size"]))


@pytest.mark.parametrize("sizes", [[0], [101], []])
def test_time_updates_refuses_batch_sizes_outside_one_to_n(sizes):
    x, y = torch.zeros(100, 4), torch.zeros(100, dtype=torch.int64)
    with pytest.raises(ValueError, match="between 1 and N = 100"):
        experiments.time_updates(experiments.classifier(4, 2, width=4), x, y, sizes)


def test_devices_lists_cpu_and_cuda_only_when_present():
    assert experiments.devices()[0] == "cpu" and ("cuda" in experiments.devices()) == torch.cuda.is_available()


# ---------------------------------------------------------------------------- noise on the 2-D surface


def test_minibatch_paths_follow_the_hand_written_minibatch_update():
    x, y = recipe.make_line_data()
    paths = experiments.minibatch_paths(x, y, batch_size=5, learning_rate=0.1, epochs=2, runs=3, seed=4)
    assert paths.shape == (2 * 4 + 1, 3, 2)
    generator = torch.Generator().manual_seed(4)
    orders = [torch.stack([torch.randperm(20, generator=generator) for _ in range(3)]) for _ in range(2)]
    for run in range(3):
        w, b = -1.0, 3.0
        for order in orders:
            for i in range(0, 20, 5):
                batch = order[run, i:i + 5]
                w, b = recipe.linear_regression_step(w, b, x[batch], y[batch], 0.1)
        assert paths[-1, run].tolist() == pytest.approx([float(w), float(b)])


def test_full_batch_paths_are_gradient_descent_and_have_no_spread():
    x, y = recipe.make_line_data()
    paths = experiments.minibatch_paths(x, y, batch_size=20, learning_rate=0.1, epochs=5, runs=4)
    assert torch.allclose(paths[:, 0], paths[:, 3])
    assert demos.batch_compute(batch_size=20, epochs=10)["spread"] < 1e-12
    spreads = [demos.batch_compute(batch_size=b, epochs=10)["spread"] for b in (1, 5)]
    assert spreads[0] > spreads[1] > 0


# ---------------------------------------------------------------------------- quality


def test_train_classifier_counts_epochs_and_updates_and_stops_below_a_loss():
    split = data.digits()
    n = len(split.x_train)
    by_epochs = experiments.train_classifier(split, 500, 0.1, epochs=2)
    assert by_epochs.updates == [0, math.ceil(n / 500), 2 * math.ceil(n / 500)]
    by_updates = experiments.train_classifier(split, 500, 0.1, updates=4)
    assert by_updates.updates == [0, 3, 4]
    stopped = experiments.train_classifier(split, n, 0.5, updates=500, stop_below=1.0)
    assert stopped.updates[-1] < 500 and stopped.train_loss < 1.0 <= stopped.history["train"][-2]
    with pytest.raises(ValueError, match="exactly one"):
        experiments.train_classifier(split, 10, 0.1)


def test_a_diverged_run_ends_with_an_infinite_loss_not_its_last_finite_record():
    split = data.digits()
    blown = experiments.train_classifier(split, 64, 1e6, updates=200)
    assert blown.train_loss == float("inf")
    assert math.isfinite(experiments.train_classifier(split, 64, 0.1, updates=20).train_loss)


def test_sharpness_is_the_top_eigenvalue_of_the_exact_hessian():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    x, y = torch.randn(20, 3, dtype=torch.float64), torch.randint(0, 2, (20,))
    params = list(model.parameters())
    shapes = [p.shape for p in params]

    def loss_of_vector(theta):
        chunks, i = [], 0
        for s in shapes:
            chunks.append(theta[i:i + s.numel()].view(s))
            i += s.numel()
        hidden = torch.tanh(x @ chunks[0].T + chunks[1])
        return torch.nn.functional.cross_entropy(hidden @ chunks[2].T + chunks[3], y)

    theta = torch.nn.utils.parameters_to_vector(params).detach().requires_grad_(True)
    exact = torch.linalg.eigvalsh(torch.func.hessian(loss_of_vector)(theta)).max().item()
    assert experiments.sharpness(model, x, y, iters=len(theta)) == pytest.approx(exact, rel=1e-6)


# ---------------------------------------------------------------------------- demos


def test_every_frame_of_the_batch_demo_computes():
    for params in all_frames(demos.BATCH_DEMO):
        assert demos.BATCH_DEMO.compute(**params)["updates"] == params["epochs"] * math.ceil(20 / params["batch_size"])


def test_momentum_demo_paths_are_150_updates_of_the_notes_momentum():
    data_ = demos.momentum_compute(learning_rate=0.05, momentum=0.8, start=demos.STARTS[1])
    assert data_["path"].shape == (151, 2) and data_["gd_path"].shape == (151, 2)
    theta, movement = torch.tensor(demos.STARTS[1], dtype=torch.float64), torch.zeros(2, dtype=torch.float64)
    for _ in range(150):
        g = torch.stack([0.2 * theta[0], 4.0 * theta[1]])                # ∇(0.1θ₁² + 2θ₂²)
        theta, movement = experiments.momentum_step(theta, movement, g, 0.05, 0.8)
    assert np.allclose(data_["path"][-1], theta.numpy())


def test_momentum_beats_gradient_descent_on_the_ravine_and_widens_the_stable_learning_rates():
    default = demos.momentum_compute()
    assert default["losses"][-1] < 1e-3 * default["gd_losses"][-1]
    # Along θ₂ (curvature 4) gradient descent multiplies θ₂ by 1 − 4η: at η = 0.5 it flips sign for ever.
    at_limit = demos.momentum_compute(learning_rate=0.5, momentum=0.3)
    assert abs(at_limit["gd_path"][-1, 1]) == pytest.approx(abs(demos.STARTS[0][1]))
    assert abs(at_limit["path"][-1, 1]) < 1e-6 and not at_limit["diverged"]   # momentum allows η < 2(1 + λ)/4


def test_the_ball_stops_in_the_local_valley_without_momentum_and_rolls_on_with_it():
    gd = experiments.momentum_path(experiments.two_valleys, (-3.5,), 0.05, 0.0)
    ball = experiments.momentum_path(experiments.two_valleys, (-3.5,), 0.05, 0.9)
    assert gd[-1, 0] < 0 < ball[-1, 0]
    assert experiments.two_valleys(ball[-1]) < experiments.two_valleys(gd[-1])


# ---------------------------------------------------------------------------- exercises


def test_chapter_2_declares_its_six_exercises():
    assert [i for i in all_exercises() if i.startswith("momentum.")] == IDS


def test_a_momentum_step_that_changes_its_input_in_place_is_told_so(capsys):
    def momentum_step(theta, movement, gradient, learning_rate, momentum):
        movement.mul_(momentum).sub_(learning_rate * gradient)
        return theta + movement, movement

    result, _ = verdict(capsys, "momentum.momentum_step", momentum_step)
    assert not result.passed and "in place" in result.message


def test_a_momentum_step_returning_one_tensor_is_told_to_return_both(capsys):
    result, _ = verdict(capsys, "momentum.momentum_step", lambda theta, movement, gradient, learning_rate, momentum: theta)
    assert not result.passed and "return all 2 tensors" in result.message


def test_timing_cases_always_have_a_batch_size_that_fits():
    exercise = get_exercise("momentum.pick_batch_size")
    for case in exercise.hidden_cases():
        assert experiments.pick_batch_size(*case.args) is not None


# ---------------------------------------------------------------------------- rates on a quadratic


def simulated_rate(learning_rate, momentum, curvature, skip=100, span=600):
    """The per-update shrink factor of momentum's error on L = h/2·θ², measured on a simulated descent:
    the slope of log |θ^i| + log |θ^(i−1)| over ``span`` updates after ``skip``, fitted by least squares
    (a complex pair makes the error oscillate about its envelope; the fit averages that out)."""
    theta, movement, logs = torch.tensor([1.0], dtype=torch.float64), torch.zeros(1, dtype=torch.float64), []
    for _ in range(skip + span):
        previous = theta
        theta, movement = experiments.momentum_step(theta, movement, curvature * theta, learning_rate, momentum)
        logs.append(math.log(math.hypot(theta.item(), previous.item())))
    slope = np.polyfit(np.arange(span), logs[skip:], 1)[0]
    return math.exp(slope)


@pytest.mark.parametrize("learning_rate, momentum, curvature", [
    (0.4, 0.6, 4.0), (0.4, 0.6, 0.2), (0.5, 0.3, 4.0), (0.5, 0.1, 4.0), (0.05, 0.9, 0.2), (0.3, 0.5, 4.0),
    (0.02, 0.3, 0.2), (0.1, 0.0, 4.0), (0.7, 0.5, 4.0)])
def test_momentum_rate_is_the_shrink_factor_of_a_simulated_descent(learning_rate, momentum, curvature):
    assert experiments.momentum_rate(learning_rate, momentum, curvature) == pytest.approx(
        simulated_rate(learning_rate, momentum, curvature), rel=2e-3)


def test_gradient_descent_rate_is_momentum_rate_at_lambda_zero_and_the_simulated_factor():
    for eta, h in [(0.4, 4.0), (0.4, 0.2), (0.5, 4.0), (0.05, 0.2)]:
        assert experiments.gradient_descent_rate(eta, h) == pytest.approx(experiments.momentum_rate(eta, 0.0, h))
        assert experiments.gradient_descent_rate(eta, h) == pytest.approx(simulated_rate(eta, 0.0, h), rel=1e-9)


def test_complex_eigenvalues_have_size_sqrt_lambda_and_real_ones_are_larger():
    lam = 0.6
    for x in np.linspace(0.01, 2 * (1 + lam) - 0.01, 97):       # x = ηh
        z1, z2 = experiments.momentum_eigenvalues(x, lam, 1.0)
        assert z1 * z2 == pytest.approx(lam)
        complex_ = (1 - lam ** 0.5) ** 2 < x < (1 + lam ** 0.5) ** 2
        assert (abs(z1.imag) > 1e-12) == complex_
        if complex_:
            assert abs(z1) == pytest.approx(lam ** 0.5) and abs(z2) == pytest.approx(lam ** 0.5)
        assert lam ** 0.5 - 1e-12 <= experiments.momentum_rate(x, lam, 1.0) < 1        # stable below 2(1 + λ)
    assert experiments.momentum_rate(2 * (1 + lam) + 0.01, lam, 1.0) > 1


def test_momentum_beats_gradient_descent_exactly_where_its_rate_exceeds_sqrt_lambda():
    for lam in (0.1, 0.3, 0.6, 0.9):
        for x in np.linspace(0.005, 2 * (1 + lam) - 0.005, 211):
            gd, mom = experiments.gradient_descent_rate(x, 1.0), experiments.momentum_rate(x, lam, 1.0)
            if abs(abs(1 - x) - lam ** 0.5) > 1e-6:
                assert (mom < gd) == (abs(1 - x) > lam ** 0.5), (lam, x)
