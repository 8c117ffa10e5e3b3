"""Live demos that still respond in the static HTML book.

A demo is three pieces:

- ``compute(**params) -> data``: pure and fast, unit-tested on its own;
- ``draw(data, ax)``: draws that data on a matplotlib Axes (or a row of Axes);
- a :class:`Demo` that names both and declares its controls, each a short grid of
  values with a default.

:func:`show` puts a demo on the page. In JupyterLab (a live kernel) it builds the
live version: moving a slider calls ``compute`` and ``draw`` again and replaces the
picture. When the book is built (``COURSE_BOOK_BUILD=1``, set by ``make book``) it
builds the static version instead: every combination of control values is drawn
once, the pictures are stacked in an ``ipywidgets.Stack``, and each control is
``jslink``-ed to the stack, so the page switches pictures in the browser with no
kernel. A plain picture of the default settings goes first, inside ``<noscript>``,
for readers without JavaScript.

Every demo has one size, :data:`FIGSIZE`: it spans the book's text column, and is drawn at
:data:`~course_utils.plotting.DENSITY` pixels per CSS pixel, so it is sharp on high-DPI screens;
the browser scales it down to a narrower column (a phone). A control whose values are numbers
is a slider; one whose values are names (an optimiser, a schedule, an activation) shows every
name at once: toggle buttons when they fit on a phone's line, else a dropdown. The book's CSS
for demos (widths on a phone, dark mode) is ``book/_ext/demo_style.py``.
"""
import base64
import html
import itertools
import math
import os
import pickle
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, Optional, Tuple

import matplotlib
import numpy as np
from matplotlib.figure import Figure

from ..plotting import BOOK_STYLE, COLUMN_INCHES, COLUMN_PX, CSS_PX_PER_INCH, DENSITY, frame_png

#: Largest number of pictures a static demo may embed in a page (keeps pages light).
MAX_FRAMES = 120
#: Every demo's figure, in inches at CSS_PX_PER_INCH: the width of the book's column.
FIGSIZE = (COLUMN_INCHES, 3.3)
#: Pixels per inch of a frame: DENSITY pixels per CSS pixel.
DPI = CSS_PX_PER_INCH * DENSITY
#: Margins around the axes, in inches (room for tick labels, axis labels and a two-line title).
MARGINS = {"left": 0.78, "right": 0.3, "bottom": 0.5, "top": 0.46}
#: Named choices with at most this many options, and this many characters in all, are toggle
#: buttons (one line on a 390 px phone); more are a dropdown.
TOGGLE_MAX_OPTIONS = 4
TOGGLE_MAX_CHARS = 32


@dataclass(frozen=True)
class Control:
    """One control: a label, the values it steps through, and the default value.

    Numbers (or tuples of numbers) are a slider; names (strings) are toggle buttons or a dropdown.
    Each value is shown by ``format``; without one, a float as ``{:g}`` and anything else as ``{}``."""

    label: str
    values: Tuple[Any, ...]
    default: Any
    format: Optional[str] = None

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(self.values))
        if any(mark in self.label for mark in ("$", "\\(", "\\[")):
            raise ValueError(f"control label {self.label!r} contains TeX: slider labels are not typeset in the "
                             "book, so write symbols in Unicode (η, λ, θ₁) instead")
        if len(self.values) < 2:
            raise ValueError(f"control {self.label!r} needs at least two values, got {self.values!r}")
        if self.default not in self.values:
            raise ValueError(f"control {self.label!r}: default {self.default!r} is not one of its values {self.values!r}")

    def labels(self):
        return [(self.format or ("{:g}" if isinstance(v, float) else "{}")).format(v) for v in self.values]

    @property
    def named(self):
        """True when the values are names (an optimiser, a schedule), not points on a scale."""
        return all(isinstance(v, str) for v in self.values)


@dataclass(frozen=True)
class Demo:
    """A demo: what to compute, how to draw it, and the controls that drive it.

    The title and the control labels are plain text (Unicode symbols, no TeX); TeX
    belongs in the matplotlib figure, which renders it itself. Every demo is drawn at
    one size, :data:`FIGSIZE` at :data:`DPI` (``figsize`` and ``dpi`` say so).
    """

    title: str
    compute: Callable[..., Any]
    draw: Callable[[Any, Any], None]
    controls: Dict[str, Control]
    ncols: int = 1
    alt: str = field(default="")
    #: Major ticks each axis of the blank figure already has: for a demo whose frames draw their own ticks
    #: (most paste them in a backdrop), so that a frame does not make them again.
    ticks: int = 0

    figsize = FIGSIZE
    dpi = DPI

    def __post_init__(self):
        if any(mark in self.title for mark in ("$", "\\(", "\\[")):
            raise ValueError(f"demo title {self.title!r} contains TeX: titles are not typeset in the book, "
                             "so write symbols in Unicode (η, λ, θ₁) instead")

    @property
    def defaults(self):
        return {name: c.default for name, c in self.controls.items()}

    @property
    def n_frames(self):
        return math.prod(len(c.values) for c in self.controls.values())


