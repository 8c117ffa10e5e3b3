"""Grading HW02 prediction files as Kaggle did: accuracies on the public and private halves, points by the lines.

A tiny real corpus (3 + 3 utterances) is made once; its lines are chosen here: the accuracies of
prediction files right on 20, 40, 60 and 80 % of each half of the test frames, measured by the lines
command from a ladder folder of such files. A class then hands in a perfect file, a file at each line,
a file below every line, and one file of each malformed kind; each gets its points or a message naming
what is wrong, and the class is graded to the end.
"""
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from course_utils.exercises import report
from course_utils.exercises.grade import find_submissions
from course_utils.hw02 import grading, lines
from course_utils.hw02.corpus import VERSION_3, CorpusConfig, make_corpus
from course_utils.hw02 import submission as kaggle
from course_utils.hw02.submission import public_mask, write_submission
from grading_fixtures import correct, submission, write

pytestmark = pytest.mark.grading

TINY = CorpusConfig(num_train=3, num_test=3, **VERSION_3)   # the numbers below are of its frames
LEVELS = dict(simple=0.2, medium=0.4, strong=0.6, boss=0.8)


def _run(cwd, *arguments, module="course_utils", env=None):
    return subprocess.run([sys.executable, "-m", module, *map(str, arguments)], cwd=cwd, capture_output=True,
                          text=True, timeout=600, env=env)


def _at_level(answers, public, level_public, level_private=None):
    """Predictions right on the first `level` of each half of the test frames, wrong on the rest."""
    level_private = level_public if level_private is None else level_private
    predicted = (answers + 1) % 41
    for mask, level in ((public, level_public), (~public, level_private)):
        frames = mask.nonzero().flatten()
        right = frames[:round(level * len(frames))]
        predicted[right] = answers[right]
    return predicted


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    folder = make_corpus(TINY, root=data, workers=1, progress=False)
    answers = kaggle.test_answers(folder / "test_split.txt", folder / "test_labels.txt")
    return data, folder, answers, public_mask(len(answers))


@pytest.fixture(scope="module")
def lines_file(corpus, tmp_path_factory):
    """The lines measured by the lines command from a ladder folder of prediction files at each level."""
    _, folder, answers, public = corpus
    root = tmp_path_factory.mktemp("ladder")
    for preset, level in LEVELS.items():
        write_submission(root / "runs" / preset / "prediction.csv", _at_level(answers, public, level))
    done = _run(root, "--ladder", "runs", "--corpus", folder, "--out", "hw02_lines.json",
                module="course_utils.hw02.lines")
    assert done.returncode == 0, done.stderr
    assert "| medium | 0.3989" in done.stdout and f'"{lines.corpus_key(folder)}": Lines(' in done.stdout
    return root / "hw02_lines.json"


def _body(rows):
    return "".join(f"{row}\n" for row in rows).encode()


def _text(rows):
    return b"Id,Class\n" + _body(rows)


def _seventh(rows, row):
    return rows[:7] + [row] + rows[8:]


# kind: (the file made from the right answers' rows "<Id>,<Class>", what the grader says about it)
MALFORMED = {
    "wrong_header": (lambda rows: b"id,class\n" + _body(rows),
                     "expected the header 'Id,Class', got 'id,class' (the names are case-sensitive)"),
    "pandas_index": (lambda rows: b",Id,Class\n" + _body(f"{i},{row}" for i, row in enumerate(rows)),
                     "pass index=False to to_csv"),
    "no_header": (_body, "the header row is missing"),
    "missing_ids": (lambda rows: _text(rows[:-5]), "rows of predictions, but the test set has"),
    "duplicate_id": (lambda rows: _text(rows[:-1] + ["0,3"]), "Id 0 appears a second time"),
    "class_out_of_range": (lambda rows: _text(_seventh(rows, "7,41")), "Class 41 is not a class (expected 0 … 40)"),
    "negative_class": (lambda rows: _text(_seventh(rows, "7,-1")), "Class -1 is not a class"),
    "class_not_integer": (lambda rows: _text(_seventh(rows, "7,3.0")), "Class '3.0' is not a whole number"),
    "id_out_of_range": (lambda rows: _text(rows[:-1] + [f"{len(rows)},3"]), "is not a test frame (expected 0 …"),
    "header_only": (lambda rows: b"Id,Class\n", "the file has the header but no predictions"),
    "empty": (lambda rows: b"", "the file is empty"),
    "binary": (lambda rows: _text(rows)[:50] + b"\x00\x01\x02" + _text(rows)[50:],
               "the file is not text (it holds NUL bytes"),
    "zip": (lambda rows: b"PK\x03\x04" + bytes(100), "not text but a zip archive"),
    "not_utf8": (lambda rows: _text(rows)[:30] + b"\xe9" + _text(rows)[30:], "the file is not UTF-8 text (byte 0xe9"),
    "huge_line": (lambda rows: _text(_seventh(rows, "7," + "1" * 10_000)), "characters: expected '<Id>,<Class>'"),
    "too_large": (lambda rows: _text(rows) + b" " * (40 * len(rows)), "more than a prediction file of"),
}


