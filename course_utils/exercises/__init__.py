"""Exercises: ``check()`` in the notebooks, the registry, release and grading.

In a notebook::

    from course_utils.exercises import check
    check("recipe.hard_sigmoid", hard_sigmoid)

From the command line (``python -m course_utils --help``)::

    python -m course_utils release --out release/
    python -m course_utils grade submissions/ --out grades.csv --feedback-dir feedback/ --jobs 2

Modules:

- :mod:`.registry`, :mod:`.chapters`, :mod:`.cases`: every exercise, declared once per chapter;
- :mod:`.check`, :mod:`.evaluate`, :mod:`.compare`, :mod:`.feedback`: judging an answer and wording
  the verdict (shared by ``check()`` and the grader);
- :mod:`.cells`, :mod:`.release`: reading exercise cells; writing the student notebooks;
- :mod:`.grade`, :mod:`.session`, :mod:`.sandbox`, :mod:`.worker`, :mod:`.protocol`, :mod:`.report`:
  grading submitted notebooks in a separate, sandboxed process, into a gradebook and feedback files.
"""
from .check import check
from .evaluate import ExerciseResult
from .registry import Case, Exercise, Mistake, all_exercises, chapter_exercises, get_exercise

__all__ = ["check", "ExerciseResult", "Case", "Exercise", "Mistake", "all_exercises", "chapter_exercises",
           "get_exercise"]
