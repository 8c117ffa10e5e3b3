"""Chapter 3 (notebooks/03_adaptive_learning_rate.ipynb): each sentence about an experiment's outcome, as a test.

The valley experiments have no randomness; their "seeds" are three start points, so that a claim
holds for the valley and not for one path across it. The digits experiments run the chapter's
three seeds (new split, initialisation and batch order each). Every test must pass under all
three CPU code paths (ATEN_CPU_CAPABILITY=default, avx2 and the machine's own).
"""
import math

import pytest
import torch

from course_utils import adaptive
from course_utils.widgets import adaptive as demos

STARTS = [adaptive.START, (-7.0, -0.5), (-8.0, 1.0)]
SEEDS = (0, 1, 2)
FOUR = ("momentum", "adagrad", "rmsprop", "adam")


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits_runs():
    torch.set_num_threads(1)
    return adaptive.digits_over_seeds(SEEDS)


@pytest.fixture(scope="module")
def early_steps():
    torch.set_num_threads(1)
    return {seed: adaptive.adam_early_steps(seed=seed, record=(1, 20, 50, 200)) for seed in SEEDS}


# --- 1 and 2: stuck with a large gradient; one η for both directions ---------------------------

@pytest.mark.parametrize("start", STARTS)
def test_ch3_gd_bounces_with_a_large_gradient_while_the_loss_stays(start):
    """Ch. 3, "1. Stuck is not the same as a small gradient": "The loss is flat, yet the gradient
    is as large as it was at the start ... The second component of the gradient flips sign at
    every step"."""
    path = torch.stack([adaptive.gd_on_valley(1e-2, t, start) for t in range(201)])
    loss, steep = adaptive.valley_loss(path), adaptive.valley_gradient(path)[:, 1]
    assert loss[-1] > 0.99 * loss[0]
    assert (steep[1:] * steep[:-1] < 0).all() and torch.allclose(steep.abs(), steep[0].abs().expand_as(steep))


@pytest.mark.parametrize("start", STARTS)
def test_ch3_a_tiny_learning_rate_slides_down_the_wall_but_not_along_the_valley(start):
    """Ch. 3, "2. One learning rate cannot serve every direction": "With η = 10⁻⁷ there is no
    bounce: after 100 000 updates the parameters have slid most of the way down the steep wall,
    and have not moved along the valley at all"; with η = 10⁻² "the loss stays where it started"."""
    crawl = adaptive.gd_on_valley(1e-7, 100_000, start)
    assert abs(crawl[1]) < 0.2 * abs(start[1]) and abs(crawl[0] - start[0]) < 1e-3
    bounce = adaptive.gd_on_valley(1e-2, 100_000, start)
    assert adaptive.valley_loss(bounce) > 0.99 * adaptive.valley_loss(torch.tensor(start, dtype=torch.float64))


@pytest.mark.parametrize("start", STARTS)
def test_ch3_tuned_momentum_needs_far_fewer_updates_than_gd_and_than_untuned_momentum(start):
    """Ch. 3, "2. One learning rate cannot serve every direction": "Tuned, momentum needs ...
    updates, ... times fewer than gradient descent at its best ... Even chapter 2's untuned
    λ = 0.9 gains a factor of ..." (over a hundred and over ten)."""
    tolerance = 1e-4
    gd = adaptive.gd_steps_to_tolerance(2 / (2 * adaptive.A + 2 * adaptive.B), tolerance, start)
    untuned = adaptive.steps_to_tolerance(adaptive.heavy_ball_on_valley(0.01, 0.9, 40_000, start), tolerance)
    eta, lam = adaptive.tuned_heavy_ball()
    tuned = adaptive.steps_to_tolerance(adaptive.heavy_ball_on_valley(eta, lam, 5_000, start), tolerance)
    assert None not in (gd, untuned, tuned)
    assert gd / tuned > 100 and gd / untuned > 10 and untuned > 2 * tuned
    assert gd / tuned < math.sqrt(adaptive.B / adaptive.A)      # below the asymptotic √κ, as the text says


# --- 3 and 4: the adaptive optimisers on the valley, bursts and schedules ------------------------

