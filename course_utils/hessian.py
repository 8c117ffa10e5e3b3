r"""Critical points and the Hessian.

Around a point :math:`\theta'` the loss is approximated by its Taylor expansion

.. math:: L(\theta) \approx L(\theta') + (\theta - \theta')^\top g
          + \tfrac12 (\theta - \theta')^\top H (\theta - \theta'),

with gradient :math:`g = \nabla L(\theta')` and Hessian
:math:`H_{ij} = \partial^2 L / \partial\theta_i \partial\theta_j`. At a critical point
:math:`g = 0`, so the sign of :math:`v^\top H v` decides what happens nearby, and the
eigenvalues :math:`\lambda` of :math:`H` decide that sign:

- all :math:`\lambda > 0`: local minimum; all :math:`\lambda < 0`: local maximum;
- some positive and some negative: saddle point; moving along an eigenvector
  :math:`u` with :math:`\lambda < 0` changes the loss by :math:`\tfrac12\lambda\lVert u\rVert^2 < 0`;
- zeros and no opposite signs: the second-order test cannot decide ("degenerate").

For models too big for :math:`H` itself, :func:`extreme_eigenvalues` runs the Lanczos
method on Hessian-vector products :math:`Hv`, which cost about two backward passes each.
"""
import torch

KINDS = ("local minimum", "local maximum", "saddle point", "degenerate")


#: Rows of H computed together (one vmapped backward pass per chunk). Measured on a 2-core
#: CPU (benchmarks/bench_hessian.py): a chunk small enough that the intermediate tensors of
#: the chunk's backward passes stay in cache beats both one row at a time and all rows at once.
CHUNK_ROWS = 8


def hessian(loss_fn, theta):
    r"""The exact Hessian :math:`H_{ij} = \partial^2 L / \partial\theta_i \partial\theta_j` at ``theta``, shape (n, n).

    ``theta`` is a 1-D floating-point tensor (the parameters as one vector; it need not require grad:
    the Hessian is taken of a detached copy);
    ``loss_fn(theta)`` returns a scalar. Reverse over reverse mode with ``torch.func``: the
    gradient :math:`g(\theta)` once, then the rows :math:`H_{i\cdot} = \partial g_i / \partial\theta`
    as vector-Jacobian products, ``CHUNK_ROWS`` of them per vmapped backward pass.

    Every exact method that sees the loss only as a function costs about n backward passes
    (one per row); batching rows saves Python and autograd overhead, but each row still
    touches every intermediate of the network, so for a network the gain over a row-by-row
    loop is a small factor, not an order of magnitude (``benchmarks/bench_hessian.py``).
    A loss that knows its own structure can do far better: when ``loss_fn`` has an
    ``exact_hessian(theta)`` method (as :class:`TwoLayerMSE` has), that is used instead.
    """
    if not torch.is_tensor(theta):
        raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
    if not theta.is_floating_point():
        raise ValueError(f"theta is a {str(theta.dtype).removeprefix('torch.')} tensor: a loss can only be "
                         f"differentiated with respect to floating-point numbers; make it with dtype=torch.float64 "
                         f"(or call theta.double())")
    if theta.ndim != 1:
        raise ValueError(f"theta must be 1-D (all parameters in one vector), got shape {tuple(theta.shape)}; "
                         "flatten it, e.g. with torch.nn.utils.parameters_to_vector")
    value = loss_fn(theta)
    if not torch.is_tensor(value) or value.numel() != 1:
        shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
        raise ValueError(f"loss_fn must return a scalar tensor, got {shape}; reduce it, e.g. with .mean()")
    if not torch.isfinite(value).all():
        raise ValueError(f"the loss is {value.item()} (NaN or infinite) at theta: its Hessian is undefined there")
    structured = getattr(loss_fn, "exact_hessian", None)
    if callable(structured):   # a loss that knows its own structure, e.g. TwoLayerMSE
        H = structured(theta.detach())
    else:
        scalar = lambda t: loss_fn(t).reshape(())  # noqa: E731
        chunk = CHUNK_ROWS if theta.numel() > CHUNK_ROWS else None
        H = torch.func.jacrev(torch.func.jacrev(scalar), chunk_size=chunk)(theta.detach())
    if not torch.isfinite(H).all():
        raise ValueError("the Hessian has NaN or infinite entries at theta: the loss's second derivatives overflow there")
    return H


