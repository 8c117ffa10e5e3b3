"""Chapter 2's exercises beyond what tests/test_check.py checks for every exercise of the course (each
reference passes, each declared mistake is named on the visible problem): the prediction agrees with the run
that confirms it and tells its mistakes apart on every problem the grader may draw, the diagnosis names each
confusion's reason and its records show their failure, the choice explains each wrong letter, an answer that
changes its list argument in place fails, the grader grades each kind of answer, and the prompts above the
exercises hold no code of their answers."""
import math
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils import surfaces
from course_utils.experiments import momentum as experiments
from course_utils.exercises import all_exercises, get_exercise
from course_utils.exercises.cases import hidden_cases
from course_utils.exercises.chapters import momentum as chapter
from course_utils.exercises.evaluate import Returned, run_cases
from course_utils.experiments.momentum import momentum_path
from conftest import (
    assert_saying_instead_gets_the_pairs_reason, choice_tests, every_pair, giveaways_shown, grade_cells,
    typed_in_on_the_graders_problems, verdict,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "02_batch_and_momentum.ipynb"
IDS = ["momentum.momentum_step", "momentum.movement_from_gradients", "momentum.pick_batch_size",
       "momentum.ravine_rate", "momentum.diagnose_run", "momentum.bigger_batch"]
SEEDS = range(60)


def ravine_of(seed):
    return get_exercise("momentum.ravine_rate").draw(torch.Generator().manual_seed(seed)).args[0]


def test_chapter_2_declares_its_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("momentum.")] == IDS
    assert chapter.NOTEBOOK == NOTEBOOK.stem
    assert [get_exercise(i).kind for i in IDS] == ["function"] * 3 + ["value", "function", "value"]


# ---------------------------------------------------------------------------- the prediction and its run


@pytest.mark.parametrize("seed", SEEDS[:8])
def test_the_predicted_rate_is_the_rate_a_run_of_momentum_shows(seed):
    p = ravine_of(seed)
    path = momentum_path(surfaces.elongated_bowl(p["a"], p["b"]), (-5.0, 2.0), p["learning_rate"], p["momentum"],
                         steps=300)
    assert experiments.measured_rate(path) == pytest.approx(chapter.ravine_rate(p), rel=2e-3)


def test_the_problems_need_both_directions_and_momentums_rate():
    slow = {"floor": 0, "across": 0}
    for seed in SEEDS:
        p = ravine_of(seed)
        floor, across = chapter._direction_rates(p)
        slow["floor" if floor > across else "across"] += 1
        assert max(floor, across) < 0.985 and p["b"] > 5 * p["a"]   # converges; a ravine
        assert chapter.ravine_rate(p) > math.sqrt(p["momentum"]) * 1.03   # the slow direction's roots are real
    assert min(slow.values()) >= 15   # either direction may be the slow one: work out both


def test_every_problem_the_grader_may_draw_names_each_mistake_and_passes_the_reference():
    """test_check.py checks the mistakes on the notebook's problem; here on 60 problems the grader may draw.
    (A wrong value that happens to be the notebook's answer is told it looks typed in: it cannot be told apart.)"""
    exercise = get_exercise("momentum.ravine_rate")
    notebooks_answer = chapter.ravine_rate(exercise.visible_cases()[0].args[0])
    named = 0
    for seed in SEEDS:
        case = exercise.draw(torch.Generator().manual_seed(seed))
        right = run_cases(exercise, [case], lambda case: Returned(exercise.reference(*case.args)))
        assert right.passed
        for mistake in exercise.mistakes:
            value = mistake.answer(*case.args)
            wrong = run_cases(exercise, [case], lambda case: Returned(value))
            hint = ("a problem of its own" if math.isclose(value, notebooks_answer, rel_tol=exercise.rtol)
                    else f"hint: {mistake.hint}")
            assert not wrong.passed and hint in wrong.message, (seed, mistake.hint)
            named += hint.startswith("hint")
    assert named > 0.9 * len(SEEDS) * len(exercise.mistakes)


