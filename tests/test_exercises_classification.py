"""Chapter 4's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover."""
import math

import torch

from course_utils import classification as cl
from course_utils.exercises import chapter_exercises, check, get_exercise
from course_utils.exercises.chapters import classification as chapter

IDS = ["classification.stable_softmax", "classification.cross_entropy", "classification.samples_needed"]


def verdict(capsys, exercise_id, answer):
    result = check(exercise_id, answer)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n" and "Traceback" not in printed
    return result, printed


def test_chapter_4_declares_three_exercises_for_its_notebook():
    assert [e.id for e in chapter_exercises("classification")] == IDS
    assert chapter.NOTEBOOK == "04_classification"


def test_torch_own_functions_pass_too(capsys):
    assert verdict(capsys, IDS[0], lambda logits: torch.softmax(logits, dim=-1))[0].passed
    assert verdict(capsys, IDS[1], lambda logits, targets: torch.nn.functional.cross_entropy(logits, targets))[0].passed


def test_visible_cases_include_logits_big_enough_to_overflow_exp():
    for exercise_id in IDS[:2]:
        assert any(case.args[0].abs().max() > 100 for case in get_exercise(exercise_id).visible_cases())


def test_softmax_without_subtracting_the_max_is_told_about_overflow(capsys):
    def stable_softmax(logits):
        e = torch.exp(logits)
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "exp overflowed" in printed and "max" in printed


def test_softmax_max_without_keepdim_gets_the_broadcasting_hint(capsys):
    def stable_softmax(logits):
        e = torch.exp(logits - logits.max(dim=-1).values)
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "keepdim=True" in printed


def test_cross_entropy_with_a_naive_softmax_is_told_about_overflow(capsys):
    def cross_entropy(logits, targets):
        p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
        return -torch.log(p[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "exp overflowed" in printed


def test_cross_entropy_as_log_of_a_stable_softmax_is_told_about_log_of_zero(capsys):
    def cross_entropy(logits, targets):
        return -torch.log(torch.softmax(logits, dim=1)[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "log-sum-exp" in printed


def test_samples_needed_returning_a_float_is_told_to_return_an_int(capsys):
    result, printed = verdict(capsys, IDS[2], lambda eps, p_bad, h_size: math.log(2 * h_size / p_bad) / (2 * eps ** 2))
    assert not result.passed and "math.ceil" in printed


def test_references_are_the_library_functions():
    logits, targets = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert torch.equal(chapter.stable_softmax(logits), cl.softmax(logits))
    assert torch.equal(chapter.cross_entropy(logits, targets), cl.cross_entropy(logits, targets))
