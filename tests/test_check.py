"""check(): the verdict a student reads under an exercise, and the registry behind it."""
import math

import pytest
import torch

from course_utils.experiments import recipe
from course_utils.exercises import all_exercises, check, get_exercise
from course_utils.exercises.compare import Difference, same_tensor
from course_utils.exercises.evaluate import Returned, run_cases
from conftest import verdict

IDS = ["recipe.hard_sigmoid", "recipe.sigmoid_model", "recipe.linear_regression_step", "recipe.updates_per_epoch",
       "recipe.parameter_count", "recipe.diagnose_training"]


# ---------------------------------------------------------------------------- the registry


def test_chapter_0_declares_its_six_exercises_at_one_point_each():
    assert [exercise_id for exercise_id in all_exercises() if exercise_id.startswith("recipe.")] == IDS
    assert all(get_exercise(exercise_id).points == 1 for exercise_id in IDS)


def answer_from(exercise, function):
    """What a student passes to check(): the function itself, or, for a value exercise, its value for the
    notebook's problem (``function(problem)``, or ``function()`` for a question without a problem)."""
    if not exercise.is_value:
        return function
    case = exercise.visible_cases()[0]
    return function(*case.args, **case.kwargs)


@pytest.mark.parametrize("exercise_id", list(all_exercises()))
def test_every_reference_passes_its_visible_and_hidden_cases(capsys, exercise_id):
    exercise = get_exercise(exercise_id)
    result, printed = verdict(capsys, exercise_id, answer_from(exercise, exercise.reference))
    correct = "correct (" if exercise.is_value else "correct on all"
    assert result.passed and result.points == exercise.points and printed.startswith(f"✔ {exercise_id}: {correct}")
    for _ in range(5):
        hidden = run_cases(exercise, exercise.hidden_cases(), lambda case: Returned(
            exercise.reference(*case.args, **case.kwargs), case.args))
        assert hidden.passed


@pytest.mark.parametrize("exercise_id", list(all_exercises()))
def test_visible_cases_repeat_and_hidden_cases_are_fresh(exercise_id):
    exercise = get_exercise(exercise_id)
    assert repr(exercise.visible_cases()) == repr(exercise.visible_cases())
    if exercise.is_value and exercise.draw is None:   # one fixed question: the same for everyone
        assert exercise.hidden_cases() == exercise.visible_cases() == list(exercise.fixed)
    else:
        assert repr(exercise.hidden_cases()) != repr(exercise.hidden_cases())


@pytest.mark.parametrize("exercise_id, mistake", [
    (exercise.id, mistake) for exercise in all_exercises().values() for mistake in exercise.mistakes])
def test_every_declared_mistake_is_caught_and_named_by_the_visible_cases(capsys, exercise_id, mistake):
    result, printed = verdict(capsys, exercise_id, answer_from(get_exercise(exercise_id), mistake.answer))
    assert not result.passed and f"hint: {mistake.hint}" in printed


# ---------------------------------------------------------------------------- bad input to check()


def test_not_attempted_yet_for_a_stub(capsys):
    def hard_sigmoid(x, c, b, w):
        raise NotImplementedError

    result, printed = verdict(capsys, "recipe.hard_sigmoid", hard_sigmoid)
    assert result.status == "not attempted" and result.points == 0 and "not attempted yet" in printed


def test_no_answer_says_how_to_call_check(capsys):
    result, printed = verdict(capsys, "recipe.hard_sigmoid")
    assert result.status == "invalid" and 'check("recipe.hard_sigmoid", hard_sigmoid)' in printed


def test_no_arguments_at_all_shows_an_example(capsys):
    result, printed = verdict(capsys)
    assert 'check("recipe.hard_sigmoid", hard_sigmoid)' in printed and printed.count("\n") == 1


def test_an_unknown_id_suggests_the_closest_and_lists_the_known_ones(capsys):
    _, printed = verdict(capsys, "recipe.hard_sigmod", recipe.hard_sigmoid)
    assert 'Did you mean "recipe.hard_sigmoid"?' in printed and all(exercise_id in printed for exercise_id in IDS)


