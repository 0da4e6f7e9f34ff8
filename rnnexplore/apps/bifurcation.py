"""Scriptable state of the bifurcation-map app (no widgets, no matplotlib).

:class:`BifurcationState` holds the current :class:`~rnnexplore.dynamics.bifurcation.BifurcationMap`,
the selected grid point (its model and objects), the zoom history, and a 1-D diagram along a
line through the selection; :class:`rnnexplore.widgets.bifurcation.BifurcationExplorer` draws it.

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
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnexplore._validation import check_int
from rnnexplore.dynamics.bifurcation import BifurcationMap, sweep
from rnnexplore.dynamics.orbits import simulate_orbits

__all__ = ["BifurcationState", "COLOUR_MODES"]

COLOUR_MODES = ("count", "signature", "stable")


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
    """

    def __init__(self, result: BifurcationMap | None = None, *, model: Any = None, grid: Any = None,
                 max_order: int | None = None, zoom_shape: tuple[int, int] | None = None,
                 line_points: int = 81, n_trajectories: int = 3, n_steps: int = 300,
                 **sweep_kwargs: Any) -> None:
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
        signature; labels are the signature texts) or "stable" (stable objects per point).
        """
        if colour == "count":
            img = self.result.n_objects()
            labels = [str(v) for v in range(int(img.max()) + 1)]
        elif colour == "stable":
            img = self.result.counts("stable").sum(axis=2)
            labels = [str(v) for v in range(int(img.max()) + 1)]
        elif colour == "signature":
            img, labels = self.result.signatures()
        else:
            raise ValueError(f"colour must be one of {COLOUR_MODES}, got {colour!r}")
        return np.asarray(img).T, labels

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
                f"{len(r.ev_kind)} events, {r.solves_per_point:.0f} solves/point")
        if self.selected is not None:
            where = ", ".join(f"{k} = {v:.4g}" for k, v in self.params.items())
            text += f"; selected {where}: {len(self.cycles)} object(s)"
        return text

    # ------------------------------------------------------------------ zoom
    def zoom(self, x0: float, x1: float, y0: float, y1: float, shape: tuple[int, int] | None = None
             ) -> "BifurcationState":
        """Recompute the map over the rectangle ``[x0, x1] x [y0, y1]`` at ``shape`` resolution."""
        vals = np.array([x0, x1, y0, y1], dtype=float)
        if not np.all(np.isfinite(vals)):
            raise ValueError("the rectangle must have finite corners")
        (x0, x1), (y0, y1) = sorted(vals[:2]), sorted(vals[2:])
        if x1 - x0 <= 0 or y1 - y0 <= 0:
            raise ValueError("the rectangle must have a positive width and height")
        n0, n1 = shape if shape is not None else self.zoom_shape
        if min(n0, n1) < 2:
            raise ValueError(f"the zoom resolution must be >= 2 points per axis, got {(n0, n1)}")
        r = self.result
        grid = {self.names[0]: np.linspace(x0, x1, int(n0)), self.names[1]: np.linspace(y0, y1, int(n1))}
        new = sweep(r.model, grid, r.max_order, **self.sweep_kwargs)
        self.history.append(r)
        self.result = new
        self.selected = None
        self.line_map = None
        return self

    def back(self) -> "BifurcationState":
        """Return to the map before the last zoom (no-op at the first map)."""
        if self.history:
            self.result = self.history.pop()
            self.selected = None
            self.line_map = None
        return self

    # ------------------------------------------------------------------ 1-D line
    def compute_line(self, axis: int | None = None) -> BifurcationMap:
        """1-D diagram along the line through the selection that varies parameter ``axis``."""
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
        grid = {vary: np.linspace(float(vals[0]), float(vals[-1]), self.line_points)}
        self.line_map = sweep(base, grid, r.max_order, **self.sweep_kwargs)
        return self.line_map
