"""Chapter 1's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover."""
import math
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest
import torch

from course_utils.experiments import critical
from course_utils import hessian as hs
from course_utils.exercises import all_exercises, get_exercise, problem
from course_utils.exercises.chapters import critical as chapter
from course_utils.exercises.evaluate import Returned, run_cases
from conftest import choice_tests, verdict

IDS = ["critical.product_hessian", "critical.critical_point_kind", "critical.escape_direction",
       "critical.minimum_ratio", "critical.saddle_escape_change", "critical.small_gradient_meaning"]
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_critical_points.ipynb"


def test_chapter_1_declares_its_six_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("critical.")] == IDS
    assert chapter.NOTEBOOK == "01_critical_points"


def test_product_hessian_reference_equals_the_notes_saddle_and_the_library_hessian():
    H = chapter.product_hessian(0.0, 0.0, 1.0, 1.0)
    assert torch.equal(H, torch.tensor([[0.0, -2.0], [-2.0, 0.0]], dtype=torch.float64))
    loss = lambda t: (0.3 - t[0] * t[1] * 1.7) ** 2  # noqa: E731
    theta = torch.tensor([0.4, -1.2], dtype=torch.float64, requires_grad=True)
    assert torch.allclose(chapter.product_hessian(0.4, -1.2, 1.7, 0.3), hs.hessian(loss, theta))


def test_a_float32_hessian_is_told_that_python_floats_make_float32_not_to_keep_the_inputs_dtype(capsys):
    def product_hessian(w1, w2, x, y_hat):   # a tensor of Python floats, made without a dtype: float32
        theta = torch.tensor([w1, w2], requires_grad=True)
        loss = (y_hat - theta[0] * theta[1] * x) ** 2
        (g,) = torch.autograd.grad(loss, theta, create_graph=True)
        return torch.stack([torch.autograd.grad(g[i], theta, retain_graph=True)[0] for i in range(2)])

    result, printed = verdict(capsys, "critical.product_hessian", product_hessian)
    assert not result.passed and "expected dtype float64, got float32" in printed
    assert "Python numbers" in printed and "dtype=torch.float64" in printed
    assert "inputs' dtype" not in printed and "inputs are float32" not in printed


def test_a_hessian_of_the_wrong_shape_still_gets_the_generic_shape_hint(capsys):
    result, printed = verdict(capsys, "critical.product_hessian",
                              lambda w1, w2, x, y_hat: chapter.product_hessian(w1, w2, x, y_hat).reshape(4))
    assert not result.passed and "expected shape (2, 2)" in printed


def test_a_kind_function_that_forgot_return_is_told_so(capsys):
    def critical_point_kind(H, tol=1e-6):
        lam = torch.linalg.eigvalsh(H)
        "saddle point" if (lam > tol).any() and (lam < -tol).any() else "degenerate"

    result, printed = verdict(capsys, "critical.critical_point_kind", critical_point_kind)
    assert not result.passed and "returned None: did you forget `return`?" in printed


def test_escape_direction_accepts_either_sign_of_the_eigenvector(capsys):
    def escape_direction(H):
        lam, u = hs.escape_direction(H)
        return lam, -u

    result, _ = verdict(capsys, "critical.escape_direction", escape_direction)
    assert result.passed


def test_a_kind_that_is_not_a_string_is_told_the_allowed_answers(capsys):
    result, printed = verdict(capsys, "critical.critical_point_kind", lambda H: 0)
    assert not result.passed and "'saddle point'" in printed


def test_minimum_ratio_as_a_one_element_tensor_is_accepted(capsys):
    def minimum_ratio(H, tol=1e-6):
        lam = torch.linalg.eigvalsh(H)
        return (lam > tol).double().sum() / (lam.abs() > tol).double().sum()

    result, _ = verdict(capsys, "critical.minimum_ratio", minimum_ratio)
    assert result.passed


def test_minimum_ratio_without_a_tolerance_is_told_to_set_flat_eigenvalues_aside(capsys):
    result, printed = verdict(capsys, "critical.minimum_ratio",
                              lambda H: (torch.linalg.eigvalsh(H) > 0).double().mean())
    assert not result.passed and "flat" in printed



# ---------------------------------------------------------------------------- exercise 5: the escape prediction

ESCAPE = get_exercise("critical.saddle_escape_change")


