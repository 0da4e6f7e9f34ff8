"""Box certificates: prove that no further fixed point or k-cycle exists in ``[-B, B]^M``.

Every model of the kit is ``z' = L z + C relu(G z + g) + h0`` (:func:`relu_form`). A k-cycle in
the box is a feasible point of a mixed-integer linear program: states ``z_1..z_k`` in the box,
``y_i = relu(G z_i + g)`` written with one binary ``d`` per rectified unit (``y >= s``,
``y >= 0``, ``y <= s - l (1 - d)``, ``y <= u d`` for pre-activation bounds ``l <= s <= u``),
``z_{i+1} = L z_i + C y_i + h0`` and ``z_{k+1} = z_1``. The bounds come from interval
propagation (a cycle point lies in the image of the box, intersected with the box, again and
again), then from optimisation-based tightening (each ``s_j`` minimised and maximised over the
program's LP relaxation, HiGHS); units whose bounds fix their sign are folded into the linear
part and leave the integer set, and every big-M is the unit's own bound. No-good cuts on the
binaries exclude the region sequences already known (every rotation, and every repetition of
the lower-order objects). :func:`certify_box` solves the program (``scipy.optimize.milp``,
HiGHS) repeatedly: each solution's region sequence is solved exactly (its cycle is added when
real, otherwise the sequence is cut - its cycle equation has only that one candidate), until
the program is infeasible: then the order is *proven* complete in the box.

For fixed points (k = 1) with ``I - L`` invertible the state is eliminated instead
(:class:`_FixedPointProgram`): ``y = relu(W y + b)`` with each unit's self-excitation solved
away, so its sign and big-M come from the other units alone; small probing programs then fix
the units that no fixed point outside the known ones can flip.

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


class _Rows:
    """Sparse constraint rows ``lo <= A x <= hi`` collected block by block (COO, duplicates summed)."""

    def __init__(self, nv: int) -> None:
        self.nv, self.n = nv, 0
        self.r: list[np.ndarray] = []
        self.c: list[np.ndarray] = []
        self.v: list[np.ndarray] = []
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []

    def add(self, terms: list[tuple[int, np.ndarray]], lo: Any, hi: Any) -> slice:
        """One block of rows: ``terms`` are ``(first column, dense block)`` pairs; returns the rows."""
        n = terms[0][1].shape[0]
        lo = np.broadcast_to(np.asarray(lo, dtype=float), (n,))
        hi = np.broadcast_to(np.asarray(hi, dtype=float), (n,))
        for start, block in terms:
            rr, cc = np.nonzero(block)
            self.r.append(rr + self.n)
            self.c.append(cc + start)
            self.v.append(block[rr, cc])
        self.lo.append(lo)
        self.hi.append(hi)
        self.n += n
        return slice(self.n - n, self.n)

    def build(self):
        from scipy.sparse import coo_matrix

        cat = (lambda xs: np.concatenate(xs) if xs else np.zeros(0))
        A = coo_matrix((cat(self.v), (cat(self.r).astype(int), cat(self.c).astype(int))), shape=(self.n, self.nv))
        return A.tocsr(), cat(self.lo), cat(self.hi)


def _pad(b: np.ndarray) -> np.ndarray:
    """Slack added to bounds from floating-point LP optima (HiGHS tolerances are about 1e-7)."""
    return 1e-5 * (1.0 + np.abs(b))


def _slack(b: np.ndarray) -> np.ndarray:
    """Rounding slack of bounds from interval arithmetic in floating point."""
    return 1e-9 * (1.0 + np.abs(b))


class _Program:
    """The mixed-integer program of k-cycles in the box, over the *free* units only.

    Bounds ``lo <= s <= hi`` of the pre-activations ``s = G z + g`` (interval propagation, then
    optimisation-based tightening: min and max of each ``s_j`` over the LP relaxation of this
    program, kept and repeated while a round folds more units) split the units: stably active ones (``lo >= 0``,
    ``y = s``) are folded into the linear part, stably inactive ones (``hi <= 0``, ``y = 0``)
    drop out, and only the free units carry a ReLU output ``y`` with its binary ``d`` and a
    big-M from their own bounds. Variables per step ``i``: ``z_i`` (M), ``y_i``, ``d_i`` (nf).
    Known region sequences are excluded by no-good cuts on the binaries.
    """

    def __init__(self, model, k: int, box: float, *, tighten: int = 8) -> None:
        self.model, self.k = model, k
        L, C, G, g, h0 = relu_form(model)
        self.units = np.flatnonzero(effective_bits(model))  # only these bits matter
        u = self.units
        self.L0, self.C0, self.G0, self.g0, self.h00 = L, C[:, u], G[u], g[u], h0
        self.M = model.M
        lo, hi = propagate_bounds(model, box)
        Gp, Gn = np.maximum(self.G0, 0), np.minimum(self.G0, 0)
        self.zlo, self.zhi = lo, hi
        self.slo, self.shi = Gp @ lo + Gn @ hi + self.g0, Gp @ hi + Gn @ lo + self.g0
        self.empty = bool(np.any(lo > hi))
        self.lps = 0
        self.cuts: list[np.ndarray] = []  # (k, nf) free-unit patterns excluded, every rotation
        self._fold()
        for _ in range(tighten if not self.empty else 0):
            # a round is kept only when it folds units: on trained flip-flop nets (M = 32) the
            # narrower big-Ms alone made HiGHS slower (6.5 s of CPU against 4.5 s)
            saved = (self.slo.copy(), self.shi.copy(), self.zlo.copy(), self.zhi.copy())
            nf = self.nf
            self.tighten()
            if self.empty or self.nf == 0:
                break
            if self.nf == nf:
                self.slo, self.shi, self.zlo, self.zhi = saved
                self._fold()
                break

    def _fold(self) -> None:
        """Split the units into stably on / off / free and fold the stable ones into the dynamics."""
        self.on = self.slo >= 0
        self.free = ~self.on & (self.shi > 0)
        on, f = self.on, self.free
        self.L = self.L0 + self.C0[:, on] @ self.G0[on]
        self.h0 = self.h00 + self.C0[:, on] @ self.g0[on]
        self.C, self.G, self.g = self.C0[:, f], self.G0[f], self.g0[f]
        self.nf = int(np.sum(f))
        self.stride = self.M + 2 * self.nf

    def zi(self, i: int) -> slice:
        return slice(i * self.stride, i * self.stride + self.M)

    def yi(self, i: int) -> slice:
        return slice(i * self.stride + self.M, i * self.stride + self.M + self.nf)

    def di(self, i: int) -> slice:
        return slice(i * self.stride + self.M + self.nf, (i + 1) * self.stride)

    def program(self):
        """``(A, row_lo, row_hi, var_lo, var_hi, integrality, s_rows)`` of the current program."""
        k, M, nf = self.k, self.M, self.nf
        R = _Rows(k * self.stride)
        l, u = self.slo[self.free], self.shi[self.free]
        eye_f = np.eye(nf)
        s_rows = []
        for i in range(k):
            z, y, d, zn = self.zi(i).start, self.yi(i).start, self.di(i).start, self.zi((i + 1) % k).start
            R.add([(zn, np.eye(M)), (z, -self.L), (y, -self.C)], self.h0, self.h0)  # z' = L z + C y + h0
            s_rows.append(R.add([(z, self.G0)], self.slo - self.g0, self.shi - self.g0))  # every s in bounds
            if nf:
                R.add([(y, eye_f), (z, -self.G)], self.g, np.inf)  # y >= s
                R.add([(y, eye_f), (z, -self.G), (d, np.diag(-l))], -np.inf, self.g - l)  # y <= s - l (1 - d)
                R.add([(y, eye_f), (d, np.diag(-u))], -np.inf, 0.0)  # y <= u d
        for pat in self.cuts:  # sum_{on} (1 - d) + sum_{off} d >= 1
            R.add([(self.di(i).start, np.where(pat[i], -1.0, 1.0)[None]) for i in range(k)],
                  1.0 - float(np.sum(pat)), np.inf)
        A, rlo, rhi = R.build()
        vlo, vhi = np.zeros(R.nv), np.zeros(R.nv)
        integrality = np.zeros(R.nv)
        for i in range(k):
            vlo[self.zi(i)], vhi[self.zi(i)] = self.zlo, self.zhi
            vhi[self.yi(i)] = u
            vhi[self.di(i)] = 1.0
            integrality[self.di(i)] = 1
        return A, rlo, rhi, vlo, vhi, integrality, s_rows

    def tighten(self) -> None:
        """One round of optimisation-based bound tightening over the LP relaxation (HiGHS).

        Each free unit's ``s_j`` (and each state coordinate that is not itself some ``s_j``) at
        step 0 is minimised and maximised - by symmetry under rotation the bounds hold at every
        step; each new bound is used at once by the next LP of the round.
        """
        from scipy.optimize import Bounds, LinearConstraint, milp

        A, rlo, rhi, vlo, vhi, _, s_rows = self.program()
        z0 = self.zi(0)
        targets = [("s", j) for j in np.flatnonzero(self.free)]
        unit_rows = {tuple(r) for r in np.abs(self.G0)} if len(self.G0) else set()
        targets += [("z", m) for m in range(self.M) if tuple(np.eye(self.M)[m]) not in unit_rows]
        for kind, j in targets:
            c = np.zeros(A.shape[1])
            c[z0] = self.G0[j] if kind == "s" else np.eye(self.M)[j]
            off = self.g0[j] if kind == "s" else 0.0
            for sign in (1.0, -1.0):
                res = milp(sign * c, constraints=LinearConstraint(A, rlo, rhi), bounds=Bounds(vlo, vhi),
                           options={"disp": False, "presolve": True})
                self.lps += 1
                if res.status == 2:  # the relaxation is empty: no k-cycle in the box
                    self.empty = True
                    return
                if res.x is None:
                    continue
                val = sign * res.fun + off
                lo_, hi_ = (self.slo, self.shi) if kind == "s" else (self.zlo, self.zhi)
                if sign > 0:
                    lo_[j] = max(lo_[j], val - _pad(val))
                else:
                    hi_[j] = min(hi_[j], val + _pad(val))
                if kind == "s":
                    for i in range(self.k):
                        rlo[s_rows[i]], rhi[s_rows[i]] = self.slo - self.g0, self.shi - self.g0
                else:
                    for i in range(self.k):
                        vlo[self.zi(i)], vhi[self.zi(i)] = self.zlo, self.zhi
            if np.any(self.slo > self.shi) or np.any(self.zlo > self.zhi):
                self.empty = True
                return
        self._sync_z()
        self._fold()

    def _sync_z(self) -> None:
        """State bounds from the unit bounds where a unit is one coordinate (``s_j = +-z_m + g_j``)."""
        for j, row in enumerate(self.G0):
            nz = np.flatnonzero(row)
            if len(nz) == 1 and abs(row[nz[0]]) == 1.0:
                m, a = nz[0], row[nz[0]]
                lo_, hi_ = sorted(((self.slo[j] - self.g0[j]) / a, (self.shi[j] - self.g0[j]) / a))
                self.zlo[m], self.zhi[m] = max(self.zlo[m], lo_), min(self.zhi[m], hi_)
        if np.any(self.zlo > self.zhi):
            self.empty = True

    def full(self, dpat: np.ndarray) -> np.ndarray:
        """The region sequence (k, n_bits) of a free-unit pattern (k, nf): stable bits as known."""
        S = np.zeros((self.k, self.model.n_bits), dtype=bool)
        S[:, self.units[self.on]] = True
        S[:, self.units[self.free]] = dpat
        return S

    def cut(self, pattern: np.ndarray) -> None:
        """Exclude one region sequence ``pattern`` (k, n_bits) and its rotations.

        Only its free bits enter the cut; a sequence whose stable bits contradict the bounds
        cannot hold a cycle point in the box, so it needs no cut.
        """
        u = self.units
        if np.any(pattern[:, u[self.on]] == 0) or np.any(pattern[:, u[~self.on & ~self.free]]):
            return
        pat = pattern[:, u[self.free]]
        for s in range(self.k):
            self.cuts.append(np.roll(pat, -s, axis=0))

    def solve(self, time_limit: float | None):
        return _solve_feasibility(self.program(), time_limit)


def _solve_feasibility(program: tuple, time_limit: float | None, **options: Any):
    """HiGHS (``scipy.optimize.milp``) on ``program`` = ``(A, rlo, rhi, vlo, vhi, integrality, _)``
    with a zero objective: a feasible point or a proof of infeasibility within ``time_limit``
    (further HiGHS ``options`` such as ``node_limit`` passed on)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    A, rlo, rhi, vlo, vhi, integrality, _ = program
    opts: dict[str, Any] = {"disp": False, **options}
    if time_limit is not None:
        opts["time_limit"] = float(time_limit)
    return milp(np.zeros(A.shape[1]), constraints=LinearConstraint(A, rlo, rhi),
                integrality=integrality, bounds=Bounds(vlo, vhi), options=opts)


