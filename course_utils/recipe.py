r"""Chapter 0, the training recipe: a function with unknowns, a loss, optimisation.

Symbols as in the notes: input :math:`x`, label :math:`\hat y`, parameters
:math:`\theta` (here :math:`w, b, c, W`), learning rate :math:`\eta`.

A hard sigmoid (a ramp from 0 up to :math:`c`) is two ReLUs:

.. math:: c\,[\max(0, b + wx) - \max(0, b + wx - 1)]

Any piecewise-linear curve is a constant plus a sum of hard sigmoids, and a
smooth sigmoid :math:`c\,\sigma(b + wx)` approximates each one, which gives the
model of the notes in matrix form

.. math:: y = b + c^\top \sigma(\mathbf{b} + W x).

One step of gradient descent on the mean squared error
:math:`L(w, b) = \frac1N \sum_n (b + w x_n - \hat y_n)^2` is

.. math:: w \leftarrow w - \eta\,\frac{\partial L}{\partial w}, \qquad
          b \leftarrow b - \eta\,\frac{\partial L}{\partial b}.
"""
import math

import torch


def hard_sigmoid(x, c, b, w):
    """c·[ReLU(b + w·x) − ReLU(b + w·x − 1)]: 0, then a ramp, then flat at c."""
    z = b + w * x
    return c * (torch.relu(z) - torch.relu(z - 1))


def sigmoid_model(x, W, b_hidden, c, b):
    """y = b + cᵀσ(b_hidden + W x) for a batch: x (N, d), W (k, d), b_hidden (k,), c (k,) → y (N,)."""
    return b + torch.sigmoid(x @ W.T + b_hidden) @ c


def relu_model(x, W, b_hidden, c, b):
    """The same model with ReLU in place of the sigmoid: y = b + cᵀ ReLU(b_hidden + W x)."""
    return b + torch.relu(x @ W.T + b_hidden) @ c


def mse_gradients(w, b, x, y):
    """∂L/∂w and ∂L/∂b of L = mean((b + w·x − y)²), written out by hand."""
    error = b + w * x - y
    return 2 * (error * x).mean(), 2 * error.mean()


def linear_regression_step(w, b, x, y, learning_rate):
    """One gradient-descent step on the MSE of y ≈ b + w·x; returns the new (w, b)."""
    dw, db = mse_gradients(w, b, x, y)
    return w - learning_rate * dw, b - learning_rate * db


def updates_per_epoch(n_examples, batch_size, drop_last=False):
    """How many parameter updates one epoch makes: ⌈N / B⌉ (⌊N / B⌋ when the last short batch is dropped)."""
    if n_examples < 0 or batch_size < 1:
        raise ValueError(f"need n_examples ≥ 0 and batch_size ≥ 1, got {n_examples} and {batch_size}")
    return n_examples // batch_size if drop_last else math.ceil(n_examples / batch_size)
