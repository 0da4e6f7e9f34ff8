"""BifurcationExplorer: a 2-D bifurcation map you can click, zoom into and cut along a line.

:class:`BifurcationExplorer` wraps the scriptable
:class:`~rnnexplore.apps.bifurcation.BifurcationState` in a thin ipywidgets + ipympl view with one figure of
three panels:

- the map (colour by object count, by stability signature or by the number of stable
  objects), the bifurcation curves on top (one colour per event kind), optionally the points
  whose objects are proven complete hatched (``proven``; maps swept with ``prove=``), the selected point and
  the line of the 1-D panel; click a point to select it, drag a rectangle to recompute that
  part of the map at the chosen resolution (``back`` returns to the previous map);
- the phase portrait of the selected parameter setting (the shared
  :class:`~rnnexplore.widgets.portrait.PhasePortrait`: regions, borders, objects, a few
  trajectories); ``open in cycle explorer`` opens a full
  :class:`~rnnexplore.widgets.explorer.CycleExplorer` at that setting below the map;
- the 1-D bifurcation diagram along the line through the selection (vary the x or the y
  parameter): objects by stability, the orbit diagram in grey and the event locations.

Zooms and 1-D diagrams run in the background (:meth:`BifurcationState.start_zoom`): a progress
bar and a Cancel button appear, the map shown stays until the new one is complete, finished
tiles appear in grey inside the dragged rectangle as they come in, and the kernel stays free.
A zoom that would take longer than ``confirm_above`` seconds says how long ("about 40 min on
this machine") and waits for "compute anyway".

The three panels are three figures in a wrapping row, sized to the width the page reports
(:class:`~rnnexplore.widgets.clientside.WidthProbe`), in JupyterLab and in Voila: side by side
when there is room, else below each other; never clipped. Counts use integer colour keys; signatures a key that names
each one in words ("stable 16-cycle + saddle 16-cycle").

Every control carries a stable CSS class: ``rnx-bif`` (the app), ``rnx-bif-colour``,
``rnx-bif-curves``, ``rnx-bif-proven``, ``rnx-bif-line-axis``, ``rnx-bif-line``, ``rnx-bif-coord``,
``rnx-bif-resolution``, ``rnx-bif-back``, ``rnx-bif-open``, ``rnx-bif-status``,
``rnx-bif-progress``, ``rnx-bif-cancel``, ``rnx-bif-confirm``, ``rnx-bif-key``, ``rnx-bif-probe``,
``rnx-bif-info``, ``rnx-bif-figure`` (the map; ``rnx-bif-phase`` and ``rnx-bif-line-figure``
the others), ``rnx-bif-panels``, ``rnx-bif-explorer``. Callbacks never raise into the
notebook: errors go to the status line.

"""

from __future__ import annotations

import html
import io
import threading
import time
from typing import Any

import numpy as np

from rnnexplore.apps.bifurcation import COLOUR_MODES, BifurcationState, NeedsConfirmation
from rnnexplore.dynamics.events import EVENT_KINDS
from rnnexplore.plotting import map_colours, proven_cells, proven_collection, signature_colours
from rnnexplore.widgets.base import EVENT_COLOURS, STABILITY_STYLE, guarded, status_html
from rnnexplore.widgets.figure import in_ipython

__all__ = ["BifurcationExplorer", "panel_sizes", "signature_key_html"]


# =========================================================================== colour key
def signature_key_html(labels: list) -> str:
    """HTML key: a colour swatch and the words of each signature (CSS class ``rnx-bif-key-item``).

    The colours are :func:`rnnexplore.plotting.signature_colours`, those of the map.

    Examples
    --------
    >>> signature_key_html(["no object"]).count("rnx-bif-key-item")
    1
    """
    from matplotlib.colors import to_hex

    items = "".join(
        f"<span class='rnx-bif-key-item' style='display:inline-block;margin:1px 10px 1px 0'>"
        f"<span style='display:inline-block;width:12px;height:12px;background:{to_hex(c)};"
        f"border:1px solid #888;vertical-align:middle;margin-right:4px'></span>{html.escape(t)}</span>"
        for t, c in zip(labels, signature_colours(len(labels))))
    return f"<div style='font-size:12px;line-height:1.5'><b>stability signature</b>: {items}</div>"


