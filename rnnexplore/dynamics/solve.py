"""The engine's one batched solve: cycle equations of many region sequences at once.

Inside a fixed sequence of regions ``D_1..D_k`` the k-fold map of a piecewise-linear RNN is
affine, ``z_{k+1} = P z_1 + r`` with ``P = J_k ... J_1``, so a k-cycle through those regions
solves ``(I - P) z_1 = r`` (Eisenmann et al., NeurIPS 2023, the SCYFI step). This module forms
the products and offsets of a whole stack of sequences, solves them together and runs the true
map from every solution to tell real cycles from virtual ones. The rows may also belong to
different parameter points (:class:`ModelStack`: grid points, training checkpoints, slider
positions), so one vectorised pass serves a whole map tile or replay. Every search,
continuation and enumeration of the kit calls it.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import skew_tent
>>> sol = solve_region_sequences(skew_tent(0.2, -1.5, 1.0), np.array([[[False], [True]]]))
>>> bool(sol.real[0]), sol.points[0, :, 0].round(4).tolist()
(True, [-0.3846, 0.9231])
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

import numpy as np

from rnnexplore.dynamics.models import PiecewiseLinearModel

__all__ = ["RegionSolution", "ModelStack", "solve_region_sequences", "solve_stack", "check_model", "eigenvalues", "HUGE"]

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
    return _solve_rows(_OneModelRows(model), S, lengths, bits)


class RegionSolution(NamedTuple):
    """Result of :func:`solve_region_sequences` (one entry per region sequence)."""

    solvable: np.ndarray  # (B,) I - P has full rank and the solution is finite (one isolated candidate)
    real: np.ndarray  # (B,) the true orbit visits exactly the given regions and closes
    points: np.ndarray  # (B, k, M) that orbit (zeros where neither solvable nor a continuum)
    P: np.ndarray  # (B, M, M) Jacobian products
    continuum: np.ndarray  # (B,) I - P singular and the system consistent (an affine set of solutions)


def solve_region_sequences(model: Any, regions: np.ndarray, *, points: Any = None) -> RegionSolution:
    """Solve the cycle equations of a stack of region sequences (the SCYFI step, batched).

    Parameters
    ----------
    model : a model of :mod:`rnnexplore.dynamics.models`, or a :class:`ModelStack`
        With a stack, row b is solved with the parameters of model ``points[b]``: many
        parameter points and sequences in one vectorised pass.
    regions : bool array (B, k, n_bits)
    points : int array (B,), optional
        Stack index of every row (required for a stack of more than one model).

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
    if not isinstance(model, ModelStack):
        check_model(model)
    S = np.asarray(regions)
    if S.dtype != bool:
        if S.dtype.kind not in "iuf" or not np.all(np.isin(S, (0, 1))):
            raise ValueError("regions must contain booleans (or 0/1), got other values")
        S = S.astype(bool)
    if S.ndim != 3 or S.shape[2] != model.n_bits or S.shape[1] < 1:
        raise ValueError(f"regions must have shape (B, k, {model.n_bits}), got {S.shape}")
    ok, real, Z, _V, P, continuum = solve_stack(model, S, points=points)
    return RegionSolution(ok, real, Z, P, continuum)


def _safe_sv(m: np.ndarray) -> np.ndarray:  # pragma: no cover
    try:
        return np.linalg.svd(m, compute_uv=False)
    except np.linalg.LinAlgError:
        return np.r_[1.0, np.zeros(m.shape[0] - 1)]




