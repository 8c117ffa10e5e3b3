"""Chapter 4's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover, hints that must fit the case (NaN and inf), the
prediction of exercise 4 and its experiment, the diagnosis of exercise 5, and the prompts."""
import math
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils import classification as cl
from course_utils.experiments import classification as cx
from course_utils.exercises import chapter_exercises, get_exercise, problem
from course_utils.exercises.chapters import classification as chapter
from course_utils.exercises.evaluate import Returned, run_cases
from conftest import choice_tests, verdict

IDS = ["classification.stable_softmax", "classification.cross_entropy", "classification.samples_needed",
       "classification.samples_for_guarantee", "classification.diagnose_loss_input",
       "classification.mse_confidently_wrong"]
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "04_classification.ipynb"
GUARANTEE = get_exercise("classification.samples_for_guarantee")
DIAGNOSE = get_exercise("classification.diagnose_loss_input")


def test_chapter_4_declares_six_exercises_for_its_notebook():
    assert [e.id for e in chapter_exercises("classification")] == IDS
    assert chapter.NOTEBOOK == "04_classification"


def test_torch_own_functions_pass_too(capsys):
    assert verdict(capsys, IDS[0], lambda logits: torch.softmax(logits, dim=-1))[0].passed
    assert verdict(capsys, IDS[1], lambda logits, targets: torch.nn.functional.cross_entropy(logits, targets))[0].passed


def test_visible_cases_include_logits_big_enough_to_overflow_exp():
    for exercise_id in IDS[:2]:
        assert any(case.args[0].abs().max() > 100 for case in get_exercise(exercise_id).visible_cases())


def test_softmax_without_subtracting_the_max_is_told_about_overflow(capsys):
    def stable_softmax(logits):
        e = torch.exp(logits)
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "exp overflowed" in printed and "max" in printed


def test_softmax_max_without_keepdim_gets_the_broadcasting_hint(capsys):
    def stable_softmax(logits):
        e = torch.exp(logits - logits.max(dim=-1).values)
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "keepdim=True" in printed


