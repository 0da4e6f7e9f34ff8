"""Feature-quality explorer: network vs kernel learners, trained in the background.

:class:`FeatureQualityExplorer` wraps the scriptable
:class:`~rnnexplore.apps.featurequality.FeatureQualityState` in a thin
ipywidgets + ipympl view with three panels:

- learning curves: test error of the network and of each kernel learner vs ``n_train``
  (medians over seeds, log axes) for the current configuration; the networks of the task's
  other configurations (other series, e.g. a quick short run) as thin labelled lines;
- strength vs quality: each run a point (x: a strength measure such as ``1 - CKA``,
  y: ``log10 FQ``), coloured by ``n_train``, shuffled-label runs as crosses. Quality
  spans decades while strength stays put, and shuffled runs move the kernel without
  generalising: the decoupling;
- spectral quality ``Pi*(k)`` of the trained last hidden layer, one curve per ``n_train``.

"run" trains in a background thread (:meth:`FeatureQualityState.start`): the kernel stays
free, the progress bar moves, "cancel" stops within 100 training steps, and each finished run
is drawn as soon as it completes. Every control has a stable CSS class ``rnx-fq-...``; errors
go to the status line (:func:`rnnexplore.widgets.base.guarded`).

:func:`plot_sweep`, :func:`plot_feature_view` and :func:`plot_depth_width` draw static
figures of saved or computed sweeps (matplotlib is imported inside them).

Examples
--------
>>> from rnnexplore.apps.featurequality import FeatureQualityState
>>> st = FeatureQualityState(width=16, steps=50, n_train=32, n_test=64)
>>> rec = st.run()
>>> sorted(st.learning_curves())
['ckT', 'k0', 'kT', 'net', 'nngp', 'ntk']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rnnexplore.apps.featurequality import (
    DEFAULT_SWEEP_FILE,
    LEARNERS,
    STRENGTH_MEASURES,
    TASKS,
    FeatureQualityState,
)
from rnnexplore.featurequality import SweepResult
from rnnexplore.widgets.base import guarded, refresh, status_html
from rnnexplore.widgets.figure import figure_canvas

__all__ = ["FeatureQualityExplorer", "FeatureQualityPanels", "plot_sweep", "plot_feature_view", "plot_depth_width"]

N_TRAIN_OPTIONS = (250, 500, 1000, 2000, 4000)


class FeatureQualityExplorer:
    """ipywidgets + ipympl view of a :class:`FeatureQualityState`.

    Parameters
    ----------
    state : FeatureQualityState, SweepResult or path, optional
        A state, or runs to start from (e.g. ``saved_sweep_path("s4")``).
    figsize : tuple
    **kwargs
        Passed to :class:`FeatureQualityState` when ``state`` is not one.

    Attributes
    ----------
    state : FeatureQualityState
    task, depth, width, gamma, n_train, steps, seed, shuffled, strength : ipywidgets controls
    all_sizes : ipywidgets.Checkbox
        Run every ``n_train`` option up to the selected one (each run streams into the plots).
    run_button, cancel_button, load_button, path : ipywidgets
    progress : ipywidgets.FloatProgress
        Fraction of the current job.
    status : ipywidgets.HTML
    widget : ipywidgets.VBox
        What to display (the explorer itself displays as this box).

    Examples
    --------
    >>> view = FeatureQualityExplorer(saved_sweep_path("s4"))   # doctest: +SKIP
    >>> view.n_train.value = 500; view.run_button.click()       # doctest: +SKIP
    >>> view.state.job.wait()                                   # doctest: +SKIP
    """

    def __init__(self, state: FeatureQualityState | SweepResult | str | Path | None = None, *,
                 figsize: tuple[float, float] = (12, 4), **kwargs: Any):
        import ipywidgets as W
        import matplotlib.pyplot as plt

        self.last_error = None
        self.status = W.HTML()
        self.status.add_class("rnx-fq-status")
        load_error = None
        if isinstance(state, FeatureQualityState):
            self.state = state
        else:
            try:
                self.state = FeatureQualityState(state, **kwargs)
            except (ValueError, OSError) as exc:  # bad file: start empty, say why
                self.state = FeatureQualityState(None, **kwargs)
                load_error = exc
        st = self.state
        style = {"description_width": "initial"}
        self.task = W.Dropdown(options=list(TASKS), value=st.task, description="task", style=style)
        self.depth = W.Dropdown(options=sorted({1, 2, 3, 4, st.depth}), value=st.depth, description="depth", style=style)
        self.width = W.Dropdown(options=sorted({16, 64, 128, 256, 512, 1024, st.width}), value=st.width,
                                description="width", style=style)
        self.gamma = W.FloatLogSlider(value=st.gamma, base=10, min=-1, max=1, step=0.1, description="gamma",
                                      continuous_update=False, style=style)
        self.n_train = W.Dropdown(options=sorted({*N_TRAIN_OPTIONS, st.n_train}), value=st.n_train,
                                  description="n_train", style=style)
        self.all_sizes = W.Checkbox(value=False, description="all sizes up to n")
        self.steps = W.BoundedIntText(value=st.steps, min=1, max=10**6, description="steps", style=style)
        self.seed = W.BoundedIntText(value=st.seed, min=0, max=10**6, description="seed", style=style)
        self.shuffled = W.Checkbox(value=st.shuffled, description="shuffled labels")
        self.strength = W.Dropdown(options=[(v, k) for k, v in STRENGTH_MEASURES.items()], value=st.strength,
                                   description="strength axis", style=style)
        self.run_button = W.Button(description="run", button_style="primary", icon="play")
        self.cancel_button = W.Button(description="cancel", icon="stop", disabled=True)
        self.path = W.Text(value=str(DEFAULT_SWEEP_FILE), description="sweep file", style=style,
                           layout=W.Layout(width="45%"))
        self.load_button = W.Button(description="load", icon="folder-open")
        self.progress = W.FloatProgress(value=0.0, min=0.0, max=1.0, description="training")
        for name in ("task", "depth", "width", "gamma", "n_train", "steps", "seed", "shuffled", "strength",
                     "path", "progress"):
            getattr(self, name).add_class(f"rnx-fq-{name.replace('_', '')}")
        self.all_sizes.add_class("rnx-fq-allsizes")
        self.run_button.add_class("rnx-fq-run")
        self.cancel_button.add_class("rnx-fq-cancel")
        self.load_button.add_class("rnx-fq-load")

        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        self.panels = FeatureQualityPanels(self.fig)
        p = self.panels
        self.ax_curves, self.ax_scatter, self.ax_pi = p.ax_curves, p.ax_scatter, p.ax_pi
        self.curve_lines, self.scatter_clean, self.scatter_shuffled = p.curve_lines, p.scatter_clean, p.scatter_shuffled
        self.pi_lines, self.series_lines = p.pi_lines, p.series_lines
        self.canvas, static = figure_canvas(self.fig, "rnx-fq-figure", show_static=True)
        self._output = self.canvas if static else None

        arch = W.HBox([self.task, self.depth, self.width, self.gamma])
        run = W.HBox([self.n_train, self.all_sizes, self.steps, self.seed, self.shuffled])
        actions = W.HBox([self.run_button, self.cancel_button, self.progress])
        data = W.HBox([self.path, self.load_button, self.strength])
        for box, cls in ((arch, "arch"), (run, "runbar"), (actions, "actions"), (data, "data")):
            box.add_class(f"rnx-fq-{cls}")
        self.widget = W.VBox([arch, run, actions, data, self.status, self.canvas])
        self.widget.add_class("rnx-fq")

        for name in ("task", "depth", "width", "gamma", "steps", "strength"):
            getattr(self, name).observe(self._on_view_change, names="value")
        for name in ("n_train", "seed", "shuffled"):
            getattr(self, name).observe(self._on_setting, names="value")
        self.run_button.on_click(self._on_run)
        self.cancel_button.on_click(self._on_cancel)
        self.load_button.on_click(self._on_load)
        self._update()
        if load_error is not None:
            self._error(load_error)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ events
    def _sync_state(self) -> None:
        st = self.state
        st.task, st.depth, st.width, st.gamma = self.task.value, self.depth.value, self.width.value, self.gamma.value
        st.n_train, st.steps, st.seed, st.shuffled = self.n_train.value, self.steps.value, self.seed.value, self.shuffled.value
        st.strength = self.strength.value

    @guarded
    def _on_setting(self, change: dict) -> None:
        self._sync_state()

    @guarded
    def _on_view_change(self, change: dict) -> None:
        self._sync_state()
        self._update()

    def _sizes(self) -> list[int]:
        n = self.n_train.value
        return [m for m in self.n_train.options if m <= n] if self.all_sizes.value else [n]

    @guarded
    def _on_run(self, button=None) -> None:
        if self.state.busy:
            self.status.value = status_html("warning", "a run is in progress: cancel it or wait")
            return
        self._sync_state()
        self.progress.value = 0.0
        self._set_running(True)
        self.status.value = status_html("busy", "training in the background...")
        self.state.start(self._sizes(), on_record=self._on_record, on_progress=self._on_progress,
                         on_done=self._on_done, on_error=self._on_error, on_cancel=self._on_cancelled)

    @guarded
    def _on_cancel(self, button=None) -> None:
        self.state.cancel()
        self.status.value = status_html("busy", "cancelling (stops within 100 training steps)...")

    def _set_running(self, running: bool) -> None:
        self.run_button.disabled = running
        self.cancel_button.disabled = not running

    # worker-thread callbacks (guarded: a drawing error must reach the status line, not vanish)
    @guarded
    def _on_progress(self, fraction: float, message: str) -> None:
        self.progress.value = fraction
        if not self.state.job or not self.state.job.cancel_requested:
            self.status.value = status_html("busy", message)

    @guarded
    def _on_record(self, rec) -> None:
        self._update(keep_status=True)

    @guarded
    def _on_done(self, records) -> None:
        self._set_running(False)
        self.progress.value = 1.0
        rec = records[-1]
        self._update(keep_status=True)
        self.status.value = status_html("ok", (
            f"{len(records)} run(s) done; last n={rec.n_train} seed={rec.seed}{' (shuffled)' if rec.shuffled else ''}: "
            f"E(net)={rec.err_net:.3g}, E(NTK)={rec.err_ntk:.3g}, FQ={rec.fq:.3g}, 1-CKA={rec.one_minus_cka:.2f} "
            f"({rec.seconds:.0f} s). " + self.state.summary()))

    @guarded
    def _on_cancelled(self, records) -> None:
        self._set_running(False)
        self.status.value = status_html("warning", f"cancelled; {len(records)} finished run(s) kept. "
                                        + self.state.summary())

    @guarded
    def _on_error(self, exc: BaseException, tb: str) -> None:
        self._set_running(False)
        self.last_error = tb
        self._error(exc)

    @guarded
    def _on_load(self, button=None) -> None:
        try:
            self.state.load(self.path.value)
        except (ValueError, OSError) as exc:
            self._error(exc)
            return
        st = self.state
        if st.width not in self.width.options:
            self.width.options = sorted(set(self.width.options) | {st.width})
        with self.task.hold_trait_notifications():
            self.task.value, self.depth.value, self.width.value = st.task, st.depth, st.width
            self.gamma.value, self.steps.value = st.gamma, st.steps
        self._sync_state()
        self._update()

    def _error(self, exc: BaseException) -> None:
        self.status.value = status_html("error", f"error: {type(exc).__name__}: {exc}")

    def _update(self, keep_status: bool = False) -> None:
        self.panels.update(self.state)
        if not keep_status:
            self.status.value = status_html("ok", self.state.summary())
        refresh(self.fig, self._output)


class FeatureQualityPanels:
    """The three plots (learning curves, strength vs quality, Pi*(k)) on a figure.

    Built once; :meth:`update` moves the artists in place. Used by
    :class:`FeatureQualityExplorer` and :func:`plot_sweep`.
    """

    def __init__(self, fig) -> None:
        self.fig = fig
        self.ax_curves, self.ax_scatter, self.ax_pi = fig.subplots(1, 3)
        a = self.ax_curves
        styles = {"net": dict(color="k", lw=2, marker="o"), "ntk": dict(color="C0", marker="s"),
                  "nngp": dict(color="C9", marker="v", ls=":"), "k0": dict(color="C1", marker="^", ls="--"),
                  "kT": dict(color="C3", marker="D", ls="--"), "ckT": dict(color="C2", marker="x", ls=":")}
        self.curve_lines = {k: a.plot([], [], label=lab, ms=4, **styles[k])[0] for k, lab in LEARNERS.items()}
        self.series_lines: dict[str, Any] = {}  # other configurations' networks, created on first sight
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlim(100, 10000)
        a.set_ylim(1e-3, 10)
        a.set_xlabel("n_train")
        a.set_ylabel("test MSE (end of training)")
        a.set_title("learning curves (median over seeds)", fontsize=9)
        a.legend(fontsize=7)
        s = self.ax_scatter
        self.scatter_clean = s.scatter(np.zeros(0), np.zeros(0), c=np.zeros(0), cmap="viridis", s=30,
                                       label="true labels", vmin=np.log10(200), vmax=np.log10(5000))
        self.scatter_shuffled = s.scatter(np.zeros(0), np.zeros(0), marker="x", color="red", s=40,
                                          label="shuffled labels")
        s.axhline(0, color="0.5", lw=0.8)
        s.set_ylabel("log10 FQ = log10 E(NTK)/E(net)")
        s.set_title("strength vs quality (each point a run; colour: log10 n)", fontsize=9)
        from matplotlib.lines import Line2D

        proxy = Line2D([], [], ls="", marker="o", color=self.scatter_clean.get_cmap()(0.6), label="true labels")
        s.legend(handles=[proxy, self.scatter_shuffled], fontsize=7, loc="upper left")
        p = self.ax_pi
        p.set_xscale("log")
        p.set_xlim(1, 256)
        p.set_ylim(0, 1.02)
        p.axhline(0.95, color="0.5", lw=0.8, ls=":")
        p.set_xlabel("k (top singular directions of last hidden layer)")
        p.set_ylabel("Pi*(k)")
        p.set_title("spectral quality (trained)", fontsize=9)
        self.pi_lines: list = []
        self.fig.tight_layout()

    def update(self, st: FeatureQualityState) -> None:
        """Redraw every artist from the state's runs."""
        for k, (ns, err) in st.learning_curves().items():
            self.curve_lines[k].set_data(ns.astype(float), np.clip(err, 1e-12, None))
        others = st.other_series_curves()
        for j, (label, ns, err) in enumerate(others):
            if label not in self.series_lines:
                self.series_lines[label] = self.ax_curves.plot([], [], lw=1, marker=".", ms=5, alpha=0.8,
                                                               color=f"C{(4 + len(self.series_lines)) % 10}")[0]
            line = self.series_lines[label]
            line.set_data(ns.astype(float), np.clip(err, 1e-12, None))
            line.set_label(f"network, {label}")
            line.set_visible(True)
        shown = {label for label, _, _ in others}
        for label, line in self.series_lines.items():
            if label not in shown:
                line.set_data([], [])
                line.set_visible(False)
        handles = list(self.curve_lines.values()) + [self.series_lines[label] for label in sorted(shown)]
        self.ax_curves.legend(handles=handles, fontsize=6)
        self.ax_curves.relim()
        self.ax_curves.autoscale_view()
        x, y, n, sh = st.scatter_points()
        y = np.clip(y, -3, 12)
        self.scatter_clean.set_offsets(np.c_[x[~sh], y[~sh]] if len(x) else np.zeros((0, 2)))
        self.scatter_clean.set_array(np.log10(n[~sh]) if len(x) else np.zeros(0))
        self.scatter_shuffled.set_offsets(np.c_[x[sh], y[sh]] if len(x) else np.zeros((0, 2)))
        self.ax_scatter.set_xlabel(STRENGTH_MEASURES[st.strength])
        if len(x):
            pad_x = 0.05 * (np.ptp(x) or 1.0)
            pad_y = 0.1 * (np.ptp(y) or 1.0)
            self.ax_scatter.set_xlim(x.min() - pad_x, x.max() + pad_x)
            self.ax_scatter.set_ylim(min(y.min(), 0) - pad_y, max(y.max(), 0) + pad_y)
        curves = st.pi_star_curves()
        cmap = self.scatter_clean.get_cmap()
        while len(self.pi_lines) < len(curves):
            self.pi_lines.append(self.ax_pi.plot([], [], lw=1.5)[0])
        for line, (n, c) in zip(self.pi_lines, curves):
            line.set_data(np.arange(1, len(c) + 1), c)
            line.set_color(cmap(np.clip((np.log10(n) - np.log10(200)) / np.log10(25), 0, 1)))
            line.set_label(f"n={n}")
            line.set_visible(True)
        for line in self.pi_lines[len(curves):]:
            line.set_data([], [])
            line.set_visible(False)
        if curves:
            self.ax_pi.set_xlim(1, max(len(c) for _, c in curves))
            self.ax_pi.legend(handles=self.pi_lines[: len(curves)], fontsize=7, loc="lower right")


