"""Chapter 2 (notebooks/02_batch_and_momentum.ipynb): each sentence about an experiment's outcome, as a test.

Each test runs the chapter's experiment (or a smaller version that shows the same effect) over at
least three seeds, start points or models, and must pass under every CPU code path PyTorch can take
(``ATEN_CPU_CAPABILITY=default|avx2`` and the machine's own). The descents on the 2-D surfaces are
exact float64 arithmetic; their "seeds" are the start points the chapter offers.
"""
import math
from functools import lru_cache

import numpy as np
import pytest
import torch

from course_utils import batching, data, recipe
from course_utils.widgets import momentum as demos
from course_utils.widgets.recipe import GD_START, line_surface

SEEDS = (0, 1, 2)
FLATNESS_SEEDS = range(5)          # the chapter's own multi-seed summary


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=1)
def split():
    return data.digits()


def spread(ends):
    return float(np.sqrt(((ends - ends.mean(axis=0)) ** 2).sum(axis=1).mean()))


# ---------------------------------------------------------------------------- 1. batches


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_spread_of_end_points_falls_as_the_batch_grows_and_is_zero_for_the_full_batch(seed):
    """Chapter 2, "1. Batches: one careful step or many noisy ones":
    "The spread falls steadily as B grows and is exactly zero for the full batch." """
    x, y = recipe.make_line_data()
    spreads = [spread(batching.minibatch_paths(x, y, b, 0.1, 10, runs=30, start=GD_START, seed=seed)[-1].numpy())
               for b in (1, 2, 5, 10, 20)]
    assert all(a > b for a, b in zip(spreads, spreads[1:])), spreads
    assert spreads[-1] < 1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_in_ten_epochs_single_examples_get_near_the_minimum_and_the_full_batch_does_not(seed):
    """Chapter 2, "1. Batches: one careful step or many noisy ones": "In the same 10 epochs the full
    batch has taken 10 short steps down the valley and is still far from the minimum (the star);
    B = 1 has taken 200 and is near it" """
    x, y = recipe.make_line_data()
    minimum = np.array(line_surface().minimum)
    single = batching.minibatch_paths(x, y, 1, 0.1, 10, start=GD_START, seed=seed)[-1, 0].numpy()
    full = batching.minibatch_paths(x, y, 20, 0.1, 10, start=GD_START, seed=seed)[-1, 0].numpy()
    assert np.linalg.norm(single - minimum) < 0.1 * np.linalg.norm(full - minimum)


# ---------------------------------------------------------------------------- 2. time


@lru_cache(maxsize=None)
def timing(seed, tables=5):
    """The chapter's timing table (the fastest of 15 updates per batch size), taken ``tables`` times; for each
    batch size the fastest of them, so that another process briefly taking the core does not decide."""
    s = split()
    n = len(s.x_train)
    model = batching.classifier(64, 10, seed=seed)
    runs = [batching.time_updates(model, s.x_train, s.y_train, [1, 16, 64, n]) for _ in range(tables)]
    return n, {row["batch_size"]: min((r for run in runs for r in run if r["batch_size"] == row["batch_size"]),
                                      key=lambda r: r["seconds_per_update"]) for row in runs[0]}


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_one_update_takes_nearly_the_same_time_over_small_batches(seed):
    """Chapter 2, "2. Time: what one update and one epoch cost": "the time of one update is nearly
    flat over the small batch sizes ... and then bends upward." """
    n, rows = timing(seed)
    t = {b: row["seconds_per_update"] for b, row in rows.items()}
    assert t[16] < 2 * t[1]                  # ×16 the batch, far less than ×2 the time
    assert t[n] > 2 * t[64]                  # the bend: ×21 the batch costs visibly more


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_most_of_a_single_example_update_is_fixed_overhead_not_arithmetic(seed):
    """Chapter 2, "2. Time: what one update and one epoch cost": "At the pace the full batch reaches
    ... that arithmetic takes ... µs, ... % of the update. The rest is a fixed cost per update"
    (the share is a few % with AVX-512 kernels, about 10 % with the SSE ones, which compute slower)."""
    n, rows = timing(seed)
    multiply_adds, parameters = 64 * 256 + 256 * 10, (64 + 1) * 256 + (256 + 1) * 10
    speed = (6 * multiply_adds * n + 2 * parameters) / rows[n]["seconds_per_update"]
    share = (6 * multiply_adds + 2 * parameters) / speed / rows[1]["seconds_per_update"]
    assert share < 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_an_epoch_of_single_examples_takes_far_longer_than_one_of_large_batches(seed):
    """Chapter 2, "2. Time: what one update and one epoch cost": "an epoch of single examples takes far
    longer than an epoch of large batches." """
    n, rows = timing(seed)
    assert rows[1]["seconds_per_epoch"] > 10 * rows[n]["seconds_per_epoch"]


