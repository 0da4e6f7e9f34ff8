"""What a sweep will cost on this machine: a two-term cost model measured on the engine itself.

A :func:`~rnnexplore.dynamics.bifurcation.sweep` spends its time in two kinds of grid points:
points of the coarse sub-grid get a full :func:`~rnnexplore.dynamics.cycles.find_cycles` search,
every other point a warm-started continuation search from its neighbours. The two costs
differ by an order of magnitude, and the share of full searches depends on the grid size, so a
single "seconds per point" is wrong by a large factor on either small or large grids. The model
here is

    seconds = n_full * full_search_seconds + (n_points - n_full) * continuation_seconds

with both constants *measured* on the model, orders and sweep options at hand: a few full
searches timed at grid points of the request, and a small patch of the requested grid (same
grid step, one full search) swept with continuation. Measuring costs about as much as sweeping
an 8 x 8 patch, so apps run it in the background before deciding whether to ask the user
("about 40 min on this machine - compute anyway?").

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import skew_tent
>>> grid = {"A[0]": np.linspace(-0.8, 0.8, 30), "W[0,0]": np.linspace(-2.9, 1.9, 40)}
>>> cost = measure_sweep_cost(skew_tent(0.2, 0.0, 1.0), grid, 2)
>>> cost.n_points, cost.n_full, cost.coarse
(1200, 35, 6)
>>> cost.seconds > 0
True
>>> format_seconds(2400.0)
'about 40 min'
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from rnnexplore._validation import check_int, check_real
from rnnexplore.dynamics.bifurcation import check_grid, sweep
from rnnexplore.dynamics.continuation import ContinuationOptions
from rnnexplore.dynamics.cycles import SearchBudget, find_cycles

__all__ = ["SweepCost", "default_coarse", "n_full_searches", "measure_sweep_cost", "estimate_sweep_seconds",
           "format_seconds"]

# sweep() options that change the work (passed on to the measurement); the others (executor,
# chunksize, progress, tile) only change where and how it runs
_WORK_OPTIONS = ("seed", "budget", "continuation", "tol", "orbit", "orbit_steps", "n_orbits")


def default_coarse(shape: tuple[int, ...]) -> int:
    """Step of the full-search sub-grid that :func:`sweep` uses when ``coarse`` is not given.

    ``max(2, n // 5)`` for the smallest grid size ``n`` (the default of
    :class:`~rnnexplore.dynamics.continuation.ContinuationOptions`; a test checks this against
    the points ``sweep`` really searched from scratch).

    Examples
    --------
    >>> default_coarse((81, 81)), default_coarse((12, 40)), default_coarse((200,))
    (16, 2, 40)
    """
    return max(2, min(int(n) for n in shape) // 5)


def n_full_searches(shape: tuple[int, ...], coarse: int) -> int:
    """Grid points whose indices are all multiples of ``coarse`` (the full searches of a sweep).

    Examples
    --------
    >>> n_full_searches((81, 81), 16), n_full_searches((10,), 4)
    (36, 3)
    """
    return math.prod(-(-int(n) // int(coarse)) for n in shape)


def format_seconds(seconds: float) -> str:
    """A duration as a person says it: "about 5 s", "about 3 min", "about 2.5 h".

    Examples
    --------
    >>> format_seconds(4.2), format_seconds(95), format_seconds(9000)
    ('about 4 s', 'about 2 min', 'about 2.5 h')
    """
    s = check_real(seconds, "seconds", minimum=0.0)
    if s < 90:
        return f"about {max(1, round(s))} s"
    if s < 90 * 60:
        return f"about {round(s / 60)} min"
    return f"about {s / 3600:.1f} h"


@dataclass(frozen=True)
class SweepCost:
    """Measured cost constants of one sweep request and the prediction they give.

    Attributes
    ----------
    shape : tuple of int
        Grid shape of the request.
    coarse : int
        Step of its full-search sub-grid.
    full_search_seconds : float
        Mean wall time of one full search at a grid point.
    continuation_seconds : float
        Mean wall time of one continuation point at the request's grid step.
    measured_seconds : float
        Time spent measuring.
    overhead_seconds : float
        Fixed cost of one sweep call (tiles, events, building the map), measured on a 2-point patch.
    """

    shape: tuple[int, ...]
    coarse: int
    full_search_seconds: float
    continuation_seconds: float
    measured_seconds: float
    overhead_seconds: float = 0.0

    @property
    def n_points(self) -> int:
        return math.prod(self.shape)

    @property
    def n_full(self) -> int:
        return n_full_searches(self.shape, self.coarse)

    @property
    def seconds(self) -> float:
        """Predicted wall time of the sweep, serial, on this machine."""
        return (self.overhead_seconds + self.n_full * self.full_search_seconds
                + (self.n_points - self.n_full) * self.continuation_seconds)

    def describe(self) -> str:
        """E.g. ``"81 x 81 points: about 70 s on this machine"``."""
        size = " x ".join(str(n) for n in self.shape)
        return f"{size} points: {format_seconds(self.seconds)} on this machine"


def _centred(values: np.ndarray, k: int) -> np.ndarray:
    start = max(0, (len(values) - k) // 2)
    return values[start : start + k]


def measure_sweep_cost(model: Any, grid: Mapping[str, Any], max_order: int, *, patch: int = 8,
                       n_full: int = 2, **sweep_kwargs: Any) -> SweepCost:
    """Measure the two cost constants of ``sweep(model, grid, max_order, **sweep_kwargs)``.

    Parameters
    ----------
    model, grid, max_order, **sweep_kwargs
        The request, as for :func:`~rnnexplore.dynamics.bifurcation.sweep` (``executor``,
        ``chunksize``, ``progress`` and ``tile`` are ignored: the estimate is for a serial run).
    patch : int
        Points per axis of the measured patch (the centre of the grid, at its grid step).
    n_full : int
        Full searches timed (at the centre and spread along the grid's diagonal).

    Returns
    -------
    SweepCost
    """
    names, values = check_grid(model, grid)
    max_order = check_int(max_order, "max_order", minimum=1)
    patch = check_int(patch, "patch", minimum=2)
    n_full = check_int(n_full, "n_full", minimum=1)
    shape = tuple(len(v) for v in values)
    work = {k: v for k, v in sweep_kwargs.items() if k in _WORK_OPTIONS}
    cont = work.pop("continuation", True)
    opts = None if cont is False else ContinuationOptions.coerce(cont)
    coarse = 1 if opts is None else (opts.coarse or default_coarse(shape))
    t_start = time.perf_counter()

    # full searches, timed at points spread along the diagonal of the grid
    budget = SearchBudget.coerce(work.get("budget"))
    times = []
    for n in range(n_full):
        frac = 0.5 if n == 0 else n / n_full
        upd = {name: float(v[min(len(v) - 1, int(frac * len(v)))]) for name, v in zip(names, values)}
        m = model.with_params(upd)
        t = time.perf_counter()
        find_cycles(m, max_order, seed=n, budget=budget)
        times.append(time.perf_counter() - t)
    full_s = float(np.mean(times))
    if opts is None:  # no continuation: every point is a full search
        return SweepCost(shape, 1, full_s, 0.0, time.perf_counter() - t_start)

    # a patch of the request at its grid step with one full search (coarse = the patch size)
    sub = {name: _centred(v, min(patch, len(v))) for name, v in zip(names, values)}
    k = max(len(v) for v in sub.values())
    n_patch = math.prod(len(v) for v in sub.values())
    t = time.perf_counter()
    sweep(model, sub, max_order, continuation=replace(opts, coarse=k, tile=None), **work)
    patch_s = time.perf_counter() - t
    # the same with 2 points per axis: both hold one full search and the fixed cost of a sweep call
    # (tiles, events, the map), so their difference is the continuation points alone
    small = {name: _centred(v, min(2, len(v))) for name, v in zip(names, values)}
    n_small = math.prod(len(v) for v in small.values())
    t = time.perf_counter()
    sweep(model, small, max_order, continuation=replace(opts, coarse=2, tile=None), **work)
    small_s = time.perf_counter() - t
    if n_patch > n_small:
        cont_s = max(patch_s - small_s, 0.0) / (n_patch - n_small)
    else:
        cont_s = max(patch_s - full_s, 0.0) / max(n_patch - 1, 1)
    overhead = max(small_s - full_s - (n_small - 1) * cont_s, 0.0)
    return SweepCost(shape, coarse, full_s, cont_s, time.perf_counter() - t_start, overhead)


def estimate_sweep_seconds(model: Any, grid: Mapping[str, Any], max_order: int, **sweep_kwargs: Any) -> float:
    """Predicted serial wall time of a sweep, from :func:`measure_sweep_cost`.

    Examples
    --------
    >>> import numpy as np
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> estimate_sweep_seconds(skew_tent(0.2, 0.5, 1.0), {"A[0]": np.linspace(0.8, 1.2, 20)}, 2) > 0
    True
    """
    return measure_sweep_cost(model, grid, max_order, **sweep_kwargs).seconds
