"""Real data that ships inside an installed package, so every chapter runs offline.

Chapters 2, 3 and 5 train on scikit-learn's handwritten digits (1 797 images of 8×8
pixels, 10 classes; the files are inside the scikit-learn wheel, nothing is downloaded).
"""
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Split:
    """Training and validation tensors: x as float32 (n, 64), y as int64 (n,)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor

    @property
    def n_features(self):
        return self.x_train.shape[1]

    @property
    def n_classes(self):
        return int(torch.cat([self.y_train, self.y_val]).max()) + 1


def digits(val_fraction=0.25, seed=0, standardize=True):
    """scikit-learn's digits, split at random (seeded) into training and validation sets.

    With ``standardize`` each pixel is z-scored with the *training* set's mean and
    standard deviation (pixels that are constant in training keep a deviation of 1).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must lie in (0, 1); got {val_fraction!r}")
    from sklearn.datasets import load_digits

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32)
    y = torch.tensor(data.target, dtype=torch.int64)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_val = int(round(len(x) * val_fraction))
    val, train = order[:n_val], order[n_val:]
    x_train, x_val = x[train], x[val]
    if standardize:
        mean = x_train.mean(0)
        std = x_train.std(0)
        std = torch.where(std > 0, std, torch.ones_like(std))
        x_train, x_val = (x_train - mean) / std, (x_val - mean) / std
    return Split(x_train, y[train], x_val, y[val])
