"""Grading a class: the same grade on every run, shards that merge into one run's output, the layouts
instructors collect submissions in, the LMS export, and a per-submission guard around every step.

The class here is graded three times by the real command (whole, then in two shards) with one grading
key; the merged shards must give byte for byte the gradebook, LMS export and feedback of the whole run.
"""
import csv
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from course_utils.exercises import grade as grading
from course_utils.exercises.cases import hidden_cases
from course_utils.exercises.cells import Unreadable, cells_to_run, read_submission
from course_utils.exercises.evaluate import Missing, Raised, Returned, judge
from course_utils.exercises.protocol import to_plain
from course_utils.exercises.registry import all_exercises, get_exercise
from course_utils.exercises.report import feedback_markdown, file_stem, write_lms_export
from grading_fixtures import STUBS, correct, submission, write

pytestmark = pytest.mark.grading

LIMITS = ["--cell-timeout", "20", "--exercise-timeout", "20", "--memory-gib", "2", "--key-file", "grading-key"]
VOLATILE = ("timings", "graded_at", "seconds")


def _answer(name, body):
    return STUBS[name].splitlines()[0] + "\n" + "\n".join("    " + line for line in body.splitlines())


def _class(folder):
    write(submission(correct()), folder / "alice" / "00_training_recipe.ipynb")
    write(submission(correct("updates_per_epoch")), folder / "bob" / "00_training_recipe.ipynb")
    write(submission(dict(correct(), hard_sigmoid=_answer("hard_sigmoid", "return c * torch.sigmoid(b + w * x)"))),
          folder / "carol" / "00_training_recipe.ipynb")
    (folder / "dave").mkdir()
    (folder / "dave" / "00_training_recipe.ipynb").write_text("not a notebook")


def _run(root, *arguments):
    return subprocess.run([sys.executable, "-m", "course_utils", *map(str, arguments)], cwd=root,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    _class(root / "class")
    whole = _run(root, "grade", "class", "--out", "whole/grades.csv", "--feedback-dir", "whole/feedback",
                 "--lms", "whole/lms.csv", "--jobs", "2", *LIMITS)
    shards = [_run(root, "grade", "class", "--shard", f"{k}/2", "--out", f"shard{k}/grades.csv",
                   "--feedback-dir", f"shard{k}/feedback", "--jobs", "2", *LIMITS) for k in (1, 2)]
    merged = _run(root, "merge", "shard1/feedback", "shard2/feedback", "--out", "merged/grades.csv",
                  "--feedback-dir", "merged/feedback", "--lms", "merged/lms.csv")
    return root, whole, shards, merged


def _without_volatile(value):
    if isinstance(value, dict):
        return {key: _without_volatile(item) for key, item in value.items() if key not in VOLATILE}
    if isinstance(value, list):
        return [_without_volatile(item) for item in value]
    return value


def test_shards_merge_into_exactly_what_one_run_writes(runs):
    root, whole, shards, merged = runs
    assert [whole.returncode, *(shard.returncode for shard in shards), merged.returncode] == [0, 0, 0, 0], \
        whole.stderr + merged.stderr
    assert (root / "merged" / "grades.csv").read_bytes() == (root / "whole" / "grades.csv").read_bytes()
    assert (root / "merged" / "lms.csv").read_bytes() == (root / "whole" / "lms.csv").read_bytes()
    names = sorted(path.name for path in (root / "whole" / "feedback").iterdir())
    assert names == sorted(path.name for path in (root / "merged" / "feedback").iterdir()) and len(names) == 8
    for name in names:
        ours, theirs = (root / "whole" / "feedback" / name), (root / "merged" / "feedback" / name)
        if name.endswith(".md"):
            assert ours.read_bytes() == theirs.read_bytes(), name
        else:
            assert _without_volatile(json.loads(ours.read_text())) == _without_volatile(json.loads(theirs.read_text()))


def test_the_same_submission_gets_the_same_grade_and_feedback_on_every_run(runs):
    root = runs[0]
    carol = next((root / "whole" / "feedback").glob("carol__*.md")).read_text()
    again = next((root / "merged" / "feedback").glob("carol__*.md")).read_text()
    assert carol == again and "wrong on case" in carol   # the failing hidden case, inputs and all
    rows = {row["student"]: row for row in csv.DictReader(open(root / "whole" / "grades.csv"))}
    assert {student: row["total"] for student, row in rows.items()} == {"alice": "6", "bob": "1", "carol": "5",
                                                                        "dave": "0"}


def test_shards_are_balanced_disjoint_and_cover_the_class(runs):
    root = runs[0]
    parts = [{row["submission"] for row in csv.DictReader(open(root / f"shard{k}" / "grades.csv"))} for k in (1, 2)]
    assert not parts[0] & parts[1] and len(parts[0] | parts[1]) == 4 and abs(len(parts[0]) - len(parts[1])) <= 1


def test_a_shard_is_the_same_whatever_the_order_of_listing():
    submissions = [(f"s{i:03d}/00_training_recipe", Path(f"s{i}"), f"s{i:03d}") for i in range(101)]
    shuffled = random.Random(0).sample(submissions, len(submissions))
    parts = [grading.shard_of(submissions, (k, 7)) for k in range(1, 8)]
    assert parts == [grading.shard_of(shuffled, (k, 7)) for k in range(1, 8)]
    assert sorted(sum(parts, [])) == sorted(submissions) and {len(part) for part in parts} == {14, 15}


def test_the_lms_export_has_a_row_per_student_a_column_per_chapter_and_the_total(runs, tmp_path):
    rows = list(csv.reader(open(runs[0] / "whole" / "lms.csv")))
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "00_training_recipe (recipe)",
                       "Total"]
    assert rows[1] == ["Points Possible", "", "", "", "", "6", "6"]
    assert rows[2:] == [["alice", "", "", "alice", "", "6", "6"], ["bob", "", "", "bob", "", "1", "1"],
                        ["carol", "", "", "carol", "", "5", "5"], ["dave", "", "", "dave", "", "0", "0"]]
    reports = [{"submission": f"{student}/{notebook}", "student": student, "chapter": chapter, "total": total,
                "max_total": 4, "status": "graded"} for student, notebook, chapter, total in [
        ("ann", "00_training_recipe", "recipe", 3), ("ann", "00_training_recipe_v2", "recipe", 4),
        ("ann", "01_critical_points", "critical", 2), ("ben", "01_critical_points", "critical", 1)]]
    write_lms_export(reports, tmp_path / "lms.csv")
    rows = list(csv.reader(open(tmp_path / "lms.csv")))
    assert [row[5:] for row in rows] == [["00_training_recipe (recipe)", "01_critical_points (critical)", "Total"],
                                         ["4", "4", "8"], ["4", "2", "6"], ["", "1", "1"]]


