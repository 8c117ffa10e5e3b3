"""course_utils.optim against torch.optim and against the notes' formulas."""
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
    ({"lr": 0.1, "momentum": 1.0}, "momentum"),
    ({"lr": 0.1, "momentum": -0.5}, "momentum"),
])
def test_bad_hyperparameters_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.Momentum([torch.zeros(2, requires_grad=True)], **kwargs)


def test_an_empty_parameter_list_raises_value_error():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([], lr=0.1)