def test_only_the_slow_directions_rate_passes_only_where_that_direction_is_the_slow_one(capsys):
    p = get_exercise("momentum.ravine_rate").visible_cases()[0].args[0]
    floor, across = chapter._direction_rates(p)
    assert floor > across
    result, printed = verdict(capsys, "momentum.ravine_rate", across)
    assert not result.passed and "faster direction" in printed


def test_a_number_typed_in_fails_on_the_graders_problem_and_says_why():
    result = typed_in_on_the_graders_problems("momentum.ravine_rate")
    assert not result.passed and "a problem of its own" in result.message


def test_a_wrong_prediction_says_too_high_or_too_low_never_the_answer(capsys):
    p = get_exercise("momentum.ravine_rate").visible_cases()[0].args[0]
    answer = chapter.ravine_rate(p)
    for wrong, words in [(chapter._coefficient_as_curvature(p), "too high"), (math.sqrt(p["momentum"]), "too low")]:
        result, printed = verdict(capsys, "momentum.ravine_rate", wrong)
        assert not result.passed and words in printed
        assert f"{answer:.4g}" not in printed and f"{answer:.3g}" not in printed


def test_a_prediction_may_be_a_one_element_tensor(capsys):
    p = get_exercise("momentum.ravine_rate").visible_cases()[0].args[0]
    result, _ = verdict(capsys, "momentum.ravine_rate", torch.tensor(chapter.ravine_rate(p)))
    assert result.passed


def test_the_measured_rate_needs_a_long_enough_path():
    with pytest.raises(ValueError, match="too short"):
        experiments.measured_rate(torch.ones(50, 2))


# ---------------------------------------------------------------------------- the diagnosis


def test_the_records_of_each_failure_are_diagnosed_as_that_failure():
    generator = torch.Generator().manual_seed(11)
    for failure in chapter.LABELS:
        for _ in range(40):
            assert chapter.diagnose_run(chapter.training_record(generator, failure)) == failure


def test_most_raw_runs_show_their_failure_clearly():
    """The draw redraws a run that does not show its failure with a margin; that must be the exception."""
    generator = torch.Generator().manual_seed(3)
    for failure in chapter.LABELS:
        clear = sum(chapter._clear(failure, experiments.failing_run(failure, generator)) for _ in range(40))
        assert clear >= 36, failure


def test_the_visible_and_hidden_records_cover_every_failure():
    exercise = get_exercise("momentum.diagnose_run")
    visible = [chapter.diagnose_run(*case.args) for case in exercise.visible_cases()]
    hidden = [chapter.diagnose_run(*case.args) for case in hidden_cases(exercise, b"the instructor's key")]
    assert set(visible) == set(hidden) == set(chapter.LABELS)
    assert visible[:4] == list(chapter.LABELS)   # the fixed records first, one of each


