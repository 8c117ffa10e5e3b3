"""Chapter 1 (notebooks/01_critical_points.ipynb): each sentence about an experiment's outcome, as a test.

Each test runs the chapter's experiment (its settings, or fewer Newton steps where the claim
needs no more) over three seeds, and must pass under every CPU code path PyTorch can take
(``ATEN_CPU_CAPABILITY=default|avx2`` and the machine's own). The minimum-ratio study runs once
per seed (cached) and serves every claim about it.
"""
from functools import lru_cache

import pytest
import torch
from torch.func import grad, vmap

from course_utils import critical, surfaces
from course_utils import hessian as hs

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@lru_cache(maxsize=None)
def study(seed):
    return critical.minimum_ratio_study(n_networks=40, hidden=4, max_updates=1000, seed=seed)


# ------------------------------------------------------------------ 4. the notes' example


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_every_start_ends_at_the_saddle_or_on_the_curve_of_minima(seed):
    """Chapter 1, "4. The notes' example":
    "Every start ended at one of two kinds of point. Some reach the origin, ... a saddle point.
    All others reach the curve w₁w₂ = 1, where the loss is 0." """
    points = critical.product_critical_points(n_starts=25, seed=seed)
    assert len(points) == 25
    for point in points:
        if point.kind == "saddle point":
            assert point.theta.abs().max() < 1e-9 and point.loss == pytest.approx(1.0)
        else:
            assert point.kind == "degenerate" and point.loss < 1e-12


# -------------------------------------------------------------------- 6. escaping a saddle


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_gradient_descent_nudged_off_the_saddle_escapes_to_the_minima(seed):
    """Chapter 1, "6. Escaping a saddle point":
    "... of the ten escaped to the curve of minima." (the chapter's seed: all ten) """
    generator = torch.Generator().manual_seed(seed)
    for _ in range(10):
        start = 1e-6 * torch.randn(2, generator=generator, dtype=torch.float64)
        path = surfaces.gradient_descent(critical.product_loss, start.tolist(), learning_rate=0.1, steps=200)
        assert critical.product_loss(path[-1]).item() < 1e-12


# ------------------------------------------------------------------ 7. the minimum ratio study


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_every_critical_point_reached_has_the_loss_of_a_constant_prediction(seed):
    """Chapter 1, "7. Experiment: how common are true local minima?":
    "Every network that reached a true critical point reached the same loss ...: the loss of
    predicting the mean of ŷ for every x ... which is why each point has ... flat directions." """
    result = study(seed)
    assert len(result.losses) >= 5
    assert (result.losses - result.target_variance).abs().max() < 1e-6
    assert (result.gradient_norms < result.tol).all() and (result.flat >= 3).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_almost_all_critical_points_are_saddle_points(seed):
    """Chapter 1, "7. Experiment":
    "... of the ... points have at least one negative eigenvalue: they are saddle points ... the
    true critical points it found are all at the high loss of a constant prediction, and almost all
    of them are saddle points." """
    result = study(seed)
    assert (result.negative > 0).sum() >= 0.75 * len(result.negative)


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_the_minimum_ratio_spreads_widely_at_one_and_the_same_loss(seed):
    """Chapter 1, "7. Experiment":
    "The minimum ratio runs from ... to ... at one and the same loss: at such points it counts
    directions, it does not rank the points." """
    result = study(seed)
    assert result.ratios.max() - result.ratios.min() >= 0.25


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_networks_that_fit_better_reach_no_critical_point_and_their_weights_grow(seed):
    """Chapter 1, "7. Experiment":
    "The ... other networks, most of which fit better, down to a loss of ..., did not reach
    ‖g‖ < 10⁻⁸. Given 300 more Newton steps, their gradient keeps shrinking, slowly, while their
    weights keep growing ... and the loss falls a little more. Only ... of them reached a critical
    point in those steps" """
    result = study(seed)
    assert (result.stalled_losses < result.target_variance - 1e-3).sum() > 0.5 * len(result.stalled_losses)
    assert result.stalled_losses.min() < result.target_variance - 0.05
    loss_fn = critical.sinc_network_loss(hidden=4)
    longer = critical.gradient_norm_descent(loss_fn, result.stalled_points, steps=300)
    before, after = (vmap(grad(loss_fn))(p).norm(dim=1) for p in (result.stalled_points, longer))
    assert (after < result.tol).sum() <= 0.2 * len(after) and after.median() < before.median()
    assert longer.abs().max(dim=1).values.median() > result.stalled_points.abs().max(dim=1).values.median()
    assert vmap(loss_fn)(longer).min() <= result.stalled_losses.min()


# ------------------------------------------------------------- 8. Lanczos and Gauss–Newton


def sinc_network(seed):
    torch.manual_seed(seed)
    net = torch.nn.Sequential(torch.nn.Linear(1, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)).double()
    x = torch.linspace(-1, 1, 256, dtype=torch.float64).unsqueeze(1)
    return net, x, torch.sinc(5 * x)


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_lanczos_finds_both_extreme_eigenvalues_within_1_percent(seed):
    """Chapter 1, "8. Bigger models: Hessian-vector products and Lanczos":
    "Both ends agree to well under 1 %, from 60 Hessian-vector products ... And the most negative
    eigenvalue is negative." """
    net, x, y = sinc_network(seed)
    structured = hs.TwoLayerMSE(x, y, hidden=128, activation="relu")
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    exact = torch.linalg.eigvalsh(structured.exact_hessian(theta))
    smallest, largest = hs.extreme_eigenvalues(lambda: torch.nn.functional.mse_loss(net(x), y),
                                               list(net.parameters()), k=1, iters=60)
    assert exact[0] < 0
    assert abs(smallest[0] - exact[0]) < 0.01 * abs(exact[0]) and abs(largest[0] - exact[-1]) < 0.01 * exact[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_gauss_newton_has_no_negative_eigenvalue_where_the_hessian_has_one(seed):
    """Chapter 1, "The structure of a network's Hessian, and what Gauss–Newton misses":
    "The true Hessian has a clearly negative eigenvalue here, ..., and G has none." """
    net, x, y = sinc_network(seed)
    structured = hs.TwoLayerMSE(x, y, hidden=128, activation="relu")
    theta = torch.nn.utils.parameters_to_vector(net.parameters()).detach()
    lowest_H = torch.linalg.eigvalsh(structured.exact_hessian(theta))[0]
    lowest_G = torch.linalg.eigvalsh(structured.gauss_newton(theta))[0]
    assert lowest_H < -0.01 and lowest_G > -1e-12


@pytest.mark.parametrize("seed", SEEDS)
def test_ch1_a_large_mlp_has_negative_curvature_at_initialisation(seed):
    """Chapter 1, "8. Bigger models":
    "A negative λ_min again: at initialisation the loss of this network curves down along some
    direction." """
    torch.manual_seed(seed + 1)
    big = torch.nn.Sequential(torch.nn.Linear(64, 400), torch.nn.Tanh(), torch.nn.Linear(400, 400),
                              torch.nn.Tanh(), torch.nn.Linear(400, 10))
    x, y = torch.randn(256, 64), torch.randint(0, 10, (256,))
    smallest, largest = hs.extreme_eigenvalues(lambda: torch.nn.functional.cross_entropy(big(x), y),
                                               list(big.parameters()), k=1, iters=30)
    assert smallest[0] < -0.01 and largest[0] > 0
