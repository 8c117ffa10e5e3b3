"""What grading writes: the gradebook CSV, a Markdown feedback file and a JSON report per submission,
and on request an export for an LMS.

A report is a plain dict (``grade.grade_submission`` builds it): ``submission``,
``student``, ``path``, ``sha256``, ``chapter``, ``status``, ``total``,
``max_total``, ``notes``, ``exercises`` ({id: points, status, message,
seconds, …}), ``cells`` (the cells that did not run cleanly), ``output`` (bytes
printed, an excerpt), ``timings``, ``isolation``, ``containment``, ``limits``,
``hidden_cases_key`` (a fingerprint) and ``graded_at``. The report of an HW02
prediction file has no exercises or cells but ``prediction`` (public and private
accuracy, the lines passed, the points: :func:`course_utils.hw02.grading.score`),
its chapter is ``hw02-kaggle`` and its isolation ``no code run``. The JSON file is
that dict; the CSV has one row of it per submission, with the isolation in force
on every row (``none`` when graded without a sandbox); the Markdown file is what
the student reads, and the same for the same submission on every run.

Every string written is valid UTF-8, whatever the student's code printed or
raised (a lone surrogate becomes U+FFFD).
"""
import csv
import hashlib
import json
import os
import re
from pathlib import Path

from .registry import all_exercises, chapter_notebooks

PREDICTION_ASSIGNMENT, PREDICTION_TITLE = "hw02-kaggle", "HW02 predictions"   # as course_utils.hw02.grading
PREDICTION_COLUMNS = ("hw02_public", "hw02_private", "hw02_points")

STUDENT_STATUSES = {"passed": "passed", "failed": "wrong answer", "error": "raised an error",
                    "not attempted": "not attempted", "missing": "not found", "timeout": "too slow",
                    "memory": "out of memory", "crashed": "crashed", "grader-error": "not judged (grader error)"}


def file_stem(submission_id):
    """The file name (without suffix) of a submission's feedback, unique and the same on every run.

    A plain file name is its own stem (``00_training_recipe``); any other id is written readably and
    followed by 8 hex digits of its SHA-256 (``alice/00_x`` → ``alice__00_x-<hash>``), so two ids never
    share a file (``a__b/x`` and ``a/b__x`` would both read ``a__b__x``). A plain name that looks like
    ``<name>-<8 hex digits>`` gets a hash of its own too, so the two kinds never meet.
    """
    if re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,120}", submission_id) and \
            not re.search(r"-[0-9a-f]{8}$", submission_id):
        return submission_id
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", submission_id.replace("/", "__")).strip(".")[:120] or "submission"
    return f"{readable}-{hashlib.sha256(submission_id.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