def plot_sweep(result: SweepResult | str | Path, *, strength: str = "one_minus_cka",
               figsize: tuple[float, float] = (13, 4)):
    """Static figure of a sweep: learning curves, strength vs quality, Pi*(k).

    Parameters
    ----------
    result : SweepResult or path
    strength : str
        Key of ``rnnexplore.apps.featurequality.STRENGTH_MEASURES`` for the scatter's x axis.
    figsize : tuple

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = plot_sweep(saved_sweep_path("s4"))   # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    state = FeatureQualityState(strength=strength)
    state.load(result) if isinstance(result, (str, Path)) else state.set_result(result)
    fig = Figure(figsize=figsize)
    FeatureQualityPanels(fig).update(state)
    return fig


def _as_result(result) -> SweepResult:
    if isinstance(result, (str, Path)):
        return SweepResult.load(result)
    if not isinstance(result, SweepResult):
        raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
    return result


def plot_feature_view(result: SweepResult | str | Path, *, support: tuple[int, ...] | None = None,
                      figsize: tuple[float, float] = (13, 3.6)):
    """Static figure of what the first layer learned, against ``n_train`` (medians over seeds).

    Left: weight mass of the trained first layer per input coordinate, one line per ``n_train``
    (``support`` coordinates shaded; dotted: the uniform ``1/d``). Middle: the largest principal
    angle between the learned subspace (top-k of ``W_T - W_0``) and the target's, for true and
    shuffled labels, with ``log10 FQ`` on the right axis. Right: the fraction of the first
    layer's norm inside the target subspace, trained vs initial.

    Parameters
    ----------
    result : SweepResult or path
        Runs of one configuration (records with ``weight_mass``, ``max_angle``, ...).
    support : tuple of int, optional
        Relevant coordinates to shade in the left panel (e.g. ``task.support``).
    figsize : tuple

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from rnnexplore.featurequality import SweepResult
    >>> rec = dict(n_train=10, shuffled=False, weight_mass=[0.5, 0.5], max_angle=10.0, fq=2.0,
    ...            support_mass_T=0.5, support_mass_0=0.5)
    >>> fig = plot_feature_view(SweepResult([rec]), support=(0,))
    >>> len(fig.axes)
    4
    """
    from matplotlib.figure import Figure

    res = _as_result(result)
    clean, shuffled = res.filter(shuffled=False), res.filter(shuffled=True)
    if not len(clean):
        raise ValueError("result has no clean-label runs")
    fig = Figure(figsize=figsize)
    ax_mass, ax_angle, ax_sub = fig.subplots(1, 3)
    _weight_mass_panel(ax_mass, clean, support)
    _angle_panel(ax_angle, clean, shuffled)
    _support_panel(ax_sub, clean)
    fig.tight_layout()
    return fig


def _weight_mass_panel(ax: Any, clean: SweepResult, support: tuple[int, ...] | None) -> None:
    """Median first-layer weight mass per input coordinate, one line per ``n_train``."""
    import matplotlib

    ns = sorted({int(r["n_train"]) for r in clean.records})
    cmap = matplotlib.colormaps["viridis"]
    d = len(clean.records[0]["weight_mass"])
    for i, n in enumerate(ns):
        masses = np.array([r["weight_mass"] for r in clean.filter(n_train=n).records], dtype=float)
        ax.plot(np.arange(d), np.median(masses, axis=0), marker=".", lw=1.2,
                color=cmap(i / max(1, len(ns) - 1)), label=f"n={n}")
    for j in support or ():
        ax.axvspan(j - 0.5, j + 0.5, color="0.9", zorder=0)
    ax.axhline(1 / d, color="0.5", ls=":", lw=0.8)
    ax.set_xlabel("input coordinate")
    ax.set_ylabel("share of ||W1||^2 (trained)")
    ax.set_title("first-layer weight mass (shaded: support)", fontsize=9)
    ax.legend(fontsize=6)


def _angle_panel(ax: Any, clean: SweepResult, shuffled: SweepResult) -> None:
    """Largest principal angle to the target subspace (true and shuffled labels), log10 FQ on a twin axis."""
    for runs, style, label in ((clean, dict(color="k", marker="o"), "true labels"),
                               (shuffled, dict(color="red", marker="x", ls="--"), "shuffled labels")):
        if len(runs):
            x, a = runs.median("max_angle")
            ax.plot(x, a, label=f"largest angle, {label}", **style)
    ax.set_xscale("log")
    ax.set_ylim(0, 92)
    ax.set_xlabel("n_train")
    ax.set_ylabel("largest principal angle (deg)")
    ax.set_title("learned vs target subspace", fontsize=9)
    twin = ax.twinx()
    x, fq = clean.median("fq")
    twin.plot(x, np.log10(fq), color="C0", marker="s", ls=":", label="log10 FQ")
    twin.set_ylabel("log10 FQ", color="C0")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=6, loc="center left")


def _support_panel(ax: Any, clean: SweepResult) -> None:
    """Share of the first layer's norm inside the target subspace, trained vs initial."""
    for col, style, label in (("support_mass_T", dict(color="k", marker="o"), "trained"),
                              ("support_mass_0", dict(color="0.5", marker=".", ls=":"), "initial")):
        x, m = clean.median(col)
        ax.plot(x, m, label=label, **style)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("n_train")
    ax.set_ylabel("share of ||W1||^2 in target subspace")
    ax.set_title("first layer inside the target subspace", fontsize=9)
    ax.legend(fontsize=7)


