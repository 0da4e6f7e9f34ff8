"""ReLU MLP in PyTorch: model, training and its empirical NTK.

This module imports torch at module level; it is only imported lazily (from
:func:`rnnexplore.featurequality.compare` and the package's lazy attributes), so
``import rnnexplore`` and ``import rnnexplore.featurequality`` never import torch.

Parameterisation (shared with :mod:`~rnnexplore.featurequality.kernels`):
``h_1 = W_1 x + b_1``, ``h_{l+1} = W_{l+1} relu(h_l) + b_{l+1}``,
``f = (W_out relu(h_L) + b_out) / gamma``; weights ``N(0, 1/fan_in)``, biases zero.

Examples
--------
>>> import torch
>>> from rnnexplore.featurequality.mlp import ReLUMLP, empirical_ntk
>>> model = ReLUMLP(d=5, depth=2, width=16, seed=0)
>>> X = torch.sign(torch.randn(4, 5, generator=torch.Generator().manual_seed(0))).double()
>>> empirical_ntk(model, X).shape
(4, 4)
"""

from __future__ import annotations

import copy
import math
import os

import numpy as np
import torch
from torch import nn

from ..parallel import progress_bar

__all__ = [
    "ReLUMLP",
    "train_mlp",
    "train_batched",
    "TrainingCancelled",
    "ntk_factors",
    "empirical_ntk",
    "empirical_ntk_torchfunc",
    "ntk_from_factors",
    "set_torch_threads",
]


def set_torch_threads(n: int | None = None) -> int:
    """Set torch's intra-op threads to ``n`` (default ``min(2, os.cpu_count())``); returns it."""
    n = min(2, os.cpu_count() or 1) if n is None else int(n)
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n


class ReLUMLP(nn.Module):
    """ReLU MLP with ``depth`` hidden layers of ``width`` units and output scale ``1/gamma``.

    Parameters
    ----------
    d : int
        Input dimension.
    depth : int
        Number of hidden layers (>= 1).
    width : int
        Hidden width.
    gamma : float, default 1
        The output is divided by ``gamma`` (< 1 richer, > 1 lazier training).
    seed : int, default 0
        Seed of the initialisation: weights ``N(0, 1/fan_in)``, biases zero.
    dtype : torch.dtype, default float32

    Examples
    --------
    >>> m = ReLUMLP(d=3, depth=1, width=8, seed=1)
    >>> m(torch.ones(2, 3)).shape
    torch.Size([2])
    """

    def __init__(self, d: int, depth: int = 3, width: int = 256, gamma: float = 1.0, seed: int = 0, dtype=torch.float32):
        super().__init__()
        for name, v in (("d", d), ("depth", depth), ("width", width)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if not math.isfinite(gamma) or gamma <= 0:
            raise ValueError(f"gamma must be finite and > 0, got {gamma}")
        self.d, self.depth, self.width, self.gamma = int(d), int(depth), int(width), float(gamma)
        sizes = [self.d] + [self.width] * self.depth + [1]
        self.layers = nn.ModuleList(nn.Linear(a, b, dtype=dtype) for a, b in zip(sizes[:-1], sizes[1:]))
        g = torch.Generator().manual_seed(int(seed))
        with torch.no_grad():
            for lin in self.layers:
                lin.weight.copy_(torch.randn(lin.weight.shape, generator=g, dtype=torch.float64) / math.sqrt(lin.in_features))
                lin.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Network output ``f(x)`` (ReLU layers, the last one linear, divided by ``gamma``), shape (n,)."""
        for lin in self.layers[:-1]:
            x = torch.relu(lin(x))
        return self.layers[-1](x).squeeze(-1) / self.gamma

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        """Last hidden layer's activations ``a_L(x)``, shape (n, width)."""
        for lin in self.layers[:-1]:
            x = torch.relu(lin(x))
        return x

    def weights(self) -> list[np.ndarray]:
        """Copies of the weight matrices (float64 numpy), input layer first."""
        return [lin.weight.detach().double().cpu().numpy().copy() for lin in self.layers]


class TrainingCancelled(Exception):
    """Raised by :func:`train_batched` / :func:`train_mlp` when ``should_stop()`` returned True."""


def _cosine_lr(lr: float, step: int, steps: int) -> float:
    """Cosine annealing from ``lr`` to 0: the closed form of ``CosineAnnealingLR(T_max=steps)``."""
    return lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))


