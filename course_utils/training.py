r"""One training loop for the chapters' experiments: :func:`fit`, its record :class:`Run`, and :func:`accuracy`.

:func:`fit` makes one update per batch of a stream of batches (the chapter decides the stream:
shuffled epochs, one fixed order for every optimiser, batches sorted by class):

.. math:: \theta \leftarrow \operatorname{update}\big(\theta, \nabla_\theta L(f_\theta(x_B), y_B)\big)

with any optimiser (and a learning-rate scheduler stepped after every update), and records named
measurements of the model before training, at the updates the chapter asks for, and at the end.
A batch whose loss is not finite stops training, and the run says it diverged.
"""
from dataclasses import dataclass, field
from typing import Dict, List

import torch
from torch import nn


@dataclass
class Run:
    """One training run: the model as training left it, and its record: the update counts at which the
    measurements were taken and each measurement's values there."""

    name: str
    model: nn.Module
    updates: List[int] = field(default_factory=list)
    history: Dict[str, list] = field(default_factory=dict)
    diverged: bool = False


def accuracy(model, x, y):
    """The fraction of rows of ``x`` whose largest output is the label in ``y``, in evaluation mode (batch
    norm uses its moving averages), without building a graph."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        result = (model(x).argmax(dim=1) == y).double().mean().item()
    model.train(was_training)
    return result


def fit(model, optimizer, loss_fn, x, y, batches, measures, record_at=lambda update: False, scheduler=None,
        on_step=None, stop=None, name=""):
    """Train ``model`` on (x, y): one update per batch of ``batches`` (index tensors), of ``loss_fn(model(x_B), y_B)``.

    ``measures`` maps a name to ``measure(model)``; each is recorded before training, after every update
    ``t`` (counted from 1) with ``record_at(t)``, and after the last update. ``on_step(model, x_B, y_B, t)``,
    if given, sees each batch before its update (t counted from 0); ``stop(run)``, if given, ends training
    when it returns True after a record. Returns the :class:`Run`.
    """
    run = Run(name, model, history={key: [] for key in measures})

    def record(done):
        run.updates.append(done)
        for key, measure in measures.items():
            run.history[key].append(measure(model))

    record(0)
    done = 0
    for batch in batches:
        x_batch, y_batch = x[batch], y[batch]
        if on_step is not None:
            on_step(model, x_batch, y_batch, done)
        loss = loss_fn(model(x_batch), y_batch)
        if not torch.isfinite(loss):
            run.diverged = True
            return run
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        done += 1
        if record_at(done):
            record(done)
            if stop is not None and stop(run):
                return run
    if run.updates[-1] != done:
        record(done)
    return run
