r"""One training loop for the chapters' experiments: :func:`fit`, its record :class:`Run`, the network
most chapters train (:func:`classifier`), and two measurements (:func:`mean_loss`, :func:`accuracy`).

:func:`fit` makes one update per batch of a stream of batches (the chapter decides the stream:
shuffled epochs, one fixed order for every optimiser, batches sorted by class):

.. math:: \theta \leftarrow \operatorname{update}\big(\theta, \nabla_\theta L(f_\theta(x_B), y_B)\big)

with any optimiser (and a learning-rate scheduler stepped after every update), and records named
measurements of the model before training, after the updates the chapter asks for, and at the end.
A batch whose loss is not finite stops training, and the run says it diverged.

Updates are counted from 1: update t is the optimiser's t-th step; "after update t", the model has
made t updates (0: before training). Every count :func:`fit` passes on or records means that.
"""
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import torch
from torch import nn


@dataclass
class Run:
    """One training run: the model as training left it, and its record.

    ``updates`` are the update counts at which the measurements were taken (0: before training),
    ``history`` maps each measurement's name to its values there, and ``x``, ``y`` are the training
    data. A chapter that measures the trained model's ``train_accuracy`` and ``validation_accuracy``
    keeps them with the run.
    """

    name: str
    model: nn.Module
    updates: List[int] = field(default_factory=list)
    history: Dict[str, list] = field(default_factory=dict)
    diverged: bool = False
    x: Optional[torch.Tensor] = None
    y: Optional[torch.Tensor] = None
    train_accuracy: Optional[float] = None
    validation_accuracy: Optional[float] = None

    def recorded(self, key):
        """``history[key]``, or a KeyError that names what the run did record."""
        if key not in self.history:
            raise KeyError(f"the run {self.name!r} recorded {sorted(self.history)}, not {key!r}")
        return self.history[key]

    @property
    def train_loss(self):
        """The last recorded ``history["train"]``; infinite when the run diverged (it ended above any record)."""
        return math.inf if self.diverged else self.recorded("train")[-1]

    @property
    def validation_loss(self):
        """The last recorded ``history["validation"]``; infinite when the run diverged."""
        return math.inf if self.diverged else self.recorded("validation")[-1]

    def updates_to(self, key, target):
        """The first recorded update count at which ``history[key]`` reached ``target`` (≥), or None."""
        return next((t for t, value in zip(self.updates, self.recorded(key)) if value >= target), None)


def classifier(n_features, n_classes, width=256, seed=0):
    """A one-hidden-layer ReLU network that outputs logits: Linear(n_features, width), ReLU,
    Linear(width, n_classes), with PyTorch's default initialisation after ``torch.manual_seed(seed)``."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_features, width), nn.ReLU(), nn.Linear(width, n_classes))


def _evaluated(model, measure):
    """``measure()`` with the model in evaluation mode (batch norm uses its moving averages), without a graph."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        result = measure()
    model.train(was_training)
    return result


def accuracy(model, x, y):
    """The fraction of rows of ``x`` whose largest output is the label in ``y``, in evaluation mode."""
    return _evaluated(model, lambda: (model(x).argmax(dim=1) == y).double().mean().item())


def mean_loss(model, x, y, loss_fn=nn.functional.cross_entropy):
    """``loss_fn(model(x), y)`` on all of (x, y) as a float (the cross-entropy by default), in evaluation mode."""
    return _evaluated(model, lambda: loss_fn(model(x), y).item())


def fit(model, optimizer, loss_fn, x, y, batches, measures, record_at=lambda update: False, scheduler=None,
        on_step=None, stop=None, name=""):
    """Train ``model`` on (x, y): one update per batch of ``batches`` (index tensors), of ``loss_fn(model(x_B), y_B)``.

    ``measures`` maps a name to ``measure(model)``; each is recorded before training, after every update
    t with ``record_at(t)``, and after the last update. ``on_step(model, x_B, y_B, t)``, if given, sees
    the batch of update t just before that update is made; ``stop(run)``, if given, ends training when it
    returns True after a record. Both count updates from 1 (see the module's docstring). Returns the :class:`Run`.
    """
    run = Run(name, model, history={key: [] for key in measures}, x=x, y=y)

    def record(done):
        run.updates.append(done)
        for key, measure in measures.items():
            run.history[key].append(measure(model))

    record(0)
    update = 0
    for update, batch in enumerate(batches, start=1):
        x_batch, y_batch = x[batch], y[batch]
        if on_step is not None:
            on_step(model, x_batch, y_batch, update)
        loss = loss_fn(model(x_batch), y_batch)
        if not torch.isfinite(loss):
            run.diverged = True
            return run
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        if record_at(update):
            record(update)
            if stop is not None and stop(run):
                return run
    if run.updates[-1] != update:
        record(update)
    return run
