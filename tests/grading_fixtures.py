"""Small chapter-0 notebooks for the exercise tests, built with nbformat (no committed fixtures).

``instructor_notebook()`` has the three cells of DESIGN.md per exercise
(exercise stub, solution + remove-cell, check). ``submission(...)`` is what a
student hands in: the released notebook with some stubs replaced by answers.
The solutions here are written differently from the library's references
(``course_utils.experiments.recipe`` and ``course_utils.exercises.chapters.recipe``) on
purpose, so that a test searching a released file for them cannot be fooled by
the library's own source.
"""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

STUBS = {
    "hard_sigmoid": "def hard_sigmoid(x, c, b, w):\n    raise NotImplementedError",
    "sigmoid_model": "def sigmoid_model(x, W, b_hidden, c, b):\n    raise NotImplementedError",
    "linear_regression_step": "def linear_regression_step(w, b, x, y, learning_rate):\n"
                              "    raise NotImplementedError",
    "updates_per_epoch": "def updates_per_epoch(n_examples, batch_size, drop_last=False):\n"
                         "    raise NotImplementedError",
    "parameter_count": "parameter_count = ...",
    "diagnose_training": "def diagnose_training(record):\n    raise NotImplementedError",
}

SOLUTIONS = {
    "hard_sigmoid": "def hard_sigmoid(x, c, b, w):\n"
                    "    ramp_between_zero_and_one = torch.clamp(b + w * x, min=0.0, max=1.0)\n"
                    "    return c * ramp_between_zero_and_one",
    "sigmoid_model": "def sigmoid_model(x, W, b_hidden, c, b):\n"
                     "    hidden_activations = torch.sigmoid(torch.einsum('nd,kd->nk', x, W) + b_hidden)\n"
                     "    return hidden_activations @ c + b",
    "linear_regression_step": "def linear_regression_step(w, b, x, y, learning_rate):\n"
                              "    residual_of_fit = (w * x + b) - y\n"
                              "    gradient_wrt_w = 2.0 * torch.mean(residual_of_fit * x)\n"
                              "    gradient_wrt_b = 2.0 * torch.mean(residual_of_fit)\n"
                              "    return w - learning_rate * gradient_wrt_w, b - learning_rate * gradient_wrt_b",
    "updates_per_epoch": "def updates_per_epoch(n_examples, batch_size, drop_last=False):\n"
                         "    full_batches, leftover_examples = divmod(n_examples, batch_size)\n"
                         "    return full_batches + (1 if leftover_examples and not drop_last else 0)",
    # a value exercise: computed in code from the problem (the grader hands the notebook a problem of its own)
    "parameter_count": "sizes = problem('recipe.parameter_count')\n"
                       "inputs_of_each_layer = [sizes.d] + [sizes.k] * (sizes.layers - 1)\n"
                       "parameter_count = sum((n_in + 1) * sizes.k for n_in in inputs_of_each_layer) + sizes.k + 1",
    "diagnose_training": "def diagnose_training(record):\n"
                         "    in_noise_units = {key: value / record['noise_loss'] for key, value in record.items()}\n"
                         "    if in_noise_units['train_loss'] >= 1.8:\n"
                         "        smaller_wins = record['smaller_model_train_loss'] < 0.7 * record['train_loss']\n"
                         "        return 'optimization' if smaller_wins else 'model bias'\n"
                         "    return 'overfitting' if in_noise_units['validation_loss'] >= 3.0 else 'mismatch'",
}

NAMES = list(STUBS)
SETUP = "import torch\nfrom course_utils.exercises import check, problem"


def exercise_cells(name, answer=None, solution=True):
    """The cells of one exercise: prompt, stub (or the student's answer), solution, check."""
    cells = [new_markdown_cell(f"**Exercise.** Write `{name}`."),
             new_code_cell(answer or STUBS[name], metadata={"tags": ["exercise"]})]
    if solution:
        cells.append(new_code_cell(SOLUTIONS[name], metadata={"tags": ["solution", "remove-cell"]}))
    cells.append(new_code_cell(f'check("recipe.{name}", {name})', metadata={"tags": ["check"]}))
    return cells


def instructor_notebook():
    """A tiny chapter-0 instructor notebook: setup cell, then the six exercises with solutions."""
    cells = [new_markdown_cell("# The training recipe: exercises"), new_code_cell(SETUP)]
    for name in NAMES:
        cells += exercise_cells(name)
    return new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                              "language": "python"}})


def submission(answers=None, before=(), after=()):
    """A student's notebook: ``answers`` maps exercise names to the source of their answer cell (others stay
    stubs); ``before`` and ``after`` are extra code cells around the exercises."""
    answers = answers or {}
    cells = [new_markdown_cell("# The training recipe: exercises"), new_code_cell(SETUP)]
    cells += [new_code_cell(source) for source in before]
    for name in NAMES:
        cells += exercise_cells(name, answers.get(name), solution=False)
    cells += [new_code_cell(source) for source in after]
    return new_notebook(cells=cells)


def correct(*names):
    """Answers for the given exercise names (all six when none given): the solutions."""
    return {name: SOLUTIONS[name] for name in (names or NAMES)}


def write(notebook, path):
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)
    return path
