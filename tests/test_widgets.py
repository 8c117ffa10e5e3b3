"""The demo pattern of course_utils.widgets: controls, pictures, the static book version
(a Stack of frames per control, jslinked to its slider), the live JupyterLab version, and
show() choosing between them."""
import base64
import html
import io
import re
import struct

import ipywidgets as w
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from ipywidgets.widgets.widget import _instances as widget_instances
from ipywidgets.widgets.widget_link import Link

from benchmarks.bench_demos import find_demos
from course_utils import widgets
from course_utils.plotting import COLUMN_PX, DENSITY
from course_utils.widgets import Control, Demo, all_frames, book_frame, figure, live, render, show, static

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data):
    assert data[:8] == PNG_SIGNATURE, "not a PNG"
    return struct.unpack(">II", data[16:24])


def line_compute(slope=1.0, offset=0):
    return {"slope": slope, "offset": offset}


def line_draw(data, ax):
    ax.plot([0, 1], [data["offset"], data["offset"] + data["slope"]])
    ax.set_ylim(-1, 4)
    ax.set_title(f"slope {data['slope']:g}, offset {data['offset']}")


@pytest.fixture
def demo():
    """Two controls, 3 × 2 = 6 frames, every frame a different picture."""
    return Demo(
        title="A line <y = a·x + b>",
        compute=line_compute,
        draw=line_draw,
        controls={"slope": Control("slope a", (0.5, 1.0, 2.0), 1.0),
                  "offset": Control("offset b", (0, 1), 0, format="{:d}")},
        alt='a line, "slope" 1',
    )


# --- Control and Demo -------------------------------------------------------------------------

def test_control_needs_at_least_two_values():
    with pytest.raises(ValueError, match="'η' needs at least two values"):
        Control("η", (0.1,), 0.1)


def test_control_default_must_be_one_of_its_values():
    with pytest.raises(ValueError, match=r"default 0\.3 is not one of its values \(0\.1, 0\.2\)"):
        Control("η", [0.1, 0.2], 0.3)


def test_control_labels_follow_its_format():
    assert Control("n", (1, 10), 1, format="{:d} steps").labels() == ["1 steps", "10 steps"]
    assert Control("η", [0.5, 1e-3], 0.5).values == (0.5, 1e-3)  # stored as a tuple


def test_demo_counts_its_frames_and_knows_its_defaults(demo):
    assert demo.n_frames == 6
    assert demo.defaults == {"slope": 1.0, "offset": 0}
    assert list(all_frames(demo)) == [{"slope": s, "offset": o} for s in (0.5, 1.0, 2.0) for o in (0, 1)]


def test_figure_rejects_a_control_the_demo_does_not_have(demo):
    with pytest.raises(ValueError, match=r"has no control named \['learning_rate'\]; its controls are \['slope', 'offset'\]"):
        figure(demo, learning_rate=0.1)


def test_figure_fills_in_the_defaults_of_controls_left_out(demo):
    assert figure(demo, offset=1).axes[0].get_title() == "slope 1, offset 1"


def test_figure_gives_draw_a_row_of_axes_when_the_demo_has_columns(demo):
    seen = []
    two = Demo(title="two", compute=line_compute, draw=lambda data, axes: seen.append(len(axes)),
               controls=demo.controls, ncols=2)
    figure(two)
    assert seen == [2]


# --- Pictures ---------------------------------------------------------------------------------

def test_render_draws_every_frame_as_a_png_of_the_same_size(demo):
    sizes = {png_size(render(demo, **params)) for params in all_frames(demo)}
    assert sizes == {(1376, 660)}  # FIGSIZE × DPI, the same for every frame (no tight bbox)


def test_every_demo_spans_the_column_at_twice_its_css_pixels(demo):
    """One size for every demo: the 688 px column, drawn at 2 pixels per CSS pixel (sharp on high-DPI screens)."""
    other = Demo(title="other", compute=line_compute, draw=lambda data, axes: None, controls=demo.controls, ncols=2)
    assert png_size(render(demo))[0] == png_size(render(other))[0] == COLUMN_PX * DENSITY == 1376


