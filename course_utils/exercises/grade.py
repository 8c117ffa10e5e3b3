"""Grading a class: every submitted notebook and HW02 prediction file, in parallel, into a gradebook and feedback.

:func:`grade` finds the notebooks and the ``.csv`` prediction files
(:func:`find_submissions`: a folder per student, nbgrader's ``submitted/``
folder, or a flat folder), grades each notebook in its own temporary working
directory (:class:`.session.Session`) and scores each prediction file against
the instructor's test labels (:mod:`course_utils.hw02.grading`: read, never run),
writes a Markdown feedback file and a JSON report per submission as soon as it
is graded, and the gradebook CSV at the end, whatever any submission did. A
submission's status is one of:

- ``graded``: every cell ran and every exercise was judged;
- ``graded-with-issues``: graded, but something went wrong in the notebook (a
  cell raised, hung or crashed the process; an answer is missing under its name;
  a limit was hit; the output was cut): the ``notes`` column says what;
- ``unreadable``: not a notebook the grader can read, or a prediction file that is not in the
  homework's format (no points; the notes say why);
- ``grader-error``: the grader itself failed on this submission (a bug: please report).

Hidden cases come from the grading key (:func:`grading_key`): the same key
gives the same cases, so the same submission gets the same grade and feedback
on every run, and a class split into shards (``shard=(K, N)``) and merged
(:func:`merge`) gets exactly what one run writes.
"""
import concurrent.futures
import hashlib
import json
import os
import secrets
import shutil
import stat
import tempfile
import time
import traceback
import warnings
from datetime import datetime, timezone
from pathlib import Path

from . import report
from .cells import MAX_NOTEBOOK_BYTES, Unreadable, cells_to_run, read_submission
from .registry import chapter_exercises, chapter_names, chapter_notebooks, chapter_of_notebook
from .sandbox import resolve_isolation
from .session import Limits, Session, prepare_workdir

LAYOUTS = ("auto", "per-student", "nbgrader", "flat")
SUFFIXES = (".ipynb", ".csv")
PREDICTION_NAMES = ("predictions", "prediction", "submission")   # left out of a flat file name's student


# ----------------------------------------------------------------------------- finding submissions


def find_submissions(paths, layout="auto"):
    """[(submission id, path, student)] for the given files and every ``*.ipynb`` and ``*.csv`` (an HW02
    prediction file) under the given folders.

    The id is the file name without ``.ipynb`` for a file, and its path relative to the folder for a
    folder (``alice/00_training_recipe``); a prediction file's id keeps its ``.csv`` (``alice/prediction.csv``),
    so it never meets a notebook's. The student is read from the layout of a folder:

    - ``per-student``: ``<student>/…/<notebook>.ipynb`` (a JupyterHub's home folders, an exchange);
    - ``nbgrader``: ``submitted/<student>/<assignment>/<notebook>.ipynb`` (the folder given may be the
      course folder that holds ``submitted/``, or ``submitted/`` itself);
    - ``flat``: ``<name>.ipynb`` in the folder itself; the student is the file name without the
      chapter's notebook name (``alice_00_training_recipe.ipynb`` → ``alice``, as an LMS download
      names its files), or without ``prediction`` for a prediction file (``alice_prediction.csv`` → ``alice``);
    - ``auto``: nbgrader's when there is a ``submitted/`` folder or the folder is one, flat when every
      submission is in the folder itself, else per-student.

    Raises ValueError for a missing path or a repeated id.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}: one of {', '.join(LAYOUTS)}")
    found = []
    for given in map(Path, paths):
        if given.is_dir():
            found += _in_folder(given, layout)
        elif given.is_file():
            found.append((_submission_id(Path(given.name)), given, _student_of_file(given.name)))
        else:
            raise ValueError(f"{given} does not exist: give submitted notebooks and prediction files, or folders "
                             f"that hold them")
    ids = [submission_id for submission_id, _, _ in found]
    repeated = sorted({submission_id for submission_id in ids if ids.count(submission_id) > 1})
    if repeated:
        raise ValueError(f"two submissions would share the id {repeated[0]!r}: grade their folder instead of "
                         f"the files, or rename one")
    return sorted(found)


def _in_folder(folder, layout):
    submitted = folder / "submitted"
    base = submitted if layout in ("nbgrader", "auto") and submitted.is_dir() else folder
    notebooks = sorted(path for path in base.rglob("*") if path.suffix.lower() in SUFFIXES
                       and ".ipynb_checkpoints" not in path.parts and path.is_file())
    relative = [path.relative_to(base) for path in notebooks]
    if layout == "auto":
        if base is submitted or folder.name == "submitted":
            layout = "nbgrader"
        else:
            layout = "flat" if all(len(path.parts) == 1 for path in relative) else "per-student"
    found = []
    for path, rel in zip(notebooks, relative):
        in_file_name = layout == "flat" or len(rel.parts) == 1   # else the student is the top folder
        found.append((_submission_id(rel), path, _student_of_file(rel.name) if in_file_name else rel.parts[0]))
    return found


def is_prediction_file(path):
    """Whether a submitted file is an HW02 prediction file (``.csv``) rather than a notebook."""
    return Path(path).suffix.lower() == ".csv"


def _submission_id(relative):
    """A notebook's id is its path without ``.ipynb``; a prediction file's keeps its ``.csv``."""
    return (relative if is_prediction_file(relative) else relative.with_suffix("")).as_posix()


def _student_of_file(name):
    """The student named in a file name: the name without its suffix, the chapter's notebook stem (or, for a
    prediction file, ``prediction``) and separators."""
    stem = Path(name).stem
    names = PREDICTION_NAMES if is_prediction_file(name) else chapter_notebooks().values()
    for notebook in sorted(names, key=len, reverse=True):
        if notebook in stem:
            rest = stem.replace(notebook, " ").strip(" _-.")
            return rest.split(" ")[0].strip(" _-.") or stem
    return stem


def shard_of(submissions, shard):
    """The part ``K`` of ``N`` (``shard=(K, N)``, K from 1) of the submissions: round robin over the
    submissions sorted by id, so the part depends only on the set of files, and parts differ in size by
    one submission at most."""
    index, count = shard
    if not 1 <= index <= count:
        raise ValueError(f"shard {index}/{count}: K must be between 1 and N")
    return [submission for position, submission in enumerate(sorted(submissions)) if position % count == index - 1]


# ----------------------------------------------------------------------------- the grading key


def grading_key(path):
    """The grading key in ``path`` (hex), created there (readable by its owner only) if it does not exist.

    Every run with the same key draws the same hidden cases. Keep the file, and keep it from the students:
    with it they could compute the hidden cases. Shards of one class must share it.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(temporary, path)   # atomic: of two shards starting at once, one key wins
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    text = path.read_text().strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ValueError(f"{path} does not hold a grading key (64 hex digits): delete it to make a new one")
    return key


