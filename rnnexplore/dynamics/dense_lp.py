"""Many small linear programs of one shape at once: a batched dense dual simplex, and Farkas bounds.

The pruned enumeration (:mod:`rnnexplore.dynamics.enumeration`) asks millions of times whether
a polyhedron of a few dimensions is empty: ``max tau`` subject to ``A z + tau <= b`` (one row
per switching inequality along a region sequence), ``lo <= z <= hi`` and ``tau <= 1``. Each
program is tiny (M + 1 variables, tens of rows) and HiGHS spends 150-500 us CPU on one even
batched into block-diagonal programs (measured: ``benchmarks/bench_prefix_lp.py``; about three
quarters of it inside HiGHS's run). :func:`max_margins` runs the dual simplex on all of them
at once in numpy - every pivot is a handful of array operations over the whole batch - at about
a fifth of that cost (33 against 166 us CPU per program at M = 10, five steps, on a quiet
machine), with the same verdicts.

Nothing here has to be trusted: a program is reported *empty* only with a bound from
:func:`farkas_bound`, recomputed from the multipliers in floating point with a rounding
allowance, and *nonempty* only with a point that satisfies every inequality by a positive
margin. What the dual simplex cannot settle within its pivots (cycling, ill-conditioning) is
returned undecided for a general solver (HiGHS) to take.

Examples
--------
>>> import numpy as np
>>> A = np.array([[[1.0]], [[1.0]]])  # one variable z in [0, 1], one row z + tau <= b
>>> res = max_margins(A, np.array([[0.5], [-0.5]]), np.zeros(1), np.ones(1))
>>> res.tau.round(3).tolist(), res.status.tolist()  # with no stopping threshold: both optimal
([0.5, -0.5], [2, 2])
>>> max_margins(A, np.array([[0.5], [-0.5]]), np.zeros(1), np.ones(1), stop_below=-1e-7).status.tolist()
[2, 1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MarginResult", "max_margins", "farkas_bound", "UNDECIDED", "EMPTY", "OPTIMAL", "WITNESS"]

UNDECIDED, EMPTY, OPTIMAL, WITNESS = 0, 1, 2, 3


@dataclass
class MarginResult:
    """What :func:`max_margins` knows about each program.

    Attributes
    ----------
    tau : (n,) float
        ``EMPTY``: a verified upper bound on the margin, below ``stop_below``; ``OPTIMAL``: the
        largest margin; ``WITNESS``: the margin of ``z``, above ``stop_above`` (a lower bound
        of the largest); NaN where ``UNDECIDED``.
    z : (n, M) float
        The vertex of the last basis (the optimum where ``OPTIMAL``, a point with margin
        ``tau`` in the box where ``WITNESS``).
    y : (n, m) float
        Nonnegative multipliers of the rows of ``A``: the Farkas certificate where ``EMPTY``,
        the optimal duals where ``OPTIMAL``.
    status : (n,) int8
        ``UNDECIDED`` (0), ``EMPTY`` (1), ``OPTIMAL`` (2) or ``WITNESS`` (3).
    pivots : int
        Pivots spent over the whole batch.
    """

    tau: np.ndarray
    z: np.ndarray
    y: np.ndarray
    status: np.ndarray
    pivots: int


def farkas_bound(y: np.ndarray, A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Upper bound on ``max tau`` (``A z + tau <= b``, ``lo <= z <= hi``) from multipliers ``y >= 0``.

    For every feasible ``(z, tau)``: ``tau * sum(y) <= y . b - (A^T y) . z <= y . b - min_box
    (A^T y) . z``. The bound is computed in floating point and raised by a rounding allowance
    (``1e-9`` of the magnitudes involved), so a bound below a tolerance proves emptiness
    whatever solver produced ``y``. Rows with ``b = +inf`` must have ``y = 0`` (left out).

    Parameters
    ----------
    y : (n, m) multipliers (negative entries are treated as 0)
    A : (n, m, M) rows; b : (n, m) right-hand sides; lo, hi : (M,) or (n, M) bounds of z

    Returns
    -------
    (n,) float: the bound (``+inf`` where ``y`` is zero or the bound is not finite)

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[[1.0], [-1.0]]])  # z + tau <= -1 and -z + tau <= -1: tau <= -1
    >>> farkas_bound(np.array([[0.5, 0.5]]), A, np.array([[-1.0, -1.0]]), np.zeros(1) - 5, np.zeros(1) + 5).round(6)
    array([-1.])
    """
    y = np.maximum(np.asarray(y, dtype=np.float64), 0.0)
    b = np.asarray(b, dtype=np.float64)
    s = y.sum(axis=1)
    with np.errstate(all="ignore"):
        yb = np.where(y > 0, y * b, 0.0)
        g = np.einsum("nr,nrm->nm", y, A)  # A^T y
        zmin = np.where(g > 0, lo, hi)
        lin = np.sum(g * zmin, axis=1)
        bound = (np.sum(yb, axis=1) - lin) / s
        slack = 1e-9 * (1.0 + np.sum(np.abs(yb), axis=1) / s + np.sum(np.abs(g * zmin), axis=1) / s)
        bound = bound + slack
    return np.where((s > 0) & np.isfinite(bound), bound, np.inf)


