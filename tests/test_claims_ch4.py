"""Chapter 4 (notebooks/04_classification.ipynb): each sentence about an experiment's outcome, over seeds.

Every test runs the chapter's experiment (or the same experiment with fewer draws) for three
seeds; run the file under each CPU code path (see tests/cpu_paths.py) to check that no claim
depends on the machine.
"""
import numpy as np
import pytest
import torch

from course_utils import classification as cl
from course_utils import data
from course_utils import generalization as gen

SEEDS = (0, 1, 2)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# --- Section 4: why cross-entropy? -------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_sgd_stalls_on_mse_but_crosses_cross_entropy_and_adam_escapes(seed):
    """Chapter 4, "4. Why cross-entropy? The notes' optimisation argument": "Plain SGD does not
    move on MSE: after 100 updates its (y₁, y₂) are the corner's to two decimals. On
    cross-entropy it crosses the surface in a few updates. [...] Adam escapes".

    The seed moves the start a little around the corner (−8, 8), so the claim is not an
    accident of one point."""
    jitter = 0.3 * (torch.rand(2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) - 0.5)
    start = tuple((torch.tensor(cl.HIGH_LOSS_CORNER, dtype=torch.float64) + (jitter if seed else 0)).tolist())
    mse = cl.descend_three_class("MSE", start=start, learning_rate=1.0, steps=100)
    ce = cl.descend_three_class("cross-entropy", start=start, learning_rate=1.0, steps=100)
    adam = cl.descend_three_class("MSE", start=start, learning_rate=0.1, steps=100, optimizer="adam")
    assert (mse[-1] - mse[0]).abs().max() < 0.005
    assert ce[10, 0] > ce[10, 1]                          # past the diagonal y₁ = y₂ within 10 updates
    assert cl.three_class_surface("cross-entropy").loss(ce[-1]) < 0.01
    assert cl.three_class_surface("MSE").loss(adam[-1]) < 0.01


# --- Section 5: three losses, one network --------------------------------------------------------------

@pytest.fixture(scope="module")
def loss_histories():
    split = data.digits()
    torch.set_num_threads(1)
    return {seed: {loss: cl.train_classifier(loss, split, epochs=15, seed=seed)[1] for loss in cl.TRAINING_LOSSES}
            for seed in SEEDS}


CE, EXTRA, MSE = cl.TRAINING_LOSSES


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_cross_entropy_on_the_logits_learns_fastest_and_ends_best(loss_histories, seed):
    """Chapter 4, "Experiment: three losses, one network": "The order is the same for every seed.
    Cross-entropy on the logits learns fastest and ends best"."""
    runs = loss_histories[seed]
    ce = np.array(runs[CE]["validation accuracy"])
    for other in (EXTRA, MSE):
        assert (ce[1:] > np.array(runs[other]["validation accuracy"])[1:]).all(), other
        assert runs[CE]["cross-entropy"][-1] < runs[other]["cross-entropy"][-1], other


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_mse_on_the_softmax_beats_the_extra_softmax(loss_histories, seed):
    """Chapter 4, "Experiment: three losses, one network": "MSE on the softmax gets there more
    slowly [...] The extra softmax is the slowest of all"."""
    runs = loss_histories[seed]
    mse, extra = (np.array(runs[k]["validation accuracy"]) for k in (MSE, EXTRA))
    assert mse[-1] > extra[-1] and mse.mean() > extra.mean()
    assert runs[MSE]["cross-entropy"][-1] < runs[EXTRA]["cross-entropy"][-1]


# --- Section 6: why more data generalises --------------------------------------------------------------

TABLE_H, EPS = (1, 16, 256), 0.1


@pytest.fixture(scope="module")
def measured_bad():
    """{seed: {|H|: P(bad) per N}} at the chapter's ε, 10⁴ sets per N (different draws per seed)."""
    torch.set_num_threads(1)
    return {seed: {h: gen.probability_bad(EPS, h, seed=100 * seed).numpy() for h in TABLE_H} for seed in SEEDS}


def bounds(h):
    return np.array([min(1.0, cl.hoeffding_bound(n, EPS, h)) for n in gen.N_VALUES])


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_every_measured_probability_lies_under_its_bound_and_falls_with_n(measured_bad, seed):
    """Chapter 4, "A task where everything can be measured": "Every measured probability lies
    under its bound, and both fall fast as N grows."""
    for h, measured in measured_bad[seed].items():
        assert (measured <= bounds(h)).all(), h
        assert (np.diff(measured) <= 0).all() and measured[-1] < 0.01 * measured[0], h


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_the_single_hypothesis_bound_is_the_closest(measured_bad, seed):
    """Chapter 4, "A task where everything can be measured": "With a single hypothesis the bound
    is Hoeffding's own, and the closest of the three." (Compared where every measured
    probability is above zero and no bound is capped at 1 for |H| = 1.)"""
    at = gen.N_VALUES.index(200)
    ratios = {h: bounds(h)[at] / measured_bad[seed][h][at] for h in TABLE_H}
    assert ratios[1] < min(ratios[16], ratios[256])


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_measured_probability_grows_far_more_slowly_with_h_than_the_bound(measured_bad, seed):
    """Chapter 4, "A task where everything can be measured": "the measured probability grows far
    more slowly with |H| than the bound does" (the bound grows 256-fold from |H| = 1 to 256)."""
    for n in (100, 200):
        at = gen.N_VALUES.index(n)
        assert measured_bad[seed][256][at] / measured_bad[seed][1][at] < 256 / 8


@pytest.fixture(scope="module")
def dilemma():
    """{seed: [(|H|, guarantee L(h_all) + δ, measured mean L(h_train, D_all))]} at N = 100, p = 0.1."""
    torch.set_num_threads(1)
    out = {}
    for seed in SEEDS:
        runs = gen.simulate(100, seed=seed)
        out[seed] = [(h, gen.best_loss_all(h) + 2 * cl.guaranteed_epsilon(100, 0.1, h),
                      runs[h]["loss_all_of_h_train"].mean().item()) for h in gen.H_SIZES]
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_training_delivers_far_better_than_the_guarantee(dilemma, seed):
    """Chapter 4, "The dilemma": "What training actually delivers is far better than the
    guarantee"."""
    assert all(trained + 0.2 < guarantee for _, guarantee, trained in dilemma[seed])


@pytest.mark.parametrize("seed", SEEDS)
def test_ch4_training_improves_with_h_then_slips_back(dilemma, seed):
    """Chapter 4, "The dilemma": "it improves while a larger H brings much better members, and
    stops improving, even slips back, once the extra members are barely better"."""
    trained = [t for _, _, t in dilemma[seed]]
    assert trained[0] > trained[1] > trained[2] > trained[3]
    assert trained[4] > trained[3]
