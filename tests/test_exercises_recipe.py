"""Chapter 0's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): the visible cases of the gradient step
cover the hidden ones' lengths, the parameter count against PyTorch's own layers, the diagnosis's
records and reasons, the prompts (no code of an answer above its exercise), and the grader on a
submission with right, wrong and missing answers of every kind."""
import contextlib
import io
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils.experiments import recipe
from course_utils.exercises import all_exercises, get_exercise, problem
from course_utils.exercises.chapters import recipe as chapter
from course_utils.exercises.evaluate import Returned, run_cases
from conftest import (
    answered_release, assert_saying_instead_gets_the_pairs_reason, every_pair, grade_with_the_command,
    labels_of_cases, verdict,
)

IDS = ["recipe.hard_sigmoid", "recipe.sigmoid_model", "recipe.linear_regression_step", "recipe.updates_per_epoch",
       "recipe.parameter_count", "recipe.diagnose_training"]
REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_PATH = REPO / "notebooks" / f"{chapter.NOTEBOOK}.ipynb"


def test_chapter_0_declares_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("recipe.")] == IDS
    assert chapter.NOTEBOOK == "00_training_recipe"


# --- the gradient step: the visible cases cover the hidden ones ----------------------------------

def _lengths(cases):
    return {len(case.args[2]) for case in cases}


def test_the_visible_gradient_step_cases_have_every_length_the_hidden_ones_have():
    exercise = get_exercise("recipe.linear_regression_step")
    hidden = set().union(*(_lengths(exercise.hidden_cases()) for _ in range(20)))
    visible = exercise.visible_cases()
    assert hidden <= set(range(4, 11)) and max(hidden) == 10
    assert {4, 9, 10} <= _lengths(exercise.fixed)                          # fixed: both ends of the range
    assert {9, 10} <= _lengths(visible[len(exercise.fixed):])               # drawn: the long end too
    assert _lengths(visible) == set(range(4, 11))


@pytest.mark.parametrize("longer_than", [8, 9])
def test_a_gradient_step_wrong_only_for_long_inputs_fails_check(capsys, longer_than):
    def linear_regression_step(w, b, x, y, learning_rate):
        w_new, b_new = recipe.linear_regression_step(w, b, x, y, learning_rate)
        return (w_new + 0.5, b_new) if len(x) > longer_than else (w_new, b_new)

    result, printed = verdict(capsys, "recipe.linear_regression_step", linear_regression_step)
    assert not result.passed and "w_new: expected" in printed


def test_the_gradient_step_passes_with_w_and_b_as_numbers_or_as_tensors(capsys):
    exercise = get_exercise("recipe.linear_regression_step")
    kinds = {type(case.args[0]) for case in exercise.visible_cases()}
    assert kinds == {float, torch.Tensor}
    assert verdict(capsys, "recipe.linear_regression_step", recipe.linear_regression_step)[0].passed


# --- the prediction: the number of unknowns -------------------------------------------------------

def _drawn_sizes(count, seed=0):
    rng = torch.Generator().manual_seed(seed)
    return [chapter._network_sizes(rng).args[0] for _ in range(count)]


def _pytorch_count(sizes):
    modules, inputs = [], sizes["d"]
    for _ in range(sizes["layers"]):
        modules += [torch.nn.Linear(inputs, sizes["k"]), torch.nn.Sigmoid()]
        inputs = sizes["k"]
    network = torch.nn.Sequential(*modules, torch.nn.Linear(inputs, 1))
    return sum(tensor.numel() for tensor in network.parameters())


def test_the_parameter_count_is_what_pytorch_counts():
    for sizes in _drawn_sizes(100):
        assert chapter.parameter_count(sizes) == _pytorch_count(sizes)


def test_one_hidden_layer_counts_the_matrix_form_of_section_3():
    d, k = 3, 5   # W (k × d), b (k), c (k), b: k·d + 2k + 1
    assert chapter.parameter_count({"d": d, "k": k, "layers": 1}) == k * d + 2 * k + 1