def max_margins(A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
                stop_below: float | None = None, stop_above: float | None = None,
                max_pivots: int | None = None, feas_tol: float = 1e-9) -> MarginResult:
    """``max tau`` s.t. ``A z + tau <= b``, ``lo <= z <= hi``, ``tau <= 1`` for a batch of programs.

    A dual simplex on the inequality form, all programs at once: a basis is M + 1 active
    inequalities (rows, bounds of z, or ``tau <= 1``) whose multipliers express the objective
    (dual feasible), so the value of its vertex bounds the margin from above; each pivot brings
    in the most violated inequality (relative to ``1 + |rhs|``) and lets out the one the dual
    ratio test picks, with a rank-one update of the basis inverse (refactored every 16 pivots).
    The start basis is the single row with the smallest bound over the box, with the bounds of
    z that minimise it; a program whose start bound is already below ``stop_below`` needs no
    pivot. The margin of the vertex only falls, so a solve stops early:

    - ``EMPTY`` as soon as the bound of the basis' multipliers (:func:`farkas_bound`,
      recomputed, not the vertex's value) is below ``stop_below``;
    - ``WITNESS`` as soon as the vertex's ``z`` lies in the box with every row's margin above
      ``stop_above`` (``tau`` is that margin, not the optimum);
    - ``OPTIMAL`` at the optimum (no violated inequality) when it is not below ``stop_below``
      (an optimum below it whose bound does not verify is ``UNDECIDED``).

    With neither threshold every program is solved to its optimum. Programs still running
    after ``max_pivots`` (default ``4 (M + 1) + 40``) or whose pivot element vanished are
    ``UNDECIDED``.

    Parameters
    ----------
    A : (n, m, M) float, finite; b : (n, m) float (``+inf`` leaves a row out)
    lo, hi : (M,) float, finite bounds of z (a box is required: it makes every program bounded)
    stop_below, stop_above : early-stopping thresholds (see above); None to solve to the optimum
    max_pivots : int, the pivots after which a program is given up (``UNDECIDED``)
    feas_tol : relative violation below which an inequality counts as satisfied

    Returns
    -------
    MarginResult

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A, b = rng.normal(size=(3, 6, 2)), rng.normal(size=(3, 6))
    >>> res = max_margins(A, b, -np.ones(2), np.ones(2))
    >>> from scipy.optimize import linprog
    >>> ref = [-linprog([0, 0, -1], A_ub=np.c_[A[i], np.ones(6)], b_ub=b[i],
    ...                 bounds=[(-1, 1), (-1, 1), (None, 1)]).fun for i in range(3)]
    >>> bool(np.allclose(res.tau, ref))
    True
    """
    A = np.asarray(A, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n, m, M = A.shape
    lo = np.broadcast_to(np.asarray(lo, dtype=np.float64), (M,)) if np.ndim(lo) <= 1 else None
    hi = np.broadcast_to(np.asarray(hi, dtype=np.float64), (M,)) if np.ndim(hi) <= 1 else None
    if lo is None or hi is None:
        raise ValueError("max_margins: lo and hi must be the (M,) bounds of z, shared by the batch")
    if b.shape != (n, m):
        raise ValueError(f"max_margins: b has shape {b.shape}, expected {(n, m)} (A is {A.shape})")
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi)) and np.all(lo <= hi)):
        raise ValueError("max_margins: lo and hi must be finite with lo <= hi")
    if not np.all(np.isfinite(A)) or np.any(np.isnan(b)) or np.any(b == -np.inf):
        raise ValueError("max_margins: A must be finite and b finite or +inf")
    d = M + 1
    max_pivots = 4 * d + 40 if max_pivots is None else int(max_pivots)
    tau = np.full(n, np.nan)
    Zout = np.zeros((n, M))
    Y = np.zeros((n, m))
    status = np.zeros(n, dtype=np.int8)
    if n == 0:
        return MarginResult(tau, Zout, Y, status, 0)
    big = 1e300  # a row left out (b = +inf) is never violated and never enters a basis
    b = np.where(np.isfinite(b), b, big)
    low = -np.inf if stop_below is None else float(stop_below)
    high = np.inf if stop_above is None else float(stop_above)
    # the inequalities, indexed r: rows of A (r < m; (A_r, 1) (z, tau) <= b_r), tau <= 1 (r = m),
    # z_i <= hi_i (r = m + 1 + i), -z_i <= -lo_i (r = m + 1 + M + i); a basis: d of them (S)
    scale_fix = np.concatenate([[2.0], 1.0 + np.abs(hi), 1.0 + np.abs(lo)])
    # start: the row whose bound over the box is smallest, with the bounds of z that attain it
    mid, rad = 0.5 * (lo + hi), 0.5 * (hi - lo)
    rb = b - A @ mid + np.abs(A) @ rad
    rb = np.concatenate([rb, np.ones((n, 1))], axis=1)
    r0 = np.argmin(rb, axis=1)
    a0 = np.where((r0 < m)[:, None], A[np.arange(n), np.minimum(r0, m - 1)], 0.0)
    sgn = np.where(a0 > 0, -1.0, 1.0)  # the lower bound where a0 > 0, else the upper
    S = np.empty((n, d), dtype=np.int64)
    S[:, 0] = r0
    S[:, 1:] = np.where(a0 > 0, m + 1 + M + np.arange(M), m + 1 + np.arange(M))
    lam = np.concatenate([np.ones((n, 1)), np.abs(a0)], axis=1)
    Binv = np.zeros((n, d, d))  # closed form: z_i = s_i rhs_i, tau = rhs_0 - a0 . z
    Binv[:, M, 0] = 1.0
    Binv[:, np.arange(M), 1 + np.arange(M)] = sgn
    Binv[:, M, 1:] = -a0 * sgn
    act = np.arange(n)
    Ak, bk = A, b
    bS = _rhs(S, bk, lo, hi, m)
    x = (Binv @ bS[:, :, None])[:, :, 0]
    live = np.ones(n, dtype=bool)
    pivots = 0
    with np.errstate(all="ignore"):  # huge rows of long sequences overflow: those programs stay undecided
        for it in range(max_pivots + 1):
            if live.sum() < 0.7 * len(act):  # drop the finished programs from the arrays
                act, Ak, bk, S, lam, Binv, x, bS = (v[live] for v in (act, Ak, bk, S, lam, Binv, x, bS))
                live = np.ones(len(act), dtype=bool)
            k = len(act)
            if k == 0:
                break
            ak = np.arange(k)
            z, xt = x[:, :M], x[:, M]
            rows = bk - (Ak @ z[:, :, None])[:, :, 0] - xt[:, None]
            slack = np.concatenate([rows / (1.0 + np.abs(bk)),
                                    np.concatenate([(1.0 - xt)[:, None], hi - z, z - lo], axis=1) / scale_fix], axis=1)
            rs = np.argmin(slack, axis=1)
            optimal = slack[ak, rs] >= -feas_tol
            # exits: a dual bound below stop_below (verified), a witness, the optimum
            below = xt < low
            cand = np.flatnonzero(live & (below | optimal))
            empty = np.zeros(k, dtype=bool)
            if len(cand):
                y = _row_multipliers(S[cand], lam[cand], m)
                bound = farkas_bound(y, Ak[cand], bk[cand], lo, hi)
                ok = bound < low
                empty[cand[ok]] = True
                Y[act[cand[ok]]] = y[ok]
                tau[act[cand[ok]]] = bound[ok]
            margin = np.min(rows, axis=1, initial=np.inf) + xt
            witness = live & ~empty & ~optimal & (margin > high) & np.all((z >= lo) & (z <= hi), axis=1)
            solved = live & ~empty & optimal & ~below
            # (an optimum below stop_below whose bound does not verify stays UNDECIDED)
            tau[act[witness]] = margin[witness]
            tau[act[solved]] = xt[solved]
            if solved.any():
                Y[act[solved]] = _row_multipliers(S[solved], lam[solved], m)
            status[act[empty]] = EMPTY
            status[act[solved]] = OPTIMAL
            status[act[witness]] = WITNESS
            fin = live & (empty | witness | optimal)
            Zout[act[fin]] = z[fin]
            live &= ~fin
            if not live.any() or it == max_pivots:
                break
            # pivot: inequality rs enters; the dual ratio test picks the basis member that leaves
            pivots += int(live.sum())
            ar = _row_vectors(rs[:, None], Ak, m, M)[:, 0]
            w = np.einsum("nkj,nk->nj", Binv, ar)  # a_r = B^T w
            th = np.where(w > 1e-11 * np.max(np.abs(w), axis=1, keepdims=True), lam / w, np.inf)
            out = np.argmin(th, axis=1)
            theta = th[ak, out]
            live &= np.isfinite(theta)  # no leaving member: a general solver decides
            theta = np.where(live, theta, 0.0)
            lam = np.maximum(lam - theta[:, None] * w, 0.0)
            lam[ak, out] = theta
            S[ak, out] = rs
            bS[ak, out] = _rhs(rs[:, None], bk, lo, hi, m)[:, 0]
            col = Binv[ak, :, out]
            wo = np.where(live, w[ak, out], 1.0)
            w[ak, out] -= 1.0
            Binv = Binv - col[:, :, None] * (w / wo[:, None])[:, None, :]
            if it % 16 == 15:
                Binv = _safe_inv(_row_vectors(S, Ak, m, M))
            x = (Binv @ bS[:, :, None])[:, :, 0]
            live &= np.all(np.isfinite(x), axis=1)  # a singular basis: a general solver decides
    tau[status == UNDECIDED] = np.nan
    return MarginResult(tau, Zout, Y, status, pivots)


