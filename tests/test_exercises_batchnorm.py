"""Chapter 5's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover, the predictions against PyTorch's own layer, the
diagnosis's records and reasons, the prompts (no code of an answer above its exercise), and
the grader on a submission with right, wrong and missing answers of every kind."""
import contextlib
import io
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F

from course_utils import batchnorm
from course_utils.experiments import batchnorm as bx
from course_utils.exercises import all_exercises, get_exercise, problem
from course_utils.exercises.chapters import batchnorm as chapter
from course_utils.exercises.chapters.batchnorm import NOTEBOOK
from course_utils.exercises.compare import same_tensors
from course_utils.exercises.evaluate import Returned, run_cases
from conftest import (
    answered_release, assert_saying_instead_gets_the_pairs_reason, every_pair, grade_with_the_command,
    labels_of_cases, verdict,
)

IDS = ["batchnorm.batch_norm_train", "batchnorm.update_running_stats", "batchnorm.batch_norm_eval",
       "batchnorm.eval_output", "batchnorm.running_mean_after", "batchnorm.diagnose_bn_mode"]
REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_PATH = REPO / "notebooks" / f"{NOTEBOOK}.ipynb"


def test_chapter_5_declares_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("batchnorm.")] == IDS
    assert NOTEBOOK == "05_batch_normalization"


# --- answers written another way pass; typical wrong ones are named -----------------------------

def test_pytorch_functional_batch_norm_is_a_correct_answer_in_both_modes(capsys):
    def batch_norm_train(z, gamma, beta, eps):
        return F.batch_norm(z, None, None, gamma, beta, training=True, eps=eps)

    def batch_norm_eval(z, running_mean, running_var, gamma, beta, eps):
        return F.batch_norm(z, running_mean, running_var, gamma, beta, training=False, eps=eps)

    assert verdict(capsys, "batchnorm.batch_norm_train", batch_norm_train)[0].passed
    assert verdict(capsys, "batchnorm.batch_norm_eval", batch_norm_eval)[0].passed


