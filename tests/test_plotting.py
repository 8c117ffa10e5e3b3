"""course_utils.plotting: one figure style and one colour per optimiser for the whole book."""
import struct

import matplotlib
import matplotlib.colors as mcolors
import matplotlib.patches
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from course_utils.plotting import (BOOK_STYLE, COLUMN_INCHES, COLUMN_PX, CSS_PX_PER_INCH, DENSITY, OPTIMISER_COLORS,
                                   ROLE_COLORS, frame_png, use_book_style)


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_use_book_style_sets_the_book_rcparams():
    with matplotlib.rc_context():
        use_book_style()
        for key, value in BOOK_STYLE.items():
            expected = list(value) if isinstance(value, tuple) else value
            assert matplotlib.rcParams[key] == expected, key


def test_each_optimiser_and_role_has_one_valid_colour():
    assert OPTIMISER_COLORS["gd"] == OPTIMISER_COLORS["sgd"]  # plain GD is SGD with the full batch
    distinct = {name: color for name, color in OPTIMISER_COLORS.items() if name != "sgd"}
    assert len(set(distinct.values())) == len(distinct), "two optimisers share a colour"
    assert all(mcolors.is_color_like(c) for c in [*OPTIMISER_COLORS.values(), *ROLE_COLORS.values()])


def test_frame_png_is_the_whole_figure_as_a_palette_png_whatever_the_savefig_style():
    from PIL import Image
    import io

    fig = Figure(figsize=(4.0, 2.5), dpi=50)
    fig.text(0.5, 0.5, "small")
    with matplotlib.rc_context():
        use_book_style()                                          # savefig.bbox = "tight" must not crop a frame
        data = frame_png(fig)
    assert png_size(data) == (200, 125)
    assert Image.open(io.BytesIO(data)).mode == "P"               # at most 256 colours: a small file


def test_a_figure_the_width_of_the_column_is_688_css_pixels_drawn_at_twice_that():
    assert COLUMN_INCHES * CSS_PX_PER_INCH == COLUMN_PX == 688
    fig = Figure(figsize=(COLUMN_INCHES, 2.0), dpi=CSS_PX_PER_INCH * DENSITY)
    assert png_size(frame_png(fig)) == (1376, 400)


def test_a_live_frame_keeps_every_pixel_as_drawn():
    from PIL import Image
    import io

    fig = Figure(figsize=(4.0, 2.5), dpi=50)
    fig.text(0.1, 0.5, "many tones", color="#3a7bd5", fontsize=20)
    fig.patches.append(matplotlib.patches.Rectangle((0.6, 0.2), 0.3, 0.6, color="#d53a7b", alpha=0.5,
                                                    transform=fig.transFigure))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    drawn = np.asarray(canvas.buffer_rgba())[..., :3]
    live = Image.open(io.BytesIO(frame_png(fig, colours=None)))
    assert live.mode == "RGB" and live.size == (200, 125)
    assert np.array_equal(np.asarray(live), drawn)

