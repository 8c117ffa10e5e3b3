"""Chapter 6's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover, the prediction against the models it is about, the
diagnosis's scenarios and reasons, grading on the grader's own problems, and prompts that hold
no code of their answers."""
import collections
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils.exercises import all_exercises, get_exercise
from course_utils.exercises.cases import hidden_cases
from course_utils.exercises.chapters import hw02 as chapter
from course_utils.exercises.evaluate import Returned, run_cases
from course_utils.hw02.experiments import classifier_parameter_count, per_class_accuracy
from course_utils.hw02.models import Classifier, count_parameters
from conftest import (
    assert_saying_instead_gets_the_pairs_reason, choice_tests, every_pair, giveaways_shown, grade_cells,
    labels_of_cases, typed_in_on_the_graders_problems, verdict,
)

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "06_hw02_phoneme_classification.ipynb"
IDS = ["hw02.concat_feat", "hw02.classifier_parameter_count", "hw02.per_class_accuracy", "hw02.added_parameters",
       "hw02.next_step", "hw02.split_by_utterance"]
SEEDS = range(60)


def test_chapter_6_declares_its_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("hw02.")] == IDS
    assert chapter.NOTEBOOK == NOTEBOOK.stem
    assert [get_exercise(i).kind for i in IDS] == ["function"] * 3 + ["value", "function", "value"]


def test_zero_padding_is_named(capsys):
    def zero_padded(x, concat_nframes):
        k = concat_nframes // 2
        padded = torch.cat([torch.zeros(k, x.shape[1]), x, torch.zeros(k, x.shape[1])])
        return torch.cat([padded[j:j + len(x)] for j in range(concat_nframes)], dim=1)

    _, printed = verdict(capsys, "hw02.concat_feat", zero_padded)
    assert "does not fill in zeros" in printed


@pytest.mark.parametrize("layers, width, batchnorm", [(1, 256, False), (3, 384, True), (6, 16, True)])
def test_parameter_count_equals_pytorchs(layers, width, batchnorm):
    model = Classifier(39 * 5, 41, layers, width, 0.25, batchnorm)
    assert classifier_parameter_count(39 * 5, 41, layers, width, batchnorm) == count_parameters(model)


def test_forgetting_batchnorm_and_counting_its_buffers_are_named(capsys):
    _, printed = verdict(capsys, "hw02.classifier_parameter_count",
                         lambda d, c, L, h, bn: sum(p.numel() for p in Classifier(d, c, L, h, 0, False).parameters()))
    assert "γ and β, one of each per unit" in printed
    _, printed = verdict(capsys, "hw02.classifier_parameter_count",
                         lambda d, c, L, h, bn: sum(v.numel() for v in Classifier(d, c, L, h, 0, bn).state_dict()
                                                    .values()) - (L if bn else 0))
    assert "buffers, not parameters" in printed


def test_per_class_accuracy_is_the_confusion_diagonal_over_its_rows():
    true, predicted = torch.tensor([0, 0, 0, 1, 2, 2]), torch.tensor([0, 1, 0, 1, 0, 2])
    got = per_class_accuracy(true, predicted, 4)
    assert torch.allclose(got[:3], torch.tensor([2 / 3, 1.0, 0.5])) and torch.isnan(got[3])


def test_precision_instead_of_recall_and_zero_for_empty_classes_are_named(capsys):
    def precision(true, predicted, num_classes):
        right = torch.bincount(true[true == predicted], minlength=num_classes).float()
        return right / torch.bincount(predicted, minlength=num_classes).float()

    _, printed = verdict(capsys, "hw02.per_class_accuracy", precision)
    assert "not by the number *predicted* as c" in printed
    _, printed = verdict(capsys, "hw02.per_class_accuracy",
                         lambda t, p, c: per_class_accuracy(t, p, c).nan_to_num(0.0))
    assert "0/0 gives nan" in printed


# ---------------------------------------------------------------------------- per-class accuracy: inf and nan


