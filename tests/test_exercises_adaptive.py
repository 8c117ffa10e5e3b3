"""Chapter 3's exercises beyond what tests/test_check.py checks for every exercise of the course (each
reference passes, each declared mistake is named on the visible problem): the predictions agree with the
experiments that confirm them, every problem the grader may draw tells each named mistake apart, a number
typed in fails on the grader's problem, the grader grades each kind of answer, and the prompts above the
exercises hold no code of their answers."""
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils.experiments import adaptive as experiments
from course_utils.exercises import all_exercises, get_exercise
from course_utils.exercises.evaluate import Returned, _fits_the_notebooks_problem, expected_value, run_cases
from course_utils.exercises.chapters import adaptive as chapter
from conftest import choice_tests, giveaways_shown, grade_cells, typed_in_on_the_graders_problems, verdict

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "03_adaptive_learning_rate.ipynb"
IDS = ["adaptive.rmsprop_step", "adaptive.adam_direction", "adaptive.warmup_cosine", "adaptive.largest_stable_lr",
       "adaptive.first_step_length", "adaptive.why_warmup"]
PREDICTIONS = ["adaptive.largest_stable_lr", "adaptive.first_step_length"]
SEEDS = range(60)


def problem_of(exercise_id, seed):
    return get_exercise(exercise_id).draw(torch.Generator().manual_seed(seed)).args[0]


def test_chapter_3_declares_its_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("adaptive.")] == IDS
    assert chapter.NOTEBOOK == NOTEBOOK.stem
    assert [get_exercise(i).kind for i in IDS] == ["function"] * 3 + ["value"] * 3


# ---------------------------------------------------------------------------- the predictions and their experiments


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_the_largest_stable_lr_is_the_boundary_gradient_descent_finds_by_trial(seed):
    problem = problem_of("adaptive.largest_stable_lr", seed)
    predicted = chapter.largest_stable_lr(problem)
    assert experiments.stable_lr_by_trial(problem["hessian"]) == pytest.approx(predicted, rel=1e-3)
    start = experiments.gd_on_quadratic(problem["hessian"], 0.0, 0)[0].norm()
    below = experiments.gd_on_quadratic(problem["hessian"], 0.95 * predicted, 100)[-1].norm()
    above = experiments.gd_on_quadratic(problem["hessian"], 1.05 * predicted, 100)[-1].norm()
    assert below < start < above   # what the notebook's experiment shows: converges just below, diverges just above


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_the_first_step_length_is_the_step_torch_optim_adam_takes(seed):
    problem = problem_of("adaptive.first_step_length", seed)
    step = experiments.adam_first_step(problem["gradient"], problem["lr"], problem["beta1"], problem["beta2"],
                                       problem["eps"])
    assert float(step.norm()) == pytest.approx(chapter.first_step_length(problem), rel=1e-6)
    moved = step != 0
    assert torch.equal(moved, problem["gradient"] != 0)   # a zero gradient leaves its parameter where it was
    assert torch.allclose(step[moved].abs(), torch.full_like(step[moved], problem["lr"]), rtol=1e-4)


def test_the_problems_show_what_makes_the_mistakes_differ():
    for seed in SEEDS:
        hessian = problem_of("adaptive.largest_stable_lr", seed)["hessian"]
        assert hessian[0, 1] == hessian[1, 0] and abs(hessian[0, 1]) > 0.3   # tilted, symmetric
        assert torch.linalg.eigvalsh(hessian).min() > 0                       # a minimum: descent can converge
        gradient = problem_of("adaptive.first_step_length", seed)["gradient"]
        assert (gradient == 0).any()
        assert (gradient != 0).sum() >= 3
        assert gradient[gradient != 0].abs().max() >= 100 * gradient[gradient != 0].abs().min()


@pytest.mark.parametrize("exercise_id", PREDICTIONS)
def test_every_problem_the_grader_may_draw_names_each_mistake_and_passes_the_reference(capsys, exercise_id):
    """test_check.py checks the mistakes on the notebook's problem; here on 60 problems the grader may draw."""
    exercise = get_exercise(exercise_id)
    for seed in SEEDS:
        case = exercise.draw(torch.Generator().manual_seed(seed))
        right = run_cases(exercise, [case], lambda case: Returned(exercise.reference(*case.args)), label="cases")
        assert right.passed
        for mistake in exercise.mistakes:
            wrong = run_cases(exercise, [case], lambda case: Returned(mistake.answer(*case.args)), label="cases")
            # A wrong value that happens to be right for the notebook's problem is told it may have been typed in.
            named = "a problem of its own" if _fits_the_notebooks_problem(
                exercise, case, expected_value(exercise, case), mistake.answer(*case.args)) else f"hint: {mistake.hint}"
            assert not wrong.passed and named in wrong.message, (seed, mistake.hint)


@pytest.mark.parametrize("exercise_id", PREDICTIONS)
def test_a_number_typed_in_fails_on_the_graders_problem_and_says_why(exercise_id):
    result = typed_in_on_the_graders_problems(exercise_id, label="cases")
    assert not result.passed and "a problem of its own" in result.message