@lru_cache(maxsize=1)
def drawn_problems(count=30):
    generator = torch.Generator().manual_seed(2026)
    return tuple(ESCAPE.draw(generator).args[0] for _ in range(count))


def test_every_escape_problem_is_what_the_prompt_says():
    """Three parameters, two negative eigenvalues, u an eigenvector of one of them and not of unit length."""
    for p in drawn_problems():
        lam = torch.linalg.eigvalsh(p["hessian"])
        assert p["hessian"].shape == (3, 3) and torch.equal(p["hessian"], p["hessian"].T)
        assert (lam < 0).sum() == 2 and (lam > 0).sum() == 1
        own = chapter._u_eigenvalue(p)
        assert own < 0 and min(abs(own - v) for v in lam.tolist()) < 1e-3
        assert torch.allclose(p["hessian"] @ p["u"], own * p["u"], atol=2e-3)
        assert not math.isclose(p["u"].norm().item(), 1.0, rel_tol=0.2)


def test_the_prediction_is_half_alpha_squared_lambda_norm_squared_and_the_experiment_confirms_it():
    for p in drawn_problems():
        lam = min(torch.linalg.eigvalsh(p["hessian"]).tolist(), key=lambda v: abs(v - chapter._u_eigenvalue(p)))
        predicted = 0.5 * p["alpha"] ** 2 * lam * p["u"].norm().item() ** 2
        assert predicted < 0 and math.isclose(chapter.saddle_escape_change(p), predicted, rel_tol=2e-3)
        loss, origin = critical.saddle_loss(p["hessian"]), torch.zeros(3, dtype=torch.float64)
        short = p["alpha"] / 10
        measured_short = (loss(origin + short * p["u"]) - loss(origin)).item()
        assert math.isclose(measured_short, chapter.saddle_escape_change(p) / 100, rel_tol=0.003)
        measured = (loss(origin + p["alpha"] * p["u"]) - loss(origin)).item()
        # the fourth-order term makes the drop smaller, by more than the check's tolerance (so the
        # experiment's number is not the prediction) and less than a fifth (so it still confirms it)
        assert 0.03 <= (measured - predicted) / abs(predicted) <= 0.21


def test_every_escape_mistake_gives_a_value_of_its_own_on_every_drawn_problem():
    for p in drawn_problems():
        right = chapter.saddle_escape_change(p)
        values = [wrong(p) for _, wrong in chapter._ESCAPE_MISTAKES]
        differing = [v for v in values if ESCAPE.compare(right, v, ESCAPE.rtol, ESCAPE.atol) is not None]
        assert len(differing) >= len(values) - 1   # only "the most negative λ" may be right, when u is its
        assert all(ESCAPE.compare(a, b, ESCAPE.rtol, ESCAPE.atol) is not None
                   for i, a in enumerate(differing) for b in differing[i + 1:])


def test_the_visible_escape_problem_has_u_on_the_less_negative_eigenvalue():
    """So that the mistake "the most negative eigenvalue" shows on the student's own problem."""
    p = problem("critical.saddle_escape_change")
    lam = torch.linalg.eigvalsh(p.hessian).tolist()
    assert abs(chapter._u_eigenvalue(p) - lam[1]) < 1e-3


def test_the_right_escape_prediction_passes_hidden_problems_and_a_typed_number_does_not():
    visible = chapter.saddle_escape_change(problem("critical.saddle_escape_change"))
    for _ in range(5):
        cases = ESCAPE.hidden_cases()
        right = run_cases(ESCAPE, cases, lambda case: Returned(chapter.saddle_escape_change(*case.args)))
        typed = run_cases(ESCAPE, cases, lambda case: Returned(round(visible, 6)))
        assert right.passed and not typed.passed
        assert "compute saddle_escape_change from the numbers" in typed.message


@pytest.mark.parametrize("answer, words", [
    ("-0.01", "not text"), (None, "None"), (float("nan"), "finite number"),
    (torch.tensor([-0.01, 0.02]), "one number")])
def test_an_escape_answer_that_is_not_one_number_is_told_what_to_give(capsys, answer, words):
    result, printed = verdict(capsys, "critical.saddle_escape_change", answer)
    assert not result.passed and words in printed


