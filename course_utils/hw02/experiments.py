"""The chapter's experiments in a quick configuration, and the measures they report.

**Quick configuration.** `QUICK_CORPUS` is a small local corpus (made in seconds on
first use, then cached) and `quick` shortens a preset to `QUICK_EPOCHS` epochs, so
that the whole leaderboard trains on a laptop's CPU in about a minute. The full
homework is the command line: ``python -m course_utils.hw02 ladder``.

**Parameter count.** A `Classifier` with input width d, L hidden layers of width h
and C classes has

    P = (d·h + h) + (L − 1)·(h·h + h) + (h·C + C)  [+ 2·L·h with BatchNorm: γ and β per unit]

(the running mean and variance of BatchNorm are buffers, not parameters).
`matching_width` solves P(shallow) = P(deep) for the shallow network's width: the
homework's report question compares 6 layers of 1024 with 2 layers of 1700.

**Per-class accuracy** of class c is the fraction of the frames labelled c that are
predicted c, n_cc / Σ_j n_cj, the diagonal of the confusion matrix n over its row sums
(NaN for a class with no frames); the overall accuracy is Σ_c n_cc / Σ n.

**Class names.** The local corpus names its classes (`phonemes.CLASSES`); the homework's
libriphone files only number them, 0 … 40, and nothing in them says which phoneme an
index is. `class_names` gives the labels a figure may truthfully show for each source.

**Where the errors go.** `confusion_shares` sorts the wrong frames (n_ij, i ≠ j) into
kinds of pair (a vowel for another vowel, a voiced consonant for its unvoiced twin or
back, silence for a phoneme or back) and sets each kind's share of the errors beside the
share it would have if every class spread its errors evenly over the 40 others,
Σ_i e_i·|{j ≠ i: (i, j) of that kind}|/40 / Σ_i e_i with e_i = Σ_{j≠i} n_ij.
"""
import dataclasses
import math
import time
from pathlib import Path

import torch

from .corpus import CorpusConfig
from .dataset import load_frames
from .libriphone import NUM_CLASSES
from .phonemes import CLASSES
from .submission import score, write_submission
from .training import PRESETS, default_device, load_checkpoint, predict_classes, train

QUICK_CORPUS = CorpusConfig(num_train=300, num_test=60)
QUICK_EPOCHS = 3
#: What else the quick configuration changes: a smaller GRU on shorter pieces in bigger batches (a CPU
#: runs a recurrence one time step at a time, so fewer, wider steps are quicker), with a larger η and a
#: few more epochs, which it needs to catch up with the MLPs from scratch.
QUICK_CHANGES = {"boss": dict(hidden_layers=1, hidden_dim=96, batch_size=64, chunk_frames=50, learning_rate=5e-3,
                              num_epochs=5)}


def quick(preset, **changes):
    """The preset named `preset` in the quick configuration (`QUICK_EPOCHS`, `QUICK_CHANGES`), then `changes`."""
    settings = {"num_epochs": QUICK_EPOCHS, **QUICK_CHANGES.get(preset, {}), **changes}
    return dataclasses.replace(PRESETS[preset], **settings)


def run_recipe(recipe, data_dir, out_dir, test_labels=None, device=None, progress=False, resume=False):
    """Train `recipe` afresh (or, with `resume`, from ``out_dir/last.pt`` when there is one; on a GPU when there
    is one, unless `device` says otherwise), predict the test frames with its best checkpoint into
    ``out_dir/prediction.csv`` and score them when the answers are known. Returns {val_acc, public, private,
    cpu_s, history} (public/private None without answers)."""
    device = device or default_device()
    start = time.process_time()
    history = train(recipe, data_dir, out_dir, device=device, resume=resume, progress=progress)
    model, recipe = load_checkpoint(Path(out_dir) / "best.pt", device)
    classes = predict_classes(model, recipe, load_frames(data_dir, "test", recipe.concat_nframes), device)
    csv = write_submission(Path(out_dir) / "prediction.csv", classes)
    result = dict(val_acc=max(h["val_acc"] for h in history), public=None, private=None, history=history)
    if test_labels is not None:
        leaderboard = score(csv, Path(data_dir) / "test_split.txt", test_labels)
        result.update(public=leaderboard["public"], private=leaderboard["private"])
    result["cpu_s"] = time.process_time() - start
    return result


def best_epoch(history):
    """The entry of `history` with the highest validation accuracy (the epoch ``best.pt`` keeps)."""
    return max(history, key=lambda h: h["val_acc"])


def ladder_table(results):
    """{name: run_recipe result} as the leaderboard's lines."""
    lines = ["preset   val acc   public   private"]
    for name, r in results.items():
        board = f"{r['public']:8.3f}  {r['private']:8.3f}" if r["public"] is not None else "       —         —"
        lines.append(f"{name:7s}  {r['val_acc']:7.3f}  {board}")
    return "\n".join(lines)


