"""Chapter 1's demos and experiments: what each computes, against independent computations."""
import numpy as np
import pytest
import torch

from course_utils.experiments import critical
from course_utils.pictures import AxesPicture, axes_pixels, filled_contours, pixel_centres
from course_utils.widgets import all_frames, figure
from course_utils.widgets import critical as demos
from course_utils.widgets.backdrop import Picture

def test_quadratic_approximation_is_exact_at_the_point_and_matches_the_loss_to_second_order():
    theta0 = torch.tensor([0.7, -0.4], dtype=torch.float64)
    for d in (1e-2, 1e-3):
        points = theta0 + d * torch.tensor([[1.0, 0.0], [0.6, 0.8]], dtype=torch.float64)
        quad, _, _ = critical.quadratic_approximation(theta0, points)
        true = critical.product_loss(points)
        assert (quad - true).abs().max() < 10 * d ** 3
    quad, g, H = critical.quadratic_approximation(theta0, theta0)
    assert quad.item() == pytest.approx(critical.product_loss(theta0).item())
    w1, w2 = theta0.tolist()
    assert torch.allclose(g, torch.tensor([-2 * w2 * (1 - w1 * w2), -2 * w1 * (1 - w1 * w2)], dtype=torch.float64))


def test_taylor_demo_at_the_origin_is_the_notes_saddle_and_its_approximation_is_exact():
    data = demos.taylor_compute(0.0, 0.0)
    assert data["kind"] == "saddle point" and np.allclose(data["eigenvalues"], [-2, 2])
    # (1 − w₁w₂)² = 1 − 2w₁w₂ + w₁²w₂²: the quadratic part is 1 − 2w₁w₂ exactly.
    assert np.allclose(data["quadratic"], 1 - 2 * data["T1"] * data["T2"])
    away = demos.taylor_compute(1.0, 0.5)
    assert away["kind"] == "not a critical point"


def test_taylor_compute_gives_the_same_read_only_arrays_for_a_point_it_has_seen():
    first, again = demos.taylor_compute(0.5, -0.5), demos.taylor_compute(0.5, -0.5)
    assert again["quadratic"] is first["quadratic"]
    for name in ("quadratic", "gradient", "eigenvalues", "eigenvectors"):
        with pytest.raises(ValueError):
            first[name][0] = 0


WINDOW = (demos.WINDOW, demos.WINDOW)
#: Each demo's (x limits, y limits) of its two axes.
DEMO_LIMITS = {"TAYLOR_DEMO": [WINDOW, WINDOW],
               "ESCAPE_DEMO": [WINDOW, ((0, demos.ESCAPE_STEPS), (-0.05, 1.1))]}


def _frames(demo, n=3):
    return [figure(demo, **params) for params in list(all_frames(demo))[::7][:n]]


@pytest.mark.parametrize("name", list(DEMO_LIMITS))
def test_demo_frames_paste_one_backdrop_and_keep_its_limits(name):
    frames = _frames(getattr(demos, name))
    pictures = [[a for a in fig.get_children() if isinstance(a, Picture)] for fig in frames]
    assert all(len(p) == 1 for p in pictures) and np.array_equal(pictures[0][0].rgba, pictures[-1][0].rgba)  # one backdrop
    width, height = (frames[0].get_size_inches() * frames[0].dpi).round().astype(int)
    assert pictures[0][0].rgba.shape == (height, width, 4)
    for fig in frames:
        assert [(ax.get_xlim(), ax.get_ylim()) for ax in fig.axes] == DEMO_LIMITS[name]
        # The frame draws the spines, above its own pictures and lines; the backdrop has the ticks and labels.
        assert all(ax.axison and ax.spines["left"].get_visible() and not ax.xaxis.get_visible() for ax in fig.axes)


def _pictures(ax):
    """The pictures an Axes shows: its images' arrays and its AxesPictures."""
    return [image.get_array() for image in ax.get_images()] + [a.rgba for a in ax.get_children()
                                                                if isinstance(a, AxesPicture)]