#: Minibatch indices are drawn per model in blocks of this many steps (the same stream as
#: one ``torch.randint(0, n, (steps, batch_size))`` call; checked in the tests).
_INDEX_BLOCK = 1024


def train_batched(
    models,
    Xs,
    ys,
    *,
    seeds,
    steps: int = 8000,
    lr: float = 2e-3,
    batch_size: int = 64,
    record_every: int = 0,
    progress=False,
    should_stop=None,
) -> list[np.ndarray]:
    """Train several independent MLPs of one architecture as one batched model.

    The weights of the ``B`` models are stacked into tensors of shape ``(B, fan_out, fan_in)``
    and every step runs batched matrix products on the ``B`` minibatches, with activations
    stored feature-major ``(B, width, batch)``. The gradient of each model's own mean squared
    error is written out by hand (``_backprop``, no autograd graph; checked against
    autograd in the tests), so each model receives exactly its own gradient; Adam is
    elementwise, so the stacked optimiser performs each model's own Adam update. Each model
    therefore follows the trajectory it would follow alone (up to floating point summation
    order; the tests check agreement to float64 tolerance against separately trained models).
    Training sets may have different sizes; they are zero-padded, and every model draws
    indices only below its own ``n``.

    Denormal floats are flushed to zero on the calling thread while training (faster Adam
    steps; no weight changes, since the flushed moments' updates are below float32 resolution).

    Schedule: Adam (``fused`` kernel), lr cosine-annealed from ``lr`` to 0 over ``steps``
    (the closed form of ``CosineAnnealingLR``), minibatches of ``batch_size`` indices drawn
    uniformly with replacement from ``torch.Generator().manual_seed(seed)``.

    Parameters
    ----------
    models : sequence of ReLUMLP
        Same ``d``, ``depth``, ``width``, ``gamma`` and dtype. Trained in place.
    Xs, ys : sequences of array_like
        Per model, inputs ``(n_b, d)`` and labels ``(n_b,)``.
    seeds : sequence of int
        Per model, the seed of its minibatch indices.
    steps, lr, batch_size : as in :func:`train_mlp`
    record_every : int
        Record each model's minibatch loss every this many steps (0: only the last).
    progress : bool, str or callable
        ``tqdm.auto`` bar (a string is its description), or ``progress(step, steps)`` called
        every 100 steps and at the end.
    should_stop : callable, optional
        Checked every 100 steps; when it returns True training stops and
        :class:`TrainingCancelled` is raised (the models keep their partly trained weights).

    Returns
    -------
    list of ndarray
        Per model, its recorded minibatch losses.

    Examples
    --------
    >>> ms = [ReLUMLP(d=2, depth=1, width=8, seed=s) for s in (0, 1)]
    >>> X = np.array([[1.0, 1.0], [-1.0, 1.0]]); y = np.array([1.0, -1.0])
    >>> [l.shape for l in train_batched(ms, [X, X], [y, -y], seeds=[0, 1], steps=20, batch_size=2)]
    [(1,), (1,)]
    """
    models, Xs, ys, seeds, ns = _check_batch(models, Xs, ys, seeds, steps, batch_size, record_every, lr)
    m0 = models[0]
    dtype = next(m0.parameters()).dtype
    Xp, yp = _padded_data(Xs, ys, ns, m0.d, dtype)
    Ws, bs = _stack_parameters(models)
    # Adam's first moments of dead units decay geometrically into float32 denormals (about a
    # sixth of a layer's by the end of an S4 run), and denormal arithmetic is slow; flushing
    # them to zero changes no weight (their updates are below float32 resolution). This
    # sets the calling thread's FTZ/DAZ flags; they are cleared again afterwards.
    flushed = torch.set_flush_denormal(True)
    try:
        losses = _adam_steps(Ws, bs, Xp, yp, ns, seeds, int(steps), lr, int(batch_size), 1.0 / m0.gamma,
                             record_every, progress, should_stop)
    finally:
        if flushed:
            torch.set_flush_denormal(False)
        _unstack_parameters(models, Ws, bs)
    return [np.asarray(v) for v in losses]