@pytest.fixture(scope="module")
def graded_class(corpus, lines_file, tmp_path_factory):
    """A class of prediction files, one per student folder, graded by the real command."""
    _, folder, answers, public = corpus
    root = tmp_path_factory.mktemp("class")
    write_submission(root / "class" / "perfect" / "prediction.csv", answers)
    write_submission(root / "class" / "below" / "prediction.csv", _at_level(answers, public, 0.1))
    for preset, level in LEVELS.items():
        write_submission(root / "class" / f"at_{preset}" / "prediction.csv", _at_level(answers, public, level))
    write_submission(root / "class" / "public_boss_private_medium" / "prediction.csv",
                     _at_level(answers, public, 0.8, 0.5))
    for kind in MALFORMED:
        path = root / "class" / kind / "prediction.csv"
        path.parent.mkdir(parents=True)
        path.write_bytes(MALFORMED[kind][0]([f"{i},{int(c)}" for i, c in enumerate(answers)]))
    done = _run(root, "grade", "class", "--hw02-labels", folder, "--hw02-lines", lines_file, "--key-file", "key",
                "--lms", "lms.csv")
    rows = {row["student"]: row for row in csv.DictReader(open(root / "grades.csv", encoding="utf-8"))}
    return root, done, rows


def test_the_lines_command_scores_the_ladders_files_into_the_lines(corpus, lines_file):
    _, folder, answers, public = corpus
    key, measured = lines.read_lines_file(lines_file)
    assert key == lines.corpus_key(folder) == folder.name
    for preset, level in LEVELS.items():
        expected = grading.accuracies(_at_level(answers, public, level), answers, public)
        assert measured.public[preset] == expected["public"] and measured.private[preset] == expected["private"]
        assert abs(expected["public"] - level) < 0.01


def test_a_perfect_file_gets_every_point_and_each_line_its_own(graded_class):
    root, done, rows = graded_class
    assert done.returncode == 0, done.stderr
    points = {student: rows[student]["total"] for student in
              ("perfect", "at_boss", "at_strong", "at_medium", "at_simple", "below", "public_boss_private_medium")}
    assert points == {"perfect": "4", "at_boss": "4", "at_strong": "3", "at_medium": "2", "at_simple": "1",
                      "below": "0", "public_boss_private_medium": "3"}
    assert rows["perfect"]["hw02_public"] == rows["perfect"]["hw02_private"] == "1.00000"
    assert rows["at_medium"]["hw02_points"] == "2" and rows["at_medium"]["max_total"] == "4"
    assert {rows[s]["status"] for s in points} == {"graded"} and rows["perfect"]["isolation"] == "no code run"
    feedback = next((root / "feedback").glob("at_strong__*.md")).read_text(encoding="utf-8")
    assert "**3 / 4 points**" in feedback and "| public (half of the test frames) | 0.60" in feedback
    assert "| ✔ | ✔ | ✔ | ✘ | 1.5 |" in feedback


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_a_malformed_file_gets_no_points_and_a_message_saying_why(graded_class, kind):
    root, done, rows = graded_class
    row = rows[kind]
    message = MALFORMED[kind][1]
    assert row["status"] == "unreadable" and row["total"] == "0" and row["hw02_points"] == "0", row
    assert row["hw02_public"] == "" and message in row["notes"], row["notes"]
    feedback = next((root / "feedback").glob(f"{kind}__*.md")).read_text(encoding="utf-8")
    assert "**0 / 4 points**" in feedback and "**Not scored.** The prediction file cannot be scored" in feedback
    assert message in feedback and len(feedback) < 2000   # a huge line is not copied into the feedback


def test_the_lms_export_has_a_column_for_the_prediction_files(graded_class):
    root = graded_class[0]
    table = list(csv.reader(open(root / "lms.csv", encoding="utf-8")))
    assert table[0][5:] == [f"{report.PREDICTION_TITLE} ({report.PREDICTION_ASSIGNMENT})", "Total"]
    assert table[1][5:] == ["4", "4"]
    assert {row[0]: row[5] for row in table[2:]}["at_medium"] == "2"
    assert (report.PREDICTION_ASSIGNMENT, report.PREDICTION_TITLE) == (grading.ASSIGNMENT, grading.TITLE)


