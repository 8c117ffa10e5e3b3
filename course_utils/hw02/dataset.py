"""A memory-lean dataset: one (frames, 39) tensor, context gathered per batch.

`preprocess_data` materialises every context window: (frames, 39·n) floats, n
times the features (21× at n = 21). `Frames` keeps the features once, as
they are on disk, and the utterance boundaries:

    feats    (N, 39) float32    every frame of the split, utterance after utterance
    starts   (U + 1,) int64     utterance u is rows starts[u] … starts[u+1] − 1
    labels   (N,) uint8         (None for the test split)

A batch of frame indices i_b becomes windows by index arithmetic: with u_b the
utterance of i_b (a binary search in `starts`),

    rows[b, j] = clamp(i_b + j − k, starts[u_b], starts[u_b + 1] − 1),  j = 0 … 2k,
    X[b]       = feats[rows[b]].reshape(39·n),

exactly the rows of `preprocess_data` (replicate padding at each utterance's
edges), at a cost of one gather per batch.

Loading never holds two copies of the features: a ``.pt`` file is never smaller
than its float32 payload, so the summed file sizes bound the frame count and one
buffer of that size is filled file by file (its unused tail is never touched).
"""
from pathlib import Path

import torch

from .libriphone import FEATURE_DIM, LibriphoneError, checked_labels, load_feat, read_labels, split_ids


class Frames:
    """The frames of one split with their utterance boundaries (and labels)."""

    def __init__(self, feats, starts, labels, ids, concat_nframes=1):
        if concat_nframes < 1 or concat_nframes % 2 == 0:
            raise ValueError(f"concat_nframes must be odd and positive, got {concat_nframes}")
        self.feats, self.starts, self.labels, self.ids = feats, starts, labels, list(ids)
        self.concat_nframes = concat_nframes

    def __len__(self):
        return len(self.feats)

    @property
    def input_dim(self):
        return self.feats.shape[1] * self.concat_nframes

    def utterance_of(self, index):
        """The utterance number of each frame index."""
        return torch.searchsorted(self.starts, index, right=True) - 1

    def windows(self, index):
        """(B, 39·n) context windows of the frames `index` (B,), as the rows of `preprocess_data`: one
        `index_select` of the B·n rows (several times quicker than ``feats[rows]``, advanced indexing)."""
        k = self.concat_nframes // 2
        if k == 0:
            return torch.index_select(self.feats, 0, index)
        u = self.utterance_of(index)
        rows = torch.clamp(index[:, None] + torch.arange(-k, k + 1), self.starts[u, None], self.starts[u + 1, None] - 1)
        return torch.index_select(self.feats, 0, rows.reshape(-1)).reshape(len(index), -1)

    def batch(self, index):
        """(windows, labels as int64 or None) of the frames `index`."""
        y = torch.index_select(self.labels, 0, index).long() if self.labels is not None else None
        return self.windows(index), y

    def batch_indices(self, batch_size, shuffle=False, generator=None):
        """The frame indices of each batch (LongTensors of `batch_size`, the last shorter), over all frames, in
        a random order when `shuffle`."""
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        return order.split(batch_size)

    def batches(self, batch_size, shuffle=False, generator=None):
        """Yields (X, y) batches over all frames, in a random order when `shuffle`."""
        for index in self.batch_indices(batch_size, shuffle, generator):
            yield self.batch(index)

    def segments(self, chunk_frames=0, generator=None):
        """(first frame, length) of every utterance, or with `chunk_frames` of its consecutive pieces of at most
        that many frames (the first piece shortened by a random offset when a `generator` is given)."""
        starts, lengths = self.starts[:-1], self.starts[1:] - self.starts[:-1]
        if not chunk_frames:
            return starts, lengths
        offsets = torch.randint(chunk_frames, (len(starts),), generator=generator) if generator is not None \
            else torch.zeros(len(starts), dtype=torch.long)
        first, length = [], []
        for start, n, offset in zip(starts.tolist(), lengths.tolist(), offsets.tolist()):
            cuts = [0] + list(range(offset or chunk_frames, n, chunk_frames)) + [n]
            first += [start + a for a in cuts[:-1]]
            length += [b - a for a, b in zip(cuts, cuts[1:])]
        return torch.tensor(first), torch.tensor(length)

    def utterance_pieces(self, batch_size, shuffle=False, generator=None, chunk_frames=0):
        """(first frames (B,), lengths (B,)) of the utterances (or their pieces, see `segments`) of each batch,
        in a random order when `shuffle`."""
        first, length = self.segments(chunk_frames, generator if shuffle else None)
        order = torch.randperm(len(first), generator=generator) if shuffle else torch.arange(len(first))
        return [(first[u], length[u]) for u in order.split(batch_size)]

    def utterance_batch(self, first, lengths):
        """(X (B, T_max, 39·n), y (B, T_max) padded with -100 or None, lengths (B,)) of the B pieces that start
        at frames `first` with `lengths`; padding repeats the last frame. Context windows still reach across
        piece boundaries, within the utterance."""
        steps = torch.arange(int(lengths.max()))
        frame = first[:, None] + torch.minimum(steps, lengths[:, None] - 1)
        x = self.windows(frame.reshape(-1)).reshape(len(first), len(steps), -1)
        y = None
        if self.labels is not None:
            y = torch.where(steps < lengths[:, None], self.labels[frame].long(), torch.tensor(-100))
        return x, y, lengths

    def utterance_batches(self, batch_size, shuffle=False, generator=None, chunk_frames=0):
        """Yields `utterance_batch`es over whole utterances (or their pieces, see `segments`) for sequence
        models."""
        for first, lengths in self.utterance_pieces(batch_size, shuffle, generator, chunk_frames):
            yield self.utterance_batch(first, lengths)


def load_frames(root, split, concat_nframes=1, train_ratio=0.8, train_val_seed=1337):
    """`Frames` of 'train', 'val' or 'test' from a libriphone folder: the same frames, in the same order and
    split, as ``preprocess_data(split, root / "feat", root, concat_nframes, ...)``."""
    root = Path(root)
    mode = "test" if split == "test" else "train"
    ids = split_ids(split, root, train_ratio, train_val_seed)
    paths = [root / "feat" / mode / f"{uid}.pt" for uid in ids]
    for path in paths:
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such feature file (listed in the {split} split; expected a float "
                                    f"tensor (T, {FEATURE_DIM}))")
    label_path = root / f"{mode}_labels.txt"
    all_labels = read_labels(label_path) if mode == "train" else None
    capacity = sum(path.stat().st_size for path in paths) // (4 * FEATURE_DIM) + 1
    feats = torch.empty(capacity, FEATURE_DIM)
    labels = torch.empty(capacity, dtype=torch.uint8) if all_labels is not None else None
    starts = [0]
    for uid, path in zip(ids, paths):
        x = load_feat(path)
        end = starts[-1] + len(x)
        if end > len(feats):   # only for files smaller than float32 data (e.g. float16): grow
            feats = torch.cat([feats, torch.empty(end - len(feats), FEATURE_DIM)])
            labels = torch.cat([labels, torch.empty(end - len(labels), dtype=torch.uint8)]) if labels is not None \
                else None
        feats[starts[-1]:end] = x
        if labels is not None:
            labels[starts[-1]:end] = checked_labels(all_labels, uid, len(x), label_path)
        starts.append(end)
    del all_labels
    n = starts[-1]
    if n == 0:
        raise LibriphoneError(f"{root}: the {split} split has no frames")
    return Frames(feats[:n], torch.tensor(starts), labels[:n] if labels is not None else None, ids, concat_nframes)
