"""Shared phase-portrait drawing for piecewise-linear RNNs, updated in place.

Used by the cycle explorer and reusable by any other view (bifurcation explorer, training
replay): create one :class:`PhasePortrait` on a matplotlib ``Axes`` once, then call
:meth:`PhasePortrait.update` with whatever changed. Every artist is created once in the
constructor and afterwards only updated (``set_data``, ``set_segments``, ``set_UVC``,
``AxesImage.set_data``), so a redraw after a slider event costs one ``draw_idle``.

What is drawn
-------------
- regions: the on/off pattern of the rectifiers on the plane, shaded (neighbouring regions
  always get different colours); the switching borders (``z_i = 0`` for a PLRNN, ``W2 z + h2
  = 0`` for a shallow PLRNN) as thin grey lines;
- trajectories: one line per start (a cobweb for 1-D maps), the start marked ``x``;
- objects (anything with ``.points`` (k, M) and ``.stability``, e.g.
  :class:`rnnexplore.dynamics.cycles.Cycle`): points marked by stability - stable filled, unstable
  hollow, saddle half-filled - and cycles of order >= 2 drawn as closed polygons;
- optional vector field: the direction of the step ``F(z) - z`` on a coarse grid; for 1-D
  maps the graph of ``F`` and the diagonal are always drawn instead (return map).

Projection
----------
M = 2 is drawn directly; for M > 2 pass a :class:`rnnexplore.dynamics.projection.Projection` (a pair of
units, or a PCA plane fitted to points); M = 1 uses the return map ``(z_t, z_{t+1})``. Regions
and borders are those of the plane slice through the projection's origin.

Examples
--------
>>> from matplotlib.figure import Figure
>>> from rnnexplore.dynamics.models import paper_gt16
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> from rnnexplore.widgets.portrait import PhasePortrait
>>> m = paper_gt16()
>>> fig = Figure(); ax = fig.add_subplot()
>>> pp = PhasePortrait(ax)
>>> pp.update(model=m, cycles=find_cycles(m, 16, seed=0), trajectories=[m.simulate([0.5, 0.5], 200)])
>>> data = pp.artist_data()
>>> data["stable"].shape, len(data["cycles"])          # 16 points of the stable 16-cycle
((16, 2), 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnexplore.dynamics.orbits import DIVERGENCE
from rnnexplore.dynamics.projection import Projection
from rnnexplore.widgets.base import STABILITY_STYLE

__all__ = ["PhasePortrait", "region_colour_index"]

_REGION_COLOURS = ["#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6",
                   "#ffffcc", "#e5d8bd", "#fddaec", "#f2f2f2", "#c7e9c0"]
_TRAJ_COLOURS = ["#4d4d4d", "tab:purple", "tab:green", "tab:brown", "tab:pink", "tab:olive",
                 "tab:cyan", "tab:gray"]


def region_colour_index(regions: np.ndarray) -> np.ndarray:
    """Colour index 0..9 of region bit patterns ``(..., n_bits)``.

    ``sum_i bit_i 2^i mod 10``: two regions that differ in one bit never share a colour.

    Examples
    --------
    >>> import numpy as np
    >>> region_colour_index(np.array([[0, 0], [1, 0], [0, 1], [1, 1]], dtype=bool)).tolist()
    [0, 1, 2, 3]
    """
    regions = np.asarray(regions, dtype=bool)
    weights = np.array([pow(2, i, 10) for i in range(regions.shape[-1])])
    return (regions.astype(np.int64) @ weights) % 10


def _clip_line(a: float, b: float, c: float, xlim, ylim) -> np.ndarray | None:
    """Segment of ``a x + b y + c = 0`` inside the rectangle, or None."""
    pts = []
    if abs(b) > 1e-12:
        for x in xlim:
            y = -(a * x + c) / b
            if ylim[0] <= y <= ylim[1]:
                pts.append((x, y))
    if abs(a) > 1e-12:
        for y in ylim:
            x = -(b * y + c) / a
            if xlim[0] <= x <= xlim[1]:
                pts.append((x, y))
    if len(pts) < 2:
        return None
    pts = np.array(pts)
    d = np.linalg.norm(pts[:, None] - pts[None], axis=-1)
    i, j = np.unravel_index(np.argmax(d), d.shape)
    return pts[[i, j]] if d[i, j] > 0 else None


def _cobweb(z: np.ndarray) -> np.ndarray:
    """Cobweb path ``(z0, z0) -> (z0, z1) -> (z1, z1) -> ...`` of a 1-D orbit (n,)."""
    x = np.repeat(z, 2)[:-1]
    y = np.concatenate([[z[0]], np.repeat(z[1:], 2)])
    return np.column_stack([x, y])


class PhasePortrait:
    """Phase portrait of a piecewise-linear RNN on one matplotlib Axes, updated in place.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    projection : Projection, optional
        Plane of the portrait (default chosen from the first model: units (0, 1), or the
        return map for M = 1).
    vector_field : bool
        Show the direction field of ``F(z) - z`` (M >= 2).
    shade : bool
        Shade the regions of the rectifiers.
    grid : int
        Resolution of the region shading (grid x grid).
    max_trajectories : int
        Number of trajectory lines kept (extra trajectories are not drawn).
    margin : float
        Fraction of padding around the content when rescaling.
    blit : bool
        Redraw by blitting: the background (regions, borders, axes, ticks, legend) is cached
        after each full draw and :meth:`refresh` only redraws objects and trajectories on top
        of it while the background is unchanged (works on Agg and ipympl canvases).

    Attributes
    ----------
    regions : AxesImage
    borders, cycle_lines : LineCollection
    markers : dict stability -> Line2D
    trajectory_lines : list of Line2D
    starts : Line2D
    field : Quiver
    graph, diagonal : Line2D (return map of 1-D models)

    Notes
    -----
    Call :meth:`update` (any subset of model/cycles/trajectories/projection), then
    :meth:`refresh` (a blit when possible, else ``draw_idle``). :meth:`lift` turns a clicked plane point into a state.
    :meth:`artist_data` returns what is currently drawn, for tests.
    """

    def __init__(self, ax, projection: Projection | None = None, *, vector_field: bool = False,
                 shade: bool = True, grid: int = 150, max_trajectories: int = 12,
                 margin: float = 0.15, blit: bool = False) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.colors import ListedColormap
        from matplotlib.lines import Line2D

        self.ax = ax
        self.projection = projection
        self.show_field = bool(vector_field)
        self.shade = bool(shade)
        self.grid = int(grid)
        self.margin = float(margin)
        self.model = None
        self._cycles: list = []
        self._trajs: list[np.ndarray] = []
        self._limits_set = False
        self._bg = None  # cached background pixels (blitting)
        self._bg_dirty = True
        self._bg_key: tuple = ()

        ax.set_xlim(-1, 1)
        ax.set_ylim(-1, 1)
        self.regions = ax.imshow(np.zeros((2, 2)), extent=(-1, 1, -1, 1), origin="lower",
                                 cmap=ListedColormap(_REGION_COLOURS), vmin=-0.5, vmax=9.5,
                                 alpha=0.55, interpolation="nearest", aspect="auto", zorder=0)
        self.regions.set_visible(self.shade)
        self.borders = LineCollection([], colors="0.45", linewidths=0.8, zorder=1)
        ax.add_collection(self.borders)
        self.graph = Line2D([], [], color="k", lw=1.2, zorder=2, label="map F")
        self.diagonal = Line2D([], [], color="0.5", lw=0.8, ls="--", zorder=1)
        ax.add_line(self.graph)
        ax.add_line(self.diagonal)
        n = 17
        g = np.linspace(-1, 1, n)
        X, Y = np.meshgrid(g, g)
        self.field = ax.quiver(X.ravel(), Y.ravel(), np.zeros(n * n), np.zeros(n * n), angles="xy",
                               scale_units="xy", scale=1.0, color="0.55", width=0.003, zorder=1)
        self.field.set_visible(False)
        self._field_n = n
        self.trajectory_lines = []
        for i in range(int(max_trajectories)):
            line = Line2D([], [], color=_TRAJ_COLOURS[i % len(_TRAJ_COLOURS)], lw=0.7, alpha=0.7,
                          marker=".", ms=2.5, zorder=3)
            ax.add_line(line)
            self.trajectory_lines.append(line)
        self.starts = Line2D([], [], ls="none", marker="x", color="k", ms=6, zorder=4)
        ax.add_line(self.starts)
        self.cycle_lines = LineCollection([], linewidths=1.3, zorder=5)
        ax.add_collection(self.cycle_lines)
        self.markers = {}
        for z, (stab, style) in enumerate(STABILITY_STYLE.items()):  # stable drawn on top
            line = Line2D([], [], ls="none", marker="o", ms=7, mew=1.5, color=style["color"],
                          markeredgecolor=style["color"], fillstyle=style["fillstyle"],
                          markerfacecoloralt="white", label=style["label"], zorder=8 - z)
            ax.add_line(line)
            self.markers[stab] = line
        ax.legend(handles=list(self.markers.values()), loc="upper right", fontsize=8, framealpha=0.8)
        self.dynamic_artists = sorted([*self.trajectory_lines, self.starts, self.cycle_lines, *self.markers.values()],
                                      key=lambda a: a.get_zorder())  # blits draw in this order
        self.blit = bool(blit)
        if self.blit:
            for a in self.dynamic_artists:
                a.set_animated(True)
            ax.figure.canvas.mpl_connect("draw_event", self._on_draw)

    # ------------------------------------------------------------------ public API
    def update(self, *, model: Any = None, cycles: Sequence | None = None,
               trajectories: Sequence | None = None, projection: Projection | None = None,
               rescale: bool = True) -> None:
        """Redraw what changed (every argument optional), rescaling the view if needed.

        Parameters
        ----------
        model : model with ``M``, ``step``, ``region``, ``switching``
            New model: regions, borders and vector field follow it.
        cycles : sequence of objects with ``.points`` (k, M) and ``.stability``
        trajectories : sequence of arrays (n, M)
            Diverging parts should be NaN (they are not drawn).
        projection : Projection
        rescale : bool
            Grow (or shrink when content is much smaller) the view to fit the content.
        """
        if projection is not None:
            self.projection = projection
        if model is not None:
            self.model = model
            if self.projection is None or self.projection.M != model.M:
                self.projection = Projection.default(model.M)
        if cycles is not None:
            self._cycles = list(cycles)
        if trajectories is not None:
            self._trajs = [np.asarray(t, dtype=float) for t in trajectories]
        if self.projection is None:
            return
        xl, yl = self.ax.get_xlabel(), self.ax.get_ylabel()
        labels = self.projection.labels
        if (xl, yl) != labels:
            self.ax.set_xlabel(labels[0])
            self.ax.set_ylabel(labels[1])
            self._bg_dirty = True
        self._draw_objects()
        self._draw_trajectories()
        limits_changed = self.autoscale() if rescale else False
        if limits_changed:
            self._bg_dirty = True
        if model is not None or projection is not None or limits_changed:
            self._draw_background()

    def refresh(self) -> str:
        """Show the last :meth:`update` on the canvas: ``"blit"`` (objects and trajectories
        redrawn over the cached background) or ``"full"`` (``draw_idle``)."""
        canvas = self.ax.figure.canvas
        if self.blit and self._bg is not None and not self._bg_dirty \
                and self._bg_key == self._canvas_key():
            canvas.restore_region(self._bg)
            for a in self.dynamic_artists:
                self.ax.draw_artist(a)
            canvas.blit(self.ax.bbox)
            return "blit"
        canvas.draw_idle()
        return "full"

    def _canvas_key(self) -> tuple:
        return tuple(np.round(self.ax.bbox.bounds, 3)) + tuple(self.ax.figure.canvas.get_width_height())

    def _on_draw(self, event) -> None:
        """After a full draw: cache the background, then draw the animated artists on top."""
        canvas = self.ax.figure.canvas
        renderer = getattr(event, "renderer", None)
        if renderer is None:
            return
        if hasattr(canvas, "get_renderer") and renderer is canvas.get_renderer():
            self._bg = canvas.copy_from_bbox(self.ax.bbox)
            self._bg_key = self._canvas_key()
            self._bg_dirty = False
        for a in self.dynamic_artists:
            a.draw(renderer)

    def set_vector_field(self, on: bool) -> None:
        """Show or hide the direction field."""
        self.show_field = bool(on)
        self._bg_dirty = True
        self._draw_background()

    def set_limits(self, xlim: tuple[float, float], ylim: tuple[float, float]) -> None:
        """Fix the view (no autoscale until content leaves it) and redraw the background."""
        self.ax.set_xlim(*xlim)
        self.ax.set_ylim(*ylim)
        self._limits_set = True
        self._bg_dirty = True
        self._draw_background()

    def lift(self, x: float, y: float) -> np.ndarray:
        """State (M,) of the plane point ``(x, y)``."""
        return self.projection.lift([x, y])

    def artist_data(self) -> dict[str, Any]:
        """What is drawn now (plane coordinates), for tests and inspection."""
        def xy(line):
            return np.column_stack([np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)])

        out = {s: xy(line) for s, line in self.markers.items()}
        out["cycles"] = [np.asarray(s) for s in self.cycle_lines.get_segments()]
        out["trajectories"] = [xy(line) for line in self.trajectory_lines if len(line.get_xdata())]
        out["starts"] = xy(self.starts)
        out["regions"] = np.asarray(self.regions.get_array())
        out["borders"] = [np.asarray(s) for s in self.borders.get_segments()]
        out["graph"] = xy(self.graph)
        out["field_visible"] = self.field.get_visible()
        out["xlim"], out["ylim"] = self.ax.get_xlim(), self.ax.get_ylim()
        return out

    # ------------------------------------------------------------------ drawing
    def _draw_objects(self) -> None:
        proj = self.projection
        pts = {s: [] for s in STABILITY_STYLE}
        segs, colours = [], []
        for c in self._cycles:
            xy = proj.orbit(c.points, closed=True)
            stab = c.stability if c.stability in pts else "saddle"
            pts[stab].append(xy)
            if len(c.points) >= 2:
                segs.append(np.vstack([xy, xy[:1]]))
                colours.append(STABILITY_STYLE[stab]["color"])
        for s, line in self.markers.items():
            arr = np.vstack(pts[s]) if pts[s] else np.zeros((0, 2))
            line.set_data(arr[:, 0], arr[:, 1])
        self.cycle_lines.set_segments(segs)
        self.cycle_lines.set_color(colours if colours else "k")

    def _draw_trajectories(self) -> None:
        proj = self.projection
        starts = []
        for i, line in enumerate(self.trajectory_lines):
            if i < len(self._trajs):
                t = self._trajs[i].reshape(len(self._trajs[i]), -1)
                xy = _cobweb(t[:, 0]) if proj.kind == "return" else proj.orbit(t)
                line.set_data(xy[:, 0], xy[:, 1])
                starts.append(xy[0] if proj.kind != "return" else (t[0, 0], t[0, 0]))
            else:
                line.set_data([], [])
        starts = np.array(starts).reshape(-1, 2)
        self.starts.set_data(starts[:, 0], starts[:, 1])

    def _content(self) -> np.ndarray:
        """Points the view should show: objects, trajectory starts, and trajectory points
        not too far from those (diverging orbits are seen leaving the view)."""
        proj = self.projection
        core = [proj.orbit(c.points, closed=True) for c in self._cycles]
        trajs = []
        for t in self._trajs:
            xy = proj.orbit(t.reshape(len(t), -1))
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
            near = np.all(np.abs(pts - (lo + hi) / 2) <= reach, axis=1)
            pts = pts[near]
        return np.vstack([core, pts])

    def autoscale(self, force: bool = False) -> bool:
        """Fit the view to the content when it left the view or fills less than a quarter of
        it (or always with ``force``); returns True when the limits changed."""
        pts = self._content()
        if len(pts) == 0:
            lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
        else:
            lo, hi = pts.min(axis=0), pts.max(axis=0)
        if self.projection is not None and self.projection.kind == "return":
            lo[:], hi[:] = lo.min(), hi.max()  # same range on both axes for the return map
        span = np.maximum(hi - lo, 0.05 * (1.0 + np.abs(np.concatenate([lo, hi])).max()))
        mid = (lo + hi) / 2
        new_lo = mid - span * (0.5 + self.margin)
        new_hi = mid + span * (0.5 + self.margin)
        cur = np.array([self.ax.get_xlim(), self.ax.get_ylim()])  # (2, 2): [[x0, x1], [y0, y1]]
        cur_span = cur[:, 1] - cur[:, 0]
        inside = np.all(lo >= cur[:, 0]) and np.all(hi <= cur[:, 1])
        small = np.any(span * (1 + 2 * self.margin) < 0.25 * cur_span)
        if not (force or not self._limits_set or not inside or small):
            return False
        self.ax.set_xlim(new_lo[0], new_hi[0])
        self.ax.set_ylim(new_lo[1], new_hi[1])
        self._limits_set = True
        return True

    def _draw_background(self) -> None:
        """Update the background artists; mark the cached background stale if they changed."""
        self._draw_background_artists()
        key = self._background_fingerprint()
        if key != getattr(self, "_bg_fingerprint", None):
            self._bg_fingerprint = key
            self._bg_dirty = True

    def _background_fingerprint(self) -> int:
        import hashlib

        h = hashlib.blake2b(digest_size=16)
        h.update(repr(getattr(self, "_regions_key", None)).encode())
        h.update(repr((self.regions.get_extent(), self.ax.get_xlim(), self.ax.get_ylim(),
                       self.field.get_visible(), self.regions.get_visible())).encode())
        for seg in self.borders.get_segments():
            h.update(np.ascontiguousarray(seg, dtype=float).tobytes())
        for line in (self.graph, self.diagonal):
            h.update(np.asarray(line.get_xdata(), float).tobytes())
            h.update(np.asarray(line.get_ydata(), float).tobytes())
        if self.field.get_visible():
            h.update(np.asarray(self.field.U, float).tobytes())
            h.update(np.asarray(self.field.V, float).tobytes())
        return h.hexdigest()

    def _draw_background_artists(self) -> None:
        """Regions, borders, vector field / map graph for the current model and view."""
        model, proj = self.model, self.projection
        if model is None or proj is None:
            return
        xlim, ylim = self.ax.get_xlim(), self.ax.get_ylim()
        # the switching functions are affine along the plane: three values fix them, and with
        # them the regions and borders (unchanged coefficients -> nothing to recompute)
        base = proj.lift(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        s = model.switching(base)
        s0, sx, sy = s[0], s[1] - s[0], s[2] - s[0]
        key = (s.tobytes(), tuple(xlim), tuple(ylim), self.shade, type(model).__name__)
        if key == getattr(self, "_regions_key", None):
            self._draw_map(model, proj, xlim, ylim)
            return
        self._regions_key = key
        if self.shade:
            n = self.grid
            X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
            states = proj.lift(np.stack([X, Y], axis=-1).reshape(-1, 2))
            idx = region_colour_index(model.region(states)).reshape(n, n)
            self.regions.set_data(idx)
            self.regions.set_extent((xlim[0], xlim[1], ylim[0], ylim[1]))
        segs = []
        for b in range(s.shape[1]):
            seg = _clip_line(sx[b], sy[b], s0[b], xlim, ylim)
            if seg is not None:
                segs.append(seg)
        self.borders.set_segments(segs)
        self._draw_map(model, proj, xlim, ylim)

    def _draw_map(self, model, proj, xlim, ylim) -> None:
        """The map itself: its graph for 1-D models, the direction field for M >= 2."""
        if proj.kind == "return":
            x = np.linspace(xlim[0], xlim[1], 400)
            with np.errstate(all="ignore"):
                y = model.step(x[:, None])[:, 0]
            self.graph.set_data(x, y)
            self.diagonal.set_data(np.array(xlim), np.array(xlim))
            self.field.set_visible(False)
            return
        self.graph.set_data([], [])
        self.diagonal.set_data([], [])
        self.field.set_visible(self.show_field)
        if self.show_field:
            n = self._field_n
            gx, gy = np.linspace(*xlim, n + 2)[1:-1], np.linspace(*ylim, n + 2)[1:-1]
            X, Y = np.meshgrid(gx, gy)
            xy = np.column_stack([X.ravel(), Y.ravel()])
            z = proj.lift(xy)
            with np.errstate(all="ignore"):
                d = proj.orbit(model.step(z)) - proj.orbit(z)
                norm = np.hypot(d[:, 0], d[:, 1])
                d = np.where(norm[:, None] > 0, d / norm[:, None], 0.0)
            d = np.nan_to_num(d)
            length = 0.4 * min(gx[1] - gx[0], gy[1] - gy[0])
            self.field.set_offsets(xy)
            self.field.set_UVC(d[:, 0] * length, d[:, 1] * length)
