"""Box certificates: prove that no further fixed point or k-cycle exists in ``[-B, B]^M``.

Every model of the kit is ``z' = L z + C relu(G z + g) + h0`` (:func:`relu_form`). A k-cycle in
the box is a feasible point of a mixed-integer linear program: states ``z_1..z_k`` in the box,
``y_i = relu(G z_i + g)`` written with one binary ``d`` per rectified unit (``y >= s``,
``y >= 0``, ``y <= s - l (1 - d)``, ``y <= u d`` for pre-activation bounds ``l <= s <= u``),
``z_{i+1} = L z_i + C y_i + h0`` and ``z_{k+1} = z_1``. The bounds are tightened by interval
propagation (a cycle point lies in the image of the box, intersected with the box, again and
again), which fixes many units on or off. Cuts exclude the region sequences already known
(every rotation, and every repetition of the lower-order objects). :func:`certify_box` solves
the program (``scipy.optimize.milp``, HiGHS) repeatedly: each solution's region sequence is
solved exactly (its cycle is added when real, otherwise the sequence is cut - its cycle
equation has only that one candidate), until the program is infeasible: then the order is
*proven* complete in the box.

Examples
--------
>>> from rnnexplore.dynamics.models import skew_tent
>>> cs = certify_box(skew_tent(0.2, -1.5, 1.0), 2, box=10.0)
>>> [(c.order, c.stability) for c in cs], cs.proven
([(1, 'unstable'), (2, 'stable')], {1: 'box', 2: 'box'})
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from rnnexplore._validation import check_int, check_real
from rnnexplore.dynamics.enumeration import effective_bits, switching_affine
from rnnexplore.dynamics.models import PiecewiseLinearModel
from rnnexplore.dynamics.solve import _solve_sequences, check_model

__all__ = ["relu_form", "certify_box", "propagate_bounds"]


def relu_form(model: PiecewiseLinearModel) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(L, C, G, g, h0)`` with ``model.step(z) == L z + C relu(G z + g) + h0``.

    Read off the affine pieces: ``J(d) = L + C diag(d) G`` and ``c(d) = h0 + C diag(d) g``.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> [a.tolist() for a in relu_form(skew_tent(0.2, -1.5, 1.0))]
    [[[0.2]], [[-1.7]], [[1.0]], [0.0], [1.0]]
    """
    nb, M = model.n_bits, model.M
    G, g = switching_affine(model)
    zero = np.zeros((1, nb), dtype=bool)
    L, h0 = model.jacobians(zero)[0], model.offsets(zero)[0]
    eye = np.eye(nb, dtype=bool)
    dJ = model.jacobians(eye) - L  # (nb, M, M) = C_j G_j^T
    dc = model.offsets(eye) - h0  # (nb, M) = C_j g_j
    C = np.zeros((M, nb))
    for j in range(nb):
        gn = float(G[j] @ G[j])
        if gn > 0:
            C[:, j] = dJ[j] @ G[j] / gn
        elif g[j] != 0:
            C[:, j] = dc[j] / g[j]
    return L, C, G, g, h0