class _FixedPointProgram:
    """The mixed-integer program of the fixed points in the box, with the state eliminated.

    With ``I - L`` invertible a fixed point is ``z = A y + c`` (``A = (I - L)^{-1} C``,
    ``c = (I - L)^{-1} h0``) with ``y = relu(W y + b)``, ``W = G A``, ``b = G c + g``. Unit i's
    self-loop is solved away where ``a_i = 1 - W_ii > 0``: ``y_i = relu(p_i)`` with
    ``p_i = W_ii y_i + s_i`` (``s_i`` the off-diagonal sum plus ``b_i``) holds exactly when
    ``y_i = relu(s_i / a_i)`` (``s_i > 0``: ``y_i = s_i / a_i``; ``s_i <= 0``: ``y_i = 0``), so the
    unit's sign and big-M come from ``q_i = s_i / a_i``, which does not contain ``y_i``. Units
    with ``a_i <= 0`` keep ``q_i = p_i`` and get the valid row ``s_i <= 0`` (``y_i > 0`` needs
    ``s_i = a_i y_i <= 0``, ``y_i = 0`` needs ``s_i = p_i <= 0``). Bounds on ``q`` come from the
    box (through ``z = A y + c``), Gauss-Seidel interval sweeps ``y_i in relu([q_lo, q_hi])``
    and LP tightening; units whose ``q`` has one sign are fixed (``y_i = q_i`` or ``y_i = 0``)
    and only the others carry a binary. Variables: ``y`` (n units), then ``d`` (nf). The same
    interface as :class:`_Program` (order 1).
    """

    def __init__(self, model, box: float, P: np.ndarray, *, tighten: int = 8) -> None:
        self.model, self.k, self.M = model, 1, model.M
        L, C, G, g, h0 = relu_form(model)
        self.units = u = np.flatnonzero(effective_bits(model))
        n = len(u)
        self.A, self.c = P @ C[:, u], P @ h0
        W, b = G[u] @ self.A, G[u] @ self.c + g[u]
        a = 1.0 - np.diag(W)
        self.tform = a > 1e-9
        self.scale = np.where(self.tform, a, 1.0)  # rows of the t-form multiplied by a_i: no 1/a_i
        R = np.where(self.tform[:, None], W - np.diag(np.diag(W)), W)  # scale_i q_i = R_i y + b_i
        self.R, self.b, self.W = R, b, W
        zlo, zhi = propagate_bounds(model, box)
        self.zlo, self.zhi = zlo, zhi
        self.empty = bool(np.any(zlo > zhi))
        Gp, Gn = np.maximum(G[u], 0), np.minimum(G[u], 0)
        self.ylo = np.maximum(Gp @ zlo + Gn @ zhi + g[u], 0) if n else np.zeros(0)
        self.yhi = np.maximum(Gp @ zhi + Gn @ zlo + g[u], 0) if n else np.zeros(0)
        self.qlo, self.qhi = np.full(n, -np.inf), np.full(n, np.inf)
        self.lps, self.cuts, self.probes = 0, [], 0
        self.forced = np.zeros(n, dtype=int)  # +1 / -1: on / off for every fixed point not yet known
        if not self.empty:
            self._sweep()
        for _ in range(tighten if not self.empty and n else 0):
            nf = self.nf
            self.tighten()
            if self.empty or self.nf == 0 or self.nf == nf:
                break

    def _sweep(self, n_iter: int = 200) -> None:
        """Interval sweeps ``q_i in (R_i y + b_i) / scale_i``, ``y_i in relu([q_lo, q_hi])`` to a fixed point."""
        Rp, Rn = np.maximum(self.R, 0), np.minimum(self.R, 0)
        for _ in range(n_iter):
            qlo = np.maximum(self.qlo, (Rp @ self.ylo + Rn @ self.yhi + self.b) / self.scale)
            qhi = np.minimum(self.qhi, (Rp @ self.yhi + Rn @ self.ylo + self.b) / self.scale)
            ylo, yhi = np.maximum(self.ylo, np.maximum(qlo, 0)), np.minimum(self.yhi, np.maximum(qhi, 0))
            done = np.allclose(qlo, self.qlo, rtol=0, atol=1e-12) and np.allclose(qhi, self.qhi, rtol=0, atol=1e-12)
            self.qlo, self.qhi, self.ylo, self.yhi = qlo, qhi, ylo, yhi
            if np.any(qlo - qhi > _slack(qlo)) or np.any(ylo - yhi > _slack(ylo)):
                self.empty = True
                return
            if done:
                break
        # rounding slack (a bound may collapse onto a fixed point), kept from inverting
        self.qlo, self.qhi = self.qlo - _slack(self.qlo), self.qhi + _slack(self.qhi)
        self.ylo, self.yhi = np.maximum(self.ylo - _slack(self.ylo), 0), self.yhi + _slack(self.yhi)
        self._fold()

    def _fold(self) -> None:
        """Units with ``q_lo >= 0`` are on (``y_i = q_i``), with ``q_hi <= 0`` off (``y_i = 0``);
        so are the units a probe fixed (:meth:`probe`)."""
        self.on = (self.qlo >= 0) | (self.forced > 0)
        self.free = ~self.on & (self.qhi > 0) & (self.forced == 0)
        self.nf = int(np.sum(self.free))

    def di(self, i: int) -> slice:
        n = len(self.units)
        return slice(n, n + self.nf)

    def program(self):
        """``(A, row_lo, row_hi, var_lo, var_hi, integrality, q_rows)`` of the current program."""
        n, nf, f, on = len(self.units), self.nf, self.free, self.on
        Rw = _Rows(n + nf)
        Rw.add([(0, self.A)], self.zlo - self.c, self.zhi - self.c)  # z = A y + c in the state bounds
        q_rows = Rw.add([(0, self.R)], self.scale * self.qlo - self.b, self.scale * self.qhi - self.b)
        Sy = np.diag(self.scale) - self.R  # Sy y = b: y = q
        if np.any(on):
            Rw.add([(0, Sy[on])], self.b[on], self.b[on])
        if nf:
            l, u, sc = self.qlo[f], self.qhi[f], self.scale[f]
            Rw.add([(0, Sy[f])], self.b[f], np.inf)  # y >= q
            Rw.add([(0, Sy[f]), (n, np.diag(-sc * l))], -np.inf, self.b[f] - sc * l)  # y <= q - l (1 - d)
            Rw.add([(0, np.eye(n)[f]), (n, np.diag(-u))], -np.inf, 0.0)  # y <= u d
        pf = ~self.tform
        if np.any(pf):  # a_i <= 0: s_i <= 0 at every fixed point
            Rw.add([(0, (self.W - np.diag(np.diag(self.W)))[pf])], -np.inf, -self.b[pf])
        for pat in self.cuts:  # regions over the units; one that contradicts a fixed unit is empty here
            if np.all(pat[on]) and not np.any(pat[~on & ~f]):  # nf = 0: the row 0 >= 1
                Rw.add([(n, np.where(pat[f], -1.0, 1.0)[None])] if nf else [(0, np.zeros((1, n)))],
                       1.0 - float(np.sum(pat[f])), np.inf)
        A, rlo, rhi = Rw.build()
        vlo = np.concatenate([np.where(on | f, self.ylo, 0.0), np.zeros(nf)])
        vhi = np.concatenate([np.where(on | f, self.yhi, 0.0), np.ones(nf)])
        integrality = np.concatenate([np.zeros(n), np.ones(nf)])
        return A, rlo, rhi, vlo, vhi, integrality, q_rows

    def tighten(self) -> None:
        """One round of LP tightening: min and max of each free unit's ``q_i`` (HiGHS), then sweeps."""
        from scipy.optimize import Bounds, LinearConstraint, milp

        A, rlo, rhi, vlo, vhi, _, q_rows = self.program()
        n = len(self.units)
        for j in np.flatnonzero(self.free):
            c = np.zeros(A.shape[1])
            c[:n] = self.R[j] / self.scale[j]
            for sign in (1.0, -1.0):
                res = milp(sign * c, constraints=LinearConstraint(A, rlo, rhi), bounds=Bounds(vlo, vhi),
                           options={"disp": False, "presolve": True})
                self.lps += 1
                if res.status == 2:  # the relaxation is empty: no fixed point in the box
                    self.empty = True
                    return
                if res.x is None:
                    continue
                val = sign * res.fun + self.b[j] / self.scale[j]
                if sign > 0:
                    self.qlo[j] = max(self.qlo[j], val - _pad(val))
                else:
                    self.qhi[j] = min(self.qhi[j], val + _pad(val))
                if self.qlo[j] > self.qhi[j]:
                    self.empty = True
                    return
                r = q_rows.start + j
                rlo[r], rhi[r] = self.scale[j] * self.qlo[j] - self.b[j], self.scale[j] * self.qhi[j] - self.b[j]
                vlo[j], vhi[j] = max(vlo[j], self.qlo[j], 0.0), min(vhi[j], max(self.qhi[j], 0.0))
        self._sweep()

    def probe(self, known: np.ndarray, node_limit: int = 400, time_limit: float | None = None) -> None:
        """Fix units by small programs: a free unit on at none of the ``known`` regions (n_bits
        columns) is forced on, one on at all of them forced off; when that program (with the
        cuts of the known regions) is infeasible, every fixed point not yet known has the unit
        the other way, and it is fixed so for the rest of the proof (the known points need no
        such fix: they are cut). A probe that stops at ``node_limit`` nodes or finds a point
        fixes nothing. Units are probed in order of their ``q`` bound nearest to 0, sweeps follow
        each fix, and one LP tightening round the last.
        """

        known = np.asarray(known, dtype=bool)[:, self.units]
        n, fixed = len(self.units), 0
        agree_off, agree_on = ~np.any(known, axis=0), np.all(known, axis=0)
        order = np.argsort(np.where(agree_off, self.qhi, -self.qlo))
        for j in order:
            if self.empty or not self.free[j] or not (agree_off[j] or agree_on[j]):
                continue
            prog = self.program()
            col = n + int(np.sum(self.free[:j]))
            prog[3][col] = prog[4][col] = 1.0 if agree_off[j] else 0.0  # the unit's binary, forced
            res = _solve_feasibility(prog, time_limit, node_limit=int(node_limit))
            self.probes += 1
            if res.status == 2:
                self.forced[j] = -1 if agree_off[j] else 1
                if agree_off[j]:
                    self.qhi[j] = min(self.qhi[j], 0.0)
                else:
                    self.qlo[j] = max(self.qlo[j], 0.0)
                fixed += 1
                self._sweep()
        if fixed and not self.empty:
            self.tighten()

    def full(self, dpat: np.ndarray) -> np.ndarray:
        """The region (1, n_bits) of a free-unit pattern (1, nf): fixed units as known."""
        S = np.zeros((1, self.model.n_bits), dtype=bool)
        S[:, self.units[self.on]] = True
        S[:, self.units[self.free]] = dpat
        return S

    def cut(self, pattern: np.ndarray) -> None:
        """Exclude the region ``pattern`` (1, n_bits) (kept over all units: probes fix units later)."""
        self.cuts.append(np.asarray(pattern, dtype=bool)[0, self.units])

    def solve(self, time_limit: float | None):
        return _solve_feasibility(self.program(), time_limit)


