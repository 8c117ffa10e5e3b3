"""Chapter 3: the valley experiments, the race runner, the demos and the exercises."""
import math

import numpy as np
import pytest
import torch

from course_utils import optim, schedules
from course_utils.experiments import adaptive
from course_utils.exercises import check
from course_utils.exercises.chapters import adaptive as chapter
from course_utils.plotting import OPTIMISER_COLORS
from course_utils.widgets import all_frames
from course_utils.widgets import adaptive as demos

# ---------------------------------------------------------------------------- the valley


def test_valley_gradient_is_the_autograd_gradient():
    theta = torch.tensor([[-3.0, 0.5], [2.0, -0.1]], dtype=torch.float64, requires_grad=True)
    adaptive.valley_loss(theta).sum().backward()
    assert torch.allclose(theta.grad, adaptive.valley_gradient(theta.detach()))


def test_gd_closed_form_matches_the_harness():
    path = adaptive.stuck_run(learning_rate=3e-3, steps=50)["path"]
    assert torch.allclose(path[-1], adaptive.gd_on_valley(3e-3, 50))


def test_gd_at_one_hundredth_bounces_between_the_walls_with_a_large_gradient():
    run = adaptive.stuck_run(learning_rate=1e-2, steps=200)
    steep = run["steep_gradient"]
    assert (steep[1:] * steep[:-1] < 0).all()                        # the steep component flips every step
    assert run["gradient_norm"].min() > 100                          # and stays large
    assert run["loss"][-1] > 0.99 * run["loss"][0]                   # while the loss does not go down


def test_a_tiny_learning_rate_crawls():
    after = adaptive.gd_on_valley(1e-7, 100_000)
    assert after[0] < -8.99                                          # θ₁ has hardly moved from −9
    assert abs(adaptive.gd_on_valley(1e-2 * 0.999, 100_000)[1]) < 1e-6


