"""Chapter 1's exercises beyond what tests/test_check.py checks for every exercise of the course
(each reference passes, each declared mistake gets its hint): answers a student may give
that the declared mistakes do not cover."""
import torch

from course_utils import hessian as hs
from course_utils.exercises import all_exercises, check
from course_utils.exercises.chapters import critical as chapter

IDS = ["critical.product_hessian", "critical.critical_point_kind", "critical.escape_direction",
       "critical.minimum_ratio"]


def verdict(capsys, *args):
    result = check(*args)
    printed = capsys.readouterr().out
    assert printed == result.message + "\n" and "Traceback" not in printed
    return result, printed


def test_chapter_1_declares_its_four_exercises_for_its_notebook():
    assert [i for i in all_exercises() if i.startswith("critical.")] == IDS
    assert chapter.NOTEBOOK == "01_critical_points"


def test_product_hessian_reference_equals_the_notes_saddle_and_the_library_hessian():
    H = chapter.product_hessian(0.0, 0.0, 1.0, 1.0)
    assert torch.equal(H, torch.tensor([[0.0, -2.0], [-2.0, 0.0]], dtype=torch.float64))
    loss = lambda t: (0.3 - t[0] * t[1] * 1.7) ** 2  # noqa: E731
    theta = torch.tensor([0.4, -1.2], dtype=torch.float64, requires_grad=True)
    assert torch.allclose(chapter.product_hessian(0.4, -1.2, 1.7, 0.3), hs.hessian(loss, theta))


def test_a_float32_hessian_is_told_about_the_dtype(capsys):
    def product_hessian(w1, w2, x, y_hat):
        return chapter.product_hessian(w1, w2, x, y_hat).float()

    result, printed = verdict(capsys, "critical.product_hessian", product_hessian)
    assert not result.passed and "float64" in printed


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
    result, printed = verdict(capsys, "critical.minimum_ratio", lambda H: (torch.linalg.eigvalsh(H) > 0).double().mean())
    assert not result.passed and "flat" in printed

