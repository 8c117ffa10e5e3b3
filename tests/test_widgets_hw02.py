"""Chapter 6's demo: the context window it draws is concat_feat's, edges included."""
import numpy as np
import pytest
import torch
from matplotlib import colormaps
from matplotlib.colors import Normalize

from course_utils.hw02.libriphone import concat_feat
from course_utils.pictures import AxesPicture
from course_utils.widgets import all_frames, figure
from course_utils.widgets import hw02 as demos
from course_utils.widgets.backdrop import Picture


def test_every_frame_computes_a_window_of_n_frames_around_t():
    for params in all_frames(demos.WINDOW_DEMO):
        data = demos.window_compute(**params)
        n = params["concat_nframes"]
        assert data["block"].shape == (n, 39) and len(data["frames"]) == n
        assert data["frames"][n // 2] == data["t"]


def test_the_block_is_concat_feat_of_frame_t():
    feats = demos.example_utterance()["feats"]
    data = demos.window_compute(concat_nframes=5, position=50)
    assert np.allclose(data["block"].reshape(-1), concat_feat(feats, 5)[data["t"]].numpy())
    assert np.allclose(data["block"], feats[data["frames"]].numpy())


@pytest.mark.parametrize("position, side", [(0, "first"), (100, "last")])
def test_at_the_edges_the_window_repeats_the_edge_frame(position, side):
    data = demos.window_compute(concat_nframes=21, position=position)
    edge = 0 if side == "first" else len(data["feats"]) - 1
    assert data["padded"].sum() == 10 and (data["frames"][data["padded"]] == edge).all()


def test_label_segments_cover_every_frame_once():
    labels = demos.example_utterance()["labels"]
    segments = demos.label_segments(labels)
    assert segments[0][0] == 0 and segments[-1][1] == len(labels) - 1
    assert all(b + 1 == c for (_, b, _), (c, _, _) in zip(segments, segments[1:]))
    assert segments[0][2] == "sil" and len(segments) > 10


def test_label_segments_of_a_tiny_sequence():
    assert demos.label_segments(torch.tensor([0, 0, 2, 2, 2, 0])) == [(0, 1, "sil"), (2, 4, "AE"), (5, 5, "sil")]


def test_window_frames_paste_one_backdrop_per_n_and_padding_and_keep_its_limits():
    pictures, frames = {}, len(demos.example_utterance()["feats"])
    for params in all_frames(demos.WINDOW_DEMO):
        fig, data = figure(demos.WINDOW_DEMO, **params), demos.window_compute(**params)
        (picture,) = [a for a in fig.get_children() if isinstance(a, Picture)]
        pictures.setdefault((params["concat_nframes"], int(data["padded"].sum())), []).append(picture.rgba)
        image, block = fig.axes
        n = params["concat_nframes"]
        assert image.get_xlim() == (-0.5, frames - 0.5) and image.get_ylim() == (-0.5, 43)
        assert block.get_xlim() == (-0.5, n - 0.5) and block.get_ylim() == (-0.5, 38.5)
        assert image.get_title() == f"frame t = {data['t']} is labelled {data['label']}"
        (shown,) = [a for a in block.get_children() if isinstance(a, AxesPicture)]
        assert np.array_equal(shown.rgba, colormaps["viridis"](Normalize(-3, 3)(data["block"].T), bytes=True))
    assert all(np.array_equal(same[0], other) for same in pictures.values() for other in same)   # one per n, padding
    assert len(pictures) <= 12
