"""Exercises: ``check()`` in the notebooks, the registry, release and grading.

In a notebook::

    from course_utils.exercises import check
    check("recipe.hard_sigmoid", hard_sigmoid)

Modules:

- :mod:`.registry` and :mod:`.chapters`: every exercise, declared once per chapter;
- :mod:`.check`, :mod:`.evaluate`, :mod:`.compare`, :mod:`.feedback`: judging an answer and wording the verdict;
- :mod:`.release`: the student notebooks (solutions removed);
- :mod:`.grade`, :mod:`.session`, :mod:`.sandbox`, :mod:`.worker`, :mod:`.protocol`:
  grading submitted notebooks in a separate, isolated process.
"""
from .check import check
from .evaluate import ExerciseResult
from .registry import Case, Exercise, Mistake, all_exercises, chapter_exercises, get_exercise

__all__ = ["check", "ExerciseResult", "Case", "Exercise", "Mistake", "all_exercises", "chapter_exercises",
           "get_exercise"]