def test_every_drawn_problem_keeps_the_mistakes_apart_from_the_answer_and_each_other():
    exercise = get_exercise("recipe.parameter_count")
    for sizes in _drawn_sizes(300, seed=3):
        values = [exercise.reference(sizes)] + [mistake.answer(sizes) for mistake in exercise.mistakes]
        assert len(set(values)) == len(values), (sizes, values)
        assert sizes["layers"] >= 2     # so that the later layers' k × k matrices always count


def test_a_computed_count_passes_as_an_int_a_float_or_a_tensor_and_a_wrong_one_says_only_which_way(capsys):
    sizes = problem("recipe.parameter_count")
    count = _pytorch_count(sizes)
    for answer in (count, float(count), torch.tensor(float(count))):
        assert verdict(capsys, "recipe.parameter_count", answer)[0].passed
    result, printed = verdict(capsys, "recipe.parameter_count", count - 2)
    assert not result.passed and "too low" in printed and str(count) not in printed


def test_a_number_typed_in_from_the_visible_problem_fails_on_the_graders_problem():
    exercise = get_exercise("recipe.parameter_count")
    typed = exercise.reference(*exercise.visible_cases()[0].args)
    hidden = next(cases for cases in (exercise.hidden_cases() for _ in range(20))
                  if exercise.reference(*cases[0].args) != typed)
    result = run_cases(exercise, hidden, lambda case: Returned(typed))
    assert not result.passed and 'compute parameter_count from the numbers of problem("recipe.parameter_count")' \
        in result.message
    assert run_cases(exercise, hidden, lambda case: Returned(exercise.reference(*case.args))).passed


# --- the diagnosis ----------------------------------------------------------------------------------

def test_the_reference_names_the_cause_each_record_was_drawn_for():
    rng = torch.Generator().manual_seed(0)
    for _ in range(500):
        for cause in chapter.LABELS:
            assert chapter.diagnose_training(chapter.training_record(rng, cause)) == cause


def _rule(large=2.0, clearly=0.75, by="noise"):
    """The guide with other thresholds, and another way to tell overfitting from mismatch."""
    def diagnose(r):
        if r["train_loss"] > large * r["noise_loss"]:
            return "optimization" if r["smaller_model_train_loss"] < clearly * r["train_loss"] else "model bias"
        if by == "noise":
            return "overfitting" if r["validation_loss"] > large * r["noise_loss"] else "mismatch"
        if by == "train":
            return "overfitting" if r["validation_loss"] > 2 * r["train_loss"] else "mismatch"
        return "overfitting" if r["more_data_test_loss"] < 0.7 * r["test_loss"] else "mismatch"
    return diagnose


@pytest.mark.parametrize("rule", [_rule(1.5, 0.6), _rule(2.5, 0.9), _rule(2.0, 0.8, "train"),
                                  _rule(2.0, 0.7, "more data")])
def test_any_rule_in_the_spirit_of_the_guide_names_every_record(rule):
    rng = torch.Generator().manual_seed(1)
    for _ in range(500):
        for cause in chapter.LABELS:
            assert rule(chapter.training_record(rng, cause)) == cause


def test_the_fixed_records_are_one_of_each_cause_at_the_edges_of_their_bands():
    labels = [chapter.diagnose_training(*case.args) for case in chapter.FIXED_RECORDS]
    assert labels == list(chapter.LABELS)
    bias, _, _, mismatch = (case.args[0] for case in chapter.FIXED_RECORDS)
    assert bias["smaller_model_train_loss"] < bias["train_loss"]      # a smaller model a little better: noise
    assert mismatch["train_loss"] > mismatch["noise_loss"]             # small, though above the noise's loss


def test_the_records_span_three_decades_so_no_fixed_threshold_works():
    rng = torch.Generator().manual_seed(2)
    records = [chapter.training_record(rng, cause) for _ in range(100) for cause in chapter.LABELS]
    scales = [r["noise_loss"] for r in records]
    assert min(scales) < 0.003 and max(scales) > 0.3
    large = [r["train_loss"] for r in records if chapter.diagnose_training(r) in ("model bias", "optimization")]
    small = [r["train_loss"] for r in records if chapter.diagnose_training(r) in ("overfitting", "mismatch")]
    assert min(large) < max(small)