def test_importing_the_exercises_makes_no_record_and_loads_no_compiler():
    """The fixed records are made when a check or the grader first needs them: importing every chapter's
    exercises (as every notebook and every graded submission does) trains nothing, so it stays quick and
    needs no temporary folder (the first torch.optim optimiser of a process loads torch._dynamo, which does)."""
    code = ("import sys; from course_utils.exercises import all_exercises, get_exercise; all_exercises(); "
            "records = get_exercise('momentum.diagnose_run').fixed; "
            "print('cases' in vars(records), 'torch._dynamo' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.split() == ["False", "False"], done.stderr


def test_the_notebooks_example_records_show_their_failures():
    generator = torch.Generator().manual_seed(0)   # as the notebook draws them, in this order
    for failure in chapter.LABELS:
        record = experiments.failing_run(failure, generator)
        assert chapter._clear(failure, record) and chapter.diagnose_run(record) == failure


@pytest.mark.parametrize("true, said", every_pair(chapter.LABELS, chapter._DIAGNOSE_REASONS),
                         ids=lambda label: label.replace(" ", "_"))
def test_each_confusion_gets_its_own_reason(capsys, true, said):
    assert_saying_instead_gets_the_pairs_reason(capsys, "momentum.diagnose_run", chapter.diagnose_run, true, said,
                                                chapter._DIAGNOSE_REASONS)


def test_another_rule_in_the_chapters_spirit_passes_visible_and_hidden_records(capsys):
    """A student's own measures (growth, smoothness by local extrema, how far it fell) name every record."""
    def diagnose_run(record):
        loss = record["loss"]
        if loss[-1] > 2 * loss[0]:
            return "learning rate too large"
        extrema = sum((b - a) * (c - b) < 0 for a, b, c in zip(loss, loss[1:], loss[2:]))
        if extrema > len(loss) / 2.5:
            return "batch too small"
        return "learning rate too small" if min(loss) > 0.3 * loss[0] else "momentum too high"

    result, _ = verdict(capsys, "momentum.diagnose_run", diagnose_run)
    assert result.passed
    exercise = get_exercise("momentum.diagnose_run")
    for _ in range(3):
        hidden = run_cases(exercise, exercise.hidden_cases(), lambda case: Returned(diagnose_run(*case.args)))
        assert hidden.passed, hidden.message


def test_a_label_spelled_otherwise_is_told_the_four_names(capsys):
    result, printed = verdict(capsys, "momentum.diagnose_run", lambda record: "lr too big")
    assert not result.passed and "'learning rate too large'" in printed and "spelled exactly so" in printed


def test_an_answer_that_sorts_the_losses_in_place_is_told_to_leave_its_input_alone(capsys):
    def diagnose_run(record):
        record["loss"].sort()
        return chapter.diagnose_run(record)

    result, printed = verdict(capsys, "momentum.diagnose_run", diagnose_run)
    assert not result.passed and "in place" in printed


# ---------------------------------------------------------------------------- the choice


test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation = choice_tests(
    "momentum.bigger_batch", "b")


# ---------------------------------------------------------------------------- pick_batch_size: inputs left alone


@pytest.mark.parametrize("change", ["reverse", "sort"])
def test_pick_batch_size_that_changes_its_list_in_place_fails_with_the_in_place_message(capsys, change):
    def pick_batch_size(batch_sizes, seconds_per_update, n_examples, seconds_per_epoch):
        if change == "reverse":   # largest first, then take the last that fits: right, but the caller's list is reversed
            batch_sizes.reverse()
            seconds_per_update.reverse()
        else:
            order = sorted(range(len(batch_sizes)), key=lambda k: -batch_sizes[k])
            seconds_per_update[:] = [seconds_per_update[k] for k in order]
            batch_sizes.sort(reverse=True)
        fitting = [b for b, t in zip(batch_sizes, seconds_per_update)
                   if math.ceil(n_examples / b) * t <= seconds_per_epoch]
        return fitting[-1] if fitting else None

    result, printed = verdict(capsys, "momentum.pick_batch_size", pick_batch_size)
    assert not result.passed and "in place" in printed and "batch_sizes" in printed


# ---------------------------------------------------------------------------- the grader


def test_the_grader_grades_each_kind_of_answer_on_its_own_problems(tmp_path):
    """A submission with the prediction typed in (right for the notebook's problem only), the diagnosis always
    saying one label, the right choice and the function exercises missing: points and feedback for each, on the
    grader's own problems. (tests/test_release.py grades the instructor's copy, answers computed in code.)"""
    typed = chapter.ravine_rate(get_exercise("momentum.ravine_rate").visible_cases()[0].args[0])
    cells = [
        "from course_utils.exercises import check, problem",
        'ravine = problem("momentum.ravine_rate")',
        f"ravine_rate = {typed!r}",
        'def diagnose_run(record):\n    return "batch too small"',
        'bigger_batch = "B"',
    ]
    report = grade_cells(tmp_path, NOTEBOOK.stem, cells)
    exercises = report["exercises"]
    assert (report["chapter"], report["total"], report["max_total"]) == ("momentum", 1.0, 6.0)
    assert exercises["momentum.ravine_rate"]["points"] == 0.0 and "a problem of its own" in str(
        exercises["momentum.ravine_rate"])
    diagnosis = exercises["momentum.diagnose_run"]
    assert diagnosis["points"] == 0.0 and "you said 'batch too small'" in str(diagnosis)
    assert exercises["momentum.bigger_batch"]["points"] == 1.0
    assert all(exercises[i]["points"] == 0.0 for i in IDS[:3])


# ---------------------------------------------------------------------------- the prompts


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


#: What would be the answer's code (or its recipe, worked out) if a cell above the exercise showed it.
GIVEAWAYS = {
    "momentum.momentum_step": ["momentum * movement", "theta + movement", "lam * m"],
    "momentum.movement_from_gradients": ["** (i - 1 - j)", "torch.arange(i - 1", "weights @", "gradients[j]"],
    "momentum.pick_batch_size": ["math.ceil(n", "min(fitting", "smallest", "⌈N/B⌉·t(B) ≤", r"\le$"],
    "momentum.ravine_rate": ["2 * coefficient", "2 * ravine", "max(experiments.momentum_rate", "slowest direction"],
    "momentum.diagnose_run": ["turns", "> 0.4", "0.5 * loss[0]", "loss[-1] > loss[0]"],
    "momentum.bigger_batch": ['bigger_batch = "', "bigger_batch = '"],
}


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_prompt_and_the_stub_hold_no_code_of_the_answer(exercise_id):
    # the exercise's prompt and what leads to it
    assert giveaways_shown(_cells(), exercise_id, GIVEAWAYS[exercise_id], last=6) == []


def test_the_weighted_sum_is_computed_in_code_only_after_exercise_2s_check():
    cells = _cells()
    [check_at] = [i for i, cell in enumerate(cells) if cell.source.startswith('check("momentum.movement_from_')]
    sums = [i for i, cell in enumerate(cells) if cell.cell_type == "code"
            and ("movement_from_gradients(gradients" in cell.source or "0.9 ** (i - 1 - j)" in cell.source)
            and not {"solution", "exercise"} & set(cell.metadata.get("tags", []))]
    assert sums and all(i > check_at and "reveal" in cells[i].metadata.get("tags", []) for i in sums)


def test_the_prediction_is_followed_by_a_run_that_waits_for_it(capsys):
    """After the prediction's check, a cell runs the experiment; while the answer is `...` it asks for the
    prediction first (the book runs the chapter without the solutions)."""
    cells = _cells()
    [at] = [i for i, cell in enumerate(cells) if cell.source == 'check("momentum.ravine_rate", ravine_rate)']
    confirm = next(cell for cell in cells[at + 1:] if cell.cell_type == "code")
    assert "reveal" in confirm.metadata.get("tags", [])
    problem_line = next(cell.source for cell in cells if 'problem("momentum.ravine_rate")' in cell.source)
    namespace = {}
    exec("import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\nimport numpy as np\n"
         "from course_utils import surfaces\nfrom course_utils.experiments import momentum\nfrom course_utils.plotting import OPTIMISER_COLORS\n"
         "from course_utils.widgets import momentum as demos\n"
         "from course_utils.exercises import problem\n" + problem_line, namespace)
    exec("ravine_rate = ...", namespace)
    exec(confirm.source, namespace)
    assert "Make your prediction first" in capsys.readouterr().out
    answer = chapter.ravine_rate(get_exercise("momentum.ravine_rate").visible_cases()[0].args[0])
    exec(f"ravine_rate = {answer!r}", namespace)
    exec(confirm.source, namespace)
    printed = capsys.readouterr().out
    assert f"your prediction: {answer:.4f} per update; measured on the run: {answer:.4f}" in printed
    namespace["plt"].close("all")
