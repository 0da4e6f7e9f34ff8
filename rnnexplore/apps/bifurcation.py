"""Scriptable state of the bifurcation-map app (no widgets, no matplotlib).

:class:`BifurcationState` holds the current :class:`~rnnexplore.dynamics.bifurcation.BifurcationMap`,
the selected grid point (its model and objects), the zoom history, and a 1-D diagram along a
line through the selection; :class:`rnnexplore.widgets.bifurcation.BifurcationExplorer` draws it.

Long work (a zoomed map, a 1-D diagram) runs in the background: :meth:`BifurcationState.start_zoom`
and :meth:`BifurcationState.start_line` return a :class:`~rnnexplore.apps.jobs.Job` whose work
goes to a worker process, so the kernel stays free and a cancel stops it at once (the process
is ended). A zoom first measures its cost (:mod:`rnnexplore.dynamics.cost`); above
``confirm_above`` seconds the job ends with a ``NeedsConfirmation`` instead of a map.
While the map is computed, finished tiles stream into :attr:`BifurcationState.partial`; the
shown map changes only when the whole new map is there (a cancelled or failed job leaves
everything as it was).

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import skew_tent
>>> from rnnexplore.apps.bifurcation import BifurcationState
>>> st = BifurcationState(model=skew_tent(0.2, 0.0, 1.0),
...                       grid={"A[0]": np.linspace(-0.85, 0.85, 8), "W[0,0]": np.linspace(-2.9, 1.9, 9)},
...                       max_order=2)
>>> st.select(0.15, -1.9).selected
(4, 2)
>>> sorted(c.order for c in st.cycles)
[1, 2]
>>> signature_words("1u 2s")
'unstable fixed point + stable 2-cycle'
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnexplore._validation import check_int, check_real
from rnnexplore.apps.jobs import Job
from rnnexplore.dynamics.bifurcation import BifurcationMap, sweep
from rnnexplore.dynamics.cost import SweepCost, measure_sweep_cost
from rnnexplore.dynamics.models import model_from_dict
from rnnexplore.dynamics.orbits import simulate_orbits

__all__ = ["BifurcationState", "COLOUR_MODES", "NeedsConfirmation", "WorkerPool", "signature_words"]

COLOUR_MODES = ("count", "signature", "stable")
_STABILITY_WORD = {"s": "stable", "d": "saddle", "u": "unstable"}


def _object_words(order: int, letter: str, n: int = 1) -> str:
    kind = "fixed point" if order == 1 else f"{order}-cycle"
    stab = _STABILITY_WORD[letter]
    return f"{stab} {kind}" if n == 1 else f"{n} {stab} {kind}s"


def signature_words(text: str) -> str:
    """A stability signature (``"16d 16s"``: order + s/d/u per object) in words.

    Examples
    --------
    >>> signature_words("16d 16s")
    'stable 16-cycle + saddle 16-cycle'
    >>> signature_words("1s 1s 1d"), signature_words("")
    ('2 stable fixed points + saddle fixed point', 'no object')
    """
    items = [(int(tok[:-1]), tok[-1]) for tok in str(text).split()]
    if not items:
        return "no object"
    counts: dict[tuple[int, str], int] = {}
    for it in items:
        counts[it] = counts.get(it, 0) + 1
    rank = {"s": 0, "d": 1, "u": 2}
    keys = sorted(counts, key=lambda k: (k[0], rank[k[1]]))
    return " + ".join(_object_words(k, s, counts[(k, s)]) for k, s in keys)


@dataclass(frozen=True)
class NeedsConfirmation:
    """What a zoom job returns instead of a map when it would take longer than allowed.

    Attributes
    ----------
    cost : SweepCost
        The measured estimate (``cost.seconds``, ``cost.describe()``).
    rect : (x0, x1, y0, y1)
    shape : (int, int)
    """

    cost: SweepCost
    rect: tuple[float, float, float, float]
    shape: tuple[int, int]

    def message(self) -> str:
        return f"this zoom would take {self.cost.describe()} - compute anyway?"


# =========================================================================== worker process
def _measure_work(model_dict: dict, grid: dict, max_order: int, kwargs: dict) -> SweepCost:
    return measure_sweep_cost(model_from_dict(model_dict), grid, max_order, **kwargs)


class WorkerPool:
    """One worker process for an app's long work; :meth:`terminate` ends it at once.

    ``submit(fn, *args)`` returns a handle with ``ready()``, ``wait(timeout)`` and ``get()``
    (a :class:`multiprocessing.pool.AsyncResult`). The process starts on first use (fork
    server on Linux, spawn elsewhere: nothing of the kernel's threads is copied into it).
    """

    def __init__(self, processes: int = 1) -> None:
        self.processes = int(processes)
        self._pool = None
        self._lock = threading.Lock()

    def _get(self):
        with self._lock:
            if self._pool is None:
                method = "forkserver" if sys.platform.startswith("linux") else "spawn"
                self._pool = multiprocessing.get_context(method).Pool(self.processes)
                self._finalizer = weakref.finalize(self, self._pool.terminate)
            return self._pool

    def submit(self, fn: Callable, *args: Any) -> Any:
        return self._get().apply_async(fn, args)

    def terminate(self) -> None:
        """End the worker process now (running work is lost); the next submit starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            self._finalizer.detach()
            pool.terminate()

    @property
    def alive(self) -> bool:
        return self._pool is not None


def _wait(handle: Any, report: Callable, fraction: Callable[[], float], message: Callable[[], str]) -> Any:
    """Wait for a pool or executor handle, reporting (the cancellation point) every 0.1 s."""
    while True:
        if hasattr(handle, "ready"):  # multiprocessing AsyncResult
            handle.wait(0.1)
            if handle.ready():
                return handle.get()
        else:  # concurrent.futures.Future
            try:
                return handle.result(timeout=0.1)
            except TimeoutError:
                pass
        report(fraction(), message())


class _Handle:
    def __init__(self, inner: Any, owner: "_StreamingExecutor") -> None:
        self._inner, self._owner = inner, owner

    def result(self, timeout: float | None = None) -> Any:
        return self._owner._result(self._inner)


class _StreamingExecutor:
    """The executor handed to ``sweep``: tiles go to the worker pool (or the user's executor);
    waiting for them reports progress and hands every finished tile to ``on_tile``."""

    def __init__(self, submit: Callable, report: Callable, on_tile: Callable, t0_fraction: float = 0.0) -> None:
        self._submit, self._report, self._on_tile = submit, report, on_tile
        self._t0 = t0_fraction
        self.round = 0
        self._in_round = 0
        self._done_in_round = 0
        self._collecting = True

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> _Handle:
        if not self._collecting:  # the first submit after results: a new exchange round
            self._collecting = True
            self._in_round = self._done_in_round = 0
        if self._in_round == 0:
            self.round += 1
        self._in_round += 1
        return _Handle(self._submit(fn, *args), self)

    def fraction(self) -> float:
        span = 1.0 - self._t0
        done = self._done_in_round / max(self._in_round, 1)
        if self.round <= 1:
            return self._t0 + 0.85 * span * done
        # exchange rounds: each fills half of what is left of the last 15 %
        base = 0.85 + 0.15 * (1 - 0.5 ** (self.round - 2))
        return self._t0 + span * (base + 0.15 * 0.5 ** (self.round - 1) * done)

    def message(self) -> str:
        what = "tile" if self.round <= 1 else f"border exchange {self.round - 1}, tile"
        return f"{what} {min(self._done_in_round + 1, self._in_round)} of {self._in_round}"

    def _result(self, inner: Any) -> Any:
        self._collecting = False
        out = _wait(inner, self._report, self.fraction, self.message)
        self._done_in_round += 1
        self._on_tile(out)
        self._report(self.fraction(), self.message())
        return out


class BifurcationState:
    """Scriptable state behind :class:`BifurcationExplorer`.

    Parameters
    ----------
    result : BifurcationMap, optional
        A 2-D map computed before (with :func:`rnnexplore.dynamics.bifurcation.sweep`).
    model, grid, max_order :
        Alternatively, compute the map here: ``sweep(model, grid, max_order, **sweep_kwargs)``.
    zoom_shape : (int, int), optional
        Resolution of a zoomed recompute (default: the shape of the first map).
    line_points : int
        Number of values of the 1-D diagram along a line.
    n_trajectories, n_steps : int
        Trajectories simulated for the phase portrait of the selection.
    confirm_above : float
        Seconds: a zoom whose measured estimate is longer asks for confirmation first.
    workers : int
        Worker processes of the background jobs (ignored when ``executor`` is given: then the
        tiles go to that executor and a cancel stops at the next finished tile).
    **sweep_kwargs
        Passed to every :func:`~rnnexplore.dynamics.bifurcation.sweep` (``executor``, ``seed``, ...).

    Attributes
    ----------
    result : BifurcationMap
        The map shown now; ``history`` holds the maps before each zoom.
    selected : (int, int) or None
        Grid index of the selected point.
    line_axis : int
        0: the 1-D diagram varies the x parameter (y fixed at the selection), 1: the y one.
    line_map : BifurcationMap or None
        The 1-D sweep along the line.
    job : Job or None
        The background job running or finished last.
    partial : dict or None
        While a zoom job computes: ``{"rect": (x0, x1, y0, y1), "shape": (n0, n1), "counts":
        (n1, n0) float array}`` - objects found so far per point, NaN where no tile finished yet.
    timings : dict
        Wall times of the last jobs (``"zoom"``, ``"line"``, ``"estimate"``).
    """

    def __init__(self, result: BifurcationMap | None = None, *, model: Any = None, grid: Any = None,
                 max_order: int | None = None, zoom_shape: tuple[int, int] | None = None,
                 line_points: int = 81, n_trajectories: int = 3, n_steps: int = 300,
                 confirm_above: float = 60.0, workers: int = 1, **sweep_kwargs: Any) -> None:
        if result is None:
            if model is None or grid is None or max_order is None:
                raise ValueError("pass a 2-D BifurcationMap, or model, grid and max_order to compute one")
            result = sweep(model, grid, max_order, **sweep_kwargs)
        if not isinstance(result, BifurcationMap):
            raise ValueError(f"result must be a BifurcationMap, got {type(result).__name__}")
        if result.ndim != 2:
            raise ValueError("the bifurcation explorer needs a 2-D map (sweep over two parameters)")
        self.result = result
        self.history: list[BifurcationMap] = []
        self.sweep_kwargs = dict(sweep_kwargs)
        self.sweep_kwargs.pop("orbit", None)
        if zoom_shape is not None and (not isinstance(zoom_shape, (tuple, list)) or len(zoom_shape) != 2):
            raise ValueError(f"zoom_shape must be two sizes >= 2, got {zoom_shape!r}")
        self.zoom_shape = (tuple(check_int(n, "zoom_shape entry", minimum=2, maximum=4096) for n in zoom_shape)
                           if zoom_shape is not None else result.shape)
        if min(self.zoom_shape) < 2:
            raise ValueError(f"zoom_shape must be two sizes >= 2, got {self.zoom_shape!r}")
        self.line_points = check_int(line_points, "line_points", minimum=2, maximum=100_000)
        self.n_trajectories = check_int(n_trajectories, "n_trajectories", minimum=0, maximum=1000)
        self.n_steps = check_int(n_steps, "n_steps", minimum=1, maximum=100_000)
        self.selected: tuple[int, int] | None = None
        self.line_axis = 0
        self.line_map: BifurcationMap | None = None
        self.confirm_above = check_real(confirm_above, "confirm_above", minimum=0.0)
        self.pool = WorkerPool(workers)
        self.job: Job | None = None
        self.partial: dict | None = None
        self.timings: dict[str, float] = {}
        self.last_cost: SweepCost | None = None

    # ------------------------------------------------------------------ map
    @property
    def names(self) -> tuple[str, str]:
        return str(self.result.names[0]), str(self.result.names[1])

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """``(x0, x1, y0, y1)`` of the image: grid values padded by half a step."""
        def pad(v):
            h = 0.5 * (v[1] - v[0]) if len(v) > 1 else 0.5
            return float(v[0] - h), float(v[-1] + h)

        return pad(self.result.values0) + pad(self.result.values1)

    def image(self, colour: str = "count") -> tuple[np.ndarray, list[str]]:
        """Image ``(n1, n0)`` (rows = y) for ``imshow(origin="lower")`` and its labels.

        ``colour``: "count" (objects per point), "signature" (label index of the stability
        signature; labels name it in words, e.g. "stable 16-cycle + saddle 16-cycle") or
        "stable" (stable objects per point).
        """
        if colour == "count":
            img = self.result.n_objects()
            labels = [str(v) for v in range(int(img.max()) + 1)]
        elif colour == "stable":
            img = self.result.counts("stable").sum(axis=2)
            labels = [str(v) for v in range(int(img.max()) + 1)]
        elif colour == "signature":
            img, texts = self.result.signatures()
            labels = [signature_words(t) for t in texts]
        else:
            raise ValueError(f"colour must be one of {COLOUR_MODES}, got {colour!r}")
        return np.asarray(img).T, labels

    def title(self, colour: str = "count") -> str:
        """What the map shows, for its title: the colour, the ranges, the resolution, the orders."""
        what = {"count": "objects per point", "stable": "stable objects per point",
                "signature": "stability signature"}[colour]
        r = self.result
        n0, n1 = r.shape
        (a, b), (c, d) = (r.values0[[0, -1]], r.values1[[0, -1]])
        return (f"{what} (orders <= {r.max_order}), {n0} x {n1} points\n"
                f"{self.names[0]} in [{a:.4g}, {b:.4g}], {self.names[1]} in [{c:.4g}, {d:.4g}]")

    def curves(self) -> dict[str, np.ndarray]:
        """Bifurcation curves of the current map (kind -> segments; cached per map)."""
        if getattr(self, "_curves_of", None) is not self.result:
            self._curves = self.result.curves()
            self._curves_of = self.result
        return self._curves

    def nearest(self, x: float, y: float) -> tuple[int, int]:
        """Grid index nearest to the parameter point ``(x, y)``."""
        if x is None or y is None or not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError("the point must have finite coordinates")
        i = int(np.argmin(np.abs(self.result.values0 - x)))
        j = int(np.argmin(np.abs(self.result.values1 - y)))
        return i, j

    # ------------------------------------------------------------------ selection
    def select(self, x: float, y: float) -> "BifurcationState":
        """Select the grid point nearest to ``(x, y)`` (parameter values)."""
        self.selected = self.nearest(x, y)
        return self

    def select_index(self, i: int, j: int) -> "BifurcationState":
        """Select grid index ``(i, j)``."""
        self.result._check_index(i, j)
        self.selected = (int(i), int(j))
        return self

    @property
    def params(self) -> dict[str, float] | None:
        """Parameter values of the selection."""
        return None if self.selected is None else self.result.params_at(*self.selected)

    @property
    def model(self) -> Any:
        """Model at the selection (the base model when nothing is selected)."""
        return self.result.model if self.selected is None else self.result.model_at(*self.selected)

    @property
    def cycles(self) -> list:
        """Objects found at the selection (from the map; no new search)."""
        return [] if self.selected is None else list(self.result.cycles_at(*self.selected))

    def trajectories(self) -> list[np.ndarray]:
        """A few simulated orbits at the selection (seeded by the grid index), NaN once diverged."""
        if self.selected is None:
            return []
        m = self.model
        pts = [c.points for c in self.cycles]
        scale = 1.0 + (float(np.max(np.abs(np.concatenate(pts)))) if pts else 1.0)
        rng = np.random.default_rng([int(self.result.seed), *self.selected])
        z0 = rng.uniform(-scale, scale, (self.n_trajectories, m.M))
        traj = simulate_orbits(m, z0, self.n_steps)
        return [traj[:, b] for b in range(self.n_trajectories)]

    def events_here(self) -> list[str]:
        """Events between the selection and its grid neighbours, as text."""
        if self.selected is None:
            return []
        p = self.selected
        out = []
        for a, b, ev in self.result.events():
            if a == p or b == p:
                q = b if a == p else a
                other = self.result.params_at(*q)
                where = ", ".join(f"{k} = {v:.4g}" for k, v in other.items())
                out.append(f"towards ({where}): {ev.description}")
        return out

    def summary(self) -> str:
        """One line on the current map and the selection."""
        r = self.result
        n0, n1 = r.shape
        text = (f"{n0} x {n1} map of {self.names[0]} x {self.names[1]} up to order {r.max_order}: "
                f"{len(r.ev_kind)} events, {r.solves_per_point:.0f} solves/point; {r.proven_summary()}")
        if self.selected is not None:
            where = ", ".join(f"{k} = {v:.4g}" for k, v in self.params.items())
            po = int(r.proven_order[self.selected])
            how = ("proven complete" if po == r.max_order else
                   f"proven complete to order {po}" if po else "not proven complete")
            text += f"; selected {where}: {len(self.cycles)} object(s), {how}"
        return text

    def proven_image(self) -> np.ndarray:
        """``(n1, n0)`` image (rows = y, like :meth:`image`) of the highest order up to which
        each point's object set is proven complete (``max_order``: the whole cell is proven),
        for a "proven cells" layer (:attr:`BifurcationMap.proven_order`)."""
        return np.asarray(self.result.proven_order).T

    # ------------------------------------------------------------------ zoom
    def zoom_grid(self, x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int] | None = None
                  ) -> dict[str, np.ndarray]:
        """The grid of a zoom into ``[x0, x1] x [y0, y1]`` (validated; corners in any order)."""
        vals = np.array([x0, x1, y0, y1], dtype=float)
        if not np.all(np.isfinite(vals)):
            raise ValueError("the rectangle must have finite corners")
        (x0, x1), (y0, y1) = sorted(vals[:2]), sorted(vals[2:])
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise ValueError("the rectangle must have a positive width and height")
        n0, n1 = shape if shape is not None else self.zoom_shape
        if min(n0, n1) < 2:
            raise ValueError(f"the zoom resolution must be >= 2 points per axis, got {(n0, n1)}")
        return {self.names[0]: np.linspace(x0, x1, int(n0)), self.names[1]: np.linspace(y0, y1, int(n1))}

    def _commit_zoom(self, new: BifurcationMap) -> None:
        self.history.append(self.result)
        self.result = new
        self.selected = None
        self.line_map = None

    def zoom(self, x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int] | None = None
             ) -> "BifurcationState":
        """Recompute the map over the rectangle ``[x0, x1] x [y0, y1]`` at ``shape`` resolution (blocking)."""
        grid = self.zoom_grid(x0, x1, y0, y1, shape)
        self._commit_zoom(sweep(self.result.model, grid, self.result.max_order, **self.sweep_kwargs))
        return self

    def estimate_zoom(self, x0: float, x1: float, y0: float, y1: float,
                      shape: tuple[int, int] | None = None) -> SweepCost:
        """Measured cost of a zoom (blocking; :meth:`start_zoom` measures in the background)."""
        grid = self.zoom_grid(x0, x1, y0, y1, shape)
        return measure_sweep_cost(self.result.model, grid, self.result.max_order, **self.sweep_kwargs)

    def _start(self, work: Callable, kind: str, on_progress, on_done, on_error, on_cancel) -> Job:
        self.cancel()

        def done(result):
            if not isinstance(result, NeedsConfirmation):
                if kind == "zoom":
                    self._commit_zoom(result)
                else:
                    self.line_map = result
            self.timings[kind] = job.elapsed
            self.partial = None
            if on_done is not None:
                on_done(result)

        def error(exc, tb):
            self.partial = None
            if on_error is not None:
                on_error(exc, tb)

        def cancelled():
            self.partial = None
            if self.sweep_kwargs.get("executor") is None:
                self.pool.terminate()  # the tile in the worker stops now, not when it ends
            if on_cancel is not None:
                on_cancel()

        job = Job(work, on_progress=on_progress, on_done=done, on_error=error, on_cancel=cancelled,
                  name=f"rnnexplore-bif-{kind}")
        self.job = job
        return job.start()

    def _sweep_in_background(self, report: Callable, grid: dict, model: Any, t0: float,
                             stream: bool) -> BifurcationMap:
        n0 = len(next(iter(grid.values())))
        n1 = len(list(grid.values())[1]) if len(grid) > 1 else 1
        if stream:
            counts = np.full((n1, n0), np.nan)
            vals = list(grid.values())
            self.partial = {"rect": (float(vals[0][0]), float(vals[0][-1]), float(vals[1][0]), float(vals[1][-1])),
                            "shape": (n0, n1), "counts": counts}

        def on_tile(chunk):
            if not stream:
                return
            for res in chunk:  # a tile's result: {"state": {"points": ..., "rows": {"pt": ...}, ...}}
                res = res.get("state") if isinstance(res, dict) else None
                if isinstance(res, dict) and "points" in res and "rows" in res:
                    pts = np.asarray(res["points"], dtype=np.int64)
                    per = np.bincount(np.searchsorted(pts, np.asarray(res["rows"]["pt"], dtype=np.int64)),
                                      minlength=len(pts))
                    i, j = np.unravel_index(pts, (n0, n1))
                    counts[j, i] = per
            if self.partial is not None:
                self.partial = dict(self.partial, counts=counts.copy())

        user = self.sweep_kwargs.get("executor")
        submit = self.pool.submit if user is None else user.submit
        ex = _StreamingExecutor(submit, report, on_tile, t0)
        kw = dict(self.sweep_kwargs, executor=ex, chunksize=1)
        if stream and self.sweep_kwargs.get("continuation", True) is not False:
            kw["continuation"] = self.stream_options(self.sweep_kwargs.get("continuation", True), (n0, n1))
        return sweep(model, grid, self.result.max_order, **kw)

    @staticmethod
    def stream_options(continuation: Any, shape: tuple[int, int]) -> Any:
        """Continuation options of a streamed zoom: tiles of about a sixteenth of the map (at
        least 16 points a side), so finished tiles come in one after another."""
        from dataclasses import replace

        from rnnexplore.dynamics.continuation import ContinuationOptions

        opts = ContinuationOptions.coerce(continuation)
        if opts.tile is not None:
            return opts
        return replace(opts, tile=max(16, -(-max(shape) // 4)))

    def start_zoom(self, x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int] | None = None, *,
                   confirmed: bool = False, on_progress: Callable | None = None, on_done: Callable | None = None,
                   on_error: Callable | None = None, on_cancel: Callable | None = None) -> Job:
        """Zoom in the background; returns the running :class:`~rnnexplore.apps.jobs.Job`.

        The job first measures the cost (unless ``confirmed``); if the estimate is above
        ``confirm_above`` it ends with a ``NeedsConfirmation`` (start again with
        ``confirmed=True``). Otherwise the tiles are computed in the worker process and stream
        into ``partial``; the new map replaces the shown one when it is complete
        (``on_done(map)``). Callbacks run in the job's thread. Starting a job cancels the
        running one.
        """
        grid = self.zoom_grid(x0, x1, y0, y1, shape)
        rect = tuple(float(v) for v in (*grid[self.names[0]][[0, -1]], *grid[self.names[1]][[0, -1]]))
        n = (len(grid[self.names[0]]), len(grid[self.names[1]]))
        model = self.result.model
        work_kw = {k: v for k, v in self.sweep_kwargs.items() if k not in ("executor", "progress", "chunksize")}

        def work(report):
            t0 = 0.0
            if not confirmed:
                report(0.0, "estimating the cost ...")
                t = time.perf_counter()
                handle = self.pool.submit(_measure_work, model.to_dict(), grid, self.result.max_order, work_kw)
                cost = _wait(handle, report, lambda: 0.0, lambda: "estimating the cost ...")
                self.timings["estimate"] = time.perf_counter() - t
                self.last_cost = cost
                if cost.seconds > self.confirm_above:
                    return NeedsConfirmation(cost, rect, n)
                t0 = 0.05
            report(t0, f"computing a {n[0]} x {n[1]} map ...")
            return self._sweep_in_background(report, grid, model, t0, stream=True)

        return self._start(work, "zoom", on_progress, on_done, on_error, on_cancel)

    def cancel(self) -> None:
        """Cancel the running job (if any): the worker process is ended, nothing is committed."""
        job = self.job
        if job is not None and job.running:
            job.cancel()
            if self.sweep_kwargs.get("executor") is None:
                self.pool.terminate()
            job.wait(5.0)
        self.partial = None

    def close(self) -> None:
        """Cancel any job and end the worker process."""
        self.cancel()
        self.pool.terminate()

    def back(self) -> "BifurcationState":
        """Return to the map before the last zoom (no-op at the first map)."""
        if self.history:
            self.result = self.history.pop()
            self.selected = None
            self.line_map = None
        return self

    # ------------------------------------------------------------------ 1-D line
    def line_grid(self, axis: int | None = None) -> tuple[Any, dict[str, np.ndarray]]:
        """Base model and grid of the 1-D diagram through the selection varying parameter ``axis``."""
        if axis is not None:
            if axis not in (0, 1):
                raise ValueError(f"axis must be 0 (x) or 1 (y), got {axis!r}")
            self.line_axis = int(axis)
        if self.selected is None:
            raise ValueError("select a point first (the line passes through it)")
        r = self.result
        vary = self.names[self.line_axis]
        fixed = self.names[1 - self.line_axis]
        vals = r.values0 if self.line_axis == 0 else r.values1
        base = r.model.with_params({fixed: self.params[fixed]})
        return base, {vary: np.linspace(float(vals[0]), float(vals[-1]), self.line_points)}

    def compute_line(self, axis: int | None = None) -> BifurcationMap:
        """1-D diagram along the line through the selection that varies parameter ``axis`` (blocking)."""
        base, grid = self.line_grid(axis)
        self.line_map = sweep(base, grid, self.result.max_order, **self.sweep_kwargs)
        return self.line_map

    def start_line(self, axis: int | None = None, *, on_progress: Callable | None = None,
                   on_done: Callable | None = None, on_error: Callable | None = None,
                   on_cancel: Callable | None = None) -> Job:
        """:meth:`compute_line` in the background (the worker process); ``on_done(line_map)``."""
        base, grid = self.line_grid(axis)

        def work(report):
            report(0.0, f"computing the 1-D diagram ({self.line_points} values) ...")
            return self._sweep_in_background(report, grid, base, 0.0, stream=False)

        return self._start(work, "line", on_progress, on_done, on_error, on_cancel)