def test_a_book_frame_is_a_palette_png_and_a_live_frame_has_the_figures_own_pixels(demo):
    from PIL import Image

    fig = figure(demo)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    exact = np.asarray(canvas.buffer_rgba())[..., :3].astype(int)
    book, live = Image.open(io.BytesIO(book_frame(demo))), Image.open(io.BytesIO(render(demo)))
    assert book.mode == "P"                                      # 256 colours at most: a small page
    assert np.abs(np.asarray(book.convert("RGB")).astype(int) - exact).max(axis=2).mean() < 2   # no visible loss
    assert live.mode == "RGB" and np.array_equal(np.asarray(live), exact)


def test_each_frame_gets_new_axes_made_under_the_rcparams_of_now(demo):
    import matplotlib

    first, plain = figure(demo), figure(demo).axes[0].spines["left"].get_edgecolor()
    with matplotlib.rc_context({"axes.edgecolor": "red"}):
        red = figure(demo).axes[0].spines["left"].get_edgecolor()
    assert red == (1.0, 0.0, 0.0, 1.0) and plain != red
    assert figure(demo).axes[0].spines["left"].get_edgecolor() == plain
    assert figure(demo).axes[0] is not first.axes[0] and len(first.axes) == 1


def test_ticks_made_in_the_blank_figure_leave_every_frame_as_it_was():
    from dataclasses import replace

    from course_utils.widgets.batchnorm import FEATURE_SCALE_DEMO       # its frames draw their own w₁ axis

    plain = replace(FEATURE_SCALE_DEMO, ticks=0)
    assert FEATURE_SCALE_DEMO.ticks > 0
    assert len(figure(FEATURE_SCALE_DEMO).axes[0].xaxis.majorTicks) == FEATURE_SCALE_DEMO.ticks
    for params in all_frames(FEATURE_SCALE_DEMO):
        assert render(FEATURE_SCALE_DEMO, **params) == render(plain, **params), params


def test_render_draws_the_values_it_is_given(demo):
    assert render(demo) == render(demo, slope=1.0, offset=0)  # defaults, and deterministic
    assert len({render(demo, **params) for params in all_frames(demo)}) == demo.n_frames


# --- The static version (the book) ------------------------------------------------------------

def _links():
    return [(link.source, link.target) for link in widget_instances.values() if isinstance(link, Link)]


def test_static_stacks_one_frame_per_value_combination_and_links_each_slider(demo):
    box = static(demo)
    title, slope, offset, outer = box.children
    assert isinstance(title, w.HTML) and html.escape(demo.title) in title.value
    assert [type(s) for s in (slope, offset)] == [w.SelectionSlider, w.SelectionSlider]
    assert (slope.value, offset.value) == (1.0, 0)
    assert slope.options == (("0.5", 0.5), ("1", 1.0), ("2", 2.0))

    assert isinstance(outer, w.Stack) and len(outer.children) == 3 and outer.selected_index == 1
    links = _links()
    assert ((slope, "index"), (outer, "selected_index")) in links
    for i, inner in enumerate(outer.children):
        assert isinstance(inner, w.Stack) and len(inner.children) == 2 and inner.selected_index == 0
        assert ((offset, "index"), (inner, "selected_index")) in links
        for j, image in enumerate(inner.children):
            params = {"slope": demo.controls["slope"].values[i], "offset": demo.controls["offset"].values[j]}
            assert isinstance(image, w.Image) and image.value == book_frame(demo, **params), params


def test_static_refuses_a_demo_with_more_frames_than_a_page_should_embed(demo, monkeypatch):
    monkeypatch.setattr(widgets, "MAX_FRAMES", 5)
    with pytest.raises(ValueError, match=r"would embed 6 pictures in the page \(limit 5\)"):
        static(demo)
    monkeypatch.setattr(widgets, "MAX_FRAMES", 6)
    assert isinstance(static(demo).children[-1], w.Stack)


