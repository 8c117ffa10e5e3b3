"""Chapter 6's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover."""
import pytest
import torch

from course_utils.exercises import all_exercises, check
from course_utils.hw02.experiments import classifier_parameter_count, per_class_accuracy
from course_utils.hw02.models import Classifier, count_parameters

IDS = ["hw02.concat_feat", "hw02.classifier_parameter_count", "hw02.per_class_accuracy"]


def verdict(capsys, *args):
    result = check(*args)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n" and "Traceback" not in printed
    return result, printed


def test_chapter_6_declares_three_exercises():
    assert [i for i in all_exercises() if i.startswith("hw02.")] == IDS


def test_zero_padding_is_named(capsys):
    def zero_padded(x, concat_nframes):
        k = concat_nframes // 2
        padded = torch.cat([torch.zeros(k, x.shape[1]), x, torch.zeros(k, x.shape[1])])
        return torch.cat([padded[j:j + len(x)] for j in range(concat_nframes)], dim=1)

    _, printed = verdict(capsys, "hw02.concat_feat", zero_padded)
    assert "does not fill in zeros" in printed


@pytest.mark.parametrize("layers, width, batchnorm", [(1, 256, False), (3, 384, True), (6, 16, True)])
def test_parameter_count_equals_pytorchs(layers, width, batchnorm):
    model = Classifier(39 * 5, 41, layers, width, 0.25, batchnorm)
    assert classifier_parameter_count(39 * 5, 41, layers, width, batchnorm) == count_parameters(model)


def test_forgetting_batchnorm_and_counting_its_buffers_are_named(capsys):
    _, printed = verdict(capsys, "hw02.classifier_parameter_count",
                         lambda d, c, L, h, bn: sum(p.numel() for p in Classifier(d, c, L, h, 0, False).parameters()))
    assert "γ and β, one of each per unit" in printed
    _, printed = verdict(capsys, "hw02.classifier_parameter_count",
                         lambda d, c, L, h, bn: sum(v.numel() for v in Classifier(d, c, L, h, 0, bn).state_dict()
                                                    .values()) - (L if bn else 0))
    assert "buffers, not parameters" in printed


def test_per_class_accuracy_is_the_confusion_diagonal_over_its_rows():
    true, predicted = torch.tensor([0, 0, 0, 1, 2, 2]), torch.tensor([0, 1, 0, 1, 0, 2])
    got = per_class_accuracy(true, predicted, 4)
    assert torch.allclose(got[:3], torch.tensor([2 / 3, 1.0, 0.5])) and torch.isnan(got[3])


def test_precision_instead_of_recall_and_zero_for_empty_classes_are_named(capsys):
    def precision(true, predicted, num_classes):
        right = torch.bincount(true[true == predicted], minlength=num_classes).float()
        return right / torch.bincount(predicted, minlength=num_classes).float()

    _, printed = verdict(capsys, "hw02.per_class_accuracy", precision)
    assert "not by the number *predicted* as c" in printed
    _, printed = verdict(capsys, "hw02.per_class_accuracy",
                         lambda t, p, c: per_class_accuracy(t, p, c).nan_to_num(0.0))
    assert "0/0 gives nan" in printed
