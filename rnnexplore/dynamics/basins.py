"""Basins of attraction: which attractor each initial condition reaches (vectorised).

Every start is iterated with the model in one batch (all starts advance together, one numpy
step per iteration); a start is *captured* by a stable object once its orbit comes within
``tol`` of one of that object's points and stays near the object for the next full period.
What is left after ``max_steps`` is labelled ``"diverges"`` (the kit's one divergence rule,
:func:`rnnexplore.dynamics.orbits.diverged`) or ``"other"`` (a chaotic attractor, a stable
object the search did not find, or a start still on its way).

:func:`basin_labels` labels arbitrary states; :func:`basin_grid` labels a grid of a plane of
the phase portrait (2-D models directly, a plane through a state for M > 2).

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.models import PLRNN
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> m = PLRNN([0.5], [[0.0]], [1.0])                 # z' = 0.5 z + 1: stable fixed point 2
>>> b = basin_labels(m, find_cycles(m, 2, seed=0), [[0.0], [5.0], [-3.0]])
>>> b.labels.tolist(), b.names
([0, 0, 0], ['stable fixed point', 'diverges', 'other'])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_callable, check_int, check_real
from rnnexplore.dynamics.orbits import diverged

__all__ = ["Basins", "basin_labels", "basin_grid", "object_name"]


def object_name(cycle: Any) -> str:
    """Human name of an object: ``"stable fixed point"``, ``"saddle 16-cycle"``.

    Examples
    --------
    >>> class C: order, stability = 16, "saddle"
    >>> object_name(C())
    'saddle 16-cycle'
    """
    what = "fixed point" if cycle.order == 1 else f"{cycle.order}-cycle"
    return f"{cycle.stability} {what}"


@dataclass
class Basins:
    """Basin labels of a set of starts.

    Attributes
    ----------
    labels : ndarray of int
        Index into :attr:`names`: ``0 .. n_attractors - 1`` the stable objects (in the order
        given), then ``n_attractors`` = "diverges", ``n_attractors + 1`` = "other".
    names : list of str
        Human names of the labels (stable objects numbered when several share a name).
    attractors : list
        The stable objects, in label order.
    steps : int
        Iterations run (the batch stops early once every start is decided).
    shape : tuple, optional
        Grid shape (ny, nx) for :func:`basin_grid`; ``extent`` ``(x0, x1, y0, y1)`` likewise.
    """

    labels: np.ndarray
    names: list[str]
    attractors: list
    steps: int
    shape: tuple[int, ...] | None = None
    extent: tuple[float, float, float, float] | None = None

    @property
    def n_attractors(self) -> int:
        return len(self.attractors)

    def fractions(self) -> dict[str, float]:
        """Share of starts per label name (a name missing from the labels has share 0)."""
        n = max(1, self.labels.size)
        return {name: float(np.sum(self.labels == i)) / n for i, name in enumerate(self.names)}


def _names(attractors: Sequence[Any]) -> list[str]:
    base = [object_name(c) for c in attractors]
    out = []
    for i, b in enumerate(base):
        n_same = base.count(b)
        out.append(b if n_same == 1 else f"{b} #{base[:i + 1].count(b)}")
    return out + ["diverges", "other"]


def basin_labels(model: Any, cycles: Sequence[Any], starts: Any, *, max_steps: int = 2000,
                 tol: float = 1e-4, chunk: int = 25, progress: Any = None) -> Basins:
    """Label each start by the stable object its orbit converges to.

    Parameters
    ----------
    model : piecewise-linear model (``step``, ``M``)
    cycles : sequence of objects with ``.points`` (k, M) and ``.stability``
        Only the ``"stable"`` ones are attractors.
    starts : array_like (n, M)
    max_steps : int
        Iterations at most.
    tol : float
        Capture distance (relative to ``1 + |point|``).
    chunk : int
        Iterations between capture checks.
    progress : callable, optional
        ``progress(fraction, message)`` between chunks (a background job's ``report``: its
        cancellation point).

    Returns
    -------
    Basins

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> m = paper_gt16()
    >>> b = basin_labels(m, find_cycles(m, 16, seed=0), [[0.5, 0.5]])
    >>> b.names[b.labels[0]]
    'stable 16-cycle'
    """
    M = int(model.M)
    z = check_array(starts, "starts", ndim=2)
    if z.shape[1] != M:
        raise ValueError(f"starts must have shape (n, {M}), got {z.shape}")
    max_steps = check_int(max_steps, "max_steps", minimum=1)
    chunk = check_int(chunk, "chunk", minimum=1)
    tol = check_real(tol, "tol", minimum=0.0)
    progress = check_callable(progress, "progress")
    attractors = [c for c in cycles if c.stability == "stable"]
    n_att = len(attractors)
    pts, owner, scale, period = _attractor_table(attractors, M, tol, chunk)
    labels = np.full(len(z), n_att + 1, dtype=np.int64)
    open_ = np.arange(len(z))
    cur = z.copy()
    steps = 0
    with np.errstate(all="ignore"):
        while len(open_) and steps < max_steps:
            if progress is not None:
                progress(steps / max_steps, f"basins: {len(open_)} starts undecided")
            for _ in range(min(chunk, max_steps - steps)):
                cur = model.step(cur)
                steps += 1
            div = diverged(cur)
            labels[open_[div]] = n_att
            keep = ~div
            cur, open_ = cur[keep], open_[keep]
            if not len(open_) or not n_att:
                continue
            idx, cand = _captured(model, cur, pts, owner, scale, period)
            labels[open_[idx]] = cand
            done = np.zeros(len(open_), dtype=bool)
            done[idx] = True
            cur, open_ = cur[~done], open_[~done]
    return Basins(labels=labels, names=_names(attractors), attractors=attractors, steps=steps)


def _attractor_table(attractors: Sequence[Any], M: int, tol: float,
                     chunk: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """All attractor points in one table ``(P, M)``, the owning attractor of each, their capture
    radii and the confirmation period (the lcm of the orders, or the longest one if that is
    above ``4 chunk``)."""
    if not attractors:
        return np.zeros((0, M)), np.zeros(0, dtype=int), np.zeros(0), 1
    pts = np.vstack([np.asarray(c.points, float).reshape(-1, M) for c in attractors])
    owner = np.concatenate([np.full(len(c.points), i) for i, c in enumerate(attractors)])
    scale = tol * (1.0 + np.max(np.abs(pts), axis=1))
    period = int(np.lcm.reduce([len(c.points) for c in attractors]))
    period = period if period <= 4 * chunk else max(len(c.points) for c in attractors)
    return pts, owner, scale, period


def _captured(model: Any, cur: np.ndarray, pts: np.ndarray, owner: np.ndarray, scale: np.ndarray,
              period: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows of ``cur`` captured by an attractor, and its label: the nearest attractor point
    within its capture radius, confirmed one full period later (still at that object)."""
    d = np.max(np.abs(cur[:, None, :] - pts[None, :, :]), axis=2)  # (n, P)
    near = d <= scale[None, :]
    idx = np.flatnonzero(near.any(axis=1))
    if not len(idx):
        return idx, np.zeros(0, dtype=owner.dtype)
    cand = owner[np.argmax(near[idx], axis=1)]
    probe = cur[idx]
    own = owner[None, :] == cand[:, None]
    for _ in range(period):
        probe = model.step(probe)
    dd = np.max(np.abs(probe[:, None, :] - pts[None, :, :]), axis=2)
    ok = np.any((dd <= scale[None, :]) & own, axis=1)
    return idx[ok], cand[ok]


