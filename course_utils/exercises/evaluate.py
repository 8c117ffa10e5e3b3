"""Judging an answer case by case: one loop for ``check()`` and for the grader.

The loop gets a ``call(case)`` that returns an *outcome* of running the
student's answer on one case: it returned a value (:class:`Returned`), raised
(:class:`Raised`), is not defined (:class:`Missing`), or, in the grader only,
was stopped by a limit (:class:`Stopped`). ``check()`` makes outcomes by
calling the answer in the notebook's own process; the grader makes them from
what the student's process sends back. Either way the expected values are
computed here, from the reference, and compared here.
"""
import copy
import difflib
from dataclasses import dataclass, field
from typing import List, Optional

from . import feedback
from .compare import Difference, describe
from .protocol import to_plain

#: An answer that raises one of these ran out of memory.
MEMORY_ERRORS = ("MemoryError", "OutOfMemoryError")


@dataclass
class Returned:
    """The answer returned ``value``; ``args_after`` are its positional arguments after the call."""

    value: object
    args_after: tuple = ()


@dataclass
class Raised:
    """The answer raised an exception of type ``type_name``; ``where`` is the line in the student's code."""

    type_name: str
    message: str
    where: str = ""


@dataclass
class Missing:
    """No callable of the exercise's name exists; ``names`` are the names that do."""

    names: List[str] = field(default_factory=list)
    found: Optional[str] = None   # what the name holds, when it is not callable


@dataclass
class Stopped:
    """The grader stopped the student's process, or it died: status is timeout, memory or crashed.
    ``during_case`` is false when the process was gone before the case could even be sent."""

    status: str
    message: str
    during_case: bool = True


@dataclass
class CaseVerdict:
    """One case: its number, whether it passed, the text shown when it did not, and its inputs
    (``verdict.case.args``), so a failed case can be re-run by hand."""

    index: int
    passed: bool
    message: str = ""
    case: object = None


@dataclass
class ExerciseResult:
    """The verdict on one exercise. ``status`` is one of: passed, failed, not attempted, missing,
    error, timeout, memory, crashed."""

    id: str
    status: str
    points: float
    max_points: float
    cases: List[CaseVerdict]
    message: str
    seconds: float = 0.0

    @property
    def passed(self):
        return self.status == "passed"

    def __str__(self):
        return self.message

    def __repr__(self):
        return f"<{type(self).__name__} {self.id}: {self.status}, {self.points:g}/{self.max_points:g} points>"

    def _ipython_display_(self):
        """check() has already printed the verdict: show nothing more when a cell ends with it."""

    def to_dict(self):
        return {"id": self.id, "status": self.status, "points": self.points, "max_points": self.max_points,
                "cases_passed": sum(case.passed for case in self.cases), "cases_run": len(self.cases),
                "message": self.message, "seconds": round(self.seconds, 3)}


def run_cases(exercise, cases, call, label="cases"):
    """Run ``call`` on each case until one fails; return the ExerciseResult."""
    verdicts = []
    for index, case in enumerate(cases):
        outcome = call(case)
        status, lines = judge(exercise, index, len(cases), case, outcome)
        verdicts.append(CaseVerdict(index, status == "passed", "\n".join(lines), case))
        if status != "passed":
            return failed_result(exercise, status, verdicts, lines, len(cases))
    detail = "correct" if exercise.is_value else f"correct on all {len(cases)} {label}"
    return ExerciseResult(exercise.id, "passed", exercise.points, exercise.points, verdicts,
                          feedback.headline(exercise, "passed", exercise.points, detail))


def failed_result(exercise, status, verdicts, lines, total):
    details = {
        "failed": "wrong" if exercise.is_value else f"wrong on case {len(verdicts)} of {total}",
        "error": f"raised an error on case {len(verdicts)} of {total}",
        "not attempted": "not attempted yet", "missing": f"no {'answer' if exercise.is_value else 'function'} named {exercise.name}",
        "timeout": "stopped: too slow", "memory": "stopped: out of memory", "crashed": "stopped: the process died",
    }
    detail = details[status]
    message = feedback.headline(exercise, status, 0, detail) + ("\n" + feedback.indent(lines) if lines else "")
    return ExerciseResult(exercise.id, status, 0.0, exercise.points, verdicts, message)