# ---------------------------------------------------------------------------- 3. quality


@pytest.mark.parametrize("seed", SEEDS)
def test_ch2_after_the_same_epochs_the_small_batch_is_nearly_done_and_the_full_batch_barely_started(seed):
    """Chapter 2, "3. Quality: small and large batches on handwritten digits": "Same epochs. The full
    batch has made only 3 updates and has barely started; the small batch has made hundreds and is
    nearly done. Counted in epochs, small batches win." """
    s = split()
    small = batching.train_classifier(s, 8, 0.1, epochs=3, seed=seed)
    full = batching.train_classifier(s, len(s.x_train), 0.1, epochs=3, seed=seed)
    assert full.updates == 3 and small.updates > 100
    assert small.train_accuracy > 0.95 and full.train_accuracy < 0.5
    assert small.validation_accuracy > full.validation_accuracy + 0.5


def test_ch2_after_the_same_updates_the_full_batch_is_no_longer_behind():
    """Chapter 2, "3. Quality: small and large batches on handwritten digits": "Same updates. ... the two
    are close, and the full batch is no longer behind (its training loss is a little lower). Counted in
    updates, the large batch is at least as good" """
    s = split()
    small = [batching.train_classifier(s, 8, 0.1, updates=200, seed=seed) for seed in SEEDS]
    full = [batching.train_classifier(s, len(s.x_train), 0.1, updates=200, seed=seed) for seed in SEEDS]
    for a, b in zip(small, full):
        assert b.train_loss < a.train_loss < 1.5 * b.train_loss                         # lower, and close
        assert abs(a.validation_accuracy - b.validation_accuracy) < 0.05
    assert np.mean([b.validation_accuracy for b in full]) >= np.mean([a.validation_accuracy for a in small])


@lru_cache(maxsize=1)
def flatness():
    s = split()
    n = len(s.x_train)
    table = batching.flatness_over_seeds(s, FLATNESS_SEEDS, (8, n))
    return {key: {name: np.array(values) for name, values in row.items()} for key, row in zip(("small", "full"),
                                                                                              table.values())}


def test_ch2_both_batch_sizes_reach_the_same_training_loss_bound():
    """Chapter 2, "3. Quality: small and large batches on handwritten digits": "Same training loss. ...
    both fit the training data about equally well (loss below 0.05)" """
    table = flatness()
    for row in table.values():
        assert (row["train_loss"] < 0.05).all() and (row["train_loss"] > 0.03).all()


def test_ch2_at_equal_training_loss_the_small_batch_usually_ends_flatter():
    """Chapter 2, "3. Quality: small and large batches on handwritten digits": "The small batch ended in
    the flatter solution in ... of them (median λ_max ... against ...)" and "the small batch usually ends
    flatter"; the summary: "On the digits the small batch usually ended in the flatter minimum" """
    table = flatness()
    small, full = table["small"]["sharpness"], table["full"]["sharpness"]
    assert (small < full).sum() > len(small) / 2
    assert np.median(small) < np.median(full)


def test_ch2_the_flatter_small_batch_solution_is_not_more_accurate_and_the_gap_is_small():
    """Chapter 2, "3. Quality: small and large batches on handwritten digits": "but the flatter solution
    was not the more accurate one: the mean validation accuracy is ... for B = 8 and ... for the full
    batch ... The gap is small, on average ... of the ... validation images." """
    table = flatness()
    small, full = table["small"]["validation_accuracy"], table["full"]["validation_accuracy"]
    assert small.mean() <= full.mean()
    assert np.abs(full - small).mean() < 0.01            # a few of the 449 validation images


# ---------------------------------------------------------------------------- 4. momentum


@pytest.mark.parametrize("start", [-3.5, -3.7, -3.9])
def test_ch2_momentum_rolls_over_the_bump_and_a_smaller_momentum_stays_in_the_first_valley(start):
    """Chapter 2, "The ball that rolls past a local minimum": "Without momentum ... gradient descent
    settles in the first valley ... With momentum ... they settle in the deeper valley. (... with a
    smaller λ the ball stays in the first valley ...)" """
    ends = {lam: demos.momentum_path(demos.two_valleys, (start,), 0.05, lam)[-1, 0].item() for lam in (0.0, 0.5, 0.9)}
    assert ends[0.0] < 0 and ends[0.5] < 0 < ends[0.9]
    assert ends[0.9] == pytest.approx(2.35, abs=0.01) and ends[0.0] == pytest.approx(-2.1, abs=0.01)


@pytest.mark.parametrize("start", [-3.0, -3.2])
def test_ch2_from_lower_on_the_wall_even_large_momentum_stays_in_the_first_valley(start):
    """Chapter 2, "The ball that rolls past a local minimum": "(Momentum is no guarantee: with a smaller λ,
    or from a start lower on the wall, the ball stays in the first valley" (with the figure's λ = 0.9)."""
    assert demos.momentum_path(demos.two_valleys, (start,), 0.05, 0.9)[-1, 0].item() < 0