def clean(value):
    """``value`` with every string valid Unicode (lone surrogates → U+FFFD), so it can be written as UTF-8."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {clean(key): clean(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(item) for item in value]
    return value


def problems(graded, limits):
    """The notes of a graded submission: cells that did not run cleanly, answers lost to limits, cut output."""
    notes = []
    for cell in graded["cells"]:
        if cell["status"] == "ok":
            continue
        where = f"cell {cell['index'] + 1}" + (f" (`{cell['first_line']}`)" if cell.get("first_line") else "")
        if cell["error"].startswith("EOFError") and "reading a line" in cell["error"]:
            notes.append(f"{where} calls input(), which nobody can answer while grading: remove it")
        elif cell["status"] == "error":
            notes.append(f"{where} raised {cell['error']}")
        else:
            notes.append(f"{where} was stopped: {cell['error']}")
    for exercise_id, result in graded["exercises"].items():
        if result["status"] in ("missing", "timeout", "memory", "crashed", "grader-error"):
            detail = (str(result["message"]).strip().splitlines() or [""])[-1].strip()
            notes.append(f"{exercise_id}: {STUDENT_STATUSES[result['status']]} ({detail})")
    if graded["output"]["bytes"] > limits.output_bytes:
        notes.append(f"the notebook printed {graded['output']['bytes'] / 2**20:.1f} MB; "
                     f"only the first {limits.output_bytes // 2**10} KB were kept")
    return notes


def prediction_markdown(graded):
    """The feedback on an HW02 prediction file: the accuracies, the lines passed on each leaderboard, the points."""
    lines = [f"# Feedback on {graded['submission']}", "",
             f"**{graded['total']:g} / {graded['max_total']:g} points** · {PREDICTION_TITLE} "
             f"(`{graded['chapter']}`) · scored on the test frames' true classes, as Kaggle scored the homework", ""]
    if "prediction" not in graded:
        notes = " ".join(graded["notes"])
        return "\n".join(lines + ["**Not scored.** " + notes[:1].upper() + notes[1:], ""])
    result = graded["prediction"]
    names = list(result["lines"]["public"])
    per_line = result["max_points"] / (2 * len(names))
    lines += [f"| leaderboard | accuracy | {' | '.join(names)} | points |", "|---" * (len(names) + 3) + "|"]
    for board, half in (("public", "half of the test frames"), ("private", "the other half")):
        marks = ["✔" if result["passed"][board][name] else "✘" for name in names]
        points = sum(result["passed"][board].values()) * per_line
        lines.append(f"| {board} ({half}) | {result[board]:.5f} | {' | '.join(marks)} | {points:g} |")
    lines += ["", "The lines, the accuracy each of the homework's models reaches on this test set "
                  "(a line is passed at or above it):", "",
              f"| line | {' | '.join(names)} |", "|---" * (len(names) + 1) + "|"]
    for board in ("public", "private"):
        values = [f"{result['lines'][board][name]:.5f}" for name in names]
        lines.append(f"| {board} | {' | '.join(values)} |")
    lines += ["", f"Each line passed on a leaderboard is worth {per_line:g} points ({result['frames']} test frames)."]
    return "\n".join(lines) + "\n"


def feedback_markdown(graded):
    """The student's feedback: points per exercise, then what to fix, then problems with the notebook."""
    if graded.get("chapter") == PREDICTION_ASSIGNMENT:
        return prediction_markdown(graded)
    lines = [f"# Feedback on {graded['submission']}", ""]
    if graded["status"] in ("unreadable", "grader-error"):
        lines += ["**Not graded.** " + " ".join(graded["notes"]), ""]
        return "\n".join(lines)
    lines += [f"**{graded['total']:g} / {graded['max_total']:g} points** · chapter `{graded['chapter']}` · "
              f"graded on hidden cases (random inputs the grader keeps, not the ones `check` uses)", "",
              "| Exercise | Points | Result |", "|---|---|---|"]
    for exercise_id, result in graded["exercises"].items():
        lines.append(f"| `{exercise_id}` | {result['points']:g} / {result['max_points']:g} | "
                     f"{STUDENT_STATUSES.get(result['status'], result['status'])} |")
    unfinished = {i: r for i, r in graded["exercises"].items() if r["status"] != "passed"}
    if unfinished:
        lines += ["", "## What to fix"]
        for exercise_id, result in unfinished.items():
            message = str(result["message"]).replace("```", "`\u200b``")
            lines += ["", f"### {exercise_id}", "", "```text", message, "```"]
    if graded["notes"]:
        lines += ["", "## Problems with the notebook", ""] + [f"- {note}" for note in graded["notes"]]
    return "\n".join(lines) + "\n"


def write_feedback(graded, feedback_dir):
    """Write ``<id>.md`` (for the student) and ``<id>.json`` (everything, with timings) into feedback_dir."""
    graded = clean(graded)
    stem = Path(feedback_dir) / file_stem(graded["submission"])
    _write_atomically(stem.with_name(stem.name + ".md"), feedback_markdown(graded))
    _write_atomically(stem.with_name(stem.name + ".json"), json.dumps(graded, indent=2, ensure_ascii=False) + "\n")


