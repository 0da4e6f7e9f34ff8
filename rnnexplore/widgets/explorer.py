"""CycleExplorer: drag a weight, watch fixed points and cycles move, collide and vanish.

A thin ipywidgets + ipympl view over :class:`rnnexplore.apps.explorer.ExplorerState` (which does
all the computing and can be scripted on its own). One slider per parameter, a max-order
box, presets, reset, the shared :class:`~rnnexplore.widgets.portrait.PhasePortrait` (click the
plane to start a trajectory), a table of objects, the events since the previous slider value,
a status line, and a share box (export / import the state as a short JSON string).

Responsiveness: a slider event is *coalesced* - inside a Jupyter kernel (Jupyter, Voila) the
event only records the new value and schedules one recompute on the kernel's asyncio loop;
events that arrive before that recompute runs are merged into it (stale values are dropped,
not queued; the browser side of ipywidgets already drops values while a message is pending).
Each recompute is one warm-started SCYFI search (``budget="interactive"``); the portrait's
artists are updated in place and redrawn by a blit over the cached background (a full
``draw_idle`` only when the view or the regions changed). Outside a kernel (plain Python,
tests) every event recomputes synchronously.

Every control carries a stable CSS class: ``rnx-explorer`` (the whole app),
``rnx-explorer-slider`` (every parameter slider) plus ``rnx-param-<name>`` (e.g.
``rnx-param-W-1-0`` for ``"W[1,0]"``), ``rnx-explorer-order``, ``rnx-explorer-preset``,
``rnx-explorer-reset``, ``rnx-explorer-projection``, ``rnx-explorer-field``,
``rnx-explorer-clear``, ``rnx-explorer-status``, ``rnx-explorer-table``, ``rnx-explorer-events``,
``rnx-explorer-share``, ``rnx-explorer-export``, ``rnx-explorer-import``, ``rnx-explorer-figure``.

Examples
--------
>>> from rnnexplore.widgets.explorer import CycleExplorer
>>> app = CycleExplorer(preset="skew_tent")
>>> app.sliders["W[0,0]"].value = -1.0          # a_r = -0.8: the 2-cycle disappears
>>> [(c.order, c.stability) for c in app.state.cycles]
[(1, 'stable')]
>>> app.order.value = 0                          # refused, previous state kept
>>> app.order.value, "refused" in app.status.value
(8, True)
"""

from __future__ import annotations

import asyncio
import functools
import html
import re
import time
from typing import Any

import numpy as np

from rnnexplore.apps.explorer import PRESETS, ExplorerState
from rnnexplore.dynamics.projection import Projection
from rnnexplore.widgets.base import STABILITY_HTML, guarded, status_html
from rnnexplore.widgets.portrait import PhasePortrait
from rnnexplore.widgets.figure import figure_canvas, in_ipython

__all__ = ["CycleExplorer", "param_css_class"]



def param_css_class(name: str) -> str:
    """CSS class of a parameter slider: ``"W[1,0]"`` -> ``"rnx-param-W-1-0"``.

    Examples
    --------
    >>> param_css_class("A[0]"), param_css_class("W[1, 0]")
    ('rnx-param-A-0', 'rnx-param-W-1-0')
    """
    parts = [p for p in re.split(r"[\[\],\s]+", name) if p]
    return "rnx-param-" + "-".join(parts)


def _fmt_vec(v: np.ndarray, n: int = 4) -> str:
    s = ", ".join(f"{x:.3f}" for x in v[:n])
    return f"({s}{', ...' if len(v) > n else ''})"