# =========================================================================== stacks of models
class ModelStack:
    """A stack of P models of one kind and size, as affine forms (one batched solve for all).

    Every model of the kit is affine in its region bits: ``J(d) = J0 + sum_b d_b G_b``,
    ``c(d) = c0 + sum_b d_b g_b``, and its switching quantities are affine in the state,
    ``s(z) = L z + l0`` (region ``d = s(z) > 0``). A stack stores these forms for P parameter
    points (grid points, training checkpoints, slider positions), so
    :func:`solve_region_sequences` can solve any set of (point, region sequence) pairs in one
    vectorised pass, with no Python loop over points or sequences.

    Build one with :meth:`from_models` (any list of models of one kind) or :meth:`from_params`
    (a base model and arrays of values of a few scalar parameters; exact because every
    coefficient of the forms is multilinear in the scalar parameters).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> st = ModelStack.from_params(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": [-1.7, -1.8]})
    >>> len(st), st.model(1).get_param("W[0,0]")
    (2, -1.8)
    >>> sol = solve_region_sequences(st, np.array([[[False], [True]]] * 2), points=[0, 1])
    >>> sol.real.tolist()
    [True, True]
    """

    def __init__(self, template: PiecewiseLinearModel, J0, G, c0, g, L, l0, models=None, params=None):
        self.template = template
        self.M, self.n_bits = template.M, template.n_bits
        self.J0, self.G, self.c0, self.g, self.L, self.l0 = J0, G, c0, g, L, l0
        self._models = models
        self._params = params

    def __len__(self) -> int:
        return int(self.J0.shape[0])

    @staticmethod
    def _forms(model: PiecewiseLinearModel):
        nb, M = model.n_bits, model.M
        R = np.vstack([np.zeros((1, nb), bool), np.eye(nb, dtype=bool)])
        J = np.asarray(model.jacobians(R), dtype=np.float64)
        c = np.asarray(model.offsets(R), dtype=np.float64)
        Z = np.vstack([np.zeros((1, M)), np.eye(M)])
        s = np.asarray(model._switching(Z), dtype=np.float64)
        return J[0], J[1:] - J[0], c[0], c[1:] - c[0], (s[1:] - s[0]).T, s[0]

    @classmethod
    def from_models(cls, models) -> "ModelStack":
        """Stack a non-empty list of models of one kind and size."""
        if isinstance(models, (str, bytes)) or not isinstance(models, Iterable):
            raise ValueError(f"models must be a non-empty list of models, got {type(models).__name__}")
        models = list(models)
        if not models:
            raise ValueError("models must be a non-empty list of models")
        for m in models:
            check_model(m)
            if type(m) is not type(models[0]) or m.M != models[0].M or m.n_bits != models[0].n_bits:
                raise ValueError("models must all be of one kind and size")
        forms = [cls._forms(m) for m in models]
        arrays = [np.stack([f[n] for f in forms]) for n in range(6)]
        return cls(models[0], *arrays, models=models)

    @classmethod
    def from_params(cls, base: PiecewiseLinearModel, params) -> "ModelStack":
        """Stack ``base`` at P settings of a few scalar parameters (``{name: (P,) values}``)."""
        check_model(base)
        names = list(params)
        if not 1 <= len(names) <= 4:
            raise ValueError("params must give values of 1 to 4 scalar parameters")
        vals = [np.asarray(params[n], dtype=np.float64).ravel() for n in names]
        P = len(vals[0])
        if P < 1 or any(len(v) != P for v in vals):
            raise ValueError("params values must be non-empty 1-D arrays of one length")
        # Moebius inversion over the corners {0, 1}^n: exact for multilinear coefficients
        corners = {}
        for mask in range(1 << len(names)):
            m = base.with_params({n: float((mask >> i) & 1) for i, n in enumerate(names)})
            corners[mask] = cls._forms(m)
        out = [np.zeros((P,) + np.shape(a)) for a in corners[0]]
        for mask in range(1 << len(names)):
            coef = np.ones(P)
            for i in range(len(names)):
                if (mask >> i) & 1:
                    coef = coef * vals[i]
            for sub in range(1 << len(names)):
                if sub & ~mask:
                    continue
                sign = -1.0 if bin(mask ^ sub).count("1") % 2 else 1.0
                for n in range(6):
                    out[n] += (sign * coef).reshape((P,) + (1,) * np.ndim(corners[sub][n])) * corners[sub][n]
        return cls(base, *out, params=dict(zip(names, vals)))

    def model(self, i: int) -> PiecewiseLinearModel:
        """The i-th model of the stack."""
        if self._models is not None:
            return self._models[int(i)]
        return self.template.with_params({n: float(v[int(i)]) for n, v in self._params.items()})

    def rows(self, point: np.ndarray) -> "_StackRows":
        """The per-row parameters of the models ``point`` (stack indices, one per row to solve),
        gathered once for the solve kernel (as ``solve_stack`` does)."""
        return _StackRows(self, np.asarray(point, dtype=np.intp))


