"""Every chapter's prompts: no line of an exercise's solution appears in the cells a student reads before it.

One rule for every exercise of every chapter (a chapter's own test file adds what only it can state, such as
a formula worked out). A solution line that the stub also has (the signature, the docstring) does not count.
"""
import re

import nbformat
import pytest

from conftest import REPO
from course_utils.exercises.registry import chapter_exercises, chapter_notebooks


def tagged(cell, tag):
    return tag in cell.metadata.get("tags", [])


def defines(cell, name):
    return re.search(rf"^(def )?{name}\b", cell.source, re.M) is not None


@pytest.mark.parametrize("chapter", list(chapter_notebooks()))
def test_no_line_of_a_solution_appears_above_its_exercise(chapter):
    cells = nbformat.read(REPO / "notebooks" / f"{chapter_notebooks()[chapter]}.ipynb", as_version=4).cells
    for exercise in chapter_exercises(chapter):
        [stub] = [i for i, cell in enumerate(cells) if tagged(cell, "exercise") and defines(cell, exercise.name)]
        [solution] = [cell for cell in cells if tagged(cell, "solution") and exercise.name in cell.source
                      and cells.index(cell) > stub]
        shared = {line.strip() for line in cells[stub].source.splitlines()}
        lines = [line.strip() for line in solution.source.splitlines()
                 if line.strip() and line.strip() not in shared and not line.strip().startswith(("#", '"""'))]
        above = "\n".join(cell.source for cell in cells[:stub] if not tagged(cell, "solution"))
        shown = [line for line in lines if line in above]
        assert lines and not shown, f"{exercise.id}: the cells above its exercise show {shown}"
