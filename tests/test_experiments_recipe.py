"""Chapter 0's experiments (course_utils.experiments.recipe), each against an independent computation."""
import math

import numpy as np
import pytest
import torch
from torch import nn

from course_utils.experiments import recipe

F64 = torch.float64


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: one thread is quicker, and immune to a busy machine's second core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_hard_sigmoid_is_a_ramp_clamped_between_zero_and_c():
    x = torch.linspace(-5, 5, 101, dtype=F64)
    c, b, w = 1.7, 0.3, -1.2
    expected = c * torch.clamp(b + w * x, 0, 1)
    assert torch.allclose(recipe.hard_sigmoid(x, c, b, w), expected)


def test_two_relus_make_one_hard_sigmoid():
    x = torch.linspace(-5, 5, 101, dtype=F64)
    c, b, w = -0.8, 1.0, 2.0
    two_relus = c * torch.relu(b + w * x) - c * torch.relu(b + w * x - 1)
    assert torch.allclose(recipe.hard_sigmoid(x, c, b, w), two_relus)


def test_mse_gradients_match_autograd():
    x, y = recipe.make_line_data(seed=3)
    w = torch.tensor(-0.7, dtype=F64, requires_grad=True)
    b = torch.tensor(2.1, dtype=F64, requires_grad=True)
    ((b + w * x - y) ** 2).mean().backward()
    dw, db = recipe.mse_gradients(w.detach(), b.detach(), x, y)
    assert torch.allclose(dw, w.grad) and torch.allclose(db, b.grad)


def test_linear_regression_step_matches_torch_sgd():
    x, y = recipe.make_line_data(seed=1)
    theta = torch.tensor([0.5, -1.0], dtype=F64, requires_grad=True)
    optimizer = torch.optim.SGD([theta], lr=0.3)
    w, b = theta[0].item(), theta[1].item()
    for _ in range(5):
        optimizer.zero_grad()
        ((theta[1] + theta[0] * x - y) ** 2).mean().backward()
        optimizer.step()
        w, b = recipe.linear_regression_step(w, b, x, y, 0.3)
    assert torch.allclose(torch.stack([torch.as_tensor(w), torch.as_tensor(b)]), theta.detach())


def test_linear_regression_steps_reach_least_squares_line():
    x, y = recipe.make_line_data()
    w, b = 0.0, 0.0
    for _ in range(2000):
        w, b = recipe.linear_regression_step(w, b, x, y, 0.3)
    w_ls, b_ls = np.polyfit(x.numpy(), y.numpy(), 1)
    assert float(w) == pytest.approx(w_ls, abs=1e-6) and float(b) == pytest.approx(b_ls, abs=1e-6)


def _two_layer(W, b_hidden, c, b, activation):
    net = nn.Sequential(nn.Linear(W.shape[1], W.shape[0], dtype=F64), activation(), nn.Linear(W.shape[0], 1, dtype=F64))
    with torch.no_grad():
        net[0].weight.copy_(W)
        net[0].bias.copy_(b_hidden)
        net[2].weight.copy_(c.reshape(1, -1))
        net[2].bias.fill_(b)
    return net


@pytest.mark.parametrize("model, activation", [(recipe.sigmoid_model, nn.Sigmoid), (recipe.relu_model, nn.ReLU)])
def test_matrix_form_matches_torch_layers(model, activation):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(7, 3, generator=g, dtype=F64)
    W, b_hidden, c = (torch.randn(*s, generator=g, dtype=F64) for s in [(5, 3), (5,), (5,)])
    b = 0.4
    expected = _two_layer(W, b_hidden, c, b, activation)(x).squeeze(1)
    assert torch.allclose(model(x, W, b_hidden, c, b), expected)


def test_sigmoid_model_is_the_notes_double_sum():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=g, dtype=F64)
    W, b_hidden, c = torch.randn(2, 3, generator=g, dtype=F64), torch.randn(2, generator=g, dtype=F64), torch.randn(2, generator=g, dtype=F64)
    loops = [0.1 + sum(c[i] * 1 / (1 + math.exp(-(b_hidden[i] + sum(W[i, j] * x[n, j] for j in range(3))))) for i in range(2))
             for n in range(4)]
    assert torch.allclose(recipe.sigmoid_model(x, W, b_hidden, c, 0.1), torch.tensor(loops, dtype=F64))


@pytest.mark.parametrize("n, batch_size", [(1000, 1), (1000, 32), (1000, 1000), (10, 4), (0, 3), (7, 10)])
@pytest.mark.parametrize("drop_last", [False, True])
def test_updates_per_epoch_equals_dataloader_length(n, batch_size, drop_last):
    loader = torch.utils.data.DataLoader(range(n), batch_size=batch_size, drop_last=drop_last)
    assert recipe.updates_per_epoch(n, batch_size, drop_last) == len(loader)


