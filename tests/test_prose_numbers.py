"""No chapter types into its prose a number that one of its cells computes.

A number a cell computes changes with the machine, the seed and the next edit of the
experiment; typed into a sentence it goes stale silently. Such numbers are inserted by the
cell that computes them, with MyST-NB's ``glue`` (``{glue:text}`name:.3f` `` in the markdown).

The test reads each notebook's stored outputs and flags a number in a markdown cell when
some output shows the same value (to the prose's precision, or as a percentage), unless the
number is also typed in a code cell (then it is a setting the text repeats, like η = 0.4) or
is a constant of the notes or the literature listed in ``CONSTANTS`` with its source.
"""
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))

# Numbers in prose that are not computed by the chapter, with where they come from.
CONSTANTS = {
    "00_training_recipe": {},
    "01_critical_points": {},
    "02_batch_and_momentum": {},
    "03_adaptive_learning_rate": {},
    "04_classification": {},
    "05_batch_normalization": {},
    "06_hw02_phoneme_classification": {
        # The homework's Kaggle lines on the real libriphone data (the HW02 slides, lee2022hw02).
        "0.45797": "simple baseline", "0.69747": "medium baseline", "0.75028": "strong baseline",
        "0.82324": "boss baseline",
        # The homework's report question: 6 hidden layers of 1024 against 2 of 1700 (the HW02 slides).
        "1700": "report question's shallow width",
    },
}

PROSE_NUMBER = re.compile(r"(?<![\w.^_{])(\d+\.\d+|\d{1,3}(?:,\d{3})+|\d{3,})(?![\w.]\d)")
OUTPUT_NUMBER = re.compile(r"[-−]?(?:\d[\d,]*\.\d+|\d[\d,]*)(?:[eE][-+]?\d+)?")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`[^`]*`")
SECTION = re.compile(r"^#+ *\d+(?:\.\d+)*|\b[Ss]ections? \d+(?:\.\d+)*|§ ?\d+(?:\.\d+)*", re.MULTILINE)
LINK = re.compile(r"\]\([^)]*\)|<[^>]*>|https?://\S+|\{cite[tp]?\}`[^`]*`")


def source(cell):
    text = cell.get("source", "")
    return text if isinstance(text, str) else "".join(text)


def output_values(cell):
    """Every number the cell's stored text outputs show, as floats."""
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(source({"source": output.get("text", "")}))
        for key, value in output.get("data", {}).items():
            if not key.startswith("image/"):
                texts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list)
                             else json.dumps(value))
    values = set()
    for match in OUTPUT_NUMBER.finditer("\n".join(texts)):
        try:
            values.add(float(match.group().replace(",", "").replace("−", "-")))
        except ValueError:
            pass
    return values


def shown_as(prose, value):
    """Whether ``value`` rounds to the prose number ``prose`` (as it is, or as a percentage)."""
    digits = len(prose.split(".")[1]) if "." in prose else 0
    target = float(prose.replace(",", ""))
    for candidate in (value, 100 * value):
        if round(abs(candidate), digits) == target and (digits > 0 or abs(candidate) >= 100):
            return True
    return False


def typed_numbers(notebook):
    """(cell index, number) for each prose number that a code cell's output shows."""
    cells = notebook["cells"]
    code = "\n".join(source(cell) for cell in cells if cell["cell_type"] == "code")
    values = set().union(*(output_values(cell) for cell in cells if cell["cell_type"] == "code"))
    found = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] != "markdown":
            continue
        text = SECTION.sub(" ", LINK.sub(" ", GLUE_ROLE.sub(" ", source(cell))))
        for match in PROSE_NUMBER.finditer(text):
            prose = match.group()
            if re.search(rf"(?<![\w.]){re.escape(prose)}(?![\w]|\.\d)", code):
                continue
            if any(shown_as(prose, value) for value in values):
                found.append((index, prose))
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_no_computed_number_is_typed_into_prose(path):
    notebook = json.loads(path.read_text())
    allowed = CONSTANTS[path.stem]
    typed = [(index, number) for index, number in typed_numbers(notebook) if number not in allowed]
    assert not typed, (
        f"{path.name}: these numbers in markdown cells are computed by a cell; insert them with "
        f"glue instead of typing them (or list a constant of the notes in CONSTANTS with its source):\n"
        + "\n".join(f"  cell {index}: {number}" for index, number in typed))


def test_the_check_finds_a_typed_number():
    notebook = {"cells": [
        {"cell_type": "code", "source": "acc = run()\nprint(f'{acc:.4f}')", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "0.97634\n"}]},
        {"cell_type": "markdown", "source": "The run reaches 0.976 (97.6 %), with η = 0.4."},
        {"cell_type": "markdown", "source": "## 0.976 as a heading's number\nGlued: {glue:text}`acc:.3f`, section 0.976."},
    ]}
    assert typed_numbers(notebook) == [(1, "0.976"), (1, "97.6")]


def test_a_setting_typed_in_code_is_not_flagged():
    notebook = {"cells": [
        {"cell_type": "code", "source": "run(lr=0.4)", "outputs": [
            {"output_type": "stream", "name": "stdout", "text": "lr 0.4 -> loss 0.125\n"}]},
        {"cell_type": "markdown", "source": "At η = 0.4 the loss falls."},
    ]}
    assert typed_numbers(notebook) == []


def test_every_chapter_is_listed():
    assert sorted(CONSTANTS) == [path.stem for path in NOTEBOOKS]


GLUE_KEY = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)")
GLUE_CALL = re.compile(r"""\bglue\(\s*["']([^"']+)["']""")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_glued_name_is_glued_by_a_cell(path):
    """A ``{glue}`` role whose name no cell glues renders as an error in the book."""
    cells = json.loads(path.read_text())["cells"]
    used = {name.strip() for cell in cells if cell["cell_type"] == "markdown"
            for name in GLUE_KEY.findall(source(cell))}
    glued = {name for cell in cells if cell["cell_type"] == "code" for name in GLUE_CALL.findall(source(cell))}
    assert used <= glued, f"{path.name}: the prose uses {sorted(used - glued)}, which no code cell glues"
