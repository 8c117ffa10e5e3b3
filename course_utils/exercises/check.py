"""``check(id, answer)``: the verdict under an exercise, in the student's notebook.

It runs the answer on the exercise's visible cases (the same every time),
compares each result with the reference in ``course_utils``, prints one short
verdict and returns it as an :class:`~course_utils.exercises.evaluate.ExerciseResult`
(``.passed``, ``.points``, ``.cases``, ``.message``). It never raises because of
the student's answer: a wrong value, a wrong shape, an exception, no answer at
all or an unknown id all end in a sentence and a hint.
"""
import copy
import difflib
import inspect

from .evaluate import ExerciseResult, Raised, Returned, run_cases
from . import feedback
from .feedback import student_line
from .protocol import to_plain
from .registry import all_exercises, get_exercise

_NO_ANSWER = object()


def check(exercise_id=None, answer=_NO_ANSWER):
    """Check ``answer`` for the exercise ``exercise_id``, e.g. ``check("recipe.hard_sigmoid", hard_sigmoid)``.

    Prints the verdict and returns it; ``.passed`` is True when every case agrees with the reference.
    """
    try:
        result = _check(exercise_id, answer)
    except Exception as error:   # a bug of ours: say so, in one sentence, without a traceback
        result = _problem(str(exercise_id), f"check() itself failed ({type(error).__name__}: {error}). This is "
                                            "a bug in course_utils, not in your answer: please tell your instructor.")
    print(result.message)
    return result


def _check(exercise_id, answer):
    exercise = get_exercise(exercise_id) if isinstance(exercise_id, str) else None
    if exercise is None:
        return _problem(str(exercise_id), _unknown_id_message(exercise_id))
    example = f'check("{exercise.id}", {exercise.name})'
    if exercise.is_value:
        return _check_value(exercise, answer, example)
    if answer is _NO_ANSWER:
        return _problem(exercise.id, f"{exercise.id}: check() got no answer. Pass your function as the second "
                                     f"argument: {example}.", exercise.points)
    if not callable(answer):
        what = "None" if answer is None else f"a {type(answer).__name__}"
        return _problem(exercise.id, f"{exercise.id}: the answer is {what}, not a function. Pass the function "
                                     f"itself, without calling it: {example}.", exercise.points)
    return run_cases(exercise, exercise.visible_cases(), _in_process(exercise, answer))


def _check_value(exercise, answer, example):
    """A value exercise: the answer is the value itself (a number, a choice), about the visible problem."""
    if answer is _NO_ANSWER:
        return _problem(exercise.id, f"{exercise.id}: check() got no answer. Pass your {exercise.name} as the "
                                     f"second argument: {example}.", exercise.points)
    if answer is Ellipsis:
        return ExerciseResult(exercise.id, "not attempted", 0.0, exercise.points, [], feedback.headline(
            exercise, "not attempted", 0, "not attempted yet") + "\n" + feedback.indent(
            [f"{exercise.name} is still `...`: replace it with your answer ({exercise.answer_kind}), run that "
             f"cell, then this check again."]))
    if callable(answer):
        return _problem(exercise.id, f"{exercise.id}: the answer is a function, but this exercise asks for "
                                     f"{exercise.answer_kind}: {example} with {exercise.name} = your answer.",
                        exercise.points)
    value = to_plain(answer)
    return run_cases(exercise, exercise.visible_cases(), lambda case: Returned(value), label="cases")


def _in_process(exercise, answer):
    """call(case) for run_cases: runs the answer here, on copies of the case's inputs."""

    def call(case):
        args, kwargs = copy.deepcopy((case.args, case.kwargs))
        mismatch = _signature_mismatch(exercise, answer, args, kwargs)
        if mismatch:
            return Raised("TypeError", mismatch)
        try:
            value = answer(*args, **kwargs)
        except (Exception, SystemExit) as error:   # KeyboardInterrupt still stops the check: the student asked to
            return Raised(type(error).__name__, str(error), student_line(error))
        return Returned(to_plain(value), tuple(to_plain(arg) for arg in args))

    return call


def _signature_mismatch(exercise, answer, args, kwargs):
    try:
        inspect.signature(answer).bind(*args, **kwargs)
    except TypeError as error:
        return f"it cannot be called as {exercise.signature} ({error})"
    except ValueError:   # builtins without a signature: let the call itself tell
        pass
    return ""


def _unknown_id_message(exercise_id):
    known = list(all_exercises())
    if exercise_id is None:
        return f'check() needs the exercise id and your answer, e.g. check("{known[0]}", {known[0].split(".")[1]}).'
    close = difflib.get_close_matches(str(exercise_id), known, n=1)
    guess = f' Did you mean "{close[0]}"?' if close else ""
    return f"There is no exercise {exercise_id!r}.{guess} Known exercises: {', '.join(known)}."


def _problem(exercise_id, sentence, max_points=0.0):
    return ExerciseResult(exercise_id, "invalid", 0.0, max_points, [], f"✘ {sentence}")
