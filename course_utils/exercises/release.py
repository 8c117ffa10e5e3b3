"""Release: the student notebooks, written from the instructor's copies in ``notebooks/``.

A released notebook has

- no ``solution`` cell (and nothing of one anywhere: release checks every
  string left in the file, outputs, attachments and metadata included, and
  refuses to write a file where a line of a solution survives);
- no outputs under ``exercise`` and ``check`` cells, nor under ``reveal`` cells (a listing of the
  library's version of an exercise's answer, placed after its check: the student runs it once
  their own answer passes), and no execution counts;
- cell metadata reduced to the tags and the display flags, with the exercise
  cells marked (``metadata.course.exercise`` = the id) and the check cells
  marked and locked (``editable``/``deletable`` false);
- notebook metadata reduced to the kernel and language, plus
  ``metadata.course`` (chapter, exercise ids, ``released``).

Release refuses, with the reason, a notebook whose ``exercise`` cell has no
matching ``check`` cell, whose ``solution`` cell is not also tagged
``remove-cell``, or whose ``check`` cell names an unknown exercise; and it never
overwrites a file that already exists unless told to (``force``).
"""
import base64
import copy
from pathlib import Path

import nbformat

import course_utils

from .cells import check_ids, defined_names, tags
from .registry import all_exercises, chapter_of_notebook

#: Cells whose outputs a student copy leaves out: the answer stubs, the checks, and the listings
#: of the library's version of an answer (shown after the check, once the student runs them).
CLEARED_TAGS = {"exercise", "check", "reveal"}
KEPT_CELL_METADATA = ("tags", "jupyter", "collapsed", "scrolled", "editable", "deletable")
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info")
#: Solution lines shorter than this (``return y``, ``pass``) are too common to count as a leak.
MIN_SECRET_LINE = 12


class ReleaseError(Exception):
    """A notebook that cannot be released as it is; the message names each problem and its fix."""


def problems(notebook, name):
    """Every reason this instructor notebook cannot be released, one sentence each."""
    found, known = [], all_exercises()
    for number, cell in enumerate(notebook.cells, start=1):
        cell_tags = tags(cell)
        if cell_tags & {"exercise", "solution", "check"} and cell.cell_type != "code":
            found.append(f"{name}, cell {number}: only code cells can be tagged exercise, solution or check")
        if "solution" in cell_tags and "remove-cell" not in cell_tags:
            found.append(f"{name}, cell {number}: tagged `solution` but not `remove-cell`; add the tag `remove-cell` "
                         f"so that the book does not show the solution")
        if "check" in cell_tags:
            ids = check_ids(cell.source)
            if not ids:
                found.append(f'{name}, cell {number}: tagged `check` but calls no check("<chapter>.<name>", answer)')
            for unknown in [exercise_id for exercise_id in ids if exercise_id not in known]:
                found.append(f"{name}, cell {number}: checks {unknown!r}, which no chapter declares "
                             f"(declared: {', '.join(known)})")
        if "exercise" in cell_tags and not _matching_check(notebook.cells, number - 1):
            defined = ", ".join(sorted(defined_names(cell.source))) or "nothing"
            found.append(f"{name}, cell {number}: an `exercise` cell (defining {defined}) with no matching `check` "
                         f"cell after it; add a cell tagged `check` that calls check(\"<chapter>.<name>\", <name>)")
    return found


def _matching_check(cells, index):
    """The id checked for the exercise cell at ``index``: a later check cell, before the next exercise cell."""
    names = defined_names(cells[index].source)
    for cell in cells[index + 1:]:
        if "exercise" in tags(cell):
            return None
        if "check" in tags(cell):
            for exercise_id in check_ids(cell.source):
                if exercise_id.partition(".")[2] in names:
                    return exercise_id
    return None