def test_an_all_inf_answer_is_told_it_divides_by_zero_not_that_a_class_is_empty(capsys):
    result, printed = verdict(capsys, "hw02.per_class_accuracy", lambda t, p, c: torch.full((c,), float("inf")))
    assert not result.passed and "divided by 0" in printed and "class 0 has frames" in printed
    assert "0/0 gives nan, which is the answer there" not in printed


def test_a_count_that_a_wrong_mask_makes_zero_for_every_class_is_named(capsys):
    def per_class_accuracy(true, predicted, num_classes):
        right = torch.bincount(true[true == predicted], minlength=num_classes).float()
        labelled = torch.bincount(true[(true == predicted) & (true != predicted)], minlength=num_classes).float()
        return right / labelled   # the mask selects no frame: every count is 0

    result, printed = verdict(capsys, "hw02.per_class_accuracy", per_class_accuracy)
    assert not result.passed and "count you divide by is 0" in printed and "*labelled* c" in printed
    assert "no accuracy" not in printed


def test_nan_for_a_class_that_has_frames_is_named(capsys):
    def per_class_accuracy(true, predicted, num_classes):   # right over right: 0/0 where a class has no right frame
        right = torch.bincount(true[true == predicted], minlength=num_classes).float()
        return right / torch.bincount(predicted[true == predicted], minlength=num_classes).float()

    result, printed = verdict(capsys, "hw02.per_class_accuracy", per_class_accuracy)
    assert not result.passed and "got nan" in printed and "has frames" in printed


# ---------------------------------------------------------------------------- predict: what a wider window adds


def problem_of(exercise_id, seed):
    return get_exercise(exercise_id).draw(torch.Generator().manual_seed(seed)).args[0]


def measured_growth(problem):
    """What the notebook's confirming cell does: build both models, count sum(p.numel())."""
    def parameters_of(n):
        model = Classifier(39 * n, 41, problem["hidden_layers"], problem["hidden_dim"], problem["dropout"],
                           problem["batchnorm"])
        return sum(p.numel() for p in model.parameters())

    n = problem["concat_nframes"]
    return parameters_of(n + 2 * problem["more_each_side"]) - parameters_of(n)


@pytest.mark.parametrize("seed", SEEDS[:20])
def test_the_predicted_growth_is_what_counting_both_models_gives(seed):
    problem = problem_of("hw02.added_parameters", seed)
    assert chapter.added_parameters(problem) == measured_growth(problem)


def test_every_problem_the_grader_may_draw_names_each_mistake_and_passes_the_reference():
    """test_check.py checks the mistakes on the notebook's problem; here on 60 problems the grader may draw."""
    exercise = get_exercise("hw02.added_parameters")
    typed = exercise.reference(*exercise.visible_cases()[0].args)
    for seed in SEEDS:
        case = exercise.draw(torch.Generator().manual_seed(seed))
        assert run_cases(exercise, [case], lambda case: Returned(exercise.reference(*case.args))).passed
        for mistake in exercise.mistakes:
            wrong = run_cases(exercise, [case], lambda case: Returned(mistake.answer(*case.args)))
            assert not wrong.passed, (seed, mistake.hint)
            if abs(mistake.answer(*case.args) - typed) > 0.5:   # else it reads as the notebook's answer typed in
                assert f"hint: {mistake.hint}" in wrong.message, (seed, mistake.hint)


def test_a_number_typed_in_fails_on_the_graders_problem_and_says_why():
    result = typed_in_on_the_graders_problems("hw02.added_parameters")
    assert not result.passed and "a problem of its own" in result.message


def test_a_wrong_count_says_too_high_or_too_low_and_exact_never_the_answer(capsys):
    exercise = get_exercise("hw02.added_parameters")
    problem = exercise.visible_cases()[0].args[0]
    answer = chapter.added_parameters(problem)
    result, printed = verdict(capsys, "hw02.added_parameters", answer + 1)
    assert not result.passed and "is too high: a count of parameters must be exact" in printed
    assert str(answer) not in printed and f"{answer:,}" not in printed
    result, printed = verdict(capsys, "hw02.added_parameters", torch.tensor(float(answer)))
    assert result.passed


