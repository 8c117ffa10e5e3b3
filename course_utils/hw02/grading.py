"""Grading an HW02 prediction file as Kaggle graded it: public and private accuracy, points by the four lines.

A submission is the homework's CSV (`submission`): the header ``Id,Class``, then one row
``<Id>,<Class>`` per test frame. With y the true classes and ŷ the predicted ones, the
public and private accuracies are

    acc_public = mean_{i ∈ P} [ŷ_i = y_i],    acc_private = mean_{i ∉ P} [ŷ_i = y_i],

P the public half (`submission.public_mask`, the split ``python -m course_utils.hw02
score`` uses). Each of the four lines (`lines`: simple, medium, strong, boss) passed on
a leaderboard is worth `POINTS_PER_LINE`, as the course's 2022 homework slides graded
their Kaggle part ("Simple Baseline (Public) +0.5pt, Simple Baseline (Private) +0.5pt, …,
Boss Baseline (Private) +0.5pt": 4 of 10 points; the report and the code were the rest):

    points = 0.5 · Σ_{board} Σ_{line} [acc_board ≥ line_board] ∈ {0, 0.5, …, 4}.

The answers are the instructor's: the corpus's ``test_labels.txt``, which a student's
release (``corpus --release``) leaves out. A file is read as bytes, never run, with
limits on its size and on the length of a line; anything that is not exactly the format
is `Malformed`, with a message that says what is wrong and how to fix it.
"""
import dataclasses
import re
from pathlib import Path

import numpy as np
import torch

from .libriphone import NUM_CLASSES, LibriphoneError
from .lines import BOARDS, PRESET_ORDER, Lines, LinesError, corpus_key, lines_for
from .submission import HEADER, public_mask, test_answers

ASSIGNMENT = "hw02-kaggle"          # the gradebook's chapter column and the LMS export's column
TITLE = "HW02 predictions"
POINTS_PER_LINE = 0.5
MAX_POINTS = POINTS_PER_LINE * len(PRESET_ORDER) * len(BOARDS)
BYTES_PER_ROW = 32                  # a row is at most "<7 digits>,<2 digits>\r\n": generous for spaces
MAX_LINE_CHARS = 64
ROW = re.compile(r"\s*(-?[0-9]+)\s*,\s*(-?[0-9]+)\s*")
WELL_FORMED = re.compile(r"(?:[0-9]{1,10},[0-9]{1,3}\r?\n)*(?:[0-9]{1,10},[0-9]{1,3}\r?\n?)?")
BINARY_SIGNATURES = {b"PK\x03\x04": "a zip archive (a saved model or a zipped CSV)", b"\x1f\x8b": "a gzip file",
                     b"\x80": "a Python pickle (a saved model?)", b"%PDF": "a PDF document", b"\x89PNG": "a PNG image",
                     b"\xd0\xcf\x11\xe0": "an Excel workbook"}


class Malformed(ValueError):
    """A prediction file that cannot be scored; the message, for the student, says why and what to do."""


class AnswerKeyError(ValueError):
    """The test labels or the lines cannot be found; the message names the fix. Nothing is graded."""


@dataclasses.dataclass(frozen=True)
class AnswerKey:
    """What a prediction file is scored against: the true class of every test frame, the public half, the lines."""
    corpus: Path
    corpus_key: str
    answers: torch.Tensor       # (N,) int64
    public: torch.Tensor        # (N,) bool
    lines: Lines

    def max_bytes(self):
        return 1024 + BYTES_PER_ROW * len(self.answers)


def default_corpus_folder():
    """The cache folder of the default local corpus (`CorpusConfig()`), made or not."""
    from .corpus import CorpusConfig, data_root

    return data_root() / "hw02" / CorpusConfig().key()


