"""BifurcationExplorer: a 2-D bifurcation map you can click, zoom into and cut along a line.

:class:`BifurcationExplorer` wraps the scriptable
:class:`~rnnexplore.apps.bifurcation.BifurcationState` in a thin ipywidgets + ipympl view with one figure of
three panels:

- the map (colour by object count, by stability signature or by the number of stable
  objects), the bifurcation curves on top (one colour per event kind), the selected point and
  the line of the 1-D panel; click a point to select it, drag a rectangle to recompute that
  part of the map at the chosen resolution (``back`` returns to the previous map);
- the phase portrait of the selected parameter setting (the shared
  :class:`~rnnexplore.widgets.portrait.PhasePortrait`: regions, borders, objects, a few
  trajectories); ``open in cycle explorer`` opens a full
  :class:`~rnnexplore.widgets.explorer.CycleExplorer` at that setting below the map;
- the 1-D bifurcation diagram along the line through the selection (vary the x or the y
  parameter): objects by stability, the orbit diagram in grey and the event locations.

Every control carries a stable CSS class: ``rnx-bif`` (the app), ``rnx-bif-colour``,
``rnx-bif-curves``, ``rnx-bif-line-axis``, ``rnx-bif-line``, ``rnx-bif-coord``,
``rnx-bif-resolution``, ``rnx-bif-back``, ``rnx-bif-open``, ``rnx-bif-status``,
``rnx-bif-info``, ``rnx-bif-figure``, ``rnx-bif-explorer``. Callbacks never raise into the
notebook: errors go to the status line.

"""

from __future__ import annotations

import html
import time
from typing import Any

import numpy as np

from rnnexplore.apps.bifurcation import COLOUR_MODES, BifurcationState
from rnnexplore.dynamics.events import EVENT_KINDS
from rnnexplore.widgets.base import EVENT_COLOURS, STABILITY_STYLE, guarded, status_html
from rnnexplore.widgets.figure import figure_canvas, in_ipython

__all__ = ["BifurcationExplorer"]



