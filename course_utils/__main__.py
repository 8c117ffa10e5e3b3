"""The course's command line: release the student notebooks, grade submitted ones, merge graded shards,
fill a student's own notebook folder.

    python -m course_utils release --out release/
    python -m course_utils grade submissions/ --out grades.csv --feedback-dir feedback/ --jobs 2
    python -m course_utils grade predictions/ --hw02-labels CORPUS_FOLDER     # HW02 prediction CSVs
    python -m course_utils merge shard-*/feedback --out grades.csv --feedback-dir feedback/
    python -m course_utils workspace ~/why-training-fails-notebooks

Run any with ``--help`` for every option. Exit status: 0 when everything
given was released or graded (a failing submission is still graded: it gets a
status in the gradebook), 1 when release refused, when grading refused to run
(no working sandbox for a class with notebooks, or no HW02 test labels
or lines for a class with prediction files: nothing is graded or written),
when shards cannot be merged, when a student's notebook folder cannot be made or filled (nothing
is written), or when the grader failed on a submission (a bug: see its JSON
report), 2 for a mistake on the command line.
"""
import argparse
import os
import sys
import threading
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="{release,grade,merge,workspace}")
    for add_parser in (_release_parser, _grade_parser, _merge_parser, _workspace_parser):
        add_parser(commands)
    args = parser.parse_args(argv)
    return args.run(args, args.parser)


def _refused(message):
    print(f"error: {message}", file=sys.stderr)
    return 1


def _release_parser(commands):
    command = commands.add_parser(
        "release", help="write the student notebooks (solutions removed)",
        description="Write the student copy of each instructor notebook: solution cells removed, exercise and "
                    "check outputs cleared, execution counts reset, exercise and check cells marked in metadata.")
    command.add_argument("notebooks", nargs="*", type=Path, metavar="NOTEBOOK",
                         help="instructor notebooks to release (default: every notebooks/*.ipynb)")
    command.add_argument("--out", type=Path, default=Path("release"), help="folder for the student notebooks "
                         "(default: release/)")
    command.add_argument("--force", action="store_true", help="overwrite student notebooks that already exist there")
    command.set_defaults(run=_release, parser=command)


def _add_gradebook_outputs(command, feedback_help):
    """The outputs grade and merge share: the gradebook, the feedback folder and the LMS export."""
    command.add_argument("--out", type=Path, default=Path("grades.csv"), help="the gradebook (default: grades.csv)")
    command.add_argument("--feedback-dir", type=Path, default=Path("feedback"),
                         help=f"{feedback_help} (default: feedback/)")
    command.add_argument("--lms", type=Path, metavar="CSV",
                         help="also write the gradebook as an LMS imports it (Canvas's CSV: a row per student, "
                              "a column per chapter, the total)")


def _grade_parser(commands):
    command = commands.add_parser(
        "grade", help="grade submitted notebooks and HW02 prediction files into a gradebook",
        description="Grade submitted notebooks on hidden cases, each in its own sandboxed process, and HW02 "
                    "prediction files (Id,Class CSV) against the instructor's test labels, as Kaggle did; write a "
                    "gradebook (CSV), a Markdown feedback file and a JSON report per submission.")
    command.add_argument("paths", nargs="+", type=Path, metavar="FILE_OR_DIR",
                         help="submitted notebooks and prediction files, or folders searched for *.ipynb and *.csv")
    _add_gradebook_outputs(command, "folder for <submission>-<hash>.md and .json")
    command.add_argument("--layout", choices=("auto", "per-student", "nbgrader", "flat"), default="auto",
                         help="how a folder names students: per-student (<student>/<notebook>.ipynb), nbgrader "
                              "(submitted/<student>/<assignment>/<notebook>.ipynb), flat (<student>_<notebook>"
                              ".ipynb); default: auto")
    command.add_argument("--shard", metavar="K/N",
                         help="grade only part K of N (round robin over the submissions sorted by id); merge the "
                              "parts' feedback folders with `python -m course_utils merge`")
    command.add_argument("--key-file", type=Path, default=None,
                         help="the grading key that seeds the hidden cases, created if missing; the same key "
                              "gives the same grade on every run; shards must share it; keep it from students "
                              "(default: $XDG_CONFIG_HOME/course_utils/grading-key, i.e. "
                              "~/.config/course_utils/grading-key)")
    command.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default: 1)")
    command.add_argument("--chapter", help="grade every submission as this chapter (default: from the file name, "
                                           "e.g. 00_training_recipe → recipe, or the notebook's metadata)")
    command.add_argument("--cell-timeout", type=float, default=120, metavar="SECONDS",
                         help="wall time one notebook cell may take (default: 120)")
    command.add_argument("--exercise-timeout", type=float, default=30, metavar="SECONDS",
                         help="wall time one exercise's hidden cases may take together (default: 30)")
    command.add_argument("--submission-timeout", type=float, default=900, metavar="SECONDS",
                         help="wall time one whole submission may take (default: 900)")
    command.add_argument("--memory-gib", type=float, default=4, metavar="GIB",
                         help="memory limit of one submission, all its processes and RAM-disk files together "
                              "where cgroups are available, else of each of its processes, in GiB (default: 4)")
    command.add_argument("--processes", type=int, default=64,
                         help="processes and threads one submission may have at once (default: 64)")
    command.add_argument("--disk-mib", type=float, default=512, metavar="MIB",
                         help="size of each RAM disk of a submission (working copy, /tmp, /dev/shm) and of any "
                              "file it writes, in MiB (default: 512)")
    command.add_argument("--hw02-labels", type=Path, metavar="PATH",
                         help="for HW02 prediction files (*.csv): the instructor's corpus folder, or its "
                              "test_labels.txt, which a student's release lacks (default: the default local "
                              "corpus, as python -m course_utils.hw02 corpus prints it)")
    command.add_argument("--hw02-lines", type=Path, metavar="FILE",
                         help="the leaderboard's lines for that corpus, as python -m course_utils.hw02.lines writes "
                              "them (default: the table in course_utils/hw02/lines.py)")
    command.add_argument("--sandbox", choices=("auto", "bwrap", "none"), default="auto",
                         help="auto, bwrap: in bubblewrap, and refuse to grade without it; none: WITHOUT "
                              "isolation (the gradebook says so on every row) (default: auto)")
    command.set_defaults(run=_grade, parser=command)


