"""How an answer is compared with the reference, and the hints a difference suggests.

A comparison takes ``(expected, got, rtol, atol)`` (both plain values, see
:mod:`~course_utils.exercises.protocol`) and returns ``None`` when they agree,
or a :class:`Difference`: what differs ("expected … got …") and, where the
difference points at a likely mistake, a hint. The generic hints: returned
None, wrong type, wrong shape (or off by a transpose), wrong dtype, NaN or inf,
a softmax applied twice, the wrong sign. Exercise-specific mistakes are
declared with the exercise (:class:`~course_utils.exercises.registry.Mistake`).
"""
import math
from dataclasses import dataclass

import numpy as np
import torch

from .protocol import Opaque


@dataclass
class Difference:
    """What differs between the expected and the returned value, and a hint at the likely mistake."""

    what: str
    hint: str = ""


# ----------------------------------------------------------------------------- describing values


def describe(value, limit=6, compact=False):
    """A short, readable form of a value: small tensors in full, big ones abridged, with shape and dtype.

    ``compact`` (for the inputs of a case) leaves out shape and dtype of small float32 tensors and
    writes a big tensor as ``<tensor (4, 3), float32>``.
    """
    if isinstance(value, torch.Tensor):
        shape = "(" + ", ".join(map(str, value.shape)) + ("," if value.dim() == 1 else "") + ")"
        dtype = str(value.dtype).removeprefix("torch.")
        if value.dim() == 0:
            return f"tensor({_number(value.item())})" if compact and dtype == "float32" else \
                f"tensor({_number(value.item())}, {dtype})"
        if compact and value.numel() > limit:
            return f"<tensor {shape}, {dtype}>"
        flat = value.reshape(-1)
        if value.numel() <= limit:
            body = ", ".join(_number(v) for v in flat.tolist())
        else:
            body = ", ".join([_number(v) for v in flat[: limit - 2].tolist()] + ["…"] +
                             [_number(v) for v in flat[-2:].tolist()])
        if compact and dtype == "float32" and value.dim() == 1:
            return f"tensor([{body}])"
        return f"tensor([{body}]) of shape {shape}, {dtype}"
    if isinstance(value, np.ndarray):
        return f"a NumPy array of shape {value.shape}, {value.dtype}"
    if isinstance(value, Opaque):
        return value.description
    if isinstance(value, (tuple, list)):
        inner = ", ".join(describe(item, limit=3) for item in value[:4]) + (", …" if len(value) > 4 else "")
        return f"({inner})" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, float):
        return _number(value)
    return repr(value) if not isinstance(value, str) else repr(value[:80])


def _number(value):
    """4 significant digits; a float keeps a decimal point (1.0, not 1) so it reads as a float."""
    if isinstance(value, (bool, int)):
        return str(value)
    text = f"{value:.4g}"
    if isinstance(value, float) and text.lstrip("-").isdigit():
        text += ".0"
    return text


def kind_of(value):
    """'a float', 'a tuple', 'None', … for messages."""
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        return value.description
    article = "an" if type(value).__name__[0] in "aeiou" else "a"
    return f"{article} {type(value).__name__}"


# ----------------------------------------------------------------------------- tensors


def same_tensor(expected, got, rtol, atol):
    """The answer must be a tensor of the reference's shape and dtype with close values."""
    if not isinstance(got, torch.Tensor):
        return _not_a_tensor(expected, got)
    if got.shape != expected.shape:
        return Difference(f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}",
                          _shape_hint(expected, got))
    if got.dtype != expected.dtype:
        return Difference(f"expected dtype {_dtype(expected)}, got {_dtype(got)}", _dtype_hint(expected, got))
    if got.is_floating_point() and not torch.isfinite(got).all() and torch.isfinite(expected).all():
        index = _first(~torch.isfinite(got))
        return Difference(f"got {got[index].item()} at index {index}",
                          "your result has NaN or inf: look for a division by zero, a log of 0 or an exp of a "
                          "large number")
    close = torch.isclose(got, expected, rtol=rtol, atol=atol) if got.is_floating_point() else got == expected
    if close.all():
        return None
    index = _first(~close)
    what = (f"{int((~close).sum())} of {close.numel()} values differ; first at index {index}: "
            f"expected {_number(expected[index].item())}, got {_number(got[index].item())}\n"
            f"expected: {describe(expected)}\ngot:      {describe(got)}")
    return Difference(what, _value_hint(expected, got, rtol, atol))


