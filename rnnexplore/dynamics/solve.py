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

from rnnexplore.dynamics.models import PiecewiseLinearModel

__all__ = ["RegionSolution", "solve_region_sequences", "check_model", "HUGE"]

_RANK_RTOL = 4 * np.finfo(np.float64).eps  # singular value below this (times K and scale): rank lost
_CONSISTENT_RTOL = 1e-9  # a singular system is consistent when its least-squares residual is this small
HUGE = 1e150  # entries beyond this are treated as overflow (a diverged or degenerate solution)


def check_model(model: Any) -> None:
    """Raise ValueError unless ``model`` is one of the piecewise-linear models of the kit."""
    if not isinstance(model, PiecewiseLinearModel):
        raise ValueError(
            "model must be a PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN, "
            f"got {type(model).__name__}"
        )


def _solve_sequences(model: PiecewiseLinearModel, S: np.ndarray, lengths: np.ndarray | None = None,
                     bits: np.ndarray | None = None):
    """Solve ``(I - P) z = r`` for a stack of region sequences and run the true map.

    Parameters
    ----------
    S : bool array (B, K, n_bits)
        Region sequences; row b uses its first ``lengths[b]`` regions (the rest is padding,
        so sequences of several orders share one stacked solve).
    lengths : int array (B,), optional
        Order of each row (default: all K).
    bits : bool array (n_bits,), optional
        The region bits the true orbit must match (default all). Bits that change neither a
        Jacobian nor an offset can be left out: their value does not change the solution.

    Returns
    -------
    ok : (B,) ``I - P`` has full rank and the solution is finite (one isolated candidate)
    real : (B,) the true orbit visits exactly the row's regions and closes
    Z : (B, K, M) orbit of the true map from the solution (from the least-squares point of a
        singular system; zeros where overflowing)
    V : (B, K, n_bits) regions visited by that orbit
    P : (B, M, M) Jacobian products
    continuum : (B,) ``I - P`` is singular and ``(I - P) z = r`` is consistent: the solutions
        form an affine set of dimension >= 1 (whether it meets the regions is a separate question)

    Notes
    -----
    There is no condition-number cut: a badly conditioned but regular ``I - P`` is solved and
    the candidate kept when its residual and the closure of the true orbit are small. Rank is
    lost only when a singular value falls below the rounding level of forming ``P``,
    ``4 eps K (1 + max|P|)``.
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
        finite = np.all(np.abs(IP) < HUGE, axis=(1, 2)) & np.all(np.abs(r) < HUGE, axis=1)
        IPs = np.where(finite[:, None, None], IP, eye)
        rs = np.where(finite[:, None], r, 0.0)
        Pmax = np.max(np.abs(np.where(finite[:, None, None], P, 0.0)), axis=(1, 2))
        rank_tol = _RANK_RTOL * K * (1.0 + Pmax)
        # s_min >= |det| / s_max^(M-1) >= |det| / |I - P|_F^(M-1): a cheap proof of full rank;
        # the singular values are computed only for the rows it cannot clear
        fro = np.sqrt(np.sum(IPs * IPs, axis=(1, 2)))
        regular = finite & (np.abs(np.linalg.det(IPs)) > rank_tol * fro ** (M - 1))
        unsure = finite & ~regular
        if unsure.any():
            try:
                sv = np.linalg.svd(IPs[unsure], compute_uv=False)
            except np.linalg.LinAlgError:  # pragma: no cover - only on pathological input
                sv = np.stack([_safe_sv(m) for m in IPs[unsure]])
            regular[unsure] = sv[:, -1] > rank_tol[unsure]
        singular = finite & ~regular
        z = np.zeros((B, M))
        continuum = np.zeros(B, dtype=bool)
        if regular.any():
            z[regular] = np.linalg.solve(IPs[regular], rs[regular][:, :, None])[:, :, 0]
        if singular.any():  # least squares through the SVD; consistent = continuum
            U, s, Vt = np.linalg.svd(IPs[singular])
            keep = s > rank_tol[singular, None]
            ur = np.einsum("bji,bj->bi", U, rs[singular])
            inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
            z[singular] = np.einsum("bji,bj->bi", Vt, inv * ur)
            resid = np.sqrt(np.sum(np.where(keep, 0.0, ur) ** 2, axis=1))
            rnorm = np.sqrt(np.sum(rs[singular] ** 2, axis=1))
            continuum[singular] = resid <= _CONSISTENT_RTOL * (1.0 + rnorm)
        # residual check of the regular solves (the closure test below repeats it on the true map)
        res = np.max(np.abs((IPs @ z[:, :, None])[:, :, 0] - rs), axis=1)
        res_scale = (1.0 + np.max(np.abs(rs), axis=1)) + (1.0 + Pmax) * np.max(np.abs(z), axis=1)
        ok = regular & np.all(np.abs(z) < HUGE, axis=1) & (res <= 1e-9 * res_scale)
        z[~(ok | continuum)] = 0.0
        continuum &= np.all(np.abs(z) < HUGE, axis=1)
        Z = np.empty((B, K + 1, M))
        V = np.empty(S.shape, dtype=bool)
        cur = z
        for i in range(K):
            Z[:, i] = cur
            V[:, i] = model._region(cur)
            cur = model._step(cur)
        Z[:, K] = cur
        same = V == S
        if bits is not None:
            same = same | ~np.asarray(bits, dtype=bool)
        if pad is None:
            real = ok & np.all(same, axis=(1, 2))
            end = cur
            absZ = np.max(np.abs(Z[:, :K]), axis=(1, 2))
        else:
            real = ok & np.all(same | pad[:, :, None], axis=(1, 2))
            end = Z[np.arange(B), lengths]
            absZ = np.max(np.where(pad[:, :, None], 0.0, np.abs(Z[:, :K])), axis=(1, 2))
        # closure |F^k(z) - z| small (rounding grows with the size of P)
        scale = (1.0 + absZ) * (1.0 + Pmax)
        err = np.max(np.abs(end - z), axis=1)
        real &= np.isfinite(err) & (err <= 1e-8 * np.where(np.isfinite(scale), scale, np.inf))
    return ok, real, Z[:, :K], V, P, continuum


class RegionSolution(NamedTuple):
    """Result of :func:`solve_region_sequences` (one entry per region sequence)."""

    solvable: np.ndarray  # (B,) I - P has full rank and the solution is finite (one isolated candidate)
    real: np.ndarray  # (B,) the true orbit visits exactly the given regions and closes
    points: np.ndarray  # (B, k, M) that orbit (zeros where neither solvable nor a continuum)
    P: np.ndarray  # (B, M, M) Jacobian products
    continuum: np.ndarray  # (B,) I - P singular and the system consistent (an affine set of solutions)


def solve_region_sequences(model: PiecewiseLinearModel, regions: np.ndarray) -> RegionSolution:
    """Solve the cycle equations of a stack of region sequences (the SCYFI step, batched).

    Parameters
    ----------
    model : a model of :mod:`rnnexplore.dynamics.models`
    regions : bool array (B, k, n_bits)

    Returns
    -------
    RegionSolution
        ``solvable`` (B,): ``I - P`` has full rank (however badly conditioned: the candidate is
        kept when its residual is small) and the solution is finite - False means a singular /
        degenerate-transcritical or overflowing case; ``real`` (B,): the true orbit from the
        solution visits exactly the given regions and closes; ``points`` (B, k, M): that orbit
        (for a continuum: from its least-squares point; zeros otherwise when not solvable);
        ``P`` (B, M, M): the Jacobian products; ``continuum`` (B,): ``I - P`` is singular but
        ``(I - P) z = r`` is consistent, so the solutions form an affine set (e.g. every point
        of the identity map is fixed) - not an isolated object.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PLRNN
    >>> sol = solve_region_sequences(PLRNN([1.0], [[0.0]], [0.0]), np.array([[[True]]]))
    >>> bool(sol.solvable[0]), bool(sol.continuum[0])
    (False, True)
    """
    check_model(model)
    S = np.asarray(regions)
    if S.dtype != bool:
        if S.dtype.kind not in "iuf" or not np.all(np.isin(S, (0, 1))):
            raise ValueError("regions must contain booleans (or 0/1), got other values")
        S = S.astype(bool)
    if S.ndim != 3 or S.shape[2] != model.n_bits or S.shape[1] < 1:
        raise ValueError(f"regions must have shape (B, k, {model.n_bits}), got {S.shape}")
    ok, real, Z, _V, P, continuum = _solve_sequences(model, S)
    return RegionSolution(ok, real, Z, P, continuum)


def _safe_sv(m: np.ndarray) -> np.ndarray:  # pragma: no cover
    try:
        return np.linalg.svd(m, compute_uv=False)
    except np.linalg.LinAlgError:
        return np.r_[1.0, np.zeros(m.shape[0] - 1)]


