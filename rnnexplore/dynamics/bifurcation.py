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
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_executor, check_int, check_real, check_seed
from rnnexplore.dynamics.cycles import Cycle, CycleSet, SearchBudget, find_cycles
from rnnexplore.dynamics.events import EVENT_KINDS, BifurcationEvent, classify_events
from rnnexplore.dynamics.models import PiecewiseLinearModel, model_from_dict
from rnnexplore.dynamics.orbits import simulate_orbits
from rnnexplore.files import atomic_savez, load_npz, parse_json
from rnnexplore.parallel import parallel_map

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


def _point_seed(seed: int, flat: int, attempt: int) -> int:
    return int(np.random.SeedSequence([seed, flat, attempt]).generate_state(1)[0])


_CONTINUATION_DEFAULTS = {"restarts": 1, "chain_length": 4, "exhaustive_limit": 16}
# continuation spreads to all 8 neighbours, so thin diagonal existence regions stay connected
_NEIGHBOURS = ((-1, 0), (1, 0), (0, -1), (0, 1), (-1, -1), (-1, 1), (1, -1), (1, 1))


# =========================================================================== tile worker
def _tile_work(item: dict) -> dict:
    """Search every point of one tile of the grid (top-level: runs on any executor).

    Coarse points (global indices multiples of ``coarse``) get a full search; every other
    point is searched warm-started from the objects of its already-searched neighbours (and
    of the ``halo``: objects at neighbours outside the tile). Whenever a point has an object
    that a neighbour neither has nor tried, the neighbour is searched again with it as a warm
    start, until nothing changes. All seeds come from the global point index and the attempt
    number, so the result does not depend on the executor or the chunking.
    """
    base = model_from_dict(item["model"])
    names, v0, v1 = item["names"], item["values0"], item["values1"]
    n0, n1 = len(v0), len(v1)
    i0, j0 = item["origin"]
    N1, coarse, max_order, seed = item["grid_n1"], item["coarse"], item["max_order"], item["seed"]
    explore = item["explore"]
    full_budget = SearchBudget(**item["budget"])
    cont = item["continuation_budget"]
    found: dict[tuple, dict[str, Cycle]] = {}
    tried: dict[tuple, set] = {}
    solves: dict[tuple, int] = {}
    full: dict[tuple, bool] = {}
    attempts: dict[tuple, int] = {}
    for p, st in item["state"].items():
        found[p] = {d["key"]: Cycle.from_dict(d, check=False) for d in st["cycles"]}
        tried[p] = set(st["tried"])
        solves[p], full[p], attempts[p] = st["solves"], st["full"], st["attempts"]
    halo = {p: [Cycle.from_dict(d, check=False) for d in ds] for p, ds in item["halo"].items()}

    def model_at(p):
        upd = {names[0]: v0[p[0]]}
        if len(names) > 1:
            upd[names[1]] = v1[p[1]]
        return base.with_params(upd)

    def compute(p, warm: list[Cycle], is_full: bool, retry: bool = False) -> None:
        a = attempts.get(p, 0)
        attempts[p] = a + 1
        s = _point_seed(seed, (i0 + p[0]) * N1 + (j0 + p[1]), a)
        m = model_at(p)
        if is_full:
            cs = find_cycles(m, max_order, seed=s, budget=full_budget)
            found_now, n_solves = list(cs), int(cs.stats["total_solves"])
        else:
            per_order: dict[int, int] = {}
            for c in warm:
                per_order[c.order] = per_order.get(c.order, 0) + 1
            bud = dict(cont)
            bud.setdefault("batch", max(1, min(32, max(per_order.values(), default=1))))
            budget = SearchBudget(**bud)
            explore_here = not retry and (i0 + p[0]) % explore == 0 and (j0 + p[1]) % explore == 0
            if explore_here:  # warm starts plus a small random search over every order
                ranges = [(1, max_order)]
            else:  # warm starts only: one search per order present among them
                ranges = [(k, k) for k in sorted(per_order)]
            found_now, n_solves = [], 0
            for lo, hi in ranges:
                cs = find_cycles(m, hi, min_order=lo, seed=s, warm_start=[c.regions for c in warm], budget=budget)
                found_now.extend(cs)
                n_solves += int(cs.stats["total_solves"])
        solves[p] = solves.get(p, 0) + n_solves
        full[p] = full.get(p, False) or is_full
        tried.setdefault(p, set()).update(c.key for c in warm)
        objs = found.setdefault(p, {})
        for c in found_now:
            objs.setdefault(c.key, c)

    points = [(i, j) for i in range(n0) for j in range(n1)]
    if not item["propagate"]:
        for p in points:
            if p not in found:
                compute(p, [], True)
    else:
        for p in points:
            if p not in found and (i0 + p[0]) % coarse == 0 and (j0 + p[1]) % coarse == 0:
                compute(p, [], True)
        sweep_no = 0
        changed = True
        while changed:
            changed = False
            for p in points if sweep_no % 2 == 0 else points[::-1]:
                near: dict[str, Cycle] = {}
                has_neighbour = False
                for di, dj in _NEIGHBOURS:
                    q = (p[0] + di, p[1] + dj)
                    if q in found:
                        has_neighbour = True
                        for key, c in found[q].items():
                            near.setdefault(key, c)
                for c in halo.get(p, ()):
                    has_neighbour = True
                    near.setdefault(c.key, c)
                if p not in found:
                    if has_neighbour:
                        compute(p, [near[k] for k in sorted(near)], False)
                        changed = True
                    continue
                have = found[p].keys() | tried[p]
                warm = [near[k] for k in sorted(near) if k not in have]
                if warm:
                    compute(p, warm, False, retry=True)
                    changed = True
            sweep_no += 1
    state = {}
    for p in points:
        cyc = sorted(found.get(p, {}).values(), key=lambda c: (c.order, c.key))
        state[p] = {
            "cycles": [c.to_dict() for c in cyc],
            "tried": sorted(tried.get(p, ())),
            "solves": solves.get(p, 0),
            "full": full.get(p, False),
            "attempts": attempts.get(p, 0),
        }
    return {"origin": (i0, j0), "state": state}


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
    obj_order, obj_n_stable, obj_track : (n_obj,) int
        Period, number of stable eigenvalues, and track id (the same object across the grid:
        equal keys at neighbouring points, or linked by a border collision).
    obj_key, obj_stability : (n_obj,) str
    obj_max_abs_eig : (n_obj,) float
    obj_eigenvalues : (n_obj, M) complex
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
    obj_n_stable: np.ndarray
    obj_stability: np.ndarray
    obj_max_abs_eig: np.ndarray
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
    orbit: np.ndarray

    def __post_init__(self) -> None:
        checked = _checked_map_fields({f.name: np.asarray(getattr(self, f.name)) for f in fields(self)})
        for name, value in checked.items():
            object.__setattr__(self, name, value)

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
        raw = load_npz(path, names, "bifurcation map")
        if "magic" in raw and (raw["magic"].shape != () or str(raw["magic"]) != _MAP_MAGIC):
            raise ValueError(f"{os.fspath(path)!r} is not an rnnexplore bifurcation map file (wrong magic)")
        try:
            return cls(**{n: raw[n] for n in names})
        except ValueError as exc:
            raise ValueError(f"bifurcation map file {os.fspath(path)!r}: {exc}") from None