# ---------------------------------------------------------------------------- diagnose: the next step


@pytest.mark.parametrize("scenario", chapter.NEXT_STEPS)
def test_each_scenario_is_labelled_as_drawn_and_keeps_clear_of_the_thresholds(scenario):
    rng = torch.Generator().manual_seed(7)
    for _ in range(300):
        record = chapter._record(rng, scenario).args[0]
        train, val = record["train_acc"], record["val_acc"]
        assert chapter.next_step(record) == scenario
        gap, gain = train[-1] - val[-1], val[-1] - val[-2]
        assert gap <= 0.035 or gap >= 0.15
        assert gain <= 0.004 or gain >= 0.009
        assert len(train) == len(val) == len(record["epoch"]) >= 5


def test_the_visible_cases_cover_every_label_and_the_hidden_ones_draw_them_all():
    visible, hidden = labels_of_cases("hw02.next_step")
    assert set(visible) == set(chapter.NEXT_STEPS), collections.Counter(visible)
    assert set(hidden) == set(chapter.NEXT_STEPS), collections.Counter(hidden)


def test_a_rule_with_other_reasonable_thresholds_passes_visible_and_hidden_cases(capsys):
    """The records keep clear of the thresholds, so the exercise is about the reading, not the digits."""
    def next_step(record):
        train, val = record["train_acc"], record["val_acc"]
        if train[-1] - val[-1] > 0.06:
            return "dropout"
        if val[-1] > val[-2] + 0.006:
            return "longer"
        return "context" if record["concat_nframes"] <= 3 else "wider"

    result, _ = verdict(capsys, "hw02.next_step", next_step)
    assert result.passed
    exercise = get_exercise("hw02.next_step")
    assert run_cases(exercise, hidden_cases(exercise, b"key"), lambda case: Returned(next_step(*case.args))).passed


@pytest.mark.parametrize("true, said", every_pair(chapter.NEXT_STEPS, chapter.NEXT_STEP_REASONS))
def test_each_wrong_label_gets_the_reason_it_is_wrong(capsys, true, said):
    assert_saying_instead_gets_the_pairs_reason(capsys, "hw02.next_step", chapter.next_step, true, said,
                                                chapter.NEXT_STEP_REASONS)


@pytest.mark.parametrize("answer, words", [
    (lambda record: None, "forget `return`"),
    (lambda record: "more dropout", "return one of 'context', 'wider', 'dropout', 'longer'"),
    (lambda record: " Longer ", "you said 'longer'"),     # read in any case, without spaces, then judged
])
def test_an_answer_that_is_no_label_says_which_labels_there_are(capsys, answer, words):
    result, printed = verdict(capsys, "hw02.next_step", answer)
    assert not result.passed and words in printed


# ---------------------------------------------------------------------------- choose: why whole utterances


test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation = choice_tests(
    "hw02.split_by_utterance", "b")


# ---------------------------------------------------------------------------- the grader


def test_the_grader_grades_each_kind_of_answer_on_its_own_problems(tmp_path):
    """A prediction computed in code, a diagnosis, a choice typed wrong, the function exercises missing:
    points and feedback for each, on the grader's own problem; then the same prediction typed in."""
    visible = get_exercise("hw02.added_parameters").visible_cases()[0].args[0]
    cells = ["from course_utils.exercises import check, problem",
             'preset = problem("hw02.added_parameters")',
             "added_parameters = 39 * 2 * preset.more_each_side * preset.hidden_dim",
             "def next_step(record):\n"
             "    if record['train_acc'][-1] - record['val_acc'][-1] > 0.1:\n        return 'dropout'\n"
             "    if record['val_acc'][-1] - record['val_acc'][-2] > 0.005:\n        return 'longer'\n"
             "    return 'context' if record['concat_nframes'] < 5 else 'wider'",
             "split_by_utterance = 'c'"]

    def graded(sources, name):
        return grade_cells(tmp_path, NOTEBOOK.stem, sources, student=name)

    report = graded(cells, "computed")
    exercises = report["exercises"]
    assert (report["chapter"], report["total"], report["max_total"]) == ("hw02", 2.0, 6.0)
    assert exercises["hw02.added_parameters"]["points"] == 1.0 and exercises["hw02.next_step"]["points"] == 1.0
    wrong = exercises["hw02.split_by_utterance"]
    assert wrong["points"] == 0.0 and chapter.SPLIT_REASONS["c"] in str(wrong)
    assert all(exercises[i]["status"] == "missing" for i in IDS[:3])
    typed = graded(cells[:2] + [f"added_parameters = {chapter.added_parameters(visible)}", "split_by_utterance = ..."],
                   "typed")["exercises"]
    assert typed["hw02.added_parameters"]["points"] == 0.0 and "a problem of its own" in str(typed)
    assert typed["hw02.split_by_utterance"]["status"] == "not attempted"


