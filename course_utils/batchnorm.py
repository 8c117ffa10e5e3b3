r"""Batch normalisation from scratch, in training and evaluation mode.

**Training.** For a mini-batch of features :math:`z^1, \dots, z^B` (one column per feature):

.. math::
   \mu = \frac1B \sum_b z^b, \qquad \sigma = \sqrt{\frac1B \sum_b (z^b - \mu)^2 + \varepsilon},
   \qquad \tilde z^b = \frac{z^b - \mu}{\sigma}, \qquad \hat z^b = \gamma \odot \tilde z^b + \beta.

μ and σ depend on the whole batch, so the examples of a batch now interact and the
gradient flows through μ and σ too. γ (init 1) and β (init 0) are learned; with
:math:`\gamma = \sigma, \beta = \mu` the layer is the identity, so normalising costs no
expressiveness. ε (default 10⁻⁵) keeps the division finite for a feature that is constant
over the batch.

**Moving averages.** At test time there may be a single example, so the layer uses moving
averages kept during training,

.. math::
   \bar\mu \leftarrow p\,\bar\mu + (1 - p)\,\mu, \qquad
   \bar v \leftarrow p\,\bar v + (1 - p)\,\frac{B}{B - 1}\,v, \qquad
   v = \frac1B \sum_b (z^b - \mu)^2 .

PyTorch's ``momentum`` is :math:`1 - p` (default 0.1, so p = 0.9), and PyTorch updates the
running variance :math:`\bar v` with the *unbiased* batch variance (divided by B − 1) while it
normalises with the *biased* one v (divided by B); this module does the same, so it matches
``nn.BatchNorm1d`` exactly.

**Evaluation.** :math:`\hat z = \gamma \odot (z - \bar\mu) / \sqrt{\bar v + \varepsilon} + \beta`:
a fixed affine map of each example on its own.

For 3-D input (N, C, L) the statistics are over N and L, so B = N·L values per feature.
"""
import torch
from torch import nn


def batch_norm_train(z, gamma, beta, eps=1e-5):
    """ẑ = γ ⊙ (z − μ)/√(v + ε) + β with μ, v the mean and *biased* variance of each column of z (B, C)."""
    mean = z.mean(dim=0)
    var = z.var(dim=0, unbiased=False)
    return gamma * (z - mean) / torch.sqrt(var + eps) + beta


def update_running_stats(running_mean, running_var, z, p):
    """(μ̄, v̄) after one batch z (B, C): μ̄ ← p·μ̄ + (1 − p)·μ, v̄ ← p·v̄ + (1 − p)·(unbiased variance).

    p is the notes' smoothing factor; PyTorch's ``momentum`` is 1 − p. New tensors are returned,
    the inputs are left as they were.
    """
    mean = z.mean(dim=0)
    var = z.var(dim=0, unbiased=True)
    return p * running_mean + (1 - p) * mean, p * running_var + (1 - p) * var


def batch_norm_eval(z, running_mean, running_var, gamma, beta, eps=1e-5):
    """ẑ = γ ⊙ (z − μ̄)/√(v̄ + ε) + β: each row of z (B, C) on its own, with the moving averages."""
    return gamma * (z - running_mean) / torch.sqrt(running_var + eps) + beta


class BatchNorm1d(nn.Module):
    """Batch normalisation over (N, C) or (N, C, L) input, matching ``torch.nn.BatchNorm1d``.

    ``momentum`` is PyTorch's, 1 − p in the notes' symbols. Parameters and buffers have
    PyTorch's names (``weight`` = γ, ``bias`` = β, ``running_mean`` = μ̄, ``running_var`` = v̄),
    so a state dict loads into either module.
    """

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        if num_features < 1:
            raise ValueError(f"num_features must be ≥ 1, got {num_features}")
        if not 0 <= momentum <= 1:
            raise ValueError(f"momentum (= 1 − p) must be in [0, 1], got {momentum}")
        if eps < 0:
            raise ValueError(f"eps must be ≥ 0, got {eps}")
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
            raise ValueError(f"BatchNorm1d({self.num_features}) expects input of shape (N, {self.num_features}) or "
                             f"(N, {self.num_features}, L), got {x.ndim}-D input of shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}) expects {self.num_features} features in dimension 1, "
                             f"i.e. input of shape (N, {self.num_features}) or (N, {self.num_features}, L), "
                             f"got input of shape {tuple(x.shape)}")
        if self.training and x.numel() // x.shape[1] <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(x.shape)}: a batch of one has no batch statistics. Use a larger batch, "
                             "or call model.eval() to use the running averages")

    def forward(self, x):
        self._check(x)
        # A 3-D input (N, C, L) is N·L examples of C features: move C last and flatten.
        z = x if x.ndim == 2 else x.transpose(1, 2).reshape(-1, self.num_features)
        if self.training:                   # batch_norm_train and update_running_stats, in one pass
            mean, var = z.mean(dim=0), z.var(dim=0, unbiased=False)
            with torch.no_grad():
                n, p = z.shape[0], 1 - self.momentum
                self.running_mean.copy_(p * self.running_mean + (1 - p) * mean)
                self.running_var.copy_(p * self.running_var + (1 - p) * var * n / (n - 1))
                self.num_batches_tracked += 1
        else:                               # batch_norm_eval
            mean, var = self.running_mean, self.running_var
        out = (z - mean) / torch.sqrt(var + self.eps)
        if self.affine:
            out = out * self.weight + self.bias
        return out if x.ndim == 2 else out.reshape(x.shape[0], x.shape[2], -1).transpose(1, 2)

    def extra_repr(self):
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}"