_MAP_MAGIC = "rnnexplore-bifurcation-map-v1"


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
    kw["obj_n_stable"] = _int_field(raw, "obj_n_stable", (n_obj,), 0, M)
    kw["obj_stability"] = _str_field(raw, "obj_stability", n_obj, ("stable", "saddle", "unstable"))
    kw["obj_max_abs_eig"] = check_array(raw["obj_max_abs_eig"], "obj_max_abs_eig", shape=(n_obj,))
    kw["obj_track"] = _int_field(raw, "obj_track", (n_obj,), 0)
    ev = raw["obj_eigenvalues"]
    if ev.dtype.kind not in "fc" or ev.shape != (n_obj, M) or not np.all(np.isfinite(ev)):
        raise ValueError(f"obj_eigenvalues must be finite complex numbers of shape ({n_obj}, {M}), "
                         f"got dtype {ev.dtype} of shape {ev.shape}")
    kw["obj_eigenvalues"] = ev.astype(complex)
    if n_obj and not np.allclose(np.abs(ev).max(axis=1), kw["obj_max_abs_eig"], rtol=1e-9, atol=1e-12):
        raise ValueError("obj_max_abs_eig does not match obj_eigenvalues")
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
    executor: Any = None,
    chunksize: int | None = None,
    progress: bool = False,
    seed: int = 0,
    budget: Any = None,
    continuation: bool = True,
    continuation_budget: Mapping[str, Any] | None = None,
    coarse: int | None = None,
    explore: int = 1,
    tile: int | None = None,
    tol: float = 0.05,
    orbit: bool = True,
    orbit_steps: tuple[int, int] = (300, 100),
    n_orbits: int = 4,
    max_rounds: int = 1000,
) -> BifurcationMap:
    """Objects (fixed points and cycles up to ``max_order``) over a 1-D or 2-D parameter grid.

    The grid is cut into square tiles of ``tile`` x ``tile`` points, one work item each
    (:func:`rnnexplore.parallel.parallel_map`). Inside a tile, points of the coarse sub-grid
    (indices multiples of ``coarse``) get a full search; every other point is searched with
    the objects of its already-searched neighbours as warm starts (plus, on the ``explore``
    sub-grid, a small random search over every order), and any object a point has but a neighbour neither has nor
    tried is tried there, until nothing changes (a flood fill in both grid directions). Tiles
    then exchange their border objects in rounds until no point has an untried neighbour
    object (neighbours include the diagonal ones, so thin diagonal regions stay connected), so an object that lives anywhere in a connected region and is found once is
    found at every point of that region. Finally, every pair of neighbouring points with
    different object sets is classified with :func:`classify_events` (with both models, so
    exactly) and objects are linked into tracks.

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
        Base model; parameters not in ``grid`` keep its values.
    grid : dict
        ``{name: values}`` for one parameter (a bifurcation diagram) or two (a map); names
        like ``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``.
    max_order : int
        Highest cycle order.
    executor : concurrent.futures.Executor, optional
        ``None`` runs in-process; a ``ProcessPoolExecutor`` or a Dask client's
        ``get_executor()`` spread the tiles. The result does not depend on it.
    chunksize : int, optional
        Tiles per submitted task (see :func:`~rnnexplore.parallel.parallel_map`).
    progress : bool
        tqdm progress bars (one per round).
    seed : int
        Seeds of every search derive from it, the grid index and the attempt number.
    budget : optional
        Budget of the full searches (``find_cycles(budget=...)``).
    continuation : bool
        False: an independent full search at every point (the baseline).
    continuation_budget : dict, optional
        :class:`~rnnexplore.dynamics.cycles.SearchBudget` fields of the warm-started searches (default
        ``restarts=1, chain_length=4, exhaustive_limit=16``; ``batch`` defaults to the largest
        number of warm starts of one order).
    coarse : int, optional
        Step of the full-search sub-grid (default ``min(16, max(2, n // 5))`` for the
        smallest grid size ``n``).
    explore : int
        Step of the sub-grid whose warm-started searches also run a small random search over
        every order (``continuation_budget``); elsewhere only the orders of the warm starts are
        searched. 1 (default) explores everywhere; 2 is faster (about 1.5x on the paper's
        system) but may miss objects whose existence region is thinner than the grid step.
    tile : int, optional
        Tile size (rounded up to a multiple of ``coarse``; default ``max(coarse, 8)``: many
        tiles keep all workers busy, and the tiling never depends on the executor).
    tol : float
        Border-collision matching tolerance of :func:`classify_events`.
    orbit : bool
        1-D sweeps: also simulate ``n_orbits`` random initial states per value (orbit diagram).
    orbit_steps : (int, int)
        Transient steps dropped and steps kept.
    n_orbits : int
    max_rounds : int
        Safety cap on tile-exchange rounds.

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
    max_rounds = check_int(max_rounds, "max_rounds", minimum=1)
    n_orbits = check_int(n_orbits, "n_orbits", minimum=1)
    if not isinstance(orbit_steps, (tuple, list)) or len(orbit_steps) != 2:
        raise ValueError(f"orbit_steps must be a pair (transient, kept), got {orbit_steps!r}")
    orbit_steps = (check_int(orbit_steps[0], "orbit_steps[0]", minimum=0),
                   check_int(orbit_steps[1], "orbit_steps[1]", minimum=1))
    bud = asdict(SearchBudget.coerce(budget))
    cont = dict(_CONTINUATION_DEFAULTS)
    if continuation_budget is not None:
        if not isinstance(continuation_budget, Mapping):
            raise ValueError("continuation_budget must be a dict of SearchBudget fields")
        try:
            SearchBudget.coerce(continuation_budget)  # validates the fields
        except ValueError as exc:
            raise ValueError(f"continuation_budget: {exc}") from None
        cont.update(continuation_budget)
    n0 = len(values[0])
    n1 = len(values[1]) if len(values) == 2 else 1
    nmin = min(n0, n1) if len(values) == 2 else n0
    coarse = min(16, max(2, nmin // 5)) if coarse is None else check_int(coarse, "coarse", minimum=1)
    explore = check_int(explore, "explore", minimum=1)
    tile = max(coarse, 8) if tile is None else check_int(tile, "tile", minimum=1)
    tile = -(-tile // coarse) * coarse
    t1 = tile if len(values) == 2 else 1
    tiles = [(i, j) for i in range(0, n0, tile) for j in range(0, n1, t1)]
    model_dict = model.to_dict()
    v1 = values[1] if len(values) == 2 else np.zeros(1)
    state: dict[tuple[int, int], dict] = {}

    def tile_points(t):
        return [(i, j) for i in range(t[0], min(t[0] + tile, n0)) for j in range(t[1], min(t[1] + t1, n1))]

    def make_item(t, halo):
        pts = tile_points(t)
        local = {(p[0] - t[0], p[1] - t[1]): state[p] for p in pts if p in state}
        return {
            "model": model_dict, "names": names,
            "values0": values[0][t[0] : t[0] + tile].tolist(),
            "values1": v1[t[1] : t[1] + t1].tolist(),
            "origin": t, "grid_n1": n1, "coarse": coarse, "explore": explore, "max_order": max_order, "seed": seed,
            "budget": bud, "continuation_budget": cont, "propagate": bool(continuation),
            "state": local, "halo": halo,
        }

    keys = {}  # point -> set of keys found

    def halo_of(t):
        out: dict[tuple, list] = {}
        inside = set(tile_points(t))
        for p in inside:
            have = keys[p] | set(state[p]["tried"])
            extra: dict[str, dict] = {}
            for di, dj in _NEIGHBOURS:
                q = (p[0] + di, p[1] + dj)
                if q in inside or q not in state:
                    continue
                for d in state[q]["cycles"]:
                    if d["key"] not in have:
                        extra.setdefault(d["key"], d)
            if extra:
                out[(p[0] - t[0], p[1] - t[1])] = [extra[k] for k in sorted(extra)]
        return out

    items = [make_item(t, {}) for t in tiles]
    rounds = 0
    while items and rounds < max_rounds:
        desc = (f"tiles, round {rounds + 1}" if rounds else "tiles") if progress else False
        results = parallel_map(_tile_work, items, executor=executor, chunksize=chunksize, progress=desc)
        for res in results:
            oi, oj = res["origin"]
            for p, st in res["state"].items():
                g = (p[0] + oi, p[1] + oj)
                state[g] = st
                keys[g] = {d["key"] for d in st["cycles"]}
        rounds += 1
        if not continuation:
            break
        items = []
        for t in tiles:
            h = halo_of(t)
            if h:
                items.append(make_item(t, h))
    return _build_map(model, names, values, v1, state, max_order, seed, tol, orbit, orbit_steps, n_orbits,
                      executor, chunksize, progress)


def _build_map(model, names, values, v1, state, max_order, seed, tol, orbit, orbit_steps, n_orbits,
               executor, chunksize, progress) -> BifurcationMap:
    n0 = len(values[0])
    n1 = len(v1) if len(values) == 2 else 1
    cycles = {p: CycleSet([Cycle.from_dict(d, check=False) for d in st["cycles"]]) for p, st in state.items()}

    def model_at(p):
        upd = {names[0]: values[0][p[0]]}
        if len(names) > 1:
            upd[names[1]] = v1[p[1]]
        return model.with_params(upd)

    def signature(p):
        return {(c.key, c.n_stable) for c in cycles[p]}

    # events between neighbours (index increasing) and tracks (union-find on (point, key))
    parent: dict[tuple, tuple] = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(x, y):
        rx, ry = find(x), find(y)
        if rx != ry:
            parent[max(rx, ry)] = min(rx, ry)

    ev_rows = []
    points = [(i, j) for i in range(n0) for j in range(n1)]
    for p in points:
        for c in cycles[p]:
            find((p, c.key))
        for q in ((p[0] + 1, p[1]), (p[0], p[1] + 1)):
            if q not in cycles:
                continue
            for c in cycles[p]:
                if c.key in cycles[q].keys():
                    union((p, c.key), (q, c.key))
            if signature(p) == signature(q):
                continue
            for e in classify_events(cycles[p], cycles[q], tol=tol, models=(model_at(p), model_at(q))):
                ev_rows.append((p, q, e))
                if e.kind == "border_collision" and e.key_before and e.key_after:
                    union((p, e.key_before), (q, e.key_after))
    track_id: dict[tuple, int] = {}
    obj_rows = []
    pt_obj, pt_coords = [], []
    for p in points:
        for c in cycles[p]:
            root = find((p, c.key))
            tid = track_id.setdefault(root, len(track_id))
            r = len(obj_rows)
            obj_rows.append((p, c, tid))
            pt_obj.extend([r] * c.order)
            pt_coords.append(c.points)
    M = model.M
    orbit_arr = np.zeros((0, 0, M))
    if orbit and len(values) == 1:
        n_transient, n_keep = orbit_steps
        finite = [np.max(np.abs(c.points)) for _, c, _ in obj_rows]
        scale = float(min(1e3, 1.0 + (np.median(finite) if finite else 1.0)))
        idx = list(range(n0))
        chunk = max(1, -(-n0 // 8))
        items = [
            {"model": model.to_dict(), "name": names[0], "seed": seed, "n_init": int(n_orbits),
             "n_transient": n_transient, "n_keep": n_keep, "scale": scale,
             "indices": idx[s : s + chunk], "values": values[0][s : s + chunk].tolist()}
            for s in range(0, n0, chunk)
        ]
        parts = parallel_map(_orbit_work, items, executor=executor, chunksize=chunksize,
                             progress="orbit diagram" if progress else False)
        orbit_arr = np.concatenate(parts, axis=0)
    solves = np.zeros((n0, n1), dtype=np.int64)
    full = np.zeros((n0, n1), dtype=bool)
    for p, st in state.items():
        solves[p] = st["solves"]
        full[p] = st["full"]
    return BifurcationMap(
        names=_str_array(names),
        values0=np.asarray(values[0], dtype=np.float64),
        values1=np.asarray(v1 if len(values) == 2 else np.zeros(0), dtype=np.float64),
        model_json=json.dumps(model.to_dict()),
        max_order=max_order,
        seed=seed,
        obj_index=np.array([p for p, _, _ in obj_rows], dtype=np.int64).reshape(-1, 2),
        obj_order=np.array([c.order for _, c, _ in obj_rows], dtype=np.int64),
        obj_key=_str_array([c.key for _, c, _ in obj_rows]),
        obj_n_stable=np.array([c.n_stable for _, c, _ in obj_rows], dtype=np.int64),
        obj_stability=_str_array([c.stability for _, c, _ in obj_rows]),
        obj_max_abs_eig=np.array([c.max_abs_eigenvalue for _, c, _ in obj_rows], dtype=np.float64),
        obj_track=np.array([t for _, _, t in obj_rows], dtype=np.int64),
        obj_eigenvalues=np.array([c.eigenvalues for _, c, _ in obj_rows], dtype=complex).reshape(-1, M),
        pt_object=np.array(pt_obj, dtype=np.int64),
        pt_coords=np.concatenate(pt_coords) if pt_coords else np.zeros((0, M)),
        ev_a=np.array([a for a, _, _ in ev_rows], dtype=np.int64).reshape(-1, 2),
        ev_b=np.array([b for _, b, _ in ev_rows], dtype=np.int64).reshape(-1, 2),
        ev_kind=_str_array([e.kind for _, _, e in ev_rows]),
        ev_order=np.array([e.order for _, _, e in ev_rows], dtype=np.int64),
        ev_key_before=_str_array([e.key_before or "" for _, _, e in ev_rows]),
        ev_key_after=_str_array([e.key_after or "" for _, _, e in ev_rows]),
        ev_description=_str_array([e.description for _, _, e in ev_rows]),
        solves=solves,
        full_search=full,
        orbit=orbit_arr,
    )
