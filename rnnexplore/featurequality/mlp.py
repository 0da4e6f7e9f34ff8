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

__all__ = [
    "ReLUMLP",
    "train_mlp",
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
) -> np.ndarray:
    """Train with Adam on MSE, lr cosine-annealed to 0, minibatches sampled with replacement.

    Parameters
    ----------
    model : ReLUMLP
        Trained in place.
    X, y : array_like, shapes (n, d) and (n,)
    steps : int
        Number of Adam steps.
    lr : float
        Initial learning rate (``CosineAnnealingLR`` with ``T_max = steps``).
    batch_size : int
        Minibatch size; indices drawn uniformly with replacement.
    seed : int
        Seed of the minibatch indices.
    record_every : int
        Record the minibatch loss every this many steps (0: only the last).
    progress : bool, str or callable
        ``tqdm.auto`` progress bar (a string is its description), or a callable
        ``progress(step, steps)`` called every 100 steps and at the end (for widgets).

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
    dtype = next(model.parameters()).dtype
    Xt = torch.as_tensor(np.asarray(X), dtype=dtype)
    yt = torch.as_tensor(np.asarray(y), dtype=dtype)
    n = Xt.shape[0]
    for name, v in (("steps", steps), ("batch_size", batch_size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
    if not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be finite and > 0, got {lr}")
    g = torch.Generator().manual_seed(int(seed))
    idx = torch.randint(0, n, (int(steps), int(batch_size)), generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=int(steps))
    bar = None
    callback = progress if callable(progress) else None
    if progress and callback is None:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(steps), desc=progress if isinstance(progress, str) else "train", leave=False)
    losses = []
    model.train()
    try:
        for step in range(int(steps)):
            b = idx[step]
            loss = torch.mean((model(Xt[b]) - yt[b]) ** 2)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            last = step == steps - 1
            if last or (record_every and step % record_every == 0):
                losses.append(float(loss.detach()))
            if step % 100 == 99 or last:
                if bar is not None:
                    bar.update(100 if not last else steps - bar.n)
                if callback is not None:
                    callback(step + 1, int(steps))
    finally:
        if bar is not None:
            bar.close()
    return np.asarray(losses)


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
    K = None
    for (AX, DX), (AY, DY) in zip(FX, FY):
        G = AX @ AY.T
        G += 1.0
        G *= DX @ DY.T
        if K is None:
            K = G
        else:
            K += G
    return K


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
