"""Loss and gradient-norm landscapes over two parameters, and the skew-tent gradient law.

Examples
--------
>>> power_law_exponent([1.0, 10.0, 100.0], [1.0, 100.0, 10000.0])
2.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from rnnexplore._validation import check_int, check_memory, check_real, check_seed, check_str
from rnnexplore.dynamics.params import locate_param
from rnnexplore.dynamics.training.replay import Landscape
from rnnexplore.parallel import progress_bar
from rnnexplore.dynamics.training.torch_models import (
    DTYPE,
    TorchPLRNN,
    TorchShallowPLRNN,
    data_windows,
    forced_rollout,
    from_numpy_model,
    plrnn_step,
    shplrnn_step,
    torch_generator,
    trajectory_array,
)


__all__ = [
    "loss_landscape",
    "skew_tent_gradient",
    "power_law_exponent",
]


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
        key, idx = locate_param(name, {k: v.shape for k, v in base.items()})
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
    tmodel = _torch_model(model)
    alpha = check_real(alpha, "alpha", minimum=0.0, maximum=1.0)
    seq_len = check_int(seq_len, "seq_len", minimum=2)
    n_windows = check_int(n_windows, "n_windows", minimum=1, maximum=10**5)
    chunk = check_int(chunk, "chunk", minimum=1)
    seed = check_seed(seed)
    check_str(x_param, "x_param"), check_str(y_param, "y_param")
    base = tmodel.numpy_params()
    xs, ys = _grid_values(x_values, y_values)
    _check_params_and_alpha(base, (x_param, y_param), alpha)
    check_memory((xs.size, ys.size, n_windows, seq_len), "x_values * y_values * n_windows * seq_len")
    wrt = _wrt_names(wrt, base)
    grad_mask = _grad_masks(tmodel, base, wrt)
    win = _eval_windows(data, seq_len, n_windows, seed)
    grid = _grid_params(base, x_param, y_param, xs, ys)
    loss_out, grad_out = _evaluate_grid(tmodel, grid, win, float(alpha), wrt, grad_mask, int(chunk), progress)
    return Landscape(
        x_param=x_param,
        y_param=y_param,
        x_values=xs,
        y_values=ys,
        loss=loss_out.reshape(ys.size, xs.size),
        grad_norm=grad_out.reshape(ys.size, xs.size),
        info={"alpha": float(alpha), "seq_len": int(seq_len), "n_windows": int(n_windows), "seed": seed, "wrt": wrt},
    )


def _torch_model(model: Any) -> Any:
    """The torch model to evaluate (numpy models converted); anything else refused."""
    from rnnexplore.dynamics.models import PLRNN, ShallowPLRNN

    if not isinstance(model, (TorchPLRNN, TorchShallowPLRNN, PLRNN, ShallowPLRNN)):
        raise ValueError(f"model must be a torch or numpy PLRNN / ShallowPLRNN, got {type(model).__name__}")
    return model if isinstance(model, (TorchPLRNN, TorchShallowPLRNN)) else from_numpy_model(model)


def _wrt_names(wrt: Any, base: dict[str, np.ndarray]) -> list[str]:
    """The parameter arrays whose gradient enters the norm (default: all)."""
    if wrt is not None and (isinstance(wrt, str) or not isinstance(wrt, Sequence)):
        raise ValueError(f"wrt must be a list of parameter names, got {wrt!r}")
    return list(base) if wrt is None else list(wrt)


def _evaluate_grid(tmodel: Any, grid: dict[str, torch.Tensor], win: Any, alpha: float, wrt: list[str],
                   grad_mask: Any, chunk: int, progress: bool | str) -> tuple[np.ndarray, np.ndarray]:
    """Loss and gradient norm at every grid point, ``chunk`` points per batched recursion."""
    G = next(iter(grid.values())).shape[0]
    loss_out, grad_out = np.empty(G), np.empty(G)
    with progress_bar(progress, G, "landscape") as bar:
        for lo in range(0, G, chunk):
            hi = min(G, lo + chunk)
            p = {k: v[lo:hi].detach().clone().requires_grad_(True) for k, v in grid.items()}
            loss_out[lo:hi], grad_out[lo:hi] = _loss_and_grad_norm(tmodel, p, win, alpha, wrt, grad_mask)
            bar.update(hi - lo)
    return loss_out, grad_out


def _check_params_and_alpha(base: dict[str, np.ndarray], names: Sequence[str], alpha: float) -> None:
    shapes = {k: v.shape for k, v in base.items()}
    for name in names:
        locate_param(name, shapes)
    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1], got {alpha}")


def _grad_masks(tmodel: Any, base: dict[str, np.ndarray], wrt: list[str]) -> dict[str, torch.Tensor]:
    """0/1 masks of the gradient entries that enter the norm (a PLRNN's fixed zero diagonal of W excluded)."""
    if not wrt or any(k not in base for k in wrt):
        raise ValueError(f"wrt must name some of {list(base)}, got {wrt!r}")
    grad_mask = {k: torch.ones(base[k].shape, dtype=DTYPE) for k in wrt}
    if isinstance(tmodel, TorchPLRNN) and "W" in grad_mask:
        grad_mask["W"] = tmodel.W_mask.clone()
    return grad_mask


def _grid_values(x_values: Any, y_values: Any) -> tuple[np.ndarray, np.ndarray]:
    xs = np.asarray(x_values, dtype=np.float64).ravel()
    ys = np.asarray(y_values, dtype=np.float64).ravel()
    if xs.size < 1 or ys.size < 1 or not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("x_values and y_values must be non-empty finite 1-D arrays")
    return xs, ys


def _eval_windows(data: Any, seq_len: int, n_windows: int, seed: int | None) -> torch.Tensor:
    """The ``n_windows`` fixed evaluation windows of length ``seq_len``, drawn from ``seed``."""
    x_np = trajectory_array(data)
    T = x_np.shape[0]
    if not 2 <= int(seq_len) <= T:
        raise ValueError(f"seq_len must lie in [2, {T}], got {seq_len}")
    gen = torch_generator(seed)
    x = torch.tensor(x_np, dtype=DTYPE)
    return data_windows(x, torch.randint(0, T - int(seq_len) + 1, (int(n_windows),), generator=gen), int(seq_len))


def _grid_step(kind: str, p: dict[str, torch.Tensor]) -> Callable[[torch.Tensor], torch.Tensor]:
    """One step of the model at every grid point at once (parameters carry a leading grid axis)."""
    if kind == "plrnn":
        return lambda z: plrnn_step(z, p["A"][:, None, :], p["W"], p["h"][:, None, :])
    return lambda z: shplrnn_step(z, p["a"][:, None, :], p["W1"], p["W2"], p["h1"][:, None, :], p["h2"][:, None, :])


def _loss_and_grad_norm(tmodel: Any, p: dict[str, torch.Tensor], win: torch.Tensor, alpha: float,
                        wrt: list[str], grad_mask: dict[str, torch.Tensor]) -> tuple[np.ndarray, np.ndarray]:
    """GTF loss and masked gradient norm at a chunk of grid points (``p`` requires grad)."""
    n = next(iter(p.values())).shape[0]
    N = win.shape[-1]
    xb = win.expand(n, *win.shape)
    preds = forced_rollout(_grid_step(tmodel.kind, p), xb, alpha, tmodel.M)
    per_point = torch.mean((preds[..., :N] - xb[..., 1:, :]) ** 2, dim=(-1, -2, -3))
    per_point.sum().backward()
    sq = sum(torch.sum((p[k].grad * grad_mask[k]).reshape(n, -1) ** 2, dim=1) for k in wrt)
    return per_point.detach().numpy(), torch.sqrt(sq).numpy()


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

