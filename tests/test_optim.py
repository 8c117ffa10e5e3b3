"""course_utils.optim against torch.optim and against the notes' formulas."""
import copy
import math

import pytest
import torch

from course_utils import optim


def random_problem(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)).double()
    x, y = torch.randn(64, 5, dtype=torch.float64), torch.randn(64, 3, dtype=torch.float64)
    return model, x, y


def train(model, x, y, optimizer, steps):
    for step in range(steps):
        batch = slice((step * 8) % 64, (step * 8) % 64 + 8)
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(x[batch]), y[batch]).backward()
        optimizer.step()
    return torch.nn.utils.parameters_to_vector(model.parameters())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_momentum_matches_torch_sgd_with_momentum_over_200_steps(seed):
    ours_model, x, y = random_problem(seed)
    torch_model, _, _ = random_problem(seed)
    ours = train(ours_model, x, y, optim.Momentum(ours_model.parameters(), lr=0.05, momentum=0.9), 200)
    theirs = train(torch_model, x, y, torch.optim.SGD(torch_model.parameters(), lr=0.05, momentum=0.9), 200)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_momentum_movement_is_minus_eta_times_torch_velocity_at_every_step():
    """The exact relation: our m^i = −η·b^i, PyTorch's momentum_buffer b^i = λb^(i−1) + g^(i−1)."""
    ours_model, x, y = random_problem(5)
    torch_model, _, _ = random_problem(5)
    eta, lam = 0.05, 0.8
    ours = optim.Momentum(ours_model.parameters(), lr=eta, momentum=lam)
    theirs = torch.optim.SGD(torch_model.parameters(), lr=eta, momentum=lam)
    for step in range(200):
        train(ours_model, x, y, ours, 1)
        train(torch_model, x, y, theirs, 1)
        for p, q in zip(ours_model.parameters(), torch_model.parameters()):
            assert torch.allclose(ours.state[p]["movement"], -eta * theirs.state[q]["momentum_buffer"], atol=1e-9)
            assert torch.allclose(p, q, atol=1e-9)


def test_momentum_with_zero_momentum_is_sgd():
    ours_model, x, y = random_problem(6)
    sgd_model, _, _ = random_problem(6)
    ours = train(ours_model, x, y, optim.Momentum(ours_model.parameters(), lr=0.1, momentum=0.0), 50)
    sgd = train(sgd_model, x, y, optim.SGD(sgd_model.parameters(), lr=0.1), 50)
    assert torch.allclose(ours, sgd, atol=1e-12)