# =========================================================================== the view
class BifurcationExplorer:
    """Interactive 2-D bifurcation map (ipywidgets + ipympl) over a :class:`BifurcationState`.

    Parameters
    ----------
    result : BifurcationMap or BifurcationState, optional
        The map (or a prepared state); otherwise pass ``model``, ``grid``, ``max_order`` and
        sweep options as keyword arguments (see :class:`BifurcationState`).
    colour : {"count", "signature", "stable"}
    figsize : (float, float)
    **kwargs
        Passed to :class:`BifurcationState`.

    Attributes
    ----------
    state : BifurcationState
    widget : ipywidgets.VBox
    colour, show_curves, line_axis, line_button, coord, resolution, back_button, open_button,
    status, info, canvas, explorer_out : the controls
    portrait : PhasePortrait
    selector : matplotlib.widgets.RectangleSelector
    explorer : CycleExplorer or None
        The cycle explorer opened by ``open in cycle explorer``.

    Notes
    -----
    Headless use (tests): set ``.value`` of the controls, call :meth:`click` (what a mouse
    click on the map does) and :meth:`drag` (what a rectangle drag does). ``last_error`` holds
    the traceback of the last callback that failed (None after a successful one).
    """

    def __init__(self, result: Any = None, *, colour: str = "count", figsize: tuple[float, float] = (13.0, 4.3),
                 **kwargs: Any) -> None:
        import ipywidgets as W
        import matplotlib.pyplot as plt
        from matplotlib.widgets import RectangleSelector

        from rnnexplore.widgets.portrait import PhasePortrait

        if isinstance(result, BifurcationState):
            if kwargs:
                raise ValueError("pass either a BifurcationState or a map with options, not both")
            self.state = result
        else:
            self.state = BifurcationState(result, **kwargs)
        if colour not in COLOUR_MODES:
            raise ValueError(f"colour must be one of {COLOUR_MODES}, got {colour!r}")
        self.last_error: str | None = None
        self.explorer = None
        self.timings = {"last_redraw": 0.0}
        lay = W.Layout
        self.colour = W.Dropdown(options=list(COLOUR_MODES), value=colour, description="colour",
                                 layout=lay(width="200px"))
        self.show_curves = W.Checkbox(value=True, description="curves", indent=False, layout=lay(width="90px"))
        self.line_axis = W.ToggleButtons(options=[("vary x", 0), ("vary y", 1)], value=0,
                                         style={"button_width": "70px"})
        self.line_button = W.Button(description="1-D diagram", icon="line-chart", layout=lay(width="120px"),
                                    tooltip="bifurcation diagram along the line through the selection")
        self.coord = W.BoundedIntText(value=0, min=0, max=max(0, self.state.result.model.M - 1),
                                      description="coord", layout=lay(width="140px"))
        n0, n1 = self.state.zoom_shape
        self.resolution = W.BoundedIntText(value=max(n0, n1), min=2, max=1000, description="zoom res",
                                           layout=lay(width="160px"))
        self.back_button = W.Button(description="back", icon="undo", layout=lay(width="80px"))
        self.open_button = W.Button(description="open in cycle explorer", layout=lay(width="190px"))
        self.status = W.HTML()
        self.info = W.HTML()
        self.explorer_out = W.Output()
        for w, cls in [(self.colour, "colour"), (self.show_curves, "curves"), (self.line_axis, "line-axis"),
                       (self.line_button, "line"), (self.coord, "coord"), (self.resolution, "resolution"),
                       (self.back_button, "back"), (self.open_button, "open"), (self.status, "status"),
                       (self.info, "info"), (self.explorer_out, "explorer")]:
            w.add_class(f"rnx-bif-{cls}")

        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        gs = self.fig.add_gridspec(1, 3, width_ratios=[1.2, 1.0, 1.0])
        self.ax_map = self.fig.add_subplot(gs[0, 0])
        self.ax_phase = self.fig.add_subplot(gs[0, 1])
        self.ax_line = self.fig.add_subplot(gs[0, 2])
        self._build_map_artists()
        self.portrait = PhasePortrait(self.ax_phase, shade=True, grid=80)
        self.ax_phase.set_title("phase portrait (click the map)", fontsize=9)
        self._build_line_artists()
        self.fig.subplots_adjust(left=0.05, right=0.98, top=0.92, bottom=0.13, wspace=0.3)
        self.canvas, self._static = figure_canvas(self.fig, "rnx-bif-figure", footer=False)
        self.selector = RectangleSelector(self.ax_map, self._on_rectangle, useblit=False, button=[1],
                                          minspanx=5, minspany=5, spancoords="pixels", interactive=False)
        self._press: tuple[float, float] | None = None
        self.fig.canvas.mpl_connect("button_press_event", self._on_press)
        self.fig.canvas.mpl_connect("button_release_event", self._on_release)

        controls = W.HBox([self.colour, self.show_curves, self.resolution, self.back_button])
        line_controls = W.HBox([self.line_axis, self.line_button, self.coord, self.open_button])
        self.widget = W.VBox([controls, line_controls, self.status, self.canvas, self.info, self.explorer_out])
        self.widget.add_class("rnx-bif")
        self.colour.observe(self._on_colour, names="value")
        self.show_curves.observe(self._on_curves, names="value")
        self.line_axis.observe(self._on_line_axis, names="value")
        self.coord.observe(self._on_coord, names="value")
        self.line_button.on_click(self._on_line_button)
        self.back_button.on_click(self._on_back)
        self.open_button.on_click(self._on_open)
        self._redraw_map()
        self._status("ok", self.state.summary() + " - click a point, drag a rectangle to zoom")
        if self._static and in_ipython():
            from IPython.display import display

            with self.canvas:
                display(self.fig)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ artists
    def _build_map_artists(self) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D

        ax = self.ax_map
        self.map_image = ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", interpolation="nearest",
                                   cmap="viridis")
        self.colorbar = self.fig.colorbar(self.map_image, ax=ax, fraction=0.046, pad=0.02)
        self.curve_lines = {}
        for kind in EVENT_KINDS:
            lc = LineCollection([], colors=EVENT_COLOURS[kind], linewidths=1.4, label=kind.replace("_", " "))
            ax.add_collection(lc)
            self.curve_lines[kind] = lc
        self.sel_marker = Line2D([], [], ls="none", marker="+", ms=14, mew=2, color="red", zorder=6)
        ax.add_line(self.sel_marker)
        self.line_marker = Line2D([], [], ls="--", lw=1, color="red", zorder=5)
        ax.add_line(self.line_marker)
        self.map_legend = None

    def _build_line_artists(self) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D


        ax = self.ax_line
        self.orbit_points = Line2D([], [], ls="none", marker=".", ms=1.0, color="0.6", zorder=1,
                                   label="orbit diagram")
        ax.add_line(self.orbit_points)
        self.line_objects = {}
        for stab, style in STABILITY_STYLE.items():
            ln = Line2D([], [], ls="none", marker="o", ms=3, color=style["color"], fillstyle=style["fillstyle"],
                        markerfacecoloralt="white", label=stab, zorder=3)
            ax.add_line(ln)
            self.line_objects[stab] = ln
        self.line_events = LineCollection([], colors="k", linewidths=0.6, linestyles="dotted", zorder=2)
        ax.add_collection(self.line_events)
        ax.legend(loc="upper right", fontsize=7, markerscale=2)
        ax.set_title("1-D diagram (select a point, then '1-D diagram')", fontsize=9)

    # ------------------------------------------------------------------ drawing
    def _redraw_map(self) -> None:
        st = self.state
        img, labels = st.image(self.colour.value)
        self.map_image.set_data(img)
        self.map_image.set_extent(st.extent)
        hi = max(1, int(img.max()))
        self.map_image.set_cmap("tab20" if self.colour.value == "signature" else "viridis")
        self.map_image.set_clim(-0.5, hi + 0.5)
        self.colorbar.set_ticks(range(0, hi + 1, max(1, (hi + 1) // 10)))
        self.colorbar.set_label({"count": "objects", "stable": "stable objects",
                                 "signature": "signature (see info)"}[self.colour.value], fontsize=8)
        curves = st.curves() if self.show_curves.value else {}
        for kind, lc in self.curve_lines.items():
            lc.set_segments(list(curves.get(kind, [])))
        present = [lc for kind, lc in self.curve_lines.items() if kind in curves]
        if self.map_legend is not None:
            self.map_legend.remove()
            self.map_legend = None
        if present:
            self.map_legend = self.ax_map.legend(handles=present, loc="lower left", fontsize=6, framealpha=0.7)
        x0, x1, y0, y1 = st.extent
        self.ax_map.set_xlim(x0, x1)
        self.ax_map.set_ylim(y0, y1)
        self.ax_map.set_xlabel(st.names[0])
        self.ax_map.set_ylabel(st.names[1])
        self.ax_map.set_title(f"bifurcation map ({self.colour.value})", fontsize=9)
        self._redraw_selection()
        if self.colour.value == "signature":
            items = "".join(f"<li>{n}: {html.escape(t) or '(none)'}</li>" for n, t in enumerate(labels))
            self._signature_html = f"<b>signatures</b> (order + s/d/u = stable/saddle/unstable)<ul>{items}</ul>"
        else:
            self._signature_html = ""
        self._update_info()
        self._draw()

    def _redraw_selection(self) -> None:
        st = self.state
        if st.selected is None:
            self.sel_marker.set_data([], [])
            self.line_marker.set_data([], [])
            return
        p = st.params
        x, y = p[st.names[0]], p[st.names[1]]
        self.sel_marker.set_data([x], [y])
        x0, x1, y0, y1 = st.extent
        if st.line_axis == 0:
            self.line_marker.set_data([x0, x1], [y, y])
        else:
            self.line_marker.set_data([x, x], [y0, y1])

    def _redraw_portrait(self) -> None:
        st = self.state
        self.portrait.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories())
        where = ", ".join(f"{k}={v:.3g}" for k, v in st.params.items())
        self.ax_phase.set_title(f"phase portrait at {where}", fontsize=9)

    def _redraw_line(self) -> None:
        st = self.state
        lm = st.line_map
        if lm is None:
            for ln in self.line_objects.values():
                ln.set_data([], [])
            self.orbit_points.set_data([], [])
            self.line_events.set_segments([])
            return
        coord = int(self.coord.value)
        d = lm.diagram(coord)
        for stab, ln in self.line_objects.items():
            sel = d["stability"] == stab
            ln.set_data(d["param"][sel], d["z"][sel])
        if lm.orbit.size:
            x = np.repeat(lm.values0, lm.orbit.shape[1])
            y = lm.orbit[:, :, coord].ravel()
            ok = np.isfinite(y)
            self.orbit_points.set_data(x[ok], y[ok])
        else:
            self.orbit_points.set_data([], [])
        ys = np.concatenate([d["z"], lm.orbit[:, :, coord].ravel()]) if lm.orbit.size else d["z"]
        ys = ys[np.isfinite(ys)]
        # robust limits: objects near a degenerate transcritical bifurcation run off to infinity
        lo, hi = (float(np.percentile(ys, 2)), float(np.percentile(ys, 98))) if len(ys) else (-1.0, 1.0)
        pad = 0.08 * max(hi - lo, 1e-3)
        lo, hi = lo - pad, hi + pad
        marks = np.concatenate(list(lm.bifurcation_values().values())) if len(lm.ev_kind) else np.zeros(0)
        self.line_events.set_segments([[(v, lo), (v, hi)] for v in np.unique(marks)])
        self.ax_line.set_xlim(float(lm.values0[0]), float(lm.values0[-1]))
        self.ax_line.set_ylim(lo, hi)
        self.ax_line.set_xlabel(str(lm.names[0]))
        self.ax_line.set_ylabel(f"z{coord + 1}")
        fixed = st.names[1 - st.line_axis]
        self.ax_line.set_title(f"1-D diagram at {fixed} = {st.params[fixed]:.3g}", fontsize=9)

    def _update_info(self) -> None:
        st = self.state
        parts = []
        if st.selected is not None:
            rows = "".join(
                f"<tr><td>{c.order}</td><td>{c.stability}</td><td>{c.max_abs_eigenvalue:.3f}</td>"
                f"<td style='font-family:monospace'>{html.escape(c.key)}</td></tr>" for c in st.cycles[:30]
            )
            parts.append("<table class='rnx-bif-objects' style='font-size:12px'><tr><th>order</th>"
                         f"<th>stability</th><th>max |&lambda;|</th><th>regions</th></tr>{rows}</table>")
            evs = st.events_here()
            if evs:
                parts.append("<b>bifurcations next to this point</b><ul style='margin:0'>"
                             + "".join(f"<li>{html.escape(e)}</li>" for e in evs[:20]) + "</ul>")
        parts.append(self._signature_html)
        self.info.value = "".join(parts)

    def _draw(self) -> None:
        if not self._static:
            self.fig.canvas.draw_idle()

    def _status(self, level: str, text: str) -> None:
        self.status.value = status_html(level, text)

    # ------------------------------------------------------------------ scripted gestures
    @guarded
    def click(self, x: float, y: float) -> None:
        """Select the grid point nearest to ``(x, y)``: portrait, info and (if shown) the line."""
        t0 = time.perf_counter()
        st = self.state
        st.select(x, y)
        self._redraw_selection()
        self._redraw_portrait()
        if st.line_map is not None:
            st.compute_line()
            self._redraw_line()
        self._update_info()
        self._draw()
        self.timings["last_redraw"] = time.perf_counter() - t0
        self._status("ok", st.summary())

    @guarded
    def drag(self, x0: float, y0: float, x1: float, y1: float) -> None:
        """Recompute the map over the rectangle at the resolution in ``zoom res``."""
        n = int(self.resolution.value)
        self._status("busy", f"computing a {n} x {n} map of the rectangle ...")
        self.state.zoom(x0, x1, y0, y1, shape=(n, n))
        self._after_map_change()
        self._status("ok", self.state.summary())

    def _after_map_change(self) -> None:
        self._redraw_map()
        self._redraw_line()
        self.portrait.update(cycles=[], trajectories=[])
        self._draw()

    # ------------------------------------------------------------------ callbacks
    def _on_press(self, event: Any) -> None:
        self._press = (event.x, event.y) if event.inaxes is self.ax_map and event.button == 1 else None

    @guarded
    def _on_release(self, event: Any) -> None:
        press, self._press = self._press, None
        if press is None or event.inaxes is not self.ax_map or event.xdata is None:
            return
        if abs(event.x - press[0]) > 4 or abs(event.y - press[1]) > 4:
            return  # a drag: the rectangle selector handles it
        self.click(event.xdata, event.ydata)

    def _on_rectangle(self, eclick: Any, erelease: Any) -> None:
        if None in (eclick.xdata, eclick.ydata, erelease.xdata, erelease.ydata):
            return
        self.drag(eclick.xdata, eclick.ydata, erelease.xdata, erelease.ydata)

    @guarded
    def _on_colour(self, change: dict) -> None:
        self._redraw_map()

    @guarded
    def _on_curves(self, change: dict) -> None:
        self._redraw_map()

    @guarded
    def _on_line_axis(self, change: dict) -> None:
        self.state.line_axis = int(change["new"])
        self._redraw_selection()
        if self.state.line_map is not None and self.state.selected is not None:
            self.state.compute_line()
            self._redraw_line()
        self._draw()

    @guarded
    def _on_coord(self, change: dict) -> None:
        self._redraw_line()
        self._draw()

    @guarded
    def _on_line_button(self, _button: Any = None) -> None:
        if self.state.selected is None:
            self._status("error", "select a point on the map first (the line passes through it)")
            return
        self._status("busy", "computing the 1-D diagram ...")
        self.state.compute_line(int(self.line_axis.value))
        self._redraw_selection()
        self._redraw_line()
        self._draw()
        self._status("ok", self.state.summary())

    @guarded
    def _on_back(self, _button: Any = None) -> None:
        if not self.state.history:
            self._status("ok", "already at the first map")
            return
        self.state.back()
        self._after_map_change()
        self._status("ok", self.state.summary())

    @guarded
    def _on_open(self, _button: Any = None) -> None:
        if self.state.selected is None:
            self._status("error", "select a point on the map first")
            return
        from rnnexplore.widgets.explorer import CycleExplorer

        self.explorer = CycleExplorer(self.state.model, max_order=int(self.state.result.max_order))
        self.explorer_out.clear_output()
        if in_ipython():
            from IPython.display import display

            with self.explorer_out:
                display(self.explorer.widget)
        self._status("ok", "cycle explorer opened below at " + ", ".join(
            f"{k} = {v:.4g}" for k, v in self.state.params.items()))