def plot_depth_width(result: SweepResult | str | Path, *, threshold: float = 10.0,
                     figsize: tuple[float, float] = (11, 3.8)):
    """Static figure of a depth x width sweep: FQ against n per architecture, and the n where it
    first exceeds ``threshold``.

    Left: median FQ against ``n_train`` (colour: depth; line style: width). Right: for each
    width, the first ``n_train`` with FQ above ``threshold`` against depth (a hollow marker at
    the top of the axis: not reached within the sweep).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from rnnexplore.featurequality import SweepResult
    >>> recs = [dict(depth=dp, width=8, n_train=n, fq=f * dp, shuffled=False)
    ...         for dp in (1, 2) for n, f in ((10, 2.0), (20, 6.0))]
    >>> len(plot_depth_width(SweepResult(recs)).axes)
    2
    """
    from matplotlib.figure import Figure

    from rnnexplore.featurequality import first_n_above

    res = _as_result(result).filter(shuffled=False)
    if not len(res):
        raise ValueError("result has no clean-label runs")
    rows = first_n_above(res, threshold)
    depths = sorted({r["depth"] for r in rows})
    widths = sorted({r["width"] for r in rows})
    styles = ["-", "--", ":", "-."]
    fig = Figure(figsize=figsize)
    ax, ax_n = fig.subplots(1, 2)
    for r in rows:
        ns, fq = res.median("fq", depth=r["depth"], width=r["width"])
        ax.plot(ns, fq, marker="o", ms=3, color=f"C{depths.index(r['depth'])}",
                ls=styles[widths.index(r["width"]) % len(styles)], label=f"depth {r['depth']}, width {r['width']}")
    ax.axhline(threshold, color="0.5", lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("n_train")
    ax.set_ylabel("FQ = E(NTK) / E(net)")
    ax.set_title("feature quality per architecture", fontsize=9)
    ax.legend(fontsize=5, ncol=2)
    n_top = max(r["n_max"] for r in rows) * 1.6
    for k, w in enumerate(widths):
        sub = [r for r in rows if r["width"] == w]
        x = [r["depth"] + 0.08 * (k - (len(widths) - 1) / 2) for r in sub]
        y = [r["n_first"] if r["n_first"] is not None else n_top for r in sub]
        reached = [r["n_first"] is not None for r in sub]
        ax_n.plot(x, y, ls="-", lw=0.8, color=f"C{k}", alpha=0.6)
        ax_n.scatter([a for a, ok in zip(x, reached) if ok], [b for b, ok in zip(y, reached) if ok],
                     color=f"C{k}", label=f"width {w}", zorder=3)
        ax_n.scatter([a for a, ok in zip(x, reached) if not ok], [b for b, ok in zip(y, reached) if not ok],
                     facecolors="none", edgecolors=f"C{k}", zorder=3)
    ax_n.set_yscale("log")
    ax_n.set_xticks(depths)
    ax_n.set_xlabel("depth (hidden layers)")
    ax_n.set_ylabel(f"first n with FQ > {threshold:g}")
    ax_n.set_title("where good features appear (hollow: not within the sweep)", fontsize=9)
    ax_n.legend(fontsize=7)
    fig.tight_layout()
    return fig