def answer_key(labels=None, lines_file=None, lines_needed=True):
    """The `AnswerKey` from `labels`: the instructor's corpus folder, or its ``test_labels.txt`` (default: the
    default local corpus's folder); `lines_file` as for `lines.lines_for`. AnswerKeyError names the fix."""
    fix = ("pass --hw02-labels with the instructor's corpus folder (python -m course_utils.hw02 corpus makes "
           "the default one and prints where it is)")
    if labels is None:
        try:
            folder = default_corpus_folder()
        except Exception as error:   # eSpeak NG missing: its version is part of the corpus key
            raise AnswerKeyError(f"cannot tell where the default HW02 corpus is ({type(error).__name__}: {error}): "
                                 f"{fix}") from None
        label_file = folder / "test_labels.txt"
    else:
        labels = Path(labels).expanduser()
        folder, label_file = (labels, labels / "test_labels.txt") if labels.is_dir() else (labels.parent, labels)
    if not label_file.is_file():
        why = ("(a student's release has none: corpus --release leaves it out)" if (folder / "test_split.txt")
               .is_file() else "(no corpus there)")
        raise AnswerKeyError(f"no HW02 test labels at {label_file} {why}: to grade prediction files, {fix}")
    try:
        answers = test_answers(folder / "test_split.txt", label_file)
    except (OSError, LibriphoneError) as error:
        raise AnswerKeyError(f"the test labels cannot be read: {error}") from None
    key = corpus_key(folder)
    try:
        lines = lines_for(key, folder, lines_file) if lines_needed else None
    except LinesError as error:
        raise AnswerKeyError(str(error)) from None
    return AnswerKey(folder, key, answers, public_mask(len(answers)), lines)


def _shown(text, limit=40):
    return repr(text if len(text) <= limit else text[:limit] + "…")


def _check_text(data, num_frames, max_bytes):
    """The text of a prediction file, or Malformed for one too large, empty, binary or not UTF-8."""
    if len(data) > max_bytes:
        size = f"{max_bytes / 2**20:.1f} MB" if max_bytes >= 2**20 else f"{max_bytes // 1024} KB"
        raise Malformed(f"the file is larger than {size}, more than a prediction file of {num_frames} rows ever "
                        f"needs: submit only the CSV of 'Id,Class' rows")
    if not data.strip():
        raise Malformed(f"the file is empty: expected the header 'Id,Class', then one row '<Id>,<Class>' per test "
                        f"frame ({num_frames} rows)")
    for signature, kind in BINARY_SIGNATURES.items():
        if data.startswith(signature):
            raise Malformed(f"the file is not text but {kind}: submit the CSV file your prediction code wrote "
                            f"(e.g. prediction.csv)")
    nul = data.find(b"\x00")
    if nul >= 0:
        raise Malformed(f"the file is not text (it holds NUL bytes, the first at offset {nul}): submit the CSV file "
                        f"your prediction code wrote (e.g. prediction.csv)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise Malformed(f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}): save "
                        f"it as a UTF-8 CSV") from None


def _check_header(line):
    fields = [field.strip() for field in line.split(",")]
    if fields == HEADER:
        return
    if len(line) > MAX_LINE_CHARS:
        raise Malformed(f"line 1 has {len(line)} characters: expected the header 'Id,Class'")
    hint = ""
    if fields[-2:] == HEADER:
        hint = " (a column before Id: written by pandas with its index? pass index=False to to_csv)"
    elif [field.lower() for field in fields] == [h.lower() for h in HEADER]:
        hint = " (the names are case-sensitive)"
    elif ROW.fullmatch(line):
        hint = " (the header row is missing)"
    raise Malformed(f"line 1: expected the header 'Id,Class', got {_shown(line)}{hint}")


