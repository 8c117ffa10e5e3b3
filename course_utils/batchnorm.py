r"""Batch normalisation from scratch, in training and evaluation mode.

For a mini-batch of features :math:`z^1, \dots, z^B` (one column per feature):

.. math::
   \mu = \frac1B \sum_b z^b, \qquad \sigma = \sqrt{\frac1B \sum_b (z^b - \mu)^2 + \varepsilon},
   \qquad \tilde z^b = \frac{z^b - \mu}{\sigma}, \qquad \hat z^b = \gamma \odot \tilde z^b + \beta.

μ and σ depend on the whole batch, so the examples of a batch now interact and the
gradient flows through μ and σ too. γ (init 1) and β (init 0) are learned; with
:math:`\gamma = \sigma, \beta = \mu` the layer is the identity, so normalising costs no
expressiveness.

At test time there may be a single example, so the layer uses moving averages kept during
training, :math:`\bar\mu \leftarrow p\,\bar\mu + (1 - p)\,\mu` (and likewise for the variance).
PyTorch's ``momentum`` is :math:`1 - p` (default 0.1), and PyTorch updates the running variance
with the *unbiased* batch variance (divided by B − 1) while normalising with the *biased*
one (divided by B); this module does the same, so it matches ``nn.BatchNorm1d`` exactly.
For 3-D input (N, C, L) the statistics are over N and L.
"""
import torch
from torch import nn


class BatchNorm1d(nn.Module):
    """Batch normalisation over (N, C) or (N, C, L) input, matching ``torch.nn.BatchNorm1d``."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        if num_features < 1:
            raise ValueError(f"num_features must be ≥ 1, got {num_features}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum (= 1 − p) must be in [0, 1], got {momentum}")
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))    # γ
            self.bias = nn.Parameter(torch.zeros(num_features))     # β
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def _check(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d expects input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) expects {self.num_features} features in dimension 1, "
                             f"got input of shape {tuple(x.shape)}")
        values_per_feature = x.numel() // x.shape[1]
        if self.training and values_per_feature <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(x.shape)}: a batch of one has no batch statistics. Use a larger batch, "
                             "or call model.eval() to use the running averages")

    def forward(self, x):
        self._check(x)
        dims = (0,) if x.ndim == 2 else (0, 2)
        shape = (1, -1) if x.ndim == 2 else (1, -1, 1)
        if self.training:
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                n = x.numel() // x.shape[1]
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))
                self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        z = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        if self.affine:
            z = z * self.weight.view(shape) + self.bias.view(shape)
        return z

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
