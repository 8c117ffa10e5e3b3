"""Chapter 5's demos: what each compute returns, against independent computations."""
import numpy as np
import pytest
import torch

from matplotlib.figure import Figure

from course_utils.experiments import batchnorm as bx
from course_utils.batchnorm import BatchNorm1d
from course_utils.pictures import AxesPicture, axes_pixels
from course_utils.surfaces import grid
from course_utils.widgets import all_frames, figure
from course_utils.widgets import batchnorm as demos
from course_utils.widgets.backdrop import Picture


def _pictures(fig):
    return [a for a in fig.get_children() if isinstance(a, Picture)]


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


def test_scale_demo_curvature_ratio_is_the_hessians():
    for features in ("raw", "z-scored"):
        data = demos.scale_compute(0.2, features)
        curvature = bx.curvatures(data["surface"])
        assert data["condition"] == pytest.approx((curvature[-1] / curvature[0]).item(), rel=1e-9)


@pytest.mark.parametrize("scale_x1, features", [(1.0, "z-scored"), (0.1, "raw"), (0.05, "raw")])
def test_scale_demo_surface_picture_has_the_bands_and_colours_draw_surface_gives(scale_x1, features):
    surface = bx.feature_surface(scale_x1, features == "z-scored")
    T1, T2, L = grid(surface, demos.SCALE_GRID_N)           # what draw_surface(n=40, levels=14) contours
    bands = Figure().subplots().contourf(T1.numpy(), T2.numpy(), torch.log10(L - L.min() + 1e-3).numpy(),
                                         levels=demos.SCALE_LEVELS, cmap="viridis", alpha=0.9)
    rgba = bands.get_facecolor()
    on_white = np.round(255 * (rgba[:, 3:] * rgba[:, :3] + 1 - rgba[:, 3:]))
    ax = figure(demos.FEATURE_SCALE_DEMO, scale_x1=scale_x1, features=features).axes[0]
    (picture,) = [a.rgba for a in ax.get_children() if isinstance(a, AxesPicture)]
    assert picture.shape[1::-1] == axes_pixels(ax)          # one picture pixel per screen pixel of the axes
    shown = np.unique(picture.reshape(-1, 4), axis=0)
    assert len(shown) == len(on_white)                      # every band shows
    assert all(np.abs(on_white - color[:3]).max(axis=1).min() <= 1 for color in shown)
    assert (shown[:, 3] == 255).all()
    centre, corner = picture[picture.shape[0] // 2, picture.shape[1] // 2], picture[0, 0]
    assert np.abs(on_white[0] - centre[:3]).max() <= 1 and np.abs(on_white[-1] - corner[:3]).max() <= 1


def test_every_surface_of_one_feature_kind_has_the_same_w2_window():
    # the scale demo's backdrop draws the w₂ axis once per kind of features
    for normalised in (False, True):
        windows = [bx.feature_surface(s, normalised).ylim for s in demos._SCALES]
        assert np.allclose(windows, windows[0], rtol=0, atol=1e-9)


def test_scale_demo_frames_paste_one_backdrop_per_feature_kind_and_keep_its_limits():
    frames = {(s, f): figure(demos.FEATURE_SCALE_DEMO, scale_x1=s, features=f)
              for s in (1.0, 0.1) for f in ("raw", "z-scored")}
    pictures = {key: _pictures(fig) for key, fig in frames.items()}
    assert all(len(p) == 1 for p in pictures.values())
    assert np.array_equal(pictures[1.0, "raw"][0].rgba, pictures[0.1, "raw"][0].rgba)   # one per feature kind
    assert not np.array_equal(pictures[1.0, "raw"][0].rgba, pictures[1.0, "z-scored"][0].rgba)
    for (s, f), fig in frames.items():
        ax, surface = fig.axes[0], bx.feature_surface(s, f == "z-scored")
        assert np.allclose(ax.get_xlim(), surface.xlim) and np.allclose(ax.get_ylim(), surface.ylim)
        assert not ax.yaxis.get_ticklabels()              # the w₂ tick labels are the backdrop's
        assert f"x₁ scale {s:g}" in ax.get_title()


def test_scale_demo_refuses_an_unknown_feature_kind():
    with pytest.raises(ValueError, match="'raw' or 'z-scored'"):
        demos.scale_compute(0.1, "standardised")


# --- the moving average -----------------------------------------------------------------------

@pytest.mark.parametrize("p", [0.0, 0.9, 0.99])
def test_running_average_is_what_batchnorm1d_keeps_with_momentum_one_minus_p(p):
    data = demos.average_compute(p=p, batch_size=8)
    layer = BatchNorm1d(1, momentum=1 - p).double()
    kept = []
    for z in bx.drifting_batches(8):
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


def test_running_average_frames_paste_one_backdrop_per_batch_size_and_keep_its_limits():
    demo = demos.RUNNING_AVERAGE_DEMO
    frames = [(params, figure(demo, **params)) for params in all_frames(demo)]
    by_size = {}
    for params, fig in frames:
        (picture,) = _pictures(fig)
        by_size.setdefault(params["batch_size"], []).append(picture.rgba)
        ax = fig.axes[0]
        assert ax.get_xlim() == (0, bx.AVERAGE_STEPS) and ax.get_ylim() == (-0.5, 4.5)
        (line,) = ax.get_lines()                                   # the frame draws the moving average only
        assert np.allclose(line.get_ydata(), demos.average_compute(**params)["running"])
        assert f"p = {params['p']:g}" in ax.get_title()
    assert all(np.array_equal(same[0], other) for same in by_size.values() for other in same)  # one per B
    firsts = [same[0] for same in by_size.values()]
    assert len(firsts) == 4 and not any(np.array_equal(a, b) for i, a in enumerate(firsts) for b in firsts[:i])
