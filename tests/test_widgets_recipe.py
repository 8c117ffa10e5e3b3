"""Chapter 0's demos: what each compute returns, against independent computations."""
import numpy as np
import pytest
import torch

from course_utils.experiments import recipe
from course_utils.widgets import recipe as demos

def test_gd_two_parameters_follows_the_hand_written_step():
    x, y = recipe.make_line_data()
    data = demos.gd2_compute(learning_rate=0.1, steps=30)
    w, b = recipe.GD_START
    path = [(w, b)]
    for _ in range(30):
        w, b = recipe.linear_regression_step(w, b, x, y, 0.1)
        path.append((float(w), float(b)))
    assert data["path"].shape == (31, 2) and np.allclose(data["path"], path)


def test_gd_one_parameter_moves_only_w_with_b_at_its_best():
    x, y = recipe.make_line_data()
    b_star = recipe.line_surface().minimum[1]
    data = demos.gd1_compute(learning_rate=0.1, steps=5)
    w = recipe.GD_START[0]
    for _ in range(5):
        w, _ = recipe.linear_regression_step(w, b_star, x, y, 0.1)
    assert data["path"].shape == (6,) and data["path"][-1] == pytest.approx(float(w))


def _divergence_threshold(hessian):
    return 2 / torch.linalg.eigvalsh(hessian).max().item()


def test_gd_converges_below_two_over_the_largest_curvature_and_diverges_above():
    x, _ = recipe.make_line_data()
    hessian_2d = 2 * torch.tensor([[(x * x).mean(), x.mean()], [x.mean(), 1.0]], dtype=torch.float64)
    limit_1d, limit_2d = 2 / hessian_2d[0, 0].item(), _divergence_threshold(hessian_2d)
    assert limit_2d < 0.5 < limit_1d < 0.8  # η = 0.5 works on one parameter, not on two
    for eta in demos.GD1_DEMO.controls["learning_rate"].values:
        one, two = demos.gd1_compute(eta, 100), demos.gd2_compute(eta, 100)
        assert (one["verdict"] == "diverges") == (eta > limit_1d)
        assert (two["verdict"] == "diverges") == (eta > limit_2d)


def test_gd_small_learning_rate_lowers_the_loss_at_every_update():
    data = demos.gd2_compute(learning_rate=0.05, steps=100)
    assert (np.diff(data["losses"]) < 0).all()
    minimum = recipe.line_surface().loss(torch.tensor(recipe.line_surface().minimum)).item()
    assert data["losses"][-1] > minimum + 0.01  # too small a step: still on its way after 100 updates


def test_sigmoid_demo_centre_height_and_matching_ramp():
    data = demos.sigmoid_compute(w=2.0, b=1.0)
    assert data["centre"] == pytest.approx(-0.5)
    x = data["x"]
    at_centre = np.interp(-0.5, x, data["sigmoid"])
    assert at_centre == pytest.approx(0.5, abs=1e-6) and np.interp(-0.5, x, data["hard"]) == pytest.approx(0.5, abs=1e-6)
    assert data["sigmoid"][0] < 0.01 and data["sigmoid"][-1] > 0.99
    assert data["hard"][0] == 0 and data["hard"][-1] == 1
    flipped = demos.sigmoid_compute(w=-1.0, b=0.0)
    assert flipped["sigmoid"][0] > 0.99 and flipped["sigmoid"][-1] < 0.01


@pytest.mark.parametrize("activation", ["hard sigmoid", "sigmoid", "ReLU"])
def test_fit_demo_error_falls_as_pieces_are_added(activation):
    errors = [demos.fit_compute(n, activation)["mse"] for n in demos.FIT_DEMO.controls["n_pieces"].values]
    assert all(b < a for a, b in zip(errors, errors[1:]))


def test_fit_demo_uses_two_relus_per_piece_and_they_fit_as_well_as_hard_sigmoids():
    relu, hard = demos.fit_compute(5, "ReLU"), demos.fit_compute(5, "hard sigmoid")
    assert relu["n_units"] == 10 and hard["n_units"] == 5
    assert relu["mse"] <= hard["mse"] + 1e-12
    assert np.allclose(relu["fit"], relu["b"] + relu["pieces"].sum(axis=1))


def _pictures(fig):
    from course_utils.widgets.backdrop import Picture

    under = [a for a in fig.get_children() if isinstance(a, Picture) and a.get_zorder() < 0]
    over = [a for a in fig.get_children() if isinstance(a, Picture) and a.get_zorder() > 0]
    return under, over


_SURFACE = recipe.line_surface()


@pytest.mark.parametrize("demo, xlim, ylim, has_legend", [
    (demos.SIGMOID_DEMO, (-6, 6), (-0.1, 1.15), True),
    (demos.FIT_DEMO, demos.FIT_RANGE, (-6, 3), True),
    (demos.GD1_DEMO, _SURFACE.xlim, (0, 1.1 * demos.gd1_compute()["curve"].max()), True),
    (demos.GD2_DEMO, _SURFACE.xlim, _SURFACE.ylim, False),
], ids=lambda v: getattr(v, "title", None))
def test_demo_frames_paste_one_backdrop_and_keep_its_limits(demo, xlim, ylim, has_legend):
    from course_utils.widgets import all_frames, figure

    frames = [figure(demo, **params) for params in list(all_frames(demo))[:3]]
    layers = [_pictures(fig) for fig in frames]
    assert all(len(under) == 1 for under, _ in layers)
    assert np.array_equal(layers[0][0][0].rgba, layers[-1][0][0].rgba)                     # one backdrop, shared
    width, height = (frames[0].get_size_inches() * frames[0].dpi).round().astype(int)
    assert layers[0][0][0].rgba.shape == (height, width, 4)
    for fig in frames:
        ax = fig.axes[0]
        assert ax.get_xlim() == pytest.approx(xlim) and ax.get_ylim() == pytest.approx(ylim)
        assert ax.get_title()                                                # the title that changes
        assert ax.spines["left"].get_visible() and not ax.xaxis.get_visible()  # spines over the lines
        assert ax.get_legend() is None
    # The legend never changes: one transparent picture of it, over the frame's lines.
    assert all(len(over) == int(has_legend) for _, over in layers)
    if has_legend:
        legend = layers[0][1][0].rgba
        assert legend is layers[-1][1][0].rgba and 0 < (legend[..., 3] > 0).mean() < 0.2
