"""Training PLRNNs and shallow PLRNNs in PyTorch (float64): BPTT and generalized teacher forcing.

This module is *only* about torch training and is not imported by ``rnnexplore/__init__.py``,
so it imports torch at module level. Everything it produces is numpy: a
:class:`rnnexplore.replay.Replay` of checkpoints, a :class:`rnnexplore.replay.Landscape`.

Generalized teacher forcing (GTF, spec section 7)
-------------------------------------------------
With identity observation (the model has ``M >= N`` latent units; the observed data are the
first ``N`` of them), one step of the forced recursion is::

    z_t  = F(z~_{t-1})                                   (prediction, enters the loss)
    z~_t = [(1 - alpha) z_t[:N] + alpha x_t,  z_t[N:]]   (forced state, fed to the next step)

starting from ``z~_0 = [x_0, 0]`` (unobserved units start at zero). The loss is the mean
squared error of the *unforced* predictions ``z_t[:N]`` against ``x_t`` for ``t = 1..T-1``.
``alpha = 0`` is free running (classical BPTT), ``alpha = 1`` classical teacher forcing
(every prediction starts from the data). The Jacobian of the forced recursion picks up a
factor ``(1 - alpha)`` per step, so gradients cannot explode when
``alpha >= 1 - 1/||J||``.

Adaptive alpha (the rule of the authors' training code): every ``alpha_every`` (5) batches,
``alpha_est = max(0, 1 - 1/G)`` where ``G`` is, for every sequence of the batch, the
geometric mean over time of the spectral norms of the Jacobians along the forced
trajectory, maximised over the batch; alpha is raised to ``alpha_est`` at once and
otherwise lowered slowly, ``alpha <- 0.999 alpha + 0.001 alpha_est``.

Models
------
:class:`TorchPLRNN` has a diagonal ``A`` (a vector) and by default an *off-diagonal* ``W``
(the diagonal is masked to zero, as in the paper); pass ``offdiag_W=False`` for a full
``W`` (needed in 1-D, where ``W`` is the single slope difference ``a_r - a_l``).
:class:`TorchShallowPLRNN` is ``z' = a*z + W1 relu(W2 z + h2) + h1``.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.training import TorchPLRNN, train
>>> x = np.sin(0.3 * np.arange(300))[:, None] * np.ones((1, 2))
>>> model = TorchPLRNN(2, seed=0)
>>> rep = train(model, x, epochs=3, seq_len=20, batch_size=4, progress=False)
>>> len(rep.epochs)
4
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnexplore.data import TrajectoryData, validate_trajectory
from rnnexplore.replay import Landscape, Replay, parse_param_name

__all__ = [
    "TorchPLRNN",
    "TorchShallowPLRNN",
    "from_numpy_model",
    "plrnn_step",
    "shplrnn_step",
    "forced_rollout",
    "gtf_loss",
    "estimate_alpha",
    "AdaptiveAlpha",
    "train",
    "train_runs",
    "loss_landscape",
    "skew_tent_gradient",
    "power_law_exponent",
]

DTYPE = torch.float64


# --------------------------------------------------------------------------- models
def plrnn_step(z: torch.Tensor, A: torch.Tensor, W: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
    """One PLRNN step ``A*z + relu(z) W^T + h`` (A diagonal, given as a vector).

    Works for a batch of states ``z`` of shape ``(..., B, M)`` and parameters either
    unbatched (``A``, ``h``: ``(M,)``, ``W``: ``(M, M)``) or batched over a leading grid
    axis (``A``, ``h``: ``(G, 1, M)``, ``W``: ``(G, M, M)``).
    """
    return A * z + torch.relu(z) @ W.mT + h


def shplrnn_step(
    z: torch.Tensor,
    a: torch.Tensor,
    W1: torch.Tensor,
    W2: torch.Tensor,
    h1: torch.Tensor,
    h2: torch.Tensor,
) -> torch.Tensor:
    """One shallow PLRNN step ``a*z + relu(z W2^T + h2) W1^T + h1`` (batched like :func:`plrnn_step`)."""
    return a * z + torch.relu(z @ W2.mT + h2) @ W1.mT + h1


def _generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    gen.manual_seed(int(seed) if seed is not None else torch.seed())
    return gen


def _as_param(value: Any, shape: tuple[int, ...], name: str) -> nn.Parameter:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return nn.Parameter(torch.tensor(arr, dtype=DTYPE))


class TorchPLRNN(nn.Module):
    """PLRNN ``z' = A z + W relu(z) + h`` with diagonal ``A`` as a float64 torch module.

    Parameters
    ----------
    M : int
        Number of latent units (at least the number of observed dimensions).
    offdiag_W : bool
        Keep the diagonal of ``W`` at zero (the paper's parametrisation). ``False`` trains a
        full ``W``.
    A, W, h : array_like, optional
        Initial values; missing ones are drawn from ``seed``: ``A ~ U(0.5, 0.9)``,
        ``W ~ N(0, 0.5/M)``, ``h ~ N(0, 0.1)``.
    seed : int, optional

    Examples
    --------
    >>> m = TorchPLRNN(2, A=[0.5, 0.5], W=[[0, 1.0], [-1.0, 0]], h=[0.1, 0.0])
    >>> m.step(torch.zeros(1, 2)).tolist()
    [[0.1, 0.0]]
    """

    kind = "plrnn"
    param_keys = ("A", "W", "h")

    def __init__(
        self,
        M: int,
        *,
        offdiag_W: bool = True,
        A: Any = None,
        W: Any = None,
        h: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if int(M) < 1:
            raise ValueError(f"M must be >= 1, got {M}")
        self.M = int(M)
        self.offdiag_W = bool(offdiag_W)
        gen = _generator(seed)
        if A is None:
            A = (0.5 + 0.4 * torch.rand(M, generator=gen, dtype=DTYPE)).numpy()
        if W is None:
            W = (torch.randn(M, M, generator=gen, dtype=DTYPE) * math.sqrt(0.5 / M)).numpy()
        if h is None:
            h = (0.1 * torch.randn(M, generator=gen, dtype=DTYPE)).numpy()
        self.A = _as_param(A, (M,), "A")
        self.W_raw = _as_param(W, (M, M), "W")
        self.h = _as_param(h, (M,), "h")
        mask = torch.ones(M, M, dtype=DTYPE)
        if self.offdiag_W:
            mask.fill_diagonal_(0.0)
        self.register_buffer("W_mask", mask)

    @property
    def W(self) -> torch.Tensor:
        """The effective coupling matrix (diagonal zeroed when ``offdiag_W``)."""
        return self.W_raw * self.W_mask

    def step(self, z: torch.Tensor) -> torch.Tensor:
        """Map a batch of states ``(B, M)`` one step forward."""
        return plrnn_step(z.to(DTYPE), self.A, self.W, self.h)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """Jacobians ``diag(A) + W diag(1[z > 0])`` for a batch ``(B, M)`` -> ``(B, M, M)``."""
        d = (z > 0).to(DTYPE)
        return torch.diag(self.A) + self.W * d[..., None, :]

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Current parameters as numpy arrays named like :class:`rnnexplore.models.PLRNN`."""
        return {
            "A": self.A.detach().numpy().copy(),
            "W": self.W.detach().numpy().copy(),
            "h": self.h.detach().numpy().copy(),
        }

    def to_numpy_model(self) -> Any:
        """The same map as a :class:`rnnexplore.models.PLRNN` (for SCYFI)."""
        from rnnexplore.models import PLRNN

        p = self.numpy_params()
        return PLRNN(p["A"], p["W"], p["h"])

    def named_trainables(self) -> dict[str, nn.Parameter]:
        """Map of public parameter names ("A", "W", "h") to torch parameters."""
        return {"A": self.A, "W": self.W_raw, "h": self.h}


class TorchShallowPLRNN(nn.Module):
    """Shallow PLRNN ``z' = a*z + W1 relu(W2 z + h2) + h1`` as a float64 torch module.

    Parameters
    ----------
    M : int
        Latent units.
    H : int
        Hidden (rectified) units.
    a, W1, W2, h1, h2 : array_like, optional
        Initial values; missing ones are drawn from ``seed``.
    seed : int, optional

    Examples
    --------
    >>> m = TorchShallowPLRNN(2, 4, seed=0)
    >>> m.step(torch.zeros(3, 2)).shape
    torch.Size([3, 2])
    """

    kind = "shplrnn"
    param_keys = ("a", "W1", "W2", "h1", "h2")

    def __init__(
        self,
        M: int,
        H: int,
        *,
        a: Any = None,
        W1: Any = None,
        W2: Any = None,
        h1: Any = None,
        h2: Any = None,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        if int(M) < 1 or int(H) < 1:
            raise ValueError(f"M and H must be >= 1, got M={M}, H={H}")
        self.M, self.H = int(M), int(H)
        gen = _generator(seed)
        if a is None:
            a = (0.5 + 0.4 * torch.rand(M, generator=gen, dtype=DTYPE)).numpy()
        if W1 is None:
            W1 = (torch.randn(M, H, generator=gen, dtype=DTYPE) * math.sqrt(0.5 / H)).numpy()
        if W2 is None:
            W2 = (torch.randn(H, M, generator=gen, dtype=DTYPE) * math.sqrt(1.0 / M)).numpy()
        if h1 is None:
            h1 = (0.1 * torch.randn(M, generator=gen, dtype=DTYPE)).numpy()
        if h2 is None:
            h2 = (0.1 * torch.randn(H, generator=gen, dtype=DTYPE)).numpy()
        self.a = _as_param(a, (M,), "a")
        self.W1 = _as_param(W1, (M, H), "W1")
        self.W2 = _as_param(W2, (H, M), "W2")
        self.h1 = _as_param(h1, (M,), "h1")
        self.h2 = _as_param(h2, (H,), "h2")

    def step(self, z: torch.Tensor) -> torch.Tensor:
        """Map a batch of states ``(B, M)`` one step forward."""
        return shplrnn_step(z.to(DTYPE), self.a, self.W1, self.W2, self.h1, self.h2)

    def jacobian(self, z: torch.Tensor) -> torch.Tensor:
        """Jacobians ``diag(a) + W1 diag(d) W2`` with ``d = 1[W2 z + h2 > 0]``."""
        d = ((z @ self.W2.mT + self.h2) > 0).to(DTYPE)
        return torch.diag(self.a) + (self.W1 * d[..., None, :]) @ self.W2

    def numpy_params(self) -> dict[str, np.ndarray]:
        """Current parameters as numpy arrays named like :class:`rnnexplore.models.ShallowPLRNN`."""
        return {k: getattr(self, k).detach().numpy().copy() for k in self.param_keys}

    def to_numpy_model(self) -> Any:
        """The same map as a :class:`rnnexplore.models.ShallowPLRNN`."""
        from rnnexplore.models import ShallowPLRNN

        p = self.numpy_params()
        return ShallowPLRNN(p["a"], p["W1"], p["W2"], p["h1"], p["h2"])

    def named_trainables(self) -> dict[str, nn.Parameter]:
        """Map of public parameter names to torch parameters."""
        return {k: getattr(self, k) for k in self.param_keys}


TorchModel = TorchPLRNN | TorchShallowPLRNN


def from_numpy_model(model: Any, *, offdiag_W: bool | None = None) -> TorchModel:
    """Torch copy of a numpy :class:`rnnexplore.models.PLRNN` (diagonal ``A``) or ``ShallowPLRNN``.

    ``offdiag_W`` defaults to ``True`` when the model's ``W`` has a zero diagonal.

    Examples
    --------
    >>> from rnnexplore.models import paper_gt16
    >>> from_numpy_model(paper_gt16()).kind
    'plrnn'
    """
    if hasattr(model, "W1"):
        return TorchShallowPLRNN(
            len(np.asarray(model.h1)),
            len(np.asarray(model.h2)),
            a=np.asarray(model.a, float).reshape(-1),
            W1=model.W1,
            W2=model.W2,
            h1=model.h1,
            h2=model.h2,
        )
    A = np.asarray(model.A, dtype=np.float64)
    if A.ndim == 2:
        if np.any(A - np.diag(np.diag(A))):
            raise ValueError("model.A must be diagonal to train it as a TorchPLRNN")
        A = np.diag(A)
    W = np.asarray(model.W, dtype=np.float64)
    if offdiag_W is None:
        offdiag_W = bool(W.shape[0] > 1 and not np.any(np.diag(W)))
    if offdiag_W and np.any(np.diag(W)):
        raise ValueError("offdiag_W=True needs a model whose W has a zero diagonal")
    return TorchPLRNN(len(A), offdiag_W=offdiag_W, A=A, W=W, h=model.h)


# --------------------------------------------------------------------------- GTF recursion
def _initial_state(x0: torch.Tensor, M: int) -> torch.Tensor:
    N = x0.shape[-1]
    if N == M:
        return x0
    pad = torch.zeros(*x0.shape[:-1], M - N, dtype=x0.dtype)
    return torch.cat([x0, pad], dim=-1)


def forced_rollout(
    step: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    alpha: float,
    M: int,
    *,
    return_forced: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Run the GTF recursion on data windows and return the unforced predictions.

    Parameters
    ----------
    step : callable
        One step of the model on a batch of states ``(..., M)``.
    x : tensor of shape (..., T, N)
        Data windows (``N <= M``); the leading dimensions are batch dimensions.
    alpha : float
        Forcing strength in [0, 1].
    M : int
        Latent dimension.
    return_forced : bool
        Also return the forced states ``z~_0..z~_{T-2}`` (the inputs of every step).

    Returns
    -------
    preds : tensor of shape (..., T-1, M)
        ``z_1..z_{T-1}``.
    forced : tensor of shape (..., T-1, M), only if ``return_forced``
    """
    N = x.shape[-1]
    T = x.shape[-2]
    z = _initial_state(x[..., 0, :], M)
    preds, forced = [], []
    for t in range(1, T):
        if return_forced:
            forced.append(z)
        z = step(z)
        preds.append(z)
        if alpha != 0.0:
            obs = (1.0 - alpha) * z[..., :N] + alpha * x[..., t, :]
            z = obs if N == M else torch.cat([obs, z[..., N:]], dim=-1)
    out = torch.stack(preds, dim=-2)
    if return_forced:
        return out, torch.stack(forced, dim=-2)
    return out


def gtf_loss(model: TorchModel, x: torch.Tensor, alpha: float) -> torch.Tensor:
    """Mean squared error of the unforced predictions of :func:`forced_rollout`.

    Examples
    --------
    >>> m = TorchPLRNN(1, offdiag_W=False, A=[0.5], W=[[0.0]], h=[0.0])
    >>> float(gtf_loss(m, torch.tensor([[[1.0], [0.5], [0.25]]], dtype=torch.float64), 0.0))
    0.0
    """
    N = x.shape[-1]
    preds = forced_rollout(model.step, x, alpha, model.M)
    return torch.mean((preds[..., :N] - x[..., 1:, :]) ** 2)


def estimate_alpha(model: TorchModel, forced_states: torch.Tensor) -> float:
    """``max(0, 1 - 1/G)``, ``G`` = max over sequences of the geometric-mean Jacobian norm.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
    forced_states : tensor of shape (B, T, M)
        States at which the model's Jacobians are evaluated (the forced trajectory).
    """
    with torch.no_grad():
        J = model.jacobian(forced_states)
        norms = torch.linalg.matrix_norm(J, ord=2).clamp_min(1e-300)
        geo = torch.exp(torch.log(norms).mean(dim=-1))
        G = float(geo.max())
    return max(0.0, 1.0 - 1.0 / G) if G > 0 else 0.0


class AdaptiveAlpha:
    """The adaptive forcing schedule: raise at once, lower slowly (see module docstring).

    Examples
    --------
    >>> s = AdaptiveAlpha(0.0)
    >>> s.update(0.3), round(s.update(0.1), 6)
    (0.3, 0.2998)
    """

    def __init__(self, alpha: float = 0.0, *, decay: float = 0.999) -> None:
        self.alpha = float(alpha)
        self.decay = float(decay)

    def update(self, alpha_est: float) -> float:
        """Fold a new estimate into the running alpha and return it."""
        if alpha_est > self.alpha:
            self.alpha = float(alpha_est)
        else:
            self.alpha = self.decay * self.alpha + (1.0 - self.decay) * float(alpha_est)
        return self.alpha


# --------------------------------------------------------------------------- training
_OPTIMISERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}


def _windows(x: torch.Tensor, starts: torch.Tensor, seq_len: int) -> torch.Tensor:
    idx = starts[:, None] + torch.arange(seq_len)[None, :]
    return x[idx]


def _grad_norm(params: Sequence[torch.Tensor]) -> float:
    sq = 0.0
    for p in params:
        if p.grad is not None:
            sq += float(torch.sum(p.grad.detach() ** 2))
    return math.sqrt(sq)


def _train_data(data: Any) -> np.ndarray:
    if isinstance(data, TrajectoryData):
        return data.train
    return validate_trajectory(data, "data")


def train(
    model: TorchModel,
    data: Any,
    *,
    alpha: float | str = 0.0,
    epochs: int = 100,
    seq_len: int = 50,
    batch_size: int = 16,
    batches_per_epoch: int = 1,
    lr: float = 1e-3,
    optimizer: str = "adam",
    trainable: Sequence[str] | None = None,
    grad_clip: float | None = None,
    record_every: int = 1,
    n_eval: int = 16,
    alpha_every: int = 5,
    alpha_init: float = 0.0,
    seed: int | None = 0,
    progress: bool | str = True,
    callback: Callable[[dict], Any] | None = None,
) -> Replay:
    """Train ``model`` in place with BPTT (``alpha=0``), fixed-alpha GTF or adaptive GTF.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
        Trained in place; its ``M`` must be >= the number of data columns (identity
        observation: the data are the first ``N`` latent units).
    data : TrajectoryData or array_like of shape (T, N)
        Training trajectory (``data.train`` for a :class:`~rnnexplore.data.TrajectoryData`).
    alpha : float in [0, 1] or "adaptive"
        Forcing strength; ``"adaptive"`` follows the schedule of the module docstring.
    epochs : int
        Number of epochs; one epoch is ``batches_per_epoch`` optimiser steps.
    seq_len : int
        Length of the training windows (``2 <= seq_len <= T``).
    batch_size : int
        Windows per batch, drawn uniformly from the training trajectory.
    batches_per_epoch : int
    lr : float
        Learning rate.
    optimizer : {"adam", "sgd", "rmsprop"}
    trainable : sequence of str, optional
        Names of the parameters to train (e.g. ``("A",)``); the others stay fixed.
        Default: all.
    grad_clip : float, optional
        Clip the gradient norm (the logged norm is the one before clipping).
    record_every : int
        Epochs between checkpoints (checkpoint 0 is the initial model; the last epoch is
        always recorded).
    n_eval : int
        Fixed evaluation windows (drawn once from ``seed``) on which every checkpoint's
        ``loss`` (training objective with the current alpha), ``free_loss`` (alpha = 0) and
        ``grad_norm`` are computed, so checkpoint curves carry no minibatch noise.
    alpha_every : int
        Batches between adaptive-alpha updates.
    alpha_init : float
        Starting alpha of the adaptive schedule.
    seed : int, optional
        Seeds window sampling (and nothing else: initial weights come from the model).
    progress : bool or str
        ``tqdm.auto`` progress bar over epochs.
    callback : callable, optional
        Called at every checkpoint with a dict ``{"epoch", "loss", "free_loss",
        "grad_norm", "alpha", "params", "model"}``; returning ``True`` stops training.

    Returns
    -------
    Replay
        Checkpoints plus per-step ``step_loss``, ``step_grad_norm`` and ``step_alpha``.

    Examples
    --------
    >>> x = np.cos(0.2 * np.arange(200))[:, None]
    >>> m = TorchPLRNN(2, seed=1)
    >>> rep = train(m, x, alpha="adaptive", epochs=4, seq_len=25, batch_size=8,
    ...             record_every=2, progress=False)
    >>> rep.epochs.tolist()
    [0, 2, 4]
    """
    x_np = _train_data(data)
    T, N = x_np.shape
    if not isinstance(model, (TorchPLRNN, TorchShallowPLRNN)):
        raise ValueError("model must be a TorchPLRNN or TorchShallowPLRNN")
    if N > model.M:
        raise ValueError(f"data has {N} columns but the model only {model.M} latent units")
    adaptive = isinstance(alpha, str)
    if adaptive and alpha != "adaptive":
        raise ValueError(f"alpha must be a number in [0, 1] or 'adaptive', got {alpha!r}")
    if not adaptive and not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    for name, val, lo in (
        ("epochs", epochs, 1),
        ("batch_size", batch_size, 1),
        ("batches_per_epoch", batches_per_epoch, 1),
        ("record_every", record_every, 1),
        ("n_eval", n_eval, 1),
        ("alpha_every", alpha_every, 1),
    ):
        if int(val) < lo:
            raise ValueError(f"{name} must be >= {lo}, got {val}")
    if not 2 <= int(seq_len) <= T:
        raise ValueError(f"seq_len must lie in [2, {T}] (the training length), got {seq_len}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a positive number, got {lr}")
    if optimizer not in _OPTIMISERS:
        raise ValueError(f"optimizer must be one of {sorted(_OPTIMISERS)}, got {optimizer!r}")
    named = model.named_trainables()
    names = list(named) if trainable is None else list(trainable)
    unknown = [n for n in names if n not in named]
    if unknown or not names:
        raise ValueError(f"trainable must name some of {list(named)}, got {trainable!r}")
    for key, p in named.items():
        p.requires_grad_(key in names)
    params = [named[n] for n in names]
    opt = _OPTIMISERS[optimizer](params, lr=lr)

    gen = _generator(seed)
    x = torch.tensor(x_np, dtype=DTYPE)
    n_start = T - int(seq_len) + 1
    eval_x = _windows(x, torch.randint(0, n_start, (int(n_eval),), generator=gen), int(seq_len))
    schedule = AdaptiveAlpha(alpha_init) if adaptive else None
    cur_alpha = schedule.alpha if adaptive else float(alpha)

    rec: dict[str, list] = {k: [] for k in ("epochs", "loss", "free_loss", "grad_norm", "alpha")}
    rec_params: dict[str, list] = {k: [] for k in model.numpy_params()}
    steps: dict[str, list] = {"loss": [], "grad_norm": [], "alpha": []}

    def checkpoint(epoch: int) -> bool:
        opt.zero_grad(set_to_none=True)
        loss = gtf_loss(model, eval_x, cur_alpha)
        loss.backward()
        gnorm = _grad_norm(params)
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            free = float(gtf_loss(model, eval_x, 0.0)) if cur_alpha != 0.0 else float(loss.detach())
        snapshot = model.numpy_params()
        rec["epochs"].append(epoch)
        rec["loss"].append(float(loss.detach()))
        rec["free_loss"].append(free)
        rec["grad_norm"].append(gnorm)
        rec["alpha"].append(cur_alpha)
        for k, v in snapshot.items():
            rec_params[k].append(v)
        if callback is not None:
            info = {
                "epoch": epoch,
                "loss": float(loss.detach()),
                "free_loss": free,
                "grad_norm": gnorm,
                "alpha": cur_alpha,
                "params": snapshot,
                "model": model,
            }
            return bool(callback(info))
        return False

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(epochs), desc=progress if isinstance(progress, str) else "training")
    batch_count = 0
    try:
        stop = checkpoint(0)
        epoch = 0
        while not stop and epoch < int(epochs):
            epoch += 1
            for _ in range(int(batches_per_epoch)):
                xb = _windows(x, torch.randint(0, n_start, (int(batch_size),), generator=gen), int(seq_len))
                opt.zero_grad(set_to_none=True)
                if adaptive and batch_count % int(alpha_every) == 0:
                    with torch.no_grad():
                        _, forced = forced_rollout(model.step, xb, cur_alpha, model.M, return_forced=True)
                    cur_alpha = schedule.update(estimate_alpha(model, forced))
                loss = gtf_loss(model, xb, cur_alpha)
                loss.backward()
                gnorm = _grad_norm(params)
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, float(grad_clip))
                if math.isfinite(float(loss.detach())) and math.isfinite(gnorm):
                    opt.step()
                steps["loss"].append(float(loss.detach()))
                steps["grad_norm"].append(gnorm)
                steps["alpha"].append(cur_alpha)
                batch_count += 1
            if epoch % int(record_every) == 0 or epoch == int(epochs):
                stop = checkpoint(epoch)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{steps['loss'][-1]:.3g}", alpha=f"{cur_alpha:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        for p in named.values():
            p.requires_grad_(True)

    info = {
        "alpha": alpha if adaptive else float(alpha),
        "seq_len": int(seq_len),
        "batch_size": int(batch_size),
        "batches_per_epoch": int(batches_per_epoch),
        "lr": float(lr),
        "optimizer": optimizer,
        "trainable": names,
        "seed": seed,
        "record_every": int(record_every),
        "grad_clip": grad_clip,
        "n_obs": int(N),
    }
    if isinstance(model, TorchPLRNN):
        info["offdiag_W"] = model.offdiag_W
    return Replay(
        kind=model.kind,
        epochs=np.asarray(rec["epochs"], dtype=np.int64),
        params={k: np.stack(v) for k, v in rec_params.items()},
        loss=np.asarray(rec["loss"]),
        free_loss=np.asarray(rec["free_loss"]),
        grad_norm=np.asarray(rec["grad_norm"]),
        alpha=np.asarray(rec["alpha"]),
        step_loss=np.asarray(steps["loss"]),
        step_grad_norm=np.asarray(steps["grad_norm"]),
        step_alpha=np.asarray(steps["alpha"]),
        info=info,
    )


# --------------------------------------------------------------------------- many runs
def _train_run_work(item: dict) -> Replay:
    """Top-level work function of :func:`train_runs` (plain data in, a Replay out)."""
    torch.set_num_threads(1)
    spec = dict(item)
    kind = spec.pop("kind")
    init = spec.pop("init")
    x = spec.pop("x")
    if kind == "plrnn":
        model = TorchPLRNN(len(init["A"]), offdiag_W=spec.pop("offdiag_W", True), **init)
    else:
        model = TorchShallowPLRNN(len(init["a"]), len(init["h2"]), **init)
    return train(model, x, progress=False, **spec)


def train_runs(
    model: TorchModel,
    data: Any,
    *,
    seeds: Sequence[int] = (0,),
    alphas: Sequence[float | str] = (0.0,),
    init_noise: float = 0.0,
    executor: Any = None,
    progress: bool | str = False,
    **train_kwargs: Any,
) -> list[Replay]:
    """Train copies of ``model`` for every (seed, alpha) pair through :func:`rnnexplore.parallel.parallel_map`.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
        Initial model (not modified); every run starts from its parameters plus, if
        ``init_noise > 0``, Gaussian noise of that size drawn from the run's seed.
    data : TrajectoryData or array_like (T, N)
    seeds, alphas : sequences
        Runs are the product ``[(s, a) for s in seeds for a in alphas]``, in that order.
    init_noise : float
    executor : concurrent.futures.Executor, optional
        E.g. a ``ProcessPoolExecutor(2)`` or a Dask client's ``get_executor()``.
    progress : bool or str
    **train_kwargs
        Passed to :func:`train` (``epochs``, ``seq_len``, ``lr``, ...).

    Returns
    -------
    list of Replay
        In the order of the runs; each replay's ``info`` holds its ``seed`` and ``alpha``.

    Examples
    --------
    >>> x = np.sin(0.3 * np.arange(200))[:, None]
    >>> reps = train_runs(TorchPLRNN(2, seed=0), x, seeds=[0, 1], alphas=[0.0, 0.1],
    ...                   epochs=2, seq_len=20, batch_size=4)
    >>> [(r.info["seed"], r.info["alpha"]) for r in reps]
    [(0, 0.0), (0, 0.1), (1, 0.0), (1, 0.1)]
    """
    from rnnexplore.parallel import parallel_map

    x_np = _train_data(data)
    base = model.numpy_params()
    items = []
    for s in seeds:
        for a in alphas:
            init = {k: v.copy() for k, v in base.items()}
            if init_noise > 0:
                rng = np.random.default_rng(int(s))
                for k in init:
                    init[k] = init[k] + init_noise * rng.standard_normal(init[k].shape)
                if isinstance(model, TorchPLRNN) and model.offdiag_W:
                    np.fill_diagonal(init["W"], 0.0)
            item = {"kind": model.kind, "init": init, "x": x_np, "seed": int(s), "alpha": a}
            if isinstance(model, TorchPLRNN):
                item["offdiag_W"] = model.offdiag_W
            item.update(train_kwargs)
            items.append(item)
    return parallel_map(_train_run_work, items, executor=executor, progress=progress)


# --------------------------------------------------------------------------- landscapes
def _grid_params(
    base: dict[str, np.ndarray],
    x_name: str,
    y_name: str,
    xs: np.ndarray,
    ys: np.ndarray,
) -> dict[str, torch.Tensor]:
    gx, gy = np.meshgrid(xs, ys)  # (ny, nx)
    G = gx.size
    out = {}
    for k, v in base.items():
        out[k] = np.broadcast_to(v, (G,) + v.shape).copy()
    for name, vals in ((x_name, gx.ravel()), (y_name, gy.ravel())):
        key, idx = parse_param_name(name)
        out[key][(slice(None),) + idx] = vals
    return {k: torch.tensor(v, dtype=DTYPE, requires_grad=True) for k, v in out.items()}


def loss_landscape(
    model: Any,
    data: Any,
    x_param: str,
    y_param: str,
    x_values: Any,
    y_values: Any,
    *,
    alpha: float = 0.0,
    seq_len: int = 100,
    n_windows: int = 4,
    seed: int | None = 0,
    wrt: Sequence[str] | None = None,
    chunk: int = 1024,
    progress: bool | str = False,
) -> Landscape:
    """Loss and gradient norm of the GTF objective over a grid of two parameters.

    The other parameters stay at the values of ``model``. The loss is :func:`gtf_loss` on
    ``n_windows`` fixed windows of length ``seq_len`` (drawn from ``seed``); the gradient
    norm is over the parameters named in ``wrt`` (default: all trainable ones; the diagonal
    of an off-diagonal ``W`` is excluded). Grid points are evaluated in batches of
    ``chunk`` as one batched recursion (parameters carry a leading grid axis).

    Parameters
    ----------
    model : numpy PLRNN / ShallowPLRNN, or TorchPLRNN / TorchShallowPLRNN
    data : TrajectoryData or array_like (T, N)
    x_param, y_param : str
        Parameter names like ``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``.
    x_values, y_values : 1-D array_like
        Grid values (absolute parameter values).
    alpha : float
        Forcing strength (0: free running, BPTT; > 0: GTF).
    seq_len, n_windows, seed :
        Evaluation windows.
    wrt : sequence of str, optional
        Parameter arrays (e.g. ``("A",)``) whose gradient enters the norm.
    chunk : int
        Grid points per batched evaluation (bounds memory).
    progress : bool or str

    Returns
    -------
    Landscape
        ``loss`` and ``grad_norm`` of shape ``(len(y_values), len(x_values))``.

    Examples
    --------
    >>> m = TorchPLRNN(2, seed=0)
    >>> x = np.sin(0.3 * np.arange(100))[:, None]
    >>> L = loss_landscape(m, x, "A[0]", "A[1]", [0.1, 0.5, 0.9], [0.2, 0.6], seq_len=20)
    >>> L.loss.shape
    (2, 3)
    """
    tmodel = model if isinstance(model, (TorchPLRNN, TorchShallowPLRNN)) else from_numpy_model(model)
    base = tmodel.numpy_params()
    xs = np.asarray(x_values, dtype=np.float64).ravel()
    ys = np.asarray(y_values, dtype=np.float64).ravel()
    if xs.size < 1 or ys.size < 1 or not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("x_values and y_values must be non-empty finite 1-D arrays")
    for name in (x_param, y_param):
        key, idx = parse_param_name(name)
        if key not in base:
            raise ValueError(f"unknown parameter {name!r}; the model has {list(base)}")
        try:
            base[key][idx]
        except IndexError:
            raise ValueError(f"parameter index out of range: {name!r}") from None
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")
    wrt = list(base) if wrt is None else list(wrt)
    if not wrt or any(k not in base for k in wrt):
        raise ValueError(f"wrt must name some of {list(base)}, got {wrt!r}")
    grad_mask = {k: torch.ones(base[k].shape, dtype=DTYPE) for k in wrt}
    if isinstance(tmodel, TorchPLRNN) and "W" in grad_mask:
        grad_mask["W"] = tmodel.W_mask.clone()
    x_np = _train_data(data)
    T, N = x_np.shape
    if not 2 <= int(seq_len) <= T:
        raise ValueError(f"seq_len must lie in [2, {T}], got {seq_len}")
    gen = _generator(seed)
    x = torch.tensor(x_np, dtype=DTYPE)
    win = _windows(x, torch.randint(0, T - int(seq_len) + 1, (int(n_windows),), generator=gen), int(seq_len))
    M = tmodel.M
    loss_out = np.empty(ys.size * xs.size)
    grad_out = np.empty(ys.size * xs.size)
    grid = _grid_params(base, x_param, y_param, xs, ys)
    G = ys.size * xs.size
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=G, desc=progress if isinstance(progress, str) else "landscape")
    try:
        for lo in range(0, G, int(chunk)):
            hi = min(G, lo + int(chunk))
            p = {k: v[lo:hi].detach().clone().requires_grad_(True) for k, v in grid.items()}
            if tmodel.kind == "plrnn":
                W = p["W"]

                def step(z: torch.Tensor) -> torch.Tensor:
                    return plrnn_step(z, p["A"][:, None, :], W, p["h"][:, None, :])

            else:

                def step(z: torch.Tensor) -> torch.Tensor:
                    return shplrnn_step(
                        z, p["a"][:, None, :], p["W1"], p["W2"], p["h1"][:, None, :], p["h2"][:, None, :]
                    )

            xb = win.expand(hi - lo, *win.shape)
            preds = forced_rollout(step, xb, float(alpha), M)
            per_point = torch.mean((preds[..., :N] - xb[..., 1:, :]) ** 2, dim=(-1, -2, -3))
            per_point.sum().backward()
            sq = sum(torch.sum((p[k].grad * grad_mask[k]).reshape(hi - lo, -1) ** 2, dim=1) for k in wrt)
            loss_out[lo:hi] = per_point.detach().numpy()
            grad_out[lo:hi] = torch.sqrt(sq).numpy()
            if bar is not None:
                bar.update(hi - lo)
    finally:
        if bar is not None:
            bar.close()
    return Landscape(
        x_param=x_param,
        y_param=y_param,
        x_values=xs,
        y_values=ys,
        loss=loss_out.reshape(ys.size, xs.size),
        grad_norm=grad_out.reshape(ys.size, xs.size),
        info={"alpha": float(alpha), "seq_len": int(seq_len), "n_windows": int(n_windows), "seed": seed, "wrt": wrt},
    )


# --------------------------------------------------------------------------- the theorem
def skew_tent_gradient(
    a_r: float,
    *,
    a_l: float = 0.2,
    mu: float = 1.0,
    target: float = 0.0,
    n_steps: int | None = None,
) -> float:
    """``|dL/da_r|`` for the long-run state of the 1-D skew tent map, by autograd.

    The model ``z' = a_l z + (a_r - a_l) relu(z) + mu`` (a 1-D :class:`TorchPLRNN` with
    ``A = a_l`` and full ``W = a_r - a_l``) is run freely from ``z_0 = mu`` for ``n_steps``
    steps (default ``ceil(45 / (1 - abs(a_r)))``, long enough that ``z_T`` equals the fixed point
    ``z* = mu / (1 - a_r)`` to machine precision). The loss is the absolute error
    ``L = |z_T - target|`` of this long-run state. Its derivative is
    ``sign(z* - target) dz*/da_r`` with ``dz*/da_r = mu / (1 - a_r)^2``: the gradient
    diverges like ``(1 - a_r)^-2`` as the degenerate transcritical bifurcation at
    ``a_r = 1`` approaches, which is the paper's statement that parameter derivatives of
    the object scale like ``(I - P)^-2``. (A squared-error loss would multiply this by the
    error ``z* - target`` itself, which also diverges, and give exponent 3.) The gradient
    is taken w.r.t. ``W`` with ``A`` fixed, which is ``d/da_r``.

    Parameters
    ----------
    a_r : float in (-1, 1)
        Right slope; the fixed point is stable there.
    a_l, mu, target : float
    n_steps : int, optional

    Returns
    -------
    float

    Examples
    --------
    >>> round(skew_tent_gradient(0.5), 6)     # mu / (1 - a_r)^2 = 4
    4.0
    """
    if not -1.0 < a_r < 1.0:
        raise ValueError(f"a_r must lie in (-1, 1) (stable fixed point), got {a_r}")
    if mu <= 0:
        raise ValueError(f"mu must be > 0, got {mu}")
    if n_steps is None:
        n_steps = int(math.ceil(45.0 / (1.0 - abs(a_r))))
    m = TorchPLRNN(1, offdiag_W=False, A=[a_l], W=[[a_r - a_l]], h=[mu])
    z = torch.tensor([[mu]], dtype=DTYPE)
    for _ in range(int(n_steps)):
        z = m.step(z)
    loss = torch.abs(z[0, 0] - target)
    loss.backward()
    return float(torch.abs(m.W_raw.grad[0, 0]))


def power_law_exponent(x: Any, y: Any) -> float:
    """Least-squares exponent ``p`` of ``y ~ C x^p`` (slope of log y against log x).

    Examples
    --------
    >>> x = np.array([0.1, 0.01, 0.001])
    >>> round(power_law_exponent(x, 3 * x ** -2.0), 6)
    -2.0
    """
    lx = np.log(np.asarray(x, dtype=np.float64))
    ly = np.log(np.asarray(y, dtype=np.float64))
    if lx.shape != ly.shape or lx.size < 2 or not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise ValueError("x and y must be positive, finite, of equal length >= 2")
    return float(np.polyfit(lx, ly, 1)[0])

