"""Grading a class: every submitted notebook, in parallel, into a gradebook and feedback files.

:func:`grade` finds the notebooks, grades each one in its own temporary
working directory (:class:`.session.Session`), writes a Markdown feedback file
and a JSON report per submission as soon as it is graded, and the gradebook
CSV at the end. A submission's status is one of:

- ``graded``: every cell ran and every exercise was judged;
- ``graded-with-issues``: graded, but something went wrong in the notebook (a
  cell raised, hung or crashed the process; an answer is missing under its name;
  a limit was hit; the output was cut): the ``notes`` column says what;
- ``unreadable``: not a notebook the grader can read (no points);
- ``grader-error``: the grader itself failed on this submission (a bug: please report).
"""
import concurrent.futures
import hashlib
import shutil
import tempfile
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

from . import report
from .cells import Unreadable, cells_to_run, read_submission
from .registry import chapter_exercises, chapter_names, chapter_of_notebook
from .sandbox import resolve_isolation
from .session import Limits, Session, prepare_workdir

SUBMISSION_STATUSES = ("graded", "graded-with-issues", "unreadable", "grader-error")


def find_submissions(paths):
    """[(submission id, path)] for the given files and every ``*.ipynb`` under the given folders.

    The id is the file name without ``.ipynb`` for a file, and its path relative to the folder for
    a folder (``alice/00_training_recipe``). Raises ValueError for a missing path or a repeated id.
    """
    found = []
    for given in map(Path, paths):
        if given.is_dir():
            notebooks = sorted(path for path in given.rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts)
            found += [(path.relative_to(given).with_suffix("").as_posix(), path) for path in notebooks]
        elif given.is_file():
            found.append((given.stem, given))
        else:
            raise ValueError(f"{given} does not exist: give submitted notebooks or folders that hold them")
    ids = [submission_id for submission_id, _ in found]
    repeated = sorted({submission_id for submission_id in ids if ids.count(submission_id) > 1})
    if repeated:
        raise ValueError(f"two submissions would share the id {repeated[0]!r}: grade their folder instead of "
                         f"the files, or rename one")
    return found


def grade(paths, out, feedback_dir, jobs=1, limits=Limits(), isolation="auto", chapter=None, on_graded=None):
    """Grade every submission; write the gradebook ``out``, and ``feedback_dir/<id>.md`` and ``.json``.

    ``isolation`` is "auto", "bwrap" or "none" as for ``--sandbox`` (or an isolation that
    :func:`.sandbox.available_isolation` named). ``on_graded(report)`` is called as each submission
    finishes (the CLI prints progress with it). Returns the reports in submission order.
    """
    if isolation in ("auto", "bwrap"):
        isolation = resolve_isolation(isolation)
    submissions = find_submissions(paths)
    if not submissions:
        raise ValueError(f"no .ipynb files found in {', '.join(map(str, paths))}")
    feedback_dir = Path(feedback_dir)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-grading-") as temporary:
        def one(index_and_submission):
            index, (submission_id, path) = index_and_submission
            graded = grade_submission(submission_id, path, Path(temporary) / f"{index:05d}", limits, isolation,
                                      chapter)
            report.write_feedback(graded, feedback_dir)
            if on_graded is not None:
                on_graded(graded)
            return graded

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            reports = list(pool.map(one, enumerate(submissions)))
    report.write_gradebook(reports, Path(out))
    return reports


def grade_submission(submission_id, path, workdir, limits, isolation, chapter=None):
    """The report (a dict, see :mod:`.report`) of one submission; never raises."""
    started = time.monotonic()
    graded = {"submission": submission_id, "path": str(path), "status": "graded", "chapter": chapter,
              "total": 0.0, "max_total": 0.0, "notes": [], "exercises": {}, "cells": [],
              "output": {"bytes": 0, "excerpt": ""}, "isolation": isolation, "limits": vars(limits).copy(),
              "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        data = Path(path).read_bytes()
        graded["sha256"] = _sha256(data)
        _grade_into(graded, Path(path), data, workdir, limits, isolation, chapter)
        if _sha256(Path(path).read_bytes()) != graded["sha256"]:
            graded["notes"].append("the file changed while it was being graded (not by the grader); the version "
                                   "read at the start was graded")
            graded["status"] = "graded-with-issues"
    except Unreadable as problem:
        graded.update(status="unreadable", notes=[str(problem)])
    except Exception as error:   # our own bug: keep grading the class, report it, exit non-zero at the end
        graded.update(status="grader-error", notes=[f"the grader failed: {type(error).__name__}: {error}"],
                      traceback=traceback.format_exc())
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    graded["timings"] = dict(graded.get("timings", {}), total_seconds=round(time.monotonic() - started, 3))
    return graded


def _grade_into(graded, path, data, workdir, limits, isolation, chapter):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nbformat's warnings while converting an old notebook
        notebook, notes = read_submission(data)
    graded["notes"] += notes
    course = notebook.get("metadata", {}).get("course")
    chapter = chapter or chapter_of_notebook(path.name) or (course.get("chapter") if isinstance(course, dict)
                                                                  else None)
    if chapter not in chapter_names():
        raise Unreadable(f"cannot tell which chapter this notebook is: its name contains none of the chapter "
                         f"notebooks' names and its metadata names none (known chapters: "
                         f"{', '.join(chapter_names())}); pass --chapter")
    exercises = chapter_exercises(chapter)
    graded.update(chapter=chapter, max_total=sum(exercise.points for exercise in exercises))
    cells = cells_to_run(notebook)
    session = Session(prepare_workdir(workdir, path.name, data), cells, limits, isolation)
    try:
        for exercise in exercises:
            result = session.grade(exercise)
            graded["exercises"][exercise.id] = result.to_dict()
    finally:
        session.close()
    first_lines = {index: source.strip().splitlines()[0][:60] for index, source in cells}
    graded["cells"] = [dict(vars(cell), seconds=round(cell.seconds, 3), first_line=first_lines[cell.index])
                       for cell in sorted(session.reports.values(), key=lambda cell: cell.index)]
    graded["output"] = {"bytes": session.output.total,
                        "excerpt": session.output.excerpt.decode("utf-8", errors="replace")}
    graded["total"] = sum(result["points"] for result in graded["exercises"].values())
    graded["timings"] = {"processes_started": len(session.startups),
                         "startup_seconds": round(sum(session.startups), 3),
                         "cells_seconds": round(sum(cell.seconds for cell in session.reports.values()), 3),
                         "exercises_seconds": round(sum(r["seconds"] for r in graded["exercises"].values()), 3)}
    graded["notes"] += report.problems(graded, limits)
    if graded["notes"]:
        graded["status"] = "graded-with-issues"


def _sha256(data):
    return hashlib.sha256(data).hexdigest()
