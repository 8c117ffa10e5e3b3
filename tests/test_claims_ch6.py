"""Chapter 6 (HW02, frame-level phoneme classification): its claims about experiment outcomes, over seeds.

Each test runs the chapter's experiment on the chapter's corpus (`experiments.QUICK_CORPUS`, made once
and cached) over three seeds, in a shorter version than the chapter's: one epoch instead of the chapter's three
(five for the GRU). The claims are about differences that one epoch already shows, with the same recipes.
Run them under each CPU code path (see tests/cpu_paths.py): a claim must hold on every one.
"""
import pytest
import torch

from course_utils import hw02
from course_utils.hw02 import experiments
from course_utils.hw02.dataset import load_frames
from course_utils.hw02.training import load_checkpoint, predict_classes, train

SEEDS = (0, 1, 2)
EPOCHS = 1


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)   # as the chapter runs
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    return hw02.data_source(None, experiments.QUICK_CORPUS, progress=False).path


def short(preset, seed, **changes):
    return experiments.quick(preset, num_epochs=EPOCHS, seed=seed, **changes)


def run(recipe, data, out_dir):
    """The epoch `best.pt` keeps (one epoch: the only one)."""
    return experiments.best_epoch(train(recipe, data, out_dir, device="cpu", resume=False, progress=False))


@pytest.fixture(scope="module")
def ladder(data, tmp_path_factory):
    """{seed: {preset: best epoch}} of the four presets, and the folder of each run."""
    root = tmp_path_factory.mktemp("ladder")
    return {seed: {preset: run(short(preset, seed), data, root / f"{preset}{seed}")
                   for preset in ("simple", "medium", "strong", "boss")} for seed in SEEDS}, root


def test_ch6_context_frames_make_by_far_the_largest_step(ladder):
    """Chapter 6, section 4 ("The leaderboard, in a quick configuration"): "Context frames make by far the
    largest step: … from *simple* to *medium* in this run. The other two steps are small at this size"."""
    results, _ = ladder
    for seed, accuracy in results.items():
        context = accuracy["medium"]["val_acc"] - accuracy["simple"]["val_acc"]
        others = [accuracy["strong"]["val_acc"] - accuracy["medium"]["val_acc"],
                  accuracy["boss"]["val_acc"] - accuracy["strong"]["val_acc"]]
        assert context > 0.15, (seed, context)
        assert all(abs(step) < context / 3 for step in others), (seed, context, others)


def test_ch6_errors_gather_among_vowels_and_at_silence(ladder, data):
    """Chapter 6, section 6 ("Which phonemes are confused?"): "The mistakes are not spread evenly over the
    other classes. A vowel taken for another vowel makes … of the wrong frames, where an even spread would
    give …; silence taken for a phoneme, or a phoneme for silence, makes …, against …. … A voiced consonant
    and its unvoiced twin … make only … of the errors." For the strong model of every seed."""
    _, root = ladder
    vowel, twins, silence = experiments.CONFUSION_KINDS
    for seed in SEEDS:
        model, recipe = load_checkpoint(root / f"strong{seed}" / "best.pt")
        frames = load_frames(data, "val", recipe.concat_nframes)
        predicted = predict_classes(model, recipe, frames)
        shares = experiments.confusion_shares(experiments.confusion_matrix(frames.labels.long(), predicted))
        assert shares[vowel][0] > 1.5 * shares[vowel][1], (seed, shares)
        assert shares[silence][0] > 1.5 * shares[silence][1], (seed, shares)
        assert shares[twins][0] < 0.05, (seed, shares)


def test_ch6_wide_shallow_beats_deep_narrow_at_equal_parameters(data, tmp_path):
    """Chapter 6, section 5 ("Narrow and deep, or wide and shallow?"): "The wide, shallow network wins here,
    … and it is ahead on the training frames too … the deep network is not overfitting, it has not yet
    learned as much." """
    wide = experiments.matching_width(39 * 11, 41, deep_layers=6, deep_width=128, shallow_layers=2)
    for seed in SEEDS:
        deep = run(short("medium", seed, hidden_layers=6, hidden_dim=128), data, tmp_path / f"deep{seed}")
        shallow = run(short("medium", seed, hidden_layers=2, hidden_dim=wide), data, tmp_path / f"wide{seed}")
        assert shallow["val_acc"] > deep["val_acc"] + 0.03, (seed, shallow, deep)
        assert shallow["train_acc"] > deep["train_acc"], (seed, shallow, deep)


def test_ch6_more_dropout_lowers_training_and_validation_accuracy(data, tmp_path):
    """Chapter 6, section 5 ("How much dropout?"): "More dropout lowers the training accuracy (measured with
    dropout on) … Here the validation accuracy falls with $p$ as well"."""
    for seed in SEEDS:
        best = [run(short("strong", seed, dropout=p, hidden_dim=128), data, tmp_path / f"p{p}-{seed}")
                for p in (0.25, 0.5, 0.75)]
        train_acc, val_acc = [b["train_acc"] for b in best], [b["val_acc"] for b in best]
        assert train_acc[0] > train_acc[1] > train_acc[2], (seed, train_acc)
        assert val_acc[0] > val_acc[1] > val_acc[2], (seed, val_acc)
