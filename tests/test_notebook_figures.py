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
import json
import re
from pathlib import Path

import pytest

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