def panel_sizes(width: int) -> tuple[int, int, int]:
    """``(columns, panel width, panel height)`` in CSS pixels for a page width (three panels).

    Examples
    --------
    >>> panel_sizes(1400), panel_sizes(860), panel_sizes(500)
    ((3, 458, 366), (2, 420, 336), (1, 486, 388))
    """
    w = max(int(width), 300) - 8
    cols = 3 if w >= 1180 else 2 if w >= 640 else 1
    pw = (w - 6 * cols) // cols  # every panel has a 6 px right margin
    return cols, pw, int(min(max(0.8 * pw, 260), 520))


class _Panel:
    """One figure of the view: an ipympl canvas (interactive) or an Image widget (static backends)."""

    def __init__(self, css: str, footer: bool = False) -> None:
        import ipywidgets as W
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        with plt.ioff():
            fig = plt.figure(layout="constrained")
        if isinstance(fig.canvas, W.DOMWidget):  # ipympl: updated in place
            self.static = False
            canvas = fig.canvas
            canvas.header_visible = False
            canvas.toolbar_visible = False  # no floating toolbar over the ticks; zoom = drag
            canvas.footer_visible = footer
            canvas.resizable = False
            self.widget = canvas
        else:
            plt.close(fig)
            fig = Figure(layout="constrained")
            self.static = True
            self.widget = W.Image(format="png")
        self.fig = fig
        self.widget.add_class(css)

    def resize(self, w: int, h: int) -> None:
        ratio = float(getattr(self.fig.canvas, "device_pixel_ratio", 1.0) or 1.0)
        self.fig.set_size_inches(w * ratio / self.fig.dpi, h * ratio / self.fig.dpi, forward=True)
        if self.static:
            self.widget.layout.max_width = f"{w}px"

    def draw(self) -> None:
        if self.static:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            buf = io.BytesIO()
            FigureCanvasAgg(self.fig).print_png(buf)
            self.widget.value = buf.getvalue()
        else:
            canvas = self.fig.canvas
            canvas.draw()  # renders and pushes the image now (also from a job's thread)
            _repair_data_url(canvas)


def _repair_data_url(canvas: Any) -> None:
    """Give ipympl's initial image the ``data:`` scheme it lacks.

    Until the browser's view reports "initialized", ipympl (0.9-0.10, ``Canvas.send_binary``)
    stores each pushed image in ``_data_url`` as bare base64, while its ``_repr_mimebundle_``
    writes a proper ``data:image/png;base64,`` URL. The view then loads the bare text as a
    relative URL: a request of ~50 kB per panel that Voila refuses (403) and logs in full - in
    a server whose output nobody reads (a pipe) the log fills the pipe and the server stops
    forwarding every widget message, the page-width probe's included. With the scheme the
    view shows the image at once and requests nothing.
    """
    url = getattr(canvas, "_data_url", None)
    if getattr(canvas, "syncing_data_url", False) and isinstance(url, str) and url and not url.startswith("data:"):
        canvas._data_url = "data:image/png;base64," + url


