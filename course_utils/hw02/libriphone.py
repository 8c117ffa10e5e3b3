"""The homework's data layout, read exactly, and its `preprocess_data`.

    libriphone/
      train_split.txt        one utterance id a line (train + validation)
      train_labels.txt       "<id> l_1 … l_T": the class of each of the T frames
      test_split.txt         one utterance id a line, in submission order
      feat/train/<id>.pt     float tensor (T, 39): 13 MFCC + Δ + ΔΔ per 10 ms frame
      feat/test/<id>.pt

**Context.** With n = 2k + 1 frames, row t of `concat_feat(x, n)` is

    [ x[c(t−k)], …, x[c(t)], …, x[c(t+k)] ],    c(s) = min(max(s, 0), T − 1),

the oldest frame first, and the edge frames repeated where the window leaves
the utterance (also when k ≥ T, which the original code does not handle).

**Train/validation split.** The lines of train_split.txt are shuffled with
Python's ``random`` seeded with 1337, and the first ⌊0.8·U⌋ are training
utterances, the rest validation; the test split keeps the file's order. Frames
are numbered by concatenating the utterances in that order.
"""
import random
import re
from pathlib import Path

import torch

FEATURE_DIM = 39
NUM_CLASSES = 41
#: The size of the real data, as the homework's description gives it (ML 2022 Spring HW02): 4268 labelled
#: utterances (train + validation) of 2,644,158 frames, and 1078 test utterances of 646,268 frames.
LIBRIPHONE_LABELLED = dict(utterances=4268, frames=2_644_158)


class LibriphoneError(ValueError):
    """Data that is not in the homework's format; the message names the file (and line) and what was expected."""


def read_split(path):
    """The utterance ids of a split file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such split file (expected one utterance id a line)")
    ids = [line.strip() for line in path.read_text().rstrip().splitlines()]   # trailing blank lines dropped
    for number, uid in enumerate(ids, 1):
        if not uid or any(c.isspace() for c in uid):
            raise LibriphoneError(f"{path}, line {number}: expected one utterance id, got {uid!r}")
    return ids


def read_labels(path, num_classes=NUM_CLASSES):
    """{id: LongTensor (T,)} from a ``<id> l_1 … l_T`` file."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such label file (expected lines '<utterance id> l_1 ... l_T')")
    labels = {}
    with open(path) as lines:
        for number, line in enumerate(lines, 1):
            fields = line.split()
            if not fields:
                continue
            if len(fields) < 2 or not all(re.fullmatch(r"\d+", f) for f in fields[1:]):
                raise LibriphoneError(f"{path}, line {number}: expected '<utterance id> l_1 ... l_T' with "
                                      f"integer labels, got {line[:60]!r}")
            y = torch.tensor([int(f) for f in fields[1:]], dtype=torch.long)
            if int(y.max()) >= num_classes:
                raise LibriphoneError(f"{path}, line {number}: label {int(y.max())} is not a class "
                                      f"(expected 0 … {num_classes - 1})")
            labels[fields[0]] = y
    return labels


def load_feat(path, feature_dim=FEATURE_DIM):
    """The (T, 39) float32 tensor in a ``.pt`` file, checked."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such feature file (expected a float tensor (T, {feature_dim}))")
    try:
        x = torch.load(path, weights_only=True)
    except Exception as error:
        raise LibriphoneError(f"{path}: not a readable torch file ({type(error).__name__}: {error}); expected "
                              f"a float tensor (T, {feature_dim})") from None
    if not isinstance(x, torch.Tensor) or x.ndim != 2 or x.shape[1] != feature_dim or not x.is_floating_point():
        got = f"tensor {tuple(x.shape)} {x.dtype}" if isinstance(x, torch.Tensor) else type(x).__name__
        raise LibriphoneError(f"{path}: expected a float tensor (T, {feature_dim}), got {got}")
    return x.float()


def concat_feat(x, concat_nframes):
    """(T, d) → (T, d·n): each frame with its k = n // 2 neighbours on each side (formula above)."""
    if concat_nframes < 1 or concat_nframes % 2 == 0:
        raise ValueError(f"concat_nframes must be odd and positive, got {concat_nframes}")
    k = concat_nframes // 2
    t = torch.arange(len(x))[:, None] + torch.arange(-k, k + 1)
    return x[t.clamp(0, len(x) - 1)].reshape(len(x), -1)


def split_ids(split, phone_path, train_ratio=0.8, train_val_seed=1337):
    """The utterance ids of 'train', 'val' or 'test', in the homework's order."""
    phone_path = Path(phone_path)
    if split in ("train", "val"):
        ids = read_split(phone_path / "train_split.txt")
        random.Random(train_val_seed).shuffle(ids)   # the same permutation as random.seed(1337); random.shuffle
        cut = int(len(ids) * train_ratio)
        return ids[:cut] if split == "train" else ids[cut:]
    if split == "test":
        return read_split(phone_path / "test_split.txt")
    raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")


def checked_labels(labels, uid, num_frames, label_path):
    """The labels of `uid`, which must exist and have one label per feature frame."""
    if uid not in labels:
        raise LibriphoneError(f"{label_path}: no line for utterance {uid}")
    if len(labels[uid]) != num_frames:
        raise LibriphoneError(f"{label_path}: utterance {uid} has {len(labels[uid])} labels but its feature "
                              f"file has {num_frames} frames (expected one label per frame)")
    return labels[uid]


def preprocess_data(split, feat_dir, phone_path, concat_nframes, train_ratio=0.8, train_val_seed=1337):
    """The homework's function: X (frames, 39·n) with every context window materialised, and y (frames,)
    for 'train' and 'val' (X alone for 'test'). Same order and split as the original, without its prints."""
    mode = "test" if split == "test" else "train"
    ids = split_ids(split, phone_path, train_ratio, train_val_seed)
    label_path = Path(phone_path) / f"{mode}_labels.txt"
    labels = read_labels(label_path) if mode == "train" else None
    feats = [load_feat(Path(feat_dir) / mode / f"{uid}.pt") for uid in ids]
    X = torch.empty(sum(len(f) for f in feats), FEATURE_DIM * concat_nframes)
    y = torch.empty(len(X), dtype=torch.long) if labels is not None else None
    start = 0
    for uid, feat in zip(ids, feats):
        X[start:start + len(feat)] = concat_feat(feat, concat_nframes)
        if y is not None:
            y[start:start + len(feat)] = checked_labels(labels, uid, len(feat), label_path)
        start += len(feat)
    return (X, y) if y is not None else X