def test_a_symbolic_link_is_not_followed(corpus, lines_file, tmp_path):
    _, folder, answers, _ = corpus
    secret = write_submission(tmp_path / "elsewhere.csv", answers)
    (tmp_path / "class" / "linker").mkdir(parents=True)
    (tmp_path / "class" / "linker" / "prediction.csv").symlink_to(secret)
    done = _run(tmp_path, "grade", "class", "--hw02-labels", folder, "--hw02-lines", lines_file, "--key-file", "k")
    row = next(csv.DictReader(open(tmp_path / "grades.csv")))
    assert done.returncode == 0 and row["status"] == "unreadable" and "symbolic link" in row["notes"]


def test_the_labels_never_reach_the_release_and_grading_from_it_refuses(corpus, lines_file, tmp_path):
    data, folder, answers, _ = corpus
    environment = dict(os.environ, COURSE_DATA_DIR=str(data))
    done = _run(tmp_path, "corpus", "--num-train", TINY.num_train, "--num-test", TINY.num_test, "--workers", "1",
                "--release", "release", module="course_utils.hw02", env=environment)
    made = Path(done.stdout.strip())   # the default corpus at this size, in the same cache
    assert done.returncode == 0 and made.parent == folder.parent and (made / "test_labels.txt").is_file(), done.stderr
    released = sorted(path.relative_to(tmp_path / "release").as_posix() for path in (tmp_path / "release").rglob("*"))
    assert "test_split.txt" in released and "train_labels.txt" in released and "test_labels.txt" not in released
    label_lines = (made / "test_labels.txt").read_text().splitlines()
    for path in (tmp_path / "release").rglob("*.txt"):
        assert not set(path.read_text().splitlines()) & set(label_lines), path
    write_submission(tmp_path / "class" / "alice" / "prediction.csv", answers)
    done = _run(tmp_path, "grade", "class", "--hw02-labels", "release", "--hw02-lines", lines_file, "--key-file", "k")
    assert done.returncode == 1 and "no HW02 test labels at release/test_labels.txt" in done.stderr
    assert "corpus --release leaves it out" in done.stderr and "--hw02-labels" in done.stderr
    assert "Nothing was graded" in done.stderr and not (tmp_path / "grades.csv").exists()
    assert not (tmp_path / "feedback").exists()


def test_without_lines_for_the_corpus_grading_refuses_and_names_the_command(corpus, tmp_path):
    _, folder, answers, _ = corpus
    write_submission(tmp_path / "class" / "alice" / "prediction.csv", answers)
    done = _run(tmp_path, "grade", "class", "--hw02-labels", folder, "--key-file", "k")
    assert done.returncode == 1 and f"no lines are measured for the corpus at {folder}" in done.stderr
    assert "python -m course_utils.hw02.lines --ladder runs/ladder" in done.stderr
    assert not (tmp_path / "grades.csv").exists()


def test_lines_measured_on_another_corpus_are_refused(corpus, tmp_path):
    folder = corpus[1]
    other = lines.write_lines_file(tmp_path / "other.json", "0123456789abcdef",
                                   {board: dict.fromkeys(lines.PRESET_ORDER, 0.5) for board in lines.BOARDS}, "test")
    with pytest.raises(grading.AnswerKeyError, match="holds the lines of corpus 0123456789abcdef"):
        grading.answer_key(folder, other)


def test_the_default_corpus_has_measured_lines_in_the_table():
    key = CorpusConfig().key()
    assert key in lines.LINES, (f"the default corpus ({key}) has no lines in course_utils/hw02/lines.py: measure "
                                f"them with {lines.measure_command('<its folder>')} and add the printed entry")
    measured = lines.LINES[key]
    for board in (measured.public, measured.private):
        assert [board[preset] for preset in lines.PRESET_ORDER] == sorted(board.values())
    assert measured.source


def test_a_class_mixing_notebooks_and_prediction_files_grades_both(corpus, lines_file, tmp_path):
    """Per student folder, nbgrader and flat: a notebook and a prediction file each get their row; the LMS
    export a column for each; the notebook columns are as before."""
    _, folder, answers, _ = corpus
    write(submission(correct()), tmp_path / "homes" / "alice" / "00_training_recipe.ipynb")
    write_submission(tmp_path / "homes" / "alice" / "prediction.csv", answers)
    write_submission(tmp_path / "homes" / "bob" / "work" / "prediction.csv", (answers + 1) % 41)
    done = _run(tmp_path, "grade", "homes", "--hw02-labels", folder, "--hw02-lines", lines_file, "--key-file", "k",
                "--lms", "lms.csv", "--cell-timeout", "20", "--memory-gib", "2")
    assert done.returncode == 0, done.stderr
    rows = {row["submission"]: row for row in csv.DictReader(open(tmp_path / "grades.csv"))}
    assert set(rows) == {"alice/00_training_recipe", "alice/prediction.csv", "bob/work/prediction.csv"}
    notebook, predictions = rows["alice/00_training_recipe"], rows["alice/prediction.csv"]
    assert notebook["total"] == "6" and notebook["recipe.hard_sigmoid"] == "1" and notebook["hw02_points"] == ""
    assert notebook["isolation"].startswith("bubblewrap") and notebook["chapter"] == "recipe"
    assert predictions["total"] == "4" and predictions["recipe.hard_sigmoid"] == ""
    assert predictions["student"] == "alice"
    assert rows["bob/work/prediction.csv"]["total"] == "0" and rows["bob/work/prediction.csv"]["status"] == "graded"
    table = list(csv.reader(open(tmp_path / "lms.csv")))
    assert table[0][5:] == ["00_training_recipe (recipe)", "HW02 predictions (hw02-kaggle)", "Total"]
    assert table[2] == ["alice", "", "", "alice", "", "6", "4", "10"] and table[3][5:] == ["", "0", "0"]
    report_json = json.loads(next((tmp_path / "feedback").glob("alice__prediction.csv-*.json")).read_text())
    assert report_json["prediction"]["passed"]["private"] == dict.fromkeys(lines.PRESET_ORDER, True)


