"""Chapter 4's demos: what each compute returns, against independent computations."""
import math

import numpy as np
import pytest

from course_utils import classification as cl
from course_utils.experiments import classification as cx
from course_utils.widgets import all_frames
from course_utils.widgets import classification as demos

def test_softmax_demo_default_is_the_notes_example():
    data = demos.softmax_compute()
    assert np.allclose(data["probabilities"], [0.88, 0.12, 0.0], atol=0.005)


def test_softmax_demo_temperature_sharpens_and_flattens_but_keeps_the_order():
    cold, warm, hot = (demos.softmax_compute(3.0, t)["probabilities"] for t in (0.25, 1.0, 5.0))
    assert cold[0] > warm[0] > hot[0] > 1 / 3
    assert all(np.argsort(p).tolist() == [2, 1, 0] for p in (cold, warm, hot))
    assert all(p.sum() == pytest.approx(1.0) for p in (cold, warm, hot))


def test_softmax_demo_equal_logits_give_equal_probabilities():
    data = demos.softmax_compute(y1=1.0)
    assert data["probabilities"][0] == pytest.approx(data["probabilities"][1])


def test_surfaces_demo_from_the_corner_mse_stalls_and_cross_entropy_moves():
    data = demos.surfaces_compute(start=(-8, 8), learning_rate=1.0)
    mse, ce = data["runs"]["MSE"], data["runs"]["cross-entropy"]
    assert mse["path"].shape == ce["path"].shape == (demos.SURFACE_UPDATES + 1, 2)
    assert np.allclose(mse["path"][0], ce["path"][0]) and np.allclose(mse["path"][0], (-8, 8))
    assert np.linalg.norm(mse["path"][-1] - mse["path"][0]) < 1e-3 and mse["losses"][-1] > 1.9
    assert ce["losses"][-1] < 0.05 < ce["losses"][0]


def test_surfaces_demo_paths_are_the_library_descent():
    data = demos.surfaces_compute(start=(-2, 2), learning_rate=0.3)
    for loss, run in data["runs"].items():
        expected = cx.descend_three_class(loss, (-2.0, 2.0), 0.3, demos.SURFACE_UPDATES)
        assert np.allclose(run["path"], expected.numpy())


def test_surfaces_demo_from_the_middle_both_losses_train():
    data = demos.surfaces_compute(start=(0, 0), learning_rate=1.0)
    assert all(run["losses"][-1] < run["losses"][0] / 2 for run in data["runs"].values())


def test_bound_demo_measured_probability_below_its_bound():
    for params in all_frames(demos.BOUND_DEMO):
        data = demos.bound_compute(**params)
        assert (data["measured"] <= np.minimum(1, data["bound"]) + 0.01).all()
        assert data["needed"] == cl.samples_needed(params["eps"], demos.P_BAD, params["h_size"])


def test_bound_demo_bound_is_the_union_bound_formula():
    data = demos.bound_compute(eps=0.1, h_size=4)
    expected = [4 * 2 * math.exp(-2 * n * 0.01) for n in cx.N_VALUES]
    assert np.allclose(data["bound"], expected)


@pytest.mark.parametrize("demo, limits", [
    (demos.SURFACES_DEMO, [(cx.SURFACE_WINDOW, cx.SURFACE_WINDOW)] * 2),
    (demos.BOUND_DEMO, [(demos._LOG_N_LIMITS, (demos._FLOOR, 0.3))]),
], ids=["surfaces", "bound"])
def test_demo_frames_paste_one_backdrop_and_keep_its_limits(demo, limits):
    from course_utils.widgets import figure
    from course_utils.widgets.backdrop import Picture

    frames = [figure(demo, **params) for params in list(all_frames(demo))[::7]]
    pictures = [[a for a in fig.get_children() if isinstance(a, Picture)] for fig in frames]
    assert all(len(p) == 1 for p in pictures) and np.array_equal(pictures[0][0].rgba, pictures[-1][0].rgba)  # one backdrop
    width, height = (frames[0].get_size_inches() * frames[0].dpi).round().astype(int)
    assert pictures[0][0].rgba.shape == (height, width, 4)
    for fig in frames:
        assert [(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes] == [(tuple(x), tuple(y)) for x, y in limits]
        assert all(ax.get_title() and ax.get_lines() for ax in fig.axes)       # what changes: curves, titles
    assert len({fig.axes[0].get_title() for fig in frames}) > 1