def basin_grid(model: Any, cycles: Sequence[Any], projection: Any, xlim: Sequence[float],
               ylim: Sequence[float], *, n: int = 120, **kwargs: Any) -> Basins:
    """Basins on an ``n x n`` grid of the plane of ``projection`` (cell centres).

    Parameters
    ----------
    model, cycles
        As for :func:`basin_labels`.
    projection : rnnexplore.dynamics.projection.Projection
        The plane (its ``lift`` turns plane points into states; for M > 2 a plane through
        the projection's origin).
    xlim, ylim : (lo, hi)
    n : int
        Cells per side.
    **kwargs
        Passed to :func:`basin_labels`.

    Returns
    -------
    Basins
        ``labels`` of shape (n, n), row ``i`` at ``y`` = the i-th cell centre from below.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> from rnnexplore.dynamics.projection import Projection
    >>> m = paper_gt16()
    >>> b = basin_grid(m, find_cycles(m, 16, seed=0), Projection.default(2), (-1, 1), (-1, 1), n=20)
    >>> b.labels.shape, sorted(b.fractions())[:2]
    ((20, 20), ['diverges', 'other'])
    """
    n = check_int(n, "n", minimum=2, maximum=2000)
    x0, x1 = (float(v) for v in xlim)
    y0, y1 = (float(v) for v in ylim)
    if not (np.isfinite([x0, x1, y0, y1]).all() and x0 < x1 and y0 < y1):
        raise ValueError(f"xlim and ylim must be finite (lo, hi) with lo < hi, got {xlim}, {ylim}")
    gx = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    gy = y0 + (np.arange(n) + 0.5) * (y1 - y0) / n
    X, Y = np.meshgrid(gx, gy)
    if projection.kind == "return":
        raise ValueError("basins need a plane of states (M >= 2); 1-D models show the return map")
    starts = projection.lift(np.column_stack([X.ravel(), Y.ravel()]))
    b = basin_labels(model, cycles, starts, **kwargs)
    b.labels = b.labels.reshape(n, n)
    b.shape = (n, n)
    b.extent = (x0, x1, y0, y1)
    return b
