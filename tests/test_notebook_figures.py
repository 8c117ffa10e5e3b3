"""Every code cell of a chapter that draws a figure stores the figure.

The book is built from the notebooks' stored outputs, so a figure that was not stored is
missing from the page, with nothing else to show for it. That happens silently when
something switches pyplot's backend inside the kernel (``matplotlib.use("Agg")`` in a
library call: every later ``plt.show()`` then draws nothing), or when a cell's figure was
closed before it was shown.

The check reads the stored notebooks and executes nothing. A cell draws a figure when its
code calls ``plt.show()``, or makes a pyplot figure (``plt.subplots``, ``plt.figure``,
``plt.plot``, …) without closing it; such a cell must store an ``image/*`` output.
"""
import ast
import base64
import json
import re
import struct
from pathlib import Path

import pytest

from course_utils.plotting import BOOK_STYLE, COLUMN_INCHES, COLUMN_PX

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("0*.ipynb"))

# pyplot functions that make or draw into the current figure (plt.show is handled on its own).
FIGURE_MAKERS = {
    "subplots", "subplot", "subplot_mosaic", "figure", "axes", "plot", "imshow", "matshow", "scatter", "hist",
    "bar", "barh", "contour", "contourf", "pcolormesh", "fill_between", "errorbar", "semilogy", "loglog", "step",
}
MAGIC = re.compile(r"^\s*[%!].*$", re.MULTILINE)


def source(cell):
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def pyplot_calls(code):
    """The names of the ``plt.<name>(...)`` calls in ``code`` (IPython magics ignored)."""
    tree = ast.parse(MAGIC.sub("", code))
    return {node.func.attr for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "plt"}


def draws_a_figure(code):
    calls = pyplot_calls(code)
    return "show" in calls or (bool(calls & FIGURE_MAKERS) and "close" not in calls)


def stores_an_image(cell):
    return any(key.startswith("image/") for output in cell.get("outputs", []) for key in output.get("data", {}))


def figures_not_stored(notebook):
    """Indices of the code cells that draw a figure but store no image."""
    return [index for index, cell in enumerate(notebook["cells"])
            if cell["cell_type"] == "code" and draws_a_figure(source(cell)) and not stores_an_image(cell)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_cell_that_draws_a_figure_stores_it(path):
    missing = figures_not_stored(json.loads(path.read_text()))
    assert not missing, (f"{path.name}: cells {missing} draw a figure but store no image output (was pyplot's "
                         f"backend switched in the kernel, or the outputs stored before the cell drew?)")


def test_the_rule_finds_a_figure_that_was_not_stored():
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"}, "metadata": {}}
    text = {"output_type": "stream", "name": "stdout", "text": "0.5\n"}
    notebook = {"cells": [
        {"cell_type": "code", "source": "fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()", "outputs": [png]},
        {"cell_type": "code", "source": "fig, ax = plt.subplots()\nax.plot([1, 2])\nplt.show()", "outputs": []},
        {"cell_type": "code", "source": "%matplotlib inline\nplt.plot([1, 2]);", "outputs": [text]},
        {"cell_type": "code", "source": "fig = plt.figure()\nfig.savefig('a.png')\nplt.close(fig)", "outputs": []},
        {"cell_type": "code", "source": "print(plt.rcParams['figure.dpi'])", "outputs": [text]},
        {"cell_type": "markdown", "source": "plt.show()"},
    ]}
    assert figures_not_stored(notebook) == [1, 2]


# --- Figures fit the book's column ------------------------------------------------------------------

#: A stored figure may be the column's width plus savefig's padding on both sides (bbox "tight").
WIDEST_FIGURE_PX = COLUMN_PX + 2 * round(BOOK_STYLE.get("savefig.pad_inches", 0.1) * BOOK_STYLE["figure.dpi"])


def png_width(data):
    return struct.unpack(">I", base64.b64decode(data)[16:20])[0]


def figures_wider_than_the_column(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return [(i, png_width(output["data"]["image/png"])) for i, cell in enumerate(cells)
            for output in cell.get("outputs", []) if "image/png" in output.get("data", {})
            if png_width(output["data"]["image/png"]) > WIDEST_FIGURE_PX]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_stored_figure_fits_the_column(path):
    """A figure wider than the 688 px column is shrunk to fit it, and its text with it (7 px legends)."""
    wide = figures_wider_than_the_column(path)
    assert not wide, (f"{path.name}: figures wider than {WIDEST_FIGURE_PX} px (cell, width): {wide}; "
                      f"make them at most {COLUMN_INCHES:g} in wide (figsize) and use layout='constrained'")
