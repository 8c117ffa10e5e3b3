"""The book runs each chapter as a student would: without its solution cells.

The chapter notebooks in ``notebooks/`` are the instructor's copies: after every exercise
stub (tagged ``exercise``) comes the reference answer (tagged ``solution`` and
``remove-cell``), so that the stored outputs and the notebook tests show every reference
passing its check. Hiding that cell from the page is not enough: executed, it redefines the
stub's name, and the check cell under the stub then prints "✔ … correct on all N cases"
under a function that still raises ``NotImplementedError``. So the book reads every
notebook through :func:`read_notebook`, which drops the ``solution`` cells before anything
else sees the notebook. What is executed, what the execution cache is keyed on, and what
the page renders are then one and the same notebook, and each check cell shows what a
student sees before answering ("… <id>: not attempted yet").

``_config.yml`` names :func:`read_notebook` as MyST-NB's reader of ``.ipynb`` files
(``nb_custom_formats``); ``execute_parallel.py`` executes :func:`without_solutions` of each
notebook, so that the cache entries it writes are the ones the book build looks up.

A chapter's download button offers the notebook the student works in, not the instructor's:
Sphinx copies each page's source into ``_sources/`` for that button, and once the build is
done :func:`offer_student_copies` writes over each chapter's copy the student copy that
``make lab`` gives in the edition's language (``course_utils.exercises.workspace``: solutions
removed, as ``make release`` writes it, the markdown translated in a Chinese edition).
"""
import copy
import shutil
import tempfile
from pathlib import Path

import nbformat

SOLUTION_TAG = "solution"


def is_solution(cell):
    """Whether the cell holds a reference answer (tagged ``solution``)."""
    return SOLUTION_TAG in (cell.get("metadata", {}).get("tags") or [])


def without_solutions(notebook):
    """A copy of the notebook with its ``solution`` cells left out; every other cell, its
    source, metadata and outputs, stays as it is and in its order. The notebook given is
    not changed."""
    stripped = copy.deepcopy(notebook)
    stripped.cells = [cell for cell in stripped.cells if not is_solution(cell)]
    return stripped


def read_notebook(text):
    """MyST-NB's reader for ``.ipynb`` files in the book: the notebook without its solutions."""
    return without_solutions(nbformat.reads(text, as_version=4))


def offer_student_copies(app, exception):
    """Replace each chapter's notebook in ``_sources/`` (the download button's file) by its student copy."""
    if app.builder.format != "html":
        return
    from course_utils.exercises.workspace import WorkspaceError, workspace

    chapters = {doc: path for doc in app.env.found_docs if (path := Path(app.env.doc2path(doc))).suffix == ".ipynb"}
    language = app.config.language or "en"
    with tempfile.TemporaryDirectory(prefix="book-student-copies-") as scratch:
        try:
            workspace(scratch, sorted(chapters.values()), language=language,
                      locales=Path(app.srcdir) / "book" / "locales")
        except WorkspaceError as error:
            raise RuntimeError(f"cannot offer the student copies for download: {error}") from None
        for doc, path in chapters.items():
            target = Path(app.outdir) / "_sources" / f"{doc}{path.suffix}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(scratch) / path.name, target)


def setup(app):
    app.connect("build-finished", offer_student_copies)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
