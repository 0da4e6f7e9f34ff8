"""CycleExplorer: drag a weight, watch fixed points and cycles move, collide and vanish.

A thin ipywidgets view over :class:`rnnexplore.apps.explorer.ExplorerState` (which does all the
computing and can be scripted on its own: the widget and a script drive the same state, and
the widget always shows the state, never a value of its own). One slider and one number box
per parameter, a max-order box, presets, reset, "fit attractors", toggles for basins of
attraction, manifolds and the direction field, the phase portrait (click the plane to start
a trajectory), the accumulated event log, a table of objects, a status line and a share box.

Rendering: the portrait is drawn in the browser (:class:`~rnnexplore.widgets.portrait.CanvasPortrait`,
an anywidget canvas): every update sends the whole picture as data (a few kB) and the browser
redraws the canvas from it, so a frame can never show an old state, and no PNG travels.
Basins and manifolds are computed in the background after the objects were shown.

Responsiveness: inside a Jupyter kernel (JupyterLab, Voila) a slider event only records the
new value and schedules one recompute on the kernel's asyncio loop; events arriving before
it runs are merged into it. Outside a kernel (plain Python, tests) every event recomputes
synchronously.

Every control carries a stable CSS class: ``rnx-explorer`` (the whole app),
``rnx-explorer-slider`` (every parameter slider) plus ``rnx-param-<name>`` (e.g.
``rnx-param-W-1-0`` for ``"W[1,0]"``), ``rnx-explorer-value`` (the number box of a
parameter, also ``rnx-param-<name>``), ``rnx-explorer-order``, ``rnx-explorer-preset``,
``rnx-explorer-reset``, ``rnx-explorer-fit``, ``rnx-explorer-basins``, ``rnx-explorer-manifolds``,
``rnx-explorer-projection``, ``rnx-explorer-field``, ``rnx-explorer-clear``,
``rnx-explorer-status``, ``rnx-explorer-table``, ``rnx-explorer-events``,
``rnx-explorer-clear-log``, ``rnx-explorer-share``, ``rnx-explorer-export``,
``rnx-explorer-import``, ``rnx-explorer-figure``.

Examples
--------
>>> from rnnexplore.widgets.explorer import CycleExplorer
>>> app = CycleExplorer(preset="skew_tent")
>>> app.sliders["W[0,0]"].value = -1.0          # a_r = -0.8: the 2-cycle disappears
>>> [(c.order, c.stability) for c in app.state.cycles]
[(1, 'stable')]
>>> app.order.value = "3.5"                      # refused with the reason, previous state kept
>>> app.order.value, "whole number" in app.status.value
('8', True)
"""

from __future__ import annotations

import asyncio
import functools
import html
import math
import re
import time
from typing import Any

from rnnexplore.apps.explorer import PRESETS, ExplorerState
from rnnexplore.dynamics.projection import Projection
from rnnexplore.widgets.base import STABILITY_HTML, guarded, status_html
from rnnexplore.widgets.portrait import CanvasPortrait

__all__ = ["CycleExplorer", "param_css_class"]

#: HTML colours of the event kinds (same hues as :data:`rnnexplore.widgets.base.EVENT_COLOURS`)
_EVENT_HTML = {"birth": "#2ca02c", "death": "#d62728", "stability_change": "#ff7f0e",
               "border_collision": "#9467bd", "degenerate_transcritical": "#111111",
               "degenerate_flip": "#8c564b", "neimark_sacker": "#e377c2", "pair_creation": "#17becf",
               "pair_annihilation": "#bcbd22"}

_APP_CSS = """
<style>
.rnx-explorer, .rnx-explorer .widget-label, .rnx-explorer input, .rnx-explorer select,
.rnx-explorer button, .rnx-explorer .widget-html-content {
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  font-size: 13px; }
.rnx-explorer .rnx-explorer-status .widget-html-content span { font-family: inherit !important; }
.rnx-explorer .rnx-log { max-height: 150px; overflow-y: auto; margin: 0; padding-left: 0; list-style: none; }
.rnx-explorer .rnx-log li { margin: 1px 0; }
.rnx-explorer .rnx-chip { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 6px; }
.rnx-explorer table.rnx-objects td, .rnx-explorer table.rnx-objects th { padding: 1px 8px; text-align: left; }
.rnx-explorer .rnx-heading { font-weight: 600; margin: 6px 0 2px 0; }
</style>
"""

