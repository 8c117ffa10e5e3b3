"""course_utils.optim against torch.optim and against the notes' formulas."""
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


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_matches_torch_adam_over_200_steps(seed):
    ours_model, x, y = random_problem(seed)
    torch_model, _, _ = random_problem(seed)
    ours = train(ours_model, x, y, optim.Adam(ours_model.parameters(), lr=1e-2, betas=(0.8, 0.99)), 200)
    theirs = train(torch_model, x, y, torch.optim.Adam(torch_model.parameters(), lr=1e-2, betas=(0.8, 0.99)), 200)
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_adagrad_equals_torch_adagrad_with_learning_rate_scaled_by_sqrt_t_plus_1():
    ours_model, x, y = random_problem(4)
    torch_model, _, _ = random_problem(4)
    eta = 0.01
    ours = train(ours_model, x, y, optim.AdaGrad(ours_model.parameters(), lr=eta, eps=1e-12), 200)
    theirs_opt = torch.optim.Adagrad(torch_model.parameters(), lr=eta, eps=1e-12)
    scheduler = torch.optim.lr_scheduler.LambdaLR(theirs_opt, lambda t: math.sqrt(t + 1))
    for step in range(200):
        batch = slice((step * 8) % 64, (step * 8) % 64 + 8)
        theirs_opt.zero_grad()
        torch.nn.functional.mse_loss(torch_model(x[batch]), y[batch]).backward()
        theirs_opt.step()
        scheduler.step()
    theirs = torch.nn.utils.parameters_to_vector(torch_model.parameters())
    assert torch.allclose(ours, theirs, atol=1e-6)


def test_adagrad_divides_by_the_root_mean_square_of_past_gradients():
    grads = fixed_gradients(4)
    theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    opt = optim.AdaGrad([theta], lr=0.1, eps=1e-12)
    feed(opt, theta, grads[:3])
    before = theta.detach().clone()
    feed(opt, theta, grads[3:])
    sigma = torch.stack([g ** 2 for g in grads]).mean(0).sqrt()   # the mean, not the sum
    assert torch.allclose(theta.detach() - before, -0.1 * grads[3] / sigma)


def test_rmsprop_starts_from_the_first_gradient_and_differs_from_torch_by_alpha_power_t_plus_1():
    alpha, grads = 0.9, fixed_gradients(30, seed=5)
    ours_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    torch_theta = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    ours, theirs = optim.RMSProp([ours_theta], lr=0.01, alpha=alpha), torch.optim.RMSprop([torch_theta], lr=0.01, alpha=alpha)
    feed(ours, ours_theta, grads[:1])
    assert torch.allclose(ours_theta.detach(), -0.01 * grads[0] / (grads[0].abs() + 1e-8))  # first step: size η
    feed(theirs, torch_theta, grads[:1])
    feed(ours, ours_theta, grads[1:])
    feed(theirs, torch_theta, grads[1:])
    t = len(grads) - 1
    difference = ours.state[ours_theta]["square_avg"] - theirs.state[torch_theta]["square_avg"]
    assert torch.allclose(difference, alpha ** (t + 1) * grads[0] ** 2)


@pytest.mark.parametrize("make, message", [
    (lambda p: optim.Adam(p, lr=0.0), "learning rate"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(1.0, 0.999)), "β₁"),
    (lambda p: optim.Adam(p, lr=1e-3, betas=(0.9, -0.1)), "β₂"),
    (lambda p: optim.Adam(p, lr=1e-3, eps=0.0), "eps"),
    (lambda p: optim.RMSProp(p, lr=1e-3, alpha=1.5), "α"),
    (lambda p: optim.AdaGrad(p, lr=1e-3, eps=-1.0), "eps"),
])
def test_adaptive_optimisers_refuse_bad_hyperparameters(make, message):
    with pytest.raises(ValueError, match=message):
        make([torch.zeros(2, requires_grad=True)])
