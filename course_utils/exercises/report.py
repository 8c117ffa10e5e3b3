"""What grading writes: the gradebook CSV, a Markdown feedback file and a JSON report per submission.

A report is a plain dict (``grade.grade_submission`` builds it): ``submission``,
``path``, ``sha256``, ``chapter``, ``status``, ``total``, ``max_total``,
``notes``, ``exercises`` ({id: points, status, message, seconds, …}),
``cells`` (the cells that did not run cleanly), ``output`` (bytes printed, an
excerpt), ``timings``, ``isolation``, ``limits`` and ``graded_at``. The JSON
file is that dict; the CSV has one row of it per submission; the Markdown file
is what the student reads.
"""
import csv
import json
import os
from pathlib import Path

from .registry import all_exercises

STUDENT_STATUSES = {"passed": "passed", "failed": "wrong answer", "error": "raised an error",
                    "not attempted": "not attempted", "missing": "not found", "timeout": "too slow",
                    "memory": "out of memory", "crashed": "crashed"}


def file_stem(submission_id):
    """The file name (without suffix) for a submission's feedback: ``alice/00_x`` → ``alice__00_x``."""
    return submission_id.replace("/", "__")


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
        if result["status"] in ("missing", "timeout", "memory", "crashed"):
            detail = result["message"].splitlines()[-1].strip()
            notes.append(f"{exercise_id}: {STUDENT_STATUSES[result['status']]} ({detail})")
    if graded["output"]["bytes"] > limits.output_bytes:
        notes.append(f"the notebook printed {graded['output']['bytes'] / 2**20:.1f} MB; "
                     f"only the first {limits.output_bytes // 2**10} KB were kept")
    return notes


def feedback_markdown(graded):
    """The student's feedback: points per exercise, then what to fix, then problems with the notebook."""
    lines = [f"# Feedback on {graded['submission']}", ""]
    if graded["status"] in ("unreadable", "grader-error"):
        lines += ["**Not graded.** " + " ".join(graded["notes"]), ""]
        return "\n".join(lines)
    lines += [f"**{graded['total']:g} / {graded['max_total']:g} points** · chapter `{graded['chapter']}` · "
              f"graded {graded['graded_at']} on hidden cases (fresh random inputs, not the ones `check` uses)", "",
              "| Exercise | Points | Result |", "|---|---|---|"]
    for exercise_id, result in graded["exercises"].items():
        lines.append(f"| `{exercise_id}` | {result['points']:g} / {result['max_points']:g} | "
                     f"{STUDENT_STATUSES[result['status']]} |")
    unfinished = {i: r for i, r in graded["exercises"].items() if r["status"] != "passed"}
    if unfinished:
        lines += ["", "## What to fix"]
        for exercise_id, result in unfinished.items():
            lines += ["", f"### {exercise_id}", "", "```text", result["message"], "```"]
    if graded["notes"]:
        lines += ["", "## Problems with the notebook", ""] + [f"- {note}" for note in graded["notes"]]
    return "\n".join(lines) + "\n"


def write_feedback(graded, feedback_dir):
    """Write ``<id>.md`` (for the student) and ``<id>.json`` (everything, with timings) into feedback_dir."""
    stem = Path(feedback_dir) / file_stem(graded["submission"])
    _write_atomically(stem.with_suffix(".md"), feedback_markdown(graded))
    _write_atomically(stem.with_suffix(".json"), json.dumps(graded, indent=2, ensure_ascii=False) + "\n")


def gradebook_columns(reports):
    """submission, chapter, one column per exercise graded (in course order), total, max_total, status, notes."""
    graded_ids = {exercise_id for graded in reports for exercise_id in graded["exercises"]}
    known = [exercise_id for exercise_id in all_exercises() if exercise_id in graded_ids]
    return ["submission", "chapter", *known, *sorted(graded_ids - set(known)), "total", "max_total", "status",
            "notes"]


def write_gradebook(reports, path):
    """One row per submission; an exercise a submission was not graded on is left empty."""
    columns = gradebook_columns(reports)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".partial")
    with open(temporary, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for graded in reports:
            row = {"submission": graded["submission"], "chapter": graded["chapter"] or "",
                   "total": f"{graded['total']:g}", "max_total": f"{graded['max_total']:g}",
                   "status": graded["status"], "notes": "; ".join(graded["notes"])}
            row.update({exercise_id: f"{result['points']:g}" for exercise_id, result in graded["exercises"].items()})
            writer.writerow(row)
    os.replace(temporary, path)


def _write_atomically(path, text):
    temporary = path.with_name(path.name + ".partial")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
