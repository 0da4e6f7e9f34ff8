"""Scriptable state of the live fixed-point and cycle explorer (no widgets, no matplotlib).

:class:`ExplorerState` holds everything the explorer app shows - the current model and its
parameters, the slider ranges, the cycle search order, the objects found by SCYFI
(:func:`rnnexplore.dynamics.cycles.find_cycles`, warm-started from the previous objects), the events
since the previous parameter value (:func:`rnnexplore.dynamics.events.classify_events`), the
trajectories, the 2-D projection and a status line. It can be driven from a script or a test
exactly like the widget drives it (DynamicalSystems.jl style): every setter validates its
input, recomputes once, and returns True; a refused input returns False, writes the reason
to :attr:`ExplorerState.status` and leaves the previous valid state untouched.

Examples
--------
>>> from rnnexplore.apps.explorer import ExplorerState
>>> st = ExplorerState.from_preset("skew_tent")
>>> [(c.order, c.stability) for c in st.cycles]
[(1, 'unstable'), (2, 'stable')]
>>> st.set_param("W[0,0]", -1.0)   # a_r = a_l + W = -0.8: the 2-cycle is gone
True
>>> [(c.order, c.stability) for c in st.cycles]
[(1, 'stable')]
>>> st.set_max_order(0)
False
>>> st.status.startswith("refused")
True
>>> ExplorerState.from_json(st.to_json()).model == st.model
True
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_int, check_mapping, check_seed
from rnnexplore.dynamics.orbits import simulate_orbits
from rnnexplore.files import parse_json
from rnnexplore.dynamics.params import parse_param_name
from rnnexplore.dynamics.projection import Projection
from rnnexplore.dynamics.models import (
    MODEL_TYPES,
    PiecewiseLinearModel,
    border_collision_normal_form,
    model_from_dict,
    paper_gt16,
    random_plrnn,
    skew_tent,
)

__all__ = ["ExplorerState", "PRESETS", "preset_model", "default_ranges"]

MAX_ORDER_LIMIT = 30  # beyond this one slider event would take seconds even warm-started
# searches without a full warm start (new model, preset, import, reset, new max order): the
# engine's default completeness, capped so that a chaotic network with thousands of cycles
# answers in seconds (the status line then says the list may be incomplete)
COLD_BUDGET = {"max_solves": 3000}
# above this many objects (before + after) events are not classified: one classification
# then takes seconds, and hundreds of events are not readable anyway
EVENT_LIMIT = 200
_SHARE_VERSION = 1


# =========================================================================== presets
@dataclass(frozen=True)
class _Preset:
    label: str
    build: Callable[[], PiecewiseLinearModel]
    max_order: int


PRESETS: dict[str, _Preset] = {
    "paper_gt16": _Preset("paper's 2-D system (GT16)", paper_gt16, 16),
    "border_collision": _Preset(
        "border-collision normal form", lambda: border_collision_normal_form(0.0), 8
    ),
    "skew_tent": _Preset("skew tent map (1-D)", lambda: skew_tent(0.2, -1.5, 1.0), 8),
    "random_stable": _Preset("random stable network (M=3)", lambda: random_plrnn(3, seed=1), 6),
}


def preset_model(name: str) -> tuple[PiecewiseLinearModel, int]:
    """The model and default cycle order of a preset.

    Parameters
    ----------
    name : {"paper_gt16", "border_collision", "skew_tent", "random_stable"}

    Examples
    --------
    >>> m, k = preset_model("paper_gt16")
    >>> m.M, k
    (2, 16)
    """
    if name not in PRESETS:
        raise ValueError(f"preset must be one of {sorted(PRESETS)}, got {name!r}")
    p = PRESETS[name]
    return p.build(), p.max_order


def _nice_step(width: float) -> float:
    """A round slider step giving about 100-200 steps over ``width``."""
    return float(10.0 ** math.floor(math.log10(width / 100.0)))


def default_ranges(model: PiecewiseLinearModel, names: Sequence[str]) -> dict[str, tuple[float, float, float]]:
    """Slider ranges ``(lo, hi, step)`` around the current values: ``v +- max(1, |v|)``.

    The step is a round number and the range is ``v +- n * step``, so the current value lies
    exactly on the slider's grid (a browser slider snaps its value to ``lo + i * step``).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> default_ranges(skew_tent(0.2, -1.5, 1.0), ["A[0]"])
    {'A[0]': (-0.8, 1.2, 0.01)}
    """
    out = {}
    for name in names:
        v = model.get_param(name)
        w = max(1.0, abs(v))
        step = _nice_step(w)
        n = math.ceil(w / step - 1e-9)
        out[name] = (v - n * step, v + n * step, step)
    return out


# =========================================================================== the state
class ExplorerState:
    """Everything the cycle explorer shows, scriptable without widgets.

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
    max_order : int
        Highest cycle order searched (1..30).
    params : list of str, optional
        Parameters that get sliders (default: all of ``model.param_names()`` when there are at
        most 16, else the diagonal of A / ``a`` and the biases).
    ranges : dict name -> (lo, hi) or (lo, hi, step), optional
        Slider ranges (default :func:`default_ranges`).
    seed : int
        Seed of every cycle search (so the same parameters give the same objects).
    budget : str, int, dict or SearchBudget
        Cycle search budget for parameter events (``"interactive"``: a warm-started event costs
        a few ms; see :class:`rnnexplore.dynamics.cycles.SearchBudget`). Preset, import, reset and order
        changes run the default search capped at 3000 solves per order (:data:`COLD_BUDGET`).
    n_steps : int
        Length of every trajectory.
    initial_conditions : array_like (n, M), optional
        Trajectory starts (default: 3 seeded random states around the objects).
    projection : Projection, "pca" or (i, j), optional
        Plane of the phase portrait (default units (0, 1); M = 1: return map).
    max_trajectories : int
        Oldest trajectories are dropped beyond this.

    Attributes
    ----------
    model : the current (valid) model
    cycles : CycleSet of the current model
    events : list of BifurcationEvent since the previous parameter value
    changed : dict name -> (old, new) of the last parameter event
    trajectories : list of ndarray (n_steps + 1, M); diverging ones contain inf/nan
    status : str, level : {"ok", "warning", "error"}
    compute_time : float, seconds of the last recompute (search + events + trajectories)
    n_computes : int, number of recomputes so far

    Examples
    --------
    >>> st = ExplorerState.from_preset("border_collision")
    >>> [(c.order, c.stability) for c in st.cycles]
    [(1, 'saddle'), (2, 'stable')]
    >>> st.set_param("A[0,0]", float("nan"))
    False
    >>> st.model.get_param("A[0,0]")
    0.0
    """

    def __init__(
        self,
        model: PiecewiseLinearModel,
        *,
        max_order: int = 8,
        params: Sequence[str] | None = None,
        ranges: Mapping[str, Sequence[float]] | None = None,
        seed: int = 0,
        budget: Any = "interactive",
        n_steps: int = 200,
        initial_conditions: Any = None,
        projection: Any = None,
        max_trajectories: int = 12,
    ) -> None:
        if not isinstance(model, PiecewiseLinearModel):
            raise ValueError(f"model must be one of {sorted(MODEL_TYPES)}, got {type(model).__name__}")
        self.max_order = _checked_order(max_order)
        self.seed = check_seed(seed, allow_none=False)
        from rnnexplore.dynamics.cycles import SearchBudget

        SearchBudget.coerce(budget)  # refused here, not at the first compute
        self.budget = budget
        self.n_steps = check_int(n_steps, "n_steps", minimum=1, maximum=100_000)
        self.max_trajectories = check_int(max_trajectories, "max_trajectories", minimum=1, maximum=1000)
        self.listeners: list[Callable[["ExplorerState"], None]] = []
        self.preset: str | None = None
        self.n_computes = 0
        self.events: list = []
        self.changed: dict[str, tuple[float, float]] = {}
        self.status, self.level, self.compute_time = "", "ok", 0.0
        self.warnings: list[str] = []
        self._install(model, self.max_order, params=params, ranges=ranges, ics=initial_conditions,
                      projection=projection)

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_preset(cls, name: str, **kwargs: Any) -> "ExplorerState":
        """State of a preset (see :data:`PRESETS`); kwargs as for the constructor."""
        model, k = preset_model(name)
        kwargs.setdefault("max_order", k)
        st = cls(model, **kwargs)
        st.preset = name
        return st

    @classmethod
    def from_json(cls, text: str, **kwargs: Any) -> "ExplorerState":
        """State from a share string of :meth:`to_json` (ValueError if malformed)."""
        spec = _parse_share(text)
        st = cls(spec["model"], max_order=spec["max_order"], params=spec["params"],
                 seed=spec["seed"], initial_conditions=spec["ics"], projection=spec["projection"],
                 **kwargs)
        return st

    # ------------------------------------------------------------------ internals
    def _install(self, model, max_order, *, params=None, ranges=None, ics=None, projection=None) -> None:
        """Make ``model`` the new baseline (sliders, reset target); raises ValueError."""
        names = model.param_names()
        if params is None:
            params = names if len(names) <= 16 else _diagonal_and_bias(model)
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence) or \
                not all(isinstance(p, str) for p in params):
            raise ValueError(f"params must be a list of parameter names, got {params!r}"[:200])
        params = list(params)
        bad = [p for p in params if p not in names]
        for p in bad:  # accept equivalent spellings such as "A[0,0]" for "A[0]"
            try:
                model.get_param(p)
            except ValueError:
                raise ValueError(f"params: unknown parameter {p!r}; valid names: {names}") from None
        rng = default_ranges(model, params)
        for name, r in check_mapping({} if ranges is None else ranges, "ranges").items():
            if name not in rng:
                raise ValueError(f"ranges: {name!r} is not one of the slider parameters {params}")
            r = tuple(check_array(r, f"ranges[{name!r}]", ndim=1).tolist())
            if len(r) not in (2, 3) or not all(math.isfinite(x) for x in r) or r[0] >= r[1]:
                raise ValueError(f"ranges[{name!r}] must be (lo, hi[, step]) with lo < hi, got {r}")
            rng[name] = r if len(r) == 3 else (r[0], r[1], _nice_step(r[1] - r[0]))
        proj = self._make_projection(projection, model.M)
        ics = None if ics is None else _check_ics(ics, model.M)
        cycles, events, trajs, elapsed = self._compute(model, max_order, None, _ics_or_default(ics, model, self.seed),
                                                       budget=COLD_BUDGET)
        # commit (nothing above may leave the object half-changed)
        self.model = self.initial_model = model
        self.initial_order = self.max_order = max_order
        self.params, self.ranges = params, rng
        self.projection = proj
        self.initial_conditions = _ics_or_default(ics, model, self.seed)
        self._default_ics = self.initial_conditions.copy()
        self._commit(model, cycles, [], trajs, elapsed, changed={})

    def _make_projection(self, projection, M) -> Projection:
        if projection is None:
            return Projection.default(M)
        if isinstance(projection, Projection):
            if projection.M != M:
                raise ValueError(f"projection is for M = {projection.M}, the model has M = {M}")
            return projection
        if isinstance(projection, Mapping):
            return Projection.from_dict(projection, M)
        if isinstance(projection, str) and projection == "pca":
            return None  # fitted after the first compute, see _commit
        if isinstance(projection, (tuple, list)) and len(projection) == 2:
            return Projection.units(M, *projection)
        raise ValueError(f"projection must be a Projection, 'pca' or a pair of units, got {projection!r}")

    def _compute(self, model, max_order, warm, ics, budget=None, previous=None):
        """Search, classify, simulate; returns ``(cycles, events, trajectories, seconds)``."""
        from rnnexplore.dynamics.cycles import find_cycles

        t0 = time.perf_counter()
        cycles = find_cycles(model, max_order, seed=self.seed, warm_start=warm,
                             budget=self.budget if budget is None else budget)
        events = []
        self._events_skipped = 0
        if warm is not None:
            if len(warm) + len(cycles) <= EVENT_LIMIT:
                events = _classify(warm, cycles, previous, model)
            else:
                self._events_skipped = len(warm) + len(cycles)
        trajs = _simulate(model, ics, self.n_steps)
        return cycles, events, trajs, time.perf_counter() - t0

    def _commit(self, model, cycles, events, trajs, elapsed, changed) -> None:
        self.model, self.cycles, self.events = model, cycles, events
        self.trajectories, self.compute_time = trajs, elapsed
        self.changed = changed
        self.n_computes += 1
        if self.projection is None:  # deferred PCA fit
            self.projection = self._fit_pca()
        self.warnings = _diagnose(model, cycles, trajs)
        if changed and getattr(self, "_events_skipped", 0):
            self.warnings.append(f"events not classified ({self._events_skipped} objects before and "
                                 f"after, limit {EVENT_LIMIT})")
        self.level = "warning" if self.warnings else "ok"
        self.status = self.summary() + "".join(f" | {w}" for w in self.warnings)
        self._notify()

    def _notify(self) -> None:
        for fn in list(self.listeners):
            fn(self)

    def _refuse(self, exc: Exception | str) -> bool:
        msg = str(exc)
        self.level = "error"
        self.status = f"refused: {msg} - keeping the previous state ({self.summary()})"
        self._notify()
        return False

    def _recompute(self, model, *, max_order=None, warm=True, changed=None) -> bool:
        """Recompute for a new model; on any failure refuse and keep the previous state."""
        k = self.max_order if max_order is None else max_order
        same_shape = type(model) is type(self.model) and model.n_bits == self.model.n_bits
        warm_set = self.cycles if warm and same_shape else None
        try:
            cycles, events, trajs, elapsed = self._compute(
                model, k, warm_set, self.initial_conditions,
                budget=None if warm_set is not None and max_order is None else COLD_BUDGET,
                previous=self.model)
        except ValueError as exc:
            return self._refuse(exc)
        except Exception as exc:  # noqa: BLE001 - an engine failure must not reach the notebook
            return self._refuse(f"the cycle search failed ({type(exc).__name__}: {exc})")
        self.max_order = k
        if max_order is not None:
            events = []  # a new order is not a parameter event
        self._commit(model, cycles, events, trajs, elapsed, changed=changed or {})
        return True

    # ------------------------------------------------------------------ parameters
    def set_param(self, name: str, value: float) -> bool:
        """Set one scalar parameter (``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``) and recompute.

        Returns False (and explains in :attr:`status`) for an unknown name or a non-finite
        value; the previous state stays.
        """
        return self.set_params({name: value})

    def set_params(self, updates: Mapping[str, float]) -> bool:
        """Set several parameters at once, recompute once (warm-started)."""
        try:
            if not isinstance(updates, Mapping):
                raise ValueError("updates must be a mapping {name: value}")
            model = self.model.with_params(updates)
            changed = {n: (self.model.get_param(n), model.get_param(n)) for n in updates}
        except ValueError as exc:
            return self._refuse(exc)
        if model == self.model:
            return True
        return self._recompute(model, changed=changed)

    def set_array(self, field: str, value: Any) -> bool:
        """Replace a whole parameter array (e.g. ``"W"``) and recompute.

        A wrong shape, NaN/inf or an unknown field is refused.

        Examples
        --------
        >>> st = ExplorerState.from_preset("paper_gt16", max_order=2)
        >>> st.set_array("W", [[0.0, 1.0]])
        False
        >>> "W must have shape (2, 2)" in st.status
        True
        """
        d = self.model.to_dict()
        if field not in d or field in ("type", "n_relu"):
            return self._refuse(f"field must be one of {[k for k in d if k not in ('type', 'n_relu')]}, got {field!r}")
        if field == "A" and isinstance(self.model, MODEL_TYPES["PLRNN"]):
            arr = np.asarray(value, dtype=object)
            if arr.ndim == 2 and arr.shape != (self.model.M, self.model.M):
                return self._refuse(f"A must have shape ({self.model.M},) or ({self.model.M}, {self.model.M}), "
                                    f"got {arr.shape}")
        old = np.asarray(d[field], dtype=float)
        try:
            new = np.asarray(value, dtype=float)
        except (TypeError, ValueError) as exc:
            return self._refuse(f"{field} must be numeric ({exc})")
        if field != "A" and new.shape != old.shape:
            return self._refuse(f"{field} must have shape {old.shape}, got {new.shape}")
        d[field] = new.tolist()
        try:
            model = model_from_dict(d)
        except ValueError as exc:
            return self._refuse(exc)
        if model == self.model:
            return True
        changed = {n: (self.model.get_param(n), model.get_param(n)) for n in self.params
                   if self.model.get_param(n) != model.get_param(n)}
        return self._recompute(model, changed=changed)

    def set_max_order(self, max_order: int) -> bool:
        """Change the highest cycle order (1..30) and recompute."""
        try:
            k = _checked_order(max_order)
        except ValueError as exc:
            return self._refuse(exc)
        if k == self.max_order:
            return True
        return self._recompute(self.model, max_order=k)

    def set_model(self, model: PiecewiseLinearModel, *, max_order: int | None = None,
                  params: Sequence[str] | None = None) -> bool:
        """Load another model (new sliders, new reset target); refused if invalid."""
        try:
            if not isinstance(model, PiecewiseLinearModel):
                raise ValueError(f"model must be one of {sorted(MODEL_TYPES)}, got {type(model).__name__}")
            k = self.max_order if max_order is None else _checked_order(max_order)
            keep_ics = model.M == self.model.M and len(self.initial_conditions)
            self._install(model, k, params=params, ics=self.initial_conditions if keep_ics else None,
                          projection=self.projection if keep_ics else None)
        except ValueError as exc:
            return self._refuse(exc)
        except Exception as exc:  # noqa: BLE001
            return self._refuse(f"{type(exc).__name__}: {exc}")
        self.preset = None
        return True

    def load_preset(self, name: str) -> bool:
        """Switch to a preset (:data:`PRESETS`) with its default order."""
        try:
            model, k = preset_model(name)
            self._install(model, k)
        except ValueError as exc:
            return self._refuse(exc)
        except Exception as exc:  # noqa: BLE001 - an engine failure must not reach the notebook
            return self._refuse(f"the cycle search failed ({type(exc).__name__}: {exc})")
        self.preset = name
        return True

    def reset(self) -> bool:
        """Back to the model and order the explorer started with (or last loaded)."""
        ics, self.initial_conditions = self.initial_conditions, self._default_ics.copy()
        if not self._recompute(self.initial_model, max_order=self.initial_order, warm=False):
            self.initial_conditions = ics
            return False
        return True

    # ------------------------------------------------------------------ trajectories / projection
    def add_trajectory(self, z0: Any) -> bool:
        """Add a trajectory from the state ``z0`` (M,); the oldest is dropped beyond the limit."""
        try:
            z0 = _check_ics([z0], self.model.M)[0]
        except ValueError as exc:
            return self._refuse(f"z0: {exc}")
        ics = np.vstack([self.initial_conditions, z0])[-self.max_trajectories:]
        self.initial_conditions = ics
        self.trajectories = _simulate(self.model, ics, self.n_steps)
        self.warnings = _diagnose(self.model, self.cycles, self.trajectories)
        self.level = "warning" if self.warnings else "ok"
        self.status = self.summary() + "".join(f" | {w}" for w in self.warnings)
        self._notify()
        return True

    def add_trajectory_at(self, x: float, y: float) -> bool:
        """Add a trajectory from the plane point ``(x, y)`` of the current projection."""
        if not (np.isfinite(x) and np.isfinite(y)):
            return self._refuse(f"the clicked point ({x}, {y}) is not finite")
        return self.add_trajectory(self.projection.lift([float(x), float(y)]))

    def clear_trajectories(self) -> bool:
        """Remove every trajectory."""
        self.initial_conditions = np.zeros((0, self.model.M))
        self.trajectories = []
        self._notify()
        return True

    def set_projection(self, projection: Any) -> bool:
        """``(i, j)`` for a pair of units, ``"pca"`` (fitted now, then fixed) or a Projection."""
        try:
            proj = self._make_projection(projection, self.model.M)
        except ValueError as exc:
            return self._refuse(exc)
        self.projection = proj if proj is not None else self._fit_pca()
        self._notify()
        return True

    def _fit_pca(self) -> Projection:
        if self.model.M < 3:
            return Projection.default(self.model.M)
        pts = [c.points for c in self.cycles] + [t[len(t) // 2:] for t in self.trajectories]
        pts = np.vstack(pts) if pts else np.zeros((0, self.model.M))
        return Projection.pca(pts)

    # ------------------------------------------------------------------ reporting
    def counts(self) -> dict[str, int]:
        """Number of objects by stability, e.g. ``{"stable": 1, "saddle": 0, "unstable": 2}``."""
        out = {"stable": 0, "saddle": 0, "unstable": 0}
        for c in self.cycles:
            out[c.stability] += 1
        return out

    def summary(self) -> str:
        """One line: counts by stability and order, compute time."""
        n = len(self.cycles)
        c = self.counts()
        orders = sorted({x.order for x in self.cycles})
        by_order = ", ".join(f"k={k}: {sum(1 for x in self.cycles if x.order == k)}" for k in orders)
        line = (f"{n} object{'s' if n != 1 else ''} up to order {self.max_order} - "
                f"{c['stable']} stable, {c['saddle']} saddle, {c['unstable']} unstable")
        if by_order:
            line += f" ({by_order})"
        return line + f" - {1000 * self.compute_time:.1f} ms"

    def table(self, max_rows: int = 50) -> list[dict[str, Any]]:
        """Rows of the objects table: order, stability, points, |eigenvalues|, key."""
        rows = []
        for c in list(self.cycles)[:max_rows]:
            rows.append({"order": c.order, "stability": c.stability, "points": c.points,
                         "abs_eigenvalues": np.abs(c.eigenvalues), "key": c.key,
                         "marginal": bool(getattr(c, "marginal", False))})
        return rows

    def event_lines(self) -> list[str]:
        """Human-readable events since the previous parameter value."""
        out = []
        for ev in self.events:
            kind = str(getattr(ev, "kind", "event"))
            desc = str(getattr(ev, "description", "") or ev)
            out.append(f"{kind}: {desc}" if not desc.startswith(kind) else desc)
        return out

    # ------------------------------------------------------------------ share
    def to_json(self) -> str:
        """A short JSON share string: model, order, slider parameters, seed, starts, projection.

        Examples
        --------
        >>> st = ExplorerState.from_preset("skew_tent")
        >>> s = st.to_json()
        >>> len(s) < 400, ExplorerState.from_json(s).max_order
        (True, 8)
        """
        d: dict[str, Any] = {"v": _SHARE_VERSION, "model": self.model.to_dict(), "max_order": self.max_order}
        if self.params != self.model.param_names():
            d["params"] = self.params
        if self.seed:
            d["seed"] = self.seed
        d["ics"] = np.round(self.initial_conditions, 4).tolist()
        if self.projection.kind != Projection.default(self.model.M).kind or \
                (self.projection.kind == "units" and self.projection.units_ != (0, 1)):
            d["projection"] = self.projection.to_dict()
        return json.dumps(d, separators=(",", ":"))

    def load_json(self, text: str) -> bool:
        """Import a share string into this state (refused with a message if malformed)."""
        seed = self.seed
        try:
            spec = _parse_share(text)
            self.seed = spec["seed"]
            self._install(spec["model"], spec["max_order"], params=spec["params"], ics=spec["ics"],
                          projection=spec["projection"])
        except Exception as exc:  # noqa: BLE001 - anything malformed is refused
            self.seed = seed
            detail = str(exc) if isinstance(exc, ValueError) else f"{type(exc).__name__}: {exc}"
            return self._refuse(f"cannot import: {detail}")
        self.preset = None
        return True

    def __repr__(self) -> str:
        return f"ExplorerState({self.model!r}, max_order={self.max_order}: {self.summary()})"


# =========================================================================== helpers
def _checked_order(k: Any) -> int:
    return check_int(k, "max_order", minimum=1, maximum=MAX_ORDER_LIMIT)


def _diagonal_and_bias(model) -> list[str]:
    names = model.param_names()
    keep = []
    for n in names:
        field, idx = parse_param_name(n)
        if field in ("h", "h1", "h2", "a") or (field == "A" and (len(idx) == 1 or idx[0] == idx[1])):
            keep.append(n)
    return keep or names[:16]


def _check_ics(ics: Any, M: int) -> np.ndarray:
    arr = check_array(ics, "initial conditions", allow_nonfinite=True)
    if arr.size == 0:
        return np.zeros((0, M))
    if arr.ndim == 1 and M == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[1] != M:
        raise ValueError(f"initial conditions must have shape (n, {M}), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("initial conditions contain NaN or inf")
    return arr


def _ics_or_default(ics, model, seed) -> np.ndarray:
    if ics is not None:
        return ics
    rng = np.random.default_rng(seed)
    scale = 1.0 + float(np.max(np.abs(model.step(np.zeros(model.M)))))
    return rng.uniform(-scale, scale, size=(3, model.M))


def _simulate(model, ics: np.ndarray, n_steps: int) -> list[np.ndarray]:
    traj = simulate_orbits(model, ics, n_steps)  # (n+1, B, M)
    return [traj[:, b] for b in range(traj.shape[1])]


def _classify(before, after, model_before, model_after) -> list:
    """Events between two CycleSets via :func:`rnnexplore.dynamics.events.classify_events`.

    An unavailable or failing classification gives no events (never a refused update).
    """
    try:
        from rnnexplore.dynamics.events import classify_events
    except ImportError:
        return []
    models = None if model_before is None else (model_before, model_after)
    try:
        return list(classify_events(before, after, models=models))
    except Exception:  # noqa: BLE001 - events are an annotation; the objects still count
        return []


def _diagnose(model, cycles, trajs) -> list[str]:
    """Warnings for the status line: diverging orbits, degenerate objects, incomplete search."""
    out = []
    n_div = sum(1 for t in trajs if np.isnan(t[-1]).any())
    if n_div:
        out.append(f"diverging: {n_div} of {len(trajs)} trajectories escape to infinity")
    marginal = [c for c in cycles if getattr(c, "marginal", False)]
    if marginal:
        out.append(f"degenerate: {len(marginal)} object(s) with an eigenvalue of modulus 1")
    if model.n_bits <= 10:
        regions = ((np.arange(2 ** model.n_bits)[:, None] >> np.arange(model.n_bits)) & 1).astype(bool)
        J = model.jacobians(regions)
        with np.errstate(all="ignore"):
            ev = np.linalg.eigvals(J)
        n_one = int(np.sum(np.any(np.abs(ev - 1.0) < 1e-9, axis=-1)))
        if n_one:
            out.append(f"degenerate: an eigenvalue of the Jacobian is exactly 1 in {n_one} region(s) "
                       "(a line of fixed points or a fixed point at infinity)")
    stats = getattr(cycles, "stats", {})
    if stats.get("budget_exhausted"):
        orders = [k for k, s in stats.get("stop", {}).items() if s == "max_solves"]
        out.append(f"search budget hit at order(s) {orders}: more objects may exist")
    return out


def _parse_share(text: str) -> dict[str, Any]:
    """Validate a share string; returns model, max_order, params, seed, ics, projection."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("the share string is empty")
    d = parse_json(text, "the share string")
    if not isinstance(d, dict) or "model" not in d:
        raise ValueError("the share string must be a JSON object with a 'model'")
    unknown = set(d) - {"v", "model", "max_order", "params", "seed", "ics", "projection"}
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)} in the share string")
    if d.get("v", _SHARE_VERSION) != _SHARE_VERSION:
        raise ValueError(f"share string version {d.get('v')!r} is not supported (expected {_SHARE_VERSION})")
    model = model_from_dict(d["model"])
    seed = check_seed(d.get("seed", 0), allow_none=False)
    params = d.get("params")
    if params is not None and (not isinstance(params, list) or not all(isinstance(p, str) for p in params)):
        raise ValueError("params must be a list of parameter names")
    return {"model": model, "max_order": _checked_order(d.get("max_order", 8)), "params": params,
            "seed": seed, "ics": _check_ics(d["ics"], model.M) if "ics" in d else None,
            "projection": d.get("projection")}