def judge(exercise, index, total, case, outcome):
    """(status, lines) for one outcome: status is 'passed' or why the case failed."""
    if isinstance(outcome, Missing):
        return "missing", _missing_lines(exercise, outcome)
    if isinstance(outcome, Stopped):
        call = [f"case {index + 1} of {total}: {feedback.call_text(exercise, case)}"] if outcome.during_case else []
        return outcome.status, call + [outcome.message]
    if isinstance(outcome, Raised):
        if outcome.type_name == "NotImplementedError" and exercise.is_value:
            return "not attempted", [f"{exercise.name} is still `...`: replace it with your answer "
                                     f"({exercise.answer_kind}), run that cell, then this check again."]
        if outcome.type_name == "NotImplementedError":
            return "not attempted", [f"{exercise.name} still raises NotImplementedError: replace the `raise` "
                                     f"with your answer, run that cell, then this check again."]
        out_of_memory = outcome.type_name in MEMORY_ERRORS or "can't allocate memory" in outcome.message
        status = "memory" if out_of_memory else "error"
        return status, feedback.raised_lines(exercise, index, total, case, outcome.type_name, outcome.message,
                                             outcome.where)
    difference = feedback.in_place_difference(exercise, case, outcome.args_after)
    if difference is None:
        difference = _difference(exercise, case, outcome.value)
    if difference is None:
        return "passed", []
    return "failed", feedback.case_failure(exercise, index, total, case, difference)


def expected_value(exercise, case):
    """The reference's answer on this case (computed on copies, so the case stays as it was drawn)."""
    args, kwargs = copy.deepcopy((case.args, case.kwargs))
    return to_plain(exercise.reference(*args, **kwargs))


def _difference(exercise, case, got):
    expected = expected_value(exercise, case)
    try:
        difference = exercise.compare(expected, got, exercise.rtol, exercise.atol)
    except Exception as error:   # a value the comparison does not expect is a wrong answer, never a grader crash
        return _incomparable(expected, got, error)
    if difference is not None:
        if got is None and not difference.hint:
            difference.hint = ("the answer is None: did you assign the result of a function without `return`?"
                               if exercise.is_value else "your function returned None: did you forget `return`?")
        if exercise.hint and not difference.hint:
            difference.hint = exercise.hint
        for mistake in exercise.mistakes:
            args, kwargs = copy.deepcopy((case.args, case.kwargs))
            try:
                wrong = to_plain(mistake.answer(*args, **kwargs))
                matches = exercise.compare(wrong, got, exercise.rtol, exercise.atol) is None
            except Exception:   # a known mistake that fails on this case (or on this value) simply does not match
                continue
            if matches:
                difference.hint = mistake.hint
                break
        if _fits_the_notebooks_problem(exercise, case, expected, got):
            difference.hint = (f"your answer is right for the problem shown in the notebook, but the grader gave "
                               f"your notebook a problem of its own: compute {exercise.name} from the numbers of "
                               f"problem(\"{exercise.id}\") in code, rather than typing a number in")
    return difference


def _fits_the_notebooks_problem(exercise, case, expected, got):
    """True when a value answer is right for the visible problem, and this (the grader's) problem is another."""
    if not exercise.is_value or exercise.draw is None:
        return False
    visible = exercise.visible_cases()[0]
    try:
        seen = expected_value(exercise, visible)
        return (exercise.compare(seen, got, exercise.rtol, exercise.atol) is None
                and exercise.compare(seen, expected, exercise.rtol, exercise.atol) is not None)
    except Exception:
        return False


def _incomparable(expected, got, error):
    def shown(value):
        try:
            return describe(value)
        except Exception:
            return f"a {type(value).__name__}"
    return Difference(f"expected {shown(expected)}, got {shown(got)}: your value cannot be compared with the "
                      f"expected one ({type(error).__name__})",
                      "return the same kind of value as the exercise asks for (its type, shape and dtype)")


def _missing_lines(exercise, outcome):
    if outcome.found is not None and not exercise.is_value:
        return [f"{exercise.name} is {outcome.found}, not a function: define it with `def {exercise.signature}:`"]
    lines = [f"your notebook defines no {exercise.name}: the grader looks the answer up by this exact name"]
    close = difflib.get_close_matches(exercise.name, outcome.names, n=3, cutoff=0.6)
    close += [name for name in outcome.names if name.lower() == exercise.name.lower() and name not in close]
    if close:
        lines.append(f"hint: did you mean {' or '.join(close)}? Rename it to {exercise.name}.")
    return lines