def test_cross_entropy_with_a_naive_softmax_is_told_about_overflow(capsys):
    def cross_entropy(logits, targets):
        p = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
        return -torch.log(p[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "exp overflowed" in printed


def test_cross_entropy_as_log_of_a_stable_softmax_is_told_about_log_of_zero(capsys):
    def cross_entropy(logits, targets):
        return -torch.log(torch.softmax(logits, dim=1)[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "log-sum-exp" in printed


def test_samples_needed_returning_a_float_is_told_to_return_an_int(capsys):
    result, printed = verdict(capsys, IDS[2], lambda eps, p_bad, h_size: math.log(2 * h_size / p_bad) / (2 * eps ** 2))
    assert not result.passed and "math.ceil" in printed


def test_references_are_the_library_functions():
    logits, targets = torch.randn(4, 3), torch.tensor([0, 2, 1, 1])
    assert torch.equal(chapter.stable_softmax(logits), cl.softmax(logits))
    assert torch.equal(chapter.cross_entropy(logits, targets), cl.cross_entropy(logits, targets))


# ---------------------------------------------------------------------------- NaN and inf: hints that fit the case


def test_a_softmax_that_returns_inf_is_told_an_exp_overflowed_not_about_a_log(capsys):
    """A softmax takes no log: an inf where the logits are large is an exp that overflowed."""
    def stable_softmax(logits):
        return torch.where(logits.abs() > 100, torch.tensor(math.inf), torch.softmax(logits, dim=-1))

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "case 3 of" in printed
    assert "exp overflowed" in printed and "max" in printed and "its log is −inf" not in printed


def test_a_softmax_that_returns_inf_on_small_logits_is_told_it_divided_by_zero(capsys):
    def stable_softmax(logits):
        e = (logits - logits.max(dim=-1, keepdim=True).values).exp()
        return e / (e.sum(dim=-1, keepdim=True) - e.sum(dim=-1, keepdim=True))

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "case 1 of" in printed
    assert "nothing in this case can overflow" in printed and "division by 0" in printed


def test_a_nan_on_logits_3_1_minus_3_is_not_blamed_on_an_overflow(capsys):
    """[[3, 1, −3]] overflows nothing; the NaN a student gets there is a log of a negative number, here
    log Σ(y − max y) with the exp left out."""
    def stable_softmax(logits):
        shifted = logits - logits.max(dim=-1, keepdim=True).values
        return torch.exp(shifted - torch.log(shifted.sum(dim=-1, keepdim=True)))

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "case 1 of" in printed and "[3.0, 1.0, -3.0]" in printed
    assert "exp overflowed" not in printed
    assert "nothing in this case can overflow" in printed and "log of a negative number" in printed


def test_a_nan_from_an_overflow_is_still_named_as_one(capsys):
    """Subtracting the min instead of the max: fine on small logits, exp(2000) on the row of ±1000."""
    def stable_softmax(logits):
        e = (logits - logits.min(dim=-1, keepdim=True).values).exp()
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "case 3 of" in printed and "exp overflowed" in printed


def test_subtracting_the_max_after_exp_is_named(capsys):
    def stable_softmax(logits):
        e = logits.exp()
        e = e - e.max(dim=-1, keepdim=True).values
        return e / e.sum(dim=-1, keepdim=True)

    result, printed = verdict(capsys, IDS[0], stable_softmax)
    assert not result.passed and "before exp" in printed


def test_cross_entropy_nan_on_small_logits_names_the_log_of_a_negative_number(capsys):
    def cross_entropy(logits, targets):
        top = logits.max(dim=1, keepdim=True).values
        log_sum = top.squeeze(1) + torch.log((logits - top).sum(dim=1))     # the exp left out
        return (log_sum - logits[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "case 1 of" in printed and "exp overflowed" not in printed
    assert "log of a negative number" in printed


def test_cross_entropy_with_log_sum_exp_computed_as_written_is_told_it_overflowed(capsys):
    def cross_entropy(logits, targets):
        return (logits.exp().sum(dim=1).log() - logits[torch.arange(len(targets)), targets]).mean()

    result, printed = verdict(capsys, IDS[1], cross_entropy)
    assert not result.passed and "log Σ exp(y) overflowed" in printed


def test_the_marker_mistakes_never_apply_where_exp_can_overflow():
    big = torch.tensor([[1000.0, 0.0, -1000.0]])
    assert chapter._non_finite_marker("nan", chapter.stable_softmax)(big) is None
    assert torch.isnan(chapter._non_finite_marker("nan", chapter.stable_softmax)(big / 1000)).all()


# ---------------------------------------------------------------------------- exercise 4: the prediction


def drawn_problems(count=40):
    rng = torch.Generator().manual_seed(4)
    return [GUARANTEE.draw(rng).args[0] for _ in range(count)]


def test_the_prediction_is_the_bound_solved_with_eps_half_delta_and_p_one_minus_confidence():
    for p in drawn_problems():
        n, eps, p_bad = chapter.samples_for_guarantee(p), p["delta"] / 2, 1 - p["confidence"]
        assert cl.hoeffding_bound(n, eps, p["h_size"]) <= p_bad < cl.hoeffding_bound(n - 1, eps, p["h_size"])


def test_every_prediction_mistake_is_outside_the_tolerance_on_every_drawn_problem():
    for p in drawn_problems():
        right = chapter.samples_for_guarantee(p)
        for mistake in GUARANTEE.mistakes:
            assert GUARANTEE.compare(right, mistake.answer(p), GUARANTEE.rtol, GUARANTEE.atol) is not None, \
                mistake.hint


def test_rounding_down_is_within_the_tolerance(capsys):
    p = problem(GUARANTEE.id)
    assert verdict(capsys, GUARANTEE.id, chapter.samples_for_guarantee(p) - 1)[0].passed


def test_the_right_prediction_passes_hidden_problems_and_a_typed_number_does_not():
    visible = chapter.samples_for_guarantee(problem(GUARANTEE.id))
    for _ in range(5):
        cases = GUARANTEE.hidden_cases()
        right = run_cases(GUARANTEE, cases, lambda case: Returned(chapter.samples_for_guarantee(*case.args)))
        assert right.passed
        if GUARANTEE.compare(visible, chapter.samples_for_guarantee(*cases[0].args), GUARANTEE.rtol, GUARANTEE.atol):
            typed = run_cases(GUARANTEE, cases, lambda case: Returned(visible))
            assert not typed.passed and "compute samples_for_guarantee from the numbers" in typed.message


def test_a_wrong_prediction_never_shows_the_expected_value(capsys):
    right = chapter.samples_for_guarantee(problem(GUARANTEE.id))
    result, printed = verdict(capsys, GUARANTEE.id, 4 * right)
    assert not result.passed and "too high" in printed and str(right) not in printed


@pytest.mark.parametrize("answer, words", [(..., "not attempted"), ("201", "not text"), (None, "None")])
def test_a_prediction_that_is_not_a_number_is_told_what_to_give(capsys, answer, words):
    result, printed = verdict(capsys, GUARANTEE.id, answer)
    assert not result.passed and words in printed


def test_the_experiment_confirms_the_right_n_and_refutes_eps_equal_delta():
    p = problem(GUARANTEE.id)
    right = chapter.samples_for_guarantee(p)
    report = cx.guarantee_report(right, **p, n_sets=1000)
    assert f"N = {right} examples" in report and "(≤ p = " in report and "(> p)" in report
    measured = [float(line.rsplit(" ", 1)[1].rstrip("%")) / 100 for line in report.splitlines() if "%" in line]
    assert len(measured) == 2 and all(m <= 1 - p["confidence"] for m in measured)
    too_few = cx.guarantee_report(chapter._n_from(p, eps=p["delta"]), **p, n_sets=1000)   # ε = δ: 4× too few
    bad = float(too_few.splitlines()[-2].rsplit(" ", 1)[1].rstrip("%")) / 100
    assert bad > 1 - p["confidence"]


@pytest.mark.parametrize("answer, words", [(..., "Make your prediction first"), ("many", "not a number"),
                                           (1e12, "too many to simulate"), (0, "not a size")])
def test_the_experiment_says_what_to_do_with_an_answer_it_cannot_run(answer, words):
    assert words in cx.guarantee_report(answer, **problem(GUARANTEE.id))


# ---------------------------------------------------------------------------- exercise 5: the diagnosis


def test_the_band_is_what_a_loss_given_probabilities_can_reach():
    for classes in (2, 3, 10):
        floor, ceiling = chapter.loss_band(classes)
        right, wrong = torch.eye(classes)[:1], torch.eye(classes)[1:2]
        target = torch.tensor([0])
        assert math.isclose(torch.nn.functional.cross_entropy(right, target).item(), floor, rel_tol=1e-5)
        assert math.isclose(torch.nn.functional.cross_entropy(wrong, target).item(), ceiling, rel_tol=1e-5)
        assert math.isclose(ceiling - floor, 1.0, rel_tol=1e-9)
        inputs = torch.softmax(torch.randn(500, classes) * 5, dim=1)   # any probabilities stay inside
        losses = torch.nn.functional.cross_entropy(inputs, torch.randint(0, classes, (500,)), reduction="none")
        assert losses.min() >= floor - 1e-6 and losses.max() <= ceiling + 1e-6


def test_records_of_every_kind_get_the_label_of_their_kind():
    for seed in range(15):
        for kind in range(3):
            record = chapter._training_record(torch.Generator().manual_seed(seed), kind)
            assert chapter.diagnose_loss_input(record) == ("probabilities" if kind == 2 else "logits")
            assert len(record["loss"]) == len(record["accuracy"]) and 2 <= record["classes"] <= 10


def final_below_floor(record):
    return "logits" if record["loss"][-1] < chapter.loss_band(record["classes"])[0] else "probabilities"


def high_accuracy_means_logits(record):
    return "logits" if record["accuracy"][-1] > 0.8 else "probabilities"


def fixed_threshold(record):
    return "logits" if min(record["loss"]) < 1.0 else "probabilities"


def test_the_visible_cases_cover_every_label_and_every_kind_of_run():
    records = [case.args[0] for case in DIAGNOSE.visible_cases()]
    labels = [chapter.diagnose_loss_input(record) for record in records]
    assert set(labels) == set(chapter.LABELS)
    floor_ceiling = [chapter.loss_band(r["classes"]) for r in records]
    assert any(r["loss"][0] > c and f < r["loss"][-1] < c for r, (f, c) in zip(records, floor_ceiling))
    assert any(r["loss"][-1] < f for r, (f, c) in zip(records, floor_ceiling))
    assert len({r["classes"] for r in records}) >= 4


@pytest.mark.parametrize("rule", [final_below_floor, high_accuracy_means_logits, fixed_threshold])
def test_half_right_rules_fail_on_the_visible_cases(capsys, rule):
    """Only the floor, only the accuracy, or one number for every C: each fails a visible case."""
    result, printed = verdict(capsys, DIAGNOSE.id, rule)
    assert not result.passed and "hint:" in printed


def test_each_wrong_diagnosis_gets_its_reason(capsys):
    reasons = {(true, said): mistake.hint for (true, said), mistake in zip(
        [("logits", "probabilities"), ("probabilities", "logits")], DIAGNOSE.mistakes)}
    for (true, said), why in reasons.items():
        result, printed = verdict(capsys, DIAGNOSE.id, lambda record, said=said: said)
        assert not result.passed and f"this is {true!r}" in printed and why in printed
    assert "below that floor or above that ceiling" in reasons[("logits", "probabilities")]
    assert "accuracy" in reasons[("probabilities", "logits")]


def test_a_diagnosis_that_forgot_return_is_told_so(capsys):
    def diagnose_loss_input(record):
        "logits"

    result, printed = verdict(capsys, DIAGNOSE.id, diagnose_loss_input)
    assert not result.passed and "forget `return`" in printed


def test_the_diagnosis_passes_hidden_records():
    for _ in range(3):
        assert run_cases(DIAGNOSE, DIAGNOSE.hidden_cases(),
                         lambda case: Returned(chapter.diagnose_loss_input(*case.args))).passed


# ---------------------------------------------------------------------------- exercise 6: the choice


test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation = choice_tests(
    IDS[5], "b")


def test_the_choices_in_the_prompt_are_the_ones_the_check_knows():
    [prompt] = [c.source for c in notebook_cells() if c.source.startswith("### Exercise 6")]
    assert [line[:3] for line in prompt.splitlines() if line[:1] == "(" and line[2:3] == ")"] == \
        ["(a)", "(b)", "(c)", "(d)"]


# ---------------------------------------------------------------------------- the notebook's prompts


def notebook_cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def tagged(cell, tag):
    return tag in cell.metadata.get("tags", [])


def test_no_line_of_an_answer_appears_above_its_exercise():
    """Every line of a solution (but its signature, docstring and comments) is absent from every cell above
    the exercise (other solutions aside), source and outputs; and the prompts show no indexing or rounding
    code of the answers."""
    cells = notebook_cells()
    stubs = [i for i, cell in enumerate(cells) if tagged(cell, "exercise")]
    assert len(stubs) == len(IDS)
    for stub in stubs:
        solution = cells[stub + 1]
        assert tagged(solution, "solution") and tagged(solution, "remove-cell")
        lines = {line.strip() for line in solution.source.splitlines()
                 if line.strip() and not line.strip().startswith(("def ", '"""', "#"))}
        above = "\n".join(cell.source + "".join(str(output) for output in cell.get("outputs", []))
                           for cell in cells[:stub] if not tagged(cell, "solution"))
        assert [line for line in lines if line in above] == [], cells[stub].source
        prompt = next(c.source for c in reversed(cells[:stub]) if c.cell_type == "markdown")
        for code in ("keepdim", "torch.arange", "math.ceil", "logits[", "math.log", "/ 2", "1 - "):
            assert code not in prompt, (code, prompt)
    above_exercise_2 = "\n".join(c.source for c in cells[:stubs[1]] if not tagged(c, "solution"))
    assert "[torch.arange(" not in above_exercise_2


def test_each_new_exercise_has_its_cells_and_the_prediction_its_experiment():
    cells = notebook_cells()
    [stub] = [i for i, c in enumerate(cells) if tagged(c, "exercise") and c.source == "samples_for_guarantee = ..."]
    assert cells[stub - 1].source.startswith('goal = problem("classification.samples_for_guarantee")')
    assert "grader gives your notebook a problem of its own" in cells[stub - 2].source
    assert cells[stub + 2].source == 'check("classification.samples_for_guarantee", samples_for_guarantee)'
    assert "guarantee_report(samples_for_guarantee, **goal)" in cells[stub + 4].source
    [stub] = [i for i, c in enumerate(cells) if tagged(c, "exercise") and "def diagnose_loss_input" in c.source]
    assert cells[stub + 2].source == 'check("classification.diagnose_loss_input", diagnose_loss_input)'


def test_the_confirm_cell_runs_before_an_answer_is_given():
    """The book runs the notebook without the solutions: there the answer is still `...`."""
    cells = notebook_cells()
    [cell] = [c for c in cells if "guarantee_report(" in c.source]
    printed = []
    namespace = {"experiments": cx, "goal": problem(GUARANTEE.id), "samples_for_guarantee": ...,
                 "print": lambda *args, **kwargs: printed.append(" ".join(map(str, args)))}
    exec(cell.source, namespace)
    assert "Make your prediction first" in "\n".join(printed)