def _adam_steps(Ws, bs, Xp, yp, ns, seeds, steps, lr, batch_size, inv_gamma, record_every, progress,
                should_stop) -> list[list[float]]:
    """The training loop of :func:`train_batched` on the stacked parameters (updated in place)."""
    for p in Ws + bs:
        p.grad = torch.zeros_like(p)  # written in place by _backprop every step
    adam = _FusedAdam(Ws + bs)
    gens = [torch.Generator().manual_seed(s) for s in seeds]
    rows = torch.arange(len(ns)).unsqueeze(1)
    callback = progress if callable(progress) else None
    losses: list[list[float]] = [[] for _ in ns]
    shown = 0
    with progress_bar(False if callback is not None else progress, steps, desc="train", leave=False) as bar:
        for step in range(steps):
            if step % _INDEX_BLOCK == 0:  # (block, B, batch) indices, each model below its own n
                block = min(_INDEX_BLOCK, steps - step)
                idx_block = torch.stack([torch.randint(0, n, (block, batch_size), generator=g)
                                         for n, g in zip(ns, gens)], dim=1)
            idx = idx_block[step % _INDEX_BLOCK]
            last = step == steps - 1
            record = last or (record_every and step % record_every == 0)
            per_model = _backprop(Ws, bs, Xp[rows, idx].transpose(1, 2), yp[rows, idx], inv_gamma, record)
            adam.step(_cosine_lr(lr, step, steps))
            if record:
                for j, v in enumerate(per_model.tolist()):
                    losses[j].append(float(v))
            if step % 100 == 99 or last:
                bar.update(step + 1 - shown)
                shown = step + 1
                if callback is not None:
                    callback(step + 1, steps)
                if should_stop is not None and not last and should_stop():
                    raise TrainingCancelled(f"training stopped at step {step + 1} of {steps}")
    return losses


class _FusedAdam:
    """``torch.optim.Adam(params, fused=True)`` (default betas, eps, no weight decay) reduced to its
    kernel: the same state (zero moments, float32 step counters) and the same ``_fused_adam_`` call,
    so the updates are bitwise those of the optimiser (checked in the tests), without its per-step
    Python bookkeeping (about 0.5 ms per step of 15 S4 networks)."""

    def __init__(self, params, betas=(0.9, 0.999), eps=1e-8):
        self.params = list(params)
        self.grads = [p.grad for p in self.params]
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]
        self.betas, self.eps = betas, eps

    def step(self, lr: float) -> None:
        """One Adam update with learning rate ``lr`` from the parameters' current ``.grad``."""
        torch._foreach_add_(self.steps, 1)
        torch._fused_adam_(self.params, self.grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
                           amsgrad=False, lr=lr, beta1=self.betas[0], beta2=self.betas[1], weight_decay=0.0,
                           eps=self.eps, maximize=False, grad_scale=None, found_inf=None)


