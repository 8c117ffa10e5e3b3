"""``check(id, answer)``: the verdict under an exercise, in the student's notebook.

It runs the answer on the exercise's visible cases (the same every time),
compares each result with the reference in ``course_utils``, prints one short
verdict and returns it as an :class:`~course_utils.exercises.evaluate.ExerciseResult`
(``.passed``, ``.points``, ``.cases``, ``.message``). It never raises because of
the student's answer: a wrong value, a wrong shape, an exception, no answer at
all or an unknown id all end in a sentence and a hint.
"""
import contextlib
import copy
import difflib
import inspect
import signal
import threading

from .evaluate import ExerciseResult, Raised, Returned, Stopped, failed_result, judge, run_cases
from .feedback import student_line
from .protocol import to_plain
from .registry import all_exercises, get_exercise

_NO_ANSWER = object()

#: Seconds one case may take in check(); the grader has its own limits (see :mod:`.grade`).
CASE_SECONDS = 10.0

_inside = threading.local()


class CaseTooSlow(BaseException):
    """Raised inside the answer when a case runs past its time budget (a BaseException, so that an
    ``except Exception`` in the answer cannot swallow it)."""


class CheckInsideAnswer(RuntimeError):
    """check() was called while check() was running the answer: the answer calls check()."""


def check(exercise_id=None, answer=_NO_ANSWER):
    """Check ``answer`` for the exercise ``exercise_id``, e.g. ``check("recipe.hard_sigmoid", hard_sigmoid)``.

    Prints the verdict and returns it; ``.passed`` is True when every case agrees with the reference.
    """
    if getattr(_inside, "running", False):   # the answer calls check(): stop it, print nothing
        raise CheckInsideAnswer("check() was called from inside the answer being checked")
    _inside.running = True
    try:
        result = _check(exercise_id, answer)
    except Exception as error:   # a bug of ours: say so, in one sentence, without a traceback
        result = _problem(str(exercise_id)[:80], f"check() itself failed ({type(error).__name__}: "
                                                 f"{str(error)[:300]}). This is a bug in course_utils, not in your "
                                                 "answer: please tell your instructor.")
    finally:
        _inside.running = False
    print(result.message)
    return result


def _check(exercise_id, answer):
    exercise = get_exercise(exercise_id) if isinstance(exercise_id, str) else None
    if exercise is None and callable(exercise_id) and answer is _NO_ANSWER:
        return _problem(_name_of(exercise_id), _id_missing_message(exercise_id))
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
        status, lines = judge(exercise, 0, 1, None, Raised("NotImplementedError", "still `...`"))   # as the grader
        return failed_result(exercise, status, [], lines, 1)
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
            with _time_budget(CASE_SECONDS):
                value = answer(*args, **kwargs)
        except CaseTooSlow:
            return Stopped("timeout", f"no answer within {CASE_SECONDS:g} s on this case: is there an endless "
                                      f"loop (a `while` whose condition never turns false) or a sleep?")
        except CheckInsideAnswer:
            return Raised("RuntimeError", "your function calls check() on itself")
        except (Exception, SystemExit) as error:   # KeyboardInterrupt still stops the check: the student asked to
            return Raised(type(error).__name__, str(error), student_line(error))
        return Returned(to_plain(value), tuple(to_plain(arg) for arg in args))

    return call


@contextlib.contextmanager
def _time_budget(seconds):
    """Raise CaseTooSlow in this thread after ``seconds`` (wall clock), and again every second until it gets
    out. Only where the operating system has SIGALRM and this is the main thread (a notebook's kernel runs
    cells there); elsewhere, no budget. An answer that catches every exception (``except BaseException``)
    inside an endless loop cannot be stopped from within its process: the kernel's interrupt button stops it
    no better, a kernel restart does (the grader's limits stop it from outside)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def too_slow(signum, frame):
        raise CaseTooSlow()

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)   # again every second, should the answer swallow it
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _signature_mismatch(exercise, answer, args, kwargs):
    try:
        inspect.signature(answer).bind(*args, **kwargs)
    except TypeError as error:
        if _call_without_self(answer, len(args) + len(kwargs)):
            return (f"it cannot be called as {exercise.signature}: its class's __call__ has no self parameter "
                    f"(its first parameter receives the object itself)")
        return f"it cannot be called as {exercise.signature} ({error})"
    except ValueError:   # builtins without a signature: let the call itself tell
        pass
    return ""


def _call_without_self(answer, count):
    """True for an object of a class whose __call__ takes the answer's arguments but forgot ``self``."""
    if inspect.isroutine(answer) or inspect.isclass(answer) or not callable(answer):
        return False
    try:
        parameters = list(inspect.signature(type(answer).__call__).parameters)
    except (TypeError, ValueError):
        return False
    return len(parameters) == count and parameters[:1] != ["self"]


def _name_of(function):
    return getattr(function, "__name__", type(function).__name__)


def _id_missing_message(function):
    """check(f) without the id: suggest the id whose answer has f's name."""
    name = _name_of(function)
    known = all_exercises()
    same = [exercise_id for exercise_id, exercise in known.items() if exercise.name == name]
    if not same:
        close = difflib.get_close_matches(name, [exercise.name for exercise in known.values()], n=1)
        same = [exercise_id for exercise_id, exercise in known.items() if close and exercise.name == close[0]]
    example = f'check("{same[0]}", {name})' if same else f'check("<chapter>.<name>", {name})'
    return f"check() needs the exercise id first, then your answer: {example}."


def _unknown_id_message(exercise_id):
    known = list(all_exercises())
    if exercise_id is None:
        return f'check() needs the exercise id and your answer, e.g. check("{known[0]}", {known[0].split(".")[1]}).'
    close = difflib.get_close_matches(str(exercise_id), known, n=1)
    guess = f' Did you mean "{close[0]}"?' if close else ""
    return f"There is no exercise {exercise_id!r}.{guess} Known exercises: {', '.join(known)}."


def _problem(exercise_id, sentence, max_points=0.0):
    return ExerciseResult(exercise_id, "invalid", 0.0, max_points, [], f"✘ {sentence}")
