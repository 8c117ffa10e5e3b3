"""course_utils.experiments.classification: the bad-training-set simulation against brute force and against the bound."""
import pytest
import torch

from course_utils import classification as cl
from course_utils.experiments import classification as g


@pytest.mark.parametrize("h_size", [1, 3, 16, 256])
def test_training_losses_by_counting_match_a_brute_force_count(h_size):
    x, labels = g.ThresholdTask().sample(40, 23, torch.Generator().manual_seed(h_size))
    t = g.thresholds(h_size).float()
    brute = ((x.unsqueeze(2) >= t) != labels.unsqueeze(2)).double().mean(1)
    assert torch.allclose(g.training_losses(x, labels, h_size), brute)


def test_population_loss_formula_matches_a_huge_sample():
    task = g.ThresholdTask(boundary=0.3, noise=0.1)
    x, labels = task.sample(1, 400_000, torch.Generator().manual_seed(0))
    measured = g.training_losses(x, labels, 8)[0]
    assert torch.allclose(measured, task.loss_all(g.thresholds(8)), atol=3e-3)


def test_simulation_uses_ten_thousand_sets_and_returns_per_set_values():
    result = g.simulate(20, h_sizes=(1, 4), n_sets=10_000)
    assert set(result) == {1, 4} and result[4]["gap"].shape == (10_000,)
    assert ((result[4]["gap"] >= 0) & (result[4]["gap"] <= 1)).all()
    assert (result[4]["loss_all_of_h_train"] >= g.best_loss_all(4) - 1e-12).all()


def test_a_bigger_h_contains_the_smaller_so_its_worst_gap_is_never_smaller():
    result = g.simulate(50, h_sizes=(1, 4, 16), n_sets=2000)
    assert (result[4]["gap"] >= result[1]["gap"]).all() and (result[16]["gap"] >= result[4]["gap"]).all()


@pytest.mark.parametrize("h_size", g.H_SIZES)
@pytest.mark.parametrize("eps", [0.05, 0.1, 0.2])
def test_measured_probability_of_a_bad_set_stays_under_the_union_bound(h_size, eps):
    measured = g.probability_bad(eps, h_size)
    bound = torch.tensor([min(1.0, cl.hoeffding_bound(n, eps, h_size)) for n in g.N_VALUES], dtype=torch.float64)
    assert (measured <= bound + 0.01).all()        # 0.01: Monte Carlo error of 10⁴ sets
    assert measured[-1] <= measured[0]            # more data, fewer bad sets


def test_probability_bad_grows_with_h_and_falls_with_n():
    small, large = g.probability_bad(0.1, 1), g.probability_bad(0.1, 256)
    assert (large >= small).all() and large[2] > small[2] + 0.1
    assert all(a >= b for a, b in zip(large.tolist(), large.tolist()[1:]))


def test_dilemma_smaller_h_has_a_worse_best_member():
    best = [g.best_loss_all(h) for h in g.H_SIZES]
    assert all(a > b for a, b in zip(best, best[1:]))
    assert best[-1] >= g.ThresholdTask().noise


@pytest.mark.parametrize("call, message", [
    (lambda: g.simulate(10, h_sizes=(3, 4)), "divide"),
    (lambda: g.simulate(0), "N"),
    (lambda: g.thresholds(0), "≥ 1"),
    (lambda: g.ThresholdTask(boundary=1.5), "boundary"),
    (lambda: g.probability_bad(1.5, 4), "ε"),
    (lambda: g.probability_bad(0.1, 5), "simulated"),
])
def test_bad_input_raises_a_clear_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()