class TwoLayerMSE:
    r"""The MSE loss of a network with one hidden layer and one output, with its Hessian from its structure.

    The network is :math:`f(x) = W_2\,\sigma(W_1 x + b_1) + b_2` (``d`` inputs, ``hidden`` units,
    ``activation`` ``"relu"`` or ``"tanh"``), and the loss :math:`L(\theta) = \frac1N\sum_n (f(x_n) - y_n)^2`
    is a function of :math:`\theta = (W_1, b_1, W_2, b_2)` flattened in that order, the order of
    ``nn.Sequential(nn.Linear(d, hidden), activation, nn.Linear(hidden, 1)).parameters()``.
    Calling the object gives :math:`L(\theta)`, which autograd differentiates like any loss.

    :meth:`exact_hessian` needs no backward pass at all. With the Jacobian :math:`J_n = \nabla_\theta f(x_n)`
    and the residual :math:`r_n = f(x_n) - y_n`,

    .. math:: H = \underbrace{\tfrac2N \textstyle\sum_n J_n^\top J_n}_{G\ (\text{Gauss–Newton})}
              + \underbrace{\tfrac2N \textstyle\sum_n r_n \nabla^2 f(x_n)}_{R},

    and :math:`\nabla^2 f` is zero except inside each hidden unit :math:`j`: between its input
    weights and bias and its output weight (:math:`\sigma'(z_j)\,x`), and among its input weights
    and bias (:math:`W_{2,j}\,\sigma''(z_j)\,x x^\top`; zero for ReLU). :math:`G` is positive
    semi-definite by construction, so every negative eigenvalue of :math:`H` comes from
    :math:`R`: a Gauss–Newton matrix (:meth:`gauss_newton`) cannot see a saddle point.
    """

    ACTIVATIONS = ("relu", "tanh")

    def __init__(self, x, y, hidden, activation="relu"):
        if activation not in self.ACTIVATIONS:
            raise ValueError(f"activation must be one of {self.ACTIVATIONS}, got {activation!r}")
        x, y = torch.as_tensor(x), torch.as_tensor(y)
        if x.ndim == 1:
            x = x[:, None]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if x.ndim != 2 or y.ndim != 1 or len(x) != len(y) or len(x) == 0:
            raise ValueError(f"x must be (N,) or (N, d) and y (N,) or (N, 1) with the same N ≥ 1, got x "
                             f"{tuple(x.shape)} and y {tuple(y.shape)}")
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"hidden must be a positive int, got {hidden!r}")
        self.x, self.y, self.hidden, self.activation = x, y, hidden, activation
        self.d = x.shape[1]
        self.n_parameters = hidden * self.d + 2 * hidden + 1

    def __repr__(self):
        return (f"TwoLayerMSE({len(self.x)} points, {self.d}-{self.hidden}-1 {self.activation} network, "
                f"{self.n_parameters} parameters)")

    def _split(self, theta):
        if not torch.is_tensor(theta) or theta.shape != (self.n_parameters,):
            shape = tuple(theta.shape) if torch.is_tensor(theta) else type(theta).__name__
            raise ValueError(f"theta must be a flat tensor of the {self.n_parameters} parameters of a "
                             f"{self.d}-{self.hidden}-1 network (W₁, b₁, W₂, b₂), got {shape}")
        h, d = self.hidden, self.d
        w1, b1, w2, b2 = theta.split([h * d, h, h, 1])
        return w1.view(h, d), b1, w2, b2

    def _activate(self, z):
        """σ(z), σ'(z), σ''(z), as autograd defines them (ReLU'(0) = 0)."""
        if self.activation == "relu":
            slope = (z > 0).to(z.dtype)
            return z * slope, slope, torch.zeros_like(z)
        t = torch.tanh(z)
        slope = 1 - t * t
        return t, slope, -2 * t * slope

    def __call__(self, theta):
        w1, b1, w2, b2 = self._split(theta)
        hidden = self.x.to(theta.dtype) @ w1.T + b1
        hidden = torch.relu(hidden) if self.activation == "relu" else torch.tanh(hidden)
        return ((hidden @ w2 + b2 - self.y.to(theta.dtype)) ** 2).mean()

    def _terms(self, theta):
        theta = theta.detach()
        w1, b1, w2, b2 = self._split(theta)
        x = self.x.to(theta.dtype)
        a, s1, s2 = self._activate(x @ w1.T + b1)
        residual = a @ w2 + b2 - self.y.to(theta.dtype)
        n = len(x)
        jacobian = torch.cat([((w2 * s1)[:, :, None] * x[:, None, :]).reshape(n, -1), w2 * s1, a,
                              torch.ones(n, 1, dtype=theta.dtype)], dim=1)
        return x, w2, s1, s2, residual, jacobian

    def jacobian(self, theta):
        """:math:`J`, shape (N, n): row n is :math:`\nabla_\theta f(x_n)`."""
        return self._terms(theta)[-1]

    def gauss_newton(self, theta):
        """:math:`G = \frac2N J^\top J`: the Hessian without its second term; positive semi-definite."""
        jacobian = self.jacobian(theta)
        return (2 / len(jacobian)) * (jacobian.T @ jacobian)

    def exact_hessian(self, theta):
        """The exact Hessian :math:`G + R` (see the class), with no backward pass."""
        x, w2, s1, s2, residual, jacobian = self._terms(theta)
        n, (h, d) = len(x), (self.hidden, self.d)
        H = (2 / n) * (jacobian.T @ jacobian)
        inputs = torch.cat([x, torch.ones(n, 1, dtype=x.dtype)], dim=1)                   # u = (x, 1)
        unit_in = torch.cat([torch.arange(h * d).view(h, d), h * d + torch.arange(h)[:, None]], dim=1)
        unit_out = h * d + h + torch.arange(h)                                             # W₂ⱼ
        cross = (2 / n) * (residual[:, None] * s1).T @ inputs                              # (h, d + 1)
        H[unit_in, unit_out[:, None]] += cross
        H[unit_out[:, None], unit_in] += cross
        if self.activation != "relu":
            weights = (2 / n) * residual[:, None] * s2 * w2                                # (N, h)
            inner = torch.einsum("nj,np,nq->jpq", weights, inputs, inputs)                 # (h, d + 1, d + 1)
            H[unit_in[:, :, None], unit_in[:, None, :]] += inner
        return H