def test_prediction_files_are_found_in_every_layout(tmp_path):
    for path in ["course/submitted/alice/hw2/prediction.csv", "course/submitted/alice/hw0/00_training_recipe.ipynb",
                 "flat/alice_prediction.csv", "flat/bob-predictions.csv", "flat/carol.csv",
                 "flat/alice_00_training_recipe.ipynb", "homes/alice/prediction.csv", "homes/bob/hw2/pred.csv"]:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("Id,Class\n")
    found = lambda folder: [(student, submission_id) for submission_id, _, student in  # noqa: E731
                            find_submissions([tmp_path / folder])]
    assert found("course") == [("alice", "alice/hw0/00_training_recipe"), ("alice", "alice/hw2/prediction.csv")]
    assert found("flat") == [("alice", "alice_00_training_recipe"), ("alice", "alice_prediction.csv"),
                             ("bob", "bob-predictions.csv"), ("carol", "carol.csv")]
    assert found("homes") == [("alice", "alice/prediction.csv"), ("bob", "bob/hw2/pred.csv")]
    assert find_submissions([tmp_path / "flat" / "carol.csv"]) == [("carol.csv", tmp_path / "flat" / "carol.csv",
                                                                     "carol")]


def test_a_class_of_prediction_files_needs_no_sandbox(corpus, lines_file, tmp_path):
    _, folder, answers, _ = corpus
    write_submission(tmp_path / "class" / "alice" / "prediction.csv", answers)
    (tmp_path / "empty_bin").mkdir()
    environment = dict(os.environ, PATH=str(tmp_path / "empty_bin"))
    done = _run(tmp_path, "grade", "class", "--hw02-labels", folder, "--hw02-lines", lines_file, "--key-file", "k",
                env=environment)
    assert done.returncode == 0 and "WITHOUT isolation" not in done.stderr, done.stderr
    assert next(csv.DictReader(open(tmp_path / "grades.csv")))["total"] == "4"


def test_parsing_accepts_any_row_order_blank_lines_a_bom_and_crlf():
    answers = torch.tensor([3, 1, 4, 1, 5])
    text = "\ufeffId,Class\r\n4,5\r\n\r\n0,3\r\n1,1\r\n3,1\r\n2,4\r\n"
    assert torch.equal(grading.parse_predictions(text.encode(), 5), answers)


def test_shards_of_a_class_of_prediction_files_merge_into_one_runs_gradebook(corpus, lines_file, tmp_path):
    _, folder, answers, public = corpus
    for student, level in (("ann", 1.0), ("ben", 0.5), ("cat", 0.3)):
        write_submission(tmp_path / "class" / student / "prediction.csv", _at_level(answers, public, level))
    options = ["--hw02-labels", folder, "--hw02-lines", lines_file, "--key-file", "k"]
    runs = [_run(tmp_path, "grade", "class", "--out", "whole/grades.csv", "--feedback-dir", "whole/feedback",
                 "--lms", "whole/lms.csv", *options)]
    runs += [_run(tmp_path, "grade", "class", "--shard", f"{k}/2", "--out", f"shard{k}/grades.csv", "--feedback-dir",
                  f"shard{k}/feedback", *options) for k in (1, 2)]
    runs.append(_run(tmp_path, "merge", "shard1/feedback", "shard2/feedback", "--out", "merged/grades.csv",
                     "--feedback-dir", "merged/feedback", "--lms", "merged/lms.csv"))
    assert [run.returncode for run in runs] == [0, 0, 0, 0], [run.stderr for run in runs]
    for name in ("grades.csv", "lms.csv"):
        assert (tmp_path / "merged" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    totals = {row["student"]: row["total"] for row in csv.DictReader(open(tmp_path / "merged" / "grades.csv"))}
    assert totals == {"ann": "4", "ben": "2", "cat": "1"}
