"""Kaggle's submission format and its public/private scoring.

A submission is a CSV file::

    Id,Class
    0,17
    1,17
    …

with one row per test frame; Id is the frame's global index when the test
utterances are concatenated in test_split.txt order (as `preprocess_data`
numbers them), Class its predicted class (0 … 40).

Kaggle scores the accuracy on a fixed subset of the test frames while the
competition runs (public leaderboard) and on the others at the end (private
leaderboard). `public_mask` fixes that subset: a seeded permutation puts
⌊N/2⌋ frames in the public half.
"""
import csv
import os
from pathlib import Path

import torch

from .libriphone import NUM_CLASSES, LibriphoneError, read_labels, read_split

HEADER = ["Id", "Class"]
PUBLIC_SEED = 20220304


def write_submission(path, classes):
    """Write `classes` (one per test frame, in frame order) as Kaggle's CSV, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", newline="") as f:
        f.write("Id,Class\n")
        f.writelines(f"{i},{int(c)}\n" for i, c in enumerate(classes.tolist() if hasattr(classes, "tolist")
                                                                 else classes))
    os.replace(tmp, path)
    return path


def read_submission(path, num_frames, num_classes=NUM_CLASSES):
    """The predicted classes (LongTensor (num_frames,)) of a submission, checked: the header, one Id and one
    Class per row, every Id 0 … num_frames − 1 exactly once, classes in range."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such submission file (expected a CSV with header 'Id,Class')")
    classes = torch.full((num_frames,), -1, dtype=torch.long)
    with open(path, newline="") as f:
        rows = csv.reader(f)
        header = next(rows, None)
        if header is None or [h.strip() for h in header] != HEADER:
            raise LibriphoneError(f"{path}, line 1: expected the header 'Id,Class', got {','.join(header or [])!r}")
        for number, row in enumerate(rows, 2):
            if not row:
                continue
            try:
                frame, label = (int(v) for v in row)
            except ValueError:
                raise LibriphoneError(f"{path}, line {number}: expected '<Id>,<Class>' (two integers), "
                                      f"got {','.join(row)!r}") from None
            if not 0 <= frame < num_frames:
                raise LibriphoneError(f"{path}, line {number}: Id {frame} is not a test frame (expected "
                                      f"0 … {num_frames - 1})")
            if classes[frame] >= 0:
                raise LibriphoneError(f"{path}, line {number}: duplicate Id {frame}")
            if not 0 <= label < num_classes:
                raise LibriphoneError(f"{path}, line {number}: Class {label} is not a class (expected "
                                      f"0 … {num_classes - 1})")
            classes[frame] = label
    missing = (classes < 0).nonzero().flatten()
    if len(missing):
        raise LibriphoneError(f"{path}: {len(missing)} of {num_frames} Ids are missing (first: "
                              f"{missing[:5].tolist()}); expected one row per test frame")
    return classes


def test_answers(test_split, test_labels):
    """The true class of every test frame, in submission order, from test_split.txt and test_labels.txt."""
    labels = read_labels(test_labels)
    out = []
    for uid in read_split(test_split):
        if uid not in labels:
            raise LibriphoneError(f"{test_labels}: no line for test utterance {uid}")
        out.append(labels[uid])
    return torch.cat(out)


def public_mask(num_frames, seed=PUBLIC_SEED):
    """True for the frames of the public leaderboard (half of them, fixed by `seed`)."""
    mask = torch.zeros(num_frames, dtype=torch.bool)
    mask[torch.randperm(num_frames, generator=torch.Generator().manual_seed(seed))[:num_frames // 2]] = True
    return mask


def score(submission, test_split, test_labels):
    """{"public": accuracy, "private": accuracy, "frames": N} of a submission file, as Kaggle would."""
    answers = test_answers(test_split, test_labels)
    correct = read_submission(submission, len(answers)) == answers
    public = public_mask(len(answers))
    return {"public": correct[public].float().mean().item(), "private": correct[~public].float().mean().item(),
            "frames": len(answers)}
