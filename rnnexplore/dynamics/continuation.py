"""Continuation of fixed points and cycles across parameters: one step, batched over points.

The objects of a piecewise-linear RNN are identified by their region sequences, and the cycle
equation of a sequence can be solved exactly at any parameters (Eisenmann et al., NeurIPS 2023:
the SCYFI step). So an object found anywhere is *continued* to nearby parameters by re-solving
its sequence there, and what changes between neighbouring parameters is searched where it
changed: when a continued sequence turns virtual (an orbit point crossed a switching border, or
an eigenvalue passed +1), the regions its virtual orbit visits and single-bit flips of the
sequence are tried in its place (border collisions create the new objects there).

One continuation step, :func:`continuation_step`, serves the explorer, the training replays
and every tile of a bifurcation map; its batched form, :class:`Continuation`, runs the step
for a whole stack of parameter points at once (a grid tile or all checkpoints of a replay)
through the one kernel :func:`rnnexplore.dynamics.solve.solve_stack`, with no Python loop per
point or per sequence: every object found at a point is tried at all neighbouring points in
one call, repeatedly, until nothing new appears (a flood fill over the parameter grid).

Examples
--------
>>> from rnnexplore.dynamics.models import skew_tent
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> cs = find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0)
>>> new, ok = continue_cycles(skew_tent(0.2, -1.6, 1.0), cs)
>>> ok, [c.order for c in new]
(True, [1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnexplore._validation import check_int, check_real
from rnnexplore.dynamics import cycles as _cycles
from rnnexplore.dynamics.cycles import Cycle, CycleSet, _as_cycles, _key_string, _same_orbit
from rnnexplore.dynamics.models import PiecewiseLinearModel
from rnnexplore.dynamics.solve import ModelStack, check_model, eigenvalues, solve_stack

__all__ = ["ContinuationOptions", "Continuation", "continue_cycles", "continuation_step", "canonical_sequences",
           "objects_from_states", "probe_scale", "PROVEN_HOW"]

PROVEN_HOW: tuple[str, ...] = ("", "enumerated", "pruned", "box")
"""How an order's completeness is known at a point, by code (``Continuation.proven``; 0: not proven)."""


# =========================================================================== options
@dataclass(frozen=True)
class ContinuationOptions:
    """Knobs of continuation (bifurcation maps, replays, slider steps).

    Attributes
    ----------
    coarse : int or None
        Step of the sub-grid of points that get an independent full search (maps: default
        ``max(2, n // 5)`` for the smallest grid size ``n``; replays: every ``coarse``-th
        checkpoint, default 25).
    chain_length : int
        Region updates tried after a continued sequence turned virtual (the SCYFI funnel).
    flips : bool
        Also try every single-bit flip of a sequence that turned virtual.
    probes : int
        Probe orbits per point (attractors born away from every known object are found from
        the regions they visit); 0 disables them.
    probe_steps : int
        Steps of every probe orbit.
    probe_scale : float or None
        Probe orbits start uniformly in ``[-probe_scale, probe_scale]^M`` (default: from
        orbits of the model at the first point, ``probe_scale(model)``).
    tile : int or None
        Maps: tile size in grid points (the unit of parallel work; never chosen by the
        executor, so the result does not depend on the executor). Default
        ``max(32, ceil(n / 4))`` for the largest grid size ``n``.
    max_rounds : int
        Safety cap on the rounds in which tiles exchange their border objects.

    Examples
    --------
    >>> ContinuationOptions(chain_length=6).chain_length
    6
    """

    coarse: int | None = None
    chain_length: int = 4
    flips: bool = True
    probes: int = 1
    probe_steps: int = 120
    probe_scale: float | None = None
    tile: int | None = None
    max_rounds: int = 1000

    def __post_init__(self) -> None:
        if self.coarse is not None:
            check_int(self.coarse, "coarse", minimum=1)
        check_int(self.chain_length, "chain_length", minimum=0)
        if not isinstance(self.flips, (bool, np.bool_)):
            raise ValueError(f"flips must be True or False, got {self.flips!r}")
        check_int(self.probes, "probes", minimum=0)
        check_int(self.probe_steps, "probe_steps", minimum=1)
        if self.probe_scale is not None:
            check_real(self.probe_scale, "probe_scale", minimum=0.0)
        if self.tile is not None:
            check_int(self.tile, "tile", minimum=1)
        check_int(self.max_rounds, "max_rounds", minimum=1)

    @classmethod
    def coerce(cls, value: Any) -> "ContinuationOptions":
        """``None``/``True`` -> defaults; a dict -> fields; an instance -> itself."""
        if value is None or value is True:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, dict):
            try:
                return cls(**value)
            except TypeError as exc:
                raise ValueError(f"continuation options: {exc}") from None
        raise ValueError(f"continuation must be True, False, a dict or ContinuationOptions, got {value!r}")


