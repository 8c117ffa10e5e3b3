"""One figure style for the whole book.

Every chapter calls :func:`use_book_style` once. Colours are fixed per optimiser
(and per curve role) so that "Adam" is the same colour on every page.

Sizes are in inches at 100 CSS pixels per inch, so that a figure :data:`COLUMN_INCHES` wide fills
the book's text column (:data:`COLUMN_PX` CSS pixels) with its fonts at their point sizes. Pictures
are drawn at :data:`DENSITY` device pixels per CSS pixel, so that they stay sharp on high-DPI screens.
"""
import io
import struct
import zlib

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

#: Width of the book's text column in CSS pixels (sphinx-book-theme on a wide screen).
COLUMN_PX = 688
#: CSS pixels per inch of a figure: the browser's own 96 would shrink fonts below their point size.
CSS_PX_PER_INCH = 100
#: Device pixels per CSS pixel of every picture: 2, as on a high-DPI ("retina") screen.
DENSITY = 2
#: A figure this wide spans the column exactly.
COLUMN_INCHES = COLUMN_PX / CSS_PX_PER_INCH

#: The same optimiser is drawn in the same colour throughout the book.
OPTIMISER_COLORS = {
    "gd": "#1f77b4",        # plain gradient descent / SGD
    "sgd": "#1f77b4",
    "momentum": "#d62728",
    "adagrad": "#2ca02c",
    "rmsprop": "#9467bd",
    "adam": "#ff7f0e",
    "adam_warmup": "#8c564b",
}

#: Roles that recur in figures: training vs validation curves, data vs model.
ROLE_COLORS = {
    "train": "#1f77b4",
    "validation": "#ff7f0e",
    "data": "#444444",
    "model": "#d62728",
    "target": "#2ca02c",
}

BOOK_STYLE = {
    "figure.figsize": (6.0, 3.6),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "savefig.bbox": "tight",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "font.size": 10,
    "image.cmap": "viridis",
}


def use_book_style():
    """Apply the book's matplotlib style (call once per notebook)."""
    plt.rcParams.update(BOOK_STYLE)


def frame_png(fig, colours=256):
    """The whole figure at its own dpi as PNG bytes (a demo frame), drawn directly on an Agg canvas,
    so ``savefig``'s rcParams (``savefig.bbox``) never crop it.

    Demo frames are drawn at :data:`DENSITY` device pixels per CSS pixel, four times the pixels of
    a 1× picture. A book page embeds every frame of its demos, so there they are palettes of at
    most ``colours`` colours (as small as a 1× picture: flat fills, lines and anti-aliased text need
    far fewer than 256). A live demo sends one frame per slider move from the kernel beside it, so
    ``colours=None`` keeps every pixel as drawn and compresses it the quickest way (three times the
    bytes, half the time of finding a palette).
    """
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgba = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    if colours is None:
        return _quick_png(rgba)
    buffer = io.BytesIO()   # a figure is opaque: RGB, so the palette has no transparency
    rgba.convert("RGB").quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(buffer, format="png")
    return buffer.getvalue()


def _quick_png(picture):
    """An opaque picture as an RGB PNG: no row filter, zlib's quickest level (Pillow tries every
    row filter on RGB, which takes three times as long)."""
    width, height = picture.size
    rows = np.empty((height, 1 + 3 * width), np.uint8)
    rows[:, 0] = 0                                              # each row's filter: none
    rows[:, 1:] = np.frombuffer(picture.tobytes("raw", "RGB"), np.uint8).reshape(height, -1)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)   # 8-bit RGB
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 1))
            + chunk(b"IEND", b""))
