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


@pytest.mark.parametrize("call, message", [
    (lambda: sch.warmup_cosine(0, lr=1.0, total=10, warmup=20), "shorter than the run"),
    (lambda: sch.warmup_cosine(0, lr=-1.0, total=10, warmup=2), "> 0"),
    (lambda: sch.warmup_cosine(-1, lr=1.0, total=10, warmup=2), "counts from 0"),
    (lambda: sch.warmup_cosine(0, lr=1.0, total=10, warmup=2, lr_min=2.0), "lr_min"),
    (lambda: sch.cosine_decay(0, lr=1.0, total=0), "at least one step"),
    (lambda: sch.step_decay(0, lr=1.0, gamma=1.5), "γ"),
    (lambda: sch.step_decay(0, lr=1.0, gamma=0.5, every=0), "every"),
    (lambda: sch.exponential_decay(0, lr=1.0, gamma=0.0), "γ"),
    (lambda: sch.exponential_decay(0, lr=0.0), "> 0"),
    (lambda: sch.inverse_sqrt_warmup(-3, d_model=8, warmup=10), "counts from 0"),
])
def test_more_bad_settings_raise_value_errors_that_name_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_warmup_cosine_holds_the_minimum_after_the_run_and_starts_above_zero():
    assert sch.warmup_cosine(0, lr=0.5, total=100, warmup=10) == pytest.approx(0.05)
    assert sch.warmup_cosine(500, lr=0.5, total=100, warmup=10, lr_min=0.01) == pytest.approx(0.01)
    assert sch.warmup_cosine(0, lr=0.5, total=100, warmup=0) == pytest.approx(0.5)   # no warm-up: cosine alone


def test_step_and_exponential_decay_agree_with_torch_schedulers():
    for make, ours in [
        (lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), lambda t: sch.step_decay(t, 0.2, 0.5, 7)),
        (lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), lambda t: sch.exponential_decay(t, 0.2, 0.9)),
        (lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=30, eta_min=0.01),
         lambda t: sch.cosine_decay(t, 0.2, 30, lr_min=0.01)),
    ]:
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.2)
        scheduler, seen = make(opt), []
        for _ in range(30):
            seen.append(opt.param_groups[0]["lr"])
            opt.step()
            scheduler.step()
        assert seen == pytest.approx([ours(t) for t in range(30)])