@pytest.mark.parametrize("answer, words", [(None, "the answer is None"), (torch.ones(3), "a Tensor, not a function")])
def test_an_answer_that_is_not_a_function_says_pass_the_function_itself(capsys, answer, words):
    result, printed = verdict(capsys, "recipe.hard_sigmoid", answer)
    assert words in printed and "without calling it" in printed and not result.passed


def test_a_function_with_the_wrong_arguments_is_told_the_signature(capsys):
    _, printed = verdict(capsys, "recipe.hard_sigmoid", lambda x, c: x)
    assert "cannot be called as hard_sigmoid(x, c, b, w)" in printed


def test_an_answer_that_raises_names_the_error_and_its_line(capsys):
    def hard_sigmoid(x, c, b, w):
        scale = undefined_height  # noqa: F821
        return scale * x

    result, printed = verdict(capsys, "recipe.hard_sigmoid", hard_sigmoid)
    assert result.status == "error" and "raised NameError" in printed
    assert "scale = undefined_height" in printed and "hint: your function uses a name that is not defined" in printed


def test_an_answer_that_calls_exit_is_a_failed_answer_not_a_dead_kernel(capsys):
    result, _ = verdict(capsys, "recipe.hard_sigmoid", lambda x, c, b, w: exit())
    assert result.status == "error"


# ---------------------------------------------------------------------------- specific hints


def hard_sigmoid_then(change):
    return lambda x, c, b, w: change(recipe.hard_sigmoid(x, c, b, w))


@pytest.mark.parametrize("answer, words", [
    (hard_sigmoid_then(lambda y: None), "returned None: did you forget `return`?"),
    (hard_sigmoid_then(lambda y: y.double()), "float64 but the inputs are float32"),
    (hard_sigmoid_then(lambda y: y / 0), "NaN or inf"),
    (hard_sigmoid_then(lambda y: y.tolist()), "return one tensor, not a tuple or list"),
    (hard_sigmoid_then(lambda y: y.numpy()), "not a NumPy array"),
    (hard_sigmoid_then(lambda y: y.sum().item()), "return a tensor"),
    (hard_sigmoid_then(lambda y: y.unsqueeze(-1)), "an extra dimension"),
    (hard_sigmoid_then(lambda y: torch.empty(y.shape, device="meta")), "the reference returns a CPU tensor"),
    (lambda x, c, b, w: recipe.hard_sigmoid(x.mul_(2), c, b, w), "changed its input x in place"),
])
def test_a_wrong_hard_sigmoid_gets_the_hint_for_its_mistake(capsys, answer, words):
    result, printed = verdict(capsys, "recipe.hard_sigmoid", answer)
    assert not result.passed and words in printed


def test_a_failed_case_shows_the_input_expected_and_got(capsys):
    result, printed = verdict(capsys, "recipe.hard_sigmoid", lambda x, c, b, w: c * torch.relu(b + w * x))
    assert "case 1 of" in printed and "hard_sigmoid(x=tensor([-1.0, -0.5" in printed
    assert "first at index 5: expected 1.0, got 1.5" in printed
    assert result.cases[-1].case.args[1:] == (1.0, 0.0, 1.0)


def test_x_at_W_is_named_as_the_orientation_of_W_whether_it_fails_or_raises(capsys):
    _, printed = verdict(capsys, "recipe.sigmoid_model", lambda x, W, b_hidden, c, b: b + torch.sigmoid(
        x @ W + b_hidden) @ c)
    assert printed.count("check the orientation of W: it is (k, d)") == 1
    shape_error = get_exercise("recipe.sigmoid_model")
    k_not_d = [case for case in shape_error.visible_cases() if case.args[1].shape[0] != case.args[1].shape[1]]
    assert k_not_d, "the visible cases must include one with k ≠ d, where x @ W raises"


@pytest.mark.parametrize("step, hint", [
    (lambda w, b, x, y, lr: (w + lr * 2 * ((b + w * x - y) * x).mean(), b + lr * 2 * (b + w * x - y).mean()),
     "moved uphill"),
    (lambda w, b, x, y, lr: (w - lr * ((b + w * x - y) * x).mean(), b - lr * (b + w * x - y).mean()),
     "forgot the factor 2"),
    (lambda w, b, x, y, lr: (w - lr * 2 * ((b + w * x - y) * x).sum(), b - lr * 2 * (b + w * x - y).sum()),
     "use .mean(), not .sum()"),
    (lambda w, b, x, y, lr: w - lr * 2 * ((b + w * x - y) * x).mean(), "return all 2 values"),
])
def test_gradient_step_mistakes_are_named(capsys, step, hint):
    _, printed = verdict(capsys, "recipe.linear_regression_step", step)
    assert hint in printed