@pytest.mark.parametrize("start", STARTS)
def test_ch3_adaptive_optimisers_reach_the_floor_where_gd_cannot(start):
    """Ch. 3, "All three on the valley": the adaptive optimisers "slide down the steep wall and
    then travel along the flat floor, where gradient descent cannot"."""
    gd = adaptive.race("gd", (1e-2,), steps=300, start=start)[0]
    assert adaptive.valley_loss(gd[-1]) > 0.99 * adaptive.valley_loss(gd[0])
    for name in ("adagrad", "rmsprop", "adam"):
        path = adaptive.race(name, (0.3,), steps=300, start=start)[0]
        assert abs(path[-1, 0]) < 0.1 * abs(start[0]) and adaptive.valley_loss(path).min() < 1e-3


@pytest.mark.parametrize("start", STARTS)
def test_ch3_adagrad_bursts_long_after_arriving_and_decay_stops_it(start):
    """Ch. 3, "4. Bursts, and learning-rate schedules": "Long after AdaGrad reached the floor of
    the valley, θ₂ suddenly jumps across it and the loss shoots up, then settles again ... A
    shrinking ηᵗ outpaces the shrinking σ, and the bursts are gone"."""
    constant, decayed, warmed = adaptive.race("adagrad", (0.3,) * 3, adaptive.SCHEDULES[:3], steps=300, start=start)
    loss = adaptive.valley_loss(constant)
    burst = int(loss[150:].argmax()) + 150
    assert loss[burst] > 1 and loss[:burst].min() < 1e-4
    assert loss[burst:].min() < loss[burst] / 100                           # and settles again
    for path in (decayed, warmed):
        assert adaptive.valley_loss(path[150:]).max() < 1e-3


@pytest.mark.parametrize("start", STARTS)
def test_ch3_rmsprop_keeps_bouncing_at_about_b_eta_squared_over_four(start):
    """Ch. 3, "4. Bursts, and learning-rate schedules": "RMSProp ... never calms down ... It ends
    bouncing from wall to wall with θ₂ ≈ ±η/2, a loss of about b(η/2)²"."""
    path = adaptive.race("rmsprop", (0.3,), steps=300, start=start)[0]
    late = adaptive.valley_loss(path[200:])
    assert late.min() > 0.8 * adaptive.B * 0.15 ** 2 and late.max() < 1.2 * adaptive.B * 0.15 ** 2
    assert (path[201:, 1] * path[200:-1, 1] < 0).all()                     # wall to wall


@pytest.mark.parametrize("start", STARTS)
def test_ch3_pytorchs_adagrad_has_no_bursts_but_has_not_arrived(start):
    """Ch. 3, "4. Bursts, and learning-rate schedules": PyTorch's Adagrad "On the valley ... has
    no bursts, but it pays for that: ... after 300 updates it is still ... on its way"."""
    path = adaptive.race("torch_adagrad", (0.3,), steps=300, start=start)[0]
    loss = adaptive.valley_loss(path)
    assert (loss[151:] <= loss[150:-1] * 1.5).all() and loss[150:].max() < 0.1   # no burst
    assert abs(path[-1, 0]) > 0.1


# --- 4: why warm-up ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_ch3_adams_first_step_is_full_size_and_a_fifth_go_the_wrong_way(seed, early_steps):
    """Ch. 3, "4. Bursts, and learning-rate schedules": "At the first update every parameter
    moves by the full η, and ... of them move the wrong way for the training set as a whole"."""
    first = early_steps[seed][1]
    assert first["median_step"] == pytest.approx(1.0, abs=1e-3)
    assert 0.1 < first["against_full_batch"] < 0.4


@pytest.mark.parametrize("seed", SEEDS)
def test_ch3_adams_steps_shrink_while_wrong_way_steps_do_not_become_rarer(seed, early_steps):
    """Ch. 3, "4. Bursts, and learning-rate schedules": "The share of wrong-way steps is no smaller
    later ... but the steps shrink: the median step is ... η at update 20 and ... η at update 200"."""
    rows = early_steps[seed]
    assert rows[20]["median_step"] < 0.5 and rows[200]["median_step"] < 0.05
    assert min(rows[50]["against_full_batch"], rows[200]["against_full_batch"]) >= rows[1]["against_full_batch"] - 0.01


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_ch3_the_estimate_of_root_v_hat_is_wide_at_first_and_tight_after_a_hundred(seed):
    """Ch. 3, "4. Bursts, and learning-rate schedules": "After one update √v̂ is a single |g|,
    anywhere from ... to ... in nine runs out of ten; after a hundred it lies between ... and ..."."""
    noise = torch.randn(2000, 100, generator=torch.Generator().manual_seed(seed))
    beta2, v = 0.999, torch.zeros(2000)
    spread = {}
    for t in range(100):
        v = beta2 * v + (1 - beta2) * noise[:, t] ** 2
        spread[t + 1] = torch.quantile((v / (1 - beta2 ** (t + 1))).sqrt(), torch.tensor([0.05, 0.95]))
    assert spread[1][0] < 0.15 and spread[1][1] > 1.7
    assert 0.8 < spread[100][0] and spread[100][1] < 1.2