def _eigenvalues(H):
    if not torch.is_tensor(H):
        raise TypeError(f"H must be a torch.Tensor, got {type(H).__name__}")
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"a Hessian is square, got shape {tuple(H.shape)}")
    if not torch.isfinite(H).all():
        raise ValueError("H has NaN or infinite entries: the loss or its derivatives overflowed at this point")
    scale = H.abs().max().clamp(min=1.0)
    if not torch.allclose(H, H.T, atol=1e-6 * scale.item(), rtol=0):
        gap = (H - H.T).abs().max().item()
        raise ValueError(f"H is not symmetric (largest |H - Hᵀ| = {gap:.3g}); a Hessian of a smooth loss is. "
                         "If it came from finite differences, use (H + H.T) / 2")
    return torch.linalg.eigvalsh(H.double())


def critical_point_kind(H, tol=1e-6):
    """Classify a critical point from its Hessian: one of :data:`KINDS`.

    Eigenvalues within ``tol`` of zero count as zero.
    """
    positive, negative, flat = curvature_counts(H, tol)
    if positive and negative:
        return "saddle point"
    if flat:
        return "degenerate"
    return "local minimum" if positive else "local maximum"


def curvature_counts(H, tol=1e-6):
    """How many eigenvalues of H are positive (λ > tol), negative (λ < −tol) and flat (|λ| ≤ tol)."""
    lam = _eigenvalues(H)
    positive, negative = int((lam > tol).sum()), int((lam < -tol).sum())
    return positive, negative, len(lam) - positive - negative