# =========================================================================== keys
def canonical_sequences(S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rotation-minimal form of a stack of region sequences ``(B, k, n_bits)`` (vectorised).

    Returns ``(canonical, shift, primitive)``: the rotation ``np.roll(S[b], -shift[b], 0)``
    that is lexicographically smallest (the order of :attr:`Cycle.key`) and whether the
    sequence is primitive (not a repetition of a shorter one).

    Examples
    --------
    >>> S = np.array([[[True], [False]], [[False], [False]]])
    >>> c, s, p = canonical_sequences(S)
    >>> c[:, :, 0].tolist(), s.tolist(), p.tolist()
    ([[False, True], [False, False]], [1, 0], [True, False])
    """
    S = np.asarray(S, dtype=bool)
    B, k, nb = S.shape
    shift = np.zeros(B, dtype=np.intp)
    prim = np.ones(B, dtype=bool)
    if k == 1 or B == 0:
        return S, shift, prim
    if k * nb <= 62:
        # the whole sequence in one int64 (region 0 most significant): its rotations are
        # shifts, and comparing the integers compares the sequences lexicographically
        x = _region_words(S.reshape(B, 1, k * nb))[:, 0, 0].astype(np.uint64)
        i = np.arange(k, dtype=np.uint64)
        rot = ((x[:, None] << (i * np.uint64(nb))) | (x[:, None] >> ((np.uint64(k) - i) * np.uint64(nb)))) \
            & np.uint64((1 << (k * nb)) - 1)
        shift = np.argmin(rot, axis=1)  # the first minimal rotation, as below
        divisors = [d for d in range(1, k) if k % d == 0]
        prim = np.all(rot[:, divisors] != x[:, None], axis=1)
    else:
        shift, prim = _canonical_shift(S)
    canon = S[np.arange(B)[:, None], (np.arange(k)[None, :] + shift[:, None]) % k]
    return canon, shift, prim


def _canonical_shift(S: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shift`` and ``primitive`` of :func:`canonical_sequences` for long sequences
    (more than 62 bits): rotations compared word by word."""
    B, k, nb = S.shape
    shift = np.zeros(B, dtype=np.intp)
    prim = np.ones(B, dtype=bool)
    words = _region_words(S)  # (B, k, n_words): lexicographic order = order of S.tobytes()
    flat = words.reshape(B, -1)
    nw = words.shape[2]
    best = flat.copy()
    ar = np.arange(B)
    for i in range(1, k):
        rot = np.roll(flat, -i * nw, axis=1)
        diff = rot != best
        has = diff.any(axis=1)
        first = diff.argmax(axis=1)
        less = has & (rot[ar, first] < best[ar, first])
        best[less] = rot[less]
        shift[less] = i
    for d in range(1, k):
        if k % d == 0:
            prim &= np.any(np.roll(flat, -d * nw, axis=1) != flat, axis=1)
    return shift, prim


def _region_words(S: np.ndarray) -> np.ndarray:
    """Pack each region's bits into int64 words, bit 0 most significant (byte order)."""
    B, k, nb = S.shape
    n_words = -(-nb // 62)
    out = np.zeros((B, k, n_words), dtype=np.int64)
    for w in range(n_words):
        part = S[:, :, w * 62 : (w + 1) * 62]
        weights = np.left_shift(np.int64(1), np.arange(part.shape[2] - 1, -1, -1, dtype=np.int64))
        out[:, :, w] = part.astype(np.int64) @ weights
    return out


def _parse_key(key: str) -> np.ndarray:
    return np.array([[ch == "1" for ch in part] for part in key.split("|")], dtype=bool)


class _Registry:
    """Canonical region sequences seen so far, each with a small integer id."""

    def __init__(self, nb: int, max_order: int) -> None:
        self.nb, self.K = nb, max_order
        self.ids: dict[bytes, int] = {}
        self.regions = np.zeros((0, max_order, nb), dtype=bool)
        self.order = np.zeros(0, dtype=np.int64)
        self.keys: list[str | None] = []
        self.by_key: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.order)

    def add(self, canon: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        """Ids of canonical sequences ``(B, K', nb)`` (first ``lengths[b]`` regions used)."""
        out = np.empty(len(canon), dtype=np.int64)
        new_regs, new_ord = [], []
        groups, firsts = [], []
        for k in np.unique(lengths).tolist():  # distinct sequences of each length
            rows = np.flatnonzero(lengths == k)
            raw = np.ascontiguousarray(canon[rows, :k]).reshape(len(rows), -1)
            _, first, inv = np.unique(raw.view(np.dtype((np.void, raw.shape[1]))).ravel(), return_index=True,
                                      return_inverse=True)
            groups.append((rows, inv.ravel(), np.empty(len(first), dtype=np.int64)))
            firsts += [(int(rows[f]), len(groups) - 1, u) for u, f in enumerate(first.tolist())]
        for b, g, u in sorted(firsts):  # new ids in order of first appearance
            k = int(lengths[b])
            key = canon[b, :k].tobytes()
            i = self.ids.get(key)
            if i is None:
                i = len(self.order) + len(new_ord)
                self.ids[key] = i
                reg = np.zeros((self.K, self.nb), dtype=bool)
                reg[:k] = canon[b, :k]
                new_regs.append(reg)
                new_ord.append(k)
                self.keys.append(None)
            groups[g][2][u] = i
        for rows, inv, ids in groups:
            out[rows] = ids[inv]
        if new_ord:
            self.regions = np.concatenate([self.regions, np.stack(new_regs)])
            self.order = np.concatenate([self.order, np.asarray(new_ord, dtype=np.int64)])
        return out

    def add_key(self, key: str) -> int:
        return int(self.add_keys([key])[0])

    def add_keys(self, keys: Sequence[str]) -> np.ndarray:
        """Ids of canonical keys (``Cycle.key`` strings), the new ones registered in one call."""
        out = np.array([self.by_key.get(k, -1) for k in keys], dtype=np.int64)
        todo = np.flatnonzero(out < 0)
        if todo.size:
            regs = [_parse_key(keys[t]) for t in todo.tolist()]
            lengths = np.array([len(r) for r in regs], dtype=np.int64)
            canon = np.zeros((len(regs), int(lengths.max()), self.nb), dtype=bool)
            for n, r in enumerate(regs):
                canon[n, : len(r)] = r
            out[todo] = self.add(canon, lengths)
            for t in todo.tolist():
                self.keys[out[t]] = keys[t]
                self.by_key[keys[t]] = int(out[t])
        return out

    def key(self, i: int) -> str:
        if self.keys[i] is None:
            self.keys[i] = _key_string(self.regions[i, : self.order[i]])
            self.by_key[self.keys[i]] = int(i)
        return self.keys[i]


# =========================================================================== the batched step
class _Pairs:
    """Work record of (key, point) pairs, as codes ``key * n_points + point``.

    ``done[code]``: the largest chain budget the pair was processed with (absent: never
    solved there), a monotone record, so the closure does not depend on the order of work;
    ``has``: the pairs where the object is real.
    """

    def __init__(self, n: int) -> None:
        self.n = n
        self.done: dict[int, int] = {}
        self.has: set[int] = set()

    def needs(self, codes: np.ndarray, left: int) -> np.ndarray:
        """Mask of the pairs that still need work with budget ``left``."""
        done, has = self.done, self.has
        return np.fromiter((c not in has and done.get(c, -1) < left for c in codes.tolist()), bool, len(codes))

    def set_done(self, codes: np.ndarray, left: int) -> None:
        self.done.update(dict.fromkeys(codes.tolist(), int(left)))

    def solved_per_point(self) -> np.ndarray:
        codes = np.fromiter(self.done.keys(), np.int64, len(self.done))
        return np.bincount(codes % self.n, minlength=self.n).astype(np.int64)

    def export(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(codes, done)`` of the pairs at the points ``keep`` (bool mask)."""
        codes = np.fromiter(self.done.keys(), np.int64, len(self.done))
        vals = np.fromiter(self.done.values(), np.int64, len(self.done))
        sel = keep[codes % self.n]
        return codes[sel], vals[sel]



@dataclass
class _Found:
    """Objects found: one row per (point, key) with its orbit and eigenvalues."""

    pt: list = field(default_factory=list)
    kid: list = field(default_factory=list)
    Z: list = field(default_factory=list)  # (k, M) arrays
    eig: list = field(default_factory=list)  # (M,) complex arrays

    def __getstate__(self) -> dict:
        # a few flat arrays instead of one small array per object (a tile's engine travels
        # between rounds on executors that cannot keep it, rnnexplore.parallel.Resident)
        return {"pt": np.asarray(self.pt, np.int64), "kid": np.asarray(self.kid, np.int64),
                "lens": np.array([len(z) for z in self.Z], np.int64),
                "Z": np.concatenate(self.Z) if self.Z else None, "eig": np.stack(self.eig) if self.eig else None}

    def __setstate__(self, d: dict) -> None:
        self.pt, self.kid = d["pt"].tolist(), d["kid"].tolist()
        self.Z = np.split(d["Z"], np.cumsum(d["lens"])[:-1]) if d["Z"] is not None else []
        self.eig = list(d["eig"]) if d["eig"] is not None else []


class Continuation:
    """Continuation over a stack of parameter points with a neighbour structure.

    Parameters
    ----------
    stack : ModelStack or model
        The models of the points (a single model is a one-point stack).
    shape : tuple of int
        The points as a grid: ``(n,)`` (a chain: 1-D diagrams, replays; neighbours ``i +- 1``)
        or ``(n0, n1)`` (a map; all 8 neighbours, so thin diagonal existence regions stay
        connected). Points are numbered in C order.
    max_order : int
    options : ContinuationOptions
    frozen : bool array of the grid's shape, optional
        Points whose objects are given (halo points of a tile): spread from, never solved.
    point_seeds : int array of the grid's shape, optional
        Seed of every point (probe orbits); default the point numbers.

    The result (:meth:`cycles_at`, :attr:`solves`) depends only on the objects put in and
    on the points' seeds, never on the order of the work or the batch sizes: the final sets
    are the closure of the inputs under "try at the neighbours" and the deterministic local
    searches.
    """

    def __init__(self, stack, shape, max_order: int, options: ContinuationOptions | None = None,
                 frozen=None, point_seeds=None) -> None:
        self.stack = stack
        self.shape = tuple(int(s) for s in shape)
        self.n = int(np.prod(self.shape))
        model = stack.template if isinstance(stack, ModelStack) else stack
        self.M, self.nb = model.M, model.n_bits
        self.K = int(max_order)
        self.opt = options or ContinuationOptions()
        self.frozen = np.zeros(self.n, bool) if frozen is None else np.asarray(frozen, bool).ravel()
        self.seeds = np.arange(self.n) if point_seeds is None else np.asarray(point_seeds).ravel()
        self.reg = _Registry(self.nb, self.K)
        self.pairs = _Pairs(self.n)
        self.found = _Found()
        self.full_solves = np.zeros(self.n, dtype=np.int64)
        self.full = np.zeros(self.n, dtype=bool)
        self.proven = np.zeros((self.n, self.K), dtype=np.int8)  # PROVEN_HOW codes per point and order
        self._queue: list = []  # (points, keys, chain steps left) waiting to be solved

    # ------------------------------------------------------------------ bookkeeping
    def add_cycles(self, p: int, cycles: Sequence[Cycle]) -> np.ndarray:
        """Record known objects at point ``p``; returns their key ids."""
        kids = self.reg.add_keys([c.key for c in cycles])
        for kid, c in zip(kids, cycles):
            self.record(p, int(kid), c.points, c.eigenvalues)
        return kids

    def record(self, p: int, kid: int, Z: np.ndarray, eig: np.ndarray) -> bool:
        """Record one object (True if it was new at ``p``)."""
        return bool(self.record_many(np.array([p]), np.array([kid]), [Z], [eig])[0])

    def record_many(self, pts: np.ndarray, kids: np.ndarray, Z: Sequence[np.ndarray], eig: np.ndarray) -> np.ndarray:
        """Record many objects at once (as :meth:`record`); returns the mask of the new ones."""
        pts, kids = np.asarray(pts, np.int64), np.asarray(kids, np.int64)
        codes = (kids * self.n + pts).tolist()
        has, done = self.pairs.has, self.pairs.done
        new = np.zeros(len(codes), bool)
        for i, c in enumerate(codes):  # a repeated pair counts once
            if c not in has:
                has.add(c)
                done[c] = max(done.get(c, -1), 0)
                new[i] = True
        idx = np.flatnonzero(new)
        self.found.pt.extend(pts[idx].tolist())
        self.found.kid.extend(kids[idx].tolist())
        self.found.Z.extend(np.asarray(Z[i], dtype=np.float64) for i in idx)
        self.found.eig.extend(np.asarray(eig[i], dtype=complex) for i in idx)
        return new

    def full_search(self, points: Sequence[int], seed: int, budget: Any = None) -> None:
        """Independent full searches (``find_cycles``) at some points (seeds from ``seed``)."""
        for p in points:
            p = int(p)
            if self.frozen[p] or self.full[p]:
                continue
            m = self._model(p)
            cs = _cycles.find_cycles(m, self.K, seed=_point_seed(seed, int(self.seeds[p])), budget=budget)
            self.full_solves[p] += int(cs.stats["total_solves"])
            self.full[p] = True
            for k, how in cs.proven.items():
                if how is not None and 1 <= k <= self.K:
                    self.proven[p, k - 1] = PROVEN_HOW.index(how)
            self.add_cycles(p, list(cs))

    def prove(self, points: Sequence[int], order: int, max_rows: int = 200_000) -> None:
        """Exact enumeration at some points: every Lyndon word of length ``1..order`` over the
        point's letters (:func:`~rnnexplore.dynamics.enumeration.region_letters`, grown by
        :class:`~rnnexplore.dynamics.enumeration.NecklaceTree`) is solved at every point in
        stacked solves (points with equal letters together), the real ones recorded; those
        orders are then proven complete there (``proven[p, k - 1] = 1``, "enumerated").

        Points are batched ``max_rows`` (point, word) pairs at a time. The cost is
        ``sum_k L(n_letters, k)`` solves per point (:func:`~rnnexplore.dynamics.enumeration.n_lyndon`).

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> eng = Continuation(skew_tent(0.2, -1.5, 1.0), (1,), 3)
        >>> eng.prove([0], 3)
        >>> [c.order for c in eng.cycles_at(0)], [PROVEN_HOW[c] for c in eng.proven[0]]
        ([1, 2], ['enumerated', 'enumerated', 'enumerated'])
        """
        from rnnexplore.dynamics.enumeration import NecklaceTree, effective_bits, region_letters
        from rnnexplore.dynamics.models import ShallowPLRNN
        from rnnexplore.dynamics.solve import _rows_for, _solve_rows

        order = check_int(order, "order", minimum=0, maximum=self.K)
        points = np.asarray(points, dtype=np.int64)
        points = points[~self.frozen[points]]
        if isinstance(self.stack, ModelStack) and not isinstance(self.stack.template, ShallowPLRNN):
            # the letters of a PLRNN / ALRNN depend only on its effective bits: points with the
            # same pattern (read off the stack's affine forms) share them
            eff = np.any(self.stack.G[points] != 0, axis=(2, 3)) | np.any(self.stack.g[points] != 0, axis=2)
            _, first, inv = np.unique(eff, axis=0, return_index=True, return_inverse=True)
            inv = inv.ravel()
        else:  # shallow models: the cells of each point's hyperplane arrangement
            first, inv = np.arange(len(points)), np.arange(len(points))
        groups: dict[bytes, tuple[np.ndarray, np.ndarray, list]] = {}
        for u, f in enumerate(first.tolist()):
            m = self._model(int(points[f]))
            letters, bits = region_letters(m), effective_bits(m)
            tag = letters.tobytes() + bytes(letters.shape) + bits.tobytes()
            groups.setdefault(tag, (letters, bits, []))[2].append(points[inv == u])
        for letters, bits, parts in groups.values():
            pts = np.sort(np.concatenate(parts))
            tree = NecklaceTree(len(letters))
            for k in range(1, order + 1):
                _, words = tree.grow()
                if len(words) == 0:
                    continue
                S = letters[words]  # (W, k, nb), ineffective bits False
                wid = self.reg.add(canonical_sequences(S)[0], np.full(len(S), k))
                per = max(1, max_rows // len(S))
                for a in range(0, len(pts), per):
                    block = pts[a : a + per]
                    rp, rw = np.repeat(block, len(S)), np.tile(np.arange(len(S)), len(block))
                    done = self.pairs.done
                    done.update({c: 0 for c in (wid[rw] * self.n + rp).tolist() if c not in done})
                    # real on the effective bits; V holds the regions the true orbit visits
                    _, real, Z, V, P, _ = _solve_rows(_rows_for(self.stack, self._stack_points(rp), len(rp)),
                                                      S[rw], None, bits)
                    good = np.flatnonzero(real)
                    if good.size == 0:
                        continue
                    canon, shift, prim = canonical_sequences(V[good])
                    good, canon, shift = good[prim], canon[prim], shift[prim]
                    Zr = Z[good[:, None], (np.arange(k)[None, :] + shift[:, None]) % k]
                    with np.errstate(all="ignore"):
                        ev = _sort_eigenvalue_rows(eigenvalues(P[good]))
                    self.record_many(rp[good], self.reg.add(canon, np.full(len(good), k)), Zr, ev)
            self.proven[pts, :order] = np.where(self.proven[pts, :order] == 0, 1, self.proven[pts, :order])

    def _model(self, p: int):
        return self.stack.model(p) if isinstance(self.stack, ModelStack) else self.stack

    # ------------------------------------------------------------------ neighbours
    def _neighbours(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """All (source index, neighbour point) pairs inside the grid."""
        if len(self.shape) == 1:
            offs = [(-1,), (1,)]
        else:
            offs = [(-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1)]
        coords = np.unravel_index(pts, self.shape)
        src, dst = [], []
        for off in offs:
            c = [coords[a] + off[a] for a in range(len(self.shape))]
            inside = np.ones(len(pts), bool)
            for a, s in enumerate(self.shape):
                inside &= (c[a] >= 0) & (c[a] < s)
            idx = np.flatnonzero(inside)
            src.append(idx)
            dst.append(np.ravel_multi_index(tuple(x[idx] for x in c), self.shape))
        return np.concatenate(src), np.concatenate(dst)

    # ------------------------------------------------------------------ solving
    def _solve(self, pts: np.ndarray, kids: np.ndarray, left: int = 0):
        """Solve keys at points (unique, untried pairs) and record the real ones.

        Returns the new objects ``(points, keys)`` and the failures ``(points, keys, visited
        regions)`` (solvable but virtual).
        """
        self.pairs.set_done(kids * self.n + pts, left)
        order = self.reg.order[kids]
        failures = []
        new_pts, new_kids = [], []
        for lo, hi in _length_bins(self.K):
            sel = np.flatnonzero((order >= lo) & (order <= hi))
            if sel.size == 0:
                continue
            S = self.reg.regions[kids[sel], :hi]
            lengths = order[sel]
            ok, real, Z, V, P, _ = solve_stack(self.stack, S, lengths, points=self._stack_points(pts[sel]),
                                               real_products=True)
            good = np.flatnonzero(real)
            if good.size:
                with np.errstate(all="ignore"):
                    ev = eigenvalues(P)
                ev_sorted = _sort_eigenvalue_rows(ev)
                for j, b in enumerate(good):
                    self.found.pt.append(int(pts[sel[b]]))
                    self.found.kid.append(int(kids[sel[b]]))
                    self.found.Z.append(Z[b, : lengths[b]].copy())
                    self.found.eig.append(ev_sorted[j])
                self.pairs.has.update((kids[sel[good]] * self.n + pts[sel[good]]).tolist())
                new_pts.append(pts[sel[good]])
                new_kids.append(kids[sel[good]])
            bad = ok & ~real
            for k in range(lo, hi + 1):
                rows = np.flatnonzero(bad & (lengths == k))
                if rows.size:
                    failures.append((pts[sel[rows]], kids[sel[rows]], V[rows, :k]))
        return _cat(new_pts), _cat(new_kids), failures

    def _stack_points(self, pts: np.ndarray):
        return pts if isinstance(self.stack, ModelStack) else None

    def _register(self, groups: list, left: int) -> tuple[np.ndarray, np.ndarray]:
        """Canonical ids of candidate sequences ``[(points, S (n, k, nb)), ...]``; drop
        non-primitive sequences and frozen or already tried pairs."""
        out_p, out_k = [], []
        for pts, S in groups:
            if len(pts) == 0:
                continue
            k = S.shape[1]
            canon, _, prim = canonical_sequences(S)
            keep = np.flatnonzero(prim)
            if keep.size == 0:
                continue
            out_p.append(pts[keep])
            out_k.append(self.reg.add(canon[keep], np.full(keep.size, k)))
        if not out_p:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return self._untried(np.concatenate(out_p), np.concatenate(out_k), left)

    def _untried(self, pts: np.ndarray, kids: np.ndarray, left: int):
        """Unique pairs that still need work with chain budget ``left``."""
        keep = ~self.frozen[pts]
        code = np.unique(kids[keep] * self.n + pts[keep])
        code = code[self.pairs.needs(code, left)]
        return code % self.n, code // self.n

    def _local_candidates(self, failures: list, *, flips: bool) -> list:
        """What changed: the visited regions of failed solves and (optionally) the sequences
        next to the failed ones: every single-bit flip, every one-region deletion and
        repetition (orders k -+ 1: period-adding cascades of border collisions)."""
        groups = [(p, V) for p, _, V in failures if V.shape[1]]
        if not (flips and self.opt.flips):
            return groups
        for p, kids, _ in failures:
            n, k, nb = len(p), int(self.reg.order[kids[0]]), self.nb
            base = self.reg.regions[kids, :k]  # (n, k, nb)
            F = np.repeat(base.reshape(n, 1, k * nb), k * nb, axis=1)
            F[:, np.arange(k * nb), np.arange(k * nb)] ^= True
            groups.append((np.repeat(p, k * nb), F.reshape(n * k * nb, k, nb)))
            if k > 1:
                drop = np.stack([np.delete(base, i, axis=1) for i in range(k)], axis=1)
                groups.append((np.repeat(p, k), drop.reshape(n * k, k - 1, nb)))
            if k < self.K:
                dup = np.stack([np.insert(base, i, base[:, i], axis=1) for i in range(k)], axis=1)
                groups.append((np.repeat(p, k), dup.reshape(n * k, k + 1, nb)))
        return groups

    # ------------------------------------------------------------------ probes
    def probe(self, seed: int) -> None:
        """Probe orbits at every (non-frozen) point: the regions of their last near-return."""
        n_pr = self.opt.probes
        pts = np.flatnonzero(~self.frozen)
        if n_pr == 0 or pts.size == 0:
            return
        scale = self.opt.probe_scale if self.opt.probe_scale is not None else probe_scale(self._model(0))
        rows = np.repeat(pts, n_pr)
        u = _uniform(int(seed), np.repeat(self.seeds[pts], n_pr), np.tile(np.arange(n_pr), pts.size), self.M)
        z0 = scale * (2.0 * u - 1.0)
        T, K = self.opt.probe_steps, self.K
        Z, V = _orbit(self.stack, self._stack_points(rows), z0, max(T - K, 0), K + 1)
        end = Z[:, -1]
        fine = np.all(np.abs(Z) < 1e100, axis=(1, 2))
        d = np.max(np.abs(Z[:, -2::-1][:, :K] - end[:, None]), axis=2)  # d[:, p-1] = |z_T - z_{T-p}|
        period = d.argmin(axis=1) + 1
        groups = []
        for p in np.unique(period[fine]):
            sel = np.flatnonzero(fine & (period == p))
            groups.append((rows[sel], V[sel, K + 1 - p : K + 1]))
        L = self.opt.chain_length
        self._queue.append(self._register(groups, L) + (L,))

    # ------------------------------------------------------------------ the loop
    def run(self, new_pts=None, new_kids=None) -> None:
        """Spread every object to its neighbours and search what changed, until closure.

        ``new_pts, new_kids``: recorded objects to spread from (default: all recorded).
        A neighbour's key is tried with chain budget ``chain_length + 1``: if it is virtual
        there, its bit flips and visited regions are tried with ``chain_length``; a virtual
        chain step passes its visited regions on with one less.
        """
        if new_pts is None:
            new_pts = np.asarray(self.found.pt, dtype=np.int64)
            new_kids = np.asarray(self.found.kid, dtype=np.int64)
        queue, self._queue = self._queue, []
        spread_left = self.opt.chain_length + 1
        while True:
            src, dst = self._neighbours(new_pts)
            work = [(dst, new_kids[src], spread_left)] + queue
            queue = []
            new_p, new_k = [], []
            for p, k, left in work:
                p, k = self._untried(p, k, left)  # a pair may be queued twice
                if p.size == 0:
                    continue
                fp_new, fk_new, failures = self._solve(p, k, left)
                new_p.append(fp_new)
                new_k.append(fk_new)
                if left > 0 and failures:
                    spread = left == spread_left
                    if spread:  # objects are born in pairs: search both sides of the border
                        failures = failures + self._sources(failures)
                    groups = self._local_candidates(failures, flips=spread)
                    queue.append(self._register(groups, left - 1) + (left - 1,))
            new_pts, new_kids = _cat(new_p), _cat(new_k)
            # found next to a point where the same sequence is virtual: search its side too
            # (whichever of the two facts is learnt last triggers it, so the order of the work
            # does not matter)
            born = self._next_to(new_pts, new_kids, "virtual")
            if born:
                queue.append(self._register(self._local_candidates(born, flips=True), spread_left - 1)
                             + (spread_left - 1,))
            if new_pts.size == 0 and not any(q[0].size for q in queue):
                break

    def _next_to(self, pts: np.ndarray, kids: np.ndarray, test: str, *, neighbour: bool = False) -> list:
        """Pairs ``(p, k)`` of the input with a neighbour ``q`` where the sequence ``k`` is
        ``test`` (``"real"``: an object there; ``"virtual"``: solved there, not real), or, with
        ``neighbour=True``, those pairs ``(q, k)``, as failure groups (one per order, no
        visited regions)."""
        if pts.size == 0:
            return []
        src, dst = self._neighbours(pts)
        codes = (kids[src] * self.n + dst).tolist()
        has, done = self.pairs.has, self.pairs.done
        if test == "real":
            hit = np.fromiter((c in has for c in codes), bool, len(codes))
        else:
            hit = np.fromiter((c in done and c not in has for c in codes), bool, len(codes))
        if not hit.any():
            return []
        where = dst[hit] if neighbour else pts[src[hit]]
        code = np.unique(kids[src[hit]] * self.n + where)
        return self._by_order(code % self.n, code // self.n)

    def _by_order(self, pts: np.ndarray, kids: np.ndarray) -> list:
        order = self.reg.order[kids]
        return [(pts[order == k], kids[order == k], np.zeros((int(np.sum(order == k)), 0, self.nb), bool))
                for k in np.unique(order)]

    def _sources(self, failures: list) -> list:
        """For failed spread candidates: the neighbouring points where the object is real
        (the same sequences, without visited regions)."""
        out = []
        for p, kids, _ in failures:
            out.extend(self._next_to(p, kids, "real", neighbour=True))
        return out

    def continue_from(self, p: int, cycles: Sequence[Cycle]) -> None:
        """Queue known objects (e.g. of the previous parameters) to be continued at ``p``."""
        kids = np.unique([self.reg.add_key(c.key) for c in cycles]).astype(np.int64)
        self._queue.append((np.full(kids.size, int(p), dtype=np.int64), kids, self.opt.chain_length + 1))

    @property
    def solves(self) -> np.ndarray:
        """Linear solves per point: distinct (point, sequence) pairs solved plus full searches."""
        return self.pairs.solved_per_point() + self.full_solves

    def has_key(self, p: int, key: str) -> bool:
        """Whether the object ``key`` was found at point ``p``."""
        kid = self.reg.by_key.get(key)
        return kid is not None and kid * self.n + int(p) in self.pairs.has

    # ------------------------------------------------------------------ results
    def table(self, keep: np.ndarray | None = None):
        """Found objects at the points ``keep`` (bool mask; default all), sorted by point,
        order and key, a second key of one orbit dropped: ``(pt, kid, Z list, eig list)``."""
        pt = np.asarray(self.found.pt, dtype=np.int64)
        kid = np.asarray(self.found.kid, dtype=np.int64)
        sel = np.arange(len(pt)) if keep is None else np.flatnonzero(np.asarray(keep)[pt])
        keys = np.array([self.reg.key(k) for k in kid[sel]], dtype=str) if sel.size else np.zeros(0, str)
        order = np.lexsort((keys, self.reg.order[kid[sel]], pt[sel]))
        sel = sel[order]
        sel = sel[~self._duplicate_orbits(sel)]
        return pt[sel], kid[sel], [self.found.Z[i] for i in sel], [self.found.eig[i] for i in sel]

    def _duplicate_orbits(self, sel: np.ndarray) -> np.ndarray:
        """Rows (of ``sel``, sorted by point) repeating an orbit already listed at their point:
        possible only when an orbit point sits on a switching border."""
        dup = np.zeros(len(sel), bool)
        if len(sel) < 2:
            return dup
        pts = np.asarray(self.found.pt)[sel]
        Z = [self.found.Z[i] for i in sel]
        lens = np.array([len(z) for z in Z])
        allz = np.concatenate(Z)
        rowpt = np.repeat(pts, lens)
        if isinstance(self.stack, ModelStack):
            sw = (self.stack.L[rowpt] @ allz[:, :, None])[:, :, 0] + self.stack.l0[rowpt]
        else:
            sw = self.stack._switching(allz)
        near_pt = np.min(np.abs(sw), axis=1, initial=np.inf) <= 1e-9 * (1.0 + np.max(np.abs(allz), axis=1))
        starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
        near = np.logical_or.reduceat(near_pt, starts)
        for r in np.flatnonzero(near):
            same = np.flatnonzero((pts == pts[r]) & (lens == lens[r]) & ~dup)
            if any(o < r and _same_orbit(Z[o], Z[r]) for o in same):
                dup[r] = True
        return dup

    def cycles_at(self, p: int) -> CycleSet:
        """The objects of point ``p`` as a CycleSet (sorted by order and key)."""
        keep = np.zeros(self.n, bool)
        keep[p] = True
        return self.all_cycles(keep)[p]

    def all_cycles(self, keep: np.ndarray | None = None) -> list[CycleSet]:
        """CycleSets of every point (empty outside ``keep``)."""
        per: list[list[Cycle]] = [[] for _ in range(self.n)]
        for q, kid, Z, ev in zip(*self.table(keep)):
            k = int(self.reg.order[kid])
            per[q].append(Cycle(k, np.array(Z), np.array(ev), self.reg.regions[kid, :k].copy(), self.reg.key(kid)))
        solves = self.solves
        return [CycleSet(cs, {"solves": int(solves[p]), "full": bool(self.full[p])}) for p, cs in enumerate(per)]


def _sort_eigenvalue_rows(ev: np.ndarray) -> np.ndarray:
    """Each row sorted like :attr:`Cycle.eigenvalues` (decreasing modulus, then real, imag)."""
    ev = np.asarray(ev, dtype=complex)
    if len(ev) == 0:
        return ev
    order = np.lexsort((ev.imag, ev.real, -np.abs(ev)), axis=-1)
    return np.take_along_axis(ev, order, axis=-1)


def _uniform(seed: int, point_seeds: np.ndarray, index: np.ndarray, n: int) -> np.ndarray:
    """Counter-based uniforms in [0, 1): ``(len(point_seeds), n)``, a pure function of
    ``(seed, point seed, index, column)`` (splitmix64), so a point's probes never depend on
    which other points share the batch."""
    with np.errstate(over="ignore"):
        x = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
             + np.asarray(point_seeds, dtype=np.uint64)[:, None] * np.uint64(0xBF58476D1CE4E5B9)
             + np.asarray(index, dtype=np.uint64)[:, None] * np.uint64(0x94D049BB133111EB)
             + np.arange(n, dtype=np.uint64)[None, :] * np.uint64(0xD6E8FEB86659FD93))
        for _ in range(2):
            x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def _cat(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _length_bins(K: int) -> list[tuple[int, int]]:
    """Orders grouped so padding wastes at most a factor 2: (1, 1), (2, 2), (3, 4), (5, 8), ..."""
    bins, lo = [], 1
    while lo <= K:
        hi = min(K, max(lo, 2 * lo - 2)) if lo > 2 else lo
        bins.append((lo, hi))
        lo = hi + 1
    return bins


def _orbit(system, points, z0: np.ndarray, n_skip: int, n_keep: int):
    """Run ``n_skip`` steps, then return ``n_keep`` states and their regions."""
    from rnnexplore.dynamics.solve import _rows_for

    rows = _rows_for(system, points, len(z0))
    with np.errstate(all="ignore"):
        z = rows.advance(z0, n_skip)
        Z, V = rows.orbit(z, n_keep - 1)
        Vlast = rows.region_of(Z[:, -1])
    return Z, np.concatenate([V, Vlast[:, None]], axis=1)


def probe_scale(model: PiecewiseLinearModel) -> float:
    """A box size for probe orbits: ``1 + median max |z|`` over 8 orbits of 200 steps.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> 1.0 < probe_scale(paper_gt16()) < 10.0
    True
    """
    z0 = np.random.default_rng(0).normal(size=(8, model.M))
    with np.errstate(all="ignore"):
        traj = model.simulate(z0, 200)[100:]
    top = np.max(np.abs(traj), axis=(0, 2))
    top = top[np.isfinite(top) & (top < 1e6)]
    return float(min(1e3, 1.0 + (np.median(top) if top.size else 1.0)))


def _point_seed(seed: int, p: int, attempt: int = 0) -> int:
    return int(np.random.SeedSequence([int(seed), int(p), attempt]).generate_state(1)[0])


# =========================================================================== single-point API
def continue_cycles(model: PiecewiseLinearModel, cycles: Sequence[Cycle]) -> tuple[list[Cycle], bool]:
    """Follow known cycles to new parameters by re-solving their region sequences (no search).

    For every cycle, ``(I - P) z = r`` of its (unchanged) region sequence is solved at the new
    parameters in one stacked solve and the true map is run from the solution: the cycle
    *persists* if that orbit visits the same regions and closes.

    Parameters
    ----------
    model : a model of :mod:`rnnexplore.dynamics.models` (the new parameters)
    cycles : sequence of Cycle
        Objects found at nearby parameters.

    Returns
    -------
    continued : list of Cycle
        The persisting cycles (same ``key``, new points and eigenvalues), sorted by order and key.
    all_persist : bool
        True when every input cycle persisted.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> cs = find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0)
    >>> new, ok = continue_cycles(skew_tent(0.2, -1.6, 1.0), cs)
    >>> ok, round(float(new[0].points[0, 0]), 4)
    (True, 0.3846)
    """
    check_model(model)
    cycles = _as_cycles(cycles, "cycles")
    cycles = list(cycles)
    for c in cycles:
        if np.asarray(c.regions).shape[1] != model.n_bits:
            raise ValueError(f"cycles have {np.asarray(c.regions).shape[1]} region bits but the model has {model.n_bits}")
    if not cycles:
        return [], True
    K = max(int(c.order) for c in cycles)
    eng = Continuation(model, (1,), K, ContinuationOptions(chain_length=0, flips=False, probes=0))
    kids = np.unique([eng.reg.add_key(c.key) for c in cycles]).astype(np.int64)
    eng._solve(np.zeros(len(kids), np.int64), kids)
    out = list(eng.cycles_at(0))
    return out, len(out) == len({c.key for c in cycles})


def continuation_step(
    model: PiecewiseLinearModel,
    previous: Sequence[Cycle] | None,
    max_order: int,
    *,
    seed: int | None = None,
    budget: Any = None,
    options: ContinuationOptions | None = None,
) -> CycleSet:
    """One continuation step: continue the previous objects, then search what changed.

    The previous objects' sequences are re-solved at ``model`` (exact continuation); where one
    turned virtual, the regions its virtual orbit visits and its single-bit flips are tried
    (:class:`Continuation` on a single point); finally a SCYFI search
    (:func:`~rnnexplore.dynamics.cycles.find_cycles` with ``budget``), warm-started from
    everything found, looks for objects that appeared away from the known ones. The explorer's
    slider steps, the replay widget, replay analyses and bifurcation-map tiles use this step
    (the latter two in its batched form).

    Parameters
    ----------
    model : the model at the new parameters
    previous : CycleSet or list of Cycle, optional
        Objects at nearby parameters (None: a cold search).
    max_order : int
    seed : int, optional
        Seed of the search.
    budget : optional
        ``find_cycles`` budget of the final search; ``False`` skips it (continuation only).
    options : ContinuationOptions, optional

    Returns
    -------
    CycleSet
        With ``stats`` of the final search plus ``continued`` (objects that persisted) and
        ``continuation_solves``.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> cs = find_cycles(paper_gt16(), 16, seed=0)
    >>> step = continuation_step(paper_gt16().with_params({"A[0]": 0.838}), cs, 16, seed=0)
    >>> step.keys() == cs.keys(), step.stats["continued"]
    (True, 3)
    """
    previous = _as_cycles(previous, "previous")
    check_model(model)
    max_order = check_int(max_order, "max_order", minimum=1)
    prev = [c for c in (previous or []) if c.order <= max_order and np.asarray(c.regions).shape[1] == model.n_bits]
    opt = options or ContinuationOptions(probes=0)
    eng = Continuation(model, (1,), max_order, opt)
    if prev:
        eng.continue_from(0, prev)
        eng.run(np.zeros(0, np.int64), np.zeros(0, np.int64))
    n_cont = sum(eng.has_key(0, key) for key in {c.key for c in prev})
    local = eng.cycles_at(0)
    if budget is False:
        return CycleSet(list(local), {"continued": n_cont, "continuation_solves": int(eng.solves[0]),
                                      "total_solves": int(eng.solves[0])})
    cs = _cycles.find_cycles(model, max_order, seed=seed, warm_start=list(local) or None, budget=budget)
    merged = {c.key: c for c in cs}
    for c in local:
        merged.setdefault(c.key, c)
    stats = dict(cs.stats)
    stats["continued"] = n_cont
    stats["continuation_solves"] = int(eng.solves[0])
    stats["total_solves"] = int(stats.get("total_solves", 0)) + int(eng.solves[0])
    return CycleSet(sorted(merged.values(), key=lambda c: (c.order, c.key)), stats)


def objects_from_states(
    model: PiecewiseLinearModel,
    states: Any,
    max_order: int = 1,
    *,
    chain_length: int = 20,
    relax: int = 0,
) -> CycleSet:
    """Fixed points and cycles from the regions a trajectory visits (high-dimensional networks).

    For a trained network with many units, random region guesses are hopeless (2^M regions),
    but the network's own trajectories visit the regions of its objects' neighbourhoods. Every
    window of ``k`` consecutive states (``k <= max_order``) gives a candidate region sequence;
    all distinct candidates are solved in batched calls and every virtual solution is followed
    by its visited regions (the SCYFI update) for up to ``chain_length`` steps. Cost grows with
    the number of distinct regions visited, not with a restart budget.

    With ``relax > 0`` the states are first run ``relax`` steps of the autonomous map and only
    the slowest stretch of each run is used: the ``max_order`` states from the step ``t`` where
    the near-return distance ``min_k |z_{t+k} - z_t|`` (``k <= max_order``) is smallest. The
    flow is slow near every object, saddles included, so a few hundred states sampled near the
    task's trajectories (as fixed-point-finder samples them) give one promising candidate each
    instead of a long trajectory of distinct regions; the exact solve and real/virtual check of
    every candidate are unchanged.

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
    states : array (T, M) or (T, B, M)
        Trajectories (time first), e.g. pre-activations of a torch RNN run on its task
        (:func:`~rnnexplore.dynamics.models.from_torch_rnn`). With ``relax > 0`` every state
        (of every time and trajectory) is a starting point.
    max_order : int
    chain_length : int
    relax : int
        Steps of the relaxation (0: use the states as given).

    Returns
    -------
    CycleSet

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> m = skew_tent(0.2, -1.5, 1.0)
    >>> [c.order for c in objects_from_states(m, m.simulate([0.1], 30), 2)]
    [1, 2]
    >>> [c.order for c in objects_from_states(m, [[0.1], [0.5], [-0.3]], 2, relax=20)]
    [1, 2]
    """
    check_model(model)
    max_order = check_int(max_order, "max_order", minimum=1)
    chain_length = check_int(chain_length, "chain_length", minimum=0)
    relax = check_int(relax, "relax", minimum=0)
    X = np.asarray(states, dtype=np.float64)
    if X.ndim == 2:
        X = X[:, None, :]
    if X.ndim != 3 or X.shape[2] != model.M:
        raise ValueError(f"states must have shape (T, M) or (T, B, M) with M = {model.M}, got {np.shape(states)}")
    if relax:
        X = _slowest_stretch(model, X.reshape(-1, model.M), relax, max_order)
    good = np.all(np.isfinite(X), axis=2)
    regions = model.region(np.where(good[..., None], X, 0.0))  # (T, B, nb)
    eng = Continuation(model, (1,), max_order, ContinuationOptions(chain_length=chain_length, probes=0))
    groups = []
    for k in range(1, min(max_order, X.shape[0]) + 1):
        win = np.stack([regions[i : X.shape[0] - k + 1 + i] for i in range(k)], axis=2)  # (T-k+1, B, k, nb)
        ok = np.all(np.stack([good[i : X.shape[0] - k + 1 + i] for i in range(k)], axis=2), axis=2)
        S = win[ok]
        packed = np.packbits(S.reshape(len(S), -1), axis=1)
        _, first = np.unique(packed, axis=0, return_index=True)
        S = S[np.sort(first)]
        groups.append((np.zeros(len(S), np.int64), S))
    eng._queue.append(eng._register(groups, chain_length) + (chain_length,))
    eng.run(np.zeros(0, np.int64), np.zeros(0, np.int64))
    return eng.cycles_at(0)


def _slowest_stretch(model: PiecewiseLinearModel, z0: np.ndarray, relax: int, K: int) -> np.ndarray:
    """``(K, B, M)``: from every start, the K states of its relaxation where it is slowest.

    Runs ``relax + K`` steps; at step ``t <= relax`` the near-return distance is
    ``min_{k <= K} |z_{t+k} - z_t|``; the window ``z_t .. z_{t+K-1}`` at its minimum is kept.
    Only the last ``K + 1`` states and the best window are held (no trajectory array).
    Diverging runs give non-finite windows (skipped by the caller).
    """
    B = z0.shape[0]
    ring = [np.array(z0, dtype=np.float64)]
    with np.errstate(all="ignore"):
        for _ in range(K):
            ring.append(model._step(ring[-1]))
        best = np.full(B, np.inf)
        window = np.stack(ring[:K])
        for t in range(relax + 1):
            d = np.full(B, np.inf)
            for k in range(1, K + 1):
                d = np.minimum(d, np.max(np.abs(ring[k] - ring[0]), axis=1))
            better = np.isfinite(d) & (d < best)
            if better.any():
                best[better] = d[better]
                window[:, better] = np.stack(ring[:K])[:, better]
            if t < relax:
                ring = ring[1:] + [model._step(ring[-1])]
    return window