CONTROL_WIDTH = "340px"


def param_css_class(name: str) -> str:
    """CSS class of a parameter slider: ``"W[1,0]"`` -> ``"rnx-param-W-1-0"``.

    Examples
    --------
    >>> param_css_class("A[0]"), param_css_class("W[1, 0]"), param_css_class("u[0]")
    ('rnx-param-A-0', 'rnx-param-W-1-0', 'rnx-param-u-0')
    """
    parts = [p for p in re.split(r"[\[\],\s]+", name) if p]
    return "rnx-param-" + "-".join(parts)


def _fmt(v: float) -> str:
    return f"{v:.6g}"


class CycleExplorer:
    """Live fixed-point and cycle explorer (ipywidgets + a client-side canvas).

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN, optional
        The network to explore (default: the ``preset``, or the paper's 2-D system).
    preset : str, optional
        One of :data:`rnnexplore.apps.explorer.PRESETS` instead of a model.
    state : ExplorerState, optional
        Wrap an existing state (scripted before, or imported from a share string).
    params, max_order, seed, budget, n_steps, initial_conditions, projection
        Passed to :class:`~rnnexplore.apps.explorer.ExplorerState`.
    vector_field, basins, manifolds : bool
        Start with the direction field / basins of attraction / manifolds shown.
    width, height : int
        Canvas size in CSS pixels.
    coalesce : {"auto", True, False}
        "auto": coalesce slider events inside a Jupyter kernel (its asyncio loop delivers the
        widget messages), else compute synchronously; True schedules on any running asyncio
        loop; False forces synchronous updates.

    Attributes
    ----------
    state : ExplorerState
    widget : ipywidgets.VBox
        The app (the explorer displays as this box).
    sliders : dict name -> FloatSlider
    values : dict name -> Text (number entry of each parameter)
    order, preset, reset, fit, basins, manifolds, projection, vector_field, clear, status,
    events, clear_log, table, share, export_button, import_button : the controls
    portrait : CanvasPortrait
    canvas : the canvas widget
    timings : dict
        ``requests`` (slider events), ``deferred`` (of those, queued on the event loop and
        merged with later ones), ``computes`` (recomputes run), ``frames`` (pictures sent),
        ``last_compute`` and ``last_redraw`` (s).
    """

    def __init__(self, model: Any = None, *, preset: str | None = None, state: ExplorerState | None = None,
                 vector_field: bool = False, basins: bool = False, manifolds: bool = False,
                 width: int = 520, height: int = 440, coalesce: Any = "auto", **state_kwargs: Any) -> None:
        if state is None:
            if model is None:
                state = ExplorerState.from_preset(preset or "paper_gt16", **state_kwargs)
            else:
                state = ExplorerState(model, **state_kwargs)
        elif model is not None or preset is not None or state_kwargs:
            raise ValueError("pass either state or model/preset (with state options), not both")
        if coalesce not in ("auto", True, False):
            raise ValueError(f"coalesce must be 'auto', True or False, got {coalesce!r}")
        self.state = state
        self.coalesce = coalesce
        self.last_error: str | None = None
        self.timings = {"requests": 0, "computes": 0, "frames": 0, "last_redraw": 0.0,
                        "last_compute": 0.0, "deferred": 0}
        self._pending: dict[str, float] = {}
        self._scheduled = False
        self._syncing = False
        self._slider_names: list[str] | None = None
        self._frame = 0

        self._build_controls(basins, manifolds, vector_field)
        self.portrait = CanvasPortrait(width=width, height=height, css_class="rnx-explorer-figure")
        self.canvas = self.portrait.widget
        self.portrait.on_click = self._on_click

        self._build_layout()
        self._wire()
        loop = _kernel_loop() if coalesce == "auto" else None
        if loop is not None:  # background results are shown from the kernel's thread
            self.state.dispatch = lambda fn: loop.call_soon_threadsafe(fn)
        self.state.listeners.append(self._on_state)
        if basins:
            self.state.show_basins = True
        if manifolds:
            self.state.show_manifolds = True
        if basins or manifolds:
            self.state._background()
        self._on_state(self.state)

    def _build_controls(self, basins: bool, manifolds: bool, vector_field: bool) -> None:
        """Create every control (each with its stable CSS class ``rnx-explorer-*``)."""
        import ipywidgets as W

        state = self.state
        lay = W.Layout
        half = "167px"
        self.preset = W.Dropdown(options=[("(custom)", "")] + [(p.label, k) for k, p in PRESETS.items()],
                                 value=state.preset or "", layout=lay(width="250px"))
        self.reset = W.Button(description="reset", layout=lay(width="84px"),
                              tooltip="back to the starting model and order")
        self.order = W.Text(value=str(state.max_order), description="max order", continuous_update=False,
                            layout=lay(width=half), style={"description_width": "70px"})
        self.fit = W.Button(description="fit attractors", layout=lay(width=half),
                            tooltip="zoom to the stable objects")
        self.projection = W.Dropdown(layout=lay(width=half))
        self.clear = W.Button(description="clear trajectories", layout=lay(width=half),
                              tooltip="click the plane to start a trajectory")
        self.basins = W.ToggleButton(value=bool(basins), description="basins", layout=lay(width="110px"),
                                     tooltip="colour the plane by the attractor each start reaches")
        self.manifolds = W.ToggleButton(value=bool(manifolds), description="manifolds", layout=lay(width="110px"),
                                        tooltip="stable and unstable manifolds of the saddles (2-D)")
        self.vector_field = W.ToggleButton(value=bool(vector_field), description="directions",
                                           layout=lay(width="110px"), tooltip="direction of each step")
        self.status = W.HTML(layout=lay(width="100%"))
        self.events = W.HTML(layout=lay(width="100%"))
        self.clear_log = W.Button(description="clear log", layout=lay(width="84px"))
        self.table = W.HTML(layout=lay(width="100%"))
        self.share = W.Textarea(placeholder="share string: Export fills it; paste one and Import",
                                layout=lay(width="98%", height="54px"))
        self.export_button = W.Button(description="Export", layout=lay(width="84px"))
        self.import_button = W.Button(description="Import", layout=lay(width="84px"))
        self.slider_box = W.VBox(layout=lay(max_height="380px", overflow="auto", width="100%"))
        for w, cls in [(self.preset, "preset"), (self.reset, "reset"), (self.order, "order"), (self.fit, "fit"),
                       (self.projection, "projection"), (self.vector_field, "field"), (self.clear, "clear"),
                       (self.basins, "basins"), (self.manifolds, "manifolds"),
                       (self.status, "status"), (self.table, "table"), (self.events, "events"),
                       (self.clear_log, "clear-log"), (self.share, "share"), (self.export_button, "export"),
                       (self.import_button, "import"), (self.slider_box, "sliders")]:
            w.add_class(f"rnx-explorer-{cls}")

    def _build_layout(self) -> None:
        """Arrange the controls, the canvas, the status line, the event log, the table and sharing."""
        import ipywidgets as W

        lay = W.Layout
        left = W.VBox([W.HBox([self.preset, self.reset]), W.HBox([self.order, self.fit]),
                       W.HBox([self.projection, self.clear]),
                       W.HBox([self.basins, self.manifolds, self.vector_field]),
                       W.HTML('<div class="rnx-heading">parameters</div>'), self.slider_box],
                      layout=lay(width=CONTROL_WIDTH, margin="0 16px 0 0"))
        log = W.VBox([W.HBox([W.HTML('<div class="rnx-heading">events crossed</div>'), self.clear_log],
                             layout=lay(justify_content="space-between", width="100%")), self.events])
        share = W.VBox([W.HBox([self.export_button, self.import_button]), self.share])
        self.widget = W.VBox([W.HTML(_APP_CSS), W.HBox([left, self.canvas]), self.status, log,
                              W.HTML('<div class="rnx-heading">objects</div>'), self.table, share],
                             layout=lay(width="900px"))
        self.widget.add_class("rnx-explorer")

    def _wire(self) -> None:
        """Connect every control to its callback."""
        self.preset.observe(self._on_preset, names="value")
        self.reset.on_click(self._on_reset)
        self.order.observe(self._on_order, names="value")
        self.fit.on_click(self._on_fit)
        self.projection.observe(self._on_projection, names="value")
        self.vector_field.observe(self._on_field, names="value")
        self.basins.observe(self._on_basins, names="value")
        self.manifolds.observe(self._on_manifolds, names="value")
        self.clear.on_click(self._on_clear)
        self.clear_log.on_click(self._on_clear_log)
        self.export_button.on_click(self._on_export)
        self.import_button.on_click(self._on_import)

    # ------------------------------------------------------------------ display
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ controls -> state
    def _make_sliders(self) -> None:
        import ipywidgets as W

        st = self.state
        self.sliders, self.values = {}, {}
        rows = []
        for name in st.params:
            lo, hi, step = st.ranges[name]
            v = st.get_param(name)
            s = W.FloatSlider(value=min(max(v, lo), hi), min=lo, max=hi, step=step, description=name,
                              continuous_update=True, readout=False,
                              layout=W.Layout(width="240px"), style={"description_width": "52px"})
            t = W.Text(value=_fmt(v), continuous_update=False, layout=W.Layout(width="86px"))
            for w in (s, t):
                w.add_class(param_css_class(name))
            s.add_class("rnx-explorer-slider")
            t.add_class("rnx-explorer-value")
            s.observe(functools.partial(self._on_slider, name), names="value")
            t.observe(functools.partial(self._on_value, name), names="value")
            self.sliders[name], self.values[name] = s, t
            rows.append(W.HBox([s, t]))
        self.slider_box.children = rows
        self._slider_names = list(st.params)

    def _sync_controls(self) -> None:
        """Controls follow the state (after a refusal, reset, preset, import, script)."""
        st = self.state
        self._syncing = True
        try:
            if self._slider_names != st.params or any(
                    self.sliders[n].step != st.ranges[n][2] for n in st.params):
                self._make_sliders()
            for name, s in self.sliders.items():
                v = st.get_param(name)
                if name not in self._pending:
                    _put_on_grid(s, v)
                    if self.values[name].value != _fmt(v):
                        self.values[name].value = _fmt(v)
            if self.order.value != str(st.max_order):
                self.order.value = str(st.max_order)
            want = st.preset or ""
            if self.preset.value != want:
                self.preset.value = want
            opts = self._projection_options()
            if list(self.projection.options) != opts:
                self.projection.options = opts
            cur = self._projection_value()
            if self.projection.value != cur:
                self.projection.value = cur
            for w, on in ((self.basins, st.show_basins), (self.manifolds, st.show_manifolds)):
                if w.value != on:
                    w.value = on
            self.manifolds.disabled = st.model.M != 2
            self.basins.disabled = st.projection.kind == "return"
        finally:
            self._syncing = False

    def _projection_options(self) -> list[tuple[str, str]]:
        M = self.state.model.M
        if M == 1:
            return [("return map", "return")]
        pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
        if len(pairs) > 12:
            pairs = [(i, i + 1) for i in range(min(M - 1, 12))]
        opts = [(f"plane z{i}, z{j}", f"{i},{j}") for i, j in pairs]
        if M >= 3:
            opts.insert(0, ("PCA plane", "pca"))
        cur = self._projection_value()
        if cur not in [v for _, v in opts]:
            opts.insert(0, (f"plane z{cur.replace(',', ', z')}", cur))
        return opts

    def _projection_value(self) -> str:
        p = self.state.projection
        if p.kind == "units":
            return f"{p.units_[0]},{p.units_[1]}"
        return p.kind

    @guarded
    def _on_slider(self, name: str, change: dict) -> None:
        if self._syncing:
            return
        value = float(change["new"])
        current = self._pending.get(name, self.state.get_param(name))
        if abs(value - current) <= 1e-9 * max(1.0, abs(current)):
            return  # an echo of a value the state already has
        self.timings["requests"] += 1
        self.timings["last_arrival"] = time.time()
        self._pending[name] = value
        self._schedule()

    @guarded
    def _on_value(self, name: str, change: dict) -> None:
        if self._syncing:
            return
        self._pending.pop(name, None)
        if not self.state.set_param(name, change["new"]):
            self._sync_controls()  # refused: the box shows the state's value again

    def _schedule(self) -> None:
        loop = None
        if self.coalesce is True:
            loop = asyncio.get_running_loop()  # RuntimeError without a loop: caught by guarded
        elif self.coalesce == "auto":
            loop = _kernel_loop()
        if loop is None:
            self.flush()
            return
        self.timings["deferred"] += 1
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self.flush)

    @guarded
    def flush(self) -> None:
        """Apply the pending slider values now (one warm-started recompute)."""
        self._scheduled = False
        if not self._pending:
            return
        pending = dict(self._pending)
        self.timings["computes"] += 1
        t0 = time.perf_counter()
        try:
            self.state.set_params(pending)
        finally:
            for n, v in pending.items():
                if self._pending.get(n) == v:
                    del self._pending[n]
        self.timings["last_compute"] = time.perf_counter() - t0
        if self._pending:
            self._schedule()

    @guarded
    def _on_order(self, change: dict) -> None:
        if not self._syncing and not self.state.set_max_order(change["new"]):
            self._sync_controls()

    @guarded
    def _on_preset(self, change: dict) -> None:
        if not self._syncing and change["new"]:
            self._pending.clear()
            self.state.load_preset(change["new"])

    @guarded
    def _on_reset(self, _button: Any = None) -> None:
        self._pending.clear()
        self.state.reset()

    @guarded
    def _on_fit(self, _button: Any = None) -> None:
        self.state.fit_attractors()

    @guarded
    def _on_projection(self, change: dict) -> None:
        if self._syncing or change["new"] is None:
            return
        v = change["new"]
        if v in ("pca", "return"):
            spec = v if v == "pca" else Projection.default(1)
        else:
            spec = tuple(int(x) for x in v.split(","))
        self.state.set_projection(spec)

    @guarded
    def _on_field(self, change: dict) -> None:
        self._draw()

    @guarded
    def _on_basins(self, change: dict) -> None:
        if not self._syncing:
            self.state.set_basins(change["new"])

    @guarded
    def _on_manifolds(self, change: dict) -> None:
        if not self._syncing:
            self.state.set_manifolds(change["new"])

    @guarded
    def _on_clear(self, _button: Any = None) -> None:
        self.state.clear_trajectories()

    @guarded
    def _on_clear_log(self, _button: Any = None) -> None:
        self.state.clear_log()

    @guarded
    def _on_export(self, _button: Any = None) -> None:
        self.share.value = self.state.to_json()

    @guarded
    def _on_import(self, _button: Any = None) -> None:
        self._pending.clear()
        self.state.load_json(self.share.value)

    @guarded
    def _on_click(self, x: float, y: float) -> None:
        self.state.add_trajectory_at(x, y)

    # ------------------------------------------------------------------ state -> view
    @guarded
    def _on_state(self, st: ExplorerState) -> None:
        t0 = time.perf_counter()
        what = st.last_update
        if what == "log":
            self.events.value = self._events_html()
            return
        if what == "all":
            self._sync_controls()
        self._draw()  # the picture first: its message leaves before the text ones
        if what == "all":
            self.status.value = self._status_html()
            events = self._events_html()
            if self.events.value != events:
                self.events.value = events
            self.table.value = self._table_html()
        self.timings["last_redraw"] = time.perf_counter() - t0
        self.timings["last_sent"] = time.time()

    def _status_html(self) -> str:
        st = self.state
        prefix = ""
        if st.changed:
            prefix = ", ".join(f"{n} = {new:.4g}" for n, (_, new) in st.changed.items()) + ": "
        return status_html(st.level, prefix + st.status)

    def _draw(self) -> None:
        st = self.state
        self._frame += 1
        self.timings["frames"] += 1
        values = "; ".join(f"{n}={_fmt(st.get_param(n))}" for n in st.params[:8])
        self.portrait.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories,
                             projection=st.projection, view=st.view,
                             basins=st.basins if st.show_basins else None,
                             manifolds=st.manifolds if st.show_manifolds else (),
                             vector_field=bool(self.vector_field.value), frame=self._frame, values=values)

    def _events_html(self) -> str:
        st = self.state
        if not st.log:
            return ('<div class="rnx-events"><i>every bifurcation a slider crosses is listed here, '
                    'with the parameter value where it happens</i></div>')
        items = []
        for e in reversed(st.log[-60:]):
            colour = _EVENT_HTML.get(e.kind, "#555")
            title = html.escape("region codes: " + " / ".join(k for k in e.keys if k), quote=True)
            pending = "" if e.located else " <i>(locating...)</i>"
            items.append(f'<li title="{title}"><span class="rnx-chip" style="background:{colour}"></span>'
                         f"{html.escape(e.text)}{pending}</li>")
        return f'<div class="rnx-events"><ul class="rnx-log">{"".join(items)}</ul></div>'

    def _table_html(self, max_rows: int = 30) -> str:
        from rnnexplore.dynamics.basins import object_name

        st = self.state
        head = "<tr><th>object</th><th>first point</th><th>|&lambda;| (cycle Jacobian)</th></tr>"
        body = []
        for c in list(st.cycles)[:max_rows]:
            sym, colour = STABILITY_HTML[c.stability]
            p = c.points[0]
            pt = "(" + ", ".join(f"{x:.3f}" for x in p[:3]) + (", ..." if len(p) > 3 else "") + ")"
            ev = ", ".join(f"{abs(x):.3f}" for x in c.eigenvalues[:4])
            mark = " (marginal)" if c.marginal else ""
            title = html.escape(f"region code {c.key}", quote=True)
            body.append(f'<tr title="{title}"><td><span style="color:{colour}">{sym}</span> '
                        f"{object_name(c)}{mark}</td><td>{pt}</td><td>{ev}</td></tr>")
        more = len(st.cycles) - len(body)
        tail = f"<tr><td colspan=3>... and {more} more</td></tr>" if more > 0 else ""
        if not st.cycles:
            tail = f"<tr><td colspan=3><i>no fixed point or cycle up to order {st.max_order}</i></td></tr>"
        return f'<table class="rnx-objects" style="border-collapse:collapse">{head}{"".join(body)}{tail}</table>'