def default_key_file():
    """Where the grading key lives unless told otherwise: the instructor's own configuration folder, outside
    any repository (``$XDG_CONFIG_HOME/course_utils/grading-key``, by default under ``~/.config``)."""
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "course_utils" / "grading-key"


def key_fingerprint(key):
    """What the reports record of the key: enough to tell two keys apart, nothing to recover it."""
    return hashlib.sha256(b"course-grading-key:" + key).hexdigest()[:16]


# ----------------------------------------------------------------------------- grading


def grade(paths, out, feedback_dir, jobs=1, limits=Limits(), isolation="auto", chapter=None, on_graded=None,
          key=None, shard=None, layout="auto", lms=None, answer_key=None, hw02_labels=None, hw02_lines=None):
    """Grade every submission; write the gradebook ``out``, and a ``.md`` and ``.json`` per submission.

    ``isolation`` is "auto", "bwrap" or "none" as for ``--sandbox`` (or an isolation that
    :func:`.sandbox.available_isolation` named): without a working sandbox it raises
    :class:`.sandbox.SandboxUnavailable` before anything is graded or written, unless "none" is given or
    there is no notebook to grade (a prediction file runs no code).
    ``key`` (bytes) seeds the hidden cases (default: a fresh one, so each run draws new cases);
    ``shard=(K, N)`` grades part K of N; ``lms`` is a path for the LMS export. ``on_graded(report)`` is
    called as each submission finishes. Prediction files are scored against ``answer_key``
    (:class:`course_utils.hw02.grading.AnswerKey`), by default the one ``hw02_labels`` and ``hw02_lines``
    give (:func:`course_utils.hw02.grading.answer_key`); when it cannot be made, it raises
    :class:`course_utils.hw02.grading.AnswerKeyError` before anything is graded or written.
    Returns the reports, sorted by submission id.
    """
    submissions = find_submissions(paths, layout)
    if not submissions:
        raise ValueError(f"no .ipynb or .csv files found in {', '.join(map(str, paths))}")
    if shard is not None:
        submissions = shard_of(submissions, shard)
    if any(not is_prediction_file(path) for _, path, _ in submissions):
        isolation = resolve_isolation(isolation)
    if answer_key is None and any(is_prediction_file(path) for _, path, _ in submissions):
        from course_utils.hw02.grading import answer_key as make_answer_key

        answer_key = make_answer_key(hw02_labels, hw02_lines)
    key = secrets.token_bytes(32) if key is None else key
    feedback_dir = Path(feedback_dir)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="course-grading-") as temporary:
        def one(index_and_submission):
            index, (submission_id, path, student) = index_and_submission
            return grade_and_write(submission_id, path, Path(temporary) / f"{index:05d}", limits, isolation,
                                   chapter, key, student, feedback_dir, on_graded, answer_key)

        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            reports = list(pool.map(one, enumerate(submissions)))
    report.write_gradebook(reports, Path(out))
    if lms is not None:
        report.write_lms_export(reports, Path(lms))
    return reports