def _not_a_tensor(expected, got):
    what = f"expected {describe(expected)}, got {kind_of(got)}" + (
        f": {describe(got)}" if isinstance(got, (int, float, tuple, list)) else "")
    if got is None:
        return Difference(what, "your function returned None: did you forget `return`?")
    if isinstance(got, Opaque):
        return Difference(what, got.hint or "return a torch.Tensor, as the reference does")
    if isinstance(got, np.ndarray):
        return Difference(what, "return a torch.Tensor, not a NumPy array: stay with torch operations on the inputs")
    if isinstance(got, (int, float)):
        return Difference(what, "return a tensor: compute with torch operations on the input tensors "
                                "(a Python number means .item(), math.* or a loop collapsed the result)")
    if isinstance(got, (tuple, list)):
        return Difference(what, "return one tensor, not a tuple or list (torch.stack can join a list of tensors)")
    return Difference(what, "return a torch.Tensor, as the reference does")


def _shape_hint(expected, got):
    if got.dim() >= 2 and got.shape == expected.shape[:-2] + expected.shape[-2:][::-1]:
        return "your result is off by a transpose: check which dimension is which (.T, or the order in @)"
    if got.dim() == expected.dim() + 1:
        return "your result has an extra dimension: did you forget to sum or squeeze one, or use keepdim=True?"
    if got.dim() + 1 == expected.dim():
        return "your result is missing a dimension: did you reduce (sum, mean) over one dimension too many?"
    if got.numel() == expected.numel():
        return "the right number of values in the wrong shape: check reshape/view, or which dimension you reduced"
    if got.dim() == 0:
        return "you returned a single number: did you reduce (sum, mean) the whole tensor?"
    return ""


def _dtype(tensor):
    return str(tensor.dtype).removeprefix("torch.")


def _dtype_hint(expected, got):
    if expected.is_floating_point() and got.dtype == torch.float64:
        return ("your result is float64 but the inputs are float32: a tensor made with dtype=torch.float64, "
                "from a NumPy array, or .double() promotes it; keep to the inputs' dtype")
    if expected.is_floating_point() and not got.is_floating_point():
        return "your result holds integers or booleans: did you use //, a comparison, or .long()?"
    return f"convert with .to({expected.dtype}) only if you must; better, keep the inputs' dtype throughout"


def _value_hint(expected, got, rtol, atol):
    def matches(candidate):
        return candidate.shape == got.shape and torch.allclose(got, candidate, rtol=rtol, atol=atol)

    if not got.is_floating_point():
        return ""
    if got.dim() >= 2 and got.shape[-1] == got.shape[-2] and matches(expected.transpose(-1, -2)):
        return ("your result is the transpose of the expected one: check which dimension is which "
                "(.T, or the order in @)")
    if expected.dim() >= 1 and matches(torch.softmax(expected, dim=-1)):
        return "it looks like softmax was applied twice: the values are softmax of the expected ones"
    if torch.any(expected.abs() > atol) and matches(-expected):
        return "every value has the wrong sign"
    return ""


def _first(mask):
    index = tuple(int(i) for i in mask.nonzero()[0])
    return index if len(index) != 1 else index[0]


def same_tensors(*names):
    """A comparison for answers that are a tuple of tensors, e.g. ``same_tensors("running_mean", "running_var")``:
    each like the reference's, a difference named by its tensor."""

    def compare(expected, got, rtol, atol):
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            all_of = "both" if len(names) == 2 else f"all {len(names)}"
            return Difference(f"expected a tuple ({', '.join(names)}), got {describe(got)}",
                              f"return {all_of}: `return {', '.join(names)}`" if got is not None
                              else "your function returned None: did you forget `return`?")
        for name, want, have in zip(names, expected, got):
            difference = same_tensor(want, have, rtol, atol)
            if difference is not None:
                return Difference(f"{name}: {difference.what}", difference.hint)
        return None

    compare.__name__ = f"same_tensors({', '.join(names)})"
    return compare


# ----------------------------------------------------------------------------- numbers and integers