def _make_program(model, k: int, box: float, *, tighten: int = 8, eliminate: bool = True):
    """The program of order k: :class:`_FixedPointProgram` for fixed points when ``I - L`` is
    invertible (condition number below 1e8) and some unit is rectified, else :class:`_Program`.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PLRNN
    >>> import numpy as np
    >>> type(_make_program(PLRNN(np.full(2, 0.5), np.eye(2), np.zeros(2)), 1, 5.0)).__name__
    '_FixedPointProgram'
    >>> type(_make_program(PLRNN(np.array([1.0, 0.5]), np.eye(2), np.zeros(2)), 1, 5.0)).__name__
    '_Program'
    """
    if k == 1 and eliminate and np.any(effective_bits(model)):
        L = relu_form(model)[0]
        IL = np.eye(model.M) - L
        if np.linalg.cond(IL) < 1e8:
            return _FixedPointProgram(model, box, np.linalg.inv(IL), tighten=tighten)
    return _Program(model, k, box, tighten=tighten)


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
        (``None`` when a time limit was hit), ``stats["box"] == box``, ``stats["milp_solves"]`` and
        ``stats["bound_lps"]`` (the LPs of the bound tightening) per order.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> cs = certify_box(paper_gt16(), 2, box=20.0)
    >>> len(cs), cs.proven
    (1, {1: 'box', 2: 'box'})
    """
    from rnnexplore.dynamics.cycles import CycleSet

    t0 = time.perf_counter()
    check_model(model)
    max_order = check_int(max_order, "max_order", minimum=1, maximum=64)
    min_order = check_int(min_order, "min_order", minimum=1, maximum=max_order)
    box = check_real(box, "box", minimum=0.0)
    if time_limit is not None:
        time_limit = check_real(time_limit, "time_limit", minimum=0.0)
    by_order = _known_by_order(model, cycles)
    out, proven, milps, lps = [], {}, {}, {}
    for k in range(min_order, max_order + 1):
        found, proven[k], milps[k], lps[k] = _certify_order(model, k, box, by_order, time_limit)
        by_order[k] = found
        out.extend(found)
    orders = range(min_order, max_order + 1)
    stats = {
        "mode": "box",
        "max_order": max_order,
        "min_order": min_order,
        "box": float(box),
        "proven": dict(proven),
        "milp_solves": milps,
        "bound_lps": lps,
        "solves": {k: 0 for k in orders},
        "total_solves": 0,
        "stop": {k: ("complete" if proven[k] else "time_limit") for k in orders},
        "complete": all(proven[k] for k in orders),
        "continua": [],
        "wall_time": time.perf_counter() - t0,
    }
    return CycleSet(out, stats)


def _known_by_order(model: PiecewiseLinearModel, cycles: Any) -> dict[int, list]:
    """The known objects grouped by order (checked to be Cycles of this model)."""
    from rnnexplore.dynamics.cycles import Cycle

    by_order: dict[int, list] = {}
    for c in cycles if cycles is not None else ():
        if not isinstance(c, Cycle) or c.regions.shape[1] != model.n_bits or c.M != model.M:
            raise ValueError("cycles must be Cycles of this model")
        by_order.setdefault(c.order, []).append(c)
    return by_order


def _certify_order(model, k: int, box: float, by_order: dict[int, list], time_limit: float | None,
                   tighten: int = 8, eliminate: bool = True):
    """``(cycles, proven, milp_solves, bound_lps)`` of order k in the box.

    The known k-cycles in the box are kept and cut, as is every repetition of the lower
    orders; then the program is solved until infeasible (proven) or out of time. Each
    solution's region sequence is solved exactly: a real cycle in the box is added, and the
    sequence is cut either way (its cycle equation has that one candidate). ``tighten``: the
    most rounds of LP bound tightening (0: interval propagation only); ``eliminate``: the
    fixed-point program over ``y`` (:func:`_make_program`) where it applies.
    """
    from rnnexplore.dynamics.cycles import _canonical_shift, _Collector, _is_primitive

    nb = model.n_bits
    col = _Collector(model, k)
    for c in by_order.get(k, []):
        if np.all(np.abs(c.points) <= box):
            col.cycles[_canonical_shift(np.ascontiguousarray(c.regions).tobytes(), k, nb)[0]] = c
    prog = _make_program(model, k, box, tighten=tighten, eliminate=eliminate)
    if prog.empty:
        return list(col.cycles.values()), "box", 0, prog.lps
    for d in range(1, k + 1):  # every repetition of lower orders and the known k-cycles
        if k % d == 0:
            for c in by_order.get(d, []) if d < k else list(col.cycles.values()):
                prog.cut(np.tile(c.regions, (k // d, 1)))
    if isinstance(prog, _FixedPointProgram) and col.cycles:
        prog.probe(np.concatenate([c.regions for c in col.cycles.values()]), time_limit=time_limit)
        if prog.empty:
            return list(col.cycles.values()), "box", 0, prog.lps
    bits = np.zeros(nb, dtype=bool)
    bits[prog.units] = True
    n = 0
    while True:
        res = prog.solve(time_limit)
        n += 1
        if res.status == 2 or (res.x is None and res.status == 0):  # infeasible: proven
            return list(col.cycles.values()), "box", n, prog.lps
        if res.x is None:  # time limit or numerical trouble
            return list(col.cycles.values()), None, n, prog.lps
        S = prog.full(np.stack([np.round(res.x[prog.di(i)]).astype(bool) for i in range(k)]))
        ok, real, Z, V, P, cont = _solve_sequences(model, S[None], bits=bits)
        if cont[0]:  # a continuum in this sequence: not a finite set, cannot certify by cuts
            return list(col.cycles.values()), None, n, prog.lps
        if real[0] and np.all(np.abs(Z[0]) <= box):
            seq = np.ascontiguousarray(V[0])
            if _is_primitive(_canonical_shift(seq.tobytes(), k, nb)[0], k, nb):
                col.offer(seq.tobytes(), Z[0], seq, P[0])
        prog.cut(S)
