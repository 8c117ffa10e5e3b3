"""The exercise registry: every exercise of the course, declared once.

A chapter declares its exercises in ``course_utils/exercises/chapters/<chapter>.py``
as a list ``EXERCISES`` of :class:`Exercise` (and names its notebook in
``NOTEBOOK``). A declaration says what the answer is compared against (the
reference in ``course_utils``), how a random case is drawn, how two answers are
compared, known mistakes worth naming, and the points.

``check()`` in a notebook draws the *visible* cases: the fixed ones and a few
random ones from a seed derived from the id, so a student sees the same cases
every time. The grader draws *hidden* cases with
:func:`course_utils.exercises.cases.hidden_cases`, from a seed made of the instructor's
grading key and the id (the same cases on every run, unknown without the key);
:meth:`Exercise.hidden_cases` draws unseen cases from a fresh :mod:`secrets` seed.
"""
import importlib
import inspect
import pkgutil
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from . import compare as comparisons


@dataclass(frozen=True)
class Case:
    """One call of the answer: positional and keyword arguments."""

    args: Tuple[Any, ...]
    kwargs: Dict[str, Any] = field(default_factory=dict)


class MadeOnUse(Sequence):
    """Fixed cases that take time to make (the records of training runs): ``make()`` runs on first use,
    not when the exercises are imported, so a notebook or a graded submission that imports them pays nothing
    for the cases of exercises it never checks."""

    def __init__(self, make):
        self.make = make

    @cached_property
    def cases(self):
        return tuple(self.make())

    def __getitem__(self, index):
        return self.cases[index]

    def __len__(self):
        return len(self.cases)


@dataclass(frozen=True)
class Mistake:
    """A wrong answer worth naming: when the student's result matches ``answer``'s, say ``hint``."""

    hint: str
    answer: Callable


@dataclass(frozen=True)
class Exercise:
    """One exercise: ``check("<chapter>.<name>", answer)`` compares ``answer`` with ``reference``.

    ``draw(rng)`` returns one random :class:`Case` from a ``torch.Generator``;
    ``fixed`` cases (edge cases) always run first (a :class:`MadeOnUse` makes them on first use).
    ``compare`` is one of the comparisons in :mod:`course_utils.exercises.compare`.
    ``error_hints`` maps a piece of an error message to a hint, e.g. ``{"mat1 and mat2":
    "check the orientation of W"}``. ``hint`` is said when a result is wrong and no mistake
    or comparison names the reason.

    ``kind`` is ``"function"`` (the answer is a function, called on every case)
    or ``"value"`` (the answer is a value: a number worked out, or a choice).
    A value exercise has one case, ``Case((problem,))``: ``problem`` is what the
    student works from (a dict of plain values; see :func:`.problems.problem`),
    or ``Case(())`` for a question without one. ``reference(problem)`` is the
    right answer, and each mistake's ``answer(problem)`` a wrong one. The notebook
    shows the visible problem; the grader hands the notebook a problem of its
    own, so the answer must be computed from ``problem``, not typed in.
    ``answer_kind`` names what a value answer is ("a number", "one letter").
    """

    id: str
    reference: Callable
    draw: Optional[Callable[[torch.Generator], Case]] = None
    fixed: Tuple[Case, ...] = ()
    compare: Callable = comparisons.same_tensor
    mistakes: Tuple[Mistake, ...] = ()
    error_hints: Dict[str, str] = field(default_factory=dict)
    rtol: float = 1e-5
    atol: float = 1e-6
    points: float = 1.0
    visible_random_cases: int = 4
    hidden_random_cases: int = 12
    kind: str = "function"
    hint: str = ""
    answer_kind: str = "a number"

    def __post_init__(self):
        chapter, _, name = self.id.partition(".")
        if not chapter or not name.isidentifier():
            raise ValueError(f"exercise id {self.id!r} must read '<chapter>.<python name>', e.g. 'recipe.hard_sigmoid'")
        if self.kind not in ("function", "value"):
            raise ValueError(f"{self.id}: kind must be 'function' or 'value', not {self.kind!r}")
        if not isinstance(self.fixed, MadeOnUse):
            object.__setattr__(self, "fixed", tuple(self.fixed))
        object.__setattr__(self, "mistakes", tuple(self.mistakes))
        if self.kind == "value":
            if (self.draw is None) == (len(self.fixed) != 1):
                raise ValueError(f"{self.id}: a value exercise has either draw (a problem drawn per seed) or "
                                 f"exactly one fixed case (a question without a problem)")
            drawn = int(self.draw is not None)   # one problem (the notebook's, or the grader's), or none
            object.__setattr__(self, "visible_random_cases", drawn)
            object.__setattr__(self, "hidden_random_cases", drawn)
        elif self.draw is None:
            raise ValueError(f"{self.id}: a function exercise needs draw(rng) for its random cases")

    @property
    def chapter(self):
        return self.id.partition(".")[0]

    @property
    def name(self):
        """The name the answer must have in the notebook (the grader looks it up by this name)."""
        return self.id.partition(".")[2]

    @property
    def is_value(self):
        return self.kind == "value"

    @property
    def parameters(self):
        """The argument names of the reference, in order."""
        return list(inspect.signature(self.reference).parameters)

    @property
    def signature(self):
        return f"{self.name}({', '.join(self.parameters)})"

    def visible_cases(self):
        """The cases check() runs: fixed ones, then random ones from a seed that depends on the id only."""
        return self._cases(zlib.crc32(self.id.encode()), self.visible_random_cases, hidden=False)

    def hidden_cases(self):
        """Fixed cases, then random ones from a fresh secret seed: cases nobody has seen (the grader's
        own, repeatable cases come from :func:`course_utils.exercises.cases.hidden_cases`)."""
        return self._cases(secrets.randbits(63), self.hidden_random_cases)

    def _cases(self, seed, count, hidden=True):
        rng = torch.Generator().manual_seed(seed)
        if self.is_value:   # one problem: the fixed question, or the one drawn from this seed
            return list(self.fixed) if self.draw is None else [self._problem_case(rng, hidden)]
        return list(self.fixed) + [self.draw(rng) for _ in range(count)]

    def _problem_case(self, rng, hidden):
        """The value exercise's problem; a hidden one is drawn again (up to 50 times) until its answer differs
        from the visible problem's, so that the notebook's answer, typed in, cannot pass the grader."""
        case = self.draw(rng)
        if not hidden:
            return case
        from .evaluate import expected_value

        visible = expected_value(self, self.visible_cases()[0])
        for _ in range(50):
            if self.compare(visible, expected_value(self, case), self.rtol, self.atol) is not None:
                return case
            case = self.draw(rng)
        raise ValueError(f"{self.id}: 50 problems in a row have the visible problem's answer; draw problems "
                         f"whose answers differ")


