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
import re
import threading
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

__all__ = ["ExplorerState", "PRESETS", "preset_model", "default_ranges", "parse_number", "LogEntry",
           "locate_events", "fit_view", "view_content"]

MAX_ORDER_LIMIT = 30  # beyond this one slider event would take seconds even warm-started
# searches without a full warm start (new model, preset, import, reset, new max order): the
# engine's default completeness, capped so that a chaotic network with thousands of cycles
# answers in seconds (the status line then says the list may be incomplete)
COLD_BUDGET = {"max_solves": 3000}
# above this many objects (before + after) events are not classified: one classification
# then takes seconds, and hundreds of events are not readable anyway
EVENT_LIMIT = 200
# Above this many region bits a slider step skips the single-bit flips of continued objects that
# turned virtual (their visited-region chains remain; with flips the M = 64 flip-flop net's u[0]
# sweep of benchmarks/bench_explorer.py costs 1.8x per step at the median, 10x at the p95). Such
# a fast step can miss objects, so once the slider rests every step is completed in the
# background by the trajectory-seeded search of the cold start (SEED_*; the flips did not find
# the objects missed on the M = 64 net's u[0] sweep, the seeded search did), and
# ExplorerState.completed_steps counts the steps it changed. Some misses show at once in the
# fixed-point index sums (dynamics.events.index_sums): objects are born and die in pairs of
# opposite index, so a sum that differs from the last trusted one (cold search, completed step)
# means a missed object - the status line then says so until the completion has delivered.
# A drag's steps are completed together when the slider rests: every fast step since the last
# trusted set is solved again from every object seen on the way (sequence-centric, as a map cell
# is), its events re-classified and re-located, so an object a fast step missed in the middle of
# a drag leaves no false "gone" / "born" pair in the log (at most DRAG_LIMIT steps).
WIDE_BITS = 16
DRAG_LIMIT = 64
# Cold searches of wide networks (more than WIDE_BITS region bits: 2^n_bits regions defeat random
# region guesses) start from the regions their own trajectories visit: SEED_STATES seeded states
# (the initial conditions, the rest uniform in their box); every region the first SEED_RUNS[0]
# of them visit in SEED_RUNS[1] steps, and the slowest stretch of every state relaxed r steps
# for r in SEED_RELAX, solved by objects_from_states with SEED_CHAIN SCYFI updates of virtual
# solutions; the capped SCYFI search then looks for anything else. Fixed points found cold,
# capped search alone -> seeded: M = 64 flip-flop net (benchmarks/bench_explorer.py) 20 -> 27 of
# 27, M = 32 / 64 certificate nets 23 / 22 -> 27, M = 128 16 -> 27. Short relaxations suit slow
# nets, long ones wide nets; longer chains cost seconds on chaotic nets (random M = 64: 1024
# distinct candidates) and found nothing more on the flip-flop nets.
SEED_STATES = 1024
SEED_RUNS = (64, 100)
SEED_RELAX = (5, 30)
SEED_CHAIN = 3
LOG_LIMIT = 200  # entries kept in the accumulated event log
LOCATE_TOL = 1e-6  # event parameter values are located by bisection to within this
YIELD_SECONDS = 0.15  # background work pauses while slider events came less than this ago
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
        Slider ranges (default ``default_ranges``).
    seed : int
        Seed of every cycle search (so the same parameters give the same objects).
    budget : str, int, dict or SearchBudget
        Cycle search budget for parameter events (``"interactive"``: a warm-started event costs
        a few ms; see :class:`rnnexplore.dynamics.cycles.SearchBudget`). Preset, import, reset and order
        changes run the default search capped at 3000 solves per order (``COLD_BUDGET``); for
        networks with more than ``WIDE_BITS`` region bits it starts from the objects in the regions
        the network's own relaxed trajectories visit (``SEED_STATES``, ``SEED_RELAX``).
    n_steps : int
        Length of every trajectory.
    initial_conditions : array_like (n, M), optional
        Trajectory starts (default: 3 seeded random states around the objects).
    projection : Projection, "pca" or (i, j), optional
        Plane of the phase portrait (default units (0, 1); M = 1: return map).
    max_trajectories : int
        Oldest trajectories are dropped beyond this.
    inputs : array_like (M, K), optional
        Constant-input matrix: the model's bias is ``h = h_0 + inputs @ u``, and the entries of
        ``u`` become parameters ``"u[0]"``, ... (sliders first). For a ReLU ``torch.nn.RNN``
        converted by :func:`rnnexplore.dynamics.models.from_torch_rnn` this is ``W_ih``.
        PLRNN / ALRNN only.
    input_values : array_like (K,), optional
        The ``u`` at which ``model`` was built (default zeros).

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
    completed_steps : int, slider steps of a wide network whose objects or events the background
        completion of their drag changed (see ``WIDE_BITS`` and :func:`complete_drag`)
    log : list of LogEntry
        Every event crossed since the start (or :meth:`clear_log`), one entry per pair event,
        located by bisection in the background (``locate_events``).
    view : ((x0, x1), (y0, y1))
        Plane limits of the portrait (follows the content; :meth:`fit_attractors`, :meth:`set_view`).
    basins, manifolds
        Delivered in the background after the objects when :meth:`set_basins` /
        :meth:`set_manifolds` are on: a ``rnnexplore.dynamics.basins.Basins`` of the view,
        and a list of ``(cycle, Manifolds)`` of the saddles (2-D models).
    last_update : {"all", "log", "basins", "manifolds", "view"}
        What the last notification changed (views redraw only that).
    dispatch : callable
        ``dispatch(fn)`` runs background results on the view's thread (default: call now); a
        widget in a kernel sets it to the kernel loop's ``call_soon_threadsafe``.

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
        inputs: Any = None,
        input_values: Any = None,
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
        self.dispatch: Callable[[Callable[[], None]], None] = lambda fn: fn()
        self.preset: str | None = None
        self.n_computes = 0
        self.completed_steps = 0
        self._index_ref: list = []  # objects whose index sums are trusted (cold search, completed step)
        self._suspect = False
        self._drag: list[_FastStep] = []  # fast steps of a wide net since the last trusted set
        self._log_versions: dict[int, int] = {}  # step -> version of its log entries (see _locate)
        self._log_epoch = 0  # bumped by clear_log
        self.events: list = []
        self.log: list[LogEntry] = []
        self.changed: dict[str, tuple[float, float]] = {}
        self.status, self.level, self.compute_time = "", "ok", 0.0
        self.warnings: list[str] = []
        self.last_update = "all"
        self.view: tuple[tuple[float, float], tuple[float, float]] | None = None
        self.show_basins = False
        self.show_manifolds = False
        self.basins = None
        self.manifolds: list = []
        self.background_status = ""
        self._jobs: dict[str, Any] = {}
        self._timers: dict[str, threading.Timer] = {}  # deferred jobs (see _defer)
        self._inbox: list[Callable[[], None]] = []
        self._last_foreground = 0.0
        self._lock = threading.RLock()
        self.input_matrix, self.u = _check_inputs(model, inputs, input_values)
        self._initial_u = self.u.copy()
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
        unames = [f"u[{i}]" for i in range(len(self.u))]
        if params is None:
            params = unames + (names if len(names) <= 16 else _diagonal_and_bias(model))
        if isinstance(params, (str, bytes)) or not isinstance(params, Sequence) or \
                not all(isinstance(p, str) for p in params):
            raise ValueError(f"params must be a list of parameter names, got {params!r}"[:200])
        params = list(params)
        bad = [p for p in params if p not in names and p not in unames]
        for p in bad:  # accept equivalent spellings such as "A[0,0]" for "A[0]"
            try:
                model.get_param(p)
            except ValueError:
                raise ValueError(f"params: unknown parameter {p!r}; valid names: {names}") from None
        rng = default_ranges(model, [p for p in params if p not in unames])
        rng.update(default_ranges(_InputValues(self.u), [p for p in params if p in unames]))
        rng = {p: rng[p] for p in params}
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
        from rnnexplore.dynamics.continuation import ContinuationOptions, continuation_step

        t0 = time.perf_counter()
        # wide networks: objects that turned virtual are followed by their visited regions only
        # (SCYFI updates); the single-bit flips would cost n_bits solves each (see WIDE_BITS)
        opts = ContinuationOptions(probes=0, flips=model.n_bits <= WIDE_BITS)
        start = warm
        if warm is None and model.n_bits > WIDE_BITS:
            start = _trajectory_objects(model, max_order, ics, self.seed)
        cycles = continuation_step(model, start, max_order, seed=self.seed,
                                   budget=self.budget if budget is None else budget, options=opts)
        # wide networks: a fixed-point index sum that differs from the last trusted one (the
        # cold search's or the last completed step's) means this fast step missed an object
        self._suspect = warm is not None and not opts.flips and _index_changed(self._index_ref, cycles, max_order)
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
        if self._suspect:
            self.warnings.append("a fixed-point index sum changed: an object may be missing - completing "
                                 "in the background")
        else:
            self._index_ref = list(cycles)
        if changed and getattr(self, "_events_skipped", 0):
            self.warnings.append(f"events not classified ({self._events_skipped} objects before and "
                                 f"after, limit {EVENT_LIMIT})")
        self.level = "warning" if self.warnings else "ok"
        self.status = self.summary() + "".join(f" | {w}" for w in self.warnings)
        self._autoview()
        self._background()
        self._notify()
        self._last_foreground = time.perf_counter()

    def _notify(self, what: str = "all") -> None:
        self.last_update = what
        for fn in list(self.listeners):
            fn(self)

    def _refuse(self, exc: Exception | str) -> bool:
        msg = str(exc)
        self.level = "error"
        self.status = f"refused: {msg} - keeping the previous state ({self.summary()})"
        self._notify()
        return False

    def get_param(self, name: str) -> float:
        """Current value of a slider parameter: a model parameter or an input ``"u[i]"``.

        Examples
        --------
        >>> import numpy as np
        >>> from rnnexplore.dynamics.models import PLRNN
        >>> st = ExplorerState(PLRNN([0.5], [[0.0]], [1.0]), max_order=1, inputs=[[2.0]])
        >>> st.params, st.set_param("u[0]", 0.25), st.get_param("u[0]"), st.model.get_param("h[0]")
        (['u[0]', 'A[0]', 'W[0,0]', 'h[0]'], True, 0.25, 1.5)
        >>> [round(float(c.points[0, 0]), 6) for c in st.cycles]     # z* = h / (1 - 0.5)
        [3.0]
        """
        i = _input_index(name, len(self.u))
        return float(self.u[i]) if i is not None else self.model.get_param(name)

    def _with_values(self, model, u_base, updates: Mapping[str, float]):
        """``(model, u)`` after ``updates`` (model parameters and inputs ``u[i]``) from
        ``model`` built at the inputs ``u_base``."""
        u = np.array(u_base, dtype=float)
        plain = {}
        for n, v in updates.items():
            i = _input_index(n, len(u))
            if i is None:
                plain[n] = v
            else:
                u[i] = v
        model = model.with_params(plain) if plain else model
        if self.input_matrix is not None and len(u):
            du = u - np.asarray(u_base, float)
            if np.any(du != 0):
                d = model.to_dict()
                d["h"] = (np.asarray(d["h"], float) + self.input_matrix @ du).tolist()
                model = model_from_dict(d)
        return model, u

    def _recompute(self, model, *, max_order=None, warm=True, changed=None, segment=False, u=None) -> bool:
        """Recompute for a new model; on any failure refuse and keep the previous state.

        ``segment``: the new model lies on a straight parameter path from the old one (a
        slider step), so the events crossed are logged and located by bisection.
        """
        k = self.max_order if max_order is None else max_order
        before_model, before_cycles, before_u = self.model, self.cycles, self.u.copy()
        self._last_foreground = time.perf_counter()
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
        if u is not None:
            self.u = u
        step = self.n_computes + 1
        if events and changed:
            self._append_log(log_entries(events, *_values_interval(changed), located=False, step=step))
            if segment:
                self._locate(before_model, before_cycles, model, cycles, changed, step, before_u)
        self._commit(model, cycles, events, trajs, elapsed, changed=changed or {})
        if warm_set is not None and model.n_bits > WIDE_BITS:
            self._drag.append(_FastStep(step, before_model, before_cycles, before_u, model, cycles,
                                        dict(changed or {}), segment and max_order is None))
            del self._drag[:-DRAG_LIMIT]
            self._complete()
        else:
            self._drag = []
        return True

    def _complete(self) -> None:
        """Background completion of a wide network's fast steps (see ``WIDE_BITS``): once the
        slider rests, the trajectory-seeded search of the cold start at the current model, and
        every fast step of the drag (``self._drag``) solved again from every object seen on it
        (:func:`complete_drag`). Where that finds more, the objects, the steps' events (and their
        location) and the picture are replaced (a new frame; nothing is delivered onto a later one)."""
        frame, model, k, suspect = self.n_computes, self.model, self.max_order, self._suspect
        drag, epoch = list(self._drag), self._log_epoch
        ics, seed, budget = self.initial_conditions, self.seed, self.budget

        def work(report):
            return complete_drag(drag, k, lambda m: _trajectory_objects(m, k, ics, seed, report=report), seed=seed,
                                 budget=budget, progress=report)

        def deliver(sets):
            if frame != self.n_computes:
                return  # a later frame is shown (it has its own completion)
            t0 = time.perf_counter()
            self._suspect = False  # what the completion found is the trusted set from now on
            self._drag = []
            found = sets[-1]
            prev = drag[0].before
            rewritten = []  # (fast step, completed set before it, completed set after it)
            for fast, got in zip(drag, sets):
                if _signature(got) != _signature(fast.cycles) or _signature(prev) != _signature(fast.before):
                    rewritten.append((fast, prev, got))
                prev = got
            if not rewritten:
                if suspect:  # nothing was missing after all (e.g. an eigenvalue passed 1): the note goes
                    self._commit(model, self.cycles, self.events, self.trajectories, self.compute_time,
                                 self.changed)
                self._index_ref = list(self.cycles)
                return
            self.completed_steps += len(rewritten)
            events = self.events
            for fast, before, got in rewritten:
                evs = _classify(before, got, fast.model_before, fast.model) if fast.changed else []
                if fast.step == drag[-1].step:
                    events = evs
                if epoch == self._log_epoch and fast.changed:
                    self._replace_log(fast, evs, before, got)
            self._commit(model, found, events, self.trajectories,
                         self.compute_time + time.perf_counter() - t0, self.changed)

        self._defer("complete", work, deliver)

    def _replace_log(self, fast: "_FastStep", events: list, before, after) -> None:
        """The log entries of one fast step, replaced by ``events`` (re-located when it was a
        slider segment; a location still running for the old entries is discarded)."""
        step, changed = fast.step, fast.changed
        self._log_versions[step] = self._log_versions.get(step, 0) + 1
        self.log = [e for e in self.log if e.step != step] + log_entries(events, *_values_interval(changed),
                                                                           located=False, step=step)
        self.log.sort(key=lambda e: e.step)
        del self.log[:-LOG_LIMIT]
        job = self._jobs.get("locate")
        if job is not None and getattr(job, "step", None) == step:
            job.cancel()  # it locates the fast step's events, which are replaced
        if fast.segment and events:
            self._locate(fast.model_before, before, fast.model, after, changed, step, fast.u_before)

    # ------------------------------------------------------------------ parameters
    def set_param(self, name: str, value: float) -> bool:
        """Set one scalar parameter (``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``) and recompute.

        ``value`` is a number or typed text (``"0.845"``, ``"1e-3"``). Returns False (and
        explains in ``status``) for an unknown name or a value that is not a finite
        number; the previous state stays.
        """
        return self.set_params({name: value})

    def set_params(self, updates: Mapping[str, float]) -> bool:
        """Set several parameters at once, recompute once (warm-started)."""
        try:
            if not isinstance(updates, Mapping):
                raise ValueError("updates must be a mapping {name: value}")
            updates = {n: parse_number(v, f"the value of {n}") for n, v in updates.items()}
            model, u = self._with_values(self.model, self.u, updates)
            changed = {n: (self.get_param(n), float(updates[n])) for n in updates}
        except ValueError as exc:
            return self._refuse(exc)
        if model == self.model and np.array_equal(u, self.u):
            return True
        return self._recompute(model, changed=changed, segment=True, u=u)

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

    def set_max_order(self, max_order: int | str) -> bool:
        """Change the highest cycle order (1..30; an int or typed text such as ``"16"``) and recompute."""
        try:
            if isinstance(max_order, str):
                max_order = parse_number(max_order, "max order", integer=True, minimum=1,
                                         maximum=MAX_ORDER_LIMIT)
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
            self.input_matrix, self.u = _check_inputs(model, None, None)
            self._initial_u = self.u.copy()
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
            self.input_matrix, self.u = _check_inputs(model, None, None)
            self._initial_u = self.u.copy()
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
        if not self._recompute(self.initial_model, max_order=self.initial_order, warm=False,
                               u=self._initial_u.copy()):
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
        self._autoview()
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
        self.view = None
        self._autoview()
        self._background()
        self._notify()
        return True

    def _fit_pca(self) -> Projection:
        if self.model.M < 3:
            return Projection.default(self.model.M)
        pts = [c.points for c in self.cycles] + [t[len(t) // 2:] for t in self.trajectories]
        pts = np.vstack(pts) if pts else np.zeros((0, self.model.M))
        return Projection.pca(pts)

    # ------------------------------------------------------------------ view
    def _autoview(self) -> None:
        if self.projection is None:
            return
        pts = view_content(self.cycles, self.trajectories, self.projection)
        new = fit_view(self.view, pts, square=self.projection.kind == "return")
        if new is not None:
            self.view = new

    def set_view(self, xlim: Sequence[float], ylim: Sequence[float]) -> bool:
        """Fix the plane limits ``(x0, x1), (y0, y1)`` (they follow the content again once it leaves)."""
        try:
            x0, x1 = (parse_number(v, "xlim") for v in xlim)
            y0, y1 = (parse_number(v, "ylim") for v in ylim)
            if not (x0 < x1 and y0 < y1):
                raise ValueError(f"view limits must increase, got ({x0}, {x1}), ({y0}, {y1})")
        except (ValueError, TypeError) as exc:
            return self._refuse(exc)
        self.view = ((x0, x1), (y0, y1))
        self._background()
        self._notify("view")
        return True

    def fit_attractors(self) -> bool:
        """Zoom to the stable objects (all objects when none is stable), leaving out transients.

        Examples
        --------
        >>> st = ExplorerState.from_preset("paper_gt16")
        >>> st.fit_attractors()
        True
        >>> pts = st.projection.orbit(st.cycles[1].points)          # the stable 16-cycle
        >>> bool(st.view[0][0] <= pts[:, 0].min() and pts[:, 0].max() <= st.view[0][1])
        True
        """
        objs = [c for c in self.cycles if c.stability == "stable"] or list(self.cycles)
        pts = view_content(objs, [], self.projection)
        self.view = fit_view(None, pts, margin=0.25, square=self.projection.kind == "return")
        self._background()
        self._notify("view")
        return True

    # ------------------------------------------------------------------ background work
    def set_basins(self, on: bool = True) -> bool:
        """Colour the plane by basin of attraction (computed in the background after each update)."""
        self.show_basins = bool(on)
        if not on:
            self.basins = None
        self._background("basins")
        self._notify("basins")
        return True

    def set_manifolds(self, on: bool = True) -> bool:
        """Trace the stable and unstable manifolds of the saddles (2-D models; background)."""
        self.show_manifolds = bool(on)
        if not on:
            self.manifolds = []
        self._background("manifolds")
        self._notify("manifolds")
        return True

    def _start(self, name: str, fn: Callable, deliver: Callable) -> None:
        """Run ``fn(report)`` in a background :class:`~rnnexplore.apps.jobs.Job` (replacing
        the previous job of that name); ``deliver(result)`` runs through :attr:`dispatch`."""
        from rnnexplore.apps.jobs import Job

        with self._lock:
            old = self._jobs.get(name)
            if old is not None and name != "locate":
                old.cancel()

            def done(result):
                self._post(lambda: deliver(result))

            def failed(exc, tb):
                def show():
                    self.background_status = f"{name} failed: {type(exc).__name__}: {exc}"
                    self._notify(name)
                self._post(show)

            fn = self._polite(fn)
            if name == "locate" and old is not None and old.running:
                # event location runs one bracket after another, in order
                prev = old

                def chained(report, fn=fn, prev=prev):
                    prev.wait()
                    return fn(report)
                job = Job(chained, on_done=done, on_error=failed, name=f"rnnexplore-{name}")
            else:
                job = Job(fn, on_done=done, on_error=failed, name=f"rnnexplore-{name}")
            self._jobs[name] = job
            job.start()

    def _defer(self, name: str, fn: Callable, deliver: Callable) -> None:
        """Start the job ``name`` once no foreground recompute happened for :data:`YIELD_SECONDS`
        (a timer, re-armed by every step: while the slider moves no thread wakes, and an
        earlier job of that name is cancelled at once)."""
        with self._lock:
            old = self._timers.pop(name, None)
            if old is not None:
                old.cancel()
            job = self._jobs.get(name)
        if job is not None:
            job.cancel()

        def fire():
            with self._lock:
                if self._timers.get(name) is not timer:
                    return
                del self._timers[name]
            if time.perf_counter() - self._last_foreground < YIELD_SECONDS:
                self._defer(name, fn, deliver)
            else:
                self._start(name, fn, deliver)

        timer = threading.Timer(YIELD_SECONDS, fire)
        timer.daemon = True
        with self._lock:
            self._timers[name] = timer
        timer.start()

    def _polite(self, fn: Callable) -> Callable:
        """Background work that steps aside while the user is dragging: its ``report`` waits
        while a foreground recompute happened less than :data:`YIELD_SECONDS` ago (the
        slider's next frame gets the CPU first)."""
        def run(report):
            def polite_report(fraction=0.0, message=None):
                for _ in range(100):  # at most ~2 s per unit of work
                    if time.perf_counter() - self._last_foreground >= YIELD_SECONDS:
                        break
                    report(fraction, message)  # the cancellation point stays live
                    time.sleep(0.02)
                report(fraction, message)
            return fn(polite_report)
        return run

    def _background(self, only: str | None = None) -> None:
        """Start what is delivered after the objects: basins and manifolds of the current state
        (``only``: just that one, e.g. after its toggle)."""
        from rnnexplore.dynamics.basins import basin_grid
        from rnnexplore.dynamics.manifolds import saddle_manifolds

        frame, model, cycles, proj, view = self.n_computes, self.model, list(self.cycles), self.projection, self.view
        if self.show_basins and proj is not None and proj.kind != "return" and view is not None \
                and only in (None, "basins"):
            def basins(report):
                return frame, view, basin_grid(model, cycles, proj, view[0], view[1], n=100, progress=report)

            def deliver_basins(result):
                if result[0] == self.n_computes and result[1] == self.view and self.show_basins:
                    self.basins = result[2]
                    self._notify("basins")
            self.basins = None
            self._start("basins", basins, deliver_basins)
        if self.show_manifolds and model.M == 2 and view is not None and only in (None, "manifolds"):
            (x0, x1), (y0, y1) = view
            wx, wy = x1 - x0, y1 - y0
            box = ((x0 - wx, x1 + wx), (y0 - wy, y1 + wy))

            def manifolds(report):
                out = []
                for c in cycles:
                    if c.stability == "saddle" and not c.marginal:
                        out.append((c, saddle_manifolds(model, c, bounds=box, progress=report)))
                return frame, out

            def deliver_manifolds(result):
                if result[0] == self.n_computes and self.show_manifolds:
                    self.manifolds = result[1]
                    self._notify("manifolds")
            self.manifolds = []
            self._start("manifolds", manifolds, deliver_manifolds)

    def _append_log(self, entries: list[LogEntry]) -> None:
        self.log.extend(entries)
        del self.log[:-LOG_LIMIT]

    def clear_log(self) -> bool:
        """Empty the event log."""
        self.log = []
        self._log_epoch += 1
        self._notify("log")
        return True

    def _locate(self, m0, c0, m1, c1, changed, step, u0) -> None:
        """Bisect the slider step ``m0 -> m1`` for the events crossed (background job)."""
        names = list(changed)
        start = [changed[n][0] for n in names]
        end = [changed[n][1] for n in names]
        k, seed = self.max_order, self.seed
        version = self._log_versions.get(step, 0)

        def build(values):
            return self._with_values(m0, u0, values)[0]

        max_step = min(self.ranges[n][2] for n in names) if all(n in self.ranges for n in names) else None

        def work(report):
            return locate_events(m0, names, start, end, c0, c1, max_order=k, seed=seed, progress=report,
                                 build=build, max_step=max_step)

        def deliver(found):
            if self._log_versions.get(step, 0) != version:
                return  # the step's entries were replaced meanwhile (a completed drag)
            entries = []
            for values, interval, evs in found:
                entries += log_entries(evs, values, interval, located=True, step=step)
            keep = [e for e in self.log if e.step != step]
            if len(keep) == len(self.log):
                return  # the log was cleared meanwhile
            self.log = keep + entries
            self.log.sort(key=lambda e: e.step)
            del self.log[:-LOG_LIMIT]
            self._notify("log")
        self._start("locate", work, deliver)
        self._jobs["locate"].step = step  # (a completion that replaces the step's events cancels it)

    def _post(self, fn: Callable[[], None]) -> None:
        """Queue a background result; :attr:`dispatch` schedules the drain on the view's thread."""
        with self._lock:
            self._inbox.append(fn)
        self.dispatch(self._drain)

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._inbox:
                    return
                fn = self._inbox.pop(0)
            fn()

    def wait(self, timeout: float = 60.0) -> bool:
        """Block until the background work (event location, completion, basins, manifolds) has delivered.

        Returns True when everything finished within ``timeout`` seconds. Only for scripts
        and tests: a view never waits.
        """
        deadline = time.perf_counter() + timeout
        while True:
            with self._lock:
                jobs = [j for j in self._jobs.values() if j.running]
                deferred = bool(self._timers)
            if not jobs and not deferred:
                self._drain()  # deliver here (a kernel's loop would only run after this cell)
                with self._lock:
                    jobs = [j for j in self._jobs.values() if j.running]
                    deferred = bool(self._timers)
                if not jobs and not deferred:
                    return True
                continue
            left = deadline - time.perf_counter()
            if left <= 0:
                return False
            if jobs:
                jobs[0].wait(left)
            else:
                time.sleep(min(0.01, left))  # a deferred job starts soon
            time.sleep(0.001)  # let the job's on_done deliver

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
        proven = _proven_text(getattr(self.cycles, "proven", None))
        if proven:
            line += f" - {proven}"
        return line + f" - {1000 * self.compute_time:.1f} ms"

    def table(self, max_rows: int = 50) -> list[dict[str, Any]]:
        """Rows of the objects table: order, stability, points, ``|eigenvalues|``, key."""
        rows = []
        for c in list(self.cycles)[:max_rows]:
            rows.append({"order": c.order, "stability": c.stability, "points": c.points,
                         "abs_eigenvalues": np.abs(c.eigenvalues), "key": c.key,
                         "marginal": bool(getattr(c, "marginal", False))})
        return rows

    def event_lines(self) -> list[str]:
        """The accumulated event log, one human-readable line per event (pairs once).

        Examples
        --------
        >>> st = ExplorerState.from_preset("paper_gt16")
        >>> st.set_param("A[0]", 0.85)
        True
        >>> st.wait()
        True
        >>> st.event_lines()
        ['A[0] = 0.844987: pair annihilated - stable 16-cycle and saddle 16-cycle']
        """
        return [e.text for e in self.log]

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
            self.input_matrix, self.u = _check_inputs(spec["model"], None, None)
            self._initial_u = self.u.copy()
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
class _InputValues:
    """Answers ``get_param("u[i]")`` for ``default_ranges`` (slider ranges of the inputs)."""

    def __init__(self, u: np.ndarray) -> None:
        self.u = u

    def get_param(self, name: str) -> float:
        return float(self.u[_input_index(name, len(self.u))])


def _input_index(name: str, K: int) -> int | None:
    m = re.fullmatch(r"\s*u\[\s*(\d+)\s*\]\s*", name) if isinstance(name, str) else None
    if m is None or int(m[1]) >= K:
        return None
    return int(m[1])


def _check_inputs(model, inputs, values) -> tuple[np.ndarray | None, np.ndarray]:
    if inputs is None:
        if values is not None:
            raise ValueError("input_values needs inputs")
        return None, np.zeros(0)
    from rnnexplore._validation import check_array

    if not isinstance(model, MODEL_TYPES["PLRNN"]):
        raise ValueError(f"inputs need a PLRNN or ALRNN (bias h), got {type(model).__name__}")
    B = check_array(inputs, "inputs", ndim=2)
    if B.shape[0] != model.M:
        raise ValueError(f"inputs must have shape ({model.M}, K), got {B.shape}")
    u = np.zeros(B.shape[1]) if values is None else check_array(values, "input_values", shape=(B.shape[1],))
    return B, u.astype(float)


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


def _trajectory_objects(model, max_order: int, ics: np.ndarray, seed: int | None,
                        report: Callable | None = None) -> list:
    """Objects in the regions the model's own trajectories visit (wide networks' cold start).

    ``SEED_STATES`` states - the initial conditions ``ics``, the rest seeded uniform in their
    box: the runs of the first ``SEED_RUNS[0]`` for ``SEED_RUNS[1]`` steps (every window a
    candidate), and every state relaxed ``r`` steps for ``r`` in ``SEED_RELAX`` (its slowest
    stretch the candidate), solved by
    :func:`rnnexplore.dynamics.continuation.objects_from_states` (``SEED_CHAIN`` SCYFI updates
    of virtual solutions). ``report(fraction, message)`` is called between the runs (a
    background job's cancellation point).
    """
    from rnnexplore.dynamics.continuation import objects_from_states

    ics = np.asarray(ics, dtype=np.float64).reshape(-1, model.M)[:SEED_STATES]
    ics = ics[np.all(np.isfinite(ics), axis=1)]
    scale = float(np.max(np.abs(ics))) if len(ics) else 1.0 + float(np.max(np.abs(model.step(np.zeros(model.M)))))
    rng = np.random.default_rng(seed)
    states = np.concatenate([ics, rng.uniform(-scale, scale, size=(SEED_STATES - len(ics), model.M))])
    runs = [(simulate_orbits(model, states[: SEED_RUNS[0]], SEED_RUNS[1]), 0)]
    runs += [(states[None], relax) for relax in SEED_RELAX]
    found = {}
    for i, (X, relax) in enumerate(runs):
        if report is not None:
            report(0.9 * i / len(runs), "searching the regions the trajectories visit")
        for c in objects_from_states(model, X, max_order, relax=relax, chain_length=SEED_CHAIN):
            found.setdefault(c.key, c)
    return list(found.values())


def _simulate(model, ics: np.ndarray, n_steps: int) -> list[np.ndarray]:
    traj = simulate_orbits(model, ics, n_steps)  # (n+1, B, M)
    return [traj[:, b] for b in range(traj.shape[1])]


def _index_changed(before, after, max_order: int) -> bool:
    """Whether a fixed-point index sum of F^k (k <= max_order) differs between two object sets
    (orders where either set has a degenerate object do not count)."""
    from rnnexplore.dynamics.events import index_sums

    a, b = index_sums(before, max_order), index_sums(after, max_order)
    return any(a[k] is not None and b[k] is not None and a[k] != b[k] for k in a)


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


def _proven_text(proven: Any) -> str:
    """What the search proved, per order (``CycleSet.proven``: "enumerated"/"pruned"/"box"/None).

    Examples
    --------
    >>> _proven_text({1: "enumerated", 2: "enumerated", 3: "pruned", 4: None})
    'complete: k=1-2 enumerated, k=3 pruned; k=4 searched'
    """
    if not isinstance(proven, Mapping) or not proven:
        return ""
    groups: list[list] = []
    for k in sorted(proven):
        how = proven[k] or "searched"
        if groups and groups[-1][0] == how and groups[-1][2] == k - 1:
            groups[-1][2] = k
        else:
            groups.append([how, k, k])
    def rng(a, b):
        return f"k={a}" if a == b else f"k={a}-{b}"
    sure = [f"{rng(a, b)} {how}" for how, a, b in groups if how != "searched"]
    rest = [f"{rng(a, b)} searched" for how, a, b in groups if how == "searched"]
    out = ("complete: " + ", ".join(sure)) if sure else ""
    return "; ".join(x for x in [out, ", ".join(rest)] if x)


# =========================================================================== typed numbers
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def parse_number(text: Any, name: str, *, integer: bool = False, minimum: float | None = None,
                 maximum: float | None = None) -> float | int:
    """A number a person typed (``"1e-3"``, ``"3.5"``, ``" 16 "``, ``"1e308"``), or ValueError.

    Numbers (int/float) pass through the same checks. The error names ``name`` and says why.

    Examples
    --------
    >>> parse_number("1e-3", "value"), parse_number(" 3.5 ", "value"), parse_number("16", "k", integer=True)
    (0.001, 3.5, 16)
    >>> parse_number("3.5", "max order", integer=True)
    Traceback (most recent call last):
    ...
    ValueError: max order must be a whole number, got 3.5
    >>> parse_number("1e308", "max order", integer=True, maximum=30)
    Traceback (most recent call last):
    ...
    ValueError: max order must be at most 30, got 1e+308
    >>> parse_number("3,5", "value")
    Traceback (most recent call last):
    ...
    ValueError: value must be a number such as 0.5, 1e-3 or -2 (use a point, not a comma), got '3,5'
    """
    if isinstance(text, bool):
        raise ValueError(f"{name} must be a number, got {text!r}")
    if isinstance(text, (int, np.integer)):
        v: float | int = int(text)
    elif isinstance(text, (float, np.floating)):
        v = float(text)
    elif isinstance(text, str):
        t = text.strip().replace("\u2212", "-")
        if not _NUMBER.match(t):
            hint = " (use a point, not a comma)" if "," in t else ""
            what = "a whole number such as 8" if integer else "a number such as 0.5, 1e-3 or -2"
            raise ValueError(f"{name} must be {what}{hint}, got {text!r}")
        v = float(t)
        if not math.isfinite(v):
            raise ValueError(f"{name} is too large to represent, got {text!r}")
    else:
        raise ValueError(f"{name} must be a number, got {type(text).__name__}")
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    if maximum is not None and v > maximum:
        raise ValueError(f"{name} must be at most {maximum:g}, got {v:g}")
    if minimum is not None and v < minimum:
        raise ValueError(f"{name} must be at least {minimum:g}, got {v:g}")
    if integer:
        if float(v) != math.floor(float(v)):
            raise ValueError(f"{name} must be a whole number, got {v:g}")
        return int(v)
    return float(v)


# =========================================================================== view
def view_content(cycles: Sequence[Any], trajectories: Sequence[np.ndarray], projection: Projection) -> np.ndarray:
    """Plane points a view should show: objects, trajectory starts, and trajectory points not
    too far from those (diverging orbits are seen leaving the view)."""
    from rnnexplore.dynamics.orbits import DIVERGENCE

    core = [projection.orbit(np.asarray(c.points, float), closed=True) for c in cycles]
    trajs = []
    for t in trajectories:
        t = np.asarray(t, float)
        xy = projection.orbit(t.reshape(len(t), -1))
        trajs.append(xy)
        core.append(xy[:1])
    core = np.vstack(core) if core else np.zeros((0, 2))
    core = core[np.all(np.isfinite(core), axis=1) & (np.max(np.abs(core), axis=1) < DIVERGENCE)]
    if not trajs:
        return core
    pts = np.vstack(trajs)
    pts = pts[np.all(np.isfinite(pts), axis=1)]
    if len(core):
        lo, hi = core.min(axis=0), core.max(axis=0)
        reach = 10.0 * max(float(np.max(hi - lo)), 1.0)
        pts = pts[np.all(np.abs(pts - (lo + hi) / 2) <= reach, axis=1)]
    return np.vstack([core, pts])


def fit_view(current: Any, pts: np.ndarray, *, margin: float = 0.15, force: bool = False,
             square: bool = False) -> tuple[tuple[float, float], tuple[float, float]] | None:
    """New view limits ``(xlim, ylim)`` for the plane points ``pts``, or None to keep ``current``.

    The view changes when the content left it, fills less than a quarter of it, when there is
    no current view, or with ``force``.

    Examples
    --------
    >>> import numpy as np
    >>> fit_view(None, np.array([[0.0, 0.0], [1.0, 2.0]]), margin=0.0)
    ((0.0, 1.0), (0.0, 2.0))
    >>> fit_view(((-1, 2), (-1, 3)), np.array([[0.0, 0.0], [1.0, 2.0]])) is None
    True
    """
    if len(pts) == 0:
        lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    else:
        lo, hi = pts.min(axis=0).astype(float), pts.max(axis=0).astype(float)
    if square:
        lo[:], hi[:] = lo.min(), hi.max()
    span = np.maximum(hi - lo, 0.05 * (1.0 + np.abs(np.concatenate([lo, hi])).max()))
    mid = (lo + hi) / 2
    new_lo, new_hi = mid - span * (0.5 + margin), mid + span * (0.5 + margin)
    if current is not None and not force:
        cur = np.asarray(current, float)
        inside = np.all(lo >= cur[:, 0]) and np.all(hi <= cur[:, 1])
        small = np.any(span * (1 + 2 * margin) < 0.25 * (cur[:, 1] - cur[:, 0]))
        if inside and not small:
            return None
    return (float(new_lo[0]), float(new_hi[0])), (float(new_lo[1]), float(new_hi[1]))


# =========================================================================== event log
@dataclass
class LogEntry:
    """One line of the accumulated event log.

    Attributes
    ----------
    kind : str
        Event kind (:data:`rnnexplore.dynamics.events.EVENT_KINDS`); a pair event is one entry.
    order : int
    objects : list of str
        Human names of the objects concerned ("stable 16-cycle", ...).
    keys : list of str
        Their region codes (shown on hover).
    values : dict name -> float
        Parameter values where the event happened (bisection midpoint once ``located``, else
        the end of the slider step).
    interval : dict name -> (float, float)
        The bracket: the event lies between these values.
    located : bool
        True once bisection narrowed the bracket to :data:`LOCATE_TOL`.
    step : int
        Recompute counter of the slider step that crossed it.
    """

    kind: str
    order: int
    objects: list[str]
    keys: list[str]
    values: dict[str, float]
    interval: dict[str, tuple[float, float]]
    located: bool = False
    step: int = 0
    side: str = "change"  # "death" (gone after), "birth" (new after) or "change"

    @property
    def text(self) -> str:
        """The line shown: ``A[0] = 0.844812: pair creation - stable 16-cycle and saddle 16-cycle``."""
        where = ", ".join(f"{n} = {_fmt_value(v, self.located)}" for n, v in self.values.items())
        if not self.located:
            where = "between " + ", ".join(f"{n} = {_fmt_value(a, False)} and {_fmt_value(b, False)}"
                                           for n, (a, b) in self.interval.items())
        what = _EVENT_TEXT.get((self.kind, self.side)) or _EVENT_TEXT.get(self.kind, self.kind.replace("_", " "))
        return f"{where}: {what} - {' and '.join(self.objects)}"


_EVENT_TEXT = {
    "pair_creation": "pair created",
    "pair_annihilation": "pair annihilated",
    "birth": "born",
    "death": "gone",
    "border_collision": "border collision",
    "degenerate_transcritical": "eigenvalue through +1 (degenerate transcritical)",
    ("degenerate_transcritical", "death"): "escaped to infinity (eigenvalue +1)",
    ("degenerate_transcritical", "birth"): "came in from infinity (eigenvalue +1)",
    ("border_collision", "death"): "border collision, gone",
    ("border_collision", "birth"): "border collision, new",
    ("degenerate_flip", "death"): "degenerate flip (eigenvalue -1), gone",
    ("degenerate_flip", "birth"): "degenerate flip (eigenvalue -1), new",
    "degenerate_flip": "degenerate flip (eigenvalue -1)",
    "neimark_sacker": "stability change (complex pair)",
    "stability_change": "stability change",
}


def _fmt_value(v: float, precise: bool) -> str:
    return f"{v:.6g}" if precise else f"{v:.5g}"


def _object_label(stability: str | None, order: int) -> str:
    what = "fixed point" if order == 1 else f"{order}-cycle"
    return f"{stability} {what}" if stability else what


def log_entries(events: Sequence[Any], values: Mapping[str, float],
                interval: Mapping[str, tuple[float, float]], *, located: bool, step: int) -> list[LogEntry]:
    """Log entries of classified events: one per event, one per *pair* for pair events.

    Examples
    --------
    >>> from rnnexplore.dynamics.events import BifurcationEvent as E
    >>> evs = [E("pair_creation", 2, None, "01|10", "stable 2-cycle '01|10' was created together with "
    ...          "the saddle 2-cycle '11|10'", None, "stable"),
    ...        E("pair_creation", 2, None, "11|10", "saddle 2-cycle '11|10' was created together with "
    ...          "the stable 2-cycle '01|10'", None, "saddle")]
    >>> [e.text for e in log_entries(evs, {"a": 0.5}, {"a": (0.4, 0.6)}, located=True, step=1)]
    ['a = 0.5: pair created - stable 2-cycle and saddle 2-cycle']
    """
    out, used = [], set()
    evs = list(events)
    for i, e in enumerate(evs):
        if i in used:
            continue
        stab = e.stability_after if e.stability_after is not None else e.stability_before
        key = e.key_after if e.key_after is not None else e.key_before
        objects, keys = [_object_label(stab, e.order)], [key or ""]
        if e.kind in ("pair_creation", "pair_annihilation"):
            for j in range(i + 1, len(evs)):
                f = evs[j]
                fk = f.key_after if f.key_after is not None else f.key_before
                if j not in used and f.kind == e.kind and f.order == e.order and repr(fk) in e.description:
                    used.add(j)
                    fs = f.stability_after if f.stability_after is not None else f.stability_before
                    objects.append(_object_label(fs, f.order))
                    keys.append(fk or "")
                    break
        elif e.stability_before and e.stability_after and e.stability_before != e.stability_after:
            objects = [f"{_object_label(e.stability_before, e.order)} -> {e.stability_after}"]
        used.add(i)
        side = "death" if e.key_after is None else "birth" if e.key_before is None else "change"
        out.append(LogEntry(e.kind, e.order, objects, keys, dict(values), dict(interval), located, step, side))
    return out


@dataclass(frozen=True)
class _FastStep:
    """One fast slider step of a wide network, kept until the drag it belongs to is completed."""

    step: int
    model_before: Any
    before: Any  # the objects shown before the step
    u_before: np.ndarray
    model: Any
    cycles: Any  # what the fast step found
    changed: dict
    segment: bool  # a straight slider segment (its events are located by bisection)


def complete_drag(drag: Sequence[_FastStep], max_order: int, cold: Callable[[Any], list], *,
                  seed: int | None = None, budget: Any = "interactive", progress: Callable | None = None) -> list:
    """Object sets of a drag's fast steps, each solved again from every object seen on the drag.

    The last step is searched from the trajectory-seeded objects ``cold(model)`` (the cold start's
    seeds) and the capped search with ``budget``. Then every step continues every object seen: shown
    before the drag, found by a fast step or at the last step
    (:func:`~rnnexplore.dynamics.continuation.continuation_step`: their region sequences solved
    exactly at the step's model; virtual ones followed through the regions they visit and their
    single-bit flips, which the fast foreground step skips). A step whose fixed-point index sums
    still differ from those before the drag (:func:`~rnnexplore.dynamics.events.index_sums`: a
    missed object, unless an eigenvalue passed +1) is also searched from ``cold``. So each step
    keeps its own objects (re-solved at their own model) and gains those a fast step missed. On the
    M = 64 flip-flop net: a saddle two bits from its predecessor (flips), one living only mid-drag
    (``cold``). Returns one CycleSet per step.
    """
    from rnnexplore.dynamics.continuation import ContinuationOptions, continuation_step

    opts = ContinuationOptions(probes=0, flips=True)
    n = len(drag)

    def solve(fast, seeds, search):
        return continuation_step(fast.model, seeds, max_order, seed=seed, budget=budget if search else False,
                                 options=opts)

    if progress is not None:
        progress(0.0, "searching the last step")
    last = solve(drag[-1], [*drag[-1].cycles, *cold(drag[-1].model)], True)
    pool: dict[str, Any] = {}
    for c in [*drag[0].before, *(c for f in drag for c in f.cycles), *last]:
        pool.setdefault(c.key, c)
    out = []
    for i, fast in enumerate(drag[:-1]):
        if progress is not None:
            progress(0.5 + 0.5 * i / n, f"completing step {i + 1} of {n}")
        got = solve(fast, [*fast.cycles, *pool.values()], False)
        if _index_changed(drag[0].before, got, max_order):
            got = solve(fast, [*got, *cold(fast.model)], True)
        out.append(got)
    return out + [last]


def _values_interval(changed: Mapping[str, tuple[float, float]]) -> tuple[dict, dict]:
    """``(values, interval)`` of a log entry from a step's ``{name: (old, new)}``."""
    return {n: new for n, (_, new) in changed.items()}, {n: (old, new) for n, (old, new) in changed.items()}


def _signature(cycles: Sequence[Any]) -> frozenset:
    return frozenset((c.key, c.n_stable) for c in cycles)


def locate_events(model: Any, names: Sequence[str], start: Sequence[float], end: Sequence[float],
                  cycles_start: Any, cycles_end: Any, *, max_order: int, seed: int = 0,
                  tol: float = LOCATE_TOL, budget: Any = "interactive",
                  progress: Callable | None = None, build: Callable | None = None,
                  max_step: float | None = None) -> list[tuple[dict[str, float], dict[str, tuple[float, float]], list]]:
    """Locate every change of the object set along a straight parameter path, by bisection.

    The path runs from ``start`` to ``end`` (values of the parameters ``names`` of ``model``).
    Where the objects at the two ends differ (region codes or stability signatures), the
    midpoint is searched (warm-started from both ends, so tracked objects are followed) and
    each half with a difference is split again, until the bracket is at most ``tol`` wide in
    every parameter; then the bracket's events are classified.

    ``build(values)`` makes the model for a dict of parameter values (default
    ``model.with_params``; the explorer passes one that also knows its inputs ``u[i]``).
    ``max_step``: first search the path at points at most this far apart (the slider's step: a
    coalesced drag jumps over slider values, and an object born and gone between two far ends
    would not show at the ends), then bisect every piece whose ends differ.

    Returns
    -------
    list of (values, interval, events)
        In path order: the midpoint of each final bracket, the bracket, and its events
        (:func:`rnnexplore.dynamics.events.classify_events`).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> m = paper_gt16()
    >>> a, b = m.with_params({"A[0]": 0.84}), m.with_params({"A[0]": 0.85})
    >>> found = locate_events(m, ["A[0]"], [0.84], [0.85], find_cycles(a, 16, seed=0),
    ...                       find_cycles(b, 16, seed=0), max_order=16)
    >>> [(round(v["A[0]"], 5), [e.kind for e in evs]) for v, _, evs in found]
    [(0.84499, ['pair_annihilation', 'pair_annihilation'])]
    """
    from rnnexplore.dynamics.cycles import CycleSet, find_cycles
    from rnnexplore.dynamics.events import classify_events

    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    span = float(np.max(np.abs(p1 - p0))) if len(p0) else 0.0

    make = model.with_params if build is None else build

    def model_at(t: float):
        return make({n: float(a + t * (b - a)) for n, a, b in zip(names, p0, p1)})

    def search(t: float, warm: Sequence[Any]):
        if progress is not None:
            progress(0.0, "locating events")
        return find_cycles(model_at(t), max_order, seed=seed, warm_start=CycleSet(list(warm)), budget=budget)

    out = []
    n_pieces = 1 if not max_step or span == 0.0 else max(1, math.ceil(span / max_step - 1e-9))
    ts, sets = [0.0], [cycles_start]
    for i in range(1, n_pieces):
        ts.append(i / n_pieces)
        sets.append(search(ts[-1], list(sets[-1]) + list(cycles_end)))
    ts.append(1.0)
    sets.append(cycles_end)
    stack = [(ts[i], sets[i], ts[i + 1], sets[i + 1]) for i in reversed(range(n_pieces))]
    while stack:
        lo, c_lo, hi, c_hi = stack.pop()
        if _signature(c_lo) == _signature(c_hi):
            continue
        if (hi - lo) * span <= tol or span == 0.0:
            m_lo, m_hi = model_at(lo), model_at(hi)
            evs = list(classify_events(c_lo, c_hi, models=(m_lo, m_hi)))
            t = (lo + hi) / 2
            values = {n: float(a + t * (b - a)) for n, a, b in zip(names, p0, p1)}
            interval = {n: (float(a + lo * (b - a)), float(a + hi * (b - a))) for n, a, b in zip(names, p0, p1)}
            out.append((t, values, interval, evs))
            continue
        mid = (lo + hi) / 2
        c_mid = search(mid, list(c_lo) + list(c_hi))
        stack.append((mid, c_mid, hi, c_hi))
        stack.append((lo, c_lo, mid, c_mid))
    out.sort(key=lambda x: x[0])
    return [(v, iv, evs) for _, v, iv, evs in out if evs]