def parse_predictions(data, num_frames, num_classes=NUM_CLASSES, max_bytes=None):
    """The predicted classes (LongTensor (num_frames,)) of a prediction file's bytes, or Malformed: the file
    must be UTF-8 text, the header ``Id,Class``, then exactly one row per Id 0 … num_frames − 1 (any order,
    blank lines ignored) with a Class in 0 … num_classes − 1."""
    text = _check_text(data, num_frames, max_bytes or 1024 + BYTES_PER_ROW * num_frames)
    quick = _well_formed(text, num_frames, num_classes)
    if quick is not None:
        return quick
    lines = text.splitlines()
    _check_header(lines[0])
    rows = [(number, line) for number, line in enumerate(lines[1:], 2) if line.strip()]
    if not rows:
        raise Malformed(f"the file has the header but no predictions: expected one row '<Id>,<Class>' per test "
                        f"frame ({num_frames} rows, Ids 0 … {num_frames - 1})")
    if len(rows) != num_frames:
        raise Malformed(f"the file has {len(rows)} row{'s' * (len(rows) > 1)} of predictions, but the test set has "
                        f"{num_frames} frames: expected one row per test frame, Ids 0 … {num_frames - 1}")
    classes = [-1] * num_frames
    for number, line in rows:
        if len(line) > MAX_LINE_CHARS:
            raise Malformed(f"line {number} has {len(line)} characters: expected '<Id>,<Class>'")
        match = ROW.fullmatch(line)
        if match is None:
            fields = line.split(",")
            if len(fields) == 2 and re.fullmatch(r"\s*-?[0-9]+\.[0-9]*\s*", fields[1]):
                raise Malformed(f"line {number}: Class {fields[1].strip()!r} is not a whole number: write the class "
                                f"indices as integers (e.g. .astype(int))")
            raise Malformed(f"line {number}: expected '<Id>,<Class>' (two whole numbers), got {_shown(line)}")
        frame, label = int(match[1]), int(match[2])
        if not 0 <= frame < num_frames:
            raise Malformed(f"line {number}: Id {frame} is not a test frame (expected 0 … {num_frames - 1})")
        if classes[frame] >= 0:
            raise Malformed(f"line {number}: Id {frame} appears a second time: expected each Id once")
        if not 0 <= label < num_classes:
            raise Malformed(f"line {number}: Class {label} is not a class (expected 0 … {num_classes - 1})")
        classes[frame] = label
    return torch.tensor(classes, dtype=torch.long)


def _well_formed(text, num_frames, num_classes):
    """The classes of a file in the plain form `submission.write_submission` writes (checked by one regular
    expression and parsed by numpy: four times faster than row by row), or None for any other file, which
    `parse_predictions` then reads row by row to say what is wrong."""
    header, _, body = text.partition("\n")
    if header.rstrip("\r") != ",".join(HEADER) or not WELL_FORMED.fullmatch(body):
        return None
    values = torch.from_numpy(np.fromstring(body.replace("\r", "").replace("\n", ","), dtype=np.int64, sep=","))
    frames, classes = values[0::2], values[1::2]
    if len(frames) != num_frames or int(frames.max()) >= num_frames or int(classes.max()) >= num_classes:
        return None
    if not torch.equal(torch.bincount(frames, minlength=num_frames), torch.ones(num_frames, dtype=torch.long)):
        return None
    return torch.empty(num_frames, dtype=torch.long).index_put_((frames,), classes)


def accuracies(classes, answers, public):
    """{"public": accuracy on the public half, "private": on the rest}, in float64."""
    correct = (classes == answers).double()
    return {"public": correct[public].mean().item(), "private": correct[~public].mean().item()}


def score(data, key):
    """The grade of a prediction file's bytes against `key`: {"public", "private", "frames", "passed"
    ({board: {line: bool}}), "points", "max_points", "lines" ({board: {line: accuracy}}), "lines_source",
    "corpus"}; Malformed for a file that cannot be scored."""
    classes = parse_predictions(data, len(key.answers), max_bytes=key.max_bytes())
    result = accuracies(classes, key.answers, key.public)
    passed = {board: {line: result[board] >= key.lines.board(board)[line] for line in PRESET_ORDER}
              for board in BOARDS}
    points = POINTS_PER_LINE * sum(sum(board.values()) for board in passed.values())
    return dict(result, frames=len(key.answers), passed=passed, points=points, max_points=MAX_POINTS,
                lines={board: dict(key.lines.board(board)) for board in BOARDS}, lines_source=key.lines.source,
                corpus=key.corpus_key)
