"""Exact enumeration of region sequences: effective alphabet, Lyndon words, pruned itineraries.

A k-cycle of a piecewise-linear map is determined by its region sequence up to rotation, and
only the region bits that change a Jacobian or an offset matter (:func:`effective_bits`): a
unit whose column of ``W`` is zero, a hidden unit of a shallow model whose column of ``W1`` is
zero. The *letters* of a model (:func:`region_letters`) are the distinct patterns of effective
bits that some state realises - every pattern for a PLRNN/ALRNN, the cells of the hyperplane
arrangement for shallow models (found exactly by linear programs). Cycles of order k are then
found by solving one region sequence per Lyndon word of length k over the letters (aperiodic
words up to rotation): ``L(n, k) ~ n^k / k`` solves instead of ``2^(n_bits k)``.

Pruned enumeration (``_ExactOrders.pruned`` in :mod:`rnnexplore.dynamics.cycles`) builds on
the pieces here: :func:`periodic_box` bounds every periodic point, :func:`prefix_margins`
decides exactly (batched LPs) which words some state of the box follows - the admissible
*windows* - and :class:`NecklaceTree` grows the Lyndon words whose every cyclic window is
admissible (the closed walks of the windows' de Bruijn graph), which are then solved.

:class:`NecklaceTree` grows the prenecklaces (prefixes of Lyndon words) level by level, all of
one level at once in numpy (the FKM successor rule); its level ``k`` contains every Lyndon word
of length k. With pruning, a prefix is dropped as soon as no state follows it: the states whose
orbit visits a given sequence of regions form a convex polyhedron (every piece is affine), and
its emptiness is decided by a linear program (``scipy.optimize.linprog``, HiGHS) that maximises
the smallest margin of the strict "on" inequalities. When the map contracts or expands at
infinity, :func:`periodic_box` bounds every periodic orbit, and the prefix polyhedra are
intersected with it. Every surviving Lyndon word is still solved
and checked exactly on the true map, so pruning can only save work, never add an object; a
prefix is dropped only when the LP says it is empty by more than its tolerance.

Examples
--------
>>> from rnnexplore.dynamics.models import PLRNN
>>> m = PLRNN([0.5, 0.5], [[0.0, 1.0], [0.0, -1.0]], [0.1, 0.2])  # column 0 of W is zero
>>> effective_bits(m).tolist()
[False, True]
>>> region_letters(m).astype(int).tolist()
[[0, 0], [0, 1]]
>>> tree = NecklaceTree(2)
>>> [tree.grow()[1].shape[0] for _ in range(6)]  # Lyndon words over 2 letters, lengths 1..6
[2, 1, 2, 3, 6, 9]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from rnnexplore.dynamics.dense_lp import UNDECIDED, farkas_bound, max_margins
from rnnexplore.dynamics.models import PiecewiseLinearModel, ShallowPLRNN

__all__ = [
    "effective_bits",
    "region_letters",
    "switching_affine",
    "n_lyndon",
    "NecklaceTree",
    "prefix_margin",
    "prefix_margins",
    "periodic_box",
    "template_box",
    "PRUNE_TOL",
]

PRUNE_TOL = 1e-7  # a prefix is empty when its best margin is below -PRUNE_TOL (HiGHS tolerance 1e-7)


# --------------------------------------------------------------------------- alphabet
def switching_affine(model: PiecewiseLinearModel) -> tuple[np.ndarray, np.ndarray]:
    """``(G, g)`` with ``switching(z) = G z + g`` (region bit j is ``(G z + g)_j > 0``).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> G, g = switching_affine(skew_tent(0.2, -1.5, 1.0))
    >>> G.tolist(), g.tolist()
    ([[1.0]], [0.0])
    """
    M = model.M
    g = model._switching(np.zeros((1, M)))[0]
    G = (model._switching(np.eye(M)) - g).T
    return np.ascontiguousarray(G), np.ascontiguousarray(g)


def effective_bits(model: PiecewiseLinearModel) -> np.ndarray:
    """Region bits that change some Jacobian or offset (bool, shape ``(n_bits,)``).

    A bit whose flip leaves every affine piece unchanged (e.g. a PLRNN unit whose column of
    ``W`` is zero) does not multiply the number of region sequences worth solving.
    """
    nb = model.n_bits
    base = np.zeros((1, nb), dtype=bool)
    flips = np.eye(nb, dtype=bool)
    J0, c0 = model.jacobians(base)[0], model.offsets(base)[0]
    J1, c1 = model.jacobians(flips), model.offsets(flips)
    return np.any(J1 != J0, axis=(1, 2)) | np.any(c1 != c0, axis=1)


def _cell_margin(G: np.ndarray, g: np.ndarray, bits: np.ndarray, on: np.ndarray) -> tuple[float, np.ndarray | None]:
    """Best margin of one cell ``{z: (Gz+g)_j > 0 for on bits, <= 0 for off bits}`` (j in bits)."""
    return _max_margin(G[bits], g[bits], on[bits])


def region_letters(model: PiecewiseLinearModel) -> np.ndarray:
    """The distinct patterns of effective bits realised by some state (ineffective bits False).

    PLRNN / ALRNN: every pattern (each orthant of the rectified units is nonempty). Shallow
    models: the cells of the hyperplane arrangement ``W2 z + h2`` (and ``W2 z`` for the clipped
    form), found exactly by splitting cells one hyperplane at a time with linear programs.

    Returns
    -------
    bool array (n_letters, n_bits)
    """
    eff = effective_bits(model)
    nb = model.n_bits
    idx = np.flatnonzero(eff)
    if not isinstance(model, ShallowPLRNN):
        n = len(idx)
        codes = np.arange(2**n, dtype=np.int64)
        out = np.zeros((2**n, nb), dtype=bool)
        out[:, idx] = (codes[:, None] >> np.arange(n)) & 1
        return out
    G, g = switching_affine(model)
    cells = [np.zeros(nb, dtype=bool)]
    used = np.zeros(nb, dtype=bool)
    for j in idx:
        used[j] = True
        nxt = []
        for cell in cells:
            for val in (False, True):
                c = cell.copy()
                c[j] = val
                tau, _ = _cell_margin(G, g, used, c)
                if tau > 0.0:
                    nxt.append(c)
        cells = nxt
    return np.array(cells, dtype=bool).reshape(len(cells), nb)


# --------------------------------------------------------------------------- a box for every periodic orbit
def _contraction_bound(L, C, G, g, h0) -> np.ndarray | None:
    """Bound on ``max |z|`` over every periodic orbit from a nonnegative linear recursion.

    Along a periodic orbit let ``a`` be the componentwise maximum of ``|z|`` and ``u`` that of
    ``y = relu(G z + g)``. Every orbit point is the image of one, so
    ``a <= |L| a + |C| u + |h0|`` and ``u <= |G L| a + (G C)^+ u + (G h0 + g)^+`` (``y >= 0``).
    With ``Q >= 0`` the matrix of that system and ``rho(Q) < 1``, ``(I - Q)^-1 >= 0`` turns it
    into ``(a, u) <= (I - Q)^-1 q``. None when ``rho(Q) >= 1``.
    """
    M, nb = C.shape
    GL, GC = G @ L, G @ C
    Q = np.block([[np.abs(L), np.abs(C)], [np.abs(GL), np.maximum(GC, 0.0)]])
    q = np.concatenate([np.abs(h0), np.maximum(G @ h0 + g, 0.0)])
    if Q.size == 0 or np.max(np.abs(np.linalg.eigvals(Q))) >= 1.0 - 1e-9:
        return None
    m = np.linalg.solve(np.eye(M + nb) - Q, q)
    if not np.all(np.isfinite(m)) or np.any(m < -1e-12):
        return None
    a, u = np.maximum(m[:M], 0.0), np.maximum(m[M:], 0.0)
    # z = L z_prev + C y_prev + h0 with |z_prev| <= a, 0 <= y_prev <= u
    lo = -np.abs(L) @ a + np.minimum(C, 0.0) @ u + h0
    hi = np.abs(L) @ a + np.maximum(C, 0.0) @ u + h0
    return np.minimum(np.maximum(np.abs(lo), np.abs(hi)), a)


def _expansion_bound(L, C, G, g, h0) -> float | None:
    """Radius R of an infinity-norm ball holding every periodic orbit of a map that expands at
    infinity (PLRNN / ALRNN structure: each switching row selects one state component).

    If ``|F(z)_i| >= rho_i N - c`` whenever ``|z_i| = ||z|| = N``, with ``rho = min rho_i > 1``,
    the largest-norm point of a periodic orbit (norm N) maps to a point of norm > N unless
    ``N <= c / (rho - 1)``; its image is on the orbit, so every orbit lies in that ball.
    None when the structure does not apply or ``rho <= 1``.
    """
    M, nb = C.shape
    if nb and not (np.all(np.sum(G != 0, axis=1) == 1) and np.all(G[G != 0] == 1.0)):
        return None
    p = np.argmax(G != 0, axis=1) if nb else np.zeros(0, dtype=np.int64)
    rho = np.empty(M)
    for i in range(M):
        own = p == i
        c_i = float(np.sum(C[i, own]))
        cross = float(np.sum(np.abs(L[i])) - abs(L[i, i]) + np.sum(np.abs(C[i, ~own])))
        rho[i] = min(abs(L[i, i] + c_i), abs(L[i, i])) - cross
    const = float(np.max(np.abs(h0) + np.abs(C) @ np.abs(g))) if M else 0.0
    r = float(np.min(rho)) if M else 0.0
    if r <= 1.0 + 1e-9:
        return None
    return const / (r - 1.0)


def periodic_box(model: PiecewiseLinearModel) -> tuple[np.ndarray, np.ndarray] | None:
    """Bounds ``lo <= z <= hi`` that hold at every point of every periodic orbit, or None.

    Two sufficient conditions are tried on ``z' = L z + C relu(G z + g) + h0``
    (:func:`rnnexplore.dynamics.certify.relu_form`): the map contracts at infinity (a
    nonnegative recursion on the componentwise maxima of ``|z|`` and of the rectified units
    along the orbit has spectral radius < 1; typical of inhibition-dominated ReLU RNNs), or it
    expands at infinity in the infinity norm (the largest point of an orbit would map further
    out; e.g. the rich skew-tent PLRNNs). The box found is then tightened by interval
    propagation (:func:`rnnexplore.dynamics.certify.propagate_bounds`: a periodic point in the
    box lies in every image of the box). Neither condition holds: None (no bound is known, and
    pruning proceeds without one). The bounds are widened by a relative ``1e-7`` for rounding.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PLRNN, skew_tent
    >>> lo, hi = periodic_box(skew_tent(0.2, -1.5, 1.0))  # contracting at infinity on z < 0
    >>> bool(lo[0] <= -0.3846 and 0.9231 <= hi[0])
    True
    >>> periodic_box(PLRNN([1.0], [[0.0]], [0.0])) is None  # the identity: no bound exists
    True
    """
    from rnnexplore.dynamics.certify import propagate_bounds, relu_form

    L, C, G, g, h0 = relu_form(model)
    with np.errstate(all="ignore"):
        a = _contraction_bound(L, C, G, g, h0)
        R = float(np.max(a)) if a is not None else _expansion_bound(L, C, G, g, h0)
    if R is None or not math.isfinite(R):
        return None
    R = R * (1.0 + 1e-7) + 1e-7
    lo, hi = propagate_bounds(model, R)
    if a is not None:
        lo, hi = np.maximum(lo, -a * (1.0 + 1e-7) - 1e-7), np.minimum(hi, a * (1.0 + 1e-7) + 1e-7)
    return lo, hi


def template_box(model: PiecewiseLinearModel, box: tuple[np.ndarray, np.ndarray],
                 n_iter: int = 8, seconds: float = math.inf) -> tuple[np.ndarray, np.ndarray]:
    """A box inside ``box`` that still holds every periodic point in it, by a template polytope.

    ``P = {z : D z <= c}`` with the directions ``D``: ``+-e_j``, ``+-`` the rows of the
    Jacobians' mean (the state a unit feeds) and ``+-`` the principal axes of a simulated orbit
    (any directions are sound; these are where the orbits are thin), ``c`` from ``box``. One
    iteration sets ``c_d = min(c_d, max_a max {d . (J_a z + c_a) : z in P, z in region a})``
    over the letters ``a`` (one small LP per letter and direction, re-solved with the next
    cost). Every periodic point ``z`` is the image ``J_a z' + c_a`` of the previous point
    ``z'`` of its cycle, which lies in ``P`` (induction) and in the closed region of its letter
    ``a``; so ``d . z`` is at most the new ``c_d`` and ``z`` stays in the new ``P``. The LP
    optima are never trusted: each bound is recomputed from the solver's row multipliers
    ``y >= 0`` (``max d.(J z) <= y . b + max_box (J^T d - A^T y) . z`` for every such y, up to
    a rounding slack), and a letter is dropped only when a Farkas ray of the solver is verified
    the same way; any other failure keeps the old ``c``. Returns the box ``(-c_{-e_j}, c_{e_j})``
    after ``n_iter`` iterations, or after the last one that fit in ``seconds`` (none when two
    would not; the box unchanged when scipy's HiGHS object is not there).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> m = skew_tent(0.2, -1.5, 1.0)  # the 2-cycle is {-0.3846, 0.9231}
    >>> lo, hi = template_box(m, periodic_box(m))
    >>> bool(lo[0] <= -0.3846 and 0.9231 <= hi[0] and hi[0] - lo[0] <= 1.6)
    True
    """
    import time

    try:
        from scipy.optimize._highspy import _core
    except ImportError:
        return box
    lo, hi = np.asarray(box[0], dtype=np.float64).copy(), np.asarray(box[1], dtype=np.float64).copy()
    if np.any(lo > hi) or not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        return lo, hi
    D = _template_directions(model, lo, hi)
    letters = region_letters(model)
    bits = effective_bits(model)
    G, g = switching_affine(model)
    Jac, off = model.jacobians(letters), model.offsets(letters)
    c = np.where(D > 0, D * hi, D * lo).sum(axis=1)
    alive = np.ones(len(letters), dtype=bool)
    t0 = time.perf_counter()
    t_end = t0 + seconds
    h = _core._Highs()
    h.setOptionValue("output_flag", False)
    for it in range(n_iter):
        # the first iteration only narrows the other directions: it pays when a second one fits
        per = (time.perf_counter() - t0) / it if it else len(letters) * len(D) * _TEMPLATE_LP_SECONDS
        if time.perf_counter() + (per if it else 2.0 * per) > t_end:
            break  # (a partial iteration bounds nothing)
        new = np.full(len(D), -np.inf)
        ub = _interval_bounds(D, Jac, off, letters, bits, G, g, *_box_of(D, c, lo, hi))
        for a in np.flatnonzero(alive)[np.argsort(-ub[alive].mean(axis=1))]:  # likely maxima first
            if time.perf_counter() > t_end:
                return _box_of(D, c, lo, hi)
            need = ub[a] > new  # the LP can only raise the directions whose interval bound is above
            if not need.any():
                continue
            sign = np.where(letters[a][bits], -1.0, 1.0)  # on: -(G z + g) <= 0, off: G z + g <= 0
            A = np.concatenate([D, sign[:, None] * G[bits]])
            b = np.concatenate([c, sign * g[bits]])
            got = _letter_bounds(h, _core, A, b, lo, hi, D[need] @ Jac[a])
            if got is None:  # verified empty: the letter has no point of P
                alive[a] = False
                continue
            new[need] = np.maximum(new[need], got + D[need] @ off[a])
        c = np.minimum(c, new + 1e-9 * (1.0 + np.abs(new)))
    return _box_of(D, c, lo, hi)


def _interval_bounds(D, Jac, off, letters, bits, G, g, blo, bhi) -> np.ndarray:
    """Upper bounds (n_letters, len(D)) of ``d . (J_a z + c_a)`` over the box ``[blo, bhi]``
    clipped to the half-spaces of letter a that bound one coordinate (``G_j = s e_p``, s > 0);
    -inf where the clipped box is empty."""
    n, M = len(letters), len(blo)
    Lo, Hi = np.tile(blo, (n, 1)), np.tile(bhi, (n, 1))
    for j in np.flatnonzero(bits):
        nz = np.flatnonzero(G[j])
        if len(nz) != 1 or G[j, nz[0]] <= 0:
            continue
        p, thr = nz[0], -g[j] / G[j, nz[0]]
        on = letters[:, j]
        Lo[on, p] = np.maximum(Lo[on, p], thr)
        Hi[~on, p] = np.minimum(Hi[~on, p], thr)
    Q = np.einsum("dm,amk->adk", D, Jac)  # (n, K, M): rows q = J_a^T d
    with np.errstate(all="ignore"):
        ub = np.maximum(Q * Lo[:, None, :], Q * Hi[:, None, :]).sum(axis=2) + off @ D.T
    ub = ub + 1e-9 * (1.0 + np.abs(ub))
    ub[np.any(Lo > Hi, axis=1)] = -np.inf
    return ub


_TEMPLATE_LP_SECONDS = 4e-5  # per letter and direction (most skipped by the interval bounds; M = 9, under load)


def _template_directions(model: PiecewiseLinearModel, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Unit vectors, the mean Jacobian's rows and a simulated orbit's principal axes, both signs."""
    M = model.M
    rng = np.random.default_rng(0)
    with np.errstate(all="ignore"):
        orbit = model.simulate(lo + (hi - lo) * rng.random((256, M)), 99)[50:].reshape(-1, M)
    orbit = orbit[np.all(np.isfinite(orbit), axis=1)]
    dirs = [np.eye(M)]
    Jm = model.jacobians(region_letters(model)[:64]).mean(axis=0)
    dirs.append(Jm)
    if len(orbit) > M:
        dirs.append(np.linalg.svd(orbit - orbit.mean(axis=0), full_matrices=False)[2])
    D = np.concatenate(dirs)
    nrm = np.linalg.norm(D, axis=1)
    D = D[nrm > 1e-12] / nrm[nrm > 1e-12, None]
    return np.concatenate([D, -D])


def _box_of(D: np.ndarray, c: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The box bounds among the template rows (the first M rows are e_j, rows n/2.. their negatives)."""
    M, half = len(lo), len(D) // 2
    return np.maximum(lo, -c[half : half + M]), np.minimum(hi, c[:M])


def _letter_bounds(h, core, A: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                   Q: np.ndarray) -> np.ndarray | None:
    """Verified upper bounds of ``max q . z`` over ``{A z <= b, lo <= z <= hi}`` for each row q of
    Q; None when the set is verified empty (a Farkas ray checked), +inf where nothing is verified."""
    from scipy.sparse import csr_matrix

    M = A.shape[1]
    As = csr_matrix(A)
    lp = core.HighsLp()
    lp.num_col_, lp.num_row_ = M, A.shape[0]
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.zeros(M), lo, hi
    lp.row_lower_, lp.row_upper_ = np.full(A.shape[0], -np.inf), b
    lp.a_matrix_.format_ = core.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = M, A.shape[0]
    lp.a_matrix_.start_ = As.indptr.astype(np.int32)
    lp.a_matrix_.index_ = As.indices.astype(np.int32)
    lp.a_matrix_.value_ = As.data.astype(np.float64)
    h.clearModel()
    h.passModel(lp)
    out = np.full(len(Q), np.inf)
    cols = np.arange(M, dtype=np.int32)
    for k, q in enumerate(Q):
        h.changeColsCost(M, cols, -q)
        h.run()
        st = h.getModelStatus()
        if st == core.HighsModelStatus.kInfeasible:
            _, has, ray = h.getDualRay()
            if has and _farkas_verified(A, b, lo, hi, np.asarray(ray)):
                return None
            return out  # not verified: no bound from this letter
        if st == core.HighsModelStatus.kOptimal:
            out[k] = _dual_bound(A, b, lo, hi, q, np.maximum(-np.asarray(h.getSolution().row_dual), 0.0))
    return out


def _dual_bound(A, b, lo, hi, q, y) -> float:
    """``y . b + max_box (q - A^T y) . z`` (an upper bound of ``q . z`` on ``{A z <= b}`` in the
    box for any ``y >= 0``), widened by a rounding slack."""
    r = q - A.T @ y
    terms = np.maximum(r * lo, r * hi)
    val = float(y @ b + terms.sum())
    return val + 1e-9 * (1.0 + float(np.abs(y * b).sum() + np.abs(terms).sum()))


def _farkas_verified(A, b, lo, hi, ray) -> bool:
    """Whether ``y = +-ray`` (cut to ``y >= 0``) proves ``{A z <= b, lo <= z <= hi}`` empty:
    ``y . b < min_box (A^T y) . z``, with a rounding margin."""
    for y in (np.maximum(ray, 0.0), np.maximum(-ray, 0.0)):
        if not y.any():
            continue
        r = A.T @ y
        lhs = float(y @ b)
        rhs = float(np.minimum(r * lo, r * hi).sum())
        if lhs + 1e-9 * (1.0 + abs(lhs) + float(np.abs(r * lo).sum() + np.abs(r * hi).sum())) < rhs:
            return True
    return False


# --------------------------------------------------------------------------- Lyndon words
def _mobius(n: int) -> int:
    result, p = 1, 2
    while p * p <= n:
        if n % p == 0:
            n //= p
            if n % p == 0:
                return 0
            result = -result
        p += 1
    return -result if n > 1 else result


def n_lyndon(n_letters: int, k: int) -> int:
    """Number of Lyndon words (aperiodic words up to rotation) of length k over n letters.

    Examples
    --------
    >>> [n_lyndon(2, k) for k in range(1, 9)]
    [2, 1, 2, 3, 6, 9, 18, 30]
    """
    total = 0
    for d in range(1, k + 1):
        if k % d == 0:
            total += _mobius(d) * n_letters ** (k // d)
    return total // k


class NecklaceTree:
    """Prenecklaces over ``n_letters`` letters, grown one length at a time (all at once in numpy).

    A word ``w_1..w_t`` with longest-Lyndon-prefix period ``p`` extends by any letter
    ``a >= w_{t+1-p}`` (Fredricksen-Kessler-Maiorana); the new period is ``p`` when
    ``a == w_{t+1-p}`` and ``t + 1`` otherwise. Words with ``p == t`` are the Lyndon words.

    Parameters
    ----------
    n_letters : int
    admissible : callable, optional
        ``admissible(parents, words, letters) -> bool mask``: which children (the words of the
        new level, each from parent index ``parents[i]`` of the previous level by appending
        ``letters[i]``) to keep. Pruning never changes which Lyndon words are *real*, only how
        many are generated.

    Attributes
    ----------
    words : int array (N, t) - the current level
    period : int array (N,)
    """

    def __init__(self, n_letters: int, admissible: Any = None) -> None:
        self.n = int(n_letters)
        self.admissible = admissible
        self.words = np.zeros((1, 0), dtype=np.int16)
        self.period = np.ones(1, dtype=np.int64)
        self.depth = 0
        self.kept = np.zeros(0, dtype=np.int64)

    def lowest_letters(self) -> np.ndarray:
        """Smallest letter each word of the level may be extended by (the FKM rule)."""
        if self.depth == 0:
            return np.zeros(len(self.words), dtype=np.int64)
        return self.words[np.arange(len(self.words)), self.depth - self.period].astype(np.int64)

    def grow(self) -> tuple[np.ndarray, np.ndarray]:
        """Extend every word by one letter; returns ``(parents, lyndon)`` of the new level:
        the parent index of every new word and the Lyndon words (int array (L, t+1))."""
        n = self.n
        lo = self.lowest_letters()
        counts = n - lo
        parents = np.repeat(np.arange(len(self.words)), counts)
        start = np.repeat(np.cumsum(counts) - counts, counts)
        letters = lo[parents] + np.arange(len(parents)) - start
        return self.extend(parents, letters, admissible=self.admissible)

    def extend(self, parents: np.ndarray, letters: np.ndarray, admissible: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """The next level from the given ``(parent, letter)`` pairs (sorted by parent; pairs
        below :meth:`lowest_letters` are dropped, then ``admissible`` filters as in the class).
        Returns ``(parents, lyndon)`` like :meth:`grow`; ``self.kept`` indexes the pairs kept."""
        t = self.depth
        parents = np.asarray(parents, dtype=np.int64)
        letters = np.asarray(letters, dtype=np.int64)
        idx = np.flatnonzero(letters >= self.lowest_letters()[parents])
        parents, letters = parents[idx], letters[idx].astype(np.int16)
        if t == 0:
            period = np.ones(len(parents), dtype=np.int64)
        else:
            period = np.where(letters == self.lowest_letters()[parents], self.period[parents], t + 1)
        words = np.concatenate([self.words[parents], letters[:, None]], axis=1)
        if admissible is not None and len(words):
            keep = np.asarray(admissible(parents, words, letters), dtype=bool)
            parents, words, period, idx = parents[keep], words[keep], period[keep], idx[keep]
        self.words, self.period, self.depth = words, period, t + 1
        self.kept = idx
        return parents, words[period == t + 1]


# --------------------------------------------------------------------------- LP emptiness
def _max_margin(rows: np.ndarray, offs: np.ndarray, on: np.ndarray,
                eq: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[float, np.ndarray | None]:
    """max tau s.t. (rows z + offs)_j >= tau (on), <= 0 (off), tau <= 1 (and ``E z = e``).

    Returns ``(tau, z)``; tau > 0 means the set with strict on-inequalities is nonempty.
    """
    from scipy.optimize import linprog

    M = rows.shape[1]
    if rows.shape[0] == 0 and eq is None:
        return 1.0, np.zeros(M)
    sign = np.where(on, -1.0, 1.0)  # on: -(a z + b) + tau <= 0 ; off: a z + b <= 0
    A = np.concatenate([sign[:, None] * rows, on[:, None].astype(np.float64)], axis=1)
    b = -sign * offs
    c = np.zeros(M + 1)
    c[-1] = -1.0
    bounds = [(None, None)] * M + [(None, 1.0)]
    A_eq = b_eq = None
    if eq is not None:
        A_eq = np.concatenate([eq[0], np.zeros((eq[0].shape[0], 1))], axis=1)
        b_eq = eq[1]
    if A.shape[0] == 0:
        A = b = None
    res = linprog(c, A_ub=A, b_ub=b, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
    if res.status == 0:
        return float(res.x[-1]), np.asarray(res.x[:M])
    if res.status == 2:  # infeasible: only possible through off rows that contradict each other
        return -math.inf, None
    return 0.0, None  # numerical trouble: neither proven empty nor a witness


def prefix_margin(model: PiecewiseLinearModel, seq: np.ndarray, bits: np.ndarray | None = None,
                  G: np.ndarray | None = None, g: np.ndarray | None = None,
                  closed: bool = False) -> tuple[float, np.ndarray | None]:
    """Best margin of the set of initial states whose orbit visits the regions ``seq`` in turn.

    The states ``z_i = P_i z_1 + r_i`` are affine in ``z_1``; region i asks
    ``(G z_i + g)_j > 0`` for its on bits and ``<= 0`` for its off bits (only ``bits``). Each
    inequality is scaled by ``1 / |G_j|``, so the margin is measured in the switching units of
    its own step. Returns ``(tau, z_1)``: ``tau > 0`` proves the prefix admissible (``z_1`` a
    witness), ``tau < -PRUNE_TOL`` proves it empty. With ``closed=True`` the orbit must also
    return, ``z_{k+1} = z_1`` (the set of k-periodic points through ``seq``: used to decide
    whether a continuum of solutions of a singular cycle equation meets its regions).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> m = skew_tent(0.2, 2.0, 1.0)  # z > 0 maps to 2 z + 1 > 0: "on" is never left
    >>> prefix_margin(m, np.array([[True], [False]]))[0] < -PRUNE_TOL
    True
    >>> prefix_margin(m, np.array([[False], [True]]))[0] > 0
    True
    """
    if G is None or g is None:
        G, g = switching_affine(model)
    seq = np.asarray(seq, dtype=bool)
    if bits is None:
        bits = np.ones(model.n_bits, dtype=bool)
    Gb, gb = G[bits], g[bits]
    norm = np.linalg.norm(Gb, axis=1)
    norm[norm == 0] = 1.0
    J = model.jacobians(seq)
    c = model.offsets(seq)
    M = model.M
    P, r = np.eye(M), np.zeros(M)
    rows, offs, on = [], [], []
    with np.errstate(all="ignore"):
        for i in range(len(seq)):
            rows.append(Gb @ P / norm[:, None])
            offs.append((Gb @ r + gb) / norm)
            on.append(seq[i][bits])
            if i + 1 < len(seq) or closed:
                P, r = J[i] @ P, J[i] @ r + c[i]
    R = np.concatenate(rows)
    o = np.concatenate(offs)
    eq = (np.eye(M) - P, r) if closed else None
    if not (np.all(np.isfinite(R)) and np.all(np.isfinite(o)) and np.all(np.isfinite(P))):
        return 0.0, None  # overflow: keep the prefix (undecided)
    return _max_margin(R, o, np.concatenate(on), eq)


def prefix_margins(model: PiecewiseLinearModel, seqs: np.ndarray, bits: np.ndarray | None = None,
                   G: np.ndarray | None = None, g: np.ndarray | None = None,
                   chunk: int = 100, box: tuple[np.ndarray, np.ndarray] | None = None,
                   active: np.ndarray | None = None, certificates: bool = False, solver: Any = None,
                   method: str = "auto"):
    """Emptiness of many prefixes at once: for each sequence b of ``seqs`` (B, t, n_bits), is
    there a ``z_1`` whose orbit visits its regions?

    The margin of a prefix is the largest ``tau_b <= 1`` such that some ``z_1`` has
    ``(G z_i + g)_j >= tau_b`` for the on bits and ``<= -tau_b`` for the off bits of every
    step i (rows scaled by ``1 / |G_j|``; states are affine in ``z_1`` along a fixed sequence).
    A nonempty prefix has ``tau_b >= 0``; ``tau_b < -PRUNE_TOL`` proves it empty; ``tau_b > 0``
    comes with an interior witness ``z_1`` (all inequalities strict). With ``box = (lo, hi)``
    (e.g. :func:`periodic_box`) ``z_1`` must also lie in the box: the prefix polyhedra become
    bounded and many more of them empty. (Asking the same of every ``z_i`` was measured to
    drop no more prefixes for a box from :func:`periodic_box`, which is nearly mapped into
    itself, at three times the LP cost.) ``active`` (B, t, n_bits) bool leaves the
    inequalities of the False bits out (a last step whose region is only partly fixed).

    ``method``: ``"highs"`` solves every margin to its optimum by HiGHS, one block-diagonal
    linear program per ``chunk`` prefixes (blocks share no variable, so maximising the sum
    maximises every ``tau_b``; about 100 blocks per call is fastest). ``"auto"`` (with a box)
    first runs :func:`~rnnexplore.dynamics.dense_lp.max_margins`, a dual simplex over the
    whole batch in numpy that stops at the first verified Farkas bound below ``-PRUNE_TOL`` or
    the first interior witness - about a fifth of HiGHS's cost per prefix, with the same
    verdicts (``benchmarks/bench_prefix_lp.py``); the few it leaves undecided go to HiGHS.
    Then ``tau`` decides the same way but is only the optimum where neither stop came first
    (below ``-PRUNE_TOL``: a verified upper bound; above 0: the margin of the witness).
    Without a box ``"auto"`` is ``"highs"``.

    ``certificates=True`` also returns, per sequence, which of its inequalities an emptiness
    proof needs: the support of the Farkas multipliers ``y >= 0`` (the LP's duals). For any
    such ``y`` and every feasible ``(z_1, tau)``, ``tau * sum(y) <= y . b - min_box (A^T y) . z_1``
    (``A z + tau <= b`` the rows above), so the right-hand side over ``sum(y)`` bounds tau
    (:func:`~rnnexplore.dynamics.dense_lp.farkas_bound`). The multipliers are cut to their
    support (entries above ``1e-9`` of the largest) and that bound is recomputed from the cut
    ``y``; the support is returned only where the recomputed bound is below ``-PRUNE_TOL``.
    Any sequence with the same inequalities on that support (with the same ``z_1`` box) is
    then empty by the same certificate - no LP of its own is needed.
    ``solver``: the HiGHS handle to reuse (internal; one is made per call by default).

    Returns
    -------
    tau : (B,) float (NaN where the LP failed or overflowed: undecided)
    z : (B, M) witnesses (meaningful where ``tau > 0``)
    support : (B, t, n_bits) bool, only with ``certificates=True``: the inequalities (step,
        bit) of a verified emptiness certificate (all False where there is none)

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> tau, z = prefix_margins(skew_tent(0.2, 2.0, 1.0), np.array([[[True], [False]], [[False], [True]]]))
    >>> bool(tau[0] < -PRUNE_TOL), bool(tau[1] > 0)
    (True, True)
    """
    if method not in ("auto", "highs"):
        raise ValueError(f"prefix_margins: method must be 'auto' or 'highs', got {method!r}")
    if G is None or g is None:
        G, g = switching_affine(model)
    seqs = np.asarray(seqs, dtype=bool)
    B, t, _ = seqs.shape
    M = model.M
    if bits is None:
        bits = np.ones(model.n_bits, dtype=bool)
    Gb, gb = G[bits], g[bits]
    norm = np.linalg.norm(Gb, axis=1)
    norm[norm == 0] = 1.0
    nr = Gb.shape[0]
    tau = np.full(B, np.nan)
    Z = np.zeros((B, M))
    support = np.zeros((B, t, model.n_bits), dtype=bool)
    if nr == 0:
        return (np.ones(B), Z, support) if certificates else (np.ones(B), Z)
    dense = method == "auto" and box is not None and bool(np.all(np.isfinite(box[0])) and np.all(np.isfinite(box[1])))
    step = 2000 if dense else chunk
    for s0 in range(0, B, step):
        S = seqs[s0 : s0 + step]
        act = None if active is None else np.asarray(active[s0 : s0 + step])[:, :, bits]
        A, b, finite = _prefix_rows(model, S, Gb, gb, norm, bits, act)
        todo = np.flatnonzero(finite)
        tb, zb, sb = np.full(len(S), np.nan), np.zeros((len(S), M)), np.zeros((len(S), t * nr), dtype=bool)
        if dense and len(todo):
            res = max_margins(A[todo], b[todo], box[0], box[1], stop_below=-PRUNE_TOL, stop_above=0.0)
            tb[todo], zb[todo] = res.tau, res.z
            if certificates:
                sb[todo] = _certified_support(res.y, A[todo], b[todo], box, res.tau)
            todo = todo[res.status == UNDECIDED]
        for c0 in range(0, len(todo), chunk):  # HiGHS: everything (method "highs") or what is undecided
            rows = todo[c0 : c0 + chunk]
            solver = _BlockLP() if solver is None else solver
            tb[rows], zb[rows], y = _highs_margins(A[rows], b[rows], box, solver)
            if certificates and y is not None:
                sb[rows] = _certified_support(y, A[rows], b[rows], box, tb[rows])
        tau[s0 : s0 + len(S)], Z[s0 : s0 + len(S)] = tb, zb
        if certificates:
            support[s0 : s0 + len(S)][:, :, bits] = sb.reshape(len(S), t, nr)
    return (tau, Z, support) if certificates else (tau, Z)


def _prefix_rows(model: PiecewiseLinearModel, S: np.ndarray, Gb: np.ndarray, gb: np.ndarray, norm: np.ndarray,
                 bits: np.ndarray, active: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The margin inequalities ``A z_1 + tau <= b`` of region sequences S (n, t, n_bits): A
    (n, t nr, M), b (n, t nr) with ``+inf`` for the rows ``active`` (n, t, nr) leaves out, and
    which sequences stayed finite (an overflow along the sequence leaves it undecided)."""
    n, t, _ = S.shape
    M = model.M
    R, O = _prefix_affine(model, S, Gb, gb, norm)
    sign = np.where(S[:, :, bits], -1.0, 1.0)  # on bits: -(R z + O) + tau <= 0
    finite = np.all(np.isfinite(R), axis=(1, 2, 3)) & np.all(np.isfinite(O), axis=(1, 2))
    A = np.where(finite[:, None, None, None], sign[..., None] * R, 0.0).reshape(n, -1, M)
    b = np.where(finite[:, None, None], -sign * O, 0.0).reshape(n, -1)
    if active is not None:
        b = np.where(np.asarray(active, dtype=bool).reshape(n, -1), b, np.inf)
    return A, b, finite


def _highs_margins(A: np.ndarray, b: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None, solver: _BlockLP):
    """The optimal margins of the programs ``A z + tau <= b`` (rows with ``b = +inf`` left
    out) by one block-diagonal HiGHS program: block j has variables ``[z_j (M), tau_j]``.
    Returns ``(tau, z, y)``: y (n, m) the row multipliers (None when HiGHS failed)."""
    from scipy.sparse import coo_matrix

    n, nrow, M = A.shape
    act = np.isfinite(b)
    rows = np.cumsum(act.ravel()).reshape(n, nrow) - 1  # left-out rows get no row
    vz = (np.arange(n) * (M + 1))[:, None, None] + np.arange(M)[None, None, :]
    ri = np.broadcast_to(rows[:, :, None], (n, nrow, M))
    vi = np.broadcast_to(vz, (n, nrow, M))
    vt = np.broadcast_to((np.arange(n) * (M + 1) + M)[:, None], (n, nrow))
    data = np.concatenate([A.ravel(), np.ones(n * nrow)])
    ii = np.concatenate([ri.ravel(), rows.ravel()])
    jj = np.concatenate([vi.ravel(), vt.ravel()])
    keep = (data != 0) & np.concatenate([np.repeat(act.ravel(), M), act.ravel()])
    n_act = int(act.sum())
    Asp = coo_matrix((data[keep], (ii[keep], jj[keep])), shape=(n_act, n * (M + 1))).tocsr()
    cost = np.zeros(n * (M + 1))
    cost[M :: M + 1] = -1.0
    lo = np.full(n * (M + 1), -np.inf)
    hi = np.full(n * (M + 1), np.inf)
    hi[M :: M + 1] = 1.0
    if box is not None:  # z_1 in the box: bounds of the variables
        lo.reshape(n, M + 1)[:, :M] = box[0]
        hi.reshape(n, M + 1)[:, :M] = box[1]
    x, dual = solver.solve(cost, Asp, b[act], lo, hi)
    if x is None:
        return np.full(n, np.nan), np.zeros((n, M)), None
    x = x.reshape(n, M + 1)
    y = np.zeros((n, nrow))
    y[act] = np.maximum(-dual[rows[act]], 0.0)
    return x[:, M].copy(), x[:, :M].copy(), y


class _BlockLP:
    """``min cost.x s.t. A x <= b, lo <= x <= hi`` by HiGHS: scipy's bundled HiGHS object when
    it is there (the same solver as ``linprog(method="highs")`` without its input checks, which
    cost ~40% of these small programs: 220 against 390 us CPU per block, measured at M = 9,
    t = 5), else ``scipy.optimize.linprog``. Presolve off (~25% faster on many tiny blocks).
    ``solve`` returns ``(x, row duals)`` or ``(None, None)`` when not solved to optimality."""

    def __init__(self) -> None:
        try:
            from scipy.optimize._highspy import _core
        except ImportError:  # another scipy layout: the public route
            _core = None
        self.core = _core
        if _core is not None:
            self.h = _core._Highs()
            self.h.setOptionValue("output_flag", False)
            self.h.setOptionValue("presolve", "off")

    def solve(self, cost, A, b, lo, hi):
        if self.core is None:
            from scipy.optimize import linprog

            res = linprog(cost, A_ub=A, b_ub=b, bounds=np.stack([lo, hi], axis=1), method="highs",
                          options={"presolve": False})
            return (res.x, res.ineqlin.marginals) if res.status == 0 else (None, None)
        core, h = self.core, self.h
        lp = core.HighsLp()
        lp.num_col_, lp.num_row_ = A.shape[1], A.shape[0]
        lp.col_cost_, lp.col_lower_, lp.col_upper_ = cost, lo, hi
        lp.row_lower_, lp.row_upper_ = np.full(A.shape[0], -np.inf), np.asarray(b, dtype=np.float64)
        lp.a_matrix_.format_ = core.MatrixFormat.kRowwise
        lp.a_matrix_.num_col_, lp.a_matrix_.num_row_ = A.shape[1], A.shape[0]
        lp.a_matrix_.start_ = A.indptr.astype(np.int32)
        lp.a_matrix_.index_ = A.indices.astype(np.int32)
        lp.a_matrix_.value_ = A.data.astype(np.float64)
        h.clearModel()
        h.passModel(lp)
        h.run()
        if h.getModelStatus() != core.HighsModelStatus.kOptimal:
            return None, None
        sol = h.getSolution()
        return np.array(sol.col_value), np.array(sol.row_dual)


def _certified_support(y: np.ndarray, A: np.ndarray, b: np.ndarray, box: tuple[np.ndarray, np.ndarray] | None,
                       tau: np.ndarray) -> np.ndarray:
    """Support (n, m) of the Farkas multipliers ``y`` (n, m) of each empty program ``A z + tau
    <= b``, verified: the bound on tau recomputed from the multipliers cut to their support
    (:func:`~rnnexplore.dynamics.dense_lp.farkas_bound`) must be below ``-PRUNE_TOL``."""
    y = np.where(np.isfinite(b), np.maximum(y, 0.0), 0.0)
    y[y < 1e-9 * np.max(y, axis=1, keepdims=True, initial=0.0)] = 0.0
    s = y.sum(axis=1)
    empty = (tau < -PRUNE_TOL) & (s > 0)
    bb = np.where(y > 0, b, 0.0)
    if box is None:  # z_1 unbounded: only A^T y = 0 (up to rounding) certifies
        with np.errstate(all="ignore"):
            gz = np.einsum("nr,nrm->nm", y, A)
            lin0 = np.all(np.abs(gz) <= 1e-12 * (1.0 + np.sum(np.abs(A), axis=(1, 2))[:, None]), axis=1)
            bound = np.sum(y * bb, axis=1) / s
            slack = 1e-9 * (1.0 + np.sum(np.abs(y * bb), axis=1) / s)
        ok = empty & lin0 & np.isfinite(bound) & (bound + slack < -PRUNE_TOL)
    else:
        ok = empty & (farkas_bound(y, A, bb, box[0], box[1]) < -PRUNE_TOL)
    return (y > 0) & ok[:, None]


def _prefix_affine(model: PiecewiseLinearModel, S: np.ndarray, Gb: np.ndarray, gb: np.ndarray,
                   norm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Switching values along region sequences S (n, t, n_bits) as affine functions of z_1:
    ``(G z_i + g)_j / |G_j| = R[:, i, j] @ z_1 + O[:, i, j]`` (rows ``Gb, gb`` of the used bits)."""
    n, t, _ = S.shape
    M = model.M
    nr = Gb.shape[0]
    J = model.jacobians(S)
    c = model.offsets(S)
    P = np.broadcast_to(np.eye(M), (n, M, M)).copy()
    r = np.zeros((n, M))
    R = np.empty((n, t, nr, M))
    O = np.empty((n, t, nr))
    with np.errstate(all="ignore"):
        for i in range(t):
            R[:, i] = (Gb @ P) / norm[:, None]
            O[:, i] = ((r @ Gb.T) + gb) / norm
            if i + 1 < t:
                P = J[:, i] @ P
                r = (J[:, i] @ r[:, :, None])[:, :, 0] + c[:, i]
    return R, O