def _merge_parser(commands):
    command = commands.add_parser(
        "merge", help="combine the feedback folders of graded shards into one gradebook",
        description="Combine the feedback folders written by `grade --shard K/N` into the gradebook and feedback "
                    "folder one run over the whole class would have written.")
    command.add_argument("feedback_dirs", nargs="+", type=Path, metavar="FEEDBACK_DIR",
                         help="the shards' feedback folders (their JSON reports are read)")
    _add_gradebook_outputs(command, "folder the feedback files are gathered in")
    command.set_defaults(run=_merge, parser=command)


def _workspace_parser(commands):
    command = commands.add_parser(
        "workspace", help="make or fill a student's own notebook folder (what make lab opens)",
        description="Write the student copy (solutions removed, as release writes it) of every chapter that FOLDER "
                    "lacks, making FOLDER if needed. A notebook already in FOLDER is never changed: delete or "
                    "rename one to get a fresh copy of its chapter on the next run.")
    command.add_argument("folder", type=Path, metavar="FOLDER", help="the student's notebook folder")
    command.add_argument("--source", type=Path, default=Path("notebooks"),
                         help="folder of the instructor notebooks (default: notebooks/)")
    command.add_argument("--language", default="en", metavar="LANG",
                         help="en (default), zh_CN or zh_TW: markdown cells translated from the book's catalogues "
                              "(book/locales), code cells as in English")
    command.set_defaults(run=_workspace, parser=command)


def _workspace(args, parser):
    from .exercises.workspace import WorkspaceError, report, workspace

    notebooks = sorted(args.source.glob("*.ipynb"))
    if not notebooks:
        parser.error(f"no notebooks in {args.source}/ (run from the repository root, or give --source)")
    try:
        result = workspace(args.folder, notebooks, language=args.language,
                           locales=args.source.resolve().parent / "book" / "locales")
    except WorkspaceError as error:
        return _refused(error)
    print("\n".join(report(result)))
    repository = args.source.resolve().parent
    if result.folder.resolve().is_relative_to(repository):
        print(f"note: {result.folder} is inside the course repository, where `git clean -x` would delete it; a "
              f"folder outside it (the default of make lab) is safer")
    return 0


def _release(args, parser):
    from .exercises.release import ReleaseError, release

    notebooks = args.notebooks or sorted(Path("notebooks").glob("*.ipynb"))
    if not notebooks:
        parser.error("no notebooks to release: notebooks/*.ipynb is empty (run from the repository root)")
    try:
        written = release(notebooks, args.out, force=args.force)
    except ReleaseError as error:
        return _refused(error)
    for path in written:
        print(f"released {path}")
    return 0