# ----------------------------------------------------------------------------- layouts


def test_nbgrader_flat_and_per_student_layouts_name_the_student_and_the_chapter(tmp_path):
    notebook = submission()
    for path in ["course/submitted/alice/hw0/00_training_recipe.ipynb",
                 "course/submitted/bob/hw1/01_critical_points.ipynb", "course/source/hw0/00_training_recipe.ipynb",
                 "flat/alice_00_training_recipe.ipynb", "flat/bob-01_critical_points.ipynb",
                 "flat/00_training_recipe_carol.ipynb", "homes/alice/work/00_training_recipe.ipynb",
                 "homes/bob/01_critical_points.ipynb"]:
        write(notebook, tmp_path / path)
    named = lambda found: [(student, submission_id) for submission_id, _, student in found]   # noqa: E731
    nbgrader = [("alice", "alice/hw0/00_training_recipe"), ("bob", "bob/hw1/01_critical_points")]
    assert named(grading.find_submissions([tmp_path / "course"])) == nbgrader
    assert named(grading.find_submissions([tmp_path / "course" / "submitted"])) == nbgrader
    assert named(grading.find_submissions([tmp_path / "flat"])) == [
        ("carol", "00_training_recipe_carol"), ("alice", "alice_00_training_recipe"),
        ("bob", "bob-01_critical_points")]
    assert named(grading.find_submissions([tmp_path / "homes"])) == [
        ("alice", "alice/work/00_training_recipe"), ("bob", "bob/01_critical_points")]


# ----------------------------------------------------------------------------- one submission's failure stays its own


def test_a_failure_in_any_step_of_one_submission_costs_that_submission_only(tmp_path, monkeypatch):
    for student in ("first", "second", "third"):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "00_training_recipe.ipynb").write_text("")
    real_write, real_grade = grading.report.write_feedback, grading.grade_submission

    def broken_write(graded, folder):
        if graded["submission"].startswith("first"):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        return real_write(graded, folder)

    def broken_grade(submission_id, *args):
        if submission_id.startswith("second"):
            raise RecursionError("maximum recursion depth exceeded")
        return real_grade(submission_id, *args)

    monkeypatch.setattr(grading.report, "write_feedback", broken_write)
    monkeypatch.setattr(grading, "grade_submission", broken_grade)
    reports = grading.grade([tmp_path / "class"], tmp_path / "grades.csv", tmp_path / "feedback", jobs=2,
                            isolation="none", on_graded=lambda graded: 1 / 0)
    assert [graded["status"] for graded in reports] == ["grader-error", "grader-error", "unreadable"]
    assert "UnicodeEncodeError" in reports[0]["notes"][0] and "RecursionError" in reports[1]["notes"][0]
    rows = list(csv.DictReader(open(tmp_path / "grades.csv")))
    assert [row["student"] for row in rows] == ["first", "second", "third"]
    assert len(list((tmp_path / "feedback").glob("*.md"))) == 2   # second's and third's


