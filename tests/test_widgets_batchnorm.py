"""Chapter 5's demos: what each compute returns, against independent computations."""
import numpy as np
import pytest
import torch

from course_utils import bn_experiments as bx
from course_utils.batchnorm import BatchNorm1d
from course_utils.widgets import batchnorm as demos

# --- the scale of x₁ --------------------------------------------------------------------------

def test_scale_demo_path_is_hand_written_gradient_descent_on_the_data():
    x, y = bx.two_feature_data(0.2)
    data = demos.scale_compute(scale_x1=0.2, features="raw")
    w = torch.tensor(bx.start_point(data["surface"]), dtype=torch.float64)
    for _ in range(demos.SCALE_STEPS):
        w = w - demos.SCALE_LEARNING_RATE * 2 * x.T @ (x @ w - y) / len(y)
    assert data["path"].shape == (demos.SCALE_STEPS + 1, 2) and np.allclose(data["path"][-1], w.numpy())


def test_a_smaller_x1_stretches_the_raw_surface_and_z_scores_make_it_round():
    ratios = [demos.scale_compute(s, "raw")["condition"] for s in demos.FEATURE_SCALE_DEMO.controls["scale_x1"].values]
    assert all(b > a for a, b in zip(ratios, ratios[1:])) and ratios[-1] > 100
    for s in demos.FEATURE_SCALE_DEMO.controls["scale_x1"].values:
        assert demos.scale_compute(s, "z-scored")["condition"] < 1.1


def test_z_scored_features_end_far_closer_to_the_minimum_at_the_same_learning_rate():
    raw, scored = demos.scale_compute(0.1, "raw"), demos.scale_compute(0.1, "z-scored")
    assert scored["gap"][-1] < 1e-6 < 0.01 < raw["gap"][-1]


def test_scale_demo_refuses_an_unknown_feature_kind():
    with pytest.raises(ValueError, match="'raw' or 'z-scored'"):
        demos.scale_compute(0.1, "standardised")


# --- the moving average -----------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.9, 0.99])
def test_running_average_is_what_batchnorm1d_keeps_with_momentum_one_minus_p(p):
    data = demos.average_compute(p=p, batch_size=8)
    layer = BatchNorm1d(1, momentum=1 - p).double()
    kept = []
    for z in demos.average_batches(8):
        layer(z)
        kept.append(layer.running_mean.item())
    assert np.allclose(data["running"], kept, atol=1e-12)


def test_p_zero_follows_the_last_batch_and_a_large_p_is_smoother_but_lags():
    last = demos.average_compute(p=0.0, batch_size=8)
    assert np.allclose(last["running"], last["batch_means"])
    smooth = demos.average_compute(p=0.95, batch_size=8)
    assert np.diff(smooth["running"]).std() < 0.2 * np.diff(last["running"]).std()
    early = slice(0, 20)     # while the mean climbs, the large-p average stays below it (it starts at 0)
    assert (smooth["running"][early] < smooth["population"][early]).all()


def test_larger_batches_give_less_scattered_batch_means():
    small, large = demos.average_compute(0.9, 2), demos.average_compute(0.9, 128)
    assert (large["batch_means"] - large["population"]).std() < 0.25 * (small["batch_means"] - small["population"]).std()