# --- 6: the race demo --------------------------------------------------------------------------

def test_ch3_race_demo_gd_diverges_above_one_hundredth_and_no_adaptive_optimiser_diverges():
    """Ch. 3, "6. Play with it": "Gradient descent diverges at every η above 10⁻²; the adaptive
    optimisers diverge at none of the demo's learning rates, from 10⁻³ to 1 (at the smallest, 300
    updates are too few to arrive)"."""
    for schedule in adaptive.SCHEDULES[:3]:
        gd = demos._race("gd", schedule)[1]
        for lr, losses in zip(demos.RACE_LEARNING_RATES, gd):
            assert (lr > 1e-2) == (not torch.isfinite(torch.as_tensor(losses)).all() or losses.max() > 1e6)
        for name in ("adagrad", "rmsprop", "adam"):
            losses = torch.as_tensor(demos._race(name, schedule)[1])
            assert torch.isfinite(losses).all()
            assert losses[demos.RACE_LEARNING_RATES.index(0.001), -1] > 1     # "too few to arrive"


def test_ch3_race_demo_adagrad_bursts_rmsprop_bounces_and_cosine_decay_calms_both():
    """Ch. 3, "6. Play with it": "AdaGrad bursts with a constant η of 0.3, RMSProp keeps bouncing,
    and a cosine decay calms both"."""
    index = demos.RACE_LEARNING_RATES.index(0.3)
    adagrad, rmsprop = (demos._race(name, "constant")[1][index] for name in ("adagrad", "rmsprop"))
    assert adagrad[150:].max() > 1 and adagrad[:150].min() < 1e-4
    assert rmsprop[200:].min() > 1
    for name in ("adagrad", "rmsprop"):
        assert demos._race(name, "cosine decay")[1][index][-1] < 1e-6


# --- 7: real data ------------------------------------------------------------------------------

def test_ch3_gd_is_far_behind_the_others_on_the_digits(digits_runs):
    """Ch. 3, "7. Experiment: real data": "Plain gradient descent is far behind after 8 epochs: in
    every seed its training loss is at least ... times that of momentum and of each adaptive
    optimiser"."""
    for runs in digits_runs.values():
        assert runs["gd"].train[-1] > 10 * max(runs[k].train[-1] for k in FOUR)


def test_ch3_momentum_and_adaptive_optimisers_are_too_close_to_rank_on_the_digits(digits_runs):
    """Ch. 3, "7. Experiment: real data": "Those four reach training losses within a factor of ...
    of one another, and in each seed their validation accuracies lie within ... percentage points
    of one another ...: too close to rank them on this data"."""
    for runs in digits_runs.values():
        final = [runs[k].train[-1] for k in FOUR]
        accuracy = [runs[k].accuracy for k in FOUR]
        assert max(final) < 10 * min(final)
        assert max(accuracy) - min(accuracy) < 0.015


def test_ch3_warm_up_starts_slower_and_ends_higher_but_as_accurate(digits_runs):
    """Ch. 3, "7. Experiment: real data": "Adam with warm-up starts slower ...: after one epoch its
    training loss is at least ... times Adam's in every seed. It ends with a higher training loss
    than Adam too ... and with a validation accuracy within ... points of Adam's"."""
    for runs in digits_runs.values():
        warm, adam = runs["adam_warmup"], runs["adam"]
        assert warm.train[1] > 2 * adam.train[1]
        assert warm.train[-1] > adam.train[-1]
        assert abs(warm.accuracy - adam.accuracy) < 0.015
