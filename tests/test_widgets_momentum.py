"""Chapter 2's demos: frames paste one backdrop, and the batched momentum runs are the optimiser's."""
import numpy as np
import pytest

from course_utils.widgets import all_frames, figure
from course_utils.widgets import momentum as demos
from course_utils.widgets.backdrop import Picture
from course_utils.experiments import momentum as experiments
from course_utils.experiments.recipe import line_surface

LIMITS = {demos.MOMENTUM_DEMO.title: (experiments.RAVINE.xlim, experiments.RAVINE.ylim),
          demos.BATCH_DEMO.title: (line_surface().xlim, line_surface().ylim)}


@pytest.mark.parametrize("demo", [demos.MOMENTUM_DEMO, demos.BATCH_DEMO], ids=lambda d: d.title)
def test_demo_frames_paste_one_backdrop_and_keep_its_limits(demo):
    frames = [figure(demo, **params) for params in list(all_frames(demo))[::7][:4]]
    pictures = [[a for a in fig.get_children() if isinstance(a, Picture)] for fig in frames]
    assert all(len(p) == 1 for p in pictures) and np.array_equal(pictures[0][0].rgba, pictures[-1][0].rgba)  # one backdrop
    width, height = (frames[0].get_size_inches() * frames[0].dpi).round().astype(int)
    assert pictures[0][0].rgba.shape == (height, width, 4)
    xlim, ylim = LIMITS[demo.title]
    for fig in frames:
        assert fig.axes[0].get_xlim() == pytest.approx(xlim) and fig.axes[0].get_ylim() == pytest.approx(ylim)
    assert len({fig.axes[0].get_title() for fig in frames}) == len(frames)     # the title that changes


def test_momentum_frame_legend_reports_that_frames_losses():
    params = {"learning_rate": 0.5, "momentum": 0.3, "start": demos.STARTS[2]}
    data = demos.momentum_compute(**params)
    legend = figure(demos.MOMENTUM_DEMO, **params).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == [
        f"gradient descent: L = {data['gd_losses'][-1]:.1e}", f"momentum: L = {data['losses'][-1]:.1e}"]


def test_batched_momentum_runs_are_the_optimisers_paths_for_every_control_value():
    for params in all_frames(demos.MOMENTUM_DEMO):
        data = demos.momentum_compute(**params)
        expected = experiments.momentum_path(experiments.RAVINE, params["start"], params["learning_rate"], params["momentum"])
        assert np.allclose(data["path"], expected.numpy(), rtol=1e-12, atol=1e-12), params


@pytest.mark.parametrize("learning_rate, momentum", [(100.0, 0.0), (30.0, 0.9)])
def test_a_diverging_run_off_the_controls_is_cut_where_the_optimisers_path_is(learning_rate, momentum):
    data = demos.momentum_compute(learning_rate, momentum, demos.STARTS[1])
    expected = experiments.momentum_path(experiments.RAVINE, demos.STARTS[1], learning_rate, momentum).numpy()
    assert data["diverged"] and data["path"].shape == expected.shape and np.allclose(data["path"], expected)
    assert np.isfinite(data["losses"]).all()