def figure(demo, **params):
    """The demo drawn at ``params`` (the defaults for any left out), as a matplotlib Figure."""
    unknown = set(params) - set(demo.controls)
    if unknown:
        raise ValueError(f"{demo.title!r} has no control named {sorted(unknown)}; its controls are {list(demo.controls)}")
    values = {**demo.defaults, **params}
    # The book's rcParams while drawing, the notebook's own settings untouched. A fixed title height:
    # matplotlib's automatic placement measures every tick label, which is about a quarter of a frame's drawing time.
    with matplotlib.rc_context({**BOOK_STYLE, "axes.titley": 1.01, "axes.titlesize": 10}):
        rc = repr(list(dict.values(matplotlib.rcParams)))
        fig = pickle.loads(_blank(demo.figsize, demo.dpi, demo.ncols, demo.ticks, rc))
        demo.draw(demo.compute(**values), fig.axes[0] if demo.ncols == 1 else np.array(fig.axes))
    return fig


@lru_cache(maxsize=16)
def _blank(figsize, dpi, ncols, ticks, rc):
    """A figure with its row of ``ncols`` axes, each axis with ``ticks`` major ticks made, as made under the
    rcParams whose values ``rc`` lists, pickled: unpickling one takes two thirds of the time of making its axes
    again."""
    fig = Figure(figsize=figsize, dpi=dpi)
    fig.subplots(1, ncols)
    # No layout engine: tight/constrained layout costs a second draw per frame.
    width, height = figsize
    fig.subplots_adjust(left=MARGINS["left"] / width, right=1 - MARGINS["right"] / width,
                        bottom=MARGINS["bottom"] / height, top=1 - MARGINS["top"] / height, wspace=0.3)
    for ax in fig.axes if ticks else ():
        ax.xaxis.get_major_ticks(ticks)
        ax.yaxis.get_major_ticks(ticks)
    return pickle.dumps(fig)


def render(demo, **params):
    """The demo drawn at ``params`` as a live frame's PNG bytes: what one slider move costs (compute + draw)."""
    return frame_png(figure(demo, **params), colours=None)


def book_frame(demo, **params):
    """The demo drawn at ``params`` as the book embeds it: a palette PNG, a third of a live frame's bytes."""
    return frame_png(figure(demo, **params))


def live(demo):
    """The JupyterLab version: sliders that recompute and redraw on every move."""
    sliders = _controls(demo)
    image = _image(render(demo))

    def redraw(_change=None):
        image.value = render(demo, **{name: s.value for name, s in sliders.items()})

    for s in sliders.values():
        s.observe(redraw, names="value")
    return _box(demo, sliders, image)


def static(demo):
    """The book's version: every frame drawn once, sliders linked to a Stack in the browser."""
    import ipywidgets as w

    if demo.n_frames > MAX_FRAMES:
        raise ValueError(
            f"{demo.title!r} would embed {demo.n_frames} pictures in the page (limit {MAX_FRAMES}); "
            "give its controls fewer values."
        )
    sliders = _controls(demo)
    names = list(demo.controls)

    def stack(level, fixed):
        if level == len(names):
            return _image(book_frame(demo, **fixed))
        control = demo.controls[names[level]]
        children = [stack(level + 1, {**fixed, names[level]: v}) for v in control.values]
        box = w.Stack(children, selected_index=control.values.index(control.default))
        w.jslink((sliders[names[level]], "index"), (box, "selected_index"))
        return box

    return _box(demo, sliders, stack(0, {}))


def book_build():
    """True while `make book` executes the notebooks."""
    return os.environ.get("COURSE_BOOK_BUILD") == "1"


def show(demo):
    """Display a demo: live in a kernel, pre-rendered frames (plus a no-JavaScript picture) in the book."""
    from IPython.display import HTML, display

    if book_build():
        png = base64.b64encode(book_frame(demo)).decode("ascii")
        alt = html.escape(demo.alt or demo.title, quote=True)
        display(HTML(f'<noscript><img src="data:image/png;base64,{png}" alt="{alt}" '
                     f'style="width: 100%; max-width: {COLUMN_PX}px"></noscript>'))
        display(static(demo))
    else:
        display(live(demo))


def all_frames(demo):
    """Every combination of control values, in the order the static version stacks them."""
    names = list(demo.controls)
    for combo in itertools.product(*(demo.controls[n].values for n in names)):
        yield dict(zip(names, combo))


def _controls(demo):
    """{name: widget}: a slider for numbers, toggle buttons or a dropdown for names (each with an ``index``)."""
    return {name: _control(c) for name, c in demo.controls.items()}


def _control(c):
    import ipywidgets as w

    options = list(zip(c.labels(), c.values))
    common = dict(options=options, value=c.default, description=c.label, style={"description_width": "initial"},
                  layout=w.Layout(width="100%", max_width=f"{COLUMN_PX}px"))
    if not c.named:
        control = w.SelectionSlider(continuous_update=True, **common)
    elif len(options) <= TOGGLE_MAX_OPTIONS and sum(len(label) for label, _ in options) <= TOGGLE_MAX_CHARS:
        common["style"] = {**common["style"], "button_width": "auto"}
        control = w.ToggleButtons(**common)
    else:
        common["layout"] = w.Layout(width="auto", max_width="100%")
        control = w.Dropdown(**common)
    control.add_class("course-demo-control")
    return control


def _image(png):
    """One frame on the page: as wide as the column (or the screen), whatever its pixels."""
    import ipywidgets as w

    return w.Image(value=png, format="png", layout=w.Layout(width="100%", max_width=f"{COLUMN_PX}px", height="auto"))


def _box(demo, controls, picture):
    import ipywidgets as w

    box = w.VBox([w.HTML(f"<b>{html.escape(demo.title)}</b>"), *controls.values(), picture],
                 layout=w.Layout(width="100%", max_width=f"{COLUMN_PX}px"))
    box.add_class("course-demo")
    return box