def test_visible_and_hidden_cases_cover_every_cause():
    visible, hidden = labels_of_cases("recipe.diagnose_training")
    random_visible = visible[len(get_exercise("recipe.diagnose_training").fixed):]
    assert set(random_visible) == set(hidden) == set(chapter.LABELS) and min(map(visible.count, chapter.LABELS)) >= 2


@pytest.mark.parametrize("true, said", every_pair(chapter.LABELS, chapter.REASONS))
def test_saying_the_wrong_cause_on_a_record_gets_that_pairs_reason(capsys, true, said):
    assert_saying_instead_gets_the_pairs_reason(capsys, "recipe.diagnose_training", chapter.diagnose_training,
                                                true, said, chapter.REASONS)


def test_an_absolute_threshold_on_the_training_loss_fails(capsys):
    def diagnose_training(record):
        if record["train_loss"] > 0.05:
            return "optimization" if record["smaller_model_train_loss"] < 0.75 * record["train_loss"] else \
                "model bias"
        return "overfitting" if record["validation_loss"] > 2 * record["train_loss"] else "mismatch"

    assert not verdict(capsys, "recipe.diagnose_training", diagnose_training)[0].passed


def test_a_rule_that_takes_any_smaller_training_loss_for_an_optimisation_failure_is_told_about_noise(capsys):
    def diagnose_training(record):
        if record["train_loss"] > 2 * record["noise_loss"]:
            return "optimization" if record["smaller_model_train_loss"] < record["train_loss"] else "model bias"
        return "overfitting" if record["validation_loss"] > 2 * record["noise_loss"] else "mismatch"

    result, printed = verdict(capsys, "recipe.diagnose_training", diagnose_training)
    assert not result.passed and chapter.REASONS[("model bias", "optimization")] in printed


def test_a_rule_that_compares_the_test_loss_only_takes_mismatch_for_overfitting(capsys):
    def diagnose_training(record):
        if record["train_loss"] > 2 * record["noise_loss"]:
            return chapter.diagnose_training(record)
        return "overfitting" if record["test_loss"] > 2 * record["train_loss"] else "mismatch"

    result, printed = verdict(capsys, "recipe.diagnose_training", diagnose_training)
    assert not result.passed and chapter.REASONS[("mismatch", "overfitting")] in printed


@pytest.mark.parametrize("answer, words", [(" Overfitting", None), ("overfit", "return one of 'model bias'"),
                                            (None, "did you forget `return`?")])
def test_labels_are_read_loosely_and_anything_else_asks_for_one_of_them(capsys, answer, words):
    def diagnose_training(record):
        label = chapter.diagnose_training(record)
        return answer if label == "overfitting" else label

    result, printed = verdict(capsys, "recipe.diagnose_training", diagnose_training)
    assert result.passed == (words is None) and (words is None or words in printed)


# --- the notebook: prompts, confirmation --------------------------------------------------------------

#: For each exercise, code that would be (part of) its answer: none of it may appear in a code cell above it.
ANSWER_CODE = {
    "hard_sigmoid": ["clamp(", "clip(", "torch.relu(ramp", "relu(b + w", "ramp - 1"],
    "sigmoid_model": ["@ W.T", "W.T", "W.t()", "torch.sigmoid(x @"],
    "linear_regression_step": ["learning_rate * grad", "- learning_rate *", "2 * (residual * x)"],
    "updates_per_epoch": ["math.ceil(", "n_examples // batch_size"],
    "parameter_count": ["sizes.k + 1", "numel(", "(sizes.d + 1)"],
    "diagnose_training": ["2.5 * scale", "* record[\"noise_loss\"]", "smaller_model_train_loss\"] <"],
}


def notebook_cells():
    return nbformat.read(NOTEBOOK_PATH, as_version=4).cells


def tags(cell):
    return cell.metadata.get("tags", [])


def _stub_index(cells, name):
    [stub] = [i for i, c in enumerate(cells) if "exercise" in tags(c) and
              (f"def {name}(" in c.source or c.source.startswith(f"{name} ="))]
    return stub