# =========================================================================== the view
class BifurcationExplorer:
    """Interactive 2-D bifurcation map (ipywidgets + ipympl) over a :class:`BifurcationState`.

    Parameters
    ----------
    result : BifurcationMap or BifurcationState, optional
        The map (or a prepared state); otherwise pass ``model``, ``grid``, ``max_order`` and
        sweep options as keyword arguments (see :class:`BifurcationState`).
    colour : {"count", "signature", "stable"}
    width : int
        Width in CSS pixels until the page reports the width it has.
    **kwargs
        Passed to :class:`BifurcationState` (``confirm_above``, ``zoom_shape``, ...).

    Attributes
    ----------
    state : BifurcationState
    widget : ipywidgets.VBox
    colour, show_curves, show_proven, line_axis, line_button, coord, resolution, back_button, open_button,
    status, progress, cancel_button, confirm_button, confirm_box, key, info, explorer_out :
        the controls
    fig_map, fig_phase, fig_line : matplotlib figures of the three panels
    canvas : the widget showing the map (``canvas_phase``, ``canvas_line``: the others)
    portrait : PhasePortrait
    selector : matplotlib.widgets.RectangleSelector
    explorer : CycleExplorer or None
        The cycle explorer opened by ``open in cycle explorer``.

    Notes
    -----
    Headless use (tests): set ``.value`` of the controls, call :meth:`click` (what a mouse
    click on the map does) and :meth:`drag` (what a rectangle drag does; it starts a job:
    :meth:`wait` waits for it). ``last_error`` holds the traceback of the last callback that
    failed (None after a successful one).
    """

    def __init__(self, result: Any = None, *, colour: str = "count", width: int = 860, **kwargs: Any) -> None:
        import ipywidgets as W
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
        self._lock = threading.RLock()
        self._pending: NeedsConfirmation | None = None
        self._last_partial = 0.0
        self._build_controls(colour)
        lay = W.Layout
        self._map_panel = _Panel("rnx-bif-figure", footer=True)
        self._phase_panel = _Panel("rnx-bif-phase")
        self._line_panel = _Panel("rnx-bif-line-figure")
        self.fig_map, self.fig_phase, self.fig_line = (p.fig for p in (self._map_panel, self._phase_panel,
                                                                       self._line_panel))
        self.canvas, self.canvas_phase, self.canvas_line = (p.widget for p in (self._map_panel, self._phase_panel,
                                                                              self._line_panel))
        self._static = self._map_panel.static
        self.ax_map = self.fig_map.add_subplot()
        self.ax_phase = self.fig_phase.add_subplot()
        self.ax_line = self.fig_line.add_subplot()
        self._build_map_artists()
        self.portrait = PhasePortrait(self.ax_phase, shade=True, grid=80)
        self.ax_phase.set_title("phase portrait (click the map)", fontsize=9)
        self._build_line_artists()
        self.selector = RectangleSelector(self.ax_map, self._on_rectangle, useblit=False, button=[1],
                                          minspanx=5, minspany=5, spancoords="pixels", interactive=False)
        self._press: tuple[float, float] | None = None
        self.fig_map.canvas.mpl_connect("button_press_event", self._on_press)
        self.fig_map.canvas.mpl_connect("button_release_event", self._on_release)

        controls = W.HBox([self.colour, self.show_curves, self.show_proven, self.resolution, self.back_button],
                          layout=lay(flex_flow="row wrap"))
        line_controls = W.HBox([self.line_axis, self.line_button, self.coord, self.open_button],
                               layout=lay(flex_flow="row wrap"))
        busy = W.HBox([self.progress, self.cancel_button], layout=lay(align_items="center"))
        self.panels = W.Box([self.canvas, self.canvas_phase, self.canvas_line],
                            layout=lay(display="flex", flex_flow="row wrap", width="100%", align_items="flex-start"))
        self.panels.add_class("rnx-bif-panels")
        self.widget = W.VBox([controls, line_controls, self.status, busy, self.confirm_box,
                              self.panels, self.probe, self.key, self.info, self.explorer_out], layout=lay(width="100%"))
        self.widget.add_class("rnx-bif")
        self.colour.observe(self._on_colour, names="value")
        self.show_curves.observe(self._on_curves, names="value")
        self.show_proven.observe(self._on_curves, names="value")
        self.line_axis.observe(self._on_line_axis, names="value")
        self.coord.observe(self._on_coord, names="value")
        self.line_button.on_click(self._on_line_button)
        self.back_button.on_click(self._on_back)
        self.open_button.on_click(self._on_open)
        self.cancel_button.on_click(self._on_cancel)
        self.confirm_button.on_click(self._on_confirm)
        self.probe.observe(self._on_width, names="width")
        self._width = 0
        self._layout(int(width), draw=False)
        self._redraw_map(draw=False)
        self._draw_all()
        self._status("ok", self.state.summary() + " - click a point, drag a rectangle to zoom")

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def _build_controls(self, colour: str) -> None:
        import ipywidgets as W

        from rnnexplore.widgets.clientside import WidthProbe

        lay = W.Layout
        self.colour = W.Dropdown(options=list(COLOUR_MODES), value=colour, description="colour",
                                 layout=lay(width="200px"))
        self.show_curves = W.Checkbox(value=True, description="curves", indent=False, layout=lay(width="90px"))
        self.show_proven = W.Checkbox(value=False, description="proven", indent=False, layout=lay(width="90px"),
                                      tooltip="hatch the points whose objects are proven complete (sweep(prove=...))")
        self.line_axis = W.ToggleButtons(options=[("vary x", 0), ("vary y", 1)], value=0,
                                         style={"button_width": "70px"})
        self.line_button = W.Button(description="1-D diagram", icon="line-chart", layout=lay(width="120px"),
                                    tooltip="bifurcation diagram along the line through the selection")
        self.coord = W.BoundedIntText(value=0, min=0, max=max(0, self.state.result.model.M - 1),
                                      description="coord", layout=lay(width="140px"))
        n0, n1 = self.state.zoom_shape
        self.resolution = W.BoundedIntText(value=max(n0, n1), min=2, max=2000, description="zoom res",
                                           layout=lay(width="160px"),
                                           tooltip="points per axis of a zoomed map (drag a rectangle)")
        self.back_button = W.Button(description="back", icon="undo", layout=lay(width="80px"))
        self.open_button = W.Button(description="open in cycle explorer", layout=lay(width="190px"))
        self.status = W.HTML()
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, layout=lay(width="260px", display="none"))
        self.cancel_button = W.Button(description="cancel", icon="stop", button_style="warning",
                                      layout=lay(width="90px", display="none"))
        self.confirm_text = W.HTML()
        self.confirm_button = W.Button(description="compute anyway", button_style="danger", layout=lay(width="150px"))
        self.confirm_box = W.HBox([self.confirm_text, self.confirm_button], layout=lay(display="none"))
        self.key = W.HTML()
        self.info = W.HTML()
        self.explorer_out = W.Output()
        self.probe = WidthProbe()
        self.probe.add_class("rnx-bif-probe")
        for w, cls in [(self.colour, "colour"), (self.show_curves, "curves"), (self.show_proven, "proven"),
                       (self.line_axis, "line-axis"),
                       (self.line_button, "line"), (self.coord, "coord"), (self.resolution, "resolution"),
                       (self.back_button, "back"), (self.open_button, "open"), (self.status, "status"),
                       (self.progress, "progress"), (self.cancel_button, "cancel"), (self.confirm_box, "confirm"),
                       (self.key, "key"), (self.info, "info"), (self.explorer_out, "explorer")]:
            w.add_class(f"rnx-bif-{cls}")


    # ------------------------------------------------------------------ layout
    def _layout(self, width: int, draw: bool = True) -> None:
        cols, pw, ph = panel_sizes(width)
        if (cols, pw) == getattr(self, "_sizes", None):
            return
        self._sizes = (cols, pw)
        self._width = width
        with self._lock:
            for p in (self._map_panel, self._phase_panel, self._line_panel):
                p.resize(pw, ph)
                p.widget.layout.width = f"{pw}px"  # a flex item of its own width: panels sit side by side
                p.widget.layout.flex = "0 0 auto"
                p.widget.layout.margin = "0 6px 6px 0"
            if draw:
                self._draw_all()

    @guarded
    def _on_width(self, change: dict) -> None:
        self._layout(int(change["new"]))

    # ------------------------------------------------------------------ artists
    def _build_map_artists(self) -> None:
        from matplotlib.collections import LineCollection
        from matplotlib.lines import Line2D
        from matplotlib.patches import Rectangle

        ax = self.ax_map
        self.map_image = ax.imshow(np.zeros((2, 2)), origin="lower", aspect="auto", interpolation="nearest",
                                   cmap="viridis")
        self.colorbar = self.fig_map.colorbar(self.map_image, ax=ax, fraction=0.05, pad=0.02)
        self.curve_lines = {}
        for kind in EVENT_KINDS:
            lc = LineCollection([], colors=EVENT_COLOURS[kind], linewidths=1.4, label=kind.replace("_", " "))
            ax.add_collection(lc)
            self.curve_lines[kind] = lc
        self.proven_layer = ax.add_collection(proven_collection(np.zeros((0, 4, 2))))
        self.sel_marker = Line2D([], [], ls="none", marker="+", ms=14, mew=2, color="red", zorder=6)
        ax.add_line(self.sel_marker)
        self.line_marker = Line2D([], [], ls="--", lw=1, color="red", zorder=5)
        ax.add_line(self.line_marker)
        self.partial_image = ax.imshow(np.full((2, 2), np.nan), origin="lower", aspect="auto",
                                       interpolation="nearest", cmap="Greys", alpha=0.85, zorder=4, visible=False)
        self.partial_box = Rectangle((0, 0), 0, 0, fill=False, ec="red", lw=1.2, ls="--", zorder=7, visible=False)
        ax.add_patch(self.partial_box)
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
    def _redraw_map(self, draw: bool = True) -> None:
        with self._lock:
            st = self.state
            mode = self.colour.value
            img, labels = st.image(mode)
            cmap, norm, ticks = map_colours(img, labels, mode)
            self.map_image.set_data(img)
            self.map_image.set_extent(st.extent)
            self.map_image.set_cmap(cmap)
            self.map_image.set_norm(norm)
            cb = self.colorbar
            cb.update_normal(self.map_image)
            cb.ax.set_visible(mode != "signature")
            if mode != "signature":
                cb.set_ticks(ticks)
                cb.set_ticklabels([str(t) for t in ticks])
                cb.set_label({"count": "objects per point", "stable": "stable objects per point"}[mode], fontsize=8)
            curves = st.curves() if self.show_curves.value else {}
            for kind, lc in self.curve_lines.items():
                lc.set_segments(list(curves.get(kind, [])))
            present = [lc for kind, lc in self.curve_lines.items() if kind in curves]
            self.proven_layer.set_verts(list(proven_cells(st.result)) if self.show_proven.value else [])
            if len(self.proven_layer.get_paths()):
                present.append(self.proven_layer)
            if self.map_legend is not None:
                self.map_legend.remove()
                self.map_legend = None
            if present:
                self.map_legend = self.ax_map.legend(handles=present, loc="lower left", fontsize=6, framealpha=0.7,
                                                     title="curves / proven", title_fontsize=6)
            x0, x1, y0, y1 = st.extent
            self.ax_map.set_xlim(x0, x1)
            self.ax_map.set_ylim(y0, y1)
            self.ax_map.set_xlabel(st.names[0])
            self.ax_map.set_ylabel(st.names[1])
            self.ax_map.set_title(st.title(mode), fontsize=8)
            self.key.value = signature_key_html(labels) if mode == "signature" else ""
            self._redraw_selection()
            self._update_info()
            if draw:
                self._map_panel.draw()

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
        if st.selected is None:
            self.portrait.update(cycles=[], trajectories=[])
            self.ax_phase.set_title("phase portrait (click the map)", fontsize=9)
            return
        self.portrait.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories())
        where = ", ".join(f"{k}={v:.4g}" for k, v in st.params.items())
        self.ax_phase.set_title(f"phase portrait at {where}\n{len(st.cycles)} object(s) up to order "
                                f"{st.result.max_order}", fontsize=8)

    def _redraw_line(self) -> None:
        st = self.state
        lm = st.line_map
        if lm is None:
            for ln in self.line_objects.values():
                ln.set_data([], [])
            self.orbit_points.set_data([], [])
            self.line_events.set_segments([])
            self.ax_line.set_title("1-D diagram (select a point, then '1-D diagram')", fontsize=9)
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
        fixed = [k for k in st.names if k != str(lm.names[0])][0]
        value = lm.model.get_param(fixed)
        self.ax_line.set_title(f"1-D diagram at {fixed} = {value:.4g}\nobjects up to order {lm.max_order}, "
                               "dotted: bifurcations", fontsize=8)

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
        self.info.value = "".join(parts)

    def _draw_all(self) -> None:
        with self._lock:
            for p in (self._map_panel, self._phase_panel, self._line_panel):
                p.draw()

    def _status(self, level: str, text: str) -> None:
        self.status.value = status_html(level, text)

    # ------------------------------------------------------------------ jobs
    def _busy(self, on: bool) -> None:
        self.progress.layout.display = "" if on else "none"
        self.cancel_button.layout.display = "" if on else "none"
        if on:
            self.progress.value = 0.0
            self.confirm_box.layout.display = "none"

    def _show_partial(self, force: bool = False) -> None:
        part = self.state.partial
        now = time.perf_counter()
        if not force and now - self._last_partial < 0.3:
            return
        self._last_partial = now
        with self._lock:
            if part is None:
                self.partial_image.set_visible(False)
                self.partial_box.set_visible(False)
            else:
                x0, x1, y0, y1 = part["rect"]
                n0, n1 = part["shape"]
                hx = 0.5 * (x1 - x0) / max(n0 - 1, 1)
                hy = 0.5 * (y1 - y0) / max(n1 - 1, 1)
                counts = part["counts"]
                self.partial_image.set_data(np.ma.masked_invalid(counts))
                self.partial_image.set_extent((x0 - hx, x1 + hx, y0 - hy, y1 + hy))
                hi = np.nanmax(counts) if np.isfinite(counts).any() else 1.0
                self.partial_image.set_clim(-0.5, max(hi, 1.0) + 0.5)
                self.partial_image.set_visible(True)
                self.partial_box.set_bounds(x0 - hx, y0 - hy, x1 - x0 + 2 * hx, y1 - y0 + 2 * hy)
                self.partial_box.set_visible(True)
            self._map_panel.draw()

    def _job_callbacks(self, what: str) -> dict:
        def progress(f, msg):
            self.progress.value = f
            self._status("busy", f"{what}: {msg} ({100 * f:.0f} %) - the map shown stays until the new one is ready")
            if self.state.partial is not None:
                self._show_partial()

        def cancelled():
            self._after_job()
            self._status("ok", f"{what} cancelled - nothing changed")

        def failed(exc, tb):
            self.last_error = tb
            self._after_job()
            self._status("error", f"{what} failed: {type(exc).__name__}: {exc}")

        return {"on_progress": progress, "on_cancel": cancelled, "on_error": failed}

    def _after_job(self) -> None:
        self._busy(False)
        self.state.partial = None
        self._show_partial(force=True)

    def wait(self, timeout: float | None = 300.0) -> "BifurcationExplorer":
        """Wait for the running job (scripts and tests); returns the view."""
        if self.state.job is not None:
            self.state.job.wait(timeout)
            time.sleep(0.05)  # the done callback runs right after the job's end is recorded
        return self

    # ------------------------------------------------------------------ scripted gestures
    @guarded
    def click(self, x: float, y: float) -> None:
        """Select the grid point nearest to ``(x, y)``: portrait, info and (if shown) the line."""
        t0 = time.perf_counter()
        st = self.state
        with self._lock:
            st.select(x, y)
            self._redraw_selection()
            self._redraw_portrait()
            self._update_info()
            self._map_panel.draw()
            self._phase_panel.draw()
        self.timings["last_redraw"] = time.perf_counter() - t0
        self._status("ok", st.summary())
        if st.line_map is not None:
            self._start_line()

    @guarded
    def drag(self, x0: float, y0: float, x1: float, y1: float, *, confirmed: bool = False) -> None:
        """Start recomputing the map over the rectangle at the resolution in ``zoom res`` (a job)."""
        n = int(self.resolution.value)
        cb = self._job_callbacks(f"{n} x {n} zoom")

        def done(result):
            if isinstance(result, NeedsConfirmation):
                self._busy(False)
                self._pending = result
                self.confirm_text.value = status_html("warning", result.message())
                self.confirm_box.layout.display = ""
                self._status("warning", result.message())
                return
            self._after_job()
            self._after_map_change()
            self._status("ok", f"{self.state.summary()} (computed in {self.state.timings['zoom']:.1f} s)")

        self._busy(True)
        self._status("busy", f"{n} x {n} zoom: starting ...")
        self.state.start_zoom(x0, x1, y0, y1, shape=(n, n), confirmed=confirmed, on_done=done, **cb)

    def _after_map_change(self) -> None:
        with self._lock:
            self._redraw_map(draw=False)
            self._redraw_line()
            self._redraw_portrait()
            self._draw_all()

    def _start_line(self) -> None:
        cb = self._job_callbacks("1-D diagram")

        def done(result):
            self._after_job()
            with self._lock:
                self._redraw_selection()
                self._redraw_line()
                self._map_panel.draw()
                self._line_panel.draw()
            self._status("ok", self.state.summary())

        self._busy(True)
        self.state.start_line(int(self.line_axis.value), on_done=done, **cb)

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
    def _on_cancel(self, _button: Any = None) -> None:
        self.state.cancel()
        self._pending = None
        self.confirm_box.layout.display = "none"
        self._after_job()
        self._status("ok", "cancelled - the map is unchanged")

    @guarded
    def _on_confirm(self, _button: Any = None) -> None:
        p, self._pending = self._pending, None
        self.confirm_box.layout.display = "none"
        if p is None:
            return
        x0, x1, y0, y1 = p.rect
        self.resolution.value = max(p.shape)
        self.drag(x0, y0, x1, y1, confirmed=True)

    @guarded
    def _on_colour(self, change: dict) -> None:
        self._redraw_map()

    @guarded
    def _on_curves(self, change: dict) -> None:
        self._redraw_map()

    @guarded
    def _on_line_axis(self, change: dict) -> None:
        self.state.line_axis = int(change["new"])
        with self._lock:
            self._redraw_selection()
            self._map_panel.draw()
        if self.state.line_map is not None and self.state.selected is not None:
            self._start_line()

    @guarded
    def _on_coord(self, change: dict) -> None:
        with self._lock:
            self._redraw_line()
            self._line_panel.draw()

    @guarded
    def _on_line_button(self, _button: Any = None) -> None:
        if self.state.selected is None:
            self._status("error", "select a point on the map first (the line passes through it)")
            return
        self._start_line()

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
