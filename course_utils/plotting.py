"""One figure style for the whole book.

Every chapter calls :func:`use_book_style` once. Colours are fixed per optimiser
(and per curve role) so that "Adam" is the same colour on every page.
"""
import io

import matplotlib.pyplot as plt

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


def figure_png(fig, dpi=None, bbox_inches="tight"):
    """Render a matplotlib figure to PNG bytes (used for live and static demo frames).

    Demo frames pass ``bbox_inches=None``: a tight box costs a second draw, and frames of one
    demo must all have the same size anyway.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi or fig.dpi, bbox_inches=bbox_inches)
    return buffer.getvalue()