class _StackRows:
    """Per-row parameters of a stack, gathered once per solve and stored batch-last.

    Small matrices are cheapest as "structure of arrays": a product of two stacks of M x M
    matrices is one broadcast multiply and one sum over arrays of length B, instead of B
    tiny matrix products.
    """

    _names = ("J0", "G", "c0", "g", "L", "l0")

    def __init__(self, stack: ModelStack | None, pt: np.ndarray | None) -> None:
        if stack is None:
            return
        self.J0 = np.ascontiguousarray(np.moveaxis(stack.J0[pt], 0, -1))  # (M, M, B)
        self.G = np.ascontiguousarray(np.moveaxis(stack.G[pt], 0, -1))  # (nb, M, M, B)
        self.c0 = np.ascontiguousarray(stack.c0[pt].T)  # (M, B)
        self.g = np.ascontiguousarray(np.moveaxis(stack.g[pt], 0, -1))  # (nb, M, B)
        self.L = np.ascontiguousarray(np.moveaxis(stack.L[pt], 0, -1))  # (nb, M, B)
        self.l0 = np.ascontiguousarray(stack.l0[pt].T)  # (nb, B)

    def take(self, sel):
        out = _StackRows(None, None)
        for n in self._names:
            setattr(out, n, getattr(self, n)[..., sel])
        return out

    def products(self, S: np.ndarray, pad):
        B, K, nb = S.shape
        D = np.moveaxis(S, 0, -1).astype(np.float64)  # (K, nb, B)
        M = self.J0.shape[0]
        eye = np.eye(M)[:, :, None]
        P = None
        r = None
        for i in range(K):
            d = D[i]  # (nb, B)
            Ji = self.J0 + (d[:, None, None, :] * self.G).sum(axis=0)
            ci = self.c0 + (d[:, None, :] * self.g).sum(axis=0)
            if pad is not None and pad[:, i].any():
                Ji = np.where(pad[:, i], eye, Ji)
                ci = np.where(pad[:, i], 0.0, ci)
            if P is None:
                P, r = Ji, ci
            else:
                P = (Ji[:, :, None, :] * P[None, :, :, :]).sum(axis=1)
                r = (Ji * r[None, :, :]).sum(axis=1) + ci
        return np.moveaxis(P, -1, 0), r.T

    def orbit(self, z: np.ndarray, K: int):
        """States ``(B, K + 1, M)`` of the true map from ``z`` and regions ``(B, K, nb)``."""
        B, M = z.shape
        nb = self.l0.shape[0]
        Z = np.empty((K + 1, M, B))
        V = np.empty((K, nb, B), dtype=bool)
        cur = np.ascontiguousarray(z.T)
        for i in range(K):
            Z[i] = cur
            V[i] = (self.L * cur[None, :, :]).sum(axis=1) + self.l0 > 0
            cur = self._step_T(cur)
        Z[K] = cur
        return np.moveaxis(Z, -1, 0), np.moveaxis(V, -1, 0)

    def _step_T(self, cur):  # batch-last state (M, B)
        s = (self.L * cur[None, :, :]).sum(axis=1) + self.l0
        d = (s > 0).astype(np.float64)
        J = self.J0 + (d[:, None, None, :] * self.G).sum(axis=0)
        c = self.c0 + (d[:, None, :] * self.g).sum(axis=0)
        return (J * cur[None, :, :]).sum(axis=1) + c

    def advance(self, z: np.ndarray, n: int) -> np.ndarray:
        """State after ``n`` steps of the true map."""
        cur = np.ascontiguousarray(z.T)
        for _ in range(n):
            cur = self._step_T(cur)
        return np.ascontiguousarray(cur.T)

    def region_of(self, z: np.ndarray) -> np.ndarray:
        return ((self.L * z.T[None, :, :]).sum(axis=1) + self.l0 > 0).T


