"""Release: the student notebooks keep nothing of a solution and mark the exercise cells."""
import base64
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output

from course_utils.exercises.registry import chapter_exercises, chapter_notebooks
from course_utils.exercises.release import ReleaseError, release
from grading_fixtures import NAMES, SOLUTIONS, instructor_notebook, write

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_NAME = "00_training_recipe.ipynb"


def solution_lines():
    return [line.strip() for source in SOLUTIONS.values() for line in source.splitlines()[1:]]


def executed_instructor_notebook():
    """The fixture notebook as it looks after a run, with solution text planted wherever a file can hold it:
    outputs of the solution and check cells, their metadata, and the notebook's metadata."""
    notebook = instructor_notebook()
    for count, cell in enumerate(notebook.cells, start=1):
        if cell.cell_type != "code":
            continue
        cell.execution_count = count
        tags = cell.metadata.get("tags", [])
        if "solution" in tags:
            cell.outputs = [new_output("stream", name="stdout", text=cell.source)]
            cell.metadata["instructor"] = {"answer": cell.source}
        if "check" in tags:
            cell.outputs = [new_output("stream", name="stdout", text="✔ passed\n" + SOLUTIONS["hard_sigmoid"])]
            cell.metadata["scratch"] = SOLUTIONS["sigmoid_model"]
    notebook.metadata["instructor_notes"] = "\n".join(SOLUTIONS.values())
    notebook.cells.append(new_code_cell("1 + 1", execution_count=99, outputs=[
        new_output("execute_result", data={"text/plain": "2"}, execution_count=99)]))
    return notebook


@pytest.fixture()
def released(tmp_path):
    source = write(executed_instructor_notebook(), tmp_path / "notebooks" / NOTEBOOK_NAME)
    [target] = release([source], tmp_path / "release")
    return target


def test_no_solution_source_survives_anywhere_in_the_released_file(released):
    text = released.read_text()
    decoded = json.dumps(json.loads(text), ensure_ascii=False)
    survivors = [line for line in solution_lines() if line in text or line in decoded]
    assert survivors == []


def test_solution_cells_are_removed_and_the_rest_kept_in_order(released):
    notebook = nbformat.read(released, as_version=4)
    kinds = [tuple(cell.metadata.get("tags", [])) for cell in notebook.cells if cell.cell_type == "code"]
    assert ("solution", "remove-cell") not in kinds
    assert kinds == [()] + [("exercise",), ("check",)] * len(NAMES) + [()]


def test_outputs_of_exercise_and_check_cells_are_cleared_and_counts_reset(released):
    notebook = nbformat.read(released, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is None for cell in code)
    assert all(cell.outputs == [] for cell in code if {"exercise", "check"} & set(cell.metadata.get("tags", [])))
    assert code[-1].outputs[0]["data"]["text/plain"] == "2" and code[-1].outputs[0]["execution_count"] is None


def test_exercise_and_check_cells_are_marked_and_check_cells_locked(released):
    notebook = nbformat.read(released, as_version=4)
    exercises = [cell.metadata for cell in notebook.cells if "exercise" in cell.metadata.get("tags", [])]
    checks = [cell.metadata for cell in notebook.cells if "check" in cell.metadata.get("tags", [])]
    ids = [f"recipe.{name}" for name in NAMES]
    assert [metadata["course"]["exercise"] for metadata in exercises] == ids
    assert [(m["course"]["check"], m["editable"], m["deletable"]) for m in checks] == [(i, False, False) for i in ids]
    assert notebook.metadata["course"] == {"chapter": "recipe", "released": True, "exercises": ids}
    assert set(notebook.metadata) == {"kernelspec", "course"}
    nbformat.validate(notebook)


def test_release_refuses_to_overwrite_a_student_file_unless_forced(tmp_path, released):
    released.write_text("a student's work")
    with pytest.raises(ReleaseError, match="never overwrites"):
        release([tmp_path / "notebooks" / NOTEBOOK_NAME], released.parent)
    assert released.read_text() == "a student's work"
    release([tmp_path / "notebooks" / NOTEBOOK_NAME], released.parent, force=True)
    assert nbformat.read(released, as_version=4).metadata["course"]["released"]


#: The cell number (1-based, as errors name cells) of a cell appended to the instructor notebook.
APPENDED_CELL = len(instructor_notebook().cells) + 1


