"""Exercises: ``check()`` in the notebooks, the registry, release and grading.

In a notebook::

    from course_utils.exercises import check, problem
    check("recipe.hard_sigmoid", hard_sigmoid)          # a function exercise: pass the function
    stable = problem("critical.largest_stable_lr")      # a value exercise: its problem, then
    largest_stable_lr = 2 / ...                         # the answer computed from the problem's numbers
    check("critical.largest_stable_lr", largest_stable_lr)

From the command line (``python -m course_utils --help``)::

    python -m course_utils release --out release/
    python -m course_utils grade submissions/ --out grades.csv --feedback-dir feedback/ --jobs 2

Modules:

- :mod:`.registry`, :mod:`.chapters`, :mod:`.cases`: every exercise, declared once per chapter;
- :mod:`.problems`: the problem a value exercise is about (the notebook's, or the grader's own);
- :mod:`.check`, :mod:`.evaluate`, :mod:`.compare`, :mod:`.feedback`: judging an answer and wording
  the verdict (shared by ``check()`` and the grader);
- :mod:`.cells`, :mod:`.release`: reading exercise cells; writing the student notebooks;
- :mod:`.grade`, :mod:`.session`, :mod:`.sandbox`, :mod:`.worker`, :mod:`.protocol`, :mod:`.report`:
  grading submitted notebooks in a separate, sandboxed process, into a gradebook and feedback files.
"""
from .check import check
from .evaluate import ExerciseResult
from .problems import problem
from .registry import Case, Exercise, Mistake, all_exercises, chapter_exercises, get_exercise

__all__ = ["check", "problem", "ExerciseResult", "Case", "Exercise", "Mistake", "all_exercises",
           "chapter_exercises", "get_exercise"]