class _OneModelRows:
    """Every row uses one model (no parameter gather: large M stays cheap)."""

    def __init__(self, model) -> None:
        self.model = model

    def take(self, sel):
        return self

    def products(self, S: np.ndarray, pad):
        B, K, _ = S.shape
        J = self.model.jacobians(S)
        c = np.asarray(self.model.offsets(S))
        if pad is not None:
            M = J.shape[-1]
            J = np.array(np.broadcast_to(J, (B, K, M, M)))
            c = np.array(np.broadcast_to(c, (B, K, M)))
            J[pad] = np.eye(M)
            c[pad] = 0.0
        P = J[:, 0]
        r = c[:, 0]
        for i in range(1, K):
            Ji = J[:, i]
            P = Ji @ P
            r = (Ji @ r[:, :, None])[:, :, 0] + c[:, i]
        return P, r

    def orbit(self, z: np.ndarray, K: int):
        B, M = z.shape
        Z = np.empty((B, K + 1, M))
        V = np.empty((B, K, self.model.n_bits), dtype=bool)
        cur = z
        for i in range(K):
            Z[:, i] = cur
            V[:, i] = self.model._region(cur)
            cur = self.model._step(cur)
        Z[:, K] = cur
        return Z, V

    def advance(self, z: np.ndarray, n: int) -> np.ndarray:
        for _ in range(n):
            z = self.model._step(z)
        return z

    def region_of(self, z: np.ndarray) -> np.ndarray:
        return self.model._region(z)


def _rows_for(system, points, B: int):
    if isinstance(system, ModelStack):
        if points is None:
            if len(system) != 1:
                raise ValueError("points must be given for a stack of more than one model")
            points = np.zeros(B, dtype=np.intp)
        pt = np.asarray(points)
        if pt.shape != (B,) or (B and (pt.min() < 0 or pt.max() >= len(system))):
            raise ValueError(f"points must be {B} indices into the stack of {len(system)} models")
        return system.rows(pt)
    check_model(system)
    return _OneModelRows(system)