def test_momentum_and_torch_part_ways_when_the_learning_rate_changes():
    """Ours applies a new η to new gradients only; PyTorch's η multiplies the whole velocity."""
    grads = fixed_gradients(2, seed=7)
    ours_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    torch_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    ours = optim.Momentum([ours_theta], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([torch_theta], lr=0.1, momentum=0.9)
    feed(ours, ours_theta, grads[:1])
    feed(theirs, torch_theta, grads[:1])
    for group in ours.param_groups + theirs.param_groups:
        group["lr"] = 0.01
    feed(ours, ours_theta, grads[1:])
    feed(theirs, torch_theta, grads[1:])
    m1 = -0.1 * grads[0]
    assert torch.allclose(ours_theta.detach(), m1 + (0.9 * m1 - 0.01 * grads[1]))
    assert torch.allclose(torch_theta.detach(), -0.1 * grads[0] - 0.01 * (0.9 * grads[0] + grads[1]))
    assert not torch.allclose(ours_theta, torch_theta)


def test_momentum_skips_parameters_without_gradients_and_works_in_float32():
    used, unused = torch.ones(3, requires_grad=True), torch.ones(2, requires_grad=True)
    opt = optim.Momentum([used, unused], lr=0.5, momentum=0.9)
    used.grad = torch.ones(3)
    opt.step()
    opt.step()
    assert torch.equal(unused.detach(), torch.ones(2)) and unused not in opt.state
    assert used.dtype == torch.float32 and torch.allclose(used.detach(), torch.full((3,), 1 - 0.5 - 0.5 * 1.9))


def test_momentum_step_returns_the_closures_loss():
    theta = torch.tensor([3.0], requires_grad=True)
    opt = optim.Momentum([theta], lr=0.1, momentum=0.5)

    def closure():
        opt.zero_grad()
        loss = (theta ** 2).sum()
        loss.backward()
        return loss

    assert opt.step(closure).item() == 9.0 and theta.item() == pytest.approx(3.0 - 0.1 * 6.0)


def test_sgd_matches_torch_sgd_over_200_steps():
    ours_model, x, y = random_problem(3)
    torch_model, _, _ = random_problem(3)
    ours = train(ours_model, x, y, optim.SGD(ours_model.parameters(), lr=0.1), 200)
    theirs = train(torch_model, x, y, torch.optim.SGD(torch_model.parameters(), lr=0.1), 200)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_momentum_movement_is_the_weighted_sum_of_past_gradients():
    theta = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    opt = optim.Momentum([theta], lr=0.1, momentum=0.8)
    grads = [torch.randn(3, dtype=torch.float64, generator=torch.Generator().manual_seed(i)) for i in range(6)]
    for g in grads:
        theta.grad = g.clone()
        opt.step()
    i = len(grads)
    expected = -0.1 * sum(0.8 ** (i - 1 - j) * g for j, g in enumerate(grads))
    assert torch.allclose(opt.state[theta]["movement"], expected)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": -0.1, "momentum": 0.9}, "learning rate"),
    ({"lr": float("nan"), "momentum": 0.9}, "learning rate"),
    ({"lr": 0.1, "momentum": 1.0}, "momentum"),
    ({"lr": 0.1, "momentum": 1.5}, "momentum"),
    ({"lr": 0.1, "momentum": -0.5}, "momentum"),
])
def test_bad_hyperparameters_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.Momentum([torch.zeros(2, requires_grad=True)], **kwargs)


@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, lr=0.1), lambda p: optim.Momentum(p, lr=0.1, momentum=0.9)])
def test_an_empty_parameter_list_raises_value_error(make):
    with pytest.raises(ValueError, match="empty"):
        make([])
    with pytest.raises(ValueError, match="empty"):
        make(torch.nn.ReLU().parameters())


def test_sgd_refuses_a_negative_learning_rate():
    with pytest.raises(ValueError, match="learning rate"):
        optim.SGD([torch.zeros(2, requires_grad=True)], lr=-1.0)


def fixed_gradients(n_steps, shape=(4,), seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(shape, dtype=torch.float64, generator=generator) for _ in range(n_steps)]


def feed(optimizer, theta, grads):
    for g in grads:
        theta.grad = g.clone()
        optimizer.step()


# ---------------------------------------------------------------------------- AdaGrad, RMSProp, Adam

BOTH_PATHS = pytest.mark.parametrize("foreach", [False, True], ids=["one-tensor-at-a-time", "foreach"])


@BOTH_PATHS
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_matches_torch_adam_over_200_steps(seed, foreach):
    ours_model, x, y = random_problem(seed)
    torch_model, _, _ = random_problem(seed)
    ours = train(ours_model, x, y, optim.Adam(ours_model.parameters(), lr=1e-2, betas=(0.8, 0.99), foreach=foreach), 200)
    theirs = train(torch_model, x, y, torch.optim.Adam(torch_model.parameters(), lr=1e-2, betas=(0.8, 0.99)), 200)
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-6)


def test_adam_matches_torch_adam_in_float32_with_default_settings_and_a_schedule():
    torch.manual_seed(5)
    ours_model = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    torch_model = copy.deepcopy(ours_model)
    x, y = torch.randn(64, 5), torch.randn(64, 3)
    results = []
    for model, opt in [(ours_model, optim.Adam(ours_model.parameters())), (torch_model, torch.optim.Adam(torch_model.parameters()))]:
        scheduler = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / 20))   # warm-up
        for step in range(200):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            scheduler.step()
        results.append(torch.nn.utils.parameters_to_vector(model.parameters()))
    assert torch.allclose(*results, rtol=0, atol=1e-6)