def test_a_wrong_escape_prediction_never_shows_the_expected_value(capsys):
    p = problem("critical.saddle_escape_change")
    right = chapter.saddle_escape_change(p)
    _, printed = verdict(capsys, "critical.saddle_escape_change", 3 * right)
    assert "too low" in printed and f"{right:.4g}" not in printed and f"{right:.3g}" not in printed


# ---------------------------------------------------------------------------- exercise 6: the choice


test_the_choice_reads_the_letter_in_any_common_form, test_each_wrong_choice_gets_its_own_explanation = choice_tests(
    IDS[5], "c")


# ---------------------------------------------------------------------------- the notebook's prompts


def notebook_cells():
    return nbformat.read(NOTEBOOK, as_version=4).cells


def tagged(cell, tag):
    return tag in cell.metadata.get("tags", [])


def test_no_line_of_an_answer_appears_above_its_exercise():
    """Every line of a solution (but its signature, docstring and comments) is absent from every cell above
    the exercise (other exercises' solutions aside), source and outputs; in particular no cell above
    exercise 1 differentiates a gradient again, and none above exercise 3 takes eigenvectors apart."""
    cells = notebook_cells()
    stubs = [i for i, cell in enumerate(cells) if tagged(cell, "exercise")]
    assert len(stubs) == len(IDS)
    for stub in stubs:
        solution = cells[stub + 1]
        assert tagged(solution, "solution")
        lines = {line.strip() for line in solution.source.splitlines()
                 if line.strip() and not line.strip().startswith(("def ", '"""', "#"))}
        above = "\n".join(cell.source + "".join(str(output) for output in cell.get("outputs", []))
                           for cell in cells[:stub] if not tagged(cell, "solution"))
        assert [line for line in lines if line in above] == [], cells[stub].source
    first = stubs[0]
    assert not [c for c in cells[:first] if c.cell_type == "code" and "create_graph" in c.source]
    assert not [c for c in cells[:stubs[2]] if c.cell_type == "code" and "eigh(" in c.source]


def test_each_value_exercise_has_a_problem_or_question_a_stub_of_dots_and_its_check():
    cells = notebook_cells()
    for exercise_id in ("critical.saddle_escape_change", "critical.small_gradient_meaning"):
        name = exercise_id.partition(".")[2]
        [stub] = [i for i, c in enumerate(cells) if tagged(c, "exercise") and c.source.startswith(f"{name} = ...")]
        assert tagged(cells[stub + 1], "solution") and tagged(cells[stub + 1], "remove-cell")
        assert cells[stub + 2].source == f'check("{exercise_id}", {name})' and tagged(cells[stub + 2], "check")
    prompt = [c.source for c in cells if c.source.startswith("### Exercise 5")][0]
    assert "grader gives your notebook a problem of its own" in prompt


def test_the_confirm_cell_under_the_prediction_runs_before_an_answer_is_given():
    """The book runs the notebook without the solutions: there the answer is still `...`."""
    cells = notebook_cells()
    [at] = [i for i, c in enumerate(cells) if "critical.saddle_loss(step.hessian)" in c.source]
    assert cells[at - 2].source == 'check("critical.saddle_escape_change", saddle_escape_change)'
    step = problem("critical.saddle_escape_change")
    for answer, words in [(..., "Make your prediction first"), ("a guess", "Make your prediction first"),
                          (chapter.saddle_escape_change(step), "measured change")]:
        namespace = {"torch": torch, "critical": critical, "step": step, "saddle_escape_change": answer}
        printed = []
        namespace["print"] = lambda *args, **kwargs: printed.append(" ".join(map(str, args)))
        exec(cells[at].source, namespace)
        assert words in "\n".join(printed)


def test_the_experiments_loss_has_a_critical_point_at_zero_with_the_given_hessian():
    H = torch.tensor([[1.0, 2.0, 0.0], [2.0, -1.0, 0.5], [0.0, 0.5, -3.0]], dtype=torch.float64)
    loss = critical.saddle_loss(H)
    origin = torch.zeros(3, dtype=torch.float64)
    assert torch.equal(torch.func.grad(loss)(origin), origin)
    assert torch.allclose(hs.hessian(loss, origin.clone().requires_grad_()), H)
    theta = torch.tensor([0.3, -0.2, 0.1], dtype=torch.float64)
    assert math.isclose(loss(theta).item(), 0.5 * (theta @ H @ theta).item() + 0.25 * 0.14 ** 2)
