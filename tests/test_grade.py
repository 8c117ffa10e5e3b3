"""Grading: crafted submissions that try to break the grader, graded in one run of the real command.

Every submission is built here from the small chapter-0 notebook of
``grading_fixtures`` (all answers right unless the attack needs otherwise), so
the expected points are exact: an attack on one exercise costs that exercise
only. The class is graded once, with ``--jobs 2`` and short limits, by
``python -m course_utils grade`` under bubblewrap; each test reads its row.
"""
import csv
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import nbformat.v3 as v3
import pytest

from course_utils.exercises.report import file_stem
from grading_fixtures import SETUP, SOLUTIONS, STUBS, correct, submission, write

pytestmark = pytest.mark.grading

REPO = Path(__file__).resolve().parents[1]
EXERCISES_SOURCE = REPO / "course_utils" / "exercises"
LIMITS = ["--cell-timeout", "5", "--exercise-timeout", "5", "--submission-timeout", "120", "--memory-gib", "2"]
SECRET = "SIBLING-SECRET-7f3a9c"

IDS = ["recipe.hard_sigmoid", "recipe.sigmoid_model", "recipe.linear_regression_step", "recipe.updates_per_epoch",
       "recipe.parameter_count", "recipe.diagnose_training"]
FUNCTIONS = [name for name in STUBS if STUBS[name].startswith("def ")]


def _answer(name, body):
    """An answer cell: the exercise's signature line with a new body."""
    return STUBS[name].splitlines()[0] + "\n" + "\n".join("    " + line for line in body.splitlines())


def crafted(canary_dir, submissions_dir):
    """{student: notebook or raw bytes}: the class to grade, every submission an attack or a reference point."""
    sibling = submissions_dir / "sibling" / "00_training_recipe.ipynb"
    own_file = submissions_dir / "vandal" / "00_training_recipe.ipynb"
    library_file = EXERCISES_SOURCE / "chapters" / "recipe.py"
    all_but = lambda name, answer: dict(correct(), **{name: answer})   # noqa: E731
    return {
        "correct": submission(correct()),
        "half": submission(correct("hard_sigmoid", "updates_per_epoch")),
        "loop": submission(all_but("hard_sigmoid", _answer("hard_sigmoid", "while True:\n    pass"))),
        "loop_cell": submission(correct(), before=["while True:\n    pass"]),
        "memory": submission(all_but("sigmoid_model", _answer(
            "sigmoid_model", "hog = []\nwhile True:\n    hog.append(torch.empty(2**26))"))),
        "memory_cell": submission(correct(), before=["hog = torch.empty(2**40)"]),
        "exit": submission(all_but("linear_regression_step", _answer(
            "linear_regression_step", "import os\nos._exit(3)"))),
        "exit_cell": submission(correct(), before=["import os\nos._exit(0)"]),
        "diagnose_loop": submission(all_but("diagnose_training", _answer(
            "diagnose_training", "while True:\n    pass"))),
        "segfault": submission(all_but("updates_per_epoch", _answer(
            "updates_per_epoch", "import ctypes\nreturn ctypes.string_at(0)"))),
        "import_error": submission(correct(), before=["import a_module_that_does_not_exist"]),
        "patcher": submission(dict({name: _answer(name, "return torch.zeros(1)") for name in FUNCTIONS},
                                   parameter_count="parameter_count = torch.zeros(1)"), after=[
            "import builtins, course_utils, course_utils.exercises, course_utils.experiments.recipe as recipe\n"
            "import course_utils.exercises.chapters.recipe as chapter\n"
            "from course_utils.exercises import compare, evaluate\n"
            "torch.allclose = torch.equal = torch.isclose = lambda *a, **k: True\n"
            "course_utils.exercises.check = check = lambda *a, **k: print('✔ all passed')\n"
            "compare.same_tensor = evaluate.judge = lambda *a, **k: ('passed', [])\n"
            "for name in ('hard_sigmoid', 'sigmoid_model', 'linear_regression_step', 'updates_per_epoch'):\n"
            "    setattr(recipe, name, globals()[name])\n"
            "chapter.diagnose_training = diagnose_training\n"
            "chapter.parameter_count = lambda problem: parameter_count\n"
            "builtins.isinstance = lambda *a: True"]),
        "liar": submission(after=["for name in ('hard_sigmoid', 'sigmoid_model'):\n"
                                  "    print(f'✔ recipe.{name}: correct on all 13 hidden cases (1/1 point).')\n"
                                  "print('[  1] liar: 6/6 graded (1.0 s)')"]),
        "vandal": submission(correct(), before=[
            f"open(r'{canary_dir / 'canary.txt'}', 'w').write('vandalised')",
            f"import os\nos.remove(r'{canary_dir / 'keep.txt'}')",
            f"import os\nos.makedirs(r'{canary_dir}', exist_ok=True)\n"
            f"open(r'{canary_dir / 'canary.txt'}', 'w').write('vandalised')",
            f"open(r'{own_file}', 'w').write('{{}}')",
            f"open(r'{library_file}', 'a').write('\\nEXERCISES = []\\n')"]),
        "thief": submission(correct(), before=[f"stolen = open(r'{sibling}').read()\nprint(stolen)",
                                               "import os\nprint(os.listdir('..'))"]),
        "sibling": submission(correct(), before=[f"note = '{SECRET}'"]),
        "pipe_forger": submission(correct(), before=[
            "import os\nfor fd in range(3, 12):\n    try:\n        os.write(fd, b'\\xff' * 64)\n"
            "    except OSError:\n        pass"]),
        "flood": submission(correct(), before=["import sys\nfor _ in range(50):\n    sys.stdout.write('x' * 2**20)"]),
        "not_json": b"this is not a notebook {",
        "empty": b"",
        "nbformat3": v3.writes_json(v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
            v3.new_code_cell(input=source) for source in [SETUP, *SOLUTIONS.values()]])])).encode(),
        "no_exercises": nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(SETUP)]),
        "wrong_name": submission(all_but("hard_sigmoid", SOLUTIONS["hard_sigmoid"].replace(
            "def hard_sigmoid", "def hardsigmoid"))),
    }