@pytest.mark.parametrize("name", ["gd", "momentum", "adagrad", "rmsprop", "adam"])
@pytest.mark.parametrize("schedule", ["constant", "warm-up + cosine"])
def test_race_gives_each_learning_rate_the_path_it_would_have_alone(name, schedule):
    """Against each η alone: its own optimiser, PyTorch's LambdaLR and the valley's closed-form gradient."""
    rates = (0.003, 0.3, 1.0)
    paths = adaptive.race(name, rates, schedule, steps=40)
    for path, lr in zip(paths, rates):
        theta = torch.tensor(adaptive.START, dtype=torch.float64)
        optimizer = adaptive.make_optimizer(name, [theta], lr)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, adaptive.schedule_factor(schedule, 40))
        alone = [theta.clone()]
        for _ in range(40):
            theta.grad = adaptive.valley_gradient(theta)
            optimizer.step()
            scheduler.step()
            alone.append(theta.clone())
        alone = torch.stack(alone)
        alone[torch.isfinite(adaptive.valley_loss(alone)).logical_not().cumsum(dim=0) > 0] = float("nan")
        torch.testing.assert_close(path, alone, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_race_and_gd_on_quadratic_give_the_numbers_they_gave_before_the_shared_harness():
    """Recorded from their own loops before both moved onto surfaces.descend."""
    adam = adaptive.race("adam", (0.001, 0.01, 0.03, 0.1, 0.3, 1.0), "warm-up + cosine", 300)[:, -1]
    torch.testing.assert_close(adam, torch.tensor([
        [-8.849539594403298, 0.7545963226065817], [-7.545964033819851, 0.05465862514686599],
        [-5.012528983025896, -1.2953112327446613e-05], [-0.5465880978481383, 5.980862210346549e-07],
        [0.0001295299967962859, 3.963537548046908e-07], [-5.980459038793874e-06, 4.9365718532457176e-08]],
        dtype=torch.float64), rtol=1e-12, atol=1e-12)
    adagrad = adaptive.race("adagrad", [0.3] * 6, adaptive.SCHEDULES, 300, warmup=10)[:, -1, 0]
    torch.testing.assert_close(adagrad, torch.tensor([
        -7.636815801661086e-15, -2.2154225312841736e-05, -0.00010261579011021995, -0.0008374910813875132,
        -0.005846179730337583, -0.008079837175987245], dtype=torch.float64), rtol=1e-12, atol=1e-12)
    gd = adaptive.race("gd", (0.001, 0.01, 0.03, 0.1, 0.3, 1.0), steps=300)
    assert gd[:2, -1].tolist() == [[-8.994601614279276, 7.607441248353545e-30], [-8.946161139708579, 0.9]]
    assert torch.isnan(gd[2:]).all(dim=2).float().argmax(dim=1).tolist() == [220, 120, 87, 67]
    path = adaptive.gd_on_quadratic([[10.0, -2.0], [-2.0, 1.0]], 0.03, 200)
    torch.testing.assert_close(path[[10, 200]], torch.tensor(
        [[0.2245360919286166, 0.9707874276698532], [0.007556484541325865, 0.03560777565023042]],
        dtype=torch.float64), rtol=1e-12, atol=1e-12)


def test_gd_on_quadratic_is_the_power_of_one_step_and_nan_once_it_overflows():
    hessian = torch.tensor([[3.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    step = torch.eye(2, dtype=torch.float64) - 0.2 * hessian                 # θ ← (I − ηH)θ
    path = adaptive.gd_on_quadratic(hessian, 0.2, 30, start=(1.0, -2.0))
    for t in (1, 10, 30):
        expected = torch.linalg.matrix_power(step, t) @ torch.tensor([1.0, -2.0], dtype=torch.float64)
        torch.testing.assert_close(path[t], expected, rtol=1e-12, atol=1e-15)
    blown = adaptive.gd_on_quadratic(hessian, 1.0, 1000)
    assert torch.isfinite(blown[:100]).all() and torch.isnan(blown[-1]).all()


def test_race_cuts_a_diverging_run_and_keeps_the_others():
    paths = adaptive.race("gd", (0.001, 0.03), steps=600)
    assert torch.isfinite(paths[0]).all() and torch.isnan(paths[1, -1]).all()


def test_adagrad_bursts_with_a_constant_rate_and_a_decay_tames_it():
    constant, decayed = adaptive.race("adagrad", (0.3, 0.3), ["constant", "cosine decay"], steps=300)
    late = slice(150, None)
    assert adaptive.valley_loss(constant[late]).max() > 1.0           # a burst long after arriving
    assert adaptive.valley_loss(decayed[late]).max() < 1e-3


def test_pytorchs_adagrad_is_the_notes_adagrad_with_eta_over_root_t_plus_1():
    ours = torch.tensor(adaptive.START, dtype=torch.float64)
    theirs = ours.clone()
    opt_ours = optim.AdaGrad([ours], lr=0.3, eps=1e-12)
    opt_theirs = torch.optim.Adagrad([theirs], lr=0.3, eps=1e-12)
    scheduler = torch.optim.lr_scheduler.LambdaLR(opt_ours, lambda t: 1 / math.sqrt(t + 1))
    for _ in range(100):
        ours.grad, theirs.grad = adaptive.valley_gradient(ours), adaptive.valley_gradient(theirs)
        opt_ours.step()
        opt_theirs.step()
        scheduler.step()
    assert torch.allclose(ours, theirs, atol=1e-9)


@pytest.mark.parametrize("schedule", adaptive.SCHEDULES)
def test_every_schedule_factor_starts_positive_and_never_exceeds_one(schedule):
    factor = adaptive.schedule_factor(schedule, 300, warmup=30)
    values = [factor(t) for t in range(300)]
    assert 0 < values[0] <= 1 and max(values) == pytest.approx(1.0) and min(values) >= 0


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="choose one of"):
        adaptive.make_optimizer("adamw", [torch.zeros(2)], 0.1)
    with pytest.raises(ValueError, match="choose one of"):
        adaptive.schedule_factor("linear", 10)
    with pytest.raises(ValueError, match="schedules"):
        adaptive.race("gd", (0.1, 0.2), ["constant"])


def test_a_diverged_digits_run_ends_its_curves_at_an_infinite_loss(monkeypatch):
    monkeypatch.setitem(adaptive.DIGITS_LEARNING_RATES, "gd", 1e6)
    blown = adaptive.digits_experiment(names=("gd",), epochs=2)["gd"]
    assert blown.history["train"][-1] == blown.history["validation"][-1] == float("inf")
    assert blown.train_loss == blown.validation_loss == float("inf")


def test_digits_experiment_is_deterministic_and_learns():
    first = adaptive.digits_experiment(names=("gd", "adam"), epochs=2)
    again = adaptive.digits_experiment(names=("gd", "adam"), epochs=2)
    for name in first:
        assert first[name].history == again[name].history
        assert first[name].train_loss < 0.5 * first[name].history["train"][0]
        assert first[name].validation_accuracy > 0.8


def test_every_optimiser_of_the_chapter_has_its_colour():
    assert set(adaptive.NAMES) <= set(OPTIMISER_COLORS)


# ---------------------------------------------------------------------------- the demos

ALL_DEMOS = [demos.RACE_DEMO, demos.SCHEDULE_DEMO]


@pytest.mark.parametrize("demo", ALL_DEMOS, ids=lambda d: d.title)
def test_demo_frames_paste_one_backdrop_and_keep_its_limits(demo):
    from course_utils.widgets import figure
    from course_utils.widgets.backdrop import Picture

    frames = [figure(demo, **params) for params in list(all_frames(demo))[:3]]
    pictures = [[a for a in fig.get_children() if isinstance(a, Picture)] for fig in frames]
    assert all(len(p) == 1 for p in pictures)
    assert all(np.array_equal(p[0].rgba, pictures[0][0].rgba) for p in pictures)   # one backdrop for every frame
    width, height = (frames[0].get_size_inches() * frames[0].dpi).round().astype(int)
    assert pictures[0][0].rgba.shape == (height, width, 4)
    loss_axes = frames[0].axes[1]
    assert loss_axes.get_xlim() == (0, demos.RACE_STEPS) and loss_axes.get_ylim()[0] < -10
    assert all(fig.axes[0].get_title() for fig in frames)                    # the title that changes

def test_every_frame_of_the_schedule_viewer_computes():
    for params in all_frames(demos.SCHEDULE_DEMO):
        data = demos.schedule_compute(**params)
        assert data["eta"].max() <= demos.VIEWER_LEARNING_RATE + 1e-12


def test_race_demo_shows_gd_diverging_above_its_limit_and_adagrad_arriving():
    gd = demos.race_compute("GD vs AdaGrad", 0.03, "cosine decay")["runs"][0]
    assert gd["verdict"].startswith("blows up")            # the decay brings η back below 0.01 in time
    adagrad = demos.race_compute("GD vs AdaGrad", 0.3, "cosine decay")["runs"][1]
    assert adagrad["loss"][-1] < 1e-3
    assert demos.race_compute("GD vs AdaGrad", 0.03, "constant")["runs"][0]["verdict"].startswith("diverges")
    bounce = demos.race_compute("GD vs momentum", 0.01, "constant")["runs"][0]
    assert bounce["loss"][-1] > 80


def test_schedule_viewer_draws_the_schedule_it_names():
    data = demos.schedule_compute("warm-up + cosine", 30)
    assert data["eta"][0] == pytest.approx(0.3 / 30) and data["eta"][29] == pytest.approx(0.3)
    assert data["eta"][-1] < 0.01


# ---------------------------------------------------------------------------- the exercises

def test_rmsprop_exercise_agrees_with_the_optimiser():
    theta = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    grads = [torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64), torch.tensor([0.1, 0.5, -4.0], dtype=torch.float64)]
    opt = optim.RMSProp([theta], lr=0.1, alpha=0.8, eps=1e-12)
    expected, sigma = theta.clone(), grads[0].abs()
    expected = expected - 0.1 * grads[0] / sigma                 # the first step, σ⁰ = |g⁰|
    expected, sigma = chapter.rmsprop_step(expected, grads[1], sigma, 0.1, 0.8)
    for g in grads:
        theta.grad = g
        opt.step()
    assert torch.allclose(theta, expected)


def test_adam_exercise_is_the_optimisers_step_direction():
    theta = torch.zeros(3, dtype=torch.float64)
    opt = optim.Adam([theta], lr=1.0, betas=(0.8, 0.9), eps=1e-8)
    for t, g in enumerate([torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)] * 3, start=1):
        before = theta.clone()
        theta.grad = g
        opt.step()
        state = opt.state[theta]
        assert torch.allclose(before - theta, chapter.adam_direction(state["m"], state["v"], t, 0.8, 0.9, 1e-8))


def test_schedule_exercise_is_the_library_schedule():
    for t in range(0, 130, 7):
        assert chapter.warmup_cosine(t, 0.4, 120, 12, 0.01) == schedules.warmup_cosine(t, 0.4, 120, 12, 0.01)


def test_wrong_shapes_of_answers_get_a_clear_verdict(capsys):
    check("adaptive.rmsprop_step", lambda theta, g, sigma, learning_rate, alpha: theta)
    assert "return both" in capsys.readouterr().out
    check("adaptive.warmup_cosine", lambda step, lr, total, warmup, lr_min=0.0: None)
    assert "forget `return`" in capsys.readouterr().out


# ---------------------------------------------------------------------------- momentum on the valley


def test_heavy_ball_on_the_valley_is_pytorchs_momentum():
    theta = torch.tensor(adaptive.START, dtype=torch.float64, requires_grad=True)
    pytorch, path = torch.optim.SGD([theta], lr=0.01, momentum=0.9), [theta.detach().clone()]
    for _ in range(60):                 # PyTorch's own rule, by hand: the notes' form makes the same steps
        theta.grad = adaptive.valley_gradient(theta.detach())
        pytorch.step()
        path.append(theta.detach().clone())
    path = torch.stack(path)
    assert torch.allclose(torch.tensor(adaptive.heavy_ball_on_valley(0.01, 0.9, 60), dtype=torch.float64),
                          adaptive.valley_loss(path), rtol=1e-10, atol=0)


def test_heavy_ball_without_momentum_is_gradient_descent_in_closed_form():
    losses = adaptive.heavy_ball_on_valley(3e-3, 0.0, 50)
    assert losses[-1] == pytest.approx(adaptive.valley_loss(adaptive.gd_on_valley(3e-3, 50)).item(), rel=1e-9)
    assert adaptive.gd_steps_to_tolerance(3e-3, 10.0) == adaptive.steps_to_tolerance(
        adaptive.heavy_ball_on_valley(3e-3, 0.0, 2000), 10.0)


def test_tuned_heavy_ball_is_polyaks_and_converges_at_its_rate():
    eta, lam = adaptive.tuned_heavy_ball()
    mu, big = 2 * adaptive.A, 2 * adaptive.B
    assert eta == pytest.approx(4 / (math.sqrt(big) + math.sqrt(mu)) ** 2)
    rate = (math.sqrt(big / mu) - 1) / (math.sqrt(big / mu) + 1)
    assert lam == pytest.approx(rate ** 2)
    losses = adaptive.heavy_ball_on_valley(eta, lam, 4000)
    # the error shrinks by √λ per step, so the loss by λ (times a polynomial factor: a double eigenvalue)
    assert losses[4000] / losses[2000] < lam ** 2000 * 10


def test_steps_to_tolerance_is_the_first_step_after_which_the_loss_stays_below():
    assert adaptive.steps_to_tolerance([5.0, 0.5, 2.0, 0.5, 0.1], 1.0) == 3
    assert adaptive.steps_to_tolerance([0.5, 0.1], 1.0) == 0
    assert adaptive.steps_to_tolerance([5.0, 0.5, 2.0], 1.0) is None
    assert adaptive.gd_steps_to_tolerance(1e-2, 1e-3) is None             # bounces for ever


def test_pytorchs_adagrad_races_as_torch_optim_adagrad():
    path = adaptive.race("torch_adagrad", (0.3,), steps=20)[0]
    theta = torch.tensor(adaptive.START, dtype=torch.float64)
    optimizer = torch.optim.Adagrad([theta], lr=0.3)
    for _ in range(20):
        theta.grad = adaptive.valley_gradient(theta)
        optimizer.step()
    assert torch.allclose(path[-1], theta)


# ---------------------------------------------------------------------------- Adam's first steps


def test_adams_first_step_moves_every_parameter_by_eta():
    early = adaptive.adam_early_steps(seed=0, steps=3, record=(1, 3))
    assert early[1]["median_step"] == pytest.approx(1.0, abs=1e-4)
    assert early[1]["parameters"] == early[3]["parameters"] > 0
    assert 0 <= early[3]["against_full_batch"] <= 1 and early[3]["median_step"] < 1


def test_results_over_seeds_table_gives_median_and_range():
    runs = {seed: adaptive.digits_experiment(names=("gd",), epochs=1, seed=seed) for seed in (0, 1, 2)}
    table = adaptive.results_over_seeds_table(runs)
    finals = sorted(r["gd"].train_loss for r in runs.values())
    assert f"{finals[1]:.4f} ({finals[0]:.4f}–{finals[2]:.4f})" in table