def same_numbers(*names):
    """A comparison for answers that are a tuple of numbers, e.g. ``same_numbers("w_new", "b_new")``.

    Each value may be a Python number or a one-element tensor.
    """

    def compare(expected, got, rtol, atol):
        wanted = f"a tuple ({', '.join(names)})"
        if not isinstance(got, (tuple, list)) or len(got) != len(names):
            return Difference(f"expected {wanted}, got {kind_of(got)}"
                              + (f": {describe(got)}" if got is not None else ""),
                              f"return all {len(names)} values: `return {', '.join(names)}`" if got is not None
                              else "your function returned None: did you forget `return`?")
        for name, want, have in zip(names, expected, got):
            number = _as_number(have)
            if number is None:
                return Difference(f"{name}: expected a number, got {describe(have)}",
                                  f"{name} should be a Python number or a tensor with one value")
            if not math.isclose(number, float(want), rel_tol=rtol, abs_tol=atol):
                return Difference(f"{name}: expected {_number(float(want))}, got {_number(number)}")
        return None

    compare.__name__ = f"same_numbers({', '.join(names)})"
    return compare


def _as_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value.reshape(()).item())
    return None


def same_int(expected, got, rtol, atol):
    """The answer must be exactly the expected Python int."""
    if isinstance(got, int) and not isinstance(got, bool):
        return None if got == expected else Difference(f"expected {expected}, got {got}")
    what = f"expected the int {expected}, got {kind_of(got)}" + (f": {describe(got)}" if got is not None else "")
    if isinstance(got, float):
        return Difference(what, "return an int: / always gives a float; math.ceil(...) or // give an int")
    if isinstance(got, torch.Tensor):
        return Difference(what, "return a Python int (int(...) of the tensor), not a tensor")
    if got is None:
        return Difference(what, "your function returned None: did you forget `return`?")
    return Difference(what, "return a Python int")


# ----------------------------------------------------------------------------- values: predictions and choices


def close_number(expected, got, rtol, atol):
    """A predicted number: within the tolerance of the expected one. The verdict says whether the answer is
    too high or too low, never the expected value (the check must not hand out the answer)."""
    number = _as_number(got)
    if number is None:
        what = f"expected a number, got {kind_of(got)}" + (f": {describe(got)}" if got is not None else "")
        if got is None:
            return Difference(what, "the answer is None: did you assign a function's result that has no `return`?")
        if isinstance(got, str):
            return Difference(what, "write the number itself, not text: 0.25 rather than '0.25'")
        return Difference(what, "give one number: a Python float, or a tensor holding one value")
    if not math.isfinite(number):
        return Difference(f"your answer is {number}", "a prediction is a finite number: look for a division by "
                                                      "zero or a log of 0")
    if math.isclose(number, float(expected), rel_tol=rtol, abs_tol=atol):
        return None
    side = "too high" if number > float(expected) else "too low"
    shown = str(int(number)) if number.is_integer() and abs(number) < 1e15 else _number(number)
    tolerance = f"right within {rtol * 100:.2g}%" if rtol >= 1e-4 else "exact"
    return Difference(f"your answer {shown} is {side}: it must be {tolerance}")


def _normal_choice(value):
    """'b', ' (B) ', 'B)' all read as 'b'; anything else is returned unchanged."""
    if isinstance(value, str):
        text = value.strip().strip("()").strip().lower()
        return text if text else value
    return value


def same_choice(choices):
    """A comparison for a multiple-choice answer: one of ``choices`` (letters), in any case, with or without
    brackets. A wrong choice is explained by the exercise's mistakes (see :func:`.registry.choice_exercise`)."""
    letters = ", ".join(f"'{letter}'" for letter in choices)

    def compare(expected, got, rtol, atol):
        choice = _normal_choice(got)
        if choice not in choices:
            return Difference(f"expected one of {letters}, got {describe(got)}",
                              f"answer with the letter of your choice as a string, e.g. '{choices[0]}'")
        return None if choice == expected else Difference(f"({choice}) is not the right choice")

    compare.__name__ = f"same_choice({letters})"
    return compare


def same_label(labels):
    """A comparison for a function that names one of ``labels`` (e.g. a diagnosis). The verdict names what it
    said and what the case was; why it is wrong comes from the exercise's mistakes."""
    known = ", ".join(repr(label) for label in labels)

    def compare(expected, got, rtol, atol):
        label = got.strip().lower() if isinstance(got, str) else got
        if label not in labels:
            hint = ("your function returned None: did you forget `return`?" if got is None
                    else f"return one of {known}, spelled exactly so")
            return Difference(f"expected one of {known}, got {describe(got)}", hint)
        return None if label == expected else Difference(f"you said {label!r}, but this is {expected!r}")

    compare.__name__ = f"same_label({known})"
    return compare
