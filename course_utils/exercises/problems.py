"""The problem a value exercise is about: ``problem("<chapter>.<name>")`` in a notebook.

A *value* exercise (a prediction worked out from the theory, a choice) asks for a value
about one problem, e.g. "the largest stable learning rate for this Hessian". In the
student's notebook :func:`problem` returns the exercise's visible problem, the same
every time; the check compares the answer with the right value for it. The grader
draws a problem of its own from the instructor's key, hands it to the submission's
process before the cells run (:func:`use_problems`), and compares the value the cells
computed with the right value for *that* problem. So the answer must be computed from
the problem's numbers in code; a number typed in (or copied) fits one problem only.
"""
import copy

import torch

from .compare import describe
from .registry import all_exercises, get_exercise

_GRADERS_PROBLEMS = {}


class Problem(dict):
    """A problem's numbers, readable as ``p.hessian`` or ``p["hessian"]``; printed one per line."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"this problem has no {name!r}; it has {', '.join(self)}") from None

    def __repr__(self):
        width = max(map(len, self), default=0)
        return "\n".join(f"{name:<{width}} = {_shown(value)}" for name, value in self.items())

    def _repr_pretty_(self, printer, cycle):
        printer.text(repr(self))


def _shown(value):
    if isinstance(value, torch.Tensor) and value.numel() <= 16:
        return repr(value)
    if isinstance(value, (list, tuple)) and len(value) <= 32 and all(
            isinstance(item, (bool, int, float, str)) for item in value):
        return repr(value)   # every number the student works from, never abridged
    return describe(value, limit=16) if not isinstance(value, (int, float, str)) else repr(value)


def problem(exercise_id):
    """The problem of the value exercise ``exercise_id``: the visible one in a notebook, the grader's in grading."""
    exercise = get_exercise(exercise_id) if isinstance(exercise_id, str) else None
    if exercise is None or not exercise.is_value or exercise.draw is None:
        with_problems = [e.id for e in all_exercises().values() if e.is_value and e.draw is not None]
        raise ValueError(f"{exercise_id!r} is not an exercise with a problem; these have one: "
                         f"{', '.join(with_problems)}")
    if exercise.id in _GRADERS_PROBLEMS:
        return Problem(copy.deepcopy(_GRADERS_PROBLEMS[exercise.id]))
    return Problem(copy.deepcopy(exercise.visible_cases()[0].args[0]))


def use_problems(problems):
    """Make :func:`problem` return these problems ({id: dict}); the grader's process calls this before the cells run."""
    _GRADERS_PROBLEMS.clear()
    _GRADERS_PROBLEMS.update({str(key): dict(value) for key, value in problems.items() if isinstance(value, dict)})