# ----------------------------------------------------------------------------- fuzzing what the grader reads


def test_hidden_cases_depend_on_the_key_and_the_exercise_only():
    exercise = get_exercise("recipe.hard_sigmoid")
    assert repr(hidden_cases(exercise, b"k" * 32)) == repr(hidden_cases(exercise, b"k" * 32))
    assert repr(hidden_cases(exercise, b"k" * 32)) != repr(hidden_cases(exercise, b"j" * 32))


def _hostile_values():
    import numpy as np
    import torch
    return [None, True, -1, 10**30, float("nan"), float("inf"), "", "\ud800", "x" * 100_000, [], {}, {"a": 1},
            [1, [2, [3]]], b"bytes", object(), np.array([]), np.zeros((2, 3)), np.array([1 + 2j]),
            torch.tensor(float("nan")), torch.zeros(0), torch.zeros(3, 0, 2), torch.ones(300, 300),
            torch.tensor([1 + 1j]), torch.tensor([True]), torch.full((3,), float("inf")),
            torch.zeros(2, 3, dtype=torch.bfloat16), torch.randn(1, 1, 1, 1, 1, 1, 1, 1), (torch.zeros(2),) * 2,
            [torch.zeros(2)] * 5, (None, None), (1.0, "a"), [1] * 20_000, torch.zeros(2, dtype=torch.uint8)]


def test_every_exercise_judges_hostile_answers_without_raising():
    values = [to_plain(value) for value in _hostile_values()]
    for exercise in all_exercises().values():
        case = hidden_cases(exercise, b"fuzz")[-1]
        outcomes = [Returned(value, args_after=(value,) * len(case.args)) for value in values]
        outcomes += [Raised("\ud800Error", "\udcff" * 5000, "\ud800"), Missing(["\ud800", exercise.name.upper()]),
                     Missing([], "\ud800")]
        for outcome in outcomes:
            status, lines = judge(exercise, 0, 1, case, outcome)
            assert status in ("passed", "failed", "error", "memory", "missing", "not attempted")
            assert all(isinstance(line, str) for line in lines)


def _mutations(tree, rng, count):
    """``count`` copies of a notebook's JSON tree, each with one node replaced by a hostile value."""
    hostile = [None, 7, -1, 1e308, "", "\ud800", [], {}, [None], {"": None}, True, "x" * 10_000, [[[[]]]]]

    def nodes(value, path=()):
        yield path
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        for key, child in children:
            yield from nodes(child, path + (key,))

    paths = list(nodes(tree))
    for _ in range(count):
        copy = json.loads(json.dumps(tree))
        path = rng.choice(paths[1:])
        parent = copy
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = rng.choice(hostile)
        yield copy


def test_reading_a_mutated_notebook_gives_a_notebook_or_a_reason_never_a_crash():
    tree = json.loads(json.dumps(submission(correct("hard_sigmoid"))))
    for mutated in _mutations(tree, random.Random(15), 600):
        data = json.dumps(mutated).encode()
        try:
            notebook, _ = read_submission(data)
        except Unreadable as reason:
            assert str(reason)
            continue
        for index, source in cells_to_run(notebook):
            assert isinstance(index, int) and isinstance(source, str)
        graded = {"submission": "x\ud800", "status": "graded", "total": 0, "max_total": 1, "chapter": "recipe",
                  "graded_at": "", "notes": ["\ud800"], "exercises": {"recipe.x": {
                      "points": 0, "max_points": 1, "status": "failed", "message": "\ud800```"}}}
        assert "\ud800" in feedback_markdown(graded)   # written later through report.clean


def test_feedback_names_are_plain_for_a_file_and_never_shared():
    ids = ["00_training_recipe", "alice/00_training_recipe", "a__b/x", "a/b__x", "a__b__x", "x-0123abcd",
           "x-0123abcd-6324b7ee", "a b", "a_b", ".hidden", "hidden", "\ud800/x"]
    stems = [file_stem(submission_id) for submission_id in ids]
    assert stems[0] == "00_training_recipe" and len(set(stems)) == len(ids)
    assert stems == [file_stem(submission_id) for submission_id in ids]
