"""Grading speed: what the sandboxed grader costs over running a notebook, and what --jobs buys.

- **grading overhead (chapter 0, correct submission)**: the wall time of
  ``python -m course_utils grade notebooks/00_training_recipe.ipynb --jobs 1``
  (the instructor copy is a fully correct submission; the command's own start,
  the sandbox, the student's process, its cells and every hidden case
  included), divided by the wall time of plainly executing the same notebook
  with nbclient in a fresh kernel (kernel start included), as a student runs it.
  Target ≤ 2×.
- **--jobs 2 vs --jobs 1, 20 submissions**: twenty correct submissions of
  chapter 0's exercises (the chapter's exercise, solution and check cells after
  one import cell, so that twenty of them grade in minutes, not a quarter of an
  hour), graded with ``--jobs 1`` and then with ``--jobs 2``; the value is the
  ratio of the two wall times. Target ≤ 0.65× on 2 cores.

Each grading run must give every submission 4/4, or the row fails: a fast
grader that grades wrongly measures nothing.
"""
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
CHAPTER_0 = REPO / "notebooks" / "00_training_recipe.ipynb"
CLASS_SIZE = 20


def plain_seconds(notebook):
    """Wall time of running the notebook top to bottom in a fresh kernel, kernel start included."""
    from nbclient import NotebookClient

    started = time.perf_counter()
    NotebookClient(nbformat.read(notebook, as_version=4), timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(notebook.parent)}}).execute()
    return time.perf_counter() - started


def grade_seconds(paths, jobs, folder):
    """Wall time of the grade command on ``paths``; raises if any submission misses a point."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "course_utils", "grade", *map(str, paths), "--jobs", str(jobs),
                           "--out", str(folder / "grades.csv"), "--feedback-dir", str(folder / "feedback")],
                          cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    rows = list(csv.DictReader(open(folder / "grades.csv"))) if done.returncode == 0 else []
    if done.returncode != 0 or not rows or any(row["total"] != row["max_total"] for row in rows):
        raise RuntimeError(f"grading a correct submission did not give full points:\n{done.stdout}{done.stderr}")
    return seconds


def exercises_only(notebook):
    """The notebook cut down to its exercises: an import cell, then every exercise, solution and check cell."""
    instructor = nbformat.read(notebook, as_version=4)
    kept = [cell for cell in instructor.cells
            if {"exercise", "solution", "check"} & set(cell.metadata.get("tags", []))]
    imports = new_code_cell("import math\nimport torch\nfrom course_utils.exercises import check")
    return new_notebook(cells=[imports] + kept)


def run(notebook=CHAPTER_0):
    if not notebook.exists():
        raise FileNotFoundError(f"{notebook} is missing: the grading benchmark runs on chapter 0's notebook")
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as temporary:
        folder = Path(temporary)
        (folder / "snapshot").mkdir()
        notebook = Path(shutil.copy(notebook, folder / "snapshot"))   # both runs read the same bytes
        plain = plain_seconds(notebook)
        graded = grade_seconds([notebook], jobs=1, folder=folder / "one")
        short = exercises_only(notebook)
        for number in range(CLASS_SIZE):
            (folder / "class" / f"student{number:02d}").mkdir(parents=True)
            nbformat.write(short, folder / "class" / f"student{number:02d}" / notebook.name)
        serial = grade_seconds([folder / "class"], jobs=1, folder=folder / "serial")
        parallel = grade_seconds([folder / "class"], jobs=2, folder=folder / "parallel")
    return [
        {"benchmark": "plain execution of chapter 0 (nbclient, fresh kernel)", "value": plain, "unit": "s",
         "target": "—"},
        {"benchmark": "grading chapter 0 (correct submission, --jobs 1)", "value": graded, "unit": "s",
         "target": "—"},
        {"benchmark": "grading overhead (chapter 0, correct submission)", "value": graded / plain,
         "unit": "× plain execution", "target": "≤ 2×"},
        {"benchmark": f"grading {CLASS_SIZE} chapter-0 exercise submissions, --jobs 1", "value": serial, "unit": "s",
         "target": "—"},
        {"benchmark": f"grading {CLASS_SIZE} chapter-0 exercise submissions, --jobs 2 vs --jobs 1",
         "value": parallel / serial,
         "unit": "× --jobs 1", "target": "≤ 0.65×"},
    ]

if __name__ == "__main__":
    for row in run(Path(sys.argv[1]) if len(sys.argv) > 1 else CHAPTER_0):
        print(row)