def _put_on_grid(slider: Any, v: float) -> None:
    """Show ``v`` on the slider with ``v`` on the slider's grid ``min + i * step`` (a browser
    slider snaps to that grid: an off-grid value would come back as a move nobody made)."""
    step = slider.step
    k = (v - slider.min) / step
    if slider.min <= v <= slider.max and abs(k - round(k)) < 1e-7:
        if abs(slider.value - v) > 1e-12 * max(1.0, abs(v)):
            slider.value = v
        return
    lo = v - math.floor((v - slider.min) / step + 1e-9) * step if v > slider.min else v
    hi = v + math.floor((slider.max - v) / step + 1e-9) * step if v < slider.max else v
    if hi <= lo:
        hi = lo + step
    with slider.hold_sync():
        if lo < slider.max:
            slider.min = lo
            slider.max = hi
        else:
            slider.max = hi
            slider.min = lo
        if abs(slider.value - v) > 1e-12 * max(1.0, abs(v)):
            slider.value = v


def _kernel_loop():
    """The running asyncio loop when inside a Jupyter kernel (Jupyter, Voila), else None.

    Only a kernel processes widget messages on that loop; other code may keep a loop running
    in the thread (e.g. Playwright's sync API) without ever running our callbacks.
    """
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    ip = get_ipython()
    if ip is None or getattr(ip, "kernel", None) is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        try:
            return ip.kernel.io_loop.asyncio_loop  # ipykernel 6: tornado loop over asyncio
        except AttributeError:
            return None
