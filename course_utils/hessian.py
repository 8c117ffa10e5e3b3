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

    ``theta`` is a 1-D tensor that requires grad (the parameters as one vector);
    ``loss_fn(theta)`` returns a scalar. Reverse over reverse mode with ``torch.func``: the
    gradient :math:`g(\theta)` once, then the rows :math:`H_{i\cdot} = \partial g_i / \partial\theta`
    as vector-Jacobian products, ``CHUNK_ROWS`` of them per vmapped backward pass.

    Every exact method costs about n backward passes (one per row); batching rows saves
    Python and autograd overhead, but each row still touches every intermediate of the
    network, so for a network the gain over a row-by-row loop is a small factor, not an
    order of magnitude (see the chapter and ``benchmarks/bench_hessian.py``).
    """
    if not torch.is_tensor(theta):
        raise TypeError(f"theta must be a torch.Tensor, got {type(theta).__name__}")
    if not theta.requires_grad:
        raise ValueError("theta does not require grad: create it with requires_grad=True "
                         "(or call theta.requires_grad_()) so the loss can be differentiated")
    if theta.ndim != 1:
        raise ValueError(f"theta must be 1-D (all parameters in one vector), got shape {tuple(theta.shape)}; "
                         "flatten it, e.g. with torch.nn.utils.parameters_to_vector")
    value = loss_fn(theta)
    if not torch.is_tensor(value) or value.numel() != 1:
        shape = tuple(value.shape) if torch.is_tensor(value) else type(value).__name__
        raise ValueError(f"loss_fn must return a scalar tensor, got {shape}; reduce it, e.g. with .mean()")
    if not torch.isfinite(value).all():
        raise ValueError(f"the loss is {value.item()} (NaN or infinite) at theta: its Hessian is undefined there")
    scalar = lambda t: loss_fn(t).reshape(())  # noqa: E731
    chunk = CHUNK_ROWS if theta.numel() > CHUNK_ROWS else None
    H = torch.func.jacrev(torch.func.jacrev(scalar), chunk_size=chunk)(theta.detach())
    if not torch.isfinite(H).all():
        raise ValueError("the Hessian has NaN or infinite entries at theta: the loss's second derivatives overflow there")
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
    lam = _eigenvalues(H)
    positive, negative = (lam > tol).any().item(), (lam < -tol).any().item()
    if positive and negative:
        return "saddle point"
    if (lam > tol).all():
        return "local minimum"
    if (lam < -tol).all():
        return "local maximum"
    return "degenerate"


def minimum_ratio(H):
    """The fraction of the Hessian's eigenvalues that are positive (1.0 at a strict local minimum)."""
    lam = _eigenvalues(H)
    return (lam > 0).double().mean().item()


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