@lru_cache(maxsize=None)
def _chapters():
    """{chapter name: (notebook stem, {id: Exercise})} for every module in ``chapters/``."""
    from . import chapters

    found = {}
    for module_info in sorted(pkgutil.iter_modules(chapters.__path__), key=lambda info: info.name):
        module = importlib.import_module(f"{chapters.__name__}.{module_info.name}")
        exercises = {exercise.id: exercise for exercise in module.EXERCISES}
        for exercise in exercises.values():
            if exercise.chapter != module_info.name:
                raise ValueError(f"{exercise.id} is declared in chapters/{module_info.name}.py; "
                                 f"its id must start with '{module_info.name}.'")
        found[module_info.name] = (module.NOTEBOOK, exercises)
    # Chapter order is the order of the notebooks (00_..., 01_...), not of the module names.
    return dict(sorted(found.items(), key=lambda item: (item[1][0], item[0])))


def all_exercises():
    """{id: Exercise} for the whole course, in chapter order."""
    return {id_: exercise for _, exercises in _chapters().values() for id_, exercise in exercises.items()}


def chapter_notebooks():
    """{chapter name: notebook stem} for every chapter that declares exercises, in notebook order."""
    return {chapter: notebook for chapter, (notebook, _) in _chapters().items()}


def get_exercise(exercise_id) -> Optional[Exercise]:
    """The exercise with this id, or None."""
    return all_exercises().get(exercise_id)


def chapter_exercises(chapter):
    """The exercises of one chapter, in declaration order (empty if the chapter has none)."""
    return list(_chapters().get(chapter, (None, {}))[1].values())


def chapter_of_notebook(filename):
    """The chapter whose notebook stem (e.g. ``00_training_recipe``) occurs in this file name, or None."""
    stems = {notebook: chapter for chapter, (notebook, _) in _chapters().items()}
    matches = [chapter for notebook, chapter in stems.items() if notebook in filename]
    return max(matches, key=lambda chapter: len(_chapters()[chapter][0])) if matches else None


def chapter_names():
    return list(_chapters())


def choice_exercise(exercise_id, answer, explanations):
    """A multiple-choice question among (a) to (d): ``answer`` is the right letter, ``explanations`` says why
    each wrong one is wrong (``{"a": "why (a) is wrong", ...}``: one :class:`Mistake` per wrong letter)."""
    return Exercise(exercise_id, lambda: answer, kind="value", fixed=[Case(())],
                    compare=comparisons.same_choice("abcd"), answer_kind="one letter",
                    mistakes=[Mistake(why, (lambda letter: lambda *problem: letter)(letter))
                              for letter, why in explanations.items()])


def label_mistakes(reference, reasons):
    """Mistakes for a diagnosis: ``{(true label, said label): why it is not that}``. Each is the answer that
    says ``said`` where the reference says ``true``, and is right everywhere else, so it matches exactly the
    student's answer on such a case."""
    def wrong(true, said):
        def answer(*args, **kwargs):
            label = reference(*args, **kwargs)
            return said if label == true else label
        return answer

    return [Mistake(why, wrong(true, said)) for (true, said), why in reasons.items()]
