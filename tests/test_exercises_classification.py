"""Chapter 4's exercises: the references pass, and typical wrong answers get the hint that names them."""
import math

import pytest
import torch

from course_utils import classification as cl
from course_utils.exercises import chapter_exercises, check, get_exercise
from course_utils.exercises.chapters import classification as chapter
from course_utils.exercises.evaluate import Returned, run_cases

IDS = ["classification.stable_softmax", "classification.cross_entropy", "classification.samples_needed"]


def verdict(capsys, exercise_id, answer):
    result = check(exercise_id, answer)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n" and "Traceback" not in printed
    return result, printed


def test_chapter_4_declares_three_exercises_for_its_notebook():
    assert [e.id for e in chapter_exercises("classification")] == IDS
    assert chapter.NOTEBOOK == "04_classification"


@pytest.mark.parametrize("exercise_id", IDS)
def test_every_reference_passes_its_visible_and_hidden_cases(capsys, exercise_id):
    exercise = get_exercise(exercise_id)
    result, printed = verdict(capsys, exercise_id, exercise.reference)
    assert result.passed and printed.startswith(f"✔ {exercise_id}: correct on all")
    for _ in range(3):
        hidden = run_cases(exercise, exercise.hidden_cases(), lambda case: Returned(
            exercise.reference(*case.args, **case.kwargs), case.args))
        assert hidden.passed


def test_torch_own_functions_pass_too(capsys):
    assert verdict(capsys, IDS[0], lambda logits: torch.softmax(logits, dim=-1))[0].passed
    assert verdict(capsys, IDS[1], lambda logits, targets: torch.nn.functional.cross_entropy(logits, targets))[0].passed


def test_visible_cases_include_logits_big_enough_to_overflow_exp():
    for exercise_id in IDS[:2]:
        assert any(case.args[0].abs().max() > 100 for case in get_exercise(exercise_id).visible_cases())


@pytest.mark.parametrize("exercise_id, mistake", [
    (exercise_id, mistake) for exercise_id in IDS for mistake in get_exercise(exercise_id).mistakes])
def test_every_declared_mistake_is_named(capsys, exercise_id, mistake):
    result, printed = verdict(capsys, exercise_id, mistake.answer)
    assert not result.passed and f"hint: {mistake.hint}" in printed


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
    result, printed = verdict(capsys, IDS[2], lambda eps, delta, h_size: math.log(2 * h_size / delta) / (2 * eps ** 2))
    assert not result.passed and "math.ceil" in printed


def test_references_are_the_library_functions():
    logits, targets = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert torch.equal(chapter.stable_softmax(logits), cl.softmax(logits))
    assert torch.equal(chapter.cross_entropy(logits, targets), cl.cross_entropy(logits, targets))
