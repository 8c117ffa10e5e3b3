"""Chapter 5's experiments: the two-scale surface, training with and without BN, smoothness, pitfalls."""
import pytest
import torch

from course_utils.experiments import batchnorm as bx
from course_utils import surfaces
from course_utils.batchnorm import BatchNorm1d


def test_z_score_gives_each_column_mean_0_and_deviation_1():
    x, _ = bx.two_feature_data(0.1)
    z = bx.z_score(x)
    assert torch.allclose(z.mean(0), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(z.std(0, unbiased=False), torch.ones(2, dtype=torch.float64))


@pytest.mark.parametrize("normalised", [False, True])
def test_feature_surface_minimum_is_least_squares_and_the_loss_takes_a_grid(normalised):
    surface = bx.feature_surface(0.2, normalised)
    minimum = torch.tensor(surface.minimum, dtype=torch.float64)
    gradient = torch.autograd.functional.jacobian(surface.loss, minimum)
    assert gradient.abs().max() < 1e-10
    T1, _, L = surfaces.grid(surface, 7)
    assert L.shape == T1.shape and L.min() >= surface.loss(minimum) - 1e-12


def test_z_scored_surface_converges_in_far_fewer_steps_at_the_same_learning_rate():
    raw = bx.steps_to_converge(bx.feature_surface(0.1, False), 0.3)
    scored = bx.steps_to_converge(bx.feature_surface(0.1, True), 0.3)
    assert scored <= 10 and raw > 10 * scored


def test_steps_to_converge_in_chunks_equals_one_long_path():
    surface = bx.feature_surface(0.2, False)
    steps = bx.steps_to_converge(surface, 0.3)
    path = surfaces.gradient_descent(surface, bx.start_point(surface), 0.3, steps + 5)
    gap = surfaces.losses_along(surface, path) - surface.loss(torch.tensor(surface.minimum))
    first = int((gap <= 1e-3 * gap[0]).nonzero()[0])
    assert first == steps


def test_steps_to_converge_is_none_when_gradient_descent_diverges():
    assert bx.steps_to_converge(bx.feature_surface(1.0, False), 2.0) is None


def test_mlp_puts_our_batchnorm_between_linear_and_activation():
    model = bx.mlp(depth=2, width=8, batch_norm=True, activation="sigmoid")
    kinds = [type(layer).__name__ for layer in model]
    assert kinds == ["Linear", "BatchNorm1d", "Sigmoid", "Linear", "BatchNorm1d", "Sigmoid", "Linear"]
    assert isinstance(model[1], BatchNorm1d)
    with pytest.raises(ValueError, match="activation must be one of"):
        bx.mlp(activation="tanh")


def test_sorted_order_groups_the_classes_and_shuffled_is_a_permutation():
    y = torch.tensor([2, 0, 1, 0, 2, 1])
    assert y[bx.batch_order(y, "sorted", None)].tolist() == [0, 0, 1, 1, 2, 2]
    assert sorted(bx.batch_order(y, "shuffled", torch.Generator().manual_seed(0)).tolist()) == list(range(6))
    with pytest.raises(ValueError, match="'shuffled' or 'sorted'"):
        bx.batch_order(y, "random", None)


def test_training_is_deterministic_and_bn_learns_faster_at_the_base_learning_rate():
    runs = bx.ioffe_szegedy(steps=50, runs=(("without BN", False, "relu", 1), ("BN", True, "relu", 1)))
    again = bx.ioffe_szegedy(steps=50, runs=(("without BN", False, "relu", 1),))
    assert runs[0].history == again[0].history and runs[0].updates == [0, 25, 50]
    assert runs[0].validation_accuracy == runs[0].history["validation_accuracy"][-1]
    assert runs[1].validation_accuracy > runs[0].validation_accuracy + 0.2


def test_along_gradient_leaves_the_model_as_it_was_and_starts_like_a_first_order_step():
    model = bx.mlp(depth=2, width=8, batch_norm=True)
    x, y = torch.randn(16, 64), torch.randint(0, 10, (16,))
    model(x)                                  # some running statistics to keep
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = bx.along_gradient(model, x, y, [1e-4, 1e-3])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    loss = torch.nn.functional.cross_entropy(model(x), y)
    g = torch.cat([p.reshape(-1) for p in torch.autograd.grad(loss, list(model.parameters()))])
    assert seen["loss"][0] == pytest.approx(loss.item() - 1e-4 * g.norm().item() ** 2, rel=1e-4)


def test_predicting_in_training_mode_changes_nothing_without_bn_and_leaves_the_model_alone():
    split = bx.digits()
    plain = bx.mlp(batch_norm=False)
    assert bx.train_mode_accuracy(plain, split.x_val, split.y_val, 3) == pytest.approx(
        bx.accuracy(plain, split.x_val, split.y_val))
    model = bx.mlp(batch_norm=True)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    rows = bx.forgot_eval(model, split)
    assert [name for name, _ in rows][0] == "model.eval(), any batch size" and len(rows) == 5
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_a_batch_of_two_normalises_every_feature_to_plus_or_minus_one():
    out = BatchNorm1d(5, eps=0.0)(torch.randn(2, 5))
    assert torch.allclose(out.abs(), torch.ones(2, 5), atol=1e-5)