# ---------------------------------------------------------------------------- the prompts


def _cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


#: What would be the answer's code (or its formula, worked out) if a cell above the exercise showed it.
GIVEAWAYS = {
    "hw02.concat_feat": ["min(max(", "def concat_by_loop", "torch.arange(-k", ".clamp(0, len(x)", "% len(x)"],
    "hw02.classifier_parameter_count": ["(hidden_layers - 1)", "2 * hidden_layers", "h * h +", "(L − 1)·(h·h",
                                       "numel() for p in Classifier"],
    "hw02.per_class_accuracy": ["bincount(true * num_classes", "num_classes ** 2", ".sum(1", "diagonal()",
                                "confusion_matrix(true, predicted, num_classes)"],
    "hw02.added_parameters": ["more_each_side *", "* preset.hidden_dim", "parameters_of("],
    "hw02.next_step": ['train[-1] - val[-1]', 'record["train_acc"][-1] -', 'return "dropout"'],
    "hw02.split_by_utterance": ['split_by_utterance = "', "split_by_utterance = '"],
}


@pytest.mark.parametrize("exercise_id", IDS)
def test_the_prompt_and_the_stub_hold_no_code_of_the_answer(exercise_id):
    assert giveaways_shown(_cells(), exercise_id, GIVEAWAYS[exercise_id]) == []


def test_the_prediction_is_followed_by_an_experiment_that_waits_for_it(capsys):
    """After the prediction's check, a cell counts both models' parameters; while the answer is `...` it asks
    for the prediction first (the book runs the chapter without the solutions)."""
    cells = _cells()
    [at] = [i for i, cell in enumerate(cells) if cell.source == 'check("hw02.added_parameters", added_parameters)']
    confirm = next(cell for cell in cells[at + 1:] if cell.cell_type == "code")
    assert "reveal" in confirm.metadata.get("tags", [])   # its outputs (the count) leave the student copy
    namespace = {}
    exec("from course_utils import hw02\nfrom course_utils.exercises import problem\n"
         'preset = problem("hw02.added_parameters")\nadded_parameters = ...', namespace)
    exec(confirm.source, namespace)
    printed = capsys.readouterr().out
    assert "Make your prediction first" in printed and "counted" not in printed
    problem = get_exercise("hw02.added_parameters").visible_cases()[0].args[0]
    namespace["added_parameters"] = chapter.added_parameters(problem)
    exec(confirm.source, namespace)
    printed = capsys.readouterr().out
    assert f"counted: {measured_growth(problem)}" in printed and "Make your prediction first" not in printed


def test_the_figures_row_fractions_divide_each_row_by_its_total_over_all_classes():
    """Section 6's figure takes its fractions from the library (so no cell above exercise 3 computes them)."""
    from course_utils.hw02.experiments import confusion_rates

    matrix = torch.tensor([[5, 1, 4], [0, 2, 0], [3, 3, 3]])
    rates = confusion_rates(matrix, [2, 0])
    assert torch.allclose(rates, torch.tensor([[3 / 9, 3 / 9], [4 / 10, 5 / 10]], dtype=torch.float64))