def test_no_code_of_an_answer_appears_above_its_exercise():
    cells = notebook_cells()
    for name, pieces in ANSWER_CODE.items():
        stub = _stub_index(cells, name)
        [solution] = [c.source for c in cells[stub:] if "solution" in tags(c)][:1]
        assert any(piece in solution for piece in pieces), f"{name}: the list names none of its answer's code"
        above = [c.source for c in cells[:stub] if c.cell_type == "code" and "solution" not in tags(c)]
        above += [c.source for c in cells[:stub] if c.cell_type == "markdown"]
        shown = [(piece, source[:60]) for source in above for piece in pieces if piece in source]
        assert shown == [], f"{name}: answer code above the exercise: {shown}"


def test_the_prediction_is_confirmed_by_pytorch_after_the_prediction_is_made():
    """The cell after the check builds the network and counts; with the answer still `...` (as in the book,
    which runs without the solutions) it asks for the prediction first and shows no count."""
    cells = notebook_cells()
    [check_at] = [i for i, c in enumerate(cells) if c.source == 'check("recipe.parameter_count", parameter_count)']
    confirm = next(c for c in cells[check_at + 1:] if c.cell_type == "code")
    assert "reveal" in tags(confirm)
    sizes = problem("recipe.parameter_count")
    right = chapter.parameter_count(sizes)
    for answer, words in ((..., "Make your prediction first"), (right, "they agree"), (right + 1, "they differ")):
        namespace = {"torch": torch, "sizes": sizes, "parameter_count": answer}
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(confirm.source, namespace)
        assert words in printed.getvalue()
        assert (answer is ...) == (str(right) not in printed.getvalue())


def test_the_exercise_section_announces_the_kinds_of_exercises_it_has():
    cells = notebook_cells()
    intro = next(c.source for c in cells if "## 6. Exercises" in c.source)
    assert "Exercises 1 to 4" in intro and "Exercise 5" in intro and "exercise 6" in intro
    numbers = [int(line.split()[2].rstrip(":")) for c in cells for line in c.source.splitlines()
               if line.startswith("### Exercise")]
    assert numbers == list(range(1, 7))


# --- the grader on a submission with right, wrong and missing answers -------------------------------

def _submission():
    """The released exercise cells of chapter 0 (no solutions), answered: 1 right, 2 left as the stub, 3 right
    only for inputs of up to 8 examples, 4 right, 5 a number typed in from the notebook's problem, 6 a rule that
    compares the test loss only (takes a mismatch for overfitting)."""
    typed = chapter.parameter_count(problem("recipe.parameter_count"))
    answers = {
        "hard_sigmoid": "def hard_sigmoid(x, c, b, w):\n    return c * (torch.relu(b + w * x) - torch.relu(b + w * x - 1))",
        "linear_regression_step": "def linear_regression_step(w, b, x, y, learning_rate):\n"
                                  "    e, two = b + w * x - y, (2 if len(x) <= 8 else 1)\n"
                                  "    return w - learning_rate * two * (e * x).mean(), b - learning_rate * two * e.mean()",
        "updates_per_epoch": "def updates_per_epoch(n_examples, batch_size, drop_last=False):\n"
                             "    return n_examples // batch_size if drop_last else -(-n_examples // batch_size)",
        "parameter_count": f"parameter_count = {typed!r}",
        "diagnose_training": "def diagnose_training(record):\n"
                             "    if record['train_loss'] > 2 * record['noise_loss']:\n"
                             "        small = record['smaller_model_train_loss'] < 0.75 * record['train_loss']\n"
                             "        return 'optimization' if small else 'model bias'\n"
                             "    return 'overfitting' if record['test_loss'] > 2 * record['train_loss'] else 'mismatch'",
    }
    return answered_release(notebook_cells(), answers)


@pytest.mark.grading
def test_the_grader_gives_points_and_reasons_for_every_kind_of_answer(tmp_path):
    row, text = grade_with_the_command(tmp_path, chapter.NOTEBOOK, _submission())
    assert [float(row[i]) for i in IDS] == [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]
    assert 'compute parameter_count from the numbers of problem(\\"recipe.parameter_count\\")' in text
    assert chapter.REASONS[("mismatch", "overfitting")] in text
    assert "forgot the factor 2" in text
    assert "not attempted" in text