@pytest.mark.parametrize("answer, hint", [
    (lambda n_examples, batch_size, drop_last=False: n_examples / batch_size, "return an int"),
    (lambda n_examples, batch_size, drop_last=False: math.ceil(n_examples / batch_size), "round down"),
    (lambda n_examples, batch_size, drop_last=False: n_examples // batch_size, "round up"),
])
def test_updates_per_epoch_mistakes_are_named(capsys, answer, hint):
    _, printed = verdict(capsys, "recipe.updates_per_epoch", answer)
    assert hint in printed


@pytest.mark.parametrize("got, hint", [
    (lambda z: torch.softmax(torch.softmax(z, -1), -1), "softmax was applied twice"),
    (lambda z: torch.softmax(z, -1).T, "the transpose of the expected one"),
    (lambda z: -torch.softmax(z, -1), "wrong sign"),
    (lambda z: torch.softmax(z, -1) + 0.1 * torch.arange(9.0).reshape(3, 3), ""),
])
def test_generic_value_hints(got, hint):
    z = torch.randn(3, 3, generator=torch.Generator().manual_seed(1))
    difference = same_tensor(torch.softmax(z, -1), got(z), 1e-5, 1e-6)
    assert isinstance(difference, Difference) and (hint in difference.hint if hint else difference.hint == "")


def test_a_transposed_shape_is_named():
    difference = same_tensor(torch.zeros(2, 5), torch.zeros(5, 2), 1e-5, 1e-6)
    assert "off by a transpose" in difference.hint


def test_the_result_object_shows_nothing_more_in_a_notebook_and_reads_well_in_tests(capsys):
    result, _ = verdict(capsys, "recipe.updates_per_epoch", recipe.updates_per_epoch)
    assert result._ipython_display_() is None and capsys.readouterr().out == ""
    assert repr(result) == "<ExerciseResult recipe.updates_per_epoch: passed, 1/1 points>"
    assert result.to_dict()["cases_passed"] == len(result.cases)


# ---------------------------------------------------------------------------- a struggling student's answers


@pytest.fixture
def short_budget(monkeypatch):
    import sys

    monkeypatch.setattr(sys.modules["course_utils.exercises.check"], "CASE_SECONDS", 0.5)


def test_an_answer_that_loops_is_stopped_and_the_case_is_named(capsys, short_budget):
    def hard_sigmoid(x, c, b, w):
        while True:
            pass

    result, printed = verdict(capsys, "recipe.hard_sigmoid", hard_sigmoid)
    assert result.status == "timeout" and "case 1 of" in printed and "endless loop" in printed


def test_an_answer_that_sleeps_is_stopped_and_a_later_check_still_works(capsys, short_budget):
    import time

    def hard_sigmoid(x, c, b, w):
        time.sleep(60)

    result, printed = verdict(capsys, "recipe.hard_sigmoid", hard_sigmoid)
    assert result.status == "timeout" and "no answer within 0.5 s" in printed
    assert verdict(capsys, "recipe.hard_sigmoid", recipe.hard_sigmoid)[0].passed   # the alarm is off again


def test_an_answer_that_calls_check_on_itself_gets_one_verdict_and_the_reason(capsys):
    def hard_sigmoid(x, c, b, w):
        return check("recipe.hard_sigmoid", hard_sigmoid)

    result, printed = verdict(capsys, "recipe.hard_sigmoid", hard_sigmoid)
    assert result.status == "error" and printed.count("\n") < 8
    assert "calls check() on itself" in printed and "never inside it" in printed and "bug in course_utils" not in printed


def test_check_passed_as_the_answer_prints_no_stray_line(capsys):
    result, printed = verdict(capsys, "recipe.hard_sigmoid", check)
    assert not result.passed and "There is no exercise" not in printed and "bug in course_utils" not in printed


@pytest.mark.parametrize("name", ["hard_sigmoid", "hard_sigmod"])
def test_check_without_an_id_suggests_the_id_of_the_functions_name(capsys, name):
    def answer(x, c, b, w):
        return c * torch.clamp(b + w * x, 0, 1)

    answer.__name__ = name   # the student's function, spelled right or nearly
    result, printed = verdict(capsys, answer)
    assert result.status == "invalid" and f'check("recipe.hard_sigmoid", {name})' in printed


def test_a_callable_class_whose_call_forgot_self_gets_a_hint(capsys):
    class HardSigmoid:
        def __call__(x, c, b, w):   # noqa: N805 - the mistake under test
            return c * torch.clamp(b + w * x, 0, 1)

    result, printed = verdict(capsys, "recipe.hard_sigmoid", HardSigmoid())
    assert result.status == "error" and "def __call__(self, x, c, b, w):" in printed


def test_an_answer_returning_none_is_asked_whether_it_forgot_return(capsys):
    def updates_per_epoch(n_examples, batch_size, drop_last=False):
        math.ceil(n_examples / batch_size)

    _, printed = verdict(capsys, "recipe.updates_per_epoch", updates_per_epoch)
    assert "did you forget `return`?" in printed


def test_a_list_argument_changed_in_place_is_named():
    from course_utils.exercises import Case
    from course_utils.exercises.feedback import in_place_difference

    exercise = type("FakeExercise", (), {"parameters": ["sizes", "budget"]})()
    case = Case(([8, 16, 32], 2.0))
    assert in_place_difference(exercise, case, ([8, 16, 32], 2.0)) is None
    difference = in_place_difference(exercise, case, ([32, 16, 8], 2.0))
    assert "changed its input sizes in place" in difference.what and "sorted(xs)" in difference.hint
    assert in_place_difference(exercise, Case(({"a": 1},)), ({"a": 2},)) is not None


@pytest.mark.parametrize("exercise_id", [e.id for e in all_exercises().values() if e.is_value and e.draw is not None])
def test_a_value_exercises_hidden_problem_never_has_the_visible_answer(exercise_id):
    from course_utils.exercises.evaluate import expected_value

    exercise = get_exercise(exercise_id)
    seen = expected_value(exercise, exercise.visible_cases()[0])
    for _ in range(10):
        hidden = expected_value(exercise, exercise.hidden_cases()[0])
        assert exercise.compare(seen, hidden, exercise.rtol, exercise.atol) is not None


# ---------------------------------------------------------------------------- problem(): what a prediction is about


def test_a_problem_shows_every_number_and_names_its_fields():
    from course_utils.exercises.problems import Problem

    shown = Problem({"means": [0.5, 1.25, 2.0, 3.5, 4.0, 8.0], "k": 3, "hessian": torch.eye(2)})
    assert "[0.5, 1.25, 2.0, 3.5, 4.0, 8.0]" in repr(shown) and "k       = 3" in repr(shown)
    assert shown.k == 3 and shown["k"] == 3
    with pytest.raises(AttributeError, match="it has means, k, hessian"):
        shown.eta


def test_problem_of_an_unknown_id_lists_the_exercises_that_have_one():
    from course_utils.exercises import problem

    with pytest.raises(ValueError, match="adaptive.largest_stable_lr"):
        problem("recipe.hard_sigmoid")


def test_the_graders_problem_replaces_the_visible_one_and_cannot_be_changed_through_a_copy():
    from course_utils.exercises import problem
    from course_utils.exercises.cases import hidden_cases
    from course_utils.exercises.problems import use_problems

    exercise = get_exercise("adaptive.largest_stable_lr")
    graders = hidden_cases(exercise, b"k" * 32)[0].args[0]
    try:
        use_problems({exercise.id: graders})
        seen = problem(exercise.id)
        assert torch.equal(seen["hessian"], graders["hessian"])
        seen["hessian"].zero_()
        assert torch.equal(problem(exercise.id)["hessian"], graders["hessian"])
    finally:
        use_problems({})
    assert not torch.equal(problem(exercise.id)["hessian"], graders["hessian"])
