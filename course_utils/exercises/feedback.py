"""The words of a verdict: what failed, on which input, expected vs got, and a hint.

Shared by ``check()`` (printed under the check cell) and the grader (written into
each student's feedback file), so a student reads the same kind of message in
both places.
"""
import linecache
import os
import re
import sys

import torch

from .compare import Difference, describe

MARKS = {"passed": "✔", "not attempted": "…"}


def headline(exercise, status, points, detail):
    """The first line of a verdict, e.g. ``✔ recipe.hard_sigmoid: correct on all 6 cases (1/1 point).``"""
    mark = MARKS.get(status, "✘")
    return f"{mark} {exercise.id}: {detail} ({points:g}/{exercise.points:g} " \
           f"point{'s' if exercise.points != 1 else ''})."


def call_text(exercise, case, limit=8):
    """``hard_sigmoid(x=tensor([0.5, -1.2]), c=1.5, b=0.2, w=-1.0)``; big tensors as ``<tensor (4, 3), float32>``."""
    named = [*zip(exercise.parameters, case.args), *case.kwargs.items()]
    parts = [f"{name}={describe(value, limit, compact=True)}" for name, value in named]
    return f"{exercise.name}({', '.join(parts)})"


def case_failure(exercise, index, total, case, difference: Difference):
    """The lines under the headline for a case whose result differs."""
    lines = [] if exercise.is_value else [f"case {index + 1} of {total}: {call_text(exercise, case)}"]
    lines += difference.what.splitlines()
    if difference.hint:
        lines.append(f"hint: {difference.hint}")
    return lines


def in_place_difference(exercise, case, args_after):
    """A Difference naming the first tensor, list or dict argument the answer changed in place, or None."""
    for name, before, after in zip(exercise.parameters, case.args, args_after):
        if isinstance(before, (list, dict)) and not _same_plain(before, after):
            making = "sorted(xs) or xs[::-1]" if isinstance(before, list) else "dict(d) or {**d}"
            changing = "xs.sort(), xs.reverse() or xs.append(...)" if isinstance(before, list) else "d[k] = ..."
            hint = f"leave the inputs untouched: {making} make a new one, while {changing} change the caller's own"
        elif isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor) and not _same_plain(before, after):
            hint = (f"leave the inputs untouched: write {name} = {name} * 2 rather than {name} *= 2, "
                    f"and use torch.relu(z) rather than z.relu_() on an input")
        else:
            continue
        return Difference(f"your function changed its input {name} in place (it was {describe(before)}, and "
                          f"afterwards {describe(after)})", hint)
    return None


def _same_plain(before, after):
    """Plain values (lists, dicts, tensors, numbers) equal item by item; NaN equals NaN."""
    if isinstance(before, torch.Tensor) or isinstance(after, torch.Tensor):
        return (isinstance(before, torch.Tensor) and isinstance(after, torch.Tensor) and before.shape == after.shape
                and before.dtype == after.dtype and torch.equal(torch.nan_to_num(before), torch.nan_to_num(after)))
    if isinstance(before, (list, tuple)) or isinstance(after, (list, tuple)):
        return (type(before) is type(after) and len(before) == len(after)
                and all(_same_plain(a, b) for a, b in zip(before, after)))
    if isinstance(before, dict) or isinstance(after, dict):
        return (isinstance(before, dict) and isinstance(after, dict) and list(before) == list(after)
                and all(_same_plain(before[key], after[key]) for key in before))
    if isinstance(before, float) and isinstance(after, float) and before != before and after != after:
        return True
    return type(before) is type(after) and before == after


def error_hint(exercise, type_name, message):
    """A hint for an exception raised by the answer: the exercise's own hints first, then generic ones."""
    for fragment, hint in exercise.error_hints.items():
        if fragment in message:
            return hint
    if "calls check() on itself" in message:
        return "call check() in its own cell, after your function, never inside it"
    if "__call__ has no self parameter" in message:
        return f"write `def __call__(self, {', '.join(exercise.parameters)}):` (or simply a function, " \
               f"`def {exercise.signature}:`)"
    if type_name == "TypeError" and re.search(r"positional argument|unexpected keyword|required", message):
        return f"the check calls {exercise.signature}: your function must take exactly these arguments"
    if type_name == "NameError":
        return "your function uses a name that is not defined: define it inside the function or in a cell above it"
    if "must match the size" in message or "shapes cannot be multiplied" in message or "size mismatch" in message:
        return "the shapes of two tensors do not fit together: print their .shape to see which"
    if "expected scalar type" in message or "dtype" in message.lower():
        return "two tensors have different dtypes: keep to the inputs' dtype (float32)"
    return ""


def raised_lines(exercise, index, total, case, type_name, message, where):
    """The lines under the headline when the answer raised an exception."""
    lines = [f"case {index + 1} of {total}: {call_text(exercise, case)}",
             f"your function raised {type_name}: {abridged(message)}"]
    if where:
        lines.append(f"at: {abridged(where)}")
    hint = error_hint(exercise, type_name, message)
    if hint:
        lines.append(f"hint: {hint}")
    return lines


def abridged(text, limit=300):
    """``text`` on one line, cut to ``limit`` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def indent(lines):
    return "\n".join(["  " + line for line in lines])


def student_line(error):
    """'line 3: return x @ W' for the innermost frame of an exception that is in the student's own code."""
    library_roots = tuple(os.path.realpath(p) for p in {sys.prefix, sys.base_prefix, os.path.dirname(
        os.path.dirname(os.path.abspath(__file__)))})
    found = ""
    traceback = error.__traceback__
    while traceback is not None:
        frame_code = traceback.tb_frame.f_code
        path = frame_code.co_filename
        if not os.path.realpath(path).startswith(library_roots) and not path.startswith("<frozen"):
            source = linecache.getline(path, traceback.tb_lineno).strip()
            found = f"line {traceback.tb_lineno}" + (f": {source}" if source else "")
        traceback = traceback.tb_next
    return found
