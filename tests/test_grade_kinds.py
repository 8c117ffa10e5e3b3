"""The grader on every chapter's released notebook, with answers of every kind: right, wrong, untouched, typed.

Four students hand in every chapter, each starting from the released notebook (solutions removed):

- ``right`` answers every exercise with the library's reference (a function, or a value computed from
  ``problem(...)``): every point;
- ``wrong`` answers each exercise with its first declared mistake: no point, and the feedback says why;
- ``untouched`` hands in the stubs: every exercise "not attempted";
- ``typed`` types in, for each value exercise with a problem, the right number for the notebook's problem:
  the grader's problem is another, so it earns nothing, and the feedback says to compute it in code.

Only the exercise and check cells of each released notebook are kept (whole notebooks are graded by
test_release). The answers are written as a student's cell would compute them, importing the library's
reference or mistake (the grader's worker can import ``course_utils``), so the test follows every exercise
a chapter declares.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_utils.exercises.evaluate import expected_value
from course_utils.exercises.registry import chapter_exercises, chapter_notebooks
from course_utils.exercises.release import student_copy

pytestmark = pytest.mark.grading

REPO = Path(__file__).resolve().parents[1]
STUDENTS = ("right", "wrong", "untouched", "typed")


def _answer_source(exercise, student):
    """The exercise cell a student of this kind writes."""
    get = f"from course_utils.exercises import get_exercise as _get, problem as _problem\n_e = _get({exercise.id!r})\n"
    if student == "untouched":
        return None
    if student == "typed":
        if not (exercise.is_value and exercise.draw is not None):
            return None
        return f"{exercise.name} = {expected_value(exercise, exercise.visible_cases()[0])!r}"
    function = "_e.reference" if student == "right" else "_e.mistakes[0].answer"
    if not exercise.is_value:
        return get + f"{exercise.name} = {function}"
    arguments = f"_problem({exercise.id!r})" if exercise.draw is not None else ""
    return get + f"{exercise.name} = {function}({arguments})"


def _submission(notebook, chapter, student):
    """The released notebook with this student's answers; of its code cells only the exercises and checks are
    kept (the chapter's experiments would only make grading slow: test_release grades whole notebooks)."""
    released = student_copy(notebook, chapter)
    released.cells = [cell for cell in released.cells if cell.cell_type == "markdown"
                      or {"exercise", "check"} & set(cell.metadata.get("tags", []))]
    by_id = {exercise.id: exercise for exercise in chapter_exercises(chapter)}
    for cell in released.cells:
        exercise_id = cell.metadata.get("course", {}).get("exercise")
        if exercise_id in by_id:
            source = _answer_source(by_id[exercise_id], student)
            if source is not None:
                cell.source = source
    return released


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    for chapter, stem in chapter_notebooks().items():
        notebook = nbformat.read(REPO / "notebooks" / f"{stem}.ipynb", as_version=4)
        for student in STUDENTS:
            (root / "class" / student).mkdir(parents=True, exist_ok=True)
            nbformat.write(_submission(notebook, chapter, student), root / "class" / student / f"{stem}.ipynb")
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "grade", str(root / "class"), "--out", str(root / "grades.csv"),
         "--feedback-dir", str(root / "feedback"), "--jobs", "2", "--cell-timeout", "120"],
        cwd=root, env=dict(os.environ, XDG_CONFIG_HOME=str(root / "config")), capture_output=True, text=True,
        timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]
    reports = {}
    for path in (root / "feedback").glob("*.json"):
        report = json.loads(path.read_text())
        reports[(report["student"], report["chapter"])] = report
    rows = list(csv.DictReader(open(root / "grades.csv")))
    return reports, rows


def _exercises(kind):
    return [(exercise.chapter, exercise) for chapter in chapter_notebooks() for exercise in chapter_exercises(chapter)
            if kind(exercise)]


@pytest.mark.parametrize("chapter", list(chapter_notebooks()))
def test_right_answers_of_every_kind_earn_every_point(graded, chapter):
    reports, _ = graded
    report = reports[("right", chapter)]
    assert report["total"] == report["max_total"] > 0, {k: v["message"] for k, v in report["exercises"].items()}


@pytest.mark.parametrize("chapter, exercise", _exercises(lambda e: True), ids=lambda value: getattr(value, "id", value))
def test_a_declared_mistake_earns_nothing_and_the_feedback_says_why(graded, chapter, exercise):
    result = graded[0][("wrong", chapter)]["exercises"][exercise.id]
    assert result["points"] == 0 and result["status"] in ("failed", "error"), result["message"]
    if exercise.is_value:   # one problem: the mistake's own explanation
        assert exercise.mistakes[0].hint in result["message"]
    else:
        assert "hint:" in result["message"]


@pytest.mark.parametrize("chapter", list(chapter_notebooks()))
def test_untouched_stubs_are_not_attempted(graded, chapter):
    report = graded[0][("untouched", chapter)]
    assert report["total"] == 0
    assert {result["status"] for result in report["exercises"].values()} == {"not attempted"}, \
        {k: v["message"] for k, v in report["exercises"].items()}


@pytest.mark.parametrize("chapter, exercise", _exercises(lambda e: e.is_value and e.draw is not None),
                         ids=lambda value: getattr(value, "id", value))
def test_a_typed_number_fits_the_notebooks_problem_only(graded, chapter, exercise):
    result = graded[0][("typed", chapter)]["exercises"][exercise.id]
    assert result["points"] == 0 and "a problem of its own" in result["message"], result["message"]


def test_the_gradebook_has_a_row_per_submission_and_a_column_per_exercise(graded):
    _, rows = graded
    assert len(rows) == len(STUDENTS) * len(chapter_notebooks())
    every_id = [exercise.id for chapter in chapter_notebooks() for exercise in chapter_exercises(chapter)]
    assert set(every_id) <= set(rows[0]) | {key for row in rows for key in row}
