"""The leaderboard's lines: what each preset of the ladder scores on a corpus, the baselines a submission must pass.

The homework's Kaggle leaderboard (ML 2022 Spring HW02) showed four lines, the scores of
the TAs' own models: simple 0.45797 (the sample code), medium 0.69747 (context frames,
more layers), strong 0.75028 (+ BatchNorm, dropout), boss 0.82324 (a sequence model).
A submission passes a line on a leaderboard when its accuracy there is at least the line's,

    passed(board, line) = acc_board ≥ line_board,    board ∈ {public, private},

and each line was measured on both halves of the test set, like any submission. The
course's lines are its four presets (`training.PRESETS`, the same recipes) trained with
``python -m course_utils.hw02 ladder`` on the local corpus and scored like a submission.

`LINES` is the table of lines, one entry per corpus (by `corpus_key`, the hash that also
names its cache folder), each with where its numbers come from. Another corpus (other
parameters, another generator version, a seed of your own) has other lines; measure them:

    python -m course_utils.hw02 ladder --out runs/ladder        # --corpus-seed … as for the corpus
    python -m course_utils.hw02.lines --ladder runs/ladder --out hw02_lines.json

The second command scores the ladder's ``<preset>/prediction.csv`` files against the test
labels (several ``--ladder`` folders, e.g. one per seed, give the mean), writes the lines
file that ``python -m course_utils grade --hw02-lines`` reads, and prints the entry that
makes them the course's lines for that corpus in `LINES`.
"""
import argparse
import dataclasses
import hashlib
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

PRESET_ORDER = ("simple", "medium", "strong", "boss")
BOARDS = ("public", "private")
#: The real homework's lines (Kaggle, public leaderboard), for comparison only.
KAGGLE_LINES = {"simple": 0.45797, "medium": 0.69747, "strong": 0.75028, "boss": 0.82324}


@dataclasses.dataclass(frozen=True)
class Lines:
    """The accuracy of each line on each leaderboard: ``public[preset]``, ``private[preset]``."""
    public: dict
    private: dict
    source: str

    def board(self, name):
        return self.public if name == "public" else self.private


#: The course's ladder on the default corpus (``python -m course_utils.hw02 ladder --seeds 0 1 2``), whose
#: result file chapter 6 shows: the default corpus's lines are read from it (`lines_of_ladder`).
LADDER_RESULT = Path(__file__).parent / "results" / "ladder.json"


def lines_of_ladder(path):
    """(corpus key, Lines) from a result file of ``python -m course_utils.hw02 ladder``: each preset's line on
    each board is the mean of its public (private) accuracy over the seeds in the file."""
    result = json.loads(Path(path).read_text(encoding="utf-8"))
    runs = result["runs"]
    mean = lambda values: sum(values) / len(values)   # noqa: E731
    boards = {board: {preset: mean([r[board] for r in runs if r["name"] == preset]) for preset in PRESET_ORDER}
              for board in BOARDS}
    seeds = sorted({r["seed"] for r in runs})
    machine = result["machine"]
    source = (f"{result['command']} (seeds {', '.join(map(str, seeds))}: the mean), {machine['cpus']} CPUs "
              f"({machine['processor']}), device {machine['device']}; {Path(path).name} in course_utils/hw02/results")
    return result["corpus"]["key"], Lines(boards["public"], boards["private"], source)


LINES = {
    # The default corpus (`corpus.CorpusConfig()`), eSpeak NG 1.52.0: from the course's ladder.
    **dict([lines_of_ladder(LADDER_RESULT)]),
    # Generator version 3's default (`CorpusConfig(**corpus.VERSION_3)`, 3000 + 1000 utterances, seed 0).
    "91089329a6b17bc7": Lines(
        public=dict(simple=0.585, medium=0.725, strong=0.745, boss=0.772),
        private=dict(simple=0.584, medium=0.724, strong=0.744, boss=0.770),
        source="`python -m course_utils.hw02 ladder` on version 3's corpus with the presets of that time (one "
               "seed, 5 epochs each; strong 3 × 384 with dropout 0.25), 2 CPU cores, 23 minutes; each preset's "
               "prediction.csv scored with `python -m course_utils.hw02 score` (three decimals)"),
}


class LinesError(ValueError):
    """Lines that cannot be found or read; the message names the fix."""