def test_adam_bias_correction_makes_the_first_step_eta_times_the_sign_of_the_gradient():
    theta = torch.zeros(5, dtype=torch.float64, requires_grad=True)
    g = torch.tensor([3.0, -0.001, 250.0, -7.0, 0.5], dtype=torch.float64)
    feed(optim.Adam([theta], lr=0.1, eps=1e-12), theta, [g])
    assert torch.allclose(theta.detach(), -0.1 * g.sign())


def test_adam_state_holds_m_v_and_the_step_count_as_pytorch_counts():
    grads = fixed_gradients(3)
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = optim.Adam([theta], lr=0.1, betas=(0.5, 0.75))
    feed(opt, theta, grads)
    state = opt.state[theta]
    assert state["step"] == 3
    assert torch.allclose(state["m"], 0.5 * (0.5 * 0.5 * grads[0] + 0.5 * grads[1]) + 0.5 * grads[2])
    assert torch.allclose(state["v"], 0.75 * (0.75 * 0.25 * grads[0] ** 2 + 0.25 * grads[1] ** 2) + 0.25 * grads[2] ** 2)


@BOTH_PATHS
def test_adagrad_equals_torch_adagrad_with_eta_and_eps_scaled_by_sqrt_t_plus_1(foreach):
    ours_model, x, y = random_problem(4)
    torch_model, _, _ = random_problem(4)
    eta, eps = 0.01, 1e-3             # an ε large enough to matter: it must be scaled too
    ours = train(ours_model, x, y, optim.AdaGrad(ours_model.parameters(), lr=eta, eps=eps, foreach=foreach), 200)
    theirs_opt = torch.optim.Adagrad(torch_model.parameters(), lr=eta, eps=eps)
    for step in range(200):
        theirs_opt.param_groups[0].update(lr=eta * math.sqrt(step + 1), eps=eps * math.sqrt(step + 1))
        batch = slice((step * 8) % 64, (step * 8) % 64 + 8)
        theirs_opt.zero_grad()
        torch.nn.functional.mse_loss(torch_model(x[batch]), y[batch]).backward()
        theirs_opt.step()
    theirs = torch.nn.utils.parameters_to_vector(torch_model.parameters())
    assert torch.allclose(ours, theirs, rtol=0, atol=1e-6)
    plain_torch_model, _, _ = random_problem(4)    # without the scaling they part ways
    plain = train(plain_torch_model, x, y, torch.optim.Adagrad(plain_torch_model.parameters(), lr=eta, eps=eps), 200)
    assert not torch.allclose(ours, plain, atol=1e-3)


@BOTH_PATHS
def test_adagrad_divides_by_the_root_mean_square_of_past_gradients(foreach):
    grads = fixed_gradients(4)
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = optim.AdaGrad([theta], lr=0.1, eps=1e-12, foreach=foreach)
    feed(opt, theta, grads[:3])
    before = theta.detach().clone()
    feed(opt, theta, grads[3:])
    sigma = torch.stack([g ** 2 for g in grads]).mean(0).sqrt()   # the mean, not the sum
    assert torch.allclose(theta.detach() - before, -0.1 * grads[3] / sigma)
    assert opt.state[theta]["count"] == 4


@BOTH_PATHS
def test_rmsprop_starts_from_the_first_gradient_and_differs_from_torch_by_alpha_power_t_plus_1(foreach):
    alpha, grads = 0.9, fixed_gradients(30, seed=5)
    ours_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    torch_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    ours = optim.RMSProp([ours_theta], lr=0.01, alpha=alpha, foreach=foreach)
    theirs = torch.optim.RMSprop([torch_theta], lr=0.01, alpha=alpha)
    feed(ours, ours_theta, grads[:1])
    assert torch.allclose(ours_theta.detach(), -0.01 * grads[0] / (grads[0].abs() + 1e-8))  # first step: size η
    feed(theirs, torch_theta, grads[:1])
    assert torch.allclose(torch_theta.detach(), ours_theta.detach() / math.sqrt(1 - alpha), rtol=1e-6)  # theirs: 1/√(1−α) larger
    feed(ours, ours_theta, grads[1:])
    feed(theirs, torch_theta, grads[1:])
    t = len(grads) - 1
    difference = ours.state[ours_theta]["square_avg"] - theirs.state[torch_theta]["square_avg"]
    assert torch.allclose(difference, alpha ** (t + 1) * grads[0] ** 2)