def student_copy(notebook, chapter):
    """The released notebook (a new object): solutions removed, outputs of exercises cleared, cells marked."""
    released = copy.deepcopy(notebook)
    released.cells = []
    for index, cell in enumerate(notebook.cells):
        cell_tags = tags(cell)
        if "solution" in cell_tags:
            continue
        cell = copy.deepcopy(cell)
        cell.metadata = {key: value for key, value in cell.metadata.items() if key in KEPT_CELL_METADATA}
        if cell.cell_type == "code":
            cell.execution_count = None
            cell.outputs = [] if cell_tags & CLEARED_TAGS else [_without_count(o) for o in cell.outputs]
        if "exercise" in cell_tags:
            cell.metadata["course"] = {"exercise": _matching_check(notebook.cells, index)}
        if "check" in cell_tags:
            checked = (check_ids(cell.source) or [None])[0]
            cell.metadata.update(editable=False, deletable=False, course={"check": checked})
        released.cells.append(cell)
    released.metadata = {key: value for key, value in notebook.metadata.items() if key in KEPT_NOTEBOOK_METADATA}
    released.metadata["course"] = {"chapter": chapter, "released": True, "exercises": [
        cell.metadata["course"]["exercise"] for cell in released.cells if "exercise" in tags(cell)]}
    return released


def _without_count(output):
    if "execution_count" in output:
        output = copy.deepcopy(output)
        output.execution_count = None
    return output


def secret_lines(notebook):
    """Lines of solution cells that appear nowhere a student may see them (other cells, course_utils)."""
    public = {line.strip() for cell in notebook.cells if "solution" not in tags(cell)
              for line in cell.source.splitlines()}
    for path in Path(course_utils.__file__).parent.rglob("*.py"):
        public.update(line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return {line.strip() for cell in notebook.cells if "solution" in tags(cell) for line in cell.source.splitlines()
            if len(line.strip()) >= MIN_SECRET_LINE and line.strip() not in public}


def leaks(released, kept, secrets, name):
    """Where a secret line survives in the released notebook: any string, decoded attachments included.

    ``kept`` holds the instructor-notebook number of each released cell, so a message names the cell
    the instructor has to fix.
    """
    found = []
    places = [(f"cell {number}", cell) for number, cell in zip(kept, released.cells)]
    for place, node in places + [("the notebook's metadata", released.metadata)]:
        for where, text in _strings(node, ""):
            leaked = sorted(line for line in secrets if line in text)
            if leaked:
                found.append(f"{name}: a line of a solution, {leaked[0]!r}, is still in {place}, at "
                             f"{where.lstrip('.')}; clear that output or metadata in the instructor notebook, "
                             f"then release again")
    return found


def _strings(node, where, attachment=False):
    """(where, text) for every string in a notebook; an attachment's base64 data is also decoded."""
    if isinstance(node, str):
        yield where, node
        if attachment:
            try:
                yield where, base64.b64decode(node, validate=True).decode("utf-8", errors="ignore")
            except ValueError:
                pass
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key, where)
            yield from _strings(value, f"{where}.{key}", attachment or key == "attachments")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{where}[{index}]", attachment)


def release(notebooks, out, force=False):
    """Write the student copy of each notebook into ``out``; return the paths written.

    Raises ReleaseError (nothing written) when a notebook cannot be released or a target exists
    and ``force`` is false.
    """
    out = Path(out)
    targets = [out / Path(path).name for path in notebooks]
    existing = [str(target) for target in targets if target.exists()]
    if existing and not force:
        raise ReleaseError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}: a released "
                           f"notebook may hold a student's work, so release never overwrites one; choose another "
                           f"--out folder, or pass --force to overwrite")
    copies, found = [], []
    for path in map(Path, notebooks):
        try:
            notebook = nbformat.read(path, as_version=4)
        except Exception as error:   # missing, unreadable, not a notebook: say which file and why
            raise ReleaseError(f"cannot read {path} as a notebook: {error}") from None
        found += problems(notebook, path.name)
        released = student_copy(notebook, chapter_of_notebook(path.name))
        kept = [number for number, cell in enumerate(notebook.cells, start=1) if "solution" not in tags(cell)]
        found += leaks(released, kept, secret_lines(notebook), path.name)
        copies.append(released)
    if found:
        raise ReleaseError("cannot release:\n" + "\n".join(f"- {problem}" for problem in found))
    out.mkdir(parents=True, exist_ok=True)
    for released, target in zip(copies, targets):
        nbformat.validate(released)
        nbformat.write(released, target)
    return targets