@pytest.mark.parametrize("n, batch_size", [(-1, 4), (10, 0)])
def test_updates_per_epoch_rejects_impossible_sizes(n, batch_size):
    with pytest.raises(ValueError):
        recipe.updates_per_epoch(n, batch_size)


def test_piecewise_linear_equals_numpy_interp():
    knots_x, knots_y = [-2.0, -0.5, 1.0, 2.5], [1.0, -1.0, 0.5, 0.0]
    x = torch.linspace(-4, 4, 161, dtype=F64)
    expected = np.interp(x.numpy(), knots_x, knots_y)
    assert np.allclose(recipe.piecewise_linear(x, knots_x, knots_y).numpy(), expected)


def test_hard_sigmoid_pieces_rebuild_the_curve():
    knots_x, knots_y = torch.tensor([0.0, 1.0, 3.0], dtype=F64), torch.tensor([2.0, 0.0, 1.0], dtype=F64)
    constant, c, b, w = recipe.hard_sigmoid_pieces(knots_x, knots_y)
    assert constant == 2.0 and torch.allclose(c, torch.tensor([-2.0, 1.0], dtype=F64))
    x = torch.linspace(-1, 4, 51, dtype=F64)
    rebuilt = constant + sum(recipe.hard_sigmoid(x, ci, bi, wi) for ci, bi, wi in zip(c, b, w))
    assert np.allclose(rebuilt.numpy(), np.interp(x.numpy(), knots_x.numpy(), knots_y.numpy()))


def test_hard_sigmoid_pieces_reject_unordered_knots():
    with pytest.raises(ValueError):
        recipe.hard_sigmoid_pieces([0.0, 2.0, 1.0], [0.0, 1.0, 2.0])


def test_matching_sigmoid_has_the_hard_sigmoids_centre_height_and_slope():
    c, b, w = 1.5, -0.5, 2.0
    cs, bs, ws = recipe.matching_sigmoid(c, b, w)
    centre = torch.tensor((0.5 - b) / w, dtype=F64, requires_grad=True)
    y = recipe.sigmoid_curve(centre, cs, bs, ws)
    (slope,) = torch.autograd.grad(y, centre)
    assert y.item() == pytest.approx(c / 2) and slope.item() == pytest.approx(c * w)
    assert recipe.sigmoid_curve(torch.tensor(100.0, dtype=F64), cs, bs, ws).item() == pytest.approx(c)


def test_fixed_units_shapes_and_relu_pairs_are_hard_sigmoids():
    x = torch.linspace(-3, 3, 61, dtype=F64)
    hard = recipe.fixed_units(x, 5, "hard sigmoid", (-3, 3))
    relu = recipe.fixed_units(x, 5, "ReLU", (-3, 3))
    assert hard.shape == (61, 5) and relu.shape == (61, 10)
    assert torch.allclose(relu[:, :5] - relu[:, 5:], hard)
    with pytest.raises(ValueError):
        recipe.fixed_units(x, 5, "tanh", (-3, 3))


def test_fit_output_layer_recovers_known_coefficients():
    x = torch.linspace(-3, 3, 101, dtype=F64)
    units = recipe.fixed_units(x, 4, "sigmoid", (-3, 3))
    c_true = torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=F64)
    c, b = recipe.fit_output_layer(units, 0.7 + units @ c_true)
    assert torch.allclose(c, c_true) and b.item() == pytest.approx(0.7)


@pytest.mark.parametrize("activation", ["hard sigmoid", "sigmoid", "ReLU"])
def test_more_pieces_fit_a_curve_better(activation):
    x = torch.linspace(-3, 3, 241, dtype=F64)
    y = recipe.target_curve(x)
    errors = []
    for n in (1, 3, 5, 7, 10, 14, 20):
        units = recipe.fixed_units(x, n, activation, (-3, 3))
        c, b = recipe.fit_output_layer(units, y)
        errors.append(((b + units @ c - y) ** 2).mean().item())
    assert all(later < earlier for earlier, later in zip(errors, errors[1:])) and errors[-1] < 1e-3


def test_batches_cover_every_example_once_and_reshuffle():
    g = torch.Generator().manual_seed(0)
    first, second = recipe.batches(10, 4, g), recipe.batches(10, 4, g)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(torch.cat(first).tolist()) == list(range(10)) == sorted(torch.cat(second).tolist())
    assert not torch.equal(torch.cat(first), torch.cat(second))