def test_named_choices_are_toggle_buttons_or_a_dropdown_linked_like_a_slider():
    """Names (optimisers, schedules) are all visible at once: a few short ones as toggle buttons,
    more or longer ones in a dropdown; each drives its Stack through the same ``index``."""
    few = Control("optimiser", ("GD", "Adam"), "Adam", format="{}")
    many = Control("schedule", ("constant", "step decay", "warm-up + cosine", "Transformer (inverse √t)"),
                   "constant", format="{}")
    named = Demo(title="named", compute=lambda optimiser, schedule: (optimiser, schedule),
                 draw=lambda data, ax: ax.set_title(" ".join(data)), controls={"optimiser": few, "schedule": many})
    box = static(named)
    _, buttons, menu, outer = box.children
    assert isinstance(buttons, w.ToggleButtons) and buttons.value == "Adam"
    assert buttons.options == (("GD", "GD"), ("Adam", "Adam"))
    assert isinstance(menu, w.Dropdown) and menu.value == "constant" and len(menu.options) == 4
    links = _links()
    assert ((buttons, "index"), (outer, "selected_index")) in links and outer.selected_index == 1
    assert all(((menu, "index"), (inner, "selected_index")) in links for inner in outer.children)
    assert "course-demo" in box._dom_classes
    assert all(c.layout.width in ("100%", "auto") for c in (buttons, menu))   # no fixed pixel width


def test_no_control_has_a_fixed_width_wider_than_a_phone(demo):
    for control in static(demo).children[1:-1]:
        assert isinstance(control, w.SelectionSlider)
        assert control.layout.width == "100%" and control.layout.max_width == "688px"


# --- The live version (JupyterLab) ------------------------------------------------------------

def test_live_redraws_the_picture_when_a_slider_moves(demo):
    box = live(demo)
    title, slope, offset, image = box.children
    assert isinstance(image, w.Image) and image.value == render(demo)
    slope.value = 2.0
    assert image.value == render(demo, slope=2.0, offset=0)
    offset.value = 1
    assert image.value == render(demo, slope=2.0, offset=1)
    slope.value = 1.0
    assert image.value == render(demo, slope=1.0, offset=1)


# --- show() -----------------------------------------------------------------------------------

@pytest.fixture
def displayed(monkeypatch):
    """What show() passes to IPython's display(), in order."""
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: shown.extend(objs))
    return shown


def test_show_in_the_book_build_gives_a_noscript_picture_then_the_static_demo(demo, displayed, monkeypatch):
    monkeypatch.setenv("COURSE_BOOK_BUILD", "1")
    show(demo)
    noscript, box = displayed
    match = re.fullmatch(r'<noscript><img src="data:image/png;base64,([^"]+)" alt="([^"]*)" '
                         r'style="width: 100%; max-width: 688px"></noscript>', noscript.data)
    assert match, noscript.data
    assert base64.b64decode(match.group(1)) == book_frame(demo)
    assert match.group(2) == html.escape(demo.alt, quote=True)
    assert isinstance(box, w.VBox) and isinstance(box.children[-1], w.Stack)


@pytest.mark.parametrize("flag", [None, "0", ""])
def test_show_in_a_kernel_gives_the_live_demo(demo, displayed, monkeypatch, flag):
    if flag is None:
        monkeypatch.delenv("COURSE_BOOK_BUILD", raising=False)
    else:
        monkeypatch.setenv("COURSE_BOOK_BUILD", flag)
    show(demo)
    (box,) = displayed
    assert isinstance(box, w.VBox) and isinstance(box.children[-1], w.Image)
    assert not any(isinstance(child, w.Stack) for child in box.children)


# --- The course's own demos -------------------------------------------------------------------

COURSE_DEMOS = find_demos()


