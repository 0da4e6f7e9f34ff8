"""PLRNN and shallow PLRNN as float64 PyTorch modules, and generalized teacher forcing.

Generalized teacher forcing (GTF; Hess et al., "Generalized teacher forcing for learning chaotic
dynamics", ICML 2023; Eisenmann et al., NeurIPS 2023)
--------------------------------------------------------------------------------------------
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
>>> import torch
>>> m = TorchPLRNN(2, seed=0)
>>> m.step(torch.zeros(1, 2)).shape
torch.Size([1, 2])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from rnnexplore._validation import check_array, check_bool, check_int, check_memory, check_seed
from rnnexplore.dynamics.training.data import TrajectoryData, validate_trajectory


__all__ = [
    "DTYPE",
    "TorchPLRNN",
    "TorchShallowPLRNN",
    "TorchModel",
    "from_numpy_model",
    "plrnn_step",
    "shplrnn_step",
    "forced_rollout",
    "gtf_loss",
    "estimate_alpha",
    "AdaptiveAlpha",
    "torch_generator",
    "data_windows",
    "trajectory_array",
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


def torch_generator(seed: int | None) -> torch.Generator:
    gen = torch.Generator()
    seed = check_seed(seed)
    gen.manual_seed(seed if seed is not None else torch.seed())
    return gen


def _as_param(value: Any, shape: tuple[int, ...], name: str) -> nn.Parameter:
    arr = check_array(value, name, shape=shape)
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
        M = check_int(M, "M", minimum=1)
        check_memory((M, M), "M")
        self.M = M
        self.offdiag_W = check_bool(offdiag_W, "offdiag_W")
        gen = torch_generator(seed)
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
        """Current parameters as numpy arrays named like :class:`rnnexplore.dynamics.models.PLRNN`."""
        return {
            "A": self.A.detach().numpy().copy(),
            "W": self.W.detach().numpy().copy(),
            "h": self.h.detach().numpy().copy(),
        }

    def to_numpy_model(self) -> Any:
        """The same map as a :class:`rnnexplore.dynamics.models.PLRNN` (for SCYFI)."""
        from rnnexplore.dynamics.models import PLRNN

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
        M, H = check_int(M, "M", minimum=1), check_int(H, "H", minimum=1)
        check_memory((M, H), "M * H")
        self.M, self.H = M, H
        gen = torch_generator(seed)
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
        """Current parameters as numpy arrays named like :class:`rnnexplore.dynamics.models.ShallowPLRNN`."""
        return {k: getattr(self, k).detach().numpy().copy() for k in self.param_keys}

    def to_numpy_model(self) -> Any:
        """The same map as a :class:`rnnexplore.dynamics.models.ShallowPLRNN`."""
        from rnnexplore.dynamics.models import ShallowPLRNN

        p = self.numpy_params()
        return ShallowPLRNN(p["a"], p["W1"], p["W2"], p["h1"], p["h2"])

    def named_trainables(self) -> dict[str, nn.Parameter]:
        """Map of public parameter names to torch parameters."""
        return {k: getattr(self, k) for k in self.param_keys}


TorchModel = TorchPLRNN | TorchShallowPLRNN


def from_numpy_model(model: Any, *, offdiag_W: bool | None = None) -> TorchModel:
    """Torch copy of a numpy :class:`rnnexplore.dynamics.models.PLRNN` (diagonal ``A``) or ``ShallowPLRNN``.

    ``offdiag_W`` defaults to ``True`` when the model's ``W`` has a zero diagonal.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
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
    >>> gtf_loss(m, torch.tensor([[[1.0], [0.5], [0.25]]], dtype=torch.float64), 0.0).item()
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


def data_windows(x: torch.Tensor, starts: torch.Tensor, seq_len: int) -> torch.Tensor:
    idx = starts[:, None] + torch.arange(seq_len)[None, :]
    return x[idx]


def trajectory_array(data: Any) -> np.ndarray:
    if isinstance(data, TrajectoryData):
        return data.train
    return validate_trajectory(data, "data")
