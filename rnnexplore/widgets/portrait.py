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

import json
from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnexplore.dynamics.projection import Projection
from rnnexplore.widgets.base import STABILITY_STYLE

__all__ = ["PhasePortrait", "CanvasPortrait", "region_colour_index", "plane_regions", "plane_borders"]

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


def plane_regions(model: Any, proj: Projection, xlim: Sequence[float], ylim: Sequence[float],
                  n: int) -> np.ndarray:
    """Colour index (n, n) of the rectifier regions on an ``n x n`` grid of the plane (row 0 at ``ylim[0]``).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> idx = plane_regions(paper_gt16(), Projection.default(2), (-1, 1), (-1, 1), 4)
    >>> idx.tolist()
    [[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 3, 3], [2, 2, 3, 3]]
    """
    X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
    states = proj.lift(np.stack([X, Y], axis=-1).reshape(-1, 2))
    return region_colour_index(model.region(states)).reshape(n, n)


def plane_borders(model: Any, proj: Projection, xlim: Sequence[float], ylim: Sequence[float]) -> list[np.ndarray]:
    """Segments (2, 2) of the switching borders inside the view (they are straight on the plane).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> [(s + 0.0).tolist() for s in plane_borders(paper_gt16(), Projection.default(2), (-1, 1), (-1, 1))]
    [[[0.0, -1.0], [0.0, 1.0]], [[-1.0, 0.0], [1.0, 0.0]]]
    """
    base = proj.lift(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
    sw = model.switching(base)
    s0, sx, sy = sw[0], sw[1] - sw[0], sw[2] - sw[0]
    segs = []
    for b in range(sw.shape[1]):
        seg = _clip_line(sx[b], sy[b], s0[b], xlim, ylim)
        if seg is not None:
            segs.append(seg)
    return segs


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
        """Points the view should show (:func:`rnnexplore.apps.explorer.view_content`)."""
        from rnnexplore.apps.explorer import view_content

        return view_content(self._cycles, self._trajs, self.projection)

    def autoscale(self, force: bool = False) -> bool:
        """Fit the view to the content when it left the view or fills less than a quarter of
        it (or always with ``force``); returns True when the limits changed."""
        from rnnexplore.apps.explorer import fit_view

        cur = None if not self._limits_set else (self.ax.get_xlim(), self.ax.get_ylim())
        square = self.projection is not None and self.projection.kind == "return"
        new = fit_view(cur, self._content(), margin=self.margin, force=force, square=square)
        if new is None:
            return False
        self.ax.set_xlim(*new[0])
        self.ax.set_ylim(*new[1])
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
        key = (s.tobytes(), tuple(xlim), tuple(ylim), self.shade, type(model).__name__)
        if key == getattr(self, "_regions_key", None):
            self._draw_map(model, proj, xlim, ylim)
            return
        self._regions_key = key
        if self.shade:
            idx = plane_regions(model, proj, xlim, ylim, self.grid)
            self.regions.set_data(idx)
            self.regions.set_extent((xlim[0], xlim[1], ylim[0], ylim[1]))
        self.borders.set_segments(plane_borders(model, proj, xlim, ylim))
        self._draw_map(model, proj, xlim, ylim)

    def _draw_map(self, model, proj, xlim, ylim) -> None:
        """The map itself: its graph for 1-D models, the direction field for M >= 2."""
        if proj.kind == "return":
            x, y = return_map_graph(model, xlim)
            self.graph.set_data(x, y)
            self.diagonal.set_data(np.array(xlim), np.array(xlim))
            self.field.set_visible(False)
            return
        self.graph.set_data([], [])
        self.diagonal.set_data([], [])
        self.field.set_visible(self.show_field)
        if self.show_field:
            xy, d = direction_field(model, proj, xlim, ylim, self._field_n)
            self.field.set_offsets(xy)
            self.field.set_UVC(d[:, 0], d[:, 1])


def return_map_graph(model: Any, xlim: Sequence[float], n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """The graph ``(x, F(x))`` of a 1-D map over ``xlim``."""
    x = np.linspace(xlim[0], xlim[1], n)
    with np.errstate(all="ignore"):
        y = model.step(x[:, None])[:, 0]
    return x, y


def direction_field(model: Any, proj: Projection, xlim: Sequence[float], ylim: Sequence[float],
                    n: int = 17) -> tuple[np.ndarray, np.ndarray]:
    """Grid points (n*n, 2) and arrows (n*n, 2) of the direction of ``F(z) - z`` on the plane
    (unit directions scaled to 0.4 of a grid cell)."""
    gx, gy = np.linspace(*xlim, n + 2)[1:-1], np.linspace(*ylim, n + 2)[1:-1]
    X, Y = np.meshgrid(gx, gy)
    xy = np.column_stack([X.ravel(), Y.ravel()])
    z = proj.lift(xy)
    with np.errstate(all="ignore"):
        d = proj.orbit(model.step(z)) - proj.orbit(z)
        norm = np.hypot(d[:, 0], d[:, 1])
        d = np.where(norm[:, None] > 0, d / norm[:, None], 0.0)
    d = np.nan_to_num(d)
    return xy, d * 0.4 * min(gx[1] - gx[0], gy[1] - gy[0])


# =========================================================================== client-side canvas
#: colours of the canvas renderer (the same table as the matplotlib portrait)
CANVAS_STABILITY = {"stable": "#1f77b4", "saddle": "#ff7f0e", "unstable": "#d62728"}
_BASIN_COLOURS = ["#9ecae1", "#fdae6b", "#a1d99b", "#bcbddc", "#fdd0a2", "#c7e9c0", "#dadaeb",
                  "#fcbba1", "#c6dbef", "#e5f5e0"]
_BASIN_DIVERGE, _BASIN_OTHER = "#bdbdbd", "#ffffff"
_CANVAS_TRAJ = ["#4d4d4d", "#9467bd", "#2ca02c", "#8c564b", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f"]

_ESM = r"""
const STAB = {stable: "#1f77b4", saddle: "#ff7f0e", unstable: "#d62728"};
const FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif';
function f32(v) {
  if (!v || !v.byteLength) return new Float32Array(0);
  return new Float32Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
}
function u8(v) {
  if (!v || !v.byteLength) return new Uint8Array(0);
  return new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
}
function niceTicks(lo, hi, n) {
  const raw = (hi - lo) / n, p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map(m => m * p).find(s => s >= raw) || 10 * p;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * step; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return {ticks: out, step};
}
function fmt(t, step) {
  const d = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  return t.toFixed(Math.min(d, 6));
}
function hexRgb(h) { return [1, 3, 5].map(i => parseInt(h.slice(i, i + 2), 16)); }

function render({ model, el }) {
  const wrap = document.createElement("div");
  wrap.className = "rnx-portrait";
  const canvas = document.createElement("canvas");
  canvas.className = "rnx-portrait-canvas";
  const legend = document.createElement("div");
  legend.className = "rnx-portrait-legend";
  wrap.appendChild(canvas);
  wrap.appendChild(legend);
  el.appendChild(wrap);
  let pending = false, geom = null, legendKey = "", imageCache = null;

  function draw() {
    pending = false;
    const sc = model.get("scene") || {};
    const W = sc.width || 520, H = sc.height || 440, dpr = window.devicePixelRatio || 1;
    if (canvas.width !== Math.round(W * dpr) || canvas.height !== Math.round(H * dpr)) {
      canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr);
      canvas.style.width = W + "px"; canvas.style.height = H + "px";
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.fillStyle = "#ffffff"; ctx.fillRect(0, 0, W, H);
    if (!sc.xlim) return;
    const L = 54, R = 12, T = 10, B = 40, pw = W - L - R, ph = H - T - B;
    const [x0, x1] = sc.xlim, [y0, y1] = sc.ylim;
    const X = x => L + (x - x0) / (x1 - x0) * pw, Y = y => T + (1 - (y - y0) / (y1 - y0)) * ph;
    geom = {L, T, pw, ph, x0, x1, y0, y1};
    ctx.save();
    ctx.beginPath(); ctx.rect(L, T, pw, ph); ctx.clip();
    // 1. regions or basins (an image of the grid, drawn whole every frame)
    const img = sc.basins ? sc.basins : sc.regions;
    const raw = model.get(sc.basins ? "basins" : "regions"), cells = u8(raw);
    if (img && cells.length === img.n * img.n) {
      const ikey = JSON.stringify([img.n, img.palette, img.alpha, !!sc.basins]);
      if (!imageCache || imageCache.raw !== raw || imageCache.key !== ikey) {  // rebuilt when the grid changed
        const off = document.createElement("canvas");
        off.width = img.n; off.height = img.n;
        const octx = off.getContext("2d"), data = octx.createImageData(img.n, img.n);
        const pal = img.palette.map(hexRgb), alpha = Math.round(255 * (img.alpha || 1));
        for (let r = 0; r < img.n; r++) for (let c = 0; c < img.n; c++) {
          const k = cells[r * img.n + c], rgb = pal[k % pal.length], o = 4 * ((img.n - 1 - r) * img.n + c);
          data.data[o] = rgb[0]; data.data[o + 1] = rgb[1]; data.data[o + 2] = rgb[2]; data.data[o + 3] = alpha;
        }
        octx.putImageData(data, 0, 0);
        imageCache = {raw, key: ikey, off};
      }
      const off = imageCache.off;
      ctx.imageSmoothingEnabled = false;
      const [ex0, ex1, ey0, ey1] = img.extent;
      ctx.drawImage(off, X(ex0), Y(ey1), X(ex1) - X(ex0), Y(ey0) - Y(ey1));
    }
    // 2. switching borders
    ctx.strokeStyle = "#737373"; ctx.lineWidth = 0.8; ctx.setLineDash([]);
    for (const b of sc.borders || []) { ctx.beginPath(); ctx.moveTo(X(b[0]), Y(b[1])); ctx.lineTo(X(b[2]), Y(b[3])); ctx.stroke(); }
    // 3. map graph (1-D) and direction field
    if (sc.graph) {
      ctx.strokeStyle = "#9e9e9e"; ctx.setLineDash([4, 3]);
      ctx.beginPath(); ctx.moveTo(X(x0), Y(x0)); ctx.lineTo(X(x1), Y(x1)); ctx.stroke(); ctx.setLineDash([]);
      ctx.strokeStyle = "#111"; ctx.lineWidth = 1.3; ctx.beginPath();
      sc.graph.forEach((p, i) => i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1]))); ctx.stroke();
    }
    if (sc.field) {
      ctx.strokeStyle = "#9e9e9e"; ctx.lineWidth = 1;
      for (const a of sc.field) {
        const ax = X(a[0]), ay = Y(a[1]), bx = X(a[0] + a[2]), by = Y(a[1] + a[3]);
        ctx.beginPath(); ctx.moveTo(ax, ay); ctx.lineTo(bx, by); ctx.stroke();
        const ang = Math.atan2(by - ay, bx - ax);
        ctx.beginPath(); ctx.moveTo(bx, by);
        ctx.lineTo(bx - 4 * Math.cos(ang - 0.5), by - 4 * Math.sin(ang - 0.5));
        ctx.lineTo(bx - 4 * Math.cos(ang + 0.5), by - 4 * Math.sin(ang + 0.5)); ctx.closePath();
        ctx.fillStyle = "#9e9e9e"; ctx.fill();
      }
    }
    // 4. manifolds: unstable solid red, stable dashed blue
    const man = f32(model.get("manifolds")), nu = (sc.manifolds || {}).unstable || 0;
    for (let i = 0; i * 4 < man.length; i++) {
      const st = i >= nu;
      ctx.strokeStyle = st ? "#4292c6" : "#a50f15"; ctx.lineWidth = st ? 0.8 : 1.4; ctx.setLineDash(st ? [3, 3] : []);
      ctx.beginPath(); ctx.moveTo(X(man[4 * i]), Y(man[4 * i + 1])); ctx.lineTo(X(man[4 * i + 2]), Y(man[4 * i + 3])); ctx.stroke();
    }
    ctx.setLineDash([]);
    // 5. trajectories (NaN separates them), starts as crosses
    const tr = f32(model.get("trajectories")), colours = sc.traj_colours || ["#4d4d4d"];
    const lens = sc.traj_lengths || [], starts = [];
    let off = 0;
    ctx.lineWidth = 0.8; ctx.globalAlpha = 0.75;
    lens.forEach((n, ti) => {
      ctx.strokeStyle = colours[ti % colours.length];
      let open = false;
      for (let i = off; i < off + n; i++) {
        const x = tr[2 * i], y = tr[2 * i + 1];
        if (!Number.isFinite(x) || !Number.isFinite(y)) { if (open) ctx.stroke(); open = false; continue; }
        if (!open) { ctx.beginPath(); ctx.moveTo(X(x), Y(y)); open = true; } else ctx.lineTo(X(x), Y(y));
        if (i === off) starts.push([x, y]);
      }
      if (open) ctx.stroke();
      off += n;
    });
    ctx.globalAlpha = 1;
    ctx.strokeStyle = "#111"; ctx.lineWidth = 1.3;
    for (const s of starts) { const a = X(s[0]), b = Y(s[1]);
      ctx.beginPath(); ctx.moveTo(a - 4, b - 4); ctx.lineTo(a + 4, b + 4); ctx.moveTo(a - 4, b + 4); ctx.lineTo(a + 4, b - 4); ctx.stroke(); }
    // 6. objects: cycle polygons, then markers (unstable, saddle, stable on top)
    const objs = sc.objects || [];
    for (const o of objs) {
      if (o.xy.length < 2) continue;
      ctx.strokeStyle = STAB[o.stability] || "#333"; ctx.lineWidth = o.stability === "stable" ? 1.6 : 1.2;
      ctx.setLineDash(o.stability === "stable" ? [] : [4, 3]);
      ctx.beginPath(); o.xy.forEach((p, i) => i ? ctx.lineTo(X(p[0]), Y(p[1])) : ctx.moveTo(X(p[0]), Y(p[1])));
      ctx.closePath(); ctx.stroke();
    }
    ctx.setLineDash([]);
    const order = {unstable: 0, saddle: 1, stable: 2}, drawn = {stable: 0, saddle: 0, unstable: 0}, probes = [];
    const sorted = objs.map((o, i) => [o, i]).sort((a, b) => order[a[0].stability] - order[b[0].stability]);
    const marks = [];
    for (const [o] of sorted) {
      const c = STAB[o.stability] || "#333", r = o.stability === "stable" ? 4.5 : 6;
      drawn[o.stability] = (drawn[o.stability] || 0) + 1;
      o.xy.forEach((p, j) => {
        const a = X(p[0]), b = Y(p[1]);
        if (!Number.isFinite(a) || !Number.isFinite(b)) return;
        ctx.lineWidth = 1.6; ctx.strokeStyle = c;
        ctx.beginPath(); ctx.arc(a, b, r, 0, 2 * Math.PI); ctx.fillStyle = "#ffffff"; ctx.fill();
        if (o.stability === "stable") { ctx.fillStyle = c; ctx.fill(); }
        if (o.stability === "saddle") {
          ctx.beginPath(); ctx.arc(a, b, r, 0.5 * Math.PI, 1.5 * Math.PI); ctx.closePath(); ctx.fillStyle = c; ctx.fill();
          ctx.beginPath(); ctx.arc(a, b, r, 0, 2 * Math.PI);
        }
        ctx.stroke();
        marks.push([a, b, r]);
        if (j === 0) {
          const sx = o.stability === "stable" ? a : (o.stability === "saddle" ? a - r / 2 : a + r);
          probes.push({x: sx, y: b, colour: c, stability: o.stability, mark: marks.length - 1});
        }
      });
    }
    ctx.restore();
    // 7. axes, ticks, labels
    ctx.strokeStyle = "#444"; ctx.lineWidth = 1; ctx.strokeRect(L, T, pw, ph);
    ctx.fillStyle = "#333"; ctx.font = FONT;
    const xt = niceTicks(x0, x1, 6), yt = niceTicks(y0, y1, 6);
    ctx.textAlign = "center"; ctx.textBaseline = "top";
    for (const t of xt.ticks) { const a = X(t); ctx.beginPath(); ctx.moveTo(a, T + ph); ctx.lineTo(a, T + ph + 4); ctx.stroke(); ctx.fillText(fmt(t, xt.step), a, T + ph + 6); }
    ctx.textAlign = "right"; ctx.textBaseline = "middle";
    for (const t of yt.ticks) { const b = Y(t); ctx.beginPath(); ctx.moveTo(L - 4, b); ctx.lineTo(L, b); ctx.stroke(); ctx.fillText(fmt(t, yt.step), L - 6, b); }
    ctx.textAlign = "center"; ctx.textBaseline = "bottom";
    ctx.fillText(sc.xlabel || "", L + pw / 2, H - 2);
    ctx.save(); ctx.translate(12, T + ph / 2); ctx.rotate(-Math.PI / 2); ctx.textBaseline = "middle";
    ctx.fillText(sc.ylabel || "", 0, 0); ctx.restore();
    // 8. what this frame shows, for tests: counts, probe pixels (not covered by a later marker)
    for (const p of probes) {
      p.covered = marks.slice(p.mark + 1).some(m => Math.hypot(m[0] - p.x, m[1] - p.y) < m[2] + 2.5);
    }
    canvas.dataset.frame = String(sc.frame);
    canvas.dataset.values = sc.values || "";
    canvas.dataset.drawn = JSON.stringify(drawn);
    canvas.dataset.probes = JSON.stringify(probes.map(p => ({x: p.x, y: p.y, colour: p.colour, stability: p.stability, covered: p.covered})));
    canvas.dataset.layers = JSON.stringify({basins: !!sc.basins, manifolds: man.length / 4, trajectories: lens.length});
    canvas.dataset.drawnAt = String(performance.now());
    // legend (rebuilt only when it changed)
    const key = JSON.stringify(sc.legend || []);
    if (key !== legendKey) {
      legendKey = key; legend.textContent = "";
      for (const item of sc.legend || []) {
        const span = document.createElement("span"); span.className = "rnx-key rnx-key-" + item.kind;
        const sw = document.createElement("i"); sw.style.background = item.colour;
        if (item.kind === "line") { sw.style.background = "none"; sw.style.borderTop = (item.dashed ? "2px dashed " : "2px solid ") + item.colour; }
        if (item.kind === "marker") { sw.style.border = "1.6px solid " + item.colour; sw.style.background = item.fill || "#fff"; }
        span.appendChild(sw); span.appendChild(document.createTextNode(item.label));
        if (item.title) span.title = item.title;
        legend.appendChild(span);
      }
    }
  }
  const schedule = () => { if (!pending) { pending = true; canvas.dataset.receivedAt = String(performance.timeOrigin + performance.now()); requestAnimationFrame(draw); } };
  for (const name of ["scene", "regions", "basins", "trajectories", "manifolds"]) model.on("change:" + name, schedule);
  canvas.addEventListener("click", (ev) => {
    if (!geom) return;
    const r = canvas.getBoundingClientRect(), px = ev.clientX - r.left, py = ev.clientY - r.top;
    if (px < geom.L || px > geom.L + geom.pw || py < geom.T || py > geom.T + geom.ph) return;
    const x = geom.x0 + (px - geom.L) / geom.pw * (geom.x1 - geom.x0);
    const y = geom.y1 - (py - geom.T) / geom.ph * (geom.y1 - geom.y0);
    model.send({type: "click", x, y});
  });
  draw();
  return () => { for (const name of ["scene", "regions", "basins", "trajectories", "manifolds"]) model.off("change:" + name, schedule); };
}
export default { render };
"""

_CSS = r"""
.rnx-portrait { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.rnx-portrait-canvas { display: block; cursor: crosshair; }
.rnx-portrait-legend { display: flex; flex-wrap: wrap; gap: 4px 12px; font-size: 12px; color: #333;
  max-width: 520px; margin-top: 4px; }
.rnx-key { display: inline-flex; align-items: center; gap: 5px; white-space: nowrap; }
.rnx-key i { display: inline-block; width: 12px; height: 12px; box-sizing: border-box; }
.rnx-key-marker i { border-radius: 50%; }
.rnx-key-line i { height: 0; width: 18px; }
"""

_CANVAS_CLASS = None


def _canvas_widget_class():
    """The anywidget class (created on first use: anywidget is only needed for the canvas)."""
    global _CANVAS_CLASS
    if _CANVAS_CLASS is None:
        import anywidget
        import traitlets

        class PortraitCanvasWidget(anywidget.AnyWidget):
            """Canvas renderer of a phase portrait: data in, pixels drawn in the browser."""

            _esm = _ESM
            _css = _CSS
            scene = traitlets.Dict().tag(sync=True)
            regions = traitlets.Bytes(b"").tag(sync=True)
            basins = traitlets.Bytes(b"").tag(sync=True)
            trajectories = traitlets.Bytes(b"").tag(sync=True)
            manifolds = traitlets.Bytes(b"").tag(sync=True)

        _CANVAS_CLASS = PortraitCanvasWidget
    return _CANVAS_CLASS


def _region_label(bits: np.ndarray, names: Sequence[str]) -> str:
    return ", ".join(f"{n} {'on' if b else 'off'}" for n, b in zip(names, bits))


class CanvasPortrait:
    """Phase portrait drawn client-side: the data go to the browser, a canvas draws them.

    Every :meth:`update` sends the complete picture (view, regions or basins, borders,
    manifolds, trajectories, objects) and the browser redraws the whole canvas from it in
    one animation frame - nothing is patched over an old picture, so a frame cannot go
    stale. Regions are sent as a uint8 grid and trajectories / manifolds as float32 buffers
    (binary widget messages); an update of the paper's system is a few kB.

    Parameters
    ----------
    width, height : int
        Canvas size in CSS pixels.
    grid : int
        Resolution of the region shading.
    css_class : str
        Extra CSS class of the widget (browser tests).

    Attributes
    ----------
    widget : anywidget.AnyWidget
        The canvas widget (traits ``scene``, ``regions``, ``basins``, ``trajectories``,
        ``manifolds``).
    on_click : callable or None
        ``on_click(x, y)`` with plane coordinates when the user clicks inside the axes.
    last_message_bytes : int
        Size of the last update as sent (scene JSON + the binary buffers that changed).

    Examples
    --------
    >>> from rnnexplore.apps.explorer import ExplorerState
    >>> st = ExplorerState.from_preset("paper_gt16")
    >>> cp = CanvasPortrait()
    >>> cp.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories,
    ...           projection=st.projection, view=st.view, frame=1)
    >>> [(o["name"], len(o["xy"])) for o in cp.widget.scene["objects"]]
    [('unstable fixed point', 1), ('stable 16-cycle', 16), ('saddle 16-cycle', 16)]
    """

    def __init__(self, *, width: int = 520, height: int = 440, grid: int = 150,
                 css_class: str = "rnx-portrait-widget") -> None:
        self.widget = _canvas_widget_class()()
        self.widget.add_class(css_class)
        self.width, self.height, self.grid = int(width), int(height), int(grid)
        self.on_click = None
        self.last_message_bytes = 0
        self._regions_key = None
        self._legend_regions: list[dict] = []
        self.widget.on_msg(self._on_msg)

    def _on_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "click" and self.on_click is not None:
            self.on_click(float(content["x"]), float(content["y"]))

    def update(self, *, model: Any, cycles: Sequence, trajectories: Sequence, projection: Projection,
               view: Any, basins: Any = None, manifolds: Sequence = (), vector_field: bool = False,
               frame: int = 0, values: str = "") -> None:
        """Send the whole picture (one widget message)."""
        (x0, x1), (y0, y1) = view
        xlim, ylim = (float(x0), float(x1)), (float(y0), float(y1))
        scene: dict[str, Any] = {"frame": int(frame), "values": values, "width": self.width,
                                 "height": self.height, "xlim": xlim, "ylim": ylim,
                                 "xlabel": projection.labels[0], "ylabel": projection.labels[1],
                                 "traj_colours": _CANVAS_TRAJ}
        buffers: dict[str, bytes] = {}
        self._update_regions(model, projection, xlim, ylim)
        scene["borders"] = self._borders
        legend = self._background_layer(basins, xlim, ylim, scene, buffers)
        if projection.kind == "return":
            gx, gy = return_map_graph(model, xlim)
            scene["graph"] = [[float(a), float(b)] for a, b in zip(gx, gy) if np.isfinite(b)]
        elif vector_field:
            xy, d = direction_field(model, projection, xlim, ylim)
            scene["field"] = np.round(np.column_stack([xy, d]), 6).tolist()
        legend += self._manifold_layer(manifolds, projection, scene, buffers)
        # trajectories: (x, y) pairs one after the other; their lengths in the scene
        parts = []
        for t in trajectories:
            t = np.asarray(t, float)
            parts.append(_cobweb(t[:, 0]) if projection.kind == "return" else projection.orbit(t.reshape(len(t), -1)))
        scene["traj_lengths"] = [len(p) for p in parts]
        buffers["trajectories"] = (np.vstack(parts) if parts else np.zeros((0, 2))).astype(np.float32).tobytes()
        scene["objects"], markers = self._object_layer(cycles, projection)
        scene["legend"] = markers + legend
        self._send(scene, buffers)

    def _update_regions(self, model: Any, projection: Projection, xlim: tuple, ylim: tuple) -> None:
        """Region image, borders and region key, recomputed only when the switching functions on
        the plane or the view changed."""
        base = projection.lift(np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]))
        key = (np.asarray(model.switching(base)).tobytes(), xlim, ylim, self.grid, type(model).__name__)
        if key == self._regions_key:
            return
        self._regions_key = key
        n = self.grid
        X, Y = np.meshgrid(np.linspace(*xlim, n), np.linspace(*ylim, n))
        bits = model.region(projection.lift(np.stack([X, Y], axis=-1).reshape(-1, 2)))
        idx = region_colour_index(bits).reshape(n, n)
        self._regions = idx.astype(np.uint8).tobytes()
        self._borders = [[float(v) for v in seg.ravel()] for seg in plane_borders(model, projection, xlim, ylim)]
        self._legend_regions = []
        if bits.shape[1] <= 3:
            pats, first = np.unique(bits, axis=0, return_index=True)
            names = [f"z{i}" for i in range(bits.shape[1])]
            for p in pats[np.argsort(first)]:
                c = _REGION_COLOURS[int(region_colour_index(p[None])[0])]
                self._legend_regions.append({"kind": "swatch", "colour": c, "label": _region_label(p, names)})

    def _background_layer(self, basins: Any, xlim: tuple, ylim: tuple, scene: dict, buffers: dict) -> list:
        """The plane's colours: basins of attraction when given, else the regions; returns their key."""
        if basins is None:
            scene["regions"] = {"n": self.grid, "extent": [xlim[0], xlim[1], ylim[0], ylim[1]],
                                "palette": _REGION_COLOURS, "alpha": 0.55}
            buffers["regions"] = self._regions
            return list(self._legend_regions)
        palette = [_BASIN_COLOURS[i % len(_BASIN_COLOURS)] for i in range(basins.n_attractors)]
        palette += [_BASIN_DIVERGE, _BASIN_OTHER]
        scene["basins"] = {"n": int(basins.shape[0]), "extent": list(basins.extent), "palette": palette,
                           "alpha": 0.85}
        buffers["basins"] = basins.labels.astype(np.uint8).tobytes()
        fr = basins.fractions()
        return [{"kind": "swatch", "colour": c,
                 "label": (f"basin of the {name}" if i < basins.n_attractors else
                           "diverges" if i == basins.n_attractors else "no attractor reached")
                 + f" ({100 * fr[name]:.0f}%)"}
                for i, (c, name) in enumerate(zip(palette, basins.names)) if fr[name] > 0]

    @staticmethod
    def _manifold_layer(manifolds: Sequence, projection: Projection, scene: dict, buffers: dict) -> list:
        """Manifold segments in the plane (unstable first, then stable); returns their key."""
        segs_u = [m.unstable for _, m in manifolds]
        segs_s = [m.stable for _, m in manifolds]
        U = np.concatenate(segs_u) if segs_u else np.zeros((0, 2, 2))
        S = np.concatenate(segs_s) if segs_s else np.zeros((0, 2, 2))
        U = projection.orbit(U.reshape(-1, U.shape[-1])).reshape(-1, 4) if len(U) else np.zeros((0, 4))
        S = projection.orbit(S.reshape(-1, S.shape[-1])).reshape(-1, 4) if len(S) else np.zeros((0, 4))
        scene["manifolds"] = {"unstable": int(len(U)), "stable": int(len(S))}
        buffers["manifolds"] = np.vstack([U, S]).astype(np.float32).tobytes()
        if not (len(U) or len(S)):
            return []
        return [{"kind": "line", "colour": "#a50f15", "label": "unstable manifold"},
                {"kind": "line", "colour": "#4292c6", "label": "stable manifold", "dashed": True}]

    @staticmethod
    def _object_layer(cycles: Sequence, projection: Projection) -> tuple[list, list]:
        """Closed orbits of the objects with their names, and the stability key of those present."""
        from rnnexplore.dynamics.basins import object_name

        objs = []
        present = set()
        for c in cycles:
            xy = projection.orbit(np.asarray(c.points, float), closed=True)
            objs.append({"xy": np.round(xy, 9).tolist(), "stability": c.stability, "order": int(c.order),
                         "name": object_name(c), "key": c.key})
            present.add(c.stability)
        markers = [{"kind": "marker", "colour": CANVAS_STABILITY[s], "label": s,
                    "fill": CANVAS_STABILITY[s] if s == "stable" else
                    (f"linear-gradient(90deg, {CANVAS_STABILITY[s]} 50%, #fff 50%)" if s == "saddle" else "#fff")}
                   for s in ("stable", "saddle", "unstable") if s in present]
        return objs, markers

    def _send(self, scene: dict, buffers: dict) -> None:
        """One message: the changed binary layers and the scene."""
        w = self.widget
        sent = 0
        with w.hold_sync():
            for name in ("regions", "basins", "trajectories", "manifolds"):
                value = buffers.get(name, b"")
                if getattr(w, name) != value:
                    setattr(w, name, value)
                    sent += len(value)
            w.scene = scene
        self.last_message_bytes = sent + len(json.dumps(scene))

    def artist_data(self) -> dict[str, Any]:
        """What the last update sent, decoded (for tests)."""
        w = self.widget
        tr = np.frombuffer(w.trajectories, np.float32).reshape(-1, 2)
        man = np.frombuffer(w.manifolds, np.float32).reshape(-1, 4)
        return {"scene": w.scene, "trajectories": tr, "manifolds": man,
                "regions": np.frombuffer(w.regions, np.uint8), "basins": np.frombuffer(w.basins, np.uint8)}
