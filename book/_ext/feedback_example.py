"""``feedback-example``: a verdict of ``check()``, computed as the page is built.

The book's pages show what ``check`` prints for an answer without typing it in, so the
example stays true when the checks change::

    ```{feedback-example} recipe.sigmoid_model
    def sigmoid_model(x, W, b_hidden, c, b):
        raise NotImplementedError
    ```

The argument is the exercise id; the body is Python code that defines the answer under the
exercise's name (the part of the id after the dot), as a student's cell would. The directive
runs the code, calls ``check(id, answer)`` and shows the verdict it prints as a text block.
Code that raises, or leaves the name undefined, is a build error naming the line of the
page. ``make book`` empties Sphinx's record of read pages when ``course_utils`` changes, so
the verdict is computed again then.
"""
import contextlib
import io

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective


class FeedbackExample(SphinxDirective):
    required_arguments = 1  # the exercise id
    has_content = True
    option_spec = {"class": directives.class_option}

    def run(self):
        from course_utils.exercises import all_exercises, check

        exercise_id = self.arguments[0]
        if exercise_id not in all_exercises():
            raise self.error(f"feedback-example: there is no exercise {exercise_id!r}")
        name = exercise_id.rpartition(".")[2]
        code = "\n".join(self.content)
        namespace = {"__name__": f"feedback_example_{name}"}
        try:
            exec(compile(code, f"{self.get_location()} (feedback-example)", "exec"), namespace)
        except Exception as error:
            raise self.error(f"feedback-example {exercise_id}: its code raised {type(error).__name__}: {error}")
        if name not in namespace:
            raise self.error(f"feedback-example {exercise_id}: its code must define `{name}`, the answer to check")
        with contextlib.redirect_stdout(io.StringIO()):
            verdict = check(exercise_id, namespace[name]).message
        block = nodes.literal_block(verdict, verdict, language="text",
                                    classes=["feedback-example"] + self.options.get("class", []))
        self.set_source_info(block)
        return [block]


def setup(app):
    app.add_directive("feedback-example", FeedbackExample)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
