"""course_utils.schedules: values at known steps, torch integration, bad input."""
import math

import pytest
import torch

from course_utils import schedules as sch


def test_warmup_cosine_rises_linearly_then_decays_to_the_minimum():
    values = [sch.warmup_cosine(t, lr=1.0, total=110, warmup=10, lr_min=0.1) for t in range(110)]
    assert values[:10] == pytest.approx([(t + 1) / 10 for t in range(10)])
    assert values[10] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(values[10:], values[11:]))
    assert sch.warmup_cosine(110, lr=1.0, total=110, warmup=10, lr_min=0.1) == pytest.approx(0.1)


def test_inverse_sqrt_warmup_peaks_at_the_end_of_warmup():
    values = [sch.inverse_sqrt_warmup(t, d_model=512, warmup=100) for t in range(400)]
    assert max(range(400), key=values.__getitem__) == 99
    assert values[399] == pytest.approx(512 ** -0.5 * 400 ** -0.5)


def test_decays_match_their_formulas():
    assert sch.step_decay(65, lr=0.5, gamma=0.1, every=30) == pytest.approx(0.005)
    assert sch.exponential_decay(10, lr=2.0, gamma=0.9) == pytest.approx(2.0 * 0.9 ** 10)
    assert sch.cosine_decay(50, lr=1.0, total=100) == pytest.approx(0.5)


def test_as_scheduler_sets_the_optimizer_learning_rate_to_the_schedule():
    opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.3)
    scheduler = sch.as_scheduler(opt, lambda t: sch.warmup_cosine(t, lr=0.3, total=20, warmup=5))
    seen = []
    for _ in range(20):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    assert seen == pytest.approx([sch.warmup_cosine(t, lr=0.3, total=20, warmup=5) for t in range(20)])


@pytest.mark.parametrize("call, message", [
    (lambda: sch.warmup_cosine(0, lr=1.0, total=10, warmup=10), "shorter than the run"),
    (lambda: sch.cosine_decay(0, lr=0.0, total=10), "> 0"),
    (lambda: sch.warmup_cosine(0, lr=1.0, total=10, warmup=-1), "≥ 0"),
    (lambda: sch.inverse_sqrt_warmup(0, d_model=0, warmup=10), "d_model"),
])
def test_bad_schedules_raise_value_error(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_cosine_is_half_way_at_half_time():
    assert sch.cosine_decay(25, lr=2.0, total=50, lr_min=0.0) == pytest.approx(1.0 + math.cos(math.pi / 2))
