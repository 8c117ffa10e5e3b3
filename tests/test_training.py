"""course_utils.training: the one training loop (fit), its run record and accuracy."""
import pytest
import torch
from torch import nn

from course_utils.batchnorm import BatchNorm1d
from course_utils.training import accuracy, classifier, fit, mean_loss


def _problem(seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(40, 3, generator=g, dtype=torch.float64)
    y = (x[:, 0] > 0).long()
    torch.manual_seed(seed)
    return nn.Linear(3, 2).double(), x, y


def test_fit_makes_one_sgd_update_per_batch_as_a_hand_written_loop_does():
    model, x, y = _problem()
    twin, _, _ = _problem()
    batches = [torch.arange(i, i + 8) for i in range(0, 40, 8)] * 3
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.5), nn.functional.cross_entropy, x, y, batches,
              {"loss": lambda m: nn.functional.cross_entropy(m(x), y).item()}, record_at=lambda t: t % 5 == 0)
    optimizer = torch.optim.SGD(twin.parameters(), lr=0.5)
    for batch in batches:
        optimizer.zero_grad()
        nn.functional.cross_entropy(twin(x[batch]), y[batch]).backward()
        optimizer.step()
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))
    assert run.updates == [0, 5, 10, 15] and len(run.history["loss"]) == 4 and not run.diverged
    assert run.history["loss"][-1] < run.history["loss"][0]


def test_fit_records_the_end_once_and_stops_when_asked():
    model, x, y = _problem()
    batches = [torch.arange(0, 40)] * 7
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy, x, y, batches,
              {"updates seen": lambda m: None}, record_at=lambda t: t % 3 == 0)
    assert run.updates == [0, 3, 6, 7]
    stopped = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy, x, y, batches,
                  {}, record_at=lambda t: True, stop=lambda run: run.updates[-1] == 2)
    assert stopped.updates == [0, 1, 2]


def test_fit_stops_at_a_loss_that_is_not_finite_and_says_the_run_diverged():
    model, x, y = _problem()
    x[30] = float("nan")                                  # the fourth batch's loss is NaN
    before = [p.detach().clone() for p in model.parameters()]
    batches = [torch.arange(i, i + 10) for i in range(0, 40, 10)] + [torch.arange(10)]
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.1), nn.functional.cross_entropy, x, y, batches,
              {}, record_at=lambda t: True)
    assert run.diverged and run.updates == [0, 1, 2, 3]
    assert all(torch.isfinite(p).all() and not torch.equal(p, b) for p, b in zip(model.parameters(), before))


def test_fit_steps_the_scheduler_after_every_update_and_shows_each_batch_to_on_step():
    model, x, y = _problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda t: 1 / (t + 1))
    seen = []
    fit(model, optimizer, nn.functional.cross_entropy, x, y, [torch.arange(4), torch.arange(5), torch.arange(6)], {},
        scheduler=scheduler, on_step=lambda m, xb, yb, t: seen.append((t, len(xb))))
    assert optimizer.param_groups[0]["lr"] == pytest.approx(1 / 4) and seen == [(1, 4), (2, 5), (3, 6)]


def test_on_step_and_record_at_count_updates_alike_from_1():
    """on_step's update t sees the model that record_at's t − 1 recorded: both count updates from 1."""
    model, x, y = _problem()
    weights = lambda m: m.weight.detach().clone()                     # noqa: E731
    before = {}
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.5), nn.functional.cross_entropy, x, y,
              [torch.arange(i, i + 8) for i in range(0, 40, 8)], {"weights": weights},
              record_at=lambda t: True, on_step=lambda m, xb, yb, t: before.setdefault(t, weights(m)))
    assert run.updates == [0, 1, 2, 3, 4, 5] and sorted(before) == [1, 2, 3, 4, 5]
    assert all(torch.equal(before[t], run.history["weights"][t - 1]) for t in before)


def test_run_keeps_the_data_and_reads_its_record():
    model, x, y = _problem()
    run = fit(model, torch.optim.SGD(model.parameters(), lr=0.5), nn.functional.cross_entropy, x, y,
              [torch.arange(40)] * 4, {"train": lambda m: mean_loss(m, x, y), "accuracy": lambda m: accuracy(m, x, y)},
              record_at=lambda t: t % 2 == 0, name="full batch")
    assert run.name == "full batch" and run.x is x and run.y is y and run.updates == [0, 2, 4]
    assert run.train_loss == run.history["train"][-1] < run.history["train"][0]
    first = next(t for t, a in zip(run.updates, run.history["accuracy"]) if a >= 0.9)
    assert run.updates_to("accuracy", 0.9) == first and run.updates_to("accuracy", 1.1) is None
    with pytest.raises(KeyError, match=r"recorded \['accuracy', 'train'\], not 'validation'"):
        run.validation_loss
    run.diverged = True
    assert run.train_loss == float("inf")                          # it ended above every record


def test_classifier_is_linear_relu_linear_seeded_and_mean_loss_is_the_full_cross_entropy():
    model, again = classifier(5, 3, width=7, seed=4), classifier(5, 3, width=7, seed=4)
    assert [type(layer) for layer in model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert (model[0].in_features, model[0].out_features, model[2].out_features) == (5, 7, 3)
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), again.parameters()))
    x, y = torch.randn(9, 5), torch.tensor([0, 1, 2] * 3)
    assert mean_loss(model, x, y) == pytest.approx(nn.functional.cross_entropy(model(x), y).item())
    assert mean_loss(model, x, y, lambda out, y: out.sum() * 0) == 0.0


def test_accuracy_measures_in_evaluation_mode_and_leaves_the_mode_as_it_was():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), BatchNorm1d(4), nn.Linear(4, 2)).double()
    x = torch.randn(10, 3, dtype=torch.float64)
    y = torch.zeros(10, dtype=torch.long)
    model.eval()
    expected = (model(x).argmax(dim=1) == y).double().mean().item()
    model.train()
    assert accuracy(model, x, y) == expected and model.training