@pytest.mark.parametrize("exercise_id, words", [
    ("adaptive.largest_stable_lr", "too high"),      # 2/λ_min > 2/λ_max
    ("adaptive.first_step_length", "too high"),      # gradient descent's step, for these gradients
])
def test_a_wrong_prediction_says_too_high_or_too_low_never_the_answer(capsys, exercise_id, words):
    exercise = get_exercise(exercise_id)
    problem = exercise.visible_cases()[0].args[0]
    wrong = exercise.mistakes[0].answer(problem)
    result, printed = verdict(capsys, exercise_id, wrong)
    answer = exercise.reference(problem)
    assert not result.passed and words in printed
    assert f"{answer:.4g}" not in printed and f"{answer:.3g}" not in printed


def test_a_prediction_may_be_a_one_element_tensor(capsys):
    problem = get_exercise("adaptive.largest_stable_lr").visible_cases()[0].args[0]
    result, _ = verdict(capsys, "adaptive.largest_stable_lr", 2 / torch.linalg.eigvalsh(problem["hessian"]).max())
    assert result.passed


test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation = choice_tests(
    "adaptive.why_warmup", "c")


def test_adam_direction_copied_from_section_3c_with_t_plus_1_is_told_how_t_counts(capsys):
    def adam_direction(m, v, t, beta1, beta2, eps):
        return (m / (1 - beta1 ** (t + 1))) / (torch.sqrt(v / (1 - beta2 ** (t + 1))) + eps)

    result, printed = verdict(capsys, "adaptive.adam_direction", adam_direction)
    assert not result.passed and "numbers the updates from 0" in printed


# ---------------------------------------------------------------------------- the grader


def test_the_grader_grades_each_kind_of_answer_on_its_own_problems(tmp_path):
    """A submission with a prediction computed in code, a prediction typed in, a choice left at `...` and
    the function exercises missing: points and feedback for each, on the grader's own problems."""
    cells = [
        "import math\nimport torch\nfrom course_utils.exercises import check, problem",
        'quadratic = problem("adaptive.largest_stable_lr")',
        "largest_stable_lr = 2 / torch.linalg.eigvalsh(quadratic.hessian).max().item()",
        'adam_start = problem("adaptive.first_step_length")',
        f"first_step_length = {chapter.first_step_length(get_exercise(IDS[4]).visible_cases()[0].args[0])!r}",
        "why_warmup = ...",
    ]
    report = grade_cells(tmp_path, NOTEBOOK.stem, cells)
    exercises = report["exercises"]
    assert (report["chapter"], report["total"], report["max_total"]) == ("adaptive", 1.0, 6.0)
    assert exercises["adaptive.largest_stable_lr"]["points"] == 1.0
    typed = exercises["adaptive.first_step_length"]
    assert typed["points"] == 0.0 and "a problem of its own" in str(typed)
    assert exercises["adaptive.why_warmup"]["status"] == "not attempted"
    assert all(exercises[i]["points"] == 0.0 for i in IDS[:3])


# ---------------------------------------------------------------------------- the prompts


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


#: What would be the answer's code (or its formula, worked out) if a cell above the exercise showed it.
GIVEAWAYS = {
    "adaptive.rmsprop_step": ["torch.sqrt(alpha", "sigma ** 2"],
    "adaptive.adam_direction": [r"\beta_1^{t}", r"\beta_2^{t}", "beta1 ** t", "1 - β₁ᵗ"],
    "adaptive.warmup_cosine": ["t - T_w", "T - T_w", "step - warmup", "total - warmup"],
    "adaptive.largest_stable_lr": [r"2/\lambda", r"\frac{2}{\lambda", "eigvalsh", "λ_max"],
    "adaptive.first_step_length": [r"\sqrt{k}", "!= 0", "count_nonzero", r"\eta\,\sqrt"],
    "adaptive.why_warmup": ['why_warmup = "', "why_warmup = '"],
}


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_prompt_and_the_stub_hold_no_code_of_the_answer(exercise_id):
    assert giveaways_shown(_cells(), exercise_id, GIVEAWAYS[exercise_id]) == []


def test_a_prediction_is_followed_by_an_experiment_that_waits_for_it(capsys):
    """After each prediction's check, a cell runs the experiment; while the answer is `...` it asks for the
    prediction first (the book runs the chapter without the solutions)."""
    cells = _cells()
    for exercise_id in PREDICTIONS:
        name = exercise_id.partition(".")[2]
        [at] = [i for i, cell in enumerate(cells) if cell.source == f'check("{exercise_id}", {name})']
        confirm = next(cell for cell in cells[at + 1:] if cell.cell_type == "code")
        assert "reveal" in confirm.metadata.get("tags", [])   # its outputs leave the student copy
        problem_line = next(cell.source for cell in cells if f'problem("{exercise_id}")' in cell.source)
        namespace = {}
        exec("import math\nimport torch\nfrom course_utils.experiments import adaptive\n"
             "from course_utils.exercises import problem\n" + problem_line, namespace)
        exec(f"{name} = ...", namespace)
        exec(confirm.source, namespace)
        assert "Make your prediction first" in capsys.readouterr().out
        exec(f"{name} = {get_exercise(exercise_id).reference(get_exercise(exercise_id).visible_cases()[0].args[0])!r}",
             namespace)
        exec(confirm.source, namespace)
        printed = capsys.readouterr().out
        assert "Make your prediction first" not in printed and ("converges" in printed or "torch.optim.Adam" in printed)