def test_taylor_demo_frames_draw_the_quadratic_approximation_around_their_own_point():
    frames = _frames(demos.TAYLOR_DEMO)
    shown = [_pictures(fig.axes[1])[0] for fig in frames]
    for fig, picture in zip(frames, shown):
        assert picture.shape[1::-1] == axes_pixels(fig.axes[1])     # one picture pixel per screen pixel
        point = tuple(fig.axes[0].lines[0].get_xydata()[0])
        T1, T2 = pixel_centres(demos.WINDOW, demos.WINDOW, picture.shape[1::-1])
        quadratic, _, _ = critical.quadratic_approximation(point, np.stack([T1, T2], axis=-1))
        assert np.array_equal(picture, filled_contours(quadratic.numpy(), demos.LEVELS, "both"))
    assert not np.array_equal(shown[0], shown[-1])
    assert not _pictures(frames[0].axes[0])   # the true loss is the same in every frame: in the backdrop


def test_escape_demo_frames_title_their_nudge_and_final_loss():
    frames = _frames(demos.ESCAPE_DEMO)
    titles = [(fig.axes[0].get_title(), fig.axes[1].get_title()) for fig in frames]
    assert titles[0][0] == "no nudge" and titles[1][0].startswith("nudge")
    assert all(curve.startswith(f"after {demos.ESCAPE_STEPS} updates: L = ") for _, curve in titles)


def test_escape_demo_stays_without_a_nudge_and_escapes_along_the_negative_eigenvector():
    stay = demos.escape_compute("none", 0.1)
    assert np.all(stay["path"] == 0) and np.all(stay["losses"] == 1)
    down = demos.escape_compute("λ < 0", 0.001)
    assert down["losses"][-1] < 1e-3
    up = demos.escape_compute("λ > 0", 0.1)   # along u of λ > 0 descent returns to the saddle
    assert np.abs(up["path"][-1]).max() < 1e-3 and up["losses"][-1] > 0.99


def test_product_critical_points_are_the_saddle_at_the_origin_and_degenerate_minima_on_w1w2_equal_1():
    points = critical.product_critical_points(n_starts=12, seed=1)
    assert len(points) >= 10
    for point in points:
        if point.kind == "saddle point":
            assert point.theta.abs().max() < 1e-9 and torch.allclose(point.eigenvalues, torch.tensor(
                [-2.0, 2.0], dtype=torch.float64))
        else:
            assert point.kind == "degenerate" and point.loss < 1e-12
            assert (point.theta.prod() - 1).abs() < 1e-9 and abs(point.eigenvalues[0]) < 1e-6
    assert {p.kind for p in points} == {"saddle point", "degenerate"}


def test_gradient_norm_descent_converges_to_the_saddle_of_a_quadratic():
    H = torch.tensor([[2.0, 0.0], [0.0, -1.0]], dtype=torch.float64)
    loss = lambda t: 0.5 * (t - 1) @ H @ (t - 1)  # noqa: E731
    found = critical.gradient_norm_descent(loss, torch.tensor([[3.0, -2.0]], dtype=torch.float64), steps=30)
    assert torch.allclose(found[0], torch.ones(2, dtype=torch.float64), atol=1e-8)


def test_escape_table_predicts_the_drop_to_second_order():
    lam, u, rows = critical.escape_table(critical.product_loss, torch.zeros(2, dtype=torch.float64), [1e-3, 0.1])
    assert lam == pytest.approx(-2.0) and u.norm().item() == pytest.approx(1.0)
    for alpha, predicted, true in rows:
        assert true < 0 and predicted == pytest.approx(-alpha ** 2)
        assert true == pytest.approx(predicted + alpha ** 4 / 4, rel=1e-9)  # (1 − α²/2)² − 1 = −α² + α⁴/4


def test_network_loss_matches_torch_nn():
    x, y = critical.sinc_data(16)
    net = torch.nn.Sequential(torch.nn.Linear(1, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    theta = torch.cat([net[0].weight[:, 0], net[0].bias, net[2].weight[0], net[2].bias])
    expected = torch.nn.functional.mse_loss(net(x[:, None])[:, 0], y)
    assert critical.network_loss(theta, x, y, 3).item() == pytest.approx(expected.item())
    assert critical.n_parameters(3) == theta.numel()


def test_minimum_ratio_study_keeps_only_points_with_a_tiny_gradient():
    study = critical.minimum_ratio_study(n_networks=6, max_updates=50, newton_steps=20)
    assert study.n_networks == 6 and len(study.losses) == len(study.ratios) <= 6
    assert (study.gradient_norms < 1e-3).all() and ((study.ratios >= 0) & (study.ratios <= 1)).all()
