"""Every demo draws its data where its axes say, under the book's style.

A demo frame pastes a cached picture of what never changes (ticks, labels, contours: the
backdrop, :mod:`course_utils.widgets.backdrop`) and draws only its data on top. Each frame below
is rendered as the book embeds it (``render``, which ``show`` and the static Stack of precomputed
frames call), under :func:`course_utils.plotting.use_book_style` (whose ``savefig.bbox`` is
``"tight"``), and again drawn plainly in one pass (``drawn_in_one_pass``: the static parts drawn
on the frame's own axes, no picture). The two PNGs must have the same size and agree:

- a pixel *differs* when one of its R, G, B values differs by more than ``CHANNEL_THRESHOLD``
  (32 of 255), which ignores faint anti-aliasing tones;
- at most ``MAX_DIFFERING`` (0.1 %) of a frame's pixels may differ.

The honest differences, measured on all 583 frames of the 16 demos: where a line crosses an
axes' spine, or a legend drawn in the backdrop, the frame draws the line on top while one pass
draws the spine or legend on top (matplotlib's z-order), and thin lines of a backdrop (the
hw02 label boundaries) go under the frame's window instead of over it; an overlay pasted over
the frame goes over its spines too. At most 0.058 % of a frame's pixels (softmax: the dashed
outline of a bar of height 0 over the bottom spine), 0.042 % (the optimiser race: curves over
the loss panel's spine), 0.031 % (schedules),
0.011 % (the context window), 0.009 % (the bound), 0.003 % (the surfaces), 0 for the rest. A
frame cropped to a tight box differs in size (and every frame must have the figure's size,
``figsize × dpi``); a backdrop pasted two pixels to the right differs in 1.9 to 3.7 % of the
pixels, and missing tick labels in 0.8 %.

Which frames: the book embeds every combination of control values (583 frames in all, about
two minutes to draw twice on one core), so demos with at most ``ALL_FRAMES_UP_TO`` frames
are checked whole, and larger ones on a sample: the first and the last frame of the book's
order, the default one (also the no-JavaScript picture), and a diagonal that shows every value
of every control at least once: 141 frames. About 30 s of CPU time (``--durations``; the
bound demo's first frame simulates its training sets).
"""
import io

import matplotlib
import numpy as np
import pytest
from PIL import Image

from benchmarks.bench_demos import find_demos
from course_utils.plotting import use_book_style
from course_utils.widgets import all_frames, render, static
from course_utils.widgets.backdrop import drawn_in_one_pass

CHANNEL_THRESHOLD = 32
MAX_DIFFERING = 0.001
ALL_FRAMES_UP_TO = 16

COURSE_DEMOS = find_demos()

#: Demos whose one-pass drawing cannot match until the demo itself changes (see the reason).


def sample_frames(demo):
    """The frames checked for ``demo`` (see the module's docstring), in the book's order, each once."""
    frames = list(all_frames(demo))
    if len(frames) <= ALL_FRAMES_UP_TO:
        return frames
    controls = demo.controls.values()
    diagonal = [{name: c.values[i % len(c.values)] for name, c in demo.controls.items()}
                for i in range(max(len(c.values) for c in controls))]
    chosen = [frames[0], frames[-1], demo.defaults, *diagonal]
    return [frame for frame in frames if frame in chosen]


def pixels(png):
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def differing(pasted, plain):
    """The fraction of pixels whose R, G or B differs by more than CHANNEL_THRESHOLD (both the same size)."""
    return float((np.abs(pasted - plain).max(axis=2) > CHANNEL_THRESHOLD).mean())


@pytest.fixture
def book_style():
    """The book's rcParams, as every chapter sets them, for this test only."""
    with matplotlib.rc_context():
        use_book_style()
        yield


def mismatches(demo, frames, pasted_png=None):
    """[(frame, why)] of the frames that are cropped, or whose pasted and one-pass drawings disagree."""
    found = []
    size = tuple(round(inches * demo.dpi) for inches in demo.figsize)
    for params in frames:
        pasted = pixels(pasted_png(params) if pasted_png else render(demo, **params))
        with drawn_in_one_pass():
            plain = pixels(render(demo, **params))
        if (pasted.shape[1], pasted.shape[0]) != size:
            found.append((params, f"{pasted.shape[1]} × {pasted.shape[0]} pixels, not the figure's "
                                  f"{size[0]} × {size[1]}: cropped"))
        elif pasted.shape != plain.shape:
            found.append((params, f"{pasted.shape[1]} × {pasted.shape[0]} pixels, drawn in one pass "
                                  f"{plain.shape[1]} × {plain.shape[0]}"))
        elif (share := differing(pasted, plain)) > MAX_DIFFERING:
            found.append((params, f"{share:.2%} of the pixels differ"))
    return found


@pytest.mark.parametrize("name", list(COURSE_DEMOS))
def test_each_frame_matches_its_one_pass_drawing(name, book_style):
    demo = COURSE_DEMOS[name]
    found = mismatches(demo, sample_frames(demo))
    assert not found, report(name, found)


def report(name, found, shown=3):
    return (f"{name}: {len(found)} frame(s) differ from their drawing in one pass, e.g. "
            + "; ".join(f"{params}: {why}" for params, why in found[:shown]))


def _images(box):
    """The PNGs of a static demo's Stack, in the order of all_frames."""
    import ipywidgets as w

    if isinstance(box, w.Image):
        return [box.value]
    return [png for child in box.children for png in _images(child)]


def test_the_frames_the_book_embeds_match_their_one_pass_drawing(book_style):
    """The static book's own path (``static``: every frame in a Stack), checked whole on chapter 1's saddle demo."""
    demo = COURSE_DEMOS["critical.ESCAPE_DEMO"]
    embedded = _images(static(demo).children[-1])
    frames = list(all_frames(demo))
    assert len(embedded) == len(frames) == demo.n_frames
    by_frame = {repr(params): png for params, png in zip(frames, embedded)}
    found = mismatches(demo, frames, pasted_png=lambda params: by_frame[repr(params)])
    assert not found, report("the static critical.ESCAPE_DEMO", found)


def test_the_sample_covers_every_control_value():
    for name, demo in COURSE_DEMOS.items():
        frames = sample_frames(demo)
        assert demo.defaults in frames, name
        for control, c in demo.controls.items():
            assert {f[control] for f in frames} == set(c.values), (name, control)