def gradebook_columns(reports):
    """submission, student, chapter, one column per exercise graded (in course order), when any prediction
    file was graded its public and private accuracy and points, total, max_total, status, isolation, notes."""
    graded_ids = {exercise_id for graded in reports for exercise_id in graded["exercises"]}
    known = [exercise_id for exercise_id in all_exercises() if exercise_id in graded_ids]
    predictions = PREDICTION_COLUMNS if any(g["chapter"] == PREDICTION_ASSIGNMENT for g in reports) else ()
    return ["submission", "student", "chapter", *known, *sorted(graded_ids - set(known)), *predictions, "total",
            "max_total", "status", "isolation", "notes"]


def write_gradebook(reports, path):
    """One row per submission; an exercise a submission was not graded on is left empty."""
    columns = gradebook_columns(reports)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for graded in map(clean, reports):
            row = {"submission": graded["submission"], "student": graded.get("student", ""),
                   "chapter": graded["chapter"] or "", "total": f"{graded['total']:g}",
                   "max_total": f"{graded['max_total']:g}", "status": graded["status"],
                   "isolation": graded.get("isolation", ""), "notes": "; ".join(graded["notes"])}
            row.update({exercise_id: f"{result['points']:g}" for exercise_id, result in graded["exercises"].items()})
            if graded["chapter"] == PREDICTION_ASSIGNMENT:
                result = graded.get("prediction")
                row.update(hw02_points=f"{graded['total']:g}", hw02_public=f"{result['public']:.5f}" if result else "",
                           hw02_private=f"{result['private']:.5f}" if result else "")
            writer.writerow(row)
    os.replace(temporary, path)


LMS_IDENTITY = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]


def write_lms_export(reports, path):
    """The gradebook as an LMS imports it: one row per student, one column per chapter, and the total.

    It follows Canvas's gradebook CSV: the identity columns ``Student, ID, SIS User ID, SIS Login ID,
    Section`` (the student's folder or file name goes into ``Student`` and ``SIS Login ID``, which Canvas
    matches on; the others stay empty), a ``Points Possible`` row, then one row per student. A chapter
    column is named ``<notebook> (<chapter>)``, the HW02 prediction files' ``HW02 predictions (hw02-kaggle)``;
    a chapter the student did not submit is empty; of two submissions of one chapter the better counts; an
    unreadable one counts 0. For Moodle's "Import
    grades: CSV file", map ``SIS Login ID`` to the username and each chapter column to its grade item
    (Moodle skips the ``Points Possible`` row as an unknown user).
    """
    names = dict(chapter_notebooks(), **{PREDICTION_ASSIGNMENT: PREDICTION_TITLE})
    chapters = [chapter for chapter in names if any(graded["chapter"] == chapter for graded in reports)]
    titles = {chapter: f"{names[chapter]} ({chapter})" for chapter in chapters}
    maxima = {chapter: max(g["max_total"] for g in reports if g["chapter"] == chapter) for chapter in chapters}
    scores = {}
    for graded in map(clean, reports):
        if graded["chapter"] not in titles:
            continue
        student = scores.setdefault(graded.get("student") or graded["submission"], {})
        student[graded["chapter"]] = max(student.get(graded["chapter"], 0.0), float(graded["total"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(LMS_IDENTITY + [titles[chapter] for chapter in chapters] + ["Total"])
        writer.writerow(["Points Possible", "", "", "", ""] + [f"{maxima[c]:g}" for c in chapters]
                        + [f"{sum(maxima.values()):g}"])
        for student in sorted(scores):
            points = scores[student]
            writer.writerow([student, "", "", student, ""]
                            + [f"{points[c]:g}" if c in points else "" for c in chapters]
                            + [f"{sum(points.values()):g}"])
    os.replace(temporary, path)


def _write_atomically(path, text):
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
