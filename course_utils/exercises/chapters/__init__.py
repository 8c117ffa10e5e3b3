"""One module per chapter, named after the chapter (the first part of an exercise id).

Each module defines ``NOTEBOOK`` (the stem of the chapter's notebook, e.g.
``"00_training_recipe"``) and ``EXERCISES`` (a list of
:class:`~course_utils.exercises.registry.Exercise`). The registry finds the
modules by itself: a new chapter is a new module here.
"""