def broken(change):
    notebook = instructor_notebook()
    change(notebook.cells)
    return notebook


def _code(cells, tag):
    return [cell for cell in cells if tag in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("notebook, words", [
    (broken(lambda cells: cells.remove(_code(cells, "check")[1])), "cell 8: an `exercise` cell (defining "
                                                                    "sigmoid_model) with no matching `check` cell"),
    (broken(lambda cells: _code(cells, "solution")[0].metadata.update(tags=["solution"])),
     "cell 5: tagged `solution` but not `remove-cell`"),
    (broken(lambda cells: setattr(_code(cells, "check")[0], "source", 'check("recipe.hard_sigmod", hard_sigmoid)')),
     "checks 'recipe.hard_sigmod', which no chapter declares"),
    (broken(lambda cells: cells.append(new_code_cell("print(1)", outputs=[new_output(
        "stream", name="stdout", text=SOLUTIONS["updates_per_epoch"])]))),
     "a line of a solution, 'full_batches, leftover_examples = divmod(n_examples, batch_size)', is still in "
     f"cell {APPENDED_CELL}, at outputs[0].text"),
    (broken(lambda cells: cells.append(new_markdown_cell("![plot](attachment:notes.txt)", attachments={
        "notes.txt": {"text/plain": base64.b64encode(SOLUTIONS["hard_sigmoid"].encode()).decode()}}))),
     f"is still in cell {APPENDED_CELL}, at attachments.notes.txt.text/plain"),
])
def test_release_fails_clearly_and_writes_nothing(tmp_path, notebook, words):
    source = write(notebook, tmp_path / "notebooks" / NOTEBOOK_NAME)
    with pytest.raises(ReleaseError) as raised:
        release([source], tmp_path / "release")
    assert words in str(raised.value)
    assert not (tmp_path / "release").exists()


def test_the_command_line_releases_then_refuses_to_overwrite(tmp_path):
    source = write(instructor_notebook(), tmp_path / "notebooks" / NOTEBOOK_NAME)
    command = [sys.executable, "-m", "course_utils", "release", "--out", "release/"]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True)
    assert (first.returncode, first.stdout.strip()) == (0, f"released release/{NOTEBOOK_NAME}")
    assert again.returncode == 1 and "pass --force to overwrite" in again.stderr and "Traceback" not in again.stderr
    assert source.exists()


def test_reading_a_notebook_compiles_no_grammar():
    """nbformat validates notebooks with jsonschema, which imports the format checkers installed beside it.
    From 4.24 on, jsonschema's checkers (the set JupyterLab asks for) include rfc3987-syntax, which compiles an
    Earley grammar with lark as it is imported: about 2 s in every process that reads a notebook (each
    release, workspace and grade command, JupyterLab's server, the book build). requirements.txt pins
    jsonschema 4.23.0, whose checkers compile nothing."""
    code = "import sys; import course_utils.exercises.release; print('nbformat' in sys.modules, 'lark' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["True", "False"], done.stdout + done.stderr


def test_the_released_notebook_runs_and_every_check_says_not_attempted(released):
    from nbclient import NotebookClient

    notebook = nbformat.read(released, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(released.parent)}}
                   ).execute()
    checks = [cell for cell in notebook.cells if "check" in cell.metadata.get("tags", [])]
    assert [len(cell.outputs) for cell in checks] == [1] * len(NAMES)
    assert all(cell.outputs[0]["text"].startswith("… recipe.") and "not attempted yet" in cell.outputs[0]["text"]
               for cell in checks)


# ---------------------------------------------------------------------------- the course's own chapters