def grade_and_write(submission_id, path, workdir, limits, isolation, chapter, key, student, feedback_dir,
                    on_graded=None, answer_key=None):
    """Grade one submission and write its feedback; never raises: any failure is this submission's status."""
    try:
        if is_prediction_file(path):
            graded = grade_prediction_file(submission_id, path, answer_key, key, student)
        else:
            graded = grade_submission(submission_id, path, workdir, limits, isolation, chapter, key, student)
    except Exception as error:   # grade_submission guards itself; this is the guard's guard
        graded = _failed({"submission": submission_id, "student": student or submission_id, "path": str(path),
                          "chapter": chapter, "max_total": 0.0, "exercises": {}, "cells": [], "isolation": isolation,
                          "output": {"bytes": 0, "excerpt": ""}}, error)
    try:
        report.write_feedback(graded, feedback_dir)
    except Exception as error:   # our own bug: the report says it, the class goes on
        graded = _failed(graded, error)
        try:
            report.write_feedback(graded, feedback_dir)
        except Exception:
            pass
    if on_graded is not None:
        try:
            on_graded(graded)
        except Exception:
            pass
    return graded


def grade_submission(submission_id, path, workdir, limits, isolation, chapter=None, key=b"", student=None):
    """The report (a dict, see :mod:`.report`) of one submission; never raises."""
    started = time.monotonic()
    graded = {"submission": submission_id, "student": student or submission_id.split("/")[0],
              "path": str(path), "status": "graded", "chapter": chapter, "total": 0.0, "max_total": 0.0,
              "notes": [], "exercises": {}, "cells": [], "output": {"bytes": 0, "excerpt": ""},
              "isolation": isolation, "containment": "none", "limits": vars(limits).copy(),
              "hidden_cases_key": key_fingerprint(bytes(key)),
              "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        data = _read_plain_file(path)
        graded["sha256"] = _sha256(data)
        _grade_into(graded, Path(path), data, workdir, limits, isolation, chapter, key)
        if _sha256(_read_plain_file(path)) != graded["sha256"]:
            graded["notes"].append("the file changed while it was being graded (not by the grader); the version "
                                   "read at the start was graded")
            graded["status"] = "graded-with-issues"
    except Unreadable as problem:   # no points; the chapter still from the file name, for the LMS export
        chapter = graded["chapter"] or chapter or chapter_of_notebook(Path(path).name)
        graded.update(status="unreadable", notes=[str(problem)], total=0.0, chapter=chapter, exercises={},
                      max_total=sum(exercise.points for exercise in chapter_exercises(chapter)) if chapter else 0.0)
    except Exception as error:   # our own bug: keep grading the class, report it, exit non-zero at the end
        graded = _failed(graded, error)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    graded["timings"] = dict(graded.get("timings", {}), total_seconds=round(time.monotonic() - started, 3))
    return graded


def grade_prediction_file(submission_id, path, answer_key, key=b"", student=None):
    """The report of one HW02 prediction file, scored against ``answer_key`` (never run); never raises."""
    from course_utils.hw02 import grading as hw02

    started = time.monotonic()
    graded = {"submission": submission_id, "student": student or submission_id.split("/")[0], "path": str(path),
              "status": "graded", "chapter": hw02.ASSIGNMENT, "total": 0.0, "max_total": hw02.MAX_POINTS,
              "notes": [], "exercises": {}, "cells": [], "output": {"bytes": 0, "excerpt": ""},
              "isolation": "no code run", "containment": "none", "hidden_cases_key": key_fingerprint(bytes(key)),
              "graded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    try:
        if answer_key is None:
            raise ValueError("no answer key: grade() makes one for every class with a prediction file")
        data = _read_plain_file(path, answer_key.max_bytes(), "a prediction file")
        graded["sha256"] = _sha256(data)
        graded["prediction"] = hw02.score(data, answer_key)
        graded["total"] = graded["prediction"]["points"]
    except (Unreadable, hw02.Malformed) as problem:
        graded.update(status="unreadable", total=0.0, notes=[f"the prediction file cannot be scored: {problem}"])
    except Exception as error:   # our own bug: keep grading the class, report it, exit non-zero at the end
        graded = _failed(graded, error)
    graded["timings"] = {"total_seconds": round(time.monotonic() - started, 3)}
    return graded


def _read_plain_file(path, limit=MAX_NOTEBOOK_BYTES, kind="a notebook"):
    """The bytes of a submitted file (at most ``limit`` + 1: more is refused as too large); Unreadable for a
    symbolic link (it may point anywhere) or not a file."""
    if os.path.islink(path):
        raise Unreadable(f"the file is a symbolic link, not {kind}: submit the file itself")
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        raise Unreadable(f"the file cannot be opened ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise Unreadable("it is not a regular file")
        return handle.read(limit + 1)   # more is refused as too large


def _failed(graded, error):
    return dict(graded, status="grader-error", total=0.0,
                notes=[f"the grader failed: {type(error).__name__}: {str(error)[:500]}"],
                traceback=traceback.format_exc())


def _grade_into(graded, path, data, workdir, limits, isolation, chapter, key):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # nbformat's warnings while converting an old notebook
        try:
            notebook, notes = read_submission(data)
        except (RecursionError, MemoryError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise Unreadable(f"the file is not a notebook the grader can read ({type(error).__name__})") from None
    graded["notes"] += notes
    course = notebook.get("metadata", {}).get("course")
    named = course.get("chapter") if isinstance(course, dict) else None
    chapter = chapter or chapter_of_notebook(path.name) or (named if isinstance(named, str) else None)
    if chapter not in chapter_names():
        raise Unreadable(f"cannot tell which chapter this notebook is: its name contains none of the chapter "
                         f"notebooks' names and its metadata names none (known chapters: "
                         f"{', '.join(chapter_names())}); pass --chapter")
    exercises = chapter_exercises(chapter)
    graded.update(chapter=chapter, max_total=sum(exercise.points for exercise in exercises))
    cells = cells_to_run(notebook)
    workdir, files = prepare_workdir(workdir, path.name, data)
    session = Session(workdir, cells, limits, isolation, key=key, bound=files, exercises=exercises)
    graded["containment"] = session.containment.kind
    try:
        for exercise in exercises:
            try:
                result = session.grade(exercise).to_dict()
            except Exception as error:   # a value the judging code did not expect: this exercise's status
                session.close()
                result = {"id": exercise.id, "status": "grader-error", "points": 0.0, "max_points": exercise.points,
                          "cases_passed": 0, "cases_run": 0, "seconds": 0.0,
                          "message": f"✘ {exercise.id}: the grader could not judge this answer "
                                     f"({type(error).__name__}: {str(error)[:300]}); 0/{exercise.points:g} points. "
                                     f"Please tell your instructor: this is a bug in the grader.",
                          "traceback": traceback.format_exc()}
            graded["exercises"][exercise.id] = result
    finally:
        session.release()
    first_lines = {index: (source.strip().splitlines() or [""])[0][:60] for index, source in cells}
    graded["cells"] = [dict(vars(cell), seconds=round(cell.seconds, 3), first_line=first_lines.get(cell.index, ""))
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


# ----------------------------------------------------------------------------- merging shards


def merge(feedback_dirs, out, feedback_dir, lms=None):
    """Combine the feedback folders of the shards of one class into what one run would have written.

    Reads every JSON report in ``feedback_dirs``, copies its ``.md`` and ``.json`` into ``feedback_dir``
    (unless it is already there), and writes the gradebook ``out`` (and the LMS export ``lms``).
    Raises ValueError when a submission is in two shards with different reports, or the shards used
    different grading keys. Returns the reports, sorted by submission id.
    """
    feedback_dir = Path(feedback_dir)
    feedback_dir.mkdir(parents=True, exist_ok=True)
    reports, keys = {}, set()
    for folder in map(Path, feedback_dirs):
        for path in sorted(folder.glob("*.json")):
            try:
                graded = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as error:
                raise ValueError(f"{path} cannot be read as a grading report ({error})") from None
            if not isinstance(graded, dict) or not {"submission", "exercises", "total"} <= set(graded):
                continue   # not a report of ours
            earlier = reports.get(graded["submission"])
            if earlier is not None and earlier[0] != graded:
                raise ValueError(f"{graded['submission']} was graded in two shards, with different results")
            reports[graded["submission"]] = (graded, path)
            keys.add(graded.get("hidden_cases_key"))
    if len(keys) > 1:
        raise ValueError("the shards were graded with different grading keys (so on different hidden cases): "
                         "grade every shard with the same --key-file")
    for graded, path in reports.values():
        for source in (path, path.with_suffix(".md")):
            target = feedback_dir / source.name
            if source.exists() and source.resolve() != target.resolve():
                shutil.copyfile(source, target)
    ordered = [graded for _, (graded, _) in sorted(reports.items())]
    report.write_gradebook(ordered, Path(out))
    if lms is not None:
        report.write_lms_export(ordered, Path(lms))
    return ordered
