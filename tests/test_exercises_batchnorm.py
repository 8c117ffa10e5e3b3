"""Chapter 5's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover."""
import torch
import torch.nn.functional as F

from course_utils import batchnorm
from course_utils.exercises import all_exercises, check
from course_utils.exercises.chapters.batchnorm import NOTEBOOK, same_tensors

IDS = ["batchnorm.batch_norm_train", "batchnorm.update_running_stats", "batchnorm.batch_norm_eval"]


def verdict(capsys, *args):
    result = check(*args)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n" and "Traceback" not in printed
    return result, printed


def test_chapter_5_declares_three_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("batchnorm.")] == IDS
    assert NOTEBOOK == "05_batch_normalization"


# --- answers written another way pass; typical wrong ones are named -----------------------------

def test_pytorch_functional_batch_norm_is_a_correct_answer_in_both_modes(capsys):
    def batch_norm_train(z, gamma, beta, eps):
        return F.batch_norm(z, None, None, gamma, beta, training=True, eps=eps)

    def batch_norm_eval(z, running_mean, running_var, gamma, beta, eps):
        return F.batch_norm(z, running_mean, running_var, gamma, beta, training=False, eps=eps)

    assert verdict(capsys, "batchnorm.batch_norm_train", batch_norm_train)[0].passed
    assert verdict(capsys, "batchnorm.batch_norm_eval", batch_norm_eval)[0].passed


def test_nn_batchnorm1d_with_momentum_one_minus_p_is_a_correct_running_update(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        layer = torch.nn.BatchNorm1d(z.shape[1], momentum=1 - p, affine=False)
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer(z)
        return layer.running_mean, layer.running_var

    assert verdict(capsys, "batchnorm.update_running_stats", update_running_stats)[0].passed


def test_using_p_as_pytorch_momentum_is_named(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        layer = torch.nn.BatchNorm1d(z.shape[1], momentum=p, affine=False)    # momentum is 1 − p
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer(z)
        return layer.running_mean, layer.running_var

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "PyTorch's momentum is 1 − p" in printed


def test_updating_the_running_statistics_in_place_is_named(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        running_mean.mul_(p).add_((1 - p) * z.mean(0))
        running_var.mul_(p).add_((1 - p) * z.var(0))
        return running_mean, running_var

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "changed its input running_mean in place" in printed


def test_returning_only_the_mean_asks_for_both(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        return p * running_mean + (1 - p) * z.mean(0)

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "return both: `return running_mean, running_var`" in printed


def test_a_forgotten_return_is_named(capsys):
    def batch_norm_train(z, gamma, beta, eps):
        batchnorm.batch_norm_train(z, gamma, beta, eps)

    result, printed = verdict(capsys, "batchnorm.batch_norm_train", batch_norm_train)
    assert not result.passed and "did you forget `return`?" in printed


def test_same_tensors_names_the_tensor_that_differs():
    compare = same_tensors("a", "b")
    one, two = torch.ones(2), torch.zeros(2)
    assert compare((one, two), (one, two), 1e-5, 1e-6) is None
    difference = compare((one, two), (one, one), 1e-5, 1e-6)
    assert difference.what.startswith("b: ")
    assert "expected shape (2,), got shape (3,)" in compare((one, two), (torch.ones(3), two), 1e-5, 1e-6).what