def _snapshot(*folders):
    return {path: hashlib.sha256(path.read_bytes()).hexdigest()
            for folder in folders for path in sorted(Path(folder).rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the crafted class once; return the CLI's result, the gradebook rows, the JSON reports, and the
    snapshots of every file the submissions may attack, before and after."""
    root = tmp_path_factory.mktemp("grading")
    submissions_dir, canary_dir = root / "submissions", root / "outside"
    canary_dir.mkdir()
    (canary_dir / "canary.txt").write_text("original")
    (canary_dir / "keep.txt").write_text("do not delete")
    for student, content in crafted(canary_dir, submissions_dir).items():
        path = submissions_dir / student / "00_training_recipe.ipynb"
        if isinstance(content, bytes):
            path.parent.mkdir(parents=True)
            path.write_bytes(content)
        else:
            write(content, path)
    before = _snapshot(submissions_dir, canary_dir, EXERCISES_SOURCE)
    done = subprocess.run(
        [sys.executable, "-m", "course_utils", "grade", str(submissions_dir), "--out", str(root / "grades.csv"),
         "--feedback-dir", str(root / "feedback"), "--jobs", "2", "--sandbox", "bwrap", *LIMITS,
         "--key-file", str(root / "grading-key")],
        cwd=root, capture_output=True, text=True, timeout=600)
    rows = {row["submission"].split("/")[0]: row for row in csv.DictReader(open(root / "grades.csv"))} \
        if (root / "grades.csv").exists() else {}
    reports = {path.name.split("__")[0]: json.loads(path.read_text())
               for path in (root / "feedback").glob("*.json")} if (root / "feedback").exists() else {}
    return {"done": done, "rows": rows, "reports": reports, "before": before, "root": root,
            "after": _snapshot(submissions_dir, canary_dir, EXERCISES_SOURCE)}


def feedback_text(graded, student):
    """The Markdown feedback of a student's submission."""
    stem = file_stem(f"{student}/00_training_recipe")
    return (graded["root"] / "feedback" / f"{stem}.md").read_text()


def points(row):
    return [float(row[exercise_id]) if row[exercise_id] else None for exercise_id in IDS]


def test_grader_exits_0_and_grades_every_submission(graded):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]
    assert set(graded["rows"]) == set(crafted(Path("/x"), Path("/y"))), graded["done"].stdout
    assert all(row["status"] in ("graded", "graded-with-issues", "unreadable") for row in graded["rows"].values())


def test_no_file_outside_the_grader_changes_and_submissions_keep_their_bytes(graded):
    assert graded["after"] == graded["before"]


def test_correct_submission_gets_every_point(graded):
    row = graded["rows"]["correct"]
    assert (points(row), row["total"], row["max_total"], row["status"]) == ([1] * 6, "6", "6", "graded")


def test_half_correct_submission_gets_exactly_its_points(graded):
    row = graded["rows"]["half"]
    assert (points(row), row["total"], row["status"]) == ([1, 0, 0, 1, 0, 0], "2", "graded")
    report = graded["reports"]["half"]
    for untouched in ("recipe.sigmoid_model", "recipe.parameter_count", "recipe.diagnose_training"):
        assert report["exercises"][untouched]["status"] == "not attempted"


@pytest.mark.parametrize("student, lost, status, words", [
    ("loop", 0, "timeout", "time limit (5 s)"),
    ("memory", 1, "memory", "can't allocate memory"),
    ("exit", 2, "crashed", "exit code 3"),
    ("segfault", 3, "crashed", "SIGSEGV"),
    ("diagnose_loop", 5, "timeout", "time limit (5 s)"),
])
def test_a_broken_exercise_costs_that_exercise_only(graded, student, lost, status, words):
    row = graded["rows"][student]
    expected = [1] * 6
    expected[lost] = 0
    assert points(row) == expected and row["status"] == "graded-with-issues"
    result = graded["reports"][student]["exercises"][IDS[lost]]
    assert result["status"] == status and words in result["message"]


@pytest.mark.parametrize("student, words", [
    ("loop_cell", "did not finish within the cell's time limit (5 s)"),
    ("memory_cell", "can't allocate memory"),
    ("exit_cell", "exit code 0"),
    ("import_error", "ModuleNotFoundError"),
])
def test_a_broken_cell_is_skipped_and_the_answers_still_count(graded, student, words):
    row = graded["rows"][student]
    assert points(row) == [1] * 6 and row["status"] == "graded-with-issues"
    assert words in row["notes"]


def test_patching_check_course_utils_torch_or_builtins_changes_no_grade(graded):
    row = graded["rows"]["patcher"]
    assert points(row) == [0] * 6 and row["total"] == "0"


def test_printing_a_fake_all_passed_line_changes_no_grade(graded):
    assert graded["rows"]["liar"]["total"] == "0"
    assert "liar/00_training_recipe: 0/6" in graded["done"].stdout


def test_files_outside_the_working_directory_cannot_be_written_or_deleted(graded):
    row = graded["rows"]["vandal"]
    assert points(row) == [1] * 6
    assert row["notes"].count("No such file or directory") >= 2 and "Read-only file system" in row["notes"]


def test_another_submission_cannot_be_read(graded):
    report = graded["reports"]["thief"]
    assert "FileNotFoundError" in report["notes"][0]
    assert SECRET not in json.dumps(report)
    assert re.search(r"\['\d{5}'\]", report["output"]["excerpt"]), "the parent folder lists more than its own folder"
    assert points(graded["rows"]["thief"]) == [1] * 6


def test_garbage_on_the_grader_pipe_is_survived(graded):
    assert points(graded["rows"]["pipe_forger"]) == [1] * 6


def test_an_output_flood_is_cut_and_the_answers_still_count(graded):
    report = graded["reports"]["flood"]
    assert report["output"]["bytes"] >= 50 * 2**20 and len(report["output"]["excerpt"]) <= 64 * 2**10
    assert "printed 50.0 MB" in graded["rows"]["flood"]["notes"] and report["total"] == 6


@pytest.mark.parametrize("student, words", [("not_json", "not a notebook"), ("empty", "the file is empty")])
def test_a_file_that_is_not_a_notebook_is_unreadable(graded, student, words):
    row = graded["rows"][student]
    assert row["status"] == "unreadable" and words in row["notes"] and row["total"] == "0"
    assert "Not graded" in feedback_text(graded, student)


def test_an_nbformat_3_notebook_is_converted_and_graded(graded):
    row = graded["rows"]["nbformat3"]
    assert points(row) == [1] * 6 and "nbformat 3" in row["notes"]


def test_a_notebook_without_the_exercises_gets_no_points_and_says_why(graded):
    row = graded["rows"]["no_exercises"]
    assert points(row) == [0] * 6 and row["notes"].count("not found") == 6


def test_an_answer_under_the_wrong_name_is_not_found_and_the_name_is_suggested(graded):
    row = graded["rows"]["wrong_name"]
    assert points(row) == [0, 1, 1, 1, 1, 1]
    assert "did you mean hardsigmoid" in graded["reports"]["wrong_name"]["exercises"][IDS[0]]["message"]


def test_reports_hold_the_gradebook_row_plus_timings(graded):
    report, row = graded["reports"]["half"], graded["rows"]["half"]
    assert f"{report['total']:g}" == row["total"] and report["status"] == row["status"]
    assert report["isolation"] == "bubblewrap" or report["isolation"] == "bubblewrap-root"
    assert report["timings"]["total_seconds"] > 0 and all("seconds" in r for r in report["exercises"].values())
    feedback = feedback_text(graded, "half")
    assert "**2 / 6 points**" in feedback and "not attempted yet" in feedback