def classifier_parameter_count(input_dim, output_dim, hidden_layers, hidden_dim, batchnorm=False):
    """P of a `Classifier` (formula above)."""
    h = hidden_dim
    count = (input_dim * h + h) + (hidden_layers - 1) * (h * h + h) + (h * output_dim + output_dim)
    return count + (2 * hidden_layers * h if batchnorm else 0)


def matching_width(input_dim, output_dim, deep_layers, deep_width, shallow_layers):
    """The width h of a network of `shallow_layers` with as many parameters as `deep_layers` × `deep_width`
    (no BatchNorm): the positive root of a·h² + b·h + c = 0, rounded to the nearest integer."""
    target = classifier_parameter_count(input_dim, output_dim, deep_layers, deep_width)
    a, b, c = shallow_layers - 1, input_dim + shallow_layers + output_dim, output_dim - target
    h = -c / b if a == 0 else (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)
    return round(h)


def confusion_matrix(true, predicted, num_classes=NUM_CLASSES):
    """n (C, C): n[i, j] counts the frames of class i predicted as j."""
    return torch.bincount(true * num_classes + predicted, minlength=num_classes ** 2).reshape(num_classes, -1)


def per_class_accuracy(true, predicted, num_classes=NUM_CLASSES):
    """(C,) float: for each class, the fraction of its frames predicted right (NaN where it has none)."""
    n = confusion_matrix(true, predicted, num_classes).double()
    return (n.diagonal() / n.sum(1)).float()


def most_confused(matrix, count=10):
    """The `count` classes whose frames are most often predicted as another class (by the number of such
    frames), most confused first."""
    errors = matrix.sum(1) - matrix.diagonal()
    return errors.argsort(descending=True)[:count].tolist()


def confusion_rates(matrix, classes):
    """(k, k) float64: the rows and columns of `classes` in the confusion matrix, each row divided by that
    class's total over all C columns (so a row reads: of this class's frames, which fraction went where)."""
    return matrix[classes][:, classes].double() / matrix[classes].sum(1, keepdim=True)


VOWELS = ("AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW")
#: Consonants made the same way in the same place, one voiced and one not.
VOICING_TWINS = (("B", "P"), ("D", "T"), ("G", "K"), ("V", "F"), ("DH", "TH"), ("Z", "S"), ("ZH", "SH"),
                 ("JH", "CH"))
CONFUSION_KINDS = ("a vowel for another vowel", "voiced for unvoiced twin or back", "silence for a phoneme or back")


def class_names(kind):
    """The labels of the 41 classes for data of `kind` (a `DataSource.kind`): the phonemes of the local corpus
    for "synthetic", the indices themselves ("0" … "40") for "libriphone", whose files do not name them."""
    if kind == "synthetic":
        return CLASSES
    if kind == "libriphone":
        return tuple(str(i) for i in range(NUM_CLASSES))
    raise ValueError(f"kind must be 'synthetic' or 'libriphone' (a DataSource's kind), got {kind!r}")


def confusion_kind_masks(classes=CLASSES):
    """{kind: (C, C) bool}: which (true, predicted) pairs are of each of the `CONFUSION_KINDS`."""
    index = {name: i for i, name in enumerate(classes)}
    missing = [name for name in ("sil",) + VOWELS + sum(VOICING_TWINS, ()) if name not in index]
    if missing:
        raise ValueError(f"sorting errors into kinds needs the phonemes' names, and the classes lack "
                         f"{', '.join(missing[:5])}{' …' if len(missing) > 5 else ''}: libriphone's classes are "
                         f"numbered only (class_names('libriphone')), so use the local corpus's CLASSES")
    c = len(classes)
    vowel = torch.zeros(c, dtype=torch.bool)
    vowel[[index[v] for v in VOWELS]] = True
    twins = torch.zeros(c, c, dtype=torch.bool)
    for a, b in VOICING_TWINS:
        twins[index[a], index[b]] = twins[index[b], index[a]] = True
    silence = torch.zeros(c, c, dtype=torch.bool)
    silence[index["sil"]] = silence[:, index["sil"]] = True
    off = ~torch.eye(c, dtype=torch.bool)
    masks = (vowel[:, None] & vowel[None, :], twins, silence)
    return {kind: mask & off for kind, mask in zip(CONFUSION_KINDS, masks)}


def confusion_shares(matrix, classes=CLASSES):
    """{kind: (share of the wrong frames, share if errors were spread evenly)} for each of `CONFUSION_KINDS`
    (formula above)."""
    n = matrix.double()
    errors = n.sum(1) - n.diagonal()
    total = errors.sum()
    shares = {}
    for kind, mask in confusion_kind_masks(classes).items():
        observed = (n * mask).sum() / total
        even = (errors * mask.sum(1) / (len(classes) - 1)).sum() / total
        shares[kind] = (observed.item(), even.item())
    return shares
