"""The chapter's experiments: parameter counts, equal-parameter widths, confusion and per-class accuracy."""
import dataclasses

import pytest
import torch

from course_utils.hw02 import experiments
from course_utils.hw02.models import Classifier, count_parameters
from course_utils.hw02.training import PRESETS


@pytest.mark.parametrize("layers, width, batchnorm", [(1, 256, False), (3, 384, True), (2, 7, True)])
def test_parameter_count_is_pytorchs(layers, width, batchnorm):
    model = Classifier(39 * 3, 41, layers, width, 0.5, batchnorm)
    assert experiments.classifier_parameter_count(39 * 3, 41, layers, width, batchnorm) == count_parameters(model)


def test_the_homeworks_report_shapes_have_about_equal_parameters():
    d = 39 * 21
    wide = experiments.matching_width(d, 41, deep_layers=6, deep_width=1024, shallow_layers=2)
    deep_count = experiments.classifier_parameter_count(d, 41, 6, 1024)
    assert 1700 <= wide <= 2300   # the homework rounds it to 1700
    assert abs(experiments.classifier_parameter_count(d, 41, 2, wide) - deep_count) / deep_count < 0.002


def test_matching_width_with_one_shallow_layer_solves_the_linear_equation():
    wide = experiments.matching_width(39, 41, deep_layers=3, deep_width=64, shallow_layers=1)
    target = experiments.classifier_parameter_count(39, 41, 3, 64)
    assert abs(experiments.classifier_parameter_count(39, 41, 1, wide) - target) <= 39 + 41 + 1


def test_confusion_matrix_counts_pairs_and_most_confused_ranks_errors():
    true = torch.tensor([0, 0, 1, 1, 1, 2, 2, 2, 2])
    predicted = torch.tensor([0, 1, 0, 2, 1, 0, 0, 1, 2])
    n = experiments.confusion_matrix(true, predicted, 3)
    assert n.tolist() == [[1, 1, 0], [1, 1, 1], [2, 1, 1]] and n.sum() == len(true)
    assert experiments.most_confused(n, 2) == [2, 1]
    accuracy = experiments.per_class_accuracy(true, predicted, 4)
    assert torch.allclose(accuracy[:3], torch.tensor([0.5, 1 / 3, 0.25])) and torch.isnan(accuracy[3])


def test_quick_shortens_presets_and_lets_changes_win():
    assert experiments.quick("simple") == dataclasses.replace(PRESETS["simple"], num_epochs=experiments.QUICK_EPOCHS)
    boss = experiments.quick("boss")
    assert boss.model == "rnn" and boss.hidden_dim == experiments.QUICK_CHANGES["boss"]["hidden_dim"]
    assert experiments.quick("strong", dropout=0.75).dropout == 0.75


def test_ladder_table_lists_every_preset():
    results = {"simple": dict(val_acc=0.4, public=0.41, private=0.39), "boss": dict(val_acc=0.7, public=None,
                                                                                    private=None)}
    table = experiments.ladder_table(results).splitlines()
    assert len(table) == 3 and "0.410" in table[1] and "—" in table[2]


def test_best_epoch_is_the_epoch_with_the_highest_validation_accuracy():
    history = [dict(epoch=1, train_acc=0.5, val_acc=0.6), dict(epoch=2, train_acc=0.7, val_acc=0.65),
               dict(epoch=3, train_acc=0.8, val_acc=0.62)]
    assert experiments.best_epoch(history)["epoch"] == 2


def test_confusion_shares_sort_errors_by_kind_and_give_the_even_spread():
    names = {name: i for i, name in enumerate(experiments.CLASSES)}
    n = torch.zeros(41, 41, dtype=torch.long)
    n[names["AA"], names["AE"]] = 6     # vowel for vowel
    n[names["B"], names["P"]] = 3       # voiced for its unvoiced twin
    n[names["sil"], names["T"]] = 1     # silence for a phoneme
    shares = experiments.confusion_shares(n)
    observed = [shares[kind][0] for kind in experiments.CONFUSION_KINDS]
    assert observed == pytest.approx([0.6, 0.3, 0.1])
    # even spread: AA's 6 errors over 40 classes, 14 of them vowels and 1 silence; B's 3 errors, 1 twin and
    # 1 silence; sil's 1 error, every one of the 40 with silence.
    even = [shares[kind][1] for kind in experiments.CONFUSION_KINDS]
    assert even == pytest.approx([6 * 14 / 40 / 10, 3 * 1 / 40 / 10, (6 / 40 + 3 / 40 + 1) / 10])


def test_an_even_spread_of_errors_has_its_even_shares():
    n = torch.ones(41, 41, dtype=torch.long) * 5
    for kind, (observed, even) in experiments.confusion_shares(n).items():
        assert observed == pytest.approx(even), kind
