import pytest
import torch

from course_utils.data import digits


def test_digits_split_is_seeded_disjoint_and_standardized():
    a, b = digits(seed=3), digits(seed=3)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_val, b.y_val)
    assert a.x_train.shape[1] == 64 and a.n_classes == 10
    assert len(a.x_train) + len(a.x_val) == 1797
    assert abs(len(a.x_val) - 0.25 * 1797) < 1
    mean = a.x_train.mean(0)
    assert mean.abs().max() < 1e-4
    assert not torch.equal(digits(seed=4).y_val, a.y_val)


def test_digits_rejects_a_bad_fraction():
    with pytest.raises(ValueError, match="val_fraction"):
        digits(val_fraction=1.5)