def minimum_ratio(H, tol=1e-6):
    r"""The minimum ratio: the fraction of the curved directions that curve up,

    .. math:: \frac{\#\{\lambda > \text{tol}\}}{\#\{\lvert\lambda\rvert > \text{tol}\}}.

    Eigenvalues within ``tol`` of zero (flat directions, where rounding decides the sign) are
    set aside, as :func:`critical_point_kind` does; with none of them this is the notes'
    ratio, positive eigenvalues over all eigenvalues. 1.0 at a strict local minimum, 0.5 at
    the notes' saddle point; NaN if every eigenvalue is flat.
    """
    positive, negative, _ = curvature_counts(H, tol)
    return positive / (positive + negative) if positive + negative else float("nan")


def escape_direction(H):
    """The most negative eigenvalue of H and its unit eigenvector ``u``.

    At a saddle point (eigenvalue < 0), moving from θ′ to θ′ + u changes the loss by about
    ½·eigenvalue·‖u‖². If the eigenvalue is ≥ 0 there is no such direction.
    """
    _eigenvalues(H)
    lam, vectors = torch.linalg.eigh(H.double())
    u = vectors[:, 0]
    return lam[0].item(), (u / u.norm()).to(H.dtype)


def hessian_vector_product(loss_fn, params, vector):
    """H·v for the loss ``loss_fn()`` of ``params`` (a list of tensors), v flat, without forming H."""
    loss = loss_fn()
    grads = torch.autograd.grad(loss, params, create_graph=True)
    flat = torch.cat([g.reshape(-1) for g in grads])
    hv = torch.autograd.grad(flat @ vector, params)
    return torch.cat([h.reshape(-1) for h in hv]).detach()


def extreme_eigenvalues(loss_fn, params, k=1, iters=80, seed=0):
    """The ``k`` smallest and ``k`` largest Hessian eigenvalues, by Lanczos on H·v.

    ``loss_fn()`` computes the scalar loss from ``params`` (e.g. a model's parameters on a
    fixed batch). Lanczos with full re-orthogonalisation finds both ends of the spectrum
    (power iteration finds only the largest |λ|, so it cannot tell a saddle point).
    Returns ``(smallest, largest)``, each a float64 tensor of length k, ascending.
    """
    params = [p for p in params]
    if not params or not all(p.requires_grad for p in params):
        raise ValueError("params must be a non-empty list of tensors that require grad")
    n = sum(p.numel() for p in params)
    iters = min(iters, n)
    if not 1 <= k <= iters:
        raise ValueError(f"k must be between 1 and iters (= {iters}), got {k}")
    generator = torch.Generator().manual_seed(seed)
    dtype = params[0].dtype
    q = torch.randn(n, generator=generator, dtype=dtype)
    q /= q.norm()
    basis = torch.empty(iters, n, dtype=dtype)
    alphas, betas = [], []
    for j in range(iters):
        basis[j] = q
        w = hessian_vector_product(loss_fn, params, q)
        alpha = torch.dot(w, q)
        w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)      # full re-orthogonalisation
        w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)      # twice is enough (Kahan)
        alphas.append(alpha.item())
        beta = w.norm()
        if j == iters - 1 or beta.item() < 1e-10 * max(1.0, abs(alpha.item())):
            break
        betas.append(beta.item())
        q = w / beta
    T = torch.diag(torch.tensor(alphas, dtype=torch.float64))
    if betas:
        off = torch.tensor(betas[: len(alphas) - 1], dtype=torch.float64)
        T += torch.diag(off, 1) + torch.diag(off, -1)
    ritz = torch.linalg.eigvalsh(T)
    k = min(k, len(ritz))
    return ritz[:k], ritz[-k:]