@pytest.mark.parametrize("name", list(COURSE_DEMOS))
def test_course_demo_fits_in_a_page_and_draws_frames_of_one_size(name):
    demo = COURSE_DEMOS[name]
    assert demo.n_frames <= widgets.MAX_FRAMES, f"{name} has {demo.n_frames} frames (limit {widgets.MAX_FRAMES})"
    frames = list(all_frames(demo))
    first, last = render(demo, **frames[0]), render(demo, **frames[-1])
    assert png_size(first) == png_size(last) == png_size(render(demo))
    assert first != last, f"{name}: the first and last frames are the same picture"


@pytest.mark.parametrize("name", list(COURSE_DEMOS))
def test_course_demo_has_few_controls_and_every_frame_computes(name):
    """Few controls (the reader changes one thing at a time), and no frame of the book's
    precomputed grid fails: compute() runs for every combination of control values."""
    demo = COURSE_DEMOS[name]
    assert len(demo.controls) <= 3, f"{name} has {len(demo.controls)} controls; a demo should have at most 3"
    for params in all_frames(demo):
        data = demo.compute(**params)
        assert isinstance(data, dict) and data, (
            f"{name}: compute({params}) gave {data!r:.60}, not the dict of named data its draw() takes")


@pytest.mark.parametrize("name", list(COURSE_DEMOS))
def test_course_demo_shows_named_choices_as_names_not_on_a_slider(name):
    demo = COURSE_DEMOS[name]
    for key, control in zip(demo.controls, static(demo).children[1:-1]):
        named = demo.controls[key].named
        assert isinstance(control, (w.ToggleButtons, w.Dropdown) if named else w.SelectionSlider), (
            f"{name}: control {key!r} is a {type(control).__name__}")


def _text_boxes(fig):
    """[(what, Bbox in pixels)] of every visible piece of text: titles, axis and tick labels, texts, legends."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    found = []
    for i, ax in enumerate(fig.axes):
        drawn_ticks = [*ax.xaxis._update_ticks(), *ax.yaxis._update_ticks()]   # those inside the view only
        texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label, *ax.texts,
                 *[label for tick in drawn_ticks for label in (tick.label1, tick.label2)]]
        for t in texts:
            if t.get_visible() and t.get_text().strip() and t.get_alpha() != 0:
                found.append((f"axes {i} {t.get_text()!r}", t.get_window_extent(renderer)))
        legend = ax.get_legend()
        if legend is not None and legend.get_visible():
            found.append((f"axes {i} legend", legend.get_window_extent(renderer)))
    return found, fig.bbox


@pytest.mark.parametrize("name", list(COURSE_DEMOS))
def test_course_demo_text_is_neither_overprinted_nor_cut_off(name):
    """In the first, default and last frames, no title, label or legend runs over another or off the figure."""
    demo = COURSE_DEMOS[name]
    frames = list(all_frames(demo))
    for params in (frames[0], demo.defaults, frames[-1]):
        boxes, page = _text_boxes(figure(demo, **params))
        outside = [what for what, box in boxes
                   if box.x0 < page.x0 - 1 or box.y0 < page.y0 - 1 or box.x1 > page.x1 + 1 or box.y1 > page.y1 + 1]
        assert not outside, f"{name} {params}: cut off at the figure's edge: {outside}"
        crossing = [(a, b) for i, (a, box_a) in enumerate(boxes) for b, box_b in boxes[i + 1:]
                    if box_a.overlaps(box_b) and box_a.intersection(box_a, box_b).width > 1
                    and box_a.intersection(box_a, box_b).height > 1]
        assert not crossing, f"{name} {params}: text overprinted: {crossing}"


@pytest.mark.parametrize("label", ["$\\eta$", "\\(\\lambda\\)"])
def test_tex_in_a_control_label_is_refused_because_the_book_does_not_typeset_it(label):
    with pytest.raises(ValueError, match="Unicode"):
        Control(label, (1, 2), 1)