class CycleExplorer:
    """Live fixed-point and cycle explorer (ipywidgets + ipympl).

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
    vector_field : bool
        Start with the direction field shown.
    figsize : (float, float)
    blit : {"auto", True, False}
        Redraw objects and trajectories over a cached background when the background did not
        change ("auto": on ipympl canvases). See :class:`PhasePortrait`.
    coalesce : {"auto", True, False}
        "auto": coalesce slider events inside a Jupyter kernel (Jupyter, Voila: its asyncio
        loop delivers the widget messages), else compute synchronously; True schedules on
        any running asyncio loop; False forces synchronous updates.

    Attributes
    ----------
    state : ExplorerState
    widget : ipywidgets.VBox
        The app (the explorer displays as this box).
    sliders : dict name -> FloatSlider
    order, preset, reset, projection, vector_field, clear, status, table, events, share,
    export_button, import_button : the controls
    portrait : PhasePortrait
    fig, canvas : the figure and its widget (ipympl canvas, or an Output when not ipympl)
    timings : dict
        ``requests`` (slider events), ``deferred`` (of those, queued on the event loop and
        merged with later ones), ``computes`` (recomputes run), ``last_compute`` and
        ``last_redraw`` (s), ``last_draw_mode`` ("blit" or "full").
    """

    def __init__(self, model: Any = None, *, preset: str | None = None, state: ExplorerState | None = None,
                 vector_field: bool = False, figsize: tuple[float, float] = (5.6, 5.0),
                 coalesce: Any = "auto", blit: Any = "auto", **state_kwargs: Any) -> None:
        import ipywidgets as W
        import matplotlib.pyplot as plt

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
        self.timings = {"requests": 0, "computes": 0, "last_redraw": 0.0, "last_compute": 0.0,
                        "last_draw_mode": "", "deferred": 0}
        self._pending: dict[str, float] = {}
        self._scheduled = False
        self._syncing = False
        self._slider_ranges: dict[str, tuple[float, float, float]] | None = None

        # ---- controls
        lay = W.Layout
        self.preset = W.Dropdown(options=[("(custom)", "")] + [(p.label, k) for k, p in PRESETS.items()],
                                 value=state.preset or "", description="preset", layout=lay(width="300px"))
        self.reset = W.Button(description="reset", icon="undo", layout=lay(width="80px"),
                              tooltip="back to the starting model and order")
        self.order = W.IntText(value=state.max_order, description="max order", layout=lay(width="160px"))
        self.projection = W.Dropdown(description="plane", layout=lay(width="220px"))
        self.vector_field = W.Checkbox(value=bool(vector_field), description="vector field", indent=False,
                                       layout=lay(width="120px"))
        self.clear = W.Button(description="clear trajectories", layout=lay(width="150px"),
                              tooltip="click the plane to start a trajectory")
        self.status = W.HTML()
        self.table = W.HTML()
        self.events = W.HTML()
        self.share = W.Textarea(placeholder="share string: Export fills it, paste one and Import",
                                layout=lay(width="98%", height="60px"))
        self.export_button = W.Button(description="Export", icon="share", layout=lay(width="100px"))
        self.import_button = W.Button(description="Import", icon="download", layout=lay(width="100px"))
        self.slider_box = W.VBox(layout=lay(max_height="440px", overflow="auto", width="360px"))
        for w, cls in [(self.preset, "preset"), (self.reset, "reset"), (self.order, "order"),
                       (self.projection, "projection"), (self.vector_field, "field"), (self.clear, "clear"),
                       (self.status, "status"), (self.table, "table"), (self.events, "events"),
                       (self.share, "share"), (self.export_button, "export"), (self.import_button, "import"),
                       (self.slider_box, "sliders")]:
            w.add_class(f"rnx-explorer-{cls}")

        # ---- figure
        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        self.ax = self.fig.add_subplot()
        self.fig.subplots_adjust(left=0.13, right=0.97, top=0.95, bottom=0.1)
        canvas = self.fig.canvas
        if blit not in ("auto", True, False):
            raise ValueError(f"blit must be 'auto', True or False, got {blit!r}")
        self.blit = isinstance(canvas, W.DOMWidget) if blit == "auto" else blit
        self.portrait = PhasePortrait(self.ax, state.projection, vector_field=bool(vector_field),
                                      blit=self.blit)
        self.canvas, self._static = figure_canvas(self.fig, "rnx-explorer-figure", footer=False,
                                                  toolbar_position="bottom")
        self.fig.canvas.mpl_connect("button_press_event", self._on_click)

        # ---- layout
        left = W.VBox([W.HBox([self.preset, self.reset]), W.HBox([self.order, self.vector_field]),
                       W.HBox([self.projection, self.clear]), self.slider_box])
        share = W.VBox([W.HBox([self.export_button, self.import_button]), self.share])
        self.widget = W.VBox([W.HBox([left, self.canvas]), self.status, self.events, self.table, share])
        self.widget.add_class("rnx-explorer")

        # ---- wiring
        self.preset.observe(self._on_preset, names="value")
        self.reset.on_click(self._on_reset)
        self.order.observe(self._on_order, names="value")
        self.projection.observe(self._on_projection, names="value")
        self.vector_field.observe(self._on_field, names="value")
        self.clear.on_click(self._on_clear)
        self.export_button.on_click(self._on_export)
        self.import_button.on_click(self._on_import)
        self.state.listeners.append(self._on_state)
        self._on_state(self.state)
        if self._static and in_ipython():
            from IPython.display import display

            with self.canvas:
                display(self.fig)

    # ------------------------------------------------------------------ display
    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    # ------------------------------------------------------------------ controls -> state
    def _make_sliders(self) -> None:
        import ipywidgets as W

        st = self.state
        self.sliders = {}
        children = []
        for name in st.params:
            lo, hi, step = st.ranges[name]
            v = st.model.get_param(name)
            s = W.FloatSlider(value=min(max(v, lo), hi), min=lo, max=hi, step=step, description=name,
                              continuous_update=True, readout_format=".3f",
                              layout=W.Layout(width="340px"), style={"description_width": "60px"})
            s.add_class("rnx-explorer-slider")
            s.add_class(param_css_class(name))
            s.observe(functools.partial(self._on_slider, name), names="value")
            self.sliders[name] = s
            children.append(s)
        self.slider_box.children = children
        self._slider_ranges = dict(st.ranges)

    def _sync_controls(self) -> None:
        """Controls follow the state (after a refusal, reset, preset, import, script)."""
        st = self.state
        self._syncing = True
        try:
            if self._slider_ranges != st.ranges:  # a new baseline (preset, import, model)
                self._make_sliders()
            for name, s in self.sliders.items():
                v = st.model.get_param(name)
                if v < s.min:
                    s.min = v
                if v > s.max:
                    s.max = v
                if name not in self._pending and abs(s.value - v) > 1e-12:
                    s.value = v
            if self.order.value != st.max_order:
                self.order.value = st.max_order
            want = st.preset or ""
            if self.preset.value != want:
                self.preset.value = want
            opts = self._projection_options()
            if list(self.projection.options) != opts:
                self.projection.options = opts
            cur = self._projection_value()
            if self.projection.value != cur:
                self.projection.value = cur
        finally:
            self._syncing = False

    def _projection_options(self) -> list[tuple[str, str]]:
        M = self.state.model.M
        if M == 1:
            return [("return map (z_t, z_t+1)", "return")]
        pairs = [(i, j) for i in range(M) for j in range(i + 1, M)]
        if len(pairs) > 12:
            pairs = [(i, i + 1) for i in range(M - 1)]
        opts = [(f"units z{i}, z{j}", f"{i},{j}") for i, j in pairs]
        if M >= 3:
            opts.append(("PCA plane", "pca"))
        cur = self._projection_value()
        if cur not in [v for _, v in opts]:
            opts.insert(0, (f"units z{cur.replace(',', ', z')}", cur))
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
        current = self._pending.get(name, self.state.model.get_param(name))
        if abs(value - current) <= 1e-9 * max(1.0, abs(current)):
            return  # a browser slider snapping to its grid, not a user move
        self.timings["requests"] += 1
        self._pending[name] = value
        self._schedule()

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
        pending, self._pending = self._pending, {}
        self.timings["computes"] += 1
        t0 = time.perf_counter()
        self.state.set_params(pending)
        self.timings["last_compute"] = time.perf_counter() - t0

    @guarded
    def _on_order(self, change: dict) -> None:
        if not self._syncing:
            self.state.set_max_order(change["new"])

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
        self.portrait.set_vector_field(change["new"])
        self._draw()

    @guarded
    def _on_clear(self, _button: Any = None) -> None:
        self.state.clear_trajectories()

    @guarded
    def _on_export(self, _button: Any = None) -> None:
        self.share.value = self.state.to_json()

    @guarded
    def _on_import(self, _button: Any = None) -> None:
        self._pending.clear()
        self.state.load_json(self.share.value)

    @guarded
    def _on_click(self, event: Any) -> None:
        if event.inaxes is not self.ax or getattr(event, "button", 1) != 1:
            return
        toolbar = getattr(self.fig.canvas, "toolbar", None)
        if toolbar is not None and str(getattr(toolbar, "mode", "")):
            return  # zoom / pan in progress
        self.state.add_trajectory_at(event.xdata, event.ydata)

    # ------------------------------------------------------------------ state -> view
    @guarded
    def _on_state(self, st: ExplorerState) -> None:
        t0 = time.perf_counter()
        self._sync_controls()
        self.portrait.update(model=st.model, cycles=st.cycles, trajectories=st.trajectories,
                             projection=st.projection)
        self._draw()
        prefix = ""
        if st.changed:
            prefix = ", ".join(f"{n} = {new:.4g}" for n, (_, new) in st.changed.items()) + ": "
        self.status.value = status_html(st.level, prefix + st.status)
        self.events.value = self._events_html()
        self.table.value = self._table_html()
        self.timings["last_redraw"] = time.perf_counter() - t0

    def _draw(self) -> None:
        if self._static and not self.blit:
            return
        self.timings["last_draw_mode"] = self.portrait.refresh()

    def _events_html(self) -> str:
        st = self.state
        if not st.changed:
            return '<div class="rnx-events"><i>events appear here when a slider moves</i></div>'
        what = ", ".join(f"{n}: {old:.4g} &rarr; {new:.4g}" for n, (old, new) in st.changed.items())
        lines = st.event_lines()
        if not _events_available():
            body = "<i>event classification unavailable (rnnexplore.dynamics.bifurcation not installed)</i>"
        elif not lines:
            body = "<i>no bifurcation: same objects, same stability</i>"
        else:
            body = "<ul style='margin:0'>" + "".join(f"<li>{html.escape(x)}</li>" for x in lines) + "</ul>"
        return f'<div class="rnx-events"><b>since the previous value</b> ({what}): {body}</div>'

    def _table_html(self, max_rows: int = 40) -> str:
        st = self.state
        rows = st.table(max_rows=max_rows)
        head = ("<tr><th>#</th><th>order</th><th>stability</th><th>points</th>"
                "<th>|&lambda;| of the cycle's Jacobian product</th></tr>")
        body = []
        for i, r in enumerate(rows):
            pts = r["points"]
            shown = " ".join(_fmt_vec(p) for p in pts[:2]) + (f" ... ({len(pts)} points)" if len(pts) > 2 else "")
            ev = ", ".join(f"{x:.3f}" for x in r["abs_eigenvalues"][:6])
            mark = " (marginal)" if r["marginal"] else ""
            body.append(f"<tr><td>{i + 1}</td><td>{r['order']}</td>"
                        f"<td style='color:{STABILITY_HTML[r['stability']][1]}'>{STABILITY_HTML[r['stability']][0]} {r['stability']}{mark}</td>"
                        f"<td style='font-family:monospace'>{shown}</td><td>{ev}</td></tr>")
        more = len(st.cycles) - len(rows)
        tail = f"<tr><td colspan=5>... and {more} more</td></tr>" if more > 0 else ""
        if not rows:
            tail = f"<tr><td colspan=5><i>no fixed point or cycle up to order {st.max_order}</i></td></tr>"
        return (f'<table class="rnx-objects" style="border-collapse:collapse; font-size:12px">'
                f"{head}{''.join(body)}{tail}</table>")


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
        return None


def _events_available() -> bool:
    try:
        from rnnexplore.dynamics.events import classify_events  # noqa: F401
    except ImportError:
        return False
    return True