def test_nn_batchnorm1d_with_momentum_one_minus_p_is_a_correct_running_update(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        layer = torch.nn.BatchNorm1d(z.shape[1], momentum=1 - p, affine=False)
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer(z)
        return layer.running_mean, layer.running_var

    assert verdict(capsys, "batchnorm.update_running_stats", update_running_stats)[0].passed


def test_using_p_as_pytorch_momentum_is_named(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        layer = torch.nn.BatchNorm1d(z.shape[1], momentum=p, affine=False)    # momentum is 1 − p
        layer.running_mean.copy_(running_mean)
        layer.running_var.copy_(running_var)
        layer(z)
        return layer.running_mean, layer.running_var

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "PyTorch's momentum is 1 − p" in printed


def test_updating_the_running_statistics_in_place_is_named(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        running_mean.mul_(p).add_((1 - p) * z.mean(0))
        running_var.mul_(p).add_((1 - p) * z.var(0))
        return running_mean, running_var

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "changed its input running_mean in place" in printed


def test_returning_only_the_mean_asks_for_both(capsys):
    def update_running_stats(running_mean, running_var, z, p):
        return p * running_mean + (1 - p) * z.mean(0)

    result, printed = verdict(capsys, "batchnorm.update_running_stats", update_running_stats)
    assert not result.passed and "return both: `return running_mean, running_var`" in printed


def test_a_forgotten_return_is_named(capsys):
    def batch_norm_train(z, gamma, beta, eps):
        batchnorm.batch_norm_train(z, gamma, beta, eps)

    result, printed = verdict(capsys, "batchnorm.batch_norm_train", batch_norm_train)
    assert not result.passed and "did you forget `return`?" in printed


def test_same_tensors_names_the_tensor_that_differs():
    compare = same_tensors("a", "b")
    one, two = torch.ones(2), torch.zeros(2)
    assert compare((one, two), (one, two), 1e-5, 1e-6) is None
    difference = compare((one, two), (one, one), 1e-5, 1e-6)
    assert difference.what.startswith("b: ")
    assert "expected shape (2,), got shape (3,)" in compare((one, two), (torch.ones(3), two), 1e-5, 1e-6).what


def test_batch_statistics_are_what_the_layer_normalises_with():
    z = torch.randn(7, 3, generator=torch.Generator().manual_seed(1)) * 4 + 1
    mu, sigma = bx.batch_statistics(z, eps=0.5)
    gamma, beta = torch.ones(3), torch.zeros(3)
    assert torch.allclose((z - mu) / sigma, batchnorm.batch_norm_train(z, gamma, beta, eps=0.5), atol=1e-6)


# --- the predictions: what PyTorch's own layer does ---------------------------------------------------

def drawn(exercise_id, count, seed=0):
    rng = torch.Generator().manual_seed(seed)
    return [get_exercise(exercise_id).draw(rng).args[0] for _ in range(count)]


def nn_eval_output(p):
    layer = torch.nn.BatchNorm1d(1, eps=p["eps"]).double()
    with torch.no_grad():
        layer.running_mean.fill_(p["running_mean"])
        layer.running_var.fill_(p["running_var"])
        layer.weight.fill_(p["gamma"])
        layer.bias.fill_(p["beta"])
        return layer.eval()(p["z"].double()[:, None])[0, 0].item()


def nn_running_mean(p):
    layer = torch.nn.BatchNorm1d(1, momentum=p["momentum"]).double()
    with torch.no_grad():
        for mean in p["batch_means"].tolist():
            layer(torch.tensor([[mean - 1.0], [mean + 1.0]], dtype=torch.float64))
    return layer.running_mean.item()


def test_eval_output_is_nn_batchnorm1d_in_evaluation_mode():
    for p in drawn("batchnorm.eval_output", 50):
        assert chapter.eval_output(p) == pytest.approx(nn_eval_output(p), rel=1e-9, abs=1e-9)


def test_running_mean_after_is_nn_batchnorm1d_with_momentum():
    for p in drawn("batchnorm.running_mean_after", 20):
        assert chapter.running_mean_after(p) == pytest.approx(nn_running_mean(p), rel=1e-6)


@pytest.mark.parametrize("exercise_id", ["batchnorm.eval_output", "batchnorm.running_mean_after"])
def test_every_drawn_problem_keeps_the_mistakes_apart_from_the_answer_and_each_other(exercise_id):
    exercise = get_exercise(exercise_id)
    for p in drawn(exercise_id, 200, seed=3):
        right, *wrong = [exercise.reference(p)] + [mistake.answer(p) for mistake in exercise.mistakes]
        assert all(abs(right - w) > 30 * exercise.rtol * max(abs(right), abs(w)) for w in wrong)
        assert all(abs(a - b) > 10 * exercise.rtol * max(abs(a), abs(b))
                   for i, a in enumerate(wrong) for b in wrong[i + 1:])


def test_the_batch_of_the_eval_problem_is_far_from_the_moving_averages():
    for p in drawn("batchnorm.eval_output", 100):
        assert abs(p["z"].mean().item() - p["running_mean"]) > 0.3 and p["eps"] >= 0.1


@pytest.mark.parametrize("exercise_id, compute", [
    ("batchnorm.eval_output", nn_eval_output), ("batchnorm.running_mean_after", nn_running_mean)])
def test_an_answer_computed_from_the_problem_passes_as_a_float_or_a_tensor(capsys, exercise_id, compute):
    value = compute(problem(exercise_id))
    assert verdict(capsys, exercise_id, value)[0].passed
    assert verdict(capsys, exercise_id, torch.tensor(value))[0].passed
    result, printed = verdict(capsys, exercise_id, value * 1.05)
    assert not result.passed and "too high" in printed and f"{value:.4g}" not in printed


@pytest.mark.parametrize("exercise_id", ["batchnorm.eval_output", "batchnorm.running_mean_after"])
def test_a_number_typed_in_from_the_visible_problem_fails_on_the_graders_problem(exercise_id):
    exercise = get_exercise(exercise_id)
    typed = exercise.reference(*exercise.visible_cases()[0].args)
    hidden = [case for case in (exercise.hidden_cases() for _ in range(5)) if
              abs(exercise.reference(*case[0].args) - typed) > 0.01][0]
    result = run_cases(exercise, hidden, lambda case: Returned(typed))
    assert not result.passed and f'compute {exercise.name} from the numbers of problem("{exercise_id}")' \
        in result.message
    right = run_cases(exercise, hidden, lambda case: Returned(exercise.reference(*case.args)))
    assert right.passed


def test_eval_output_that_is_still_a_tensor_of_the_whole_batch_is_told_to_give_one_number(capsys):
    p = problem("batchnorm.eval_output")
    whole_batch = p.gamma * (p.z - p.running_mean) / (p.running_var + p.eps) ** 0.5 + p.beta
    result, printed = verdict(capsys, "batchnorm.eval_output", whole_batch)
    assert not result.passed and "give one number" in printed


# --- the diagnosis -----------------------------------------------------------------------------------

def test_the_reference_names_the_mode_each_record_was_drawn_for():
    rng = torch.Generator().manual_seed(0)
    for _ in range(300):
        for mode in chapter.MODES:
            assert chapter.diagnose_bn_mode(chapter._record(rng, mode)) == mode


def test_visible_and_hidden_cases_cover_every_mode():
    visible, hidden = labels_of_cases("batchnorm.diagnose_bn_mode")
    assert set(visible) == set(hidden) == set(chapter.MODES) and min(map(visible.count, chapter.MODES)) >= 2


@pytest.mark.parametrize("true, said", every_pair(chapter.MODES, chapter.MODE_REASONS))
def test_saying_the_wrong_mode_on_a_record_gets_that_pairs_reason(capsys, true, said):
    assert_saying_instead_gets_the_pairs_reason(capsys, "batchnorm.diagnose_bn_mode", chapter.diagnose_bn_mode,
                                                true, said, chapter.MODE_REASONS)


def test_a_rule_that_looks_at_the_accuracy_only_misses_training_in_evaluation_mode(capsys):
    def diagnose_bn_mode(record):
        accuracies = list(record["test_accuracy"].values())
        return "forgot_eval" if max(accuracies) > min(accuracies) else "correct"

    result, printed = verdict(capsys, "batchnorm.diagnose_bn_mode", diagnose_bn_mode)
    assert not result.passed and chapter.MODE_REASONS[("forgot_train", "correct")] in printed


def test_an_accuracy_threshold_cannot_tell_correct_from_training_in_evaluation_mode():
    rng = torch.Generator().manual_seed(5)
    best = {mode: [] for mode in ("correct", "forgot_train")}
    for _ in range(200):
        for mode in best:
            best[mode].append(chapter._record(rng, mode)["test_accuracy"]["B=256"])
    assert max(best["forgot_train"]) > min(best["correct"])


@pytest.mark.parametrize("answer, words", [("Forgot_Eval ", None), ("eval", "return one of 'correct'"),
                                            (None, "did you forget `return`?")])
def test_labels_are_read_loosely_and_anything_else_asks_for_one_of_them(capsys, answer, words):
    record = chapter.example_record("forgot_eval", seed=1)
    assert chapter.diagnose_bn_mode(record) == "forgot_eval"
    result, printed = verdict(capsys, "batchnorm.diagnose_bn_mode",
                              lambda record: answer if chapter.diagnose_bn_mode(record) == "forgot_eval" else
                              chapter.diagnose_bn_mode(record))
    assert result.passed == (words is None) and (words is None or words in printed)


# --- the notebook: prompts, confirmations ----------------------------------------------------------

#: For each exercise, code that would be (part of) its answer: none of it may appear in a code cell above it.
ANSWER_CODE = {
    "batch_norm_train": ["unbiased=False", "correction=0", "sqrt(", "** 0.5", "std("],
    "update_running_stats": ["(1 - p)", "1 - p)", "unbiased=True", "running_var.mul", "momentum *"],
    "batch_norm_eval": ["running_var +", "sqrt(", "** 0.5"],
    "eval_output": ["trained.running_var", "sqrt(", "** 0.5", "trained.gamma"],
    "running_mean_after": ["stream.momentum", "momentum) *", "(1 - "],
    "diagnose_bn_mode": ["test_running_mean\"]", "[\"test_accuracy\"]", "train_running_mean\"]"],
}


def notebook_cells():
    return nbformat.read(NOTEBOOK_PATH, as_version=4).cells


def tags(cell):
    return cell.metadata.get("tags", [])


def test_no_code_of_an_answer_appears_above_its_exercise():
    cells = notebook_cells()
    for name, pieces in ANSWER_CODE.items():
        [stub] = [i for i, c in enumerate(cells) if "exercise" in tags(c) and
                  (f"def {name}(" in c.source or c.source.startswith(f"{name} ="))]
        [solution] = [c.source for c in cells[stub:] if "solution" in tags(c)][:1]
        assert any(piece in solution for piece in pieces), f"{name}: the list names none of its answer's code"
        above = [c.source for c in cells[:stub] if c.cell_type == "code" and "solution" not in tags(c)]
        shown = [(piece, source[:60]) for source in above for piece in pieces if piece in source]
        assert shown == [], f"{name}: answer code above the exercise: {shown}"


def test_each_prediction_is_confirmed_by_an_experiment_that_waits_for_the_prediction():
    """The cell after each prediction's check runs PyTorch's layer; with the answer still `...` it asks for the
    prediction first (as in the book, which runs without the solutions), and with a prediction it shows both."""
    cells = notebook_cells()
    for name, problem_name in (("eval_output", "trained"), ("running_mean_after", "stream")):
        [check_at] = [i for i, c in enumerate(cells) if c.source == f'check("batchnorm.{name}", {name})']
        confirm = next(c.source for c in cells[check_at + 1:] if c.cell_type == "code")
        exercise_id = f"batchnorm.{name}"
        for answer, words in ((..., "Make your prediction first"), (1.25, "your prediction:")):
            namespace = {"torch": torch, problem_name: problem(exercise_id), name: answer}
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                exec(confirm, namespace)
            assert words in printed.getvalue()
            measured = namespace["measured"]
            assert measured == pytest.approx(get_exercise(exercise_id).reference(problem(exercise_id)), rel=1e-5)


def test_the_exercise_section_announces_the_kinds_of_exercises_it_has():
    intro = next(c.source for c in notebook_cells() if c.source.startswith("## 7. Exercises"))
    assert "Exercises 1 to 3" in intro and "Exercises 4 and 5" in intro and "Exercise 6" in intro
    headings = [c.source.split("\n")[0] for c in notebook_cells() if "### Exercise" in c.source]
    numbers = [int(line.split()[2].rstrip(":")) for c in notebook_cells() for line in c.source.splitlines()
               if line.startswith("### Exercise")]
    assert numbers == list(range(1, 7)), headings


# --- the grader on a submission with right, wrong and missing answers -------------------------------

def _submission():
    """The released exercise cells of chapter 5 (no solutions), answered: 1 right, 2 left as the stub, 3 right,
    4 a number typed in from the notebook's problem, 5 right, 6 a rule that misses training in eval mode."""
    typed = get_exercise("batchnorm.eval_output").reference(problem("batchnorm.eval_output"))
    answers = {
        "batch_norm_train": "from course_utils.batchnorm import batch_norm_train",
        "batch_norm_eval": "from course_utils.batchnorm import batch_norm_eval",
        "eval_output": f"eval_output = {typed!r}",
        "running_mean_after": "running_mean_after = 0.0\nfor mean in stream.batch_means.tolist():\n"
                              "    running_mean_after = 0.9 * running_mean_after + 0.1 * mean",
        "diagnose_bn_mode": "def diagnose_bn_mode(record):\n    accuracies = list(record['test_accuracy'].values())\n"
                            "    return 'forgot_eval' if max(accuracies) > min(accuracies) else 'correct'",
    }
    return answered_release(notebook_cells(), answers)


@pytest.mark.grading
def test_the_grader_gives_points_and_reasons_for_every_kind_of_answer(tmp_path):
    row, text = grade_with_the_command(tmp_path, NOTEBOOK, _submission())
    assert [float(row[i]) for i in IDS] == [1.0, 0.0, 1.0, 0.0, 1.0, 0.0]
    assert 'compute eval_output from the numbers of problem(\\"batchnorm.eval_output\\")' in text
    assert chapter.MODE_REASONS[("forgot_train", "correct")] in text
    assert "not attempted" in text