def test_make_curve_data_is_seeded_and_stays_in_range():
    x, y = recipe.make_curve_data(50, (1.0, 2.0), 0.0, seed=4)
    x2, y2 = recipe.make_curve_data(50, (1.0, 2.0), 0.0, seed=4)
    assert x.shape == (50, 1) and y.shape == (50,) and x.dtype == F64
    assert torch.equal(x, x2) and ((x >= 1) & (x <= 2)).all()
    assert torch.allclose(y, recipe.target_curve(x).squeeze(1))


def test_network_is_seeded_without_touching_the_global_random_state():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = recipe.network(2, 8, seed=5), recipe.network(2, 8, seed=5)
    assert torch.rand(1) == before
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert len(recipe.network(0, 1)) == 1  # no hidden layer: the line y = b + w·x


def test_train_lowers_the_loss_and_repeats_exactly():
    x, y = recipe.make_curve_data(100, seed=0)
    validation = recipe.make_curve_data(100, seed=1)
    runs = [recipe.train(recipe.network(1, 16, seed=0), x, y, 20, 10, 0.05, validation, seed=0) for _ in range(2)]
    history = runs[0].history
    assert len(history["train"]) == len(history["validation"]) == 21 and runs[0].updates[-1] == 20 * 10
    assert history["train"][-1] < 0.5 * history["train"][0]
    assert runs[0].history == runs[1].history


def test_train_with_full_batch_is_gradient_descent():
    x, y = recipe.make_line_data()
    model = recipe.network(0, 1, seed=0)
    w, b = model[0].weight.item(), model[0].bias.item()
    recipe.train(model, x.reshape(-1, 1), y, epochs=3, batch_size=len(x), learning_rate=0.1)
    for _ in range(3):
        w, b = recipe.linear_regression_step(w, b, x, y, 0.1)
    assert model[0].weight.item() == pytest.approx(float(w)) and model[0].bias.item() == pytest.approx(float(b))


# --- The practical guide: each experiment shows its effect, for several seeds ----------------

@pytest.mark.parametrize("seed", [0, 1])
def test_model_bias_linear_model_is_stuck_at_the_best_line(seed):
    linear, net = recipe.model_bias(seed)
    assert linear.train_loss == pytest.approx(recipe.best_line_loss(linear.x, linear.y), abs=0.01)
    assert net.train_loss < 0.5 * linear.train_loss
    assert linear.validation_loss == pytest.approx(linear.train_loss, rel=0.2)


@pytest.mark.parametrize("seed", [0, 1])
def test_deeper_plain_network_has_larger_training_loss(seed):
    shallow, deep = recipe.optimisation_failure(seed)
    assert deep.train_loss > 3 * shallow.train_loss
    assert deep.train_loss == pytest.approx(deep.y.var(unbiased=False).item(), rel=0.05)  # no better than a constant
    assert recipe.first_layer_gradient(recipe.network(10, 16), deep.x, deep.y) < 1e-3 * recipe.first_layer_gradient(
        recipe.network(2, 16), deep.x, deep.y)


@pytest.mark.parametrize("seed", [0, 1])
def test_overfitting_is_cured_by_more_data(seed):
    few, many = recipe.overfitting(seed)
    assert few.train_loss < 0.5 * few.validation_loss
    assert many.validation_loss < 0.7 * few.validation_loss
    assert many.validation_loss == pytest.approx(many.train_loss, rel=0.35)


@pytest.mark.parametrize("seed", [0, 1])
def test_mismatch_is_not_cured_by_more_data(seed):
    runs, test_losses = recipe.mismatch(seed)
    for run, test_loss in zip(runs, test_losses):
        assert run.validation_loss < 0.3 and test_loss > 10 * run.validation_loss


def test_he_initialisation_draws_weights_of_variance_2_over_fan_in_and_zero_biases():
    model = recipe.deep_network(3, width=400, init="he", seed=0)
    hidden = model[2]
    assert hidden.weight.var().item() == pytest.approx(2 / 400, rel=0.05)
    assert all((layer.bias == 0).all() for layer in model if isinstance(layer, torch.nn.Linear))
    default = recipe.deep_network(3, width=400, seed=0)[2]
    assert default.weight.var().item() == pytest.approx(1 / (3 * 400), rel=0.05)  # PyTorch's U(±1/√fan_in)


def test_layer_signals_and_gradients_have_one_entry_per_layer_and_match_autograd():
    x, y = recipe.make_curve_data(50, seed=3)
    model = recipe.deep_network(4, seed=3)
    assert len(recipe.layer_signals(model, x)) == 4
    gradients = recipe.layer_gradients(model, x, y)
    assert len(gradients) == 5 and gradients[0] == recipe.first_layer_gradient(model, x, y)
    h = torch.relu(model[0](x))
    assert recipe.layer_signals(model, x)[0] == pytest.approx(h.var(dim=0, unbiased=False).mean().sqrt().item())