def test_rmsprop_follows_the_notes_recursion():
    alpha, grads = 0.6, fixed_gradients(5, seed=9)
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = optim.RMSProp([theta], lr=0.2, alpha=alpha, eps=1e-12)
    expected, sigma = torch.zeros(4, dtype=torch.float64), grads[0].abs()
    for t, g in enumerate(grads):
        if t > 0:
            sigma = torch.sqrt(alpha * sigma ** 2 + (1 - alpha) * g ** 2)
        expected = expected - 0.2 * g / sigma
    feed(opt, theta, grads)
    assert torch.allclose(theta.detach(), expected)


@pytest.mark.parametrize("make", [lambda p: optim.AdaGrad(p, lr=0.1), lambda p: optim.RMSProp(p, lr=0.1),
                                  lambda p: optim.Adam(p, lr=0.1)], ids=["AdaGrad", "RMSProp", "Adam"])
def test_adaptive_steps_skip_parameters_without_gradients_and_allocate_one_buffer_once(make):
    used = [torch.ones(3, requires_grad=True), torch.ones(2, 2, requires_grad=True)]
    unused = torch.ones(2, requires_grad=True)
    opt = make(used + [unused])
    for p in used:
        p.grad = torch.ones_like(p)
    opt.step()
    buffer = opt._workspace[(torch.device("cpu"), torch.float32)]
    for _ in range(3):
        opt.step()
    assert opt._workspace[(torch.device("cpu"), torch.float32)] is buffer and buffer.numel() == 4   # the largest tensor
    assert torch.equal(unused.detach(), torch.ones(2)) and unused not in opt.state
    assert all(torch.isfinite(p).all() and (p < 1).all() for p in used)
    assert "_workspace" not in str(opt.state_dict())


@pytest.mark.parametrize("make", [lambda p: optim.AdaGrad(p, lr=0.1), lambda p: optim.RMSProp(p, lr=0.1),
                                  lambda p: optim.Adam(p, lr=0.1)], ids=["AdaGrad", "RMSProp", "Adam"])
def test_adaptive_optimisers_handle_mixed_dtypes_and_parameters_that_join_late(make):
    a, b = torch.ones(3, dtype=torch.float64, requires_grad=True), torch.ones(2, requires_grad=True)
    opt, reference = make([a, b]), make([torch.ones(2, requires_grad=True)])
    a.grad = torch.full((3,), 2.0, dtype=torch.float64)
    opt.step()                                   # b has no gradient yet
    b.grad = torch.full((2,), 2.0)
    opt.step()                                   # b's first step
    reference.param_groups[0]["params"][0].grad = torch.full((2,), 2.0)
    reference.step()
    assert torch.allclose(b.detach(), reference.param_groups[0]["params"][0].detach())


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.Adam(p, lr=0.0), "learning rate"),
    (lambda p: optim.Adam(p, lr=-1e-3), "learning rate"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(1.0, 0.999)), "β₁"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(0.9, -0.1)), "β₂"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(0.9, 1.0)), "β₂"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(0.9,)), "pair"),
    (lambda p: optim.Adam(p, lr=1e-3, eps=0.0), "eps"),
    (lambda p: optim.RMSProp(p, lr=1e-3, alpha=1.5), "α"),
    (lambda p: optim.RMSProp(p, lr=0.0), "learning rate"),
    (lambda p: optim.RMSProp(p, lr=1e-3, eps=-1e-8), "eps"),
    (lambda p: optim.AdaGrad(p, lr=1e-3, eps=-1.0), "eps"),
    (lambda p: optim.AdaGrad(p, lr=-0.5), "learning rate"),
])
def test_adaptive_optimisers_refuse_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([torch.zeros(2, requires_grad=True)])


@pytest.mark.parametrize("make", [lambda p: optim.AdaGrad(p, lr=0.1), lambda p: optim.RMSProp(p, lr=0.1),
                                  lambda p: optim.Adam(p, lr=0.1)], ids=["AdaGrad", "RMSProp", "Adam"])
def test_adaptive_optimisers_refuse_an_empty_parameter_list(make):
    with pytest.raises(ValueError, match="empty"):
        make([])