CHAPTERS = sorted((REPO / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK_CHAPTER = {notebook: chapter for chapter, notebook in chapter_notebooks().items()}


def test_every_chapter_notebook_has_exercises_declared_for_it():
    assert len(CHAPTERS) == 7, [p.name for p in CHAPTERS]
    assert sorted(p.stem for p in CHAPTERS) == sorted(NOTEBOOK_CHAPTER)


def _tagged(notebook, tag):
    return [cell.source for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_releases_with_no_line_of_its_solutions(tmp_path, path):
    """Every line of a solution that appears nowhere else in the instructor's notebook (not
    the signature and docstring it shares with its stub, nor a library listing printed by
    another cell) is absent from the released file, and each exercise keeps its check cell."""
    [student_copy] = release([path], tmp_path / "release")
    text = student_copy.read_text()
    decoded = json.dumps(json.loads(text), ensure_ascii=False)
    instructor = nbformat.read(path, as_version=4)
    others = nbformat.writes(nbformat.v4.new_notebook(cells=[  # every other cell, outputs included
        cell for cell in instructor.cells if "solution" not in cell.metadata.get("tags", [])]))
    solution_lines = {line.strip() for source in _tagged(instructor, "solution") for line in source.splitlines()
                      if line.strip() and line.strip() not in others}
    assert solution_lines, f"{path.name}: no solution cells"
    assert [line for line in solution_lines if line in text or line in decoded] == []
    exercises = chapter_exercises(NOTEBOOK_CHAPTER[path.stem])
    released = nbformat.read(student_copy, as_version=4)
    assert _tagged(released, "check") == [f'check("{e.id}", {e.name})' for e in exercises]


@pytest.fixture(scope="module")
def graded_chapters(tmp_path_factory):
    """The grader's JSON report of every instructor copy, graded as submissions (two at a time)."""
    out = tmp_path_factory.mktemp("graded")
    done = subprocess.run([sys.executable, "-m", "course_utils", "grade", *map(str, CHAPTERS), "--out", "grades.csv",
                           "--feedback-dir", "feedback", "--sandbox", "bwrap", "--jobs", "2"],
                          cwd=out, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    return {path.stem: json.loads((out / "feedback" / f"{path.stem}.json").read_text()) for path in CHAPTERS}


@pytest.mark.grading
@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.stem)
def test_instructor_copy_grades_fully_correct(graded_chapters, path):
    report = graded_chapters[path.stem]
    full = sum(e.points for e in chapter_exercises(NOTEBOOK_CHAPTER[path.stem]))
    assert (report["total"], report["max_total"]) == (full, full), report["exercises"]


def test_reveal_cells_keep_their_code_and_lose_their_outputs(tmp_path):
    notebook = executed_instructor_notebook()
    listing = new_code_cell("print(inspect.getsource(recipe.hard_sigmoid))", execution_count=7, outputs=[
        new_output("stream", name="stdout", text="def hard_sigmoid(x, c, b, w):  # the library's answer\n")])
    listing.metadata["tags"] = ["reveal"]
    notebook.cells.append(listing)
    [target] = release([write(notebook, tmp_path / "notebooks" / NOTEBOOK_NAME)], tmp_path / "release")
    [kept] = _tagged(nbformat.read(target, as_version=4), "reveal")
    assert kept == listing.source and "the library's answer" not in target.read_text()


#: Listings of the library's version of an exercise's answer: each must come after that exercise's check.
ANSWER_LISTINGS = [
    ("02_batch_and_momentum", "momentum.momentum_step", "optim.Momentum.step"),
    ("03_adaptive_learning_rate", "adaptive.rmsprop_step", "optim.RMSProp.step"),
    ("04_classification", "classification.stable_softmax", "cl.softmax"),
    ("05_batch_normalization", "batchnorm.batch_norm_eval", "batchnorm.BatchNorm1d.forward"),
]


@pytest.mark.parametrize("stem, exercise, listed", ANSWER_LISTINGS, ids=[stem for stem, _, _ in ANSWER_LISTINGS])
def test_a_listing_of_an_answer_comes_after_its_check_and_is_a_reveal_cell(stem, exercise, listed):
    cells = nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4).cells
    listings = [i for i, cell in enumerate(cells) if f"inspect.getsource({listed})" in cell.source]
    [check_at] = [i for i, cell in enumerate(cells) if f'check("{exercise}"' in cell.source]
    assert listings and all(i > check_at and "reveal" in cells[i].metadata.get("tags", []) for i in listings)


def test_every_reveal_cell_follows_a_check():
    for path in CHAPTERS:
        checks_seen = 0
        for cell in nbformat.read(path, as_version=4).cells:
            checks_seen += "check" in cell.metadata.get("tags", [])
            if "reveal" in cell.metadata.get("tags", []):
                assert checks_seen, f"{path.name}: a reveal cell before any exercise's check"