def propagate_bounds(model: PiecewiseLinearModel, box: float, n_iter: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Bounds ``lo <= z <= hi`` of every periodic point in ``[-box, box]^M`` (interval propagation).

    A periodic point lies in ``F^n(box) ∩ box`` for every n; this iterates the interval image
    of ``z' = L z + C relu(G z + g) + h0`` intersected with the box, then widens the bounds by
    a rounding slack of ``1e-7 (1 + |bound|)``. ``lo > hi`` somewhere: no periodic point in the box.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> lo, hi = propagate_bounds(skew_tent(0.2, -1.5, 1.0), 10.0)
    >>> round(float(lo[0]), 4), round(float(hi[0]), 4)  # the 2-cycle is {-0.3846, 0.9231}
    (-1.4063, 1.25)
    """
    L, C, G, g, h0 = relu_form(model)
    lo = np.full(model.M, -float(box))
    hi = np.full(model.M, float(box))
    Lp, Ln = np.maximum(L, 0), np.minimum(L, 0)
    Cp, Cn = np.maximum(C, 0), np.minimum(C, 0)
    Gp, Gn = np.maximum(G, 0), np.minimum(G, 0)
    for _ in range(n_iter):
        sl = Gp @ lo + Gn @ hi + g
        su = Gp @ hi + Gn @ lo + g
        yl, yu = np.maximum(sl, 0), np.maximum(su, 0)
        nlo = Lp @ lo + Ln @ hi + Cp @ yl + Cn @ yu + h0
        nhi = Lp @ hi + Ln @ lo + Cp @ yu + Cn @ yl + h0
        nlo, nhi = np.maximum(lo, nlo), np.minimum(hi, nhi)
        if np.any(nlo > nhi):  # no periodic point in the box at all
            return nlo, nhi
        if np.allclose(nlo, lo) and np.allclose(nhi, hi):
            lo, hi = nlo, nhi
            break
        lo, hi = nlo, nhi
    # widen by rounding slack (bounds may collapse onto a fixed point), never beyond the box
    pad = 1e-7 * (1.0 + np.maximum(np.abs(lo), np.abs(hi)))
    return np.maximum(lo - pad, -float(box)), np.minimum(hi + pad, float(box))


class _Program:
    """The MILP of k-cycles in the box, with cuts added as objects become known."""

    def __init__(self, model, k: int, box: float) -> None:
        self.model, self.k = model, k
        L, C, G, g, h0 = relu_form(model)
        self.units = np.flatnonzero(effective_bits(model))  # only these bits matter
        u = self.units
        self.L, self.C, self.G, self.g, self.h0 = L, C[:, u], G[u], g[u], h0
        M, nu = model.M, len(u)
        self.M, self.nu = M, nu
        lo, hi = propagate_bounds(model, box)
        self.empty = bool(np.any(lo > hi))
        self.zlo, self.zhi = lo, hi
        Gp, Gn = np.maximum(self.G, 0), np.minimum(self.G, 0)
        self.slo = Gp @ lo + Gn @ hi + self.g
        self.shi = Gp @ hi + Gn @ lo + self.g
        self.nv = k * (M + 2 * nu)
        self.cuts: list[np.ndarray] = []  # rows over the d variables: sum over the pattern >= 1

    def zi(self, i: int) -> slice:
        base = i * (self.M + 2 * self.nu)
        return slice(base, base + self.M)

    def yi(self, i: int) -> slice:
        base = i * (self.M + 2 * self.nu) + self.M
        return slice(base, base + self.nu)

    def di(self, i: int) -> slice:
        base = i * (self.M + 2 * self.nu) + self.M + self.nu
        return slice(base, base + self.nu)

    def cut(self, pattern: np.ndarray) -> None:
        """Exclude one region sequence ``pattern`` (k, nu) of the effective units, all rotations."""
        for s in range(self.k):
            rot = np.roll(pattern, -s, axis=0)
            row = np.zeros(self.nv)
            const = 0.0
            for i in range(self.k):
                d = self.di(i)
                on = rot[i]
                row[d] = np.where(on, -1.0, 1.0)
                const += float(np.sum(on))
            # sum_{on} (1 - d) + sum_{off} d >= 1  <=>  row . x >= 1 - const
            self.cuts.append(np.r_[row, 1.0 - const])

    def solve(self, time_limit: float | None):
        from scipy.optimize import Bounds, LinearConstraint, milp
        from scipy.sparse import lil_matrix

        k, M, nu = self.k, self.M, self.nu
        nv = self.nv
        lb = np.zeros(nv)
        ub = np.zeros(nv)
        integrality = np.zeros(nv)
        slo, shi = self.slo, self.shi
        for i in range(k):
            lb[self.zi(i)], ub[self.zi(i)] = self.zlo, self.zhi
            lb[self.yi(i)], ub[self.yi(i)] = 0.0, np.maximum(shi, 0.0)
            lb[self.di(i)] = (slo > 0).astype(float)  # always on
            ub[self.di(i)] = (shi > 0).astype(float)  # can be on
            integrality[self.di(i)] = 1
        n_rows = k * (M + 4 * nu) + len(self.cuts)
        A = lil_matrix((n_rows, nv))
        rlo = np.full(n_rows, -np.inf)
        rhi = np.full(n_rows, np.inf)
        row = 0
        for i in range(k):
            z, y, d = self.zi(i), self.yi(i), self.di(i)
            zn = self.zi((i + 1) % k)
            # dynamics: z_{i+1} - L z_i - C y_i = h0
            for m in range(M):
                A[row, zn.start + m] += 1.0
                for j in range(M):
                    if self.L[m, j] != 0:
                        A[row, z.start + j] -= self.L[m, j]
                for j in range(nu):
                    if self.C[m, j] != 0:
                        A[row, y.start + j] -= self.C[m, j]
                rlo[row] = rhi[row] = self.h0[m]
                row += 1
            for j in range(nu):
                Gj = self.G[j]
                # y - G z >= g
                A[row, y.start + j] = 1.0
                for m in np.flatnonzero(Gj):
                    A[row, z.start + m] = -Gj[m]
                rlo[row] = self.g[j]
                row += 1
                # y - G z - l d <= g - l    (y <= s - l (1 - d))
                A[row, y.start + j] = 1.0
                for m in np.flatnonzero(Gj):
                    A[row, z.start + m] = -Gj[m]
                l = min(slo[j], 0.0)
                A[row, d.start + j] = -l
                rhi[row] = self.g[j] - l
                row += 1
                # y - u d <= 0
                A[row, y.start + j] = 1.0
                A[row, d.start + j] = -max(shi[j], 0.0)
                rhi[row] = 0.0
                row += 1
                # d = 1 => s >= 0 is implied; d = 0 => s <= 0: G z + g - u d <= 0
                for m in np.flatnonzero(Gj):
                    A[row, z.start + m] = Gj[m]
                A[row, d.start + j] = -max(shi[j], 0.0)
                rhi[row] = -self.g[j]
                row += 1
        for c in self.cuts:
            nz = np.flatnonzero(c[:-1])
            for v in nz:
                A[row, v] = c[v]
            rlo[row] = c[-1]
            row += 1
        opts: dict[str, Any] = {"disp": False}
        if time_limit is not None:
            opts["time_limit"] = float(time_limit)
        res = milp(np.zeros(nv), constraints=LinearConstraint(A.tocsr(), rlo, rhi),
                   integrality=integrality, bounds=Bounds(lb, ub), options=opts)
        return res


def certify_box(
    model: PiecewiseLinearModel,
    max_order: int,
    box: float,
    *,
    cycles: Any = None,
    min_order: int = 1,
    time_limit: float | None = None,
) -> "CycleSet":
    """Every fixed point and k-cycle in ``[-box, box]^M``, proven by mixed-integer programs.

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
    max_order : int
        Highest order certified (orders are certified in increasing order: the k-cycle program
        excludes the repetitions of the lower-order objects found first).
    box : float
        Half-width B of the box ``[-B, B]^M`` (in the model's state variable).
    cycles : iterable of Cycle, optional
        Objects already known (e.g. from :func:`~rnnexplore.dynamics.cycles.find_cycles`); they
        are cut at once, so the programs only look for what is missing.
    min_order : int
        Lowest order certified; lower orders are then taken from ``cycles`` as they are.
    time_limit : float, optional
        Seconds per program; an order whose program hits it is left unproven.

    Returns
    -------
    CycleSet
        The objects of orders ``min_order..max_order`` with every point in the box (known ones
        and the ones the programs found), ``proven[k] == "box"`` for every order certified
        (``None`` when a time limit was hit), ``stats["box"] == box``, ``stats["milp_solves"]``.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> cs = certify_box(paper_gt16(), 2, box=20.0)
    >>> len(cs), cs.proven
    (1, {1: 'box', 2: 'box'})
    """
    from rnnexplore.dynamics.cycles import Cycle, CycleSet, _canonical_shift, _Collector, _is_primitive

    t0 = time.perf_counter()
    check_model(model)
    max_order = check_int(max_order, "max_order", minimum=1, maximum=64)
    min_order = check_int(min_order, "min_order", minimum=1, maximum=max_order)
    box = check_real(box, "box", minimum=0.0)
    if time_limit is not None:
        time_limit = check_real(time_limit, "time_limit", minimum=0.0)
    known: list[Cycle] = []
    if cycles is not None:
        for c in cycles:
            if not isinstance(c, Cycle) or c.regions.shape[1] != model.n_bits or c.M != model.M:
                raise ValueError("cycles must be Cycles of this model")
            known.append(c)
    units = np.flatnonzero(effective_bits(model))

    def inside(c: Cycle) -> bool:
        return bool(np.all(np.abs(c.points) <= box))

    out: list[Cycle] = []
    proven: dict[int, str | None] = {}
    milps: dict[int, int] = {}
    by_order: dict[int, list[Cycle]] = {}
    for c in known:
        by_order.setdefault(c.order, []).append(c)
    for k in range(1, max_order + 1):
        if k < min_order:
            continue
        col = _Collector(model, k)
        for c in by_order.get(k, []):
            if inside(c):
                col.cycles[_canonical_shift(np.ascontiguousarray(c.regions).tobytes(), k, model.n_bits)[0]] = c
        prog = _Program(model, k, box)
        milps[k] = 0
        if prog.empty:
            proven[k] = "box"
            by_order[k] = list(col.cycles.values())
            out.extend(by_order[k])
            continue
        for d in range(1, k + 1):  # cut every repetition of lower orders and the known k-cycles
            if k % d:
                continue
            for c in by_order.get(d, []) if d < k else list(col.cycles.values()):
                prog.cut(np.tile(c.regions[:, units], (k // d, 1)))
        status = None
        while True:
            res = prog.solve(time_limit)
            milps[k] += 1
            if res.status == 2 or (res.x is None and res.status == 0):  # infeasible: proven
                status = "box"
                break
            if res.x is None:  # time limit or numerical trouble
                status = None
                break
            dpat = np.stack([np.round(res.x[prog.di(i)]).astype(bool) for i in range(k)])
            S = np.zeros((1, k, model.n_bits), dtype=bool)
            S[0][:, units] = dpat
            bits = np.zeros(model.n_bits, dtype=bool)
            bits[units] = True
            ok, real, Z, V, P, cont = _solve_sequences(model, S, bits=bits)
            if cont[0]:  # a continuum in this pattern: not a finite set, cannot certify by cuts
                status = None
                break
            if real[0] and np.all(np.abs(Z[0]) <= box):
                seq = np.ascontiguousarray(V[0])
                canon = _canonical_shift(seq.tobytes(), k, model.n_bits)[0]
                if _is_primitive(canon, k, model.n_bits):
                    col.offer(seq.tobytes(), Z[0], seq, P[0])
            prog.cut(dpat)
        proven[k] = status
        by_order[k] = list(col.cycles.values())
        out.extend(by_order[k])
    for k in range(min_order, max_order + 1):
        proven.setdefault(k, None)
    stats = {
        "mode": "box",
        "max_order": max_order,
        "min_order": min_order,
        "box": float(box),
        "proven": {k: proven[k] for k in range(min_order, max_order + 1)},
        "milp_solves": milps,
        "solves": {k: 0 for k in range(min_order, max_order + 1)},
        "total_solves": 0,
        "stop": {k: ("complete" if proven[k] else "time_limit") for k in range(min_order, max_order + 1)},
        "complete": all(proven[k] for k in range(min_order, max_order + 1)),
        "continua": [],
        "wall_time": time.perf_counter() - t0,
    }
    return CycleSet([c for c in out if c.order >= min_order], stats)