def _check_batch(models, Xs, ys, seeds, steps, batch_size, record_every, lr):
    """Validate :func:`train_batched`'s arguments; returns lists and the training-set sizes."""
    models = list(models)
    Xs, ys, seeds = list(Xs), list(ys), [int(s) for s in seeds]
    if not models:
        raise ValueError("models must not be empty")
    if not (len(Xs) == len(ys) == len(seeds) == len(models)):
        raise ValueError(f"models, Xs, ys and seeds must have the same length, got {len(models)}, {len(Xs)}, {len(ys)}, {len(seeds)}")
    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 0:
        raise ValueError(f"record_every must be an integer >= 0, got {record_every!r}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be finite and > 0, got {lr}")
    m0 = models[0]
    dtype = next(m0.parameters()).dtype
    for j, m in enumerate(models):
        if not isinstance(m, ReLUMLP):
            raise ValueError(f"models[{j}] must be a ReLUMLP, got {type(m).__name__}")
        if (m.d, m.depth, m.width, m.gamma, next(m.parameters()).dtype) != (m0.d, m0.depth, m0.width, m0.gamma, dtype):
            raise ValueError(f"models[{j}] has a different architecture or dtype than models[0]")
    ns = []
    for j, (X, y) in enumerate(zip(Xs, ys)):
        X, y = np.asarray(X), np.asarray(y)
        if X.ndim != 2 or X.shape[1] != m0.d or X.shape[0] < 1:
            raise ValueError(f"Xs[{j}] must have shape (n, {m0.d}) with n >= 1, got {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"ys[{j}] must have shape ({X.shape[0]},), got {y.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError(f"Xs[{j}] or ys[{j}] contains NaN or inf")
        ns.append(X.shape[0])
    return models, Xs, ys, seeds, ns


def _padded_data(Xs, ys, ns, d, dtype):
    """Training sets zero-padded to the largest: ``(B, n_max, d)`` inputs, ``(B, n_max)`` labels."""
    Xp = torch.zeros(len(ns), max(ns), d, dtype=dtype)
    yp = torch.zeros(len(ns), max(ns), dtype=dtype)
    for j, (X, y) in enumerate(zip(Xs, ys)):
        Xp[j, : ns[j]] = torch.as_tensor(np.asarray(X), dtype=dtype)
        yp[j, : ns[j]] = torch.as_tensor(np.asarray(y), dtype=dtype)
    return Xp, yp


def _stack_parameters(models):
    """Stacked parameters: weights of shape (B, fan_out, fan_in), biases (B, fan_out, 1)."""
    layers = range(len(models[0].layers))
    Ws = [torch.stack([m.layers[k].weight.detach() for m in models]).contiguous() for k in layers]
    bs = [torch.stack([m.layers[k].bias.detach() for m in models]).unsqueeze(2).contiguous() for k in layers]
    return Ws, bs


def _unstack_parameters(models, Ws, bs) -> None:
    """Copy the stacked parameters back into the models."""
    with torch.no_grad():
        for j, m in enumerate(models):
            for k, lin in enumerate(m.layers):
                lin.weight.copy_(Ws[k][j])
                lin.bias.copy_(bs[k][j, :, 0])


_threshold_backward = torch.ops.aten.threshold_backward  # g * (h > 0): ReLU's backward in one pass


def _backprop(Ws, bs, x, y, inv_gamma, loss=False):
    """Gradients of each stacked model's minibatch MSE, written into ``W.grad`` and ``b.grad``.

    Feature-major: ``x`` has shape (B, d, batch) (a transposed view is fine), ``y`` (B, batch).
    Forward ``z_l = W_l h_{l-1} + b_l``, ``h_l = relu(z_l)``, ``f = z_L / gamma``; backward
    ``g_L = 2 (f - y) / (batch gamma)``, ``dW_l = g_l h_{l-1}^T``, ``db_l = sum g_l``,
    ``g_{l-1} = (W_l^T g_l) * [h_{l-1} > 0]``. Returns the per-model losses (B,) when ``loss``
    is true (else None).
    """
    hs = [x]
    h = x
    for W, b in zip(Ws[:-1], bs[:-1]):
        h = torch.bmm(W, h).add_(b).relu_()  # (MKL's bmm is ~20% faster than its baddbmm here)
        hs.append(h)
    out = torch.baddbmm(bs[-1], Ws[-1], h).squeeze(1).mul_(inv_gamma)  # (B, batch)
    resid = out.sub_(y)
    per_model = resid.square().mean(dim=1) if loss else None
    g = resid.mul_(2.0 * inv_gamma / y.shape[1]).unsqueeze(1)  # dL/dz_L, (B, 1, batch)
    for k in range(len(Ws) - 1, -1, -1):
        torch.bmm(g, hs[k].transpose(1, 2), out=Ws[k].grad)
        torch.sum(g, dim=2, keepdim=True, out=bs[k].grad)
        if k:
            g = _threshold_backward(torch.bmm(Ws[k].transpose(1, 2), g), hs[k], 0)
    return per_model


def train_mlp(
    model: ReLUMLP,
    X,
    y,
    *,
    steps: int = 8000,
    lr: float = 2e-3,
    batch_size: int = 64,
    seed: int = 0,
    record_every: int = 0,
    progress=False,
    should_stop=None,
) -> np.ndarray:
    """Train with Adam on MSE, lr cosine-annealed to 0, minibatches sampled with replacement.

    One model through :func:`train_batched` (a batch of one), so a model trained alone and
    the same model trained inside a batch follow the same schedule and index stream.

    Parameters
    ----------
    model : ReLUMLP
        Trained in place.
    X, y : array_like, shapes (n, d) and (n,)
    steps : int
        Number of Adam steps.
    lr : float
        Initial learning rate, cosine-annealed to 0 over ``steps``.
    batch_size : int
        Minibatch size; indices drawn uniformly with replacement.
    seed : int
        Seed of the minibatch indices.
    record_every : int
        Record the minibatch loss every this many steps (0: only the last).
    progress : bool, str or callable
        ``tqdm.auto`` progress bar (a string is its description), or a callable
        ``progress(step, steps)`` called every 100 steps and at the end (for widgets).
    should_stop : callable, optional
        See :func:`train_batched` (raises :class:`TrainingCancelled`).

    Returns
    -------
    ndarray
        Recorded minibatch losses.

    Examples
    --------
    >>> m = ReLUMLP(d=2, depth=1, width=8)
    >>> X = np.array([[1.0, 1.0], [-1.0, 1.0]]); y = np.array([1.0, -1.0])
    >>> losses = train_mlp(m, X, y, steps=50, batch_size=2)
    >>> losses.shape
    (1,)
    """
    if not isinstance(model, ReLUMLP):
        raise ValueError(f"model must be a ReLUMLP, got {type(model).__name__}")
    return train_batched([model], [X], [y], seeds=[seed], steps=steps, lr=lr, batch_size=batch_size,
                         record_every=record_every, progress=progress, should_stop=should_stop)[0]


def ntk_factors(model: ReLUMLP, X, *, dtype=torch.float64) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per-layer factors ``(a_{l-1}(X), delta_l(X))`` of the empirical NTK, one backward pass.

    ``delta_l = d f / d h_l`` are the pre-activation gradients (the output layer's is
    ``1/gamma``); ``a_0 = x``. Computed in ``dtype`` on a copy of the model.

    Returns
    -------
    list of (A, D)
        ``A`` has shape (n, fan_in), ``D`` shape (n, fan_out), numpy ``float64``.
    """
    m = copy.deepcopy(model).to(dtype)
    x = torch.as_tensor(np.asarray(X), dtype=dtype)
    if x.ndim != 2 or x.shape[1] != model.d:
        raise ValueError(f"X must have shape (n, {model.d}), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError("X contains NaN or inf")
    inputs, pre = [], []
    a = x
    for j, lin in enumerate(m.layers):
        inputs.append(a)
        h = lin(a)
        pre.append(h)
        if j < len(m.layers) - 1:
            a = torch.relu(h)
    f = pre[-1].squeeze(-1) / m.gamma
    deltas = torch.autograd.grad(f.sum(), pre)
    return [(A.detach().double().numpy(), D.detach().double().numpy()) for A, D in zip(inputs, deltas)]


def ntk_from_factors(FX, FY=None) -> np.ndarray:
    """``Theta = sum_l (D_l^X D_l^Y^T) * (A_{l-1}^X A_{l-1}^Y^T + 1)`` from :func:`ntk_factors`."""
    FY = FX if FY is None else FY
    K = G = T = None  # three n_X x n_Y buffers in all (each fresh one costs page faults)
    for (AX, DX), (AY, DY) in zip(FX, FY):
        G = np.matmul(AX, AY.T, out=G)  # (syrk when AY is AX)
        G += 1.0
        T = np.matmul(DX, DY.T, out=T)
        G *= T
        if K is None:
            K, G = G, None
        else:
            K += G
    return K


def _ntk_apply(FX, FY, V) -> np.ndarray:
    """``ntk_from_factors(FX, FY) @ V`` without forming the (len(X), len(Y)) kernel.

    Per layer, ``((D^X D^Y^T) * (A^X A^Y^T + 1)) v = rowsum((D^X M) * A^X) + D^X (D^Y^T v)`` with
    ``M = D^Y^T diag(v) A^Y`` (fan_out x fan_in), for each column ``v`` of ``V``: cost
    ``O((n_X + n_Y) fan_out fan_in)`` per column instead of ``O(n_X n_Y (fan_out + fan_in))``
    (checked against the formed kernel in the tests). ``V`` has shape (len(Y),) or (len(Y), m).
    """
    V = np.asarray(V, dtype=np.float64)
    cols = V.reshape(V.shape[0], -1)
    out = np.zeros((FX[0][0].shape[0], cols.shape[1]))
    for (AX, DX), (AY, DY) in zip(FX, FY):
        for j in range(cols.shape[1]):
            v = cols[:, j]
            M = DY.T @ (AY * v[:, None])  # (fan_out, fan_in)
            out[:, j] += np.einsum("ij,ij->i", DX @ M, AX)
            out[:, j] += DX @ (DY.T @ v)
    return out.reshape((out.shape[0],) + V.shape[1:])


def empirical_ntk(model: ReLUMLP, X, Y=None) -> np.ndarray:
    """Empirical NTK by the layer-factorised formula (float64), shape (len(X), len(Y)).

    ``Theta(x, x') = sum_l <delta_l(x), delta_l(x')> (<a_{l-1}(x), a_{l-1}(x')> + 1)``:
    the ``+1`` is the bias. No per-parameter Jacobian is materialised.

    Examples
    --------
    >>> m = ReLUMLP(d=3, depth=2, width=8, seed=0)
    >>> X = np.array([[1.0, -1.0, 1.0], [1.0, 1.0, -1.0]])
    >>> bool(np.allclose(empirical_ntk(m, X), empirical_ntk_torchfunc(m, X), rtol=1e-10))
    True
    """
    FX = ntk_factors(model, X)
    FY = None if Y is None else ntk_factors(model, Y)
    return ntk_from_factors(FX, FY)


def empirical_ntk_torchfunc(model: ReLUMLP, X, Y=None, *, dtype=torch.float64) -> np.ndarray:
    """Reference empirical NTK: per-example Jacobians by ``torch.func`` (vmap of jacrev), contracted.

    Memory ``O(n * n_params)``: use for validation and benchmarks on small inputs.
    """
    from torch.func import functional_call, jacrev, vmap

    m = copy.deepcopy(model).to(dtype)
    params = {k: v.detach() for k, v in m.named_parameters()}

    def f(p, x):
        return functional_call(m, p, (x.unsqueeze(0),)).squeeze(0)

    def jac(Z):
        z = torch.as_tensor(np.asarray(Z), dtype=dtype)
        J = vmap(jacrev(f), (None, 0))(params, z)
        return torch.cat([J[k].reshape(z.shape[0], -1) for k in params], dim=1)

    JX = jac(X)
    JY = JX if Y is None else jac(Y)
    return (JX @ JY.T).numpy()