def corpus_key(folder):
    """The key of the corpus in `folder`: the hash of its ``corpus.json`` (as `CorpusConfig.key` computes it,
    so it is also the name of its cache folder), or None when the folder has no readable ``corpus.json``."""
    try:
        spec = json.loads((Path(folder) / "corpus.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def measure_command(corpus_folder):
    """The commands that measure the lines of a corpus, for messages."""
    return ("python -m course_utils.hw02 ladder --out runs/ladder, then python -m course_utils.hw02.lines "
            f"--ladder runs/ladder --corpus {corpus_folder} --out hw02_lines.json")


def lines_for(key, corpus_folder, lines_file=None):
    """The lines to grade against: those in `lines_file` when given (they must be for corpus `key`), else
    the entry of `LINES` for `key`. Raises LinesError, naming the command that measures them, when none fit."""
    if lines_file is not None:
        found_key, lines = read_lines_file(lines_file)
        if key is not None and found_key is not None and found_key != key:
            raise LinesError(f"{lines_file} holds the lines of corpus {found_key}, but the test labels are those of "
                             f"corpus {key} ({corpus_folder}): measure this corpus's lines "
                             f"({measure_command(corpus_folder)})")
        return lines
    if key in LINES:
        return LINES[key]
    raise LinesError(f"no lines are measured for the corpus at {corpus_folder} (key {key or 'unknown: no corpus.json'}"
                     f"; the table in course_utils/hw02/lines.py has {', '.join(sorted(LINES))}). Measure them: "
                     f"{measure_command(corpus_folder)}; then grade with --hw02-lines hw02_lines.json")


def measure(ladder_folders, answers, public):
    """Lines from the ladder's prediction files: for each preset, the mean over `ladder_folders` (each folder's
    ``seed-*`` folders, where ``ladder --seeds`` made them) of the public and private accuracy of
    ``<folder>/<preset>/prediction.csv`` (`answers`: the true classes, `public`: the public mask). Raises
    LinesError for a missing or unreadable file."""
    from .grading import Malformed, accuracies, parse_predictions

    scores = {board: {preset: [] for preset in PRESET_ORDER} for board in BOARDS}
    for folder in (seed for given in map(Path, ladder_folders) for seed in sorted(given.glob("seed-*")) or [given]):
        for preset in PRESET_ORDER:
            path = folder / preset / "prediction.csv"
            if not path.is_file():
                raise LinesError(f"{path} does not exist: run python -m course_utils.hw02 ladder --out {folder} "
                                 f"(all four presets) first")
            try:
                classes = parse_predictions(path.read_bytes(), len(answers))
            except Malformed as problem:
                raise LinesError(f"{path}: {problem}") from None
            for board, value in accuracies(classes, answers, public).items():
                scores[board][preset].append(value)
    mean = lambda values: sum(values) / len(values)   # noqa: E731
    return {board: {preset: mean(scores[board][preset]) for preset in PRESET_ORDER} for board in BOARDS}


def write_lines_file(path, key, measured, source):
    """Write the lines file (JSON) atomically: {"corpus": key, "public": {…}, "private": {…}, "source": …}."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temporary.write_text(json.dumps(dict(corpus=key, **measured, source=source), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def read_lines_file(path):
    """(corpus key or None, Lines) from a lines file; LinesError naming what is wrong."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise LinesError(f"{path}: cannot read the lines file ({error.strerror}); write it with "
                         f"python -m course_utils.hw02.lines") from None
    except ValueError:
        raise LinesError(f"{path} is not a lines file (not JSON); write it with python -m course_utils.hw02.lines") \
            from None
    try:
        boards = {board: {preset: float(data[board][preset]) for preset in PRESET_ORDER} for board in BOARDS}
    except (KeyError, TypeError, ValueError):
        raise LinesError(f"{path}: expected {{\"public\": {{preset: accuracy}}, \"private\": {{…}}}} for the presets "
                         f"{', '.join(PRESET_ORDER)}; write it with python -m course_utils.hw02.lines") from None
    if not all(0 <= value <= 1 for board in boards.values() for value in board.values()):
        raise LinesError(f"{path}: a line is not an accuracy between 0 and 1")
    return data.get("corpus"), Lines(boards["public"], boards["private"], str(data.get("source", path)))


def table(lines):
    """The lines as a Markdown table, with the real homework's for comparison."""
    rows = ["| line | public | private | real Kaggle line |", "|---|---|---|---|"]
    rows += [f"| {preset} | {lines.public[preset]:.5f} | {lines.private[preset]:.5f} | {KAGGLE_LINES[preset]:.5f} |"
             for preset in PRESET_ORDER]
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m course_utils.hw02.lines",
                                     description="Measure the leaderboard's lines of a corpus from the ladder's "
                                                 "prediction files, and write them for the grader.")
    parser.add_argument("--ladder", type=Path, nargs="+", default=[Path("runs/ladder")],
                        help="folders written by `python -m course_utils.hw02 ladder --out` (several: the mean; "
                             "default: runs/ladder)")
    parser.add_argument("--corpus", type=Path, help="the instructor's corpus folder, or its test_labels.txt (default: "
                                                    "the default local corpus)")
    parser.add_argument("--out", type=Path, default=Path("hw02_lines.json"),
                        help="the lines file to write (default: hw02_lines.json)")
    args = parser.parse_args(argv)
    from .grading import answer_key

    try:
        key = answer_key(args.corpus, lines_needed=False)
        measured = measure(args.ladder, key.answers, key.public)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    source = (f"python -m course_utils.hw02 ladder, scored by python -m course_utils.hw02.lines --ladder "
              f"{' '.join(map(str, args.ladder))} ({len(args.ladder)} run(s), mean; {when}, {os.cpu_count()} CPUs)")
    write_lines_file(args.out, key.corpus_key, measured, source)
    lines = Lines(measured["public"], measured["private"], source)
    print(table(lines))
    print(f"\nwrote {args.out} (grade with --hw02-lines {args.out}). To make these the course's lines for corpus "
          f"{key.corpus_key}, add to LINES in course_utils/hw02/lines.py:\n")
    as_dict = lambda board: ", ".join(f"{preset}={value!r}" for preset, value in board.items())   # noqa: E731
    print(f'    "{key.corpus_key}": Lines(\n        public=dict({as_dict(measured["public"])}),\n'
          f'        private=dict({as_dict(measured["private"])}),\n        source={source!r}),')
    return 0


if __name__ == "__main__":
    sys.exit(main())
