"""The engine's one batched solve: cycle equations of many region sequences at once.

Inside a fixed sequence of regions ``D_1..D_k`` the k-fold map of a piecewise-linear RNN is
affine, ``z_{k+1} = P z_1 + r`` with ``P = J_k ... J_1``, so a k-cycle through those regions
solves ``(I - P) z_1 = r`` (Eisenmann et al., NeurIPS 2023, the SCYFI step). This module forms
the products and offsets of a whole stack of sequences, solves them together and runs the true
map from every solution to tell real cycles from virtual ones. Every search, continuation and
enumeration of the kit calls it.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import skew_tent
>>> sol = solve_region_sequences(skew_tent(0.2, -1.5, 1.0), np.array([[[False], [True]]]))
>>> bool(sol.real[0]), sol.points[0, :, 0].round(4).tolist()
(True, [-0.3846, 0.9231])
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from rnnexplore.dynamics.models import _PiecewiseLinearModel

__all__ = ["RegionSolution", "solve_region_sequences", "check_model", "HUGE"]

_COND_MAX = 1e12  # I - P with a larger condition number counts as singular (no solution)
HUGE = 1e150  # entries beyond this are treated as overflow (a diverged or degenerate solution)


def check_model(model: Any) -> None:
    """Raise ValueError unless ``model`` is one of the piecewise-linear models of the kit."""
    if not isinstance(model, _PiecewiseLinearModel):
        raise ValueError(
            "model must be a PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN, "
            f"got {type(model).__name__}"
        )


def _solve_sequences(model: _PiecewiseLinearModel, S: np.ndarray, lengths: np.ndarray | None = None):
    """Solve ``(I - P) z = r`` for a stack of region sequences and run the true map.

    Parameters
    ----------
    S : bool array (B, K, n_bits)
        Region sequences; row b uses its first ``lengths[b]`` regions (the rest is padding,
        so sequences of several orders share one stacked solve).
    lengths : int array (B,), optional
        Order of each row (default: all K).

    Returns
    -------
    ok : (B,) a finite, well-conditioned solution exists
    real : (B,) the true orbit visits exactly the row's regions and closes
    Z : (B, K, M) orbit of the true map from the solution (zeros where not ok)
    V : (B, K, n_bits) regions visited by that orbit
    P : (B, M, M) Jacobian products
    """
    B, K, _ = S.shape
    M = model.M
    eye = np.eye(M)
    J = model.jacobians(S)
    c = model.offsets(S)
    pad = None
    if lengths is not None and np.any(lengths < K):
        pad = np.arange(K)[None, :] >= lengths[:, None]
        J = np.array(J)
        c = np.array(c)
        J[pad] = eye
        c[pad] = 0.0
    with np.errstate(all="ignore"):
        P = J[:, 0]
        r = c[:, 0]
        for i in range(1, K):
            Ji = J[:, i]
            P = Ji @ P
            r = (Ji @ r[:, :, None])[:, :, 0] + c[:, i]
        IP = eye - P
        ok = np.all(np.abs(IP) < HUGE, axis=(1, 2)) & np.all(np.abs(r) < HUGE, axis=1)
        IPs = np.where(ok[:, None, None], IP, eye)
        rs = np.where(ok[:, None], r, 0.0)
        try:
            sv = np.linalg.svd(IPs, compute_uv=False)
        except np.linalg.LinAlgError:  # pragma: no cover - only on pathological input
            sv = np.stack([_safe_sv(m) for m in IPs])
        ok &= (sv[:, -1] > 0) & (sv[:, 0] < _COND_MAX * sv[:, -1])
        IPs[~ok] = eye
        z = np.linalg.solve(IPs, rs[:, :, None])[:, :, 0]
        ok &= np.all(np.abs(z) < HUGE, axis=1)
        z[~ok] = 0.0
        Z = np.empty((B, K + 1, M))
        V = np.empty(S.shape, dtype=bool)
        cur = z
        for i in range(K):
            Z[:, i] = cur
            V[:, i] = model._region(cur)
            cur = model._step(cur)
        Z[:, K] = cur
        same = V == S
        if pad is None:
            real = ok & np.all(same, axis=(1, 2))
            end = cur
            absZ = np.max(np.abs(Z[:, :K]), axis=(1, 2))
        else:
            real = ok & np.all(same | pad[:, :, None], axis=(1, 2))
            end = Z[np.arange(B), lengths]
            absZ = np.max(np.where(pad[:, :, None], 0.0, np.abs(Z[:, :K])), axis=(1, 2))
        # closure |F^k(z) - z| small (rounding grows with the size of P)
        scale = (1.0 + absZ) * (1.0 + np.max(np.abs(P), axis=(1, 2)))
        err = np.max(np.abs(end - z), axis=1)
        real &= np.isfinite(err) & (err <= 1e-8 * np.where(np.isfinite(scale), scale, np.inf))
    return ok, real, Z[:, :K], V, P


class RegionSolution(NamedTuple):
    """Result of :func:`solve_region_sequences` (one entry per region sequence)."""

    solvable: np.ndarray  # (B,) I - P well-conditioned and the solution finite
    real: np.ndarray  # (B,) the true orbit visits exactly the given regions and closes
    points: np.ndarray  # (B, k, M) that orbit (zeros where not solvable)
    P: np.ndarray  # (B, M, M) Jacobian products


def solve_region_sequences(model: _PiecewiseLinearModel, regions: np.ndarray) -> RegionSolution:
    """Solve the cycle equations of a stack of region sequences (the SCYFI step, batched).

    Parameters
    ----------
    model : a model of :mod:`rnnexplore.dynamics.models`
    regions : bool array (B, k, n_bits)

    Returns
    -------
    RegionSolution
        ``solvable`` (B,): ``I - P`` is well-conditioned and the solution finite (False means a
        singular / degenerate-transcritical or overflowing case); ``real`` (B,): the true orbit from
        the solution visits exactly the given regions and closes; ``points`` (B, k, M): that orbit
        (zeros where not solvable); ``P`` (B, M, M): the Jacobian products.
    """
    check_model(model)
    S = np.asarray(regions, dtype=bool)
    if S.ndim != 3 or S.shape[2] != model.n_bits or S.shape[1] < 1:
        raise ValueError(f"regions must have shape (B, k, {model.n_bits}), got {S.shape}")
    ok, real, Z, _V, P = _solve_sequences(model, S)
    return RegionSolution(ok, real, Z, P)


def _safe_sv(m: np.ndarray) -> np.ndarray:  # pragma: no cover
    try:
        return np.linalg.svd(m, compute_uv=False)
    except np.linalg.LinAlgError:
        return np.r_[1.0, np.zeros(m.shape[0] - 1)]


