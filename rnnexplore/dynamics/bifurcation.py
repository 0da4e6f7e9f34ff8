"""Bifurcation maps and diagrams of piecewise-linear RNNs: sweeps with continuation, curves.

:func:`sweep` computes every fixed point and cycle over a one- or two-parameter grid with
continuation (full searches on a coarse sub-grid, warm starts from the neighbours elsewhere) and
names every change between neighbouring points with
:func:`~rnnexplore.dynamics.events.classify_events`; the result is a :class:`BifurcationMap`
(Eisenmann et al., NeurIPS 2023, Fig. 3).

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import skew_tent
>>> bm = sweep(skew_tent(0.2, 0.5, 1.0), {"A[0]": np.linspace(0.8, 1.2, 5)}, 2, seed=0)
>>> bm.shape
(5, 1)
>>> [event.kind for _, _, event in bm.events()]
['degenerate_transcritical']
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_executor, check_int, check_real, check_seed
from rnnexplore.dynamics.continuation import PROVEN_HOW, Continuation, ContinuationOptions, _parse_key, probe_scale
from rnnexplore.dynamics.cycles import Cycle, CycleSet, SearchBudget
from rnnexplore.dynamics.events import EVENT_KINDS, BifurcationEvent
from rnnexplore.dynamics.models import PiecewiseLinearModel, model_from_dict
from rnnexplore.dynamics.solve import ModelStack
from rnnexplore.dynamics.orbits import simulate_orbits
from rnnexplore.files import atomic_savez, load_npz, parse_json
from rnnexplore.parallel import Resident, parallel_map, progress_bar

__all__ = [
    "BifurcationMap",
    "check_grid",
    "sweep",
]

# =========================================================================== grids
def _canonical_name(model: PiecewiseLinearModel, name: str) -> tuple[str, tuple]:
    field, idx = model.param_index(name)
    return name.replace(" ", ""), (field, idx)


def check_grid(model: Any, grid: Any) -> tuple[list[str], list[np.ndarray]]:
    """Validate a parameter grid ``{name: values}`` (one or two parameters) for ``model``.

    Names follow numpy indexing on the model (``"A[0]"``, ``"A[0,1]"``, ``"W[1,0]"``,
    ``"h[1]"``; see ``model.param_names()``). Values must be a non-empty, finite, strictly
    monotonic 1-D sequence.

    Returns
    -------
    names : list of str
    values : list of ndarray

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> check_grid(skew_tent(0.2, 0.5, 1.0), {"A[0]": [0.1, 0.2]})[0]
    ['A[0]']
    >>> check_grid(skew_tent(0.2, 0.5, 1.0), {"B[0]": [0.1]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: grid: unknown parameter name 'B[0]'; valid names: ...
    """
    if not isinstance(model, PiecewiseLinearModel):
        raise ValueError(
            f"model must be a PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN, got {type(model).__name__}"
        )
    if not isinstance(grid, Mapping) or not 1 <= len(grid) <= 2:
        raise ValueError("grid must be a dict {name: values} with one or two parameters, e.g. {'A[0]': values}")
    names: list[str] = []
    values: list[np.ndarray] = []
    located = []
    for name, vals in grid.items():
        try:
            clean, loc = _canonical_name(model, name)
        except ValueError as exc:
            raise ValueError(f"grid: {exc}") from None
        if loc in located:
            raise ValueError(f"grid: parameter {name!r} is given twice")
        located.append(loc)
        if isinstance(vals, (str, bytes)):
            raise ValueError(f"grid values for {name!r} must be numbers, got a string")
        try:
            arr = np.array(vals, dtype=np.float64)
        except (TypeError, ValueError):
            raise ValueError(f"grid values for {name!r} must be a 1-D sequence of numbers") from None
        if arr.ndim != 1:
            raise ValueError(f"grid values for {name!r} must be 1-D, got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError(f"grid values for {name!r} are empty")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"grid values for {name!r} contain NaN or inf")
        if arr.size > 1:
            d = np.diff(arr)
            if not (np.all(d > 0) or np.all(d < 0)):
                raise ValueError(f"grid values for {name!r} must be strictly increasing or decreasing")
        names.append(clean)
        values.append(arr)
    return names, values


# =========================================================================== tiles
@dataclass
class _Rows:
    """Objects as flat arrays: one row per (grid point, object); orbits concatenated."""

    pt: np.ndarray  # (n,) global flat point index
    key: np.ndarray  # (n,) str
    order: np.ndarray  # (n,) int
    Z: np.ndarray  # (sum of orders, M)
    eig: np.ndarray  # (n, M) complex

    @classmethod
    def empty(cls, M: int) -> "_Rows":
        return cls(np.zeros(0, np.int64), np.zeros(0, "<U1"), np.zeros(0, np.int64), np.zeros((0, M)),
                   np.zeros((0, M), complex))

    @classmethod
    def concat(cls, parts: list["_Rows"], M: int) -> "_Rows":
        parts = [r for r in parts if len(r.pt)]
        if not parts:
            return cls.empty(M)
        return cls(*(np.concatenate([getattr(r, f) for r in parts]) for f in ("pt", "key", "order", "Z", "eig")))

    def select(self, mask: np.ndarray) -> "_Rows":
        zmask = np.repeat(mask, self.order)
        return _Rows(self.pt[mask], self.key[mask], self.order[mask], self.Z[zmask], self.eig[mask])

    def span(self, a: int, b: int, starts: np.ndarray) -> "_Rows":
        """Rows ``a:b`` (``starts``: cumulative orders with a leading 0)."""
        return _Rows(self.pt[a:b], self.key[a:b], self.order[a:b], self.Z[starts[a] : starts[b]], self.eig[a:b])

    def sorted(self) -> "_Rows":
        idx = np.lexsort((self.key, self.order, self.pt))
        start = np.concatenate([[0], np.cumsum(self.order)])
        k = self.order[idx]
        zidx = np.repeat(start[idx] - np.concatenate([[0], np.cumsum(k)[:-1]]), k) + np.arange(int(k.sum()))
        return _Rows(self.pt[idx], self.key[idx], self.order[idx], self.Z[zidx], self.eig[idx])

    def cycles(self) -> list[Cycle]:
        out, pos = [], 0
        for n in range(len(self.pt)):
            k = int(self.order[n])
            key = str(self.key[n])
            out.append(Cycle(k, self.Z[pos : pos + k].copy(), self.eig[n].copy(), _parse_key(key), key))
            pos += k
        return out


def _pack(rows: _Rows) -> dict:
    """Rows as plain arrays for shipping, keys as indices into a table of distinct keys."""
    table, inv = np.unique(rows.key, return_inverse=True)
    return {"keys": table, "pt": rows.pt.astype(np.int64), "key": inv.astype(np.int32), "order": rows.order,
            "Z": rows.Z, "eig": rows.eig}


def _unpack(d: dict) -> _Rows:
    keys = d["keys"][d["key"]] if len(d["key"]) else np.zeros(0, "<U1")
    return _Rows(d["pt"], keys, d["order"], d["Z"], d["eig"])


@dataclass
class _Tile:
    """A tile's engine between rounds: its domain is its points plus a ring of neighbouring
    points whose objects (the ``halo``, from other tiles) are given and only spread from."""

    eng: Continuation
    gidx: np.ndarray  # sorted global indices of the domain
    inside: np.ndarray  # the tile's own points (mask of the domain)
    edge: np.ndarray  # own points in another tile's ring
    events: np.ndarray  # the points of the tile's events: own points and the next row and column
    reported: set  # (global point, key) pairs of edge objects sent to the neighbours
    spec: dict  # what the events need: model, names, values, grid shape, bounds, tol; propagate


def _tile_step(tile: _Tile | None, item: dict) -> tuple[_Tile, dict]:
    """One round of the batched continuation on one tile (top-level: runs on any executor;
    the tile stays where it runs, :class:`rnnexplore.parallel.Resident`).

    ``"start"``: full searches at the tile's coarse points, probe orbits, continuation.
    ``"finish"``: the halo objects new to the tile (if any) are recorded and spread; then the
    tile's record (objects, solves per point) and its events (as :func:`_event_work`, from
    the objects the tile holds at the next row and column), which stay valid as long as its
    ring gains nothing. Both return the objects at the tile's edge not reported before and
    the tile's object count (a cost estimate). Seeds derive from the global point index and
    the tiling is fixed by the grid, so the final map does not depend on the executor.
    """
    if item["step"] == "start":
        tile = _new_tile(item)
        eng, inside = tile.eng, tile.inside
        if not item["propagate"]:
            eng.full_search(list(np.flatnonzero(inside)), item["seed"], item["budget"])
        else:
            coarse = item["coarse"]
            I, J = np.unravel_index(tile.gidx, tuple(item["grid_shape"]))
            eng.full_search(list(np.flatnonzero(inside & (I % coarse == 0) & (J % coarse == 0))),
                            item["seed"], item["budget"])
        if item["prove"]:
            eng.prove(np.flatnonzero(inside), item["prove"])
        if item["propagate"]:
            eng.probe(item["seed"])
            eng.run()
    elif item["halo"] is not None:
        pts, kids = _add_rows(tile.eng, _unpack(item["halo"]), tile.gidx)
        if tile.spec["propagate"]:
            tile.eng.run(pts, kids)
    rows = _engine_rows(tile, tile.edge)
    new = np.array([(p, k) not in tile.reported for p, k in zip(rows.pt.tolist(), rows.key.tolist())], bool)
    tile.reported.update(zip(rows.pt[new].tolist(), rows.key[new].tolist()))
    out = {"edge": _pack(rows.select(new)), "size": len(tile.eng.found.pt)}
    if item["step"] == "finish":
        rows = _engine_rows(tile, tile.events)
        ring = ~np.isin(rows.pt, tile.gidx[tile.inside])
        out.update(state=_record(tile, rows.select(~ring)), events=_tile_events(tile.spec, rows),
                   ring_pt=rows.pt[ring], ring_key=rows.key[ring])
    return tile, out


def _new_tile(item: dict) -> _Tile:
    base = model_from_dict(item["model"])
    names, grid_shape = item["names"], tuple(item["grid_shape"])
    (a0, b0), (a1, b1) = item["bounds"]
    n0, n1 = grid_shape
    lo0, hi0 = max(a0 - 1, 0), min(b0 + 1, n0)
    lo1, hi1 = max(a1 - 1, 0), min(b1 + 1, n1)
    I, J = np.meshgrid(np.arange(lo0, hi0), np.arange(lo1, hi1), indexing="ij")
    I, J = I.ravel(), J.ravel()
    gidx = np.ravel_multi_index((I, J), grid_shape)
    inside = (I >= a0) & (I < b0) & (J >= a1) & (J < b1)
    edge = inside & (((I == a0) & (a0 > 0)) | ((I == b0 - 1) & (b0 < n0)) | ((J == a1) & (a1 > 0))
                     | ((J == b1 - 1) & (b1 < n1)))
    events = (I >= a0) & (J >= a1)
    params = {names[0]: np.asarray(item["values0"])[I]}
    if len(names) > 1:
        params[names[1]] = np.asarray(item["values1"])[J]
    shape = (hi0 - lo0, hi1 - lo1) if len(names) > 1 else (hi0 - lo0,)
    opt = ContinuationOptions(**item["options"])
    eng = Continuation(ModelStack.from_params(base, params), shape, item["max_order"], opt,
                       frozen=~inside, point_seeds=gidx)
    spec = {k: item[k] for k in ("model", "names", "values0", "values1", "grid_shape", "bounds", "tol", "propagate")}
    return _Tile(eng, gidx, inside, edge, events, set(), spec)


def _engine_rows(tile: _Tile, keep: np.ndarray) -> _Rows:
    """The tile's objects at the points ``keep`` as rows (global point indices, sorted)."""
    eng = tile.eng
    pt, kid, Z, eig = eng.table(keep)
    return _Rows(tile.gidx[pt].astype(np.int64), _str_array([eng.reg.key(k) for k in kid.tolist()]),
                 eng.reg.order[kid].astype(np.int64), np.concatenate(Z) if Z else np.zeros((0, eng.M)),
                 np.stack(eig) if eig else np.zeros((0, eng.M), complex))


def _record(tile: _Tile, rows: _Rows) -> dict:
    """The tile's own points: their objects (``rows``, sorted), solves, full searches, proofs."""
    inside = tile.inside
    return {"rows": _pack(rows), "points": tile.gidx[inside], "solves": tile.eng.solves[inside],
            "full": tile.eng.full[inside].copy(), "proven": tile.eng.proven[inside].copy()}


def _add_rows(eng: Continuation, rows: _Rows, gidx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Record rows in the engine (``gidx``: the sorted global indices of its points); returns
    the (local point, key id) pairs that were new."""
    if len(rows.pt) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    table, inv = np.unique(rows.key, return_inverse=True)
    kid = eng.reg.add_keys(table.tolist())[inv.ravel()]
    p = np.searchsorted(gidx, rows.pt)
    new = eng.record_many(p, kid, np.split(rows.Z, np.cumsum(rows.order)[:-1]), rows.eig)
    return p[new], kid[new]


def _orbit_work(item: dict) -> np.ndarray:
    """Orbit-diagram samples for a chunk of parameter values (top-level work function)."""
    base = model_from_dict(item["model"])
    n_init, n_transient, n_keep, scale = item["n_init"], item["n_transient"], item["n_keep"], item["scale"]
    out = []
    for idx, v in zip(item["indices"], item["values"]):
        m = base.with_params({item["name"]: v})
        rng = np.random.default_rng([item["seed"], idx])
        z0 = rng.uniform(-scale, scale, (n_init, m.M))
        traj = simulate_orbits(m, z0, n_transient + n_keep)[n_transient + 1 :]
        traj = traj.reshape(-1, m.M)
        out.append(traj)
    return np.stack(out)


# =========================================================================== result
_STAB_ORDER = {"stable": 0, "saddle": 1, "unstable": 2}


@dataclass(eq=False)
class BifurcationMap:
    """Objects over a 1-D or 2-D parameter grid, their tracks and the events between neighbours.

    Arrays index the grid as ``[i, j]`` with ``i`` along the first parameter (``values0``)
    and ``j`` along the second (``values1``; a 1-D sweep has ``j = 0`` and ``values1`` empty).
    Objects are stored as a flat table (``obj_*``, one row per object per grid point) and
    their orbit points as another (``pt_*``); events between neighbouring points as ``ev_*``
    (``ev_a`` -> ``ev_b`` is the direction of increasing index). Save/load with ``.npz``
    (no pickle).

    Attributes
    ----------
    names : ndarray of str
        The one or two parameter names.
    values0, values1 : ndarray
        Grid values.
    model_json : str
        The base model (``model.to_dict()`` as JSON); the other parameters keep its values.
    max_order, seed : int
    obj_index : (n_obj, 2) int
        Grid index of each object.
    obj_order, obj_track : (n_obj,) int
        Period and track id (the same object across the grid: equal keys at neighbouring
        points, or linked by a border collision).
    obj_key : (n_obj,) str
    obj_eigenvalues : (n_obj, M) complex
        The one source of the derived ``obj_n_stable`` (int), ``obj_stability`` (str) and
        ``obj_max_abs_eig`` (float) properties.
    pt_object : (n_pts,) int
        Row of ``obj_*`` each orbit point belongs to.
    pt_coords : (n_pts, M) float
    ev_a, ev_b : (n_ev, 2) int
        Grid indices of the two neighbouring points.
    ev_kind, ev_key_before, ev_key_after, ev_description : (n_ev,) str
        (``""`` for a missing key).
    ev_order : (n_ev,) int
    solves : (n0, n1) int
        Linear solves spent at each grid point.
    full_search : (n0, n1) bool
        Points searched from scratch (the coarse sub-grid, or every point without continuation).
    proven : (n0, n1, max_order) int8
        How the completeness of each order is known at each point, a code into
        ``rnnexplore.dynamics.continuation.PROVEN_HOW`` (0: not proven; 1 "enumerated",
        2 "pruned", 3 "box"): from the full searches and from ``sweep(..., prove=K)``.
        See :attr:`proven_order`, :attr:`cell_proven`, :meth:`proven_at`, :meth:`proven_summary`.
    orbit : (n0, n_samples, M) float
        Orbit diagram (1-D sweeps; NaN where the orbit diverged); empty otherwise.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> bm = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": np.linspace(-2.2, 0.6, 15)}, 2)
    >>> bm.ndim, bm.n_objects().shape
    (1, (15, 1))
    """

    names: np.ndarray
    values0: np.ndarray
    values1: np.ndarray
    model_json: str
    max_order: int
    seed: int
    obj_index: np.ndarray
    obj_order: np.ndarray
    obj_key: np.ndarray
    obj_track: np.ndarray
    obj_eigenvalues: np.ndarray
    pt_object: np.ndarray
    pt_coords: np.ndarray
    ev_a: np.ndarray
    ev_b: np.ndarray
    ev_kind: np.ndarray
    ev_order: np.ndarray
    ev_key_before: np.ndarray
    ev_key_after: np.ndarray
    ev_description: np.ndarray
    solves: np.ndarray
    full_search: np.ndarray
    proven: np.ndarray
    orbit: np.ndarray

    def __post_init__(self) -> None:
        checked = _checked_map_fields({f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        for name, value in checked.items():
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ derived from the eigenvalues
    @cached_property
    def _stability(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n_stable, label, radius = _row_stability(self.obj_eigenvalues)
        return n_stable, _str_array(label.tolist()), radius.astype(np.float64)

    @property
    def obj_n_stable(self) -> np.ndarray:
        """Number of eigenvalues inside the unit circle of every object (from ``obj_eigenvalues``)."""
        return self._stability[0]

    @property
    def obj_stability(self) -> np.ndarray:
        """``"stable"``, ``"saddle"`` or ``"unstable"`` for every object (from ``obj_eigenvalues``)."""
        return self._stability[1]

    @property
    def obj_max_abs_eig(self) -> np.ndarray:
        """Spectral radius of every object (from ``obj_eigenvalues``)."""
        return self._stability[2]

    # ------------------------------------------------------------------ completeness
    @property
    def proven_order(self) -> np.ndarray:
        """``(n0, n1)``: the largest ``P`` such that orders ``1..P`` are all proven complete at
        the point (0: not even the fixed points)."""
        ok = self.proven > 0
        return np.where(ok.all(axis=2), self.max_order, np.argmin(ok, axis=2)).astype(np.int64)

    @property
    def cell_proven(self) -> np.ndarray:
        """``(n0, n1)`` bool: the point's object set is proven complete (all its orders are)."""
        return self.proven_order == self.max_order

    def proven_at(self, i: int, j: int = 0) -> dict[int, str | None]:
        """How completeness is known at ``(i, j)``, per order (as :attr:`CycleSet.proven`):
        ``"enumerated"``, ``"pruned"``, ``"box"`` or ``None`` (heuristic / continuation)."""
        i, j = self._check_index(i, j)
        return {k + 1: (PROVEN_HOW[c] or None) for k, c in enumerate(self.proven[i, j].tolist())}

    def proven_summary(self) -> str:
        """One line: how many points are proven complete, e.g. ``"12 of 400 points proven
        complete to order 16; all 400 to order 3"``.

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> bm = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": np.linspace(-2.2, 0.6, 15)}, 3, prove=3)
        >>> bm.proven_summary()
        '15 of 15 points proven complete to order 3'
        """
        po = self.proven_order
        n, K = po.size, self.max_order
        text = f"{int(np.sum(po == K))} of {n} points proven complete to order {K}"
        low = int(po.min()) if n else 0
        if 0 < low < K:
            text += f"; all {n} to order {low}"
        elif n and np.any(po < K):
            best = int(po.max())
            if 0 < best < K:
                text += f"; {int(np.sum(po >= best))} to order {best}"
        return text

    # ------------------------------------------------------------------ basics
    @property
    def ndim(self) -> int:
        """1 (diagram along one parameter) or 2 (map over two)."""
        return len(self.names)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n0, n1)`` (``n1 = 1`` for a 1-D sweep)."""
        return self.solves.shape

    @property
    def model(self) -> PiecewiseLinearModel:
        """The base model."""
        return model_from_dict(json.loads(self.model_json))

    def _check_index(self, i: int, j: int) -> tuple[int, int]:
        n0, n1 = self.shape
        if not (0 <= int(i) < n0 and 0 <= int(j) < n1):
            raise ValueError(f"grid index ({i}, {j}) is outside the grid of shape {self.shape}")
        return int(i), int(j)

    def params_at(self, i: int, j: int = 0) -> dict[str, float]:
        """``{name: value}`` at grid index ``(i, j)``."""
        i, j = self._check_index(i, j)
        out = {str(self.names[0]): float(self.values0[i])}
        if self.ndim == 2:
            out[str(self.names[1])] = float(self.values1[j])
        return out

    def model_at(self, i: int, j: int = 0) -> PiecewiseLinearModel:
        """The model at grid index ``(i, j)``."""
        return self.model.with_params(self.params_at(i, j))

    def cycles_at(self, i: int, j: int = 0) -> CycleSet:
        """The objects found at grid index ``(i, j)`` as a CycleSet (usable as a warm start)."""
        i, j = self._check_index(i, j)
        rows = np.flatnonzero((self.obj_index[:, 0] == i) & (self.obj_index[:, 1] == j))
        out = []
        for r in rows:
            pts = self.pt_coords[self.pt_object == r]
            regions = np.array([[ch == "1" for ch in part] for part in str(self.obj_key[r]).split("|")])
            out.append(Cycle(int(self.obj_order[r]), pts, self.obj_eigenvalues[r], regions, str(self.obj_key[r])))
        return CycleSet(out)

    def n_objects(self) -> np.ndarray:
        """Number of objects at each grid point, shape ``(n0, n1)``."""
        out = np.zeros(self.shape, dtype=int)
        np.add.at(out, (self.obj_index[:, 0], self.obj_index[:, 1]), 1)
        return out

    def counts(self, stability: str | None = None) -> np.ndarray:
        """Objects per order at each point, shape ``(n0, n1, max_order)`` (``[..., k-1]`` = order k).

        ``stability`` ("stable", "saddle", "unstable") restricts the count.
        """
        out = np.zeros(self.shape + (self.max_order,), dtype=int)
        sel = np.ones(len(self.obj_order), bool) if stability is None else self.obj_stability == stability
        np.add.at(out, (self.obj_index[sel, 0], self.obj_index[sel, 1], self.obj_order[sel] - 1), 1)
        return out

    def signatures(self) -> tuple[np.ndarray, list[str]]:
        """Stability signature of every point: a label array ``(n0, n1)`` and the label texts.

        The text lists ``order + s/d/u`` (stable / saddle / unstable) of every object, sorted,
        e.g. ``"1u 2s"``; ``""`` means no object.
        """
        letter = {"stable": "s", "saddle": "d", "unstable": "u"}
        per: dict[tuple[int, int], list] = {}
        for r in range(len(self.obj_order)):
            p = (int(self.obj_index[r, 0]), int(self.obj_index[r, 1]))
            per.setdefault(p, []).append((int(self.obj_order[r]), letter[str(self.obj_stability[r])]))
        texts = np.full(self.shape, "", dtype=object)
        for p, items in per.items():
            texts[p] = " ".join(f"{k}{s}" for k, s in sorted(items))
        names = sorted(set(texts.ravel().tolist()), key=lambda t: (len(t.split()), t))
        lookup = {t: n for n, t in enumerate(names)}
        return np.vectorize(lookup.__getitem__, otypes=[int])(texts), names

    @property
    def solves_per_point(self) -> float:
        """Mean number of linear solves per grid point."""
        return float(np.mean(self.solves))

    # ------------------------------------------------------------------ events and curves
    def events(self) -> list[tuple[tuple[int, int], tuple[int, int], BifurcationEvent]]:
        """All events as ``(index_a, index_b, BifurcationEvent)``."""
        out = []
        for n in range(len(self.ev_kind)):
            ev = BifurcationEvent(
                str(self.ev_kind[n]), int(self.ev_order[n]), str(self.ev_key_before[n]) or None,
                str(self.ev_key_after[n]) or None, str(self.ev_description[n]),
            )
            out.append((tuple(int(x) for x in self.ev_a[n]), tuple(int(x) for x in self.ev_b[n]), ev))
        return out

    def _event_mask(self, kinds: Any, orders: Any) -> np.ndarray:
        mask = np.ones(len(self.ev_kind), dtype=bool)
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            bad = [k for k in kinds if k not in EVENT_KINDS]
            if bad:
                raise ValueError(f"kinds must be among {EVENT_KINDS}, got {bad}")
            mask &= np.isin(self.ev_kind, kinds)
        if orders is not None:
            orders = [orders] if isinstance(orders, (int, np.integer)) else list(orders)
            mask &= np.isin(self.ev_order, orders)
        return mask

    def bifurcation_values(self, kinds: Any = None, orders: Any = None) -> dict[str, np.ndarray]:
        """1-D sweeps: parameter values (midpoints between neighbours) of the events, by kind."""
        if self.ndim != 1:
            raise ValueError("bifurcation_values is for 1-D sweeps; use curves() for 2-D maps")
        mask = self._event_mask(kinds, orders)
        out: dict[str, np.ndarray] = {}
        for kind in EVENT_KINDS:
            sel = mask & (self.ev_kind == kind)
            if np.any(sel):
                mid = 0.5 * (self.values0[self.ev_a[sel, 0]] + self.values0[self.ev_b[sel, 0]])
                out[kind] = np.unique(mid)
        return out

    def curves(self, kinds: Any = None, orders: Any = None) -> dict[str, np.ndarray]:
        """2-D maps: bifurcation curves as line segments, by event kind.

        A grid edge is flagged for a kind when the two points it joins differ by an event of
        that kind (and order, if ``orders`` is given). In every grid cell the midpoints of its
        flagged edges are joined: two flagged edges give one segment, one, three or four are
        each joined to the cell centre. Coordinates are parameter values ``(x = values0,
        y = values1)``, so the segments overlay any map over the same two parameters.

        Returns
        -------
        dict kind -> ndarray (n_segments, 2, 2)
            ``segments[s] = [[x0, y0], [x1, y1]]``.
        """
        if self.ndim != 2:
            raise ValueError("curves is for 2-D maps; use bifurcation_values() for 1-D sweeps")
        mask = self._event_mask(kinds, orders)
        n0, n1 = self.shape
        x, y = self.values0, self.values1
        out: dict[str, np.ndarray] = {}
        for kind in EVENT_KINDS:
            sel = mask & (self.ev_kind == kind)
            if not np.any(sel):
                continue
            F0 = np.zeros((max(n0 - 1, 0), n1), bool)  # edge (i, j)-(i+1, j)
            F1 = np.zeros((n0, max(n1 - 1, 0)), bool)  # edge (i, j)-(i, j+1)
            a, b = self.ev_a[sel], self.ev_b[sel]
            ax0 = b[:, 0] != a[:, 0]
            F0[a[ax0, 0], a[ax0, 1]] = True
            F1[a[~ax0, 0], a[~ax0, 1]] = True
            segs = []
            for i in range(n0 - 1):
                xm = 0.5 * (x[i] + x[i + 1])
                for j in range(n1 - 1):
                    flags = (F0[i, j], F0[i, j + 1], F1[i, j], F1[i + 1, j])
                    if not any(flags):
                        continue
                    ym = 0.5 * (y[j] + y[j + 1])
                    mids = [(xm, y[j]), (xm, y[j + 1]), (x[i], ym), (x[i + 1], ym)]
                    pts = [m for m, f in zip(mids, flags) if f]
                    if len(pts) == 2:
                        segs.append(pts)
                    else:
                        segs.extend([pt, (xm, ym)] for pt in pts)
            if segs:
                out[kind] = np.asarray(segs, dtype=np.float64)
        return out

    def curve_xy(self, kinds: Any = None, orders: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """All curve segments as one ``(x, y)`` polyline pair with NaN separators (for ``plot``)."""
        segs = [s for s in self.curves(kinds, orders).values()]
        if not segs:
            return np.zeros(0), np.zeros(0)
        allseg = np.concatenate(segs)
        xy = np.concatenate([allseg, np.full((len(allseg), 1, 2), np.nan)], axis=1).reshape(-1, 2)
        return xy[:, 0], xy[:, 1]

    def curve_lines(self, kinds: Any = None, orders: Any = None) -> list[tuple[np.ndarray, np.ndarray]]:
        """Curves as a list of ``(x, y)`` polylines, one per event kind (NaN-separated segments).

        This is the ``curves=`` format of the training replay's landscape panel
        (:class:`rnnexplore.widgets.replay.ReplayState`).
        """
        return [self.curve_xy(kind, orders) for kind in self.curves(kinds, orders)]

    def diagram(self, coord: int = 0) -> dict[str, np.ndarray]:
        """1-D bifurcation diagram data: one row per orbit point.

        Returns a dict of arrays ``param`` (parameter value), ``z`` (coordinate ``coord``),
        ``order``, ``stability`` (str), ``track``.
        """
        if self.ndim != 1:
            raise ValueError("diagram is for 1-D sweeps")
        M = self.pt_coords.shape[1] if self.pt_coords.ndim == 2 else 0
        if not 0 <= coord < max(M, 1):
            raise ValueError(f"coord must be in [0, {M}), got {coord}")
        r = self.pt_object
        return {
            "param": self.values0[self.obj_index[r, 0]] if len(r) else np.zeros(0),
            "z": self.pt_coords[:, coord] if len(r) else np.zeros(0),
            "order": self.obj_order[r],
            "stability": self.obj_stability[r],
            "track": self.obj_track[r],
        }

    # ------------------------------------------------------------------ I/O
    def save(self, path: str | os.PathLike) -> None:
        """Write all arrays to ``path`` (compressed ``.npz``; strings as unicode arrays, no pickle), atomically."""
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}
        atomic_savez(path, {"magic": np.array(_MAP_MAGIC), **arrays}, "bifurcation map", compressed=True)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "BifurcationMap":
        """Read a file written by :meth:`save`: never unpickles; every array is checked.

        Shapes, dtypes and finiteness of every field, grid indices inside the grid, point rows
        pointing at existing objects (``order`` points each), event kinds, the stored model and
        parameter names; any problem is a ``ValueError`` naming the field.
        """
        names = [f.name for f in fields(cls)]
        where = repr(os.fspath(path))
        raw = load_npz(path, [n for n in names if n != "proven"], "bifurcation map")
        magic = str(raw["magic"]) if "magic" in raw and raw["magic"].shape == () else _OLD_MAGIC
        if "magic" in raw and (raw["magic"].shape != () or magic not in (_MAP_MAGIC, _OLD_MAGIC)):
            raise ValueError(f"{where} is not an rnnexplore bifurcation map file (wrong magic)")
        derived = {}
        if magic == _OLD_MAGIC:  # v1: derived stability arrays stored, completeness not recorded
            derived = {n: raw.pop(n) for n in _DERIVED if n in raw}
            try:
                n0 = raw["values0"].shape[0]
                n1 = raw["values1"].shape[0] if raw["names"].shape == (2,) else 1
                raw["proven"] = np.zeros((n0, n1, int(raw["max_order"][()])), dtype=np.int8)
            except (IndexError, TypeError, ValueError):
                raise ValueError(f"bifurcation map file {where}: malformed grid fields") from None
        elif "proven" not in raw:
            raise ValueError(f"{where} is not a valid bifurcation map file: missing arrays ['proven']")
        try:
            out = cls(**{n: raw[n] for n in names})
        except ValueError as exc:
            raise ValueError(f"bifurcation map file {where}: {exc}") from None
        for n, arr in derived.items():
            mine = getattr(out, n)
            same = (arr.shape == mine.shape and (np.allclose(arr, mine, rtol=1e-9, atol=1e-12)
                                                 if arr.dtype.kind == "f" else np.array_equal(arr, mine)))
            if not same:
                raise ValueError(f"bifurcation map file {where}: {n} does not match obj_eigenvalues")
        return out


_MAP_MAGIC = "rnnexplore-bifurcation-map-v2"
_OLD_MAGIC = "rnnexplore-bifurcation-map-v1"  # stored obj_n_stable / obj_stability / obj_max_abs_eig; no proven
_DERIVED = ("obj_n_stable", "obj_stability", "obj_max_abs_eig")


def _int_field(raw: dict, name: str, shape: tuple, lo: int | None = None, hi: int | None = None) -> np.ndarray:
    arr = raw[name]
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integers, got dtype {arr.dtype}")
    arr = check_array(arr, name, shape=shape, dtype=np.int64)
    if arr.size and ((lo is not None and arr.min() < lo) or (hi is not None and arr.max() > hi)):
        raise ValueError(f"{name} must lie in [{lo}, {hi}], got values in [{arr.min()}, {arr.max()}]")
    return arr


def _str_field(raw: dict, name: str, n: int, choices: tuple | None = None) -> np.ndarray:
    arr = raw[name]
    if arr.dtype.kind != "U" or arr.shape != (n,):
        raise ValueError(f"{name} must be {n} strings, got dtype {arr.dtype} of shape {arr.shape}")
    if choices is not None and n:
        bad = sorted(set(arr.tolist()) - set(choices))
        if bad:
            raise ValueError(f"{name} must be among {list(choices)}, got {bad[:3]}")
    return arr


def _checked_map_fields(raw: dict) -> dict[str, Any]:
    """The fields of a stored :class:`BifurcationMap`, each checked against the others."""
    kw: dict[str, Any] = {}
    for name in ("model_json",):
        if raw[name].shape != () or raw[name].dtype.kind != "U":
            raise ValueError(f"{name} must be one string")
    model = model_from_dict(parse_json(str(raw["model_json"]), "model_json"))
    kw["model_json"] = str(raw["model_json"])
    M = model.M
    nm = raw["names"]
    if nm.dtype.kind != "U" or nm.ndim != 1 or nm.shape[0] not in (1, 2):
        raise ValueError(f"names must be 1 or 2 strings, got dtype {nm.dtype} of shape {nm.shape}")
    for n in nm.tolist():
        model.param_index(n)
    kw["names"] = nm
    kw["values0"] = check_array(raw["values0"], "values0", ndim=1, min_size=1)
    kw["values1"] = check_array(raw["values1"], "values1", ndim=1, min_size=1 if nm.shape[0] == 2 else 0)
    n0, n1 = kw["values0"].shape[0], (kw["values1"].shape[0] if nm.shape[0] == 2 else 1)
    for name in ("max_order", "seed"):
        if raw[name].shape != ():
            raise ValueError(f"{name} must be a scalar, got shape {raw[name].shape}")
    kw["max_order"] = check_int(raw["max_order"][()], "max_order", minimum=1)
    kw["seed"] = check_seed(raw["seed"][()], allow_none=False)
    n_obj = raw["obj_order"].shape[0] if raw["obj_order"].ndim == 1 else -1
    if n_obj < 0:
        raise ValueError(f"obj_order must be 1-D, got shape {raw['obj_order'].shape}")
    kw["obj_index"] = _int_field(raw, "obj_index", (n_obj, 2), 0)
    if n_obj and (kw["obj_index"][:, 0].max() >= n0 or kw["obj_index"][:, 1].max() >= n1):
        raise ValueError(f"obj_index must lie inside the grid of shape ({n0}, {n1})")
    kw["obj_order"] = _int_field(raw, "obj_order", (n_obj,), 1, kw["max_order"])
    kw["obj_key"] = _str_field(raw, "obj_key", n_obj)
    kw["obj_track"] = _int_field(raw, "obj_track", (n_obj,), 0)
    ev = raw["obj_eigenvalues"]
    if ev.dtype.kind not in "fc" or ev.shape != (n_obj, M) or not np.all(np.isfinite(ev)):
        raise ValueError(f"obj_eigenvalues must be finite complex numbers of shape ({n_obj}, {M}), "
                         f"got dtype {ev.dtype} of shape {ev.shape}")
    kw["obj_eigenvalues"] = ev.astype(complex)
    n_pts = raw["pt_object"].shape[0] if raw["pt_object"].ndim == 1 else -1
    kw["pt_object"] = _int_field(raw, "pt_object", (n_pts,), 0, n_obj - 1)
    kw["pt_coords"] = check_array(raw["pt_coords"], "pt_coords", shape=(n_pts, M))
    if not np.array_equal(np.bincount(kw["pt_object"], minlength=n_obj), kw["obj_order"]):
        raise ValueError("every object must have exactly obj_order rows in pt_object")
    n_ev = raw["ev_kind"].shape[0] if raw["ev_kind"].ndim == 1 else -1
    kw["ev_kind"] = _str_field(raw, "ev_kind", n_ev, EVENT_KINDS)
    for name in ("ev_a", "ev_b"):
        kw[name] = _int_field(raw, name, (n_ev, 2), 0)
        if n_ev and (kw[name][:, 0].max() >= n0 or kw[name][:, 1].max() >= n1):
            raise ValueError(f"{name} must lie inside the grid of shape ({n0}, {n1})")
    kw["ev_order"] = _int_field(raw, "ev_order", (n_ev,))
    for name in ("ev_key_before", "ev_key_after", "ev_description"):
        kw[name] = _str_field(raw, name, n_ev)
    kw["solves"] = _int_field(raw, "solves", (n0, n1), 0)
    fs = raw["full_search"]
    if fs.dtype != bool or fs.shape != (n0, n1):
        raise ValueError(f"full_search must be booleans of shape ({n0}, {n1}), got {fs.dtype} {fs.shape}")
    kw["full_search"] = fs
    pv = raw["proven"]
    if pv.dtype.kind not in "iu" or pv.shape != (n0, n1, kw["max_order"]):
        raise ValueError(f"proven must be integer codes of shape ({n0}, {n1}, {kw['max_order']}), "
                         f"got {pv.dtype} {pv.shape}")
    if pv.size and (pv.min() < 0 or pv.max() >= len(PROVEN_HOW)):
        raise ValueError(f"proven codes must lie in [0, {len(PROVEN_HOW) - 1}] ({PROVEN_HOW[1:]})")
    kw["proven"] = pv.astype(np.int8)
    orb = check_array(raw["orbit"], "orbit", ndim=3, allow_nonfinite=True)
    if orb.size and (orb.shape[0] != n0 or orb.shape[2] != M):
        raise ValueError(f"orbit must have shape ({n0}, n_samples, {M}), got {orb.shape}")
    if np.any(np.isinf(orb)):
        raise ValueError("orbit may hold NaN (diverged) but not inf")
    kw["orbit"] = orb
    return kw


def _str_array(items: list) -> np.ndarray:
    return np.array(items, dtype=str) if items else np.zeros(0, dtype="<U1")


# =========================================================================== sweep
def sweep(
    model: PiecewiseLinearModel,
    grid: Mapping[str, Any],
    max_order: int,
    *,
    seed: int = 0,
    budget: Any = None,
    continuation: Any = True,
    tol: float = 0.05,
    orbit: bool = True,
    orbit_steps: tuple[int, int] = (300, 100),
    n_orbits: int = 4,
    executor: Any = None,
    chunksize: int | None = None,
    progress: bool = False,
    prove: int | None = None,
) -> BifurcationMap:
    """Objects (fixed points and cycles up to ``max_order``) over a 1-D or 2-D parameter grid.

    Continuation (default): points of a coarse sub-grid get an independent full search
    (:func:`~rnnexplore.dynamics.cycles.find_cycles`); then the batched continuation
    (:class:`~rnnexplore.dynamics.continuation.Continuation`) tries every object found at a
    point at all its neighbours (8 in a map, so thin diagonal existence regions stay
    connected) in one stacked solve per wave, searches what changed where a continued object
    turned virtual (its visited regions and bit flips), and probes every point with a few
    orbits for attractors born away from every known object. The grid is cut into tiles (the
    unit of parallel work; each tile's engine stays on the worker that started it,
    :class:`rnnexplore.parallel.Resident`) that exchange their new edge objects in rounds until
    nothing changes. Finally, every tile classifies the pairs of neighbouring points with
    different object sets with ``classify_events_many`` (the batched :func:`~rnnexplore.dynamics.events.classify_events`) (with
    both models, so exactly) and objects are linked into tracks.

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
        Base model; parameters not in ``grid`` keep its values.
    grid : dict
        ``{name: values}`` for one parameter (a bifurcation diagram) or two (a map); names
        like ``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``.
    max_order : int
        Highest cycle order.
    seed : int
        Seeds of every search derive from it and the grid index.
    budget : optional
        Budget of the full searches (``find_cycles(budget=...)``).
    continuation : bool, dict or ContinuationOptions
        ``False``: an independent full search at every point (the baseline); ``True``
        (default options), a dict of :class:`ContinuationOptions` fields or an instance.
    tol : float
        Border-collision matching tolerance of :func:`~rnnexplore.dynamics.events.classify_events`.
    orbit : bool
        1-D sweeps: also simulate ``n_orbits`` random initial states per value (orbit diagram).
    orbit_steps : (int, int)
        Transient steps dropped and steps kept.
    n_orbits : int
    executor : concurrent.futures.Executor, optional
        ``None`` runs in-process; a ``ProcessPoolExecutor`` or a Dask client's
        ``get_executor()`` spread the tiles. The result does not depend on it.
    chunksize : int, optional
        Work items per submitted task of the orbit diagram (default 1; see
        :func:`~rnnexplore.parallel.parallel_map`); every tile step is one task.
    progress : bool
        tqdm progress bars (one for the tile steps, one per later stage).
    prove : int, optional
        Prove the object sets of orders ``1..prove`` complete at every point: exact
        enumeration of every Lyndon word over the point's letters
        (:meth:`~rnnexplore.dynamics.continuation.Continuation.prove`, batched over the points
        of a tile); objects it finds that continuation missed are added (and continued). The
        cost is ``sum_k L(n_letters, k)`` solves per point (the paper's system: 4 letters, 964
        solves per point to order 6, 11464 to order 8), so the default (``None``) proves only
        what the full searches at the coarse points proved on their own;
        :meth:`BifurcationMap.proven_at` says per point and order.

    Returns
    -------
    BifurcationMap

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> bm = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": np.linspace(-2.2, 1.8, 41)}, 2)
    >>> sorted(bm.bifurcation_values(orders=1))
    ['degenerate_flip', 'degenerate_transcritical']
    """
    names, values = check_grid(model, grid)
    max_order = check_int(max_order, "max_order", minimum=1)
    seed = check_seed(seed, allow_none=False)
    tol = check_real(tol, "tol", minimum=0.0, exclusive_minimum=True)
    executor = check_executor(executor)
    n_orbits = check_int(n_orbits, "n_orbits", minimum=1)
    if not isinstance(orbit_steps, (tuple, list)) or len(orbit_steps) != 2:
        raise ValueError(f"orbit_steps must be a pair (transient, kept), got {orbit_steps!r}")
    orbit_steps = (check_int(orbit_steps[0], "orbit_steps[0]", minimum=0),
                   check_int(orbit_steps[1], "orbit_steps[1]", minimum=1))
    prove = check_int(prove, "prove", minimum=0, maximum=max_order, allow_none=True) or 0
    job, tiles, opt = _job(model, names, values, max_order, seed, budget, continuation, prove)
    chunksize = check_int(chunksize, "chunksize", minimum=1, allow_none=True) or 1
    job["tol"] = tol
    done = _run_tiles(job, tiles, opt.max_rounds, executor, progress)
    orbit_args = (orbit and len(values) == 1, n_orbits, orbit_steps, executor, chunksize, progress)
    return _assemble_map(model, names, values, job, done, orbit_args)


def _assemble_map(model, names, values, job, done, orbit_args) -> BifurcationMap:
    """The map from the tiles' records: objects, work per point, events, tracks, orbits."""
    states = [d["state"] for d in done]
    shape, seed = tuple(job["grid_shape"]), job["seed"]
    v1 = np.asarray(job["values1"])
    rows = _Rows.concat([_unpack(st["rows"]) for st in states], model.M).sorted()
    solves = np.zeros(shape, dtype=np.int64)
    full = np.zeros(shape, dtype=bool)
    proven = np.zeros(shape + (job["max_order"],), dtype=np.int8)
    for st in states:
        idx = np.unravel_index(st["points"], shape)
        solves[idx] = st["solves"]
        full[idx] = st["full"]
        proven[idx] = st["proven"]
    do_orbit, n_orbits, orbit_steps, executor, chunksize, progress = orbit_args
    arrays = _events_and_tracks(job, rows, done, executor, chunksize, progress)
    orbit_arr = np.zeros((0, 0, model.M))
    if do_orbit:
        orbit_arr = _orbit_diagram(model, names[0], values[0], rows, seed, n_orbits, orbit_steps,
                                   executor, chunksize, progress)
    return BifurcationMap(
        names=_str_array(names),
        values0=np.asarray(values[0], dtype=np.float64),
        values1=np.asarray(v1 if len(values) == 2 else np.zeros(0), dtype=np.float64),
        model_json=json.dumps(model.to_dict()), max_order=job["max_order"], seed=seed,
        solves=solves, full_search=full, proven=proven, orbit=orbit_arr, **arrays,
    )


def _job(model, names, values, max_order, seed, budget, continuation, prove=0):
    """The tiles' shared work description, the tiles, and the continuation options."""
    propagate = continuation is not False
    opt = ContinuationOptions.coerce(True if continuation is False else continuation)
    v1 = values[1] if len(values) == 2 else np.zeros(1)
    shape = (len(values[0]), len(v1))
    nmin = min(shape) if len(values) == 2 else shape[0]
    coarse = opt.coarse or max(2, nmin // 5)
    # the tiling never depends on the executor (so neither does the result): 4 x 4 tiles of
    # a large map keep the batched solves large and balance two or more workers (the cost of
    # a tile varies several-fold across a map: chaotic regions hold most of the cycles)
    tile = opt.tile or max(32, -(-max(shape) // 4))
    job = {"model": model.to_dict(), "names": names, "values0": values[0].tolist(), "values1": v1.tolist(),
           "grid_shape": shape, "coarse": coarse, "max_order": max_order, "seed": seed,
           "budget": asdict(SearchBudget.coerce(budget)), "propagate": propagate, "prove": prove,
           "options": {**asdict(opt), "coarse": coarse, "tile": tile,
                       "probe_scale": opt.probe_scale or probe_scale(model)}}
    return job, _tiles(shape, tile, len(values)), opt


def _tiles(shape: tuple[int, int], tile: int, ndim: int) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    t1 = tile if ndim == 2 else 1
    return [((i, min(i + tile, shape[0])), (j, min(j + t1, shape[1])))
            for i in range(0, shape[0], tile) for j in range(0, shape[1], t1)]


def _ring(bounds, shape) -> np.ndarray:
    """Global indices of the points next to a tile (outside it)."""
    (a0, b0), (a1, b1) = bounds
    I, J = np.meshgrid(np.arange(max(a0 - 1, 0), min(b0 + 1, shape[0])),
                       np.arange(max(a1 - 1, 0), min(b1 + 1, shape[1])), indexing="ij")
    out = ~((I >= a0) & (I < b0) & (J >= a1) & (J < b1))
    return np.ravel_multi_index((I[out], J[out]), shape)


def _run_tiles(job: dict, tiles: list, max_rounds: int, executor, progress) -> list[dict]:
    """Rounds of tile work: every tile starts; then, round after round, every tile whose ring
    gained objects (only the new edge objects of its neighbours travel) spreads them and
    reports its record and events, as does every tile without a report yet, until no ring
    gains anything (the last reports are final). The tiles' engines stay where they ran
    (:class:`~rnnexplore.parallel.Resident`).

    There is no barrier between rounds: a tile's round ``r + 1`` depends only on its own and
    its neighbours' round ``r``, so it is decided (and submitted, the largest tiles first) as
    soon as those are in, while other tiles are still in earlier rounds. Every tile runs the
    same steps with the same inputs as with a barrier after each round, so the map does not
    depend on the executor or on the order in which steps finish."""
    shape = tuple(job["grid_shape"])
    M = len(job["model"].get("h", job["model"].get("a", [])))
    T = len(tiles)
    rings = [_ring(t, shape) for t in tiles]
    owner = np.empty(shape, dtype=np.int64)
    for n, ((a0, b0), (a1, b1)) in enumerate(tiles):
        owner[a0:b0, a1:b1] = n
    nbrs = [sorted(set(owner.ravel()[ring].tolist())) for ring in rings]
    rnd = [1] * T  # the last round decided for each tile
    ran: dict[tuple[int, int], _Rows] = {}  # (tile, round) -> new edge rows, for the steps that ran
    finals: dict[int, dict] = {}
    sizes = [0] * T
    waiting: set[int] = set()  # tiles with a step submitted, its result not in yet

    def decidable(n: int) -> bool:
        r = rnd[n]
        return n not in waiting and all(rnd[m] > r or (rnd[m] == r and m not in waiting) for m in nbrs[n])

    def decide(n: int, res: Resident) -> None:
        """Round ``rnd[n] + 1`` of tile ``n``: its halo from the neighbours' round ``rnd[n]``."""
        r = rnd[n]
        rnd[n] = r + 1
        item = None
        parts = [ran[m, r] for m in nbrs[n] if (m, r) in ran]
        if parts and (r < max_rounds or not job["propagate"]):
            new = _Rows.concat(parts, M)
            mask = np.isin(new.pt, rings[n])
            if mask.any():
                item = {"step": "finish", "halo": _pack(new.select(mask))}
        if item is None and n not in finals:
            item = {"step": "finish", "halo": None}
        if item is not None:
            res.submit(_tile_step, n, item, priority=sizes[n])
            waiting.add(n)

    with Resident(executor) as res, progress_bar("tile steps" if progress else False, T) as bar:
        for n, t in enumerate(tiles):
            res.submit(_tile_step, n, {**job, "bounds": t, "step": "start"}, priority=T - n)
            waiting.add(n)
        while True:
            if waiting:
                n, out = res.next_done()
                waiting.discard(n)
                sizes[n] = out["size"]
                ran[n, rnd[n]] = _unpack(out["edge"])
                if "state" in out:
                    finals[n] = out
                bar.update(1)
            else:
                # nothing running: done once every tile has decided a round in which none ran
                low = min(rnd)
                if not any((n, low) in ran for n in range(T)):
                    break
            for n in sorted(range(T), key=lambda n: (-sizes[n], n)):
                # skipped rounds are decided on the spot; with nothing running, only the
                # tiles furthest behind move on, one round (so the check above sees a round
                # in which none ran)
                while n not in waiting and decidable(n) and (waiting or rnd[n] == min(rnd)):
                    idle = not waiting
                    decide(n, res)
                    if n in waiting and progress:
                        bar.total += 1
                        bar.refresh()
                    if idle:
                        break
    return [finals[n] for n in range(T)]


def _mask_of(mask: np.ndarray, sub: np.ndarray) -> np.ndarray:
    out = np.zeros_like(mask)
    out[np.flatnonzero(mask)[sub]] = True
    return out


def _row_stability(eig: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n_stable``, stability label and spectral radius of every row (as :class:`Cycle`)."""
    mod = np.abs(eig)
    n_stable = np.sum(mod < 1.0, axis=1)
    label = np.where(np.all(mod < 1.0, axis=1), "stable", np.where(np.all(mod > 1.0, axis=1), "unstable", "saddle"))
    return n_stable.astype(np.int64), label, np.max(mod, axis=1, initial=0.0)


def _events_and_tracks(job: dict, rows: _Rows, done: list[dict], executor, chunksize, progress) -> dict:
    """Events between neighbouring points with different object sets (computed by every tile
    in its last step), and track ids. A tile whose objects at the next row and column are not
    exactly the final ones there (only possible when an edge object was later dropped as a
    second key of one orbit) gets its events again from the final rows (on the executor)."""
    shape = tuple(job["grid_shape"])
    n0, n1 = shape
    tiles = _tiles(shape, job["options"]["tile"], len(job["names"]))
    starts = np.concatenate([[0], np.cumsum(rows.order)])
    parts, items = [], []
    for ((a0, b0), (a1, b1)), d in zip(tiles, done):
        I, J = np.meshgrid(np.arange(a0, min(b0 + 1, n0)), np.arange(a1, min(b1 + 1, n1)), indexing="ij")
        pts = np.ravel_multi_index((I.ravel(), J.ravel()), shape)
        sel = np.flatnonzero(np.isin(rows.pt, pts))
        ring = sel[(rows.pt[sel] // n1 >= b0) | (rows.pt[sel] % n1 >= b1)]
        final = set(zip(rows.pt[ring].tolist(), rows.key[ring].tolist()))
        if final == set(zip(d["ring_pt"].tolist(), d["ring_key"].tolist())):
            parts.append(d["events"])
        else:
            items.append({**{k: job[k] for k in ("model", "names", "values0", "values1", "grid_shape")},
                          "bounds": ((a0, b0), (a1, b1)), "tol": job["tol"],
                          "rows": _pack(_take(rows, sel, starts))})
    parts += parallel_map(_event_work, items, executor=executor, chunksize=chunksize,
                          progress="events" if progress and items else False)
    ev = {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    order = np.lexsort((ev["seq"], ev["dir"], ev["p"]))
    ev = {k: v[order] for k, v in ev.items()}
    bc = (ev["kind"] == "border_collision") & (ev["key_before"] != "") & (ev["key_after"] != "")
    links = list(zip(ev["p"][bc].tolist(), ev["key_before"][bc].tolist(), ev["q"][bc].tolist(),
                     ev["key_after"][bc].tolist()))
    tracks = _track_ids(rows, shape, links)
    return _table_arrays(rows, tracks, ev, shape, rows.Z.shape[1])


def _take(rows: _Rows, sel: np.ndarray, starts: np.ndarray) -> _Rows:
    """Rows ``sel`` (sorted indices; ``starts``: cumulative orders with a leading 0)."""
    k = rows.order[sel]
    zidx = np.repeat(starts[sel] - np.concatenate([[0], np.cumsum(k)[:-1]]), k) + np.arange(int(k.sum()))
    return _Rows(rows.pt[sel], rows.key[sel], rows.order[sel], rows.Z[zidx], rows.eig[sel])


def _event_work(item: dict) -> dict:
    """Events of one tile (top-level work function) from the rows of its points and of the
    next row and column (see :func:`_tile_events`)."""
    return _tile_events(item, _unpack(item["rows"]))


def _tile_events(item: dict, rows: _Rows) -> dict:
    """Events of one tile: every pair ``(p, q)`` with ``p`` in the tile and ``q`` its next
    point along either axis, classified exactly with the models of both points
    (:func:`classify_events_many`: one batched solve per order). ``rows``: the objects of the
    tile's points and of the next row and column, sorted."""
    from rnnexplore.dynamics.events import classify_events_many

    shape = tuple(item["grid_shape"])
    n0, n1 = shape
    (a0, b0), (a1, b1) = item["bounds"]
    I, J = np.meshgrid(np.arange(a0, min(b0 + 1, n0)), np.arange(a1, min(b1 + 1, n1)), indexing="ij")
    dom = np.ravel_multi_index((I.ravel(), J.ravel()), shape)  # sorted
    inside = ((I < b0) & (J < b1)).ravel()
    n_stable = np.sum(np.abs(rows.eig) < 1.0, axis=1)
    _, code = np.unique(np.char.add(rows.key, np.char.mod("#%d", n_stable)), return_inverse=True)
    first = np.searchsorted(rows.pt, np.append(dom, n0 * n1))
    sig = [tuple(code[first[n] : first[n + 1]].tolist()) for n in range(len(dom))]
    local = {int(g): n for n, g in enumerate(dom)}
    pairs, where = [], []
    for n in np.flatnonzero(inside).tolist():
        p = int(dom[n])
        i, j = divmod(p, n1)
        for d, (q, ok) in enumerate(((p + n1, i + 1 < n0), (p + 1, j + 1 < n1))):
            if ok and sig[n] != sig[local[q]]:
                pairs.append((n, local[q]))
                where.append((p, q, d))
    starts = np.concatenate([[0], np.cumsum(rows.order)])
    sets: dict[int, list[Cycle]] = {}

    def at(n: int) -> list[Cycle]:
        if n not in sets:
            sets[n] = rows.span(first[n], first[n + 1], starts).cycles()
        return sets[n]

    out = {"p": [], "q": [], "dir": [], "seq": [], "kind": [], "order": [], "key_before": [], "key_after": [],
           "description": []}
    if pairs:
        params = {item["names"][0]: np.asarray(item["values0"])[I.ravel()]}
        if len(item["names"]) > 1:
            params[item["names"][1]] = np.asarray(item["values1"])[J.ravel()]
        stack = ModelStack.from_params(model_from_dict(item["model"]), params)
        found = classify_events_many([(at(n), at(m)) for n, m in pairs], stack, np.array(pairs), tol=item["tol"])
        for (p, q, d), evs in zip(where, found):
            for s, e in enumerate(evs):
                for k, v in zip(out, (p, q, d, s, e.kind, e.order, e.key_before or "", e.key_after or "",
                                      e.description)):
                    out[k].append(v)
    ints = {"p", "q", "dir", "seq", "order"}
    return {k: np.array(v, dtype=np.int64) if k in ints else _str_array(v) for k, v in out.items()}


def _track_ids(rows: _Rows, shape, links) -> np.ndarray:
    """Connected components of (same key at neighbouring points) plus border-collision links."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = len(rows.pt)
    if n == 0:
        return np.zeros(0, np.int64)
    n0, n1 = shape
    keys, kcode = np.unique(rows.key, return_inverse=True)
    code = rows.pt * len(keys) + kcode.ravel()
    order = np.argsort(code)
    sorted_code = code[order]
    a, b = [], []
    for step, ok in ((n1, rows.pt // n1 + 1 < n0), (1, rows.pt % n1 + 1 < n1)):
        target = (rows.pt + step) * len(keys) + kcode.ravel()
        pos = np.clip(np.searchsorted(sorted_code, target), 0, n - 1)
        hit = ok & (sorted_code[pos] == target)
        a.append(np.flatnonzero(hit))
        b.append(order[pos[hit]])
    if links:  # (point, key) pairs of every link, found by their codes (each one is a row)
        p, kb, q, ka = (list(x) for x in zip(*links))
        for pts, ks, out in ((p, kb, a), (q, ka, b)):
            want = np.asarray(pts, np.int64) * len(keys) + np.searchsorted(keys, np.asarray(ks, dtype=keys.dtype))
            pos = np.clip(np.searchsorted(sorted_code, want), 0, n - 1)
            if not np.array_equal(sorted_code[pos], want) or not np.array_equal(keys[kcode.ravel()[order[pos]]], ks):
                raise RuntimeError("a border-collision link names an object the map does not hold")  # pragma: no cover
            out.append(order[pos])
    a, b = np.concatenate(a), np.concatenate(b)
    g = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    _, labels = connected_components(g, directed=False)
    # number tracks by first appearance (row order), a deterministic id
    _, first = np.unique(labels, return_index=True)
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    return rank[labels]


def _table_arrays(rows: _Rows, tracks, ev: dict, shape, M) -> dict:
    n1 = shape[1]
    return dict(
        obj_index=np.stack([rows.pt // n1, rows.pt % n1], axis=1).astype(np.int64).reshape(-1, 2),
        obj_order=rows.order.astype(np.int64),
        obj_key=_str_array(rows.key.tolist()),
        obj_track=np.asarray(tracks, dtype=np.int64),
        obj_eigenvalues=np.asarray(rows.eig, dtype=complex).reshape(-1, M),
        pt_object=np.repeat(np.arange(len(rows.pt)), rows.order).astype(np.int64),
        pt_coords=np.asarray(rows.Z, dtype=np.float64).reshape(-1, M),
        ev_a=np.stack([ev["p"] // n1, ev["p"] % n1], axis=1).astype(np.int64).reshape(-1, 2),
        ev_b=np.stack([ev["q"] // n1, ev["q"] % n1], axis=1).astype(np.int64).reshape(-1, 2),
        ev_kind=_str_array(ev["kind"].tolist()),
        ev_order=ev["order"].astype(np.int64),
        ev_key_before=_str_array(ev["key_before"].tolist()),
        ev_key_after=_str_array(ev["key_after"].tolist()),
        ev_description=_str_array(ev["description"].tolist()),
    )


def _orbit_diagram(model, name, values, rows: _Rows, seed, n_orbits, orbit_steps, executor, chunksize,
                   progress) -> np.ndarray:
    n0 = len(values)
    n_transient, n_keep = orbit_steps
    finite = [float(np.max(np.abs(z))) for z in np.split(rows.Z, np.cumsum(rows.order)[:-1])] if len(rows.pt) else []
    scale = float(min(1e3, 1.0 + (np.median(finite) if finite else 1.0)))
    idx = list(range(n0))
    chunk = max(1, -(-n0 // 8))
    items = [
        {"model": model.to_dict(), "name": name, "seed": seed, "n_init": int(n_orbits),
         "n_transient": n_transient, "n_keep": n_keep, "scale": scale,
         "indices": idx[s : s + chunk], "values": values[s : s + chunk].tolist()}
        for s in range(0, n0, chunk)
    ]
    parts = parallel_map(_orbit_work, items, executor=executor, chunksize=chunksize,
                         progress="orbit diagram" if progress else False)
    return np.concatenate(parts, axis=0)