def across_swing(path, last=10):
    return path[-last:, 1].abs().max().item()


@pytest.mark.parametrize("start", demos.STARTS)
def test_ch2_ravine_small_eta_momentum_gets_further_along_the_floor(start):
    """Chapter 2, "The zig-zag in a ravine": "On the left, with a small η, gradient descent crawls along
    the flat floor, and momentum ... gets much further in the same 40 updates." """
    gd = demos.momentum_path(demos.RAVINE, start, 0.05, 0.0, steps=40)
    mom = demos.momentum_path(demos.RAVINE, start, 0.05, 0.6, steps=40)
    assert abs(mom[-1, 0] - start[0]) > 1.5 * abs(gd[-1, 0] - start[0])               # distance along the floor
    assert demos.RAVINE.loss(mom[-1]) < 0.5 * demos.RAVINE.loss(gd[-1])


@pytest.mark.parametrize("start", demos.STARTS)
def test_ch2_ravine_at_eta_0_4_momentum_swings_longer_across_yet_ends_lower(start):
    """Chapter 2, "The zig-zag in a ravine": "In the middle, with η = 0.4, ... momentum does not damp that
    zig-zag: it swings wider and for longer, and still ends with the lower loss." """
    gd = demos.momentum_path(demos.RAVINE, start, 0.4, 0.0, steps=40)
    mom = demos.momentum_path(demos.RAVINE, start, 0.4, 0.6, steps=40)
    assert across_swing(mom) > 100 * across_swing(gd)
    assert demos.RAVINE.loss(mom[-1]) < 1e-3 * demos.RAVINE.loss(gd[-1])
    # the rates behind it: across, |1 − ηh| = 0.6 < √0.6; along the floor, 0.92 > √0.6
    assert batching.gradient_descent_rate(0.4, 4.0) < batching.momentum_rate(0.4, 0.6, 4.0) == pytest.approx(0.6 ** 0.5)
    assert batching.gradient_descent_rate(0.4, 0.2) > batching.momentum_rate(0.4, 0.6, 0.2)


@pytest.mark.parametrize("start", demos.STARTS)
def test_ch2_ravine_at_eta_0_5_gradient_descent_bounces_for_ever_and_momentum_damps_it(start):
    """Chapter 2, "The zig-zag in a ravine": "On the right, with η = 0.5, gradient descent bounces between
    the walls for ever, and momentum with λ = 0.3 calms it." """
    gd = demos.momentum_path(demos.RAVINE, start, 0.5, 0.0, steps=40)
    mom = demos.momentum_path(demos.RAVINE, start, 0.5, 0.3, steps=40)
    assert across_swing(gd) == pytest.approx(abs(start[1]))
    assert across_swing(mom) < 1e-6 * abs(start[1])


@pytest.mark.parametrize("start", demos.STARTS)
def test_ch2_the_slowest_rate_ranks_the_losses_after_150_updates(start):
    """Chapter 2, "The zig-zag in a ravine": "In every row, the smaller the slowest rate, the lower the loss
    after 150 updates: the rates tell the whole ranking." """
    for eta in demos.MOMENTUM_DEMO.controls["learning_rate"].values:
        momenta = (0.0, 0.5, 0.9)
        losses = [demos.momentum_compute(eta, lam, start)["losses"][-1] for lam in momenta]
        rates = [max(batching.momentum_rate(eta, lam, h) for h in (0.2, 4.0)) for lam in momenta]
        assert np.argsort(losses).tolist() == np.argsort(rates).tolist(), (eta, losses, rates)


@pytest.mark.parametrize("learning_rate", [0.3, 0.5])
def test_ch2_demo_slider_momenta_bounce_longer_at_eta_0_3_and_calm_gradient_descent_at_eta_0_5(learning_rate):
    """Chapter 2, "The zig-zag in a ravine" (Play with it): "At η = 0.5 ... gradient descent bounces for
    ever between the walls, while every λ of the slider calms it. At η = 0.3 ... gradient descent's
    bounce dies within a few updates, and every λ of the slider bounces for longer; up to λ = 0.8 it still
    ends lower" """
    for start in demos.STARTS:
        gd = demos.momentum_compute(learning_rate, 0.0, start)
        for lam in demos.MOMENTUM_DEMO.controls["momentum"].values[1:]:
            run = demos.momentum_compute(learning_rate, lam, start)
            if learning_rate == 0.5:
                assert not run["diverged"] and run["losses"][-1] < 1e-3 * gd["losses"][-1]
            else:
                swing = lambda path: np.abs(path[5:20, 1]).max()                          # noqa: E731
                assert swing(run["path"]) > swing(gd["gd_path"])
                assert (run["losses"][-1] < gd["gd_losses"][-1]) == (lam <= 0.8)