def _grade(args, parser):
    from .exercises.grade import default_key_file, find_submissions, grade, grading_key, is_prediction_file
    from .exercises.sandbox import SandboxUnavailable, resolve_isolation

    try:   # first, and quickly: without a sandbox nothing is read, graded or written
        isolation = resolve_isolation(args.sandbox)
    except SandboxUnavailable as error:
        try:   # a class of prediction files only runs no code, and needs no sandbox
            predictions_only = all(map(is_prediction_file, (path for _, path, _ in find_submissions(args.paths,
                                                                                                    args.layout))))
        except ValueError:
            predictions_only = False
        if not predictions_only:
            return _refused(error)
        isolation = None
    from .exercises.registry import chapter_names
    from .exercises.session import Limits

    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    shard = None
    if args.shard is not None:
        try:
            shard = tuple(int(part) for part in args.shard.split("/"))
            if len(shard) != 2 or not 1 <= shard[0] <= shard[1]:
                raise ValueError
        except ValueError:
            parser.error(f"--shard {args.shard}: give K/N with 1 <= K <= N, e.g. 3/8")
    try:
        submissions = find_submissions(args.paths, args.layout)
    except ValueError as error:
        parser.error(str(error))
    if not submissions:
        parser.error(f"no .ipynb or .csv files found in {', '.join(map(str, args.paths))}")
    answer_key = None
    if any(is_prediction_file(path) for _, path, _ in submissions):
        from .hw02.grading import AnswerKeyError, answer_key as make_answer_key

        try:
            answer_key = make_answer_key(args.hw02_labels, args.hw02_lines)
        except AnswerKeyError as error:
            return _refused(f"{error}. Nothing was graded.")
        print(f"HW02 prediction files: test labels of {answer_key.corpus}; lines: {answer_key.lines.source}")
    if args.chapter is not None and args.chapter not in chapter_names():
        parser.error(f"--chapter {args.chapter}: no such chapter (known: {', '.join(chapter_names())})")
    try:
        key = grading_key(args.key_file or default_key_file())
    except (OSError, ValueError) as error:
        parser.error(f"--key-file: {error}")
    if any(not is_prediction_file(path) for _, path, _ in submissions):
        _say_isolation(isolation)
    else:
        isolation = isolation or "none"   # unused: a prediction file is read, never run
    limits = Limits(cell_seconds=args.cell_timeout, exercise_seconds=args.exercise_timeout,
                    submission_seconds=args.submission_timeout, memory_bytes=int(args.memory_gib * 2**30),
                    processes=args.processes, disk_bytes=int(args.disk_mib * 2**20),
                    threads=max(1, (os.cpu_count() or 1) // args.jobs))
    progress = _Progress()
    reports = grade(args.paths, args.out, args.feedback_dir, jobs=args.jobs, limits=limits, isolation=isolation,
                    chapter=args.chapter, on_graded=progress, key=key, shard=shard, layout=args.layout,
                    lms=args.lms, answer_key=answer_key)
    failed = [graded for graded in reports if graded["status"] == "grader-error"]
    for graded in failed:
        print(f"grader error on {graded['submission']}:\n{graded.get('traceback', '')}", file=sys.stderr)
    print(f"gradebook: {args.out}; feedback and JSON reports: {args.feedback_dir}/"
          + (f"; LMS export: {args.lms}" if args.lms else ""))
    return 1 if failed else 0


def _merge(args, parser):
    from .exercises.grade import merge

    missing = [str(folder) for folder in args.feedback_dirs if not folder.is_dir()]
    if missing:
        parser.error(f"no such feedback folder: {', '.join(missing)}")
    try:
        reports = merge(args.feedback_dirs, args.out, args.feedback_dir, lms=args.lms)
    except ValueError as error:
        return _refused(error)
    print(f"merged {len(reports)} submissions: gradebook {args.out}; feedback {args.feedback_dir}/")
    return 1 if any(graded["status"] == "grader-error" for graded in reports) else 0


def _say_isolation(isolation):
    if isolation == "none":
        print("warning: --sandbox none: student code runs WITHOUT isolation (it can read and write whatever this "
              "user can; time and memory limits still apply). The gradebook's isolation column says none.",
              file=sys.stderr)
    else:
        print(f"isolation: {isolation} (student code sees only its own working folder, read-only system and "
              f"Python files, no network)")


class _Progress:
    """Prints one line per graded submission: its number, id, points, status and time."""

    def __init__(self):
        self.done, self.lock = 0, threading.Lock()

    def __call__(self, graded):
        with self.lock:
            self.done += 1
            print(f"[{self.done:3d}] {graded['submission']}: {graded['total']:g}/{graded['max_total']:g} "
                  f"{graded['status']} ({graded['timings']['total_seconds']:.1f} s)", flush=True)


if __name__ == "__main__":
    sys.exit(main())