def _inverse_solve(IP: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``||IP^-1||_F`` (inf where singular) and the solution of ``IP z = r``.

    Closed forms for M <= 2 (a few array operations instead of B tiny LAPACK calls, the norm
    exact); otherwise one LU per matrix, the norm estimated from a fixed random-sign probe
    (no inverse, no SVD).
    """
    B, M, _ = IP.shape
    if M == 1:
        a = IP[:, 0, 0]
        safe = np.where(a != 0, a, 1.0)
        return np.where(a != 0, 1.0 / np.abs(safe), np.inf), (r[:, 0] / safe)[:, None]
    if M == 2:
        a, b, c, d = IP[:, 0, 0], IP[:, 0, 1], IP[:, 1, 0], IP[:, 1, 1]
        det = a * d - b * c
        inv = 1.0 / np.where(det != 0, det, 1.0)
        fro = np.sqrt(a * a + b * b + c * c + d * d)
        z = np.stack([(d * r[:, 0] - b * r[:, 1]) * inv, (a * r[:, 1] - c * r[:, 0]) * inv], axis=1)
        return np.where(det != 0, fro * np.abs(inv), np.inf), z
    # one LU per matrix (LAPACK gesv) for the solution and a fixed +-1 probe: ||IP^-1 p||_2
    # estimates ||IP^-1||_F (its mean square is exactly ||IP^-1||_F^2 for random signs)
    probe = np.where(np.random.default_rng(12345).random(M) < 0.5, -1.0, 1.0)
    rhs = np.stack([r, np.broadcast_to(probe, r.shape)], axis=2)
    try:
        x = np.linalg.solve(IP, rhs)
        good = np.ones(B, bool)
    except np.linalg.LinAlgError:  # some exactly singular: solve row by row
        x = np.zeros((B, M, 2))
        good = np.zeros(B, bool)
        for b in range(B):
            try:
                x[b] = np.linalg.solve(IP[b], rhs[b])
                good[b] = True
            except np.linalg.LinAlgError:
                pass
    inv_fro = np.sqrt(np.sum(x[:, :, 1] ** 2, axis=1))
    return np.where(good & np.isfinite(inv_fro), inv_fro, np.inf), x[:, :, 0]


def _linear_solve(IP: np.ndarray, r: np.ndarray, rank_tol: np.ndarray):
    """Solve ``IP z = r`` for a stack: ``(z, regular, continuum, residual)``.

    No condition-number cut: full rank is shown by ``1 / ||IP^-1||_F > rank_tol`` (since
    ``s_min = 1 / ||IP^-1||_2 >= 1 / ||IP^-1||_F``; exact for M <= 2, estimated from the
    same LU for larger M); singular values are computed only for the rows this cannot clear. A singular system gets
    its least-squares point and is a *continuum* when consistent. The residual lets the
    caller keep regular solves only when it is small.
    """
    B, M, _ = IP.shape
    inv_fro, z = _inverse_solve(IP, r)
    with np.errstate(all="ignore"):
        regular = inv_fro * rank_tol < 1.0
    unsure = ~regular
    if unsure.any():
        try:
            sv = np.linalg.svd(IP[unsure], compute_uv=False)
        except np.linalg.LinAlgError:  # pragma: no cover - only on pathological input
            sv = np.stack([_safe_sv(m) for m in IP[unsure]])
        cleared = sv[:, -1] > rank_tol[unsure]
        fix = np.flatnonzero(unsure)[cleared]
        regular[fix] = True
        if fix.size:  # cleared by the SVD: solve with LAPACK
            z[fix] = np.linalg.solve(IP[fix], r[fix][:, :, None])[:, :, 0]
    singular = ~regular
    continuum = np.zeros(B, dtype=bool)
    if singular.any():  # least squares through the SVD; consistent = continuum
        U, s, Vt = np.linalg.svd(IP[singular])
        keep = s > rank_tol[singular, None]
        ur = np.einsum("bji,bj->bi", U, r[singular])
        inv = np.where(keep, 1.0 / np.where(keep, s, 1.0), 0.0)
        z[singular] = np.einsum("bji,bj->bi", Vt, inv * ur)
        resid = np.sqrt(np.sum(np.where(keep, 0.0, ur) ** 2, axis=1))
        rnorm = np.sqrt(np.sum(r[singular] ** 2, axis=1))
        continuum[singular] = resid <= _CONSISTENT_RTOL * (1.0 + rnorm)
    res = np.max(np.abs((IP @ z[:, :, None])[:, :, 0] - r), axis=1)
    return z, regular, continuum, res


def _solve_rows(rows, S: np.ndarray, lengths: np.ndarray | None = None, bits: np.ndarray | None = None,
                real_products: bool = False):
    """The kernel: products, solve and real/virtual check of every (parameters, sequence) row.

    Returns ``(ok, real, Z, V, P, continuum)`` as documented in :func:`_solve_sequences`
    (``P`` of the real rows only, in row order, with ``real_products=True``).
    """
    B, K, _ = S.shape
    pad = None
    if lengths is not None and np.any(lengths < K):
        pad = np.arange(K)[None, :] >= lengths[:, None]
    with np.errstate(all="ignore"):
        if K == 1 and _reducible(rows):
            z, regular, continuum, res, rs, Pmax, finite = _reduced_fixed_points(rows.model, S[:, 0])
            P = None
        else:
            P, r = rows.products(S, pad)
            z, regular, continuum, res, rs, Pmax, finite = _full_solve(P, r, K)
        regular &= finite
        continuum &= finite
        res_scale = (1.0 + np.max(np.abs(rs), axis=1)) + (1.0 + Pmax) * np.max(np.abs(z), axis=1)
        ok = regular & np.all(np.abs(z) < HUGE, axis=1) & (res <= 1e-9 * res_scale)
        z[~(ok | continuum)] = 0.0
        continuum &= np.all(np.abs(z) < HUGE, axis=1)
        Z, V = rows.orbit(z, K)
        same = V == S
        if bits is not None:
            same = same | ~np.asarray(bits, dtype=bool)
        if pad is None:
            real = ok & np.all(same, axis=(1, 2))
            end = Z[:, K]
            absZ = np.max(np.abs(Z[:, :K]), axis=(1, 2))
        else:
            real = ok & np.all(same | pad[:, :, None], axis=(1, 2))
            end = Z[np.arange(B), lengths]
            absZ = np.max(np.where(pad[:, :, None], 0.0, np.abs(Z[:, :K])), axis=(1, 2))
        # closure |F^k(z) - z| small (rounding grows with the size of P)
        scale = (1.0 + absZ) * (1.0 + Pmax)
        err = np.max(np.abs(end - z), axis=1)
        real &= np.isfinite(err) & (err <= 1e-8 * np.where(np.isfinite(scale), scale, np.inf))
    if P is None:  # the reduced solve forms Jacobians only where asked for
        P = rows.model.jacobians(S[real, 0] if real_products else S[:, 0])
    elif real_products:
        P = P[real]
    return ok, real, Z[:, :K], V, P, continuum


def _full_solve(P: np.ndarray, r: np.ndarray, K: int):
    """``(I - P) z = r`` of every row: ``(z, regular, continuum, residual, r, max|P|, finite)``."""
    M = P.shape[-1]
    eye = np.eye(M)
    Pmax = np.max(np.abs(P), axis=(1, 2))
    finite = (Pmax < HUGE) & np.all(np.abs(r) < HUGE, axis=1)
    IPs = eye - P
    rs = r
    if not finite.all():
        IPs[~finite] = eye
        rs = np.where(finite[:, None], r, 0.0)
        Pmax = np.where(finite, Pmax, 0.0)
    z, regular, continuum, res = _linear_solve(IPs, rs, _RANK_RTOL * K * (1.0 + Pmax))
    return z, regular, continuum, res, rs, Pmax, finite


_REDUCE_MIN_M = 24  # below this the full M x M solves are as cheap as the gathers of the reduced ones


def _reducible(rows) -> bool:
    """Fixed points of a PLRNN with diagonal ``A`` (no eigenvalue 1): the reduced solve applies."""
    m = getattr(rows, "model", None)
    if type(m).__name__ != "PLRNN" or m.M < _REDUCE_MIN_M:
        return False
    flag = m.__dict__.get("_reducible")
    if flag is None:  # models are immutable: decided once per model
        flag = m.__dict__["_reducible"] = bool(m.diagonal_A and np.all(np.diag(m.A) != 1.0))
    return flag


def _reduced_fixed_points(model, d: np.ndarray):
    """Fixed points of ``z = A z + W relu(z) + h`` in the regions ``d`` (B, M), A diagonal.

    In region d with active units s (``|s| = k``) the fixed-point equation
    ``(I - A - W D) z = h`` splits: with ``L = (I - A)^-1`` (diagonal),
    ``(I - L_s W_ss) z_s = L_s h_s`` (k x k) and then ``z = L (W_:s z_s + h)``. The full
    system is regular exactly when the reduced one is (``det(I - A - W D) = det(I - A)
    det(I - L_s W_ss)``) and consistent exactly when it is, so regularity and continua carry
    over. Cost ``k^3 / 3`` instead of ``M^3 / 3`` and no ``M x M`` Jacobian per row; the
    residual returned is that of the full system. Rows are grouped by k (padded with identity
    rows to the group's largest k) so each group is one batched LAPACK call.

    Returns ``(z, regular, continuum, residual, h rows, max|A + W D|, finite)`` like
    :func:`_full_solve`.
    """
    B, M = d.shape
    a, lam, LWa, lha, col_on, all_finite = _reduced_forms(model)
    W, h = model.W, model.h
    Pmax = np.max(np.where(d, col_on, np.abs(a)), axis=1)
    finite = np.full(B, all_finite)
    z = np.zeros((B, M))
    regular = np.zeros(B, bool)
    continuum = np.zeros(B, bool)
    k = d.sum(axis=1)
    order = np.argsort(k, kind="stable")
    ks = k[order]
    start = 0
    while start < B:  # groups of similar k: pad at most 12.5% above the smallest (all k <= 64 at once)
        stop = int(np.searchsorted(ks, max(64, int(ks[start] * 1.125)), side="right"))
        rows_ = order[start:stop]
        kmax = int(ks[stop - 1])
        start = stop
        if kmax == 0:  # no active unit: z = L h, always regular
            regular[rows_] = True
            z[rows_] = lam * h
            continue
        # active indices, padded with index M: a zero row and column of the augmented L W
        act = np.full((len(rows_), kmax), M, dtype=np.intp)
        r_i, c_i = np.nonzero(d[rows_])
        pos = np.arange(len(r_i)) - np.searchsorted(r_i, r_i)  # position within its row
        act[r_i, pos] = c_i
        G = np.take(LWa, act[:, :, None] * (M + 1) + act[:, None, :])
        rmax = 1.0 + np.max(np.abs(G), axis=(1, 2))
        R = np.negative(G, out=G)
        R[:, np.arange(kmax), np.arange(kmax)] += 1.0
        rhs = lha[act]
        zs, reg, cont, _ = _linear_solve(R, rhs, _RANK_RTOL * rmax)
        x = np.zeros((len(rows_), M))
        x[r_i, c_i] = zs[r_i, pos]
        z[rows_] = lam * (x @ W.T + h)
        regular[rows_] = reg
        continuum[rows_] = cont
    rs = np.broadcast_to(h, (B, M))
    res = np.max(np.abs(z - a * z - (np.where(d, z, 0.0) @ W.T) - h), axis=1)
    return z, regular, continuum, res, rs, Pmax, finite


def _reduced_forms(model):
    """Per-model arrays of :func:`_reduced_fixed_points` (models are immutable: cached on the model)."""
    forms = model.__dict__.get("_reduced_forms")
    if forms is None:
        M = model.M
        a = np.diag(model.A).copy()
        lam = 1.0 / (1.0 - a)
        LWa = np.zeros((M + 1, M + 1))  # L W with a zero row and column for padding
        LWa[:M, :M] = lam[:, None] * model.W
        lha = np.r_[lam * model.h, 0.0]
        # max|A + W D| per row, exactly: column j is W_:j + a_j e_j when active, a_j e_j otherwise
        col_on = np.max(np.abs(model.W + np.diag(a)), axis=0)
        ok = bool(np.all(np.isfinite(LWa)) and np.all(np.isfinite(lha)))
        forms = (a, lam, LWa, lha, col_on, ok)
        model.__dict__["_reduced_forms"] = forms
    return forms


def eigenvalues(P: np.ndarray) -> np.ndarray:
    """Eigenvalues of a stack of square matrices ``(B, M, M)``, rows of ``(B, M)`` complex.

    A column that is zero off the diagonal (an inactive unit of a ReLU network: column
    ``a_j e_j`` of ``A + W D``) makes ``P`` block triangular after a symmetric permutation,
    so its diagonal entry is an eigenvalue and the rest are those of the principal submatrix
    of the other units. Large networks with many inactive units thus need eigenvalues of
    only their active block; the result equals ``np.linalg.eigvals`` up to order and rounding.

    Examples
    --------
    >>> P = np.array([[[2.0, 0.0, 1.0], [1.0, 0.5, 0.0], [0.0, 0.0, 3.0]]])
    >>> sorted(eigenvalues(P)[0].real.round(6).tolist())
    [0.5, 2.0, 3.0]
    """
    P = np.asarray(P, dtype=np.float64)
    B, M = P.shape[0], P.shape[-1]
    if B == 0 or M < _REDUCE_MIN_M:
        return np.linalg.eigvals(P).astype(complex) if B else np.zeros((0, M), complex)
    out = np.empty((B, M), complex)
    off = np.abs(P).sum(axis=1) - np.abs(np.diagonal(P, axis1=1, axis2=2))
    for b in range(B):
        keep = np.flatnonzero(off[b] != 0)
        drop = np.flatnonzero(off[b] == 0)
        out[b, : keep.size] = np.linalg.eigvals(P[b][np.ix_(keep, keep)]) if keep.size else []
        out[b, keep.size :] = P[b, drop, drop]
    return out


def solve_stack(system, S: np.ndarray, lengths: np.ndarray | None = None, points=None, chunk: int = 32768,
                real_products: bool = False):
    """Kernel entry: ``(ok, real, Z, V, P, continuum)`` for rows ``(points[b], S[b, :lengths[b]])``.

    ``system`` is a model (every row uses it) or a :class:`ModelStack` (row b uses model
    ``points[b]``). Rows are processed in chunks (Jacobian stacks of about 20 MB, or ``chunk``
    rows) to bound memory. ``real_products=True`` returns ``P`` of the real rows only (in row
    order): large networks need the products only of the objects found.
    """
    S = np.asarray(S, dtype=bool)
    B, K = S.shape[0], S.shape[1]
    rows = _rows_for(system, points, B)
    M = system.M
    per_row = 8 * K * M * M + 1
    if K == 1 and _reducible(rows):  # no M x M Jacobian per row; the reduced systems are smaller
        per_row = per_row // 4
    chunk = max(1, min(chunk, int(2e7 // per_row)))
    parts = []
    for s in range(0, B, chunk):
        sl = slice(s, s + chunk)
        parts.append(_solve_rows(rows.take(sl) if B > chunk else rows, S[sl],
                                 None if lengths is None else lengths[sl], real_products=real_products))
    if len(parts) == 1:
        return parts[0]
    return tuple(np.concatenate([p[n] for p in parts]) for n in range(6))