def _row_vectors(idx: np.ndarray, A: np.ndarray, m: int, M: int) -> np.ndarray:
    """The inequalities ``idx`` (k, p) of each program as vectors over ``(z, tau)``: (k, p, M + 1)."""
    k, p = idx.shape
    out = np.zeros((k, p, M + 1))
    isrow = idx < m
    out[..., :M] = np.where(isrow[..., None], A[np.arange(k)[:, None], np.minimum(idx, m - 1)], 0.0)
    out[..., M] = isrow | (idx == m)
    j = idx - (m + 1)
    kk, pp = np.nonzero((j >= 0) & (j < M))
    out[kk, pp, j[kk, pp]] = 1.0
    kk, pp = np.nonzero(j >= M)
    out[kk, pp, j[kk, pp] - M] = -1.0
    return out


def _rhs(idx: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, m: int) -> np.ndarray:
    """Right-hand sides of the inequalities ``idx`` (k, p) of each program."""
    M = len(lo)
    j = np.clip(idx - (m + 1), 0, 2 * M - 1)
    fixed = np.concatenate([hi, -lo])[j]
    return np.where(idx < m, np.take_along_axis(b, np.minimum(idx, m - 1), axis=1), np.where(idx == m, 1.0, fixed))


def _row_multipliers(S: np.ndarray, lam: np.ndarray, m: int) -> np.ndarray:
    """Multipliers of the m rows of A from a basis (members >= m are bounds or ``tau <= 1``)."""
    y = np.zeros((len(S), m + 1))
    np.put_along_axis(y, np.minimum(S, m), np.where(S < m, lam, 0.0), axis=1)
    return y[:, :m]


def _safe_inv(B: np.ndarray) -> np.ndarray:
    """Batched inverse; a singular matrix gives NaN (its program goes to the general solver)."""
    try:
        return np.linalg.inv(B)
    except np.linalg.LinAlgError:
        out = np.full_like(B, np.nan)
        for i in range(len(B)):
            try:
                out[i] = np.linalg.inv(B[i])
            except np.linalg.LinAlgError:
                pass
        return out
