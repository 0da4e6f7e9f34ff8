"""Feature-quality explorer: network vs kernel learners on staircase functions.

:class:`FeatureQualityExplorer` wraps the scriptable
:class:`~rnnexplore.apps.featurequality.FeatureQualityState` in a thin
ipywidgets + ipympl view with three panels:

- learning curves: test error of the network and of each kernel learner vs ``n_train``
  (medians over seeds, log axes);
- strength vs quality: each run a point (x: a strength measure such as ``1 - CKA``,
  y: ``log10 FQ``), coloured by ``n_train``, shuffled-label runs as crosses. Quality
  spans decades while strength stays put, and shuffled runs move the kernel without
  generalising: the decoupling;
- spectral quality ``Pi*(k)`` of the trained last hidden layer, one curve per ``n_train``.

Every control has a stable CSS class ``rnx-fq-...``; errors go to the status line.

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

from rnnexplore.featurequality import (
    SweepResult,
)
from rnnexplore.apps.featurequality import (
    DEFAULT_SWEEP_FILE,
    LEARNERS,
    STRENGTH_MEASURES,
    TASKS,
    FeatureQualityState,
)
from rnnexplore.widgets.figure import figure_canvas

__all__ = ["FeatureQualityExplorer", "FeatureQualityPanels", "plot_sweep"]

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
    run_button, load_button, path : ipywidgets
    progress : ipywidgets.IntProgress
    status : ipywidgets.HTML
    widget : ipywidgets.VBox
        What to display (the explorer itself displays as this box).

    Examples
    --------
    >>> view = FeatureQualityExplorer(saved_sweep_path("s4"))   # doctest: +SKIP
    >>> view.n_train.value = 500; view.run_button.click()                   # doctest: +SKIP
    """

    def __init__(self, state: FeatureQualityState | SweepResult | str | Path | None = None, *,
                 figsize: tuple[float, float] = (12, 4), **kwargs: Any):
        import ipywidgets as W
        import matplotlib.pyplot as plt

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
        self.depth = W.Dropdown(options=[1, 2, 3, 4], value=st.depth, description="depth", style=style)
        self.width = W.Dropdown(options=sorted({16, 64, 128, 256, 512, st.width}), value=st.width,
                                description="width", style=style)
        self.gamma = W.FloatLogSlider(value=st.gamma, base=10, min=-1, max=1, step=0.1, description="gamma",
                                      continuous_update=False, style=style)
        self.n_train = W.Dropdown(options=sorted({250, 500, 1000, 2000, 4000, st.n_train}), value=st.n_train,
                                  description="n_train", style=style)
        self.steps = W.BoundedIntText(value=st.steps, min=1, max=10**6, description="steps", style=style)
        self.seed = W.BoundedIntText(value=st.seed, min=0, max=10**6, description="seed", style=style)
        self.shuffled = W.Checkbox(value=st.shuffled, description="shuffled labels")
        self.strength = W.Dropdown(options=[(v, k) for k, v in STRENGTH_MEASURES.items()], value=st.strength,
                                   description="strength axis", style=style)
        self.run_button = W.Button(description="run", button_style="primary", icon="play")
        self.path = W.Text(value=str(DEFAULT_SWEEP_FILE), description="sweep file", style=style,
                           layout=W.Layout(width="45%"))
        self.load_button = W.Button(description="load", icon="folder-open")
        self.progress = W.IntProgress(value=0, min=0, max=1, description="training")
        for name in ("task", "depth", "width", "gamma", "n_train", "steps", "seed", "shuffled", "strength",
                     "path", "progress"):
            getattr(self, name).add_class(f"rnx-fq-{name.replace('_', '')}")
        self.run_button.add_class("rnx-fq-run")
        self.load_button.add_class("rnx-fq-load")

        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        self.panels = FeatureQualityPanels(self.fig)
        p = self.panels
        self.ax_curves, self.ax_scatter, self.ax_pi = p.ax_curves, p.ax_scatter, p.ax_pi
        self.curve_lines, self.scatter_clean, self.scatter_shuffled = p.curve_lines, p.scatter_clean, p.scatter_shuffled
        self.pi_lines = p.pi_lines
        self.canvas, _static = figure_canvas(self.fig, "rnx-fq-figure", show_static=True)

        arch = W.HBox([self.task, self.depth, self.width, self.gamma])
        run = W.HBox([self.n_train, self.steps, self.seed, self.shuffled, self.run_button, self.progress])
        data = W.HBox([self.path, self.load_button, self.strength])
        for box, cls in ((arch, "arch"), (run, "runbar"), (data, "data")):
            box.add_class(f"rnx-fq-{cls}")
        self.widget = W.VBox([arch, run, data, self.status, self.canvas])
        self.widget.add_class("rnx-fq")

        for name in ("task", "depth", "width", "gamma", "strength"):
            getattr(self, name).observe(self._on_view_change, names="value")
        for name in ("n_train", "steps", "seed", "shuffled"):
            getattr(self, name).observe(self._on_setting, names="value")
        self.run_button.on_click(self._on_run)
        self.load_button.on_click(self._on_load)
        self._update()
        if load_error is not None:
            self._error(load_error)

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    # ------------------------------------------------------------------ figure
    # ------------------------------------------------------------------ events
    def _sync_state(self) -> None:
        st = self.state
        st.task, st.depth, st.width, st.gamma = self.task.value, self.depth.value, self.width.value, self.gamma.value
        st.n_train, st.steps, st.seed, st.shuffled = self.n_train.value, self.steps.value, self.seed.value, self.shuffled.value
        st.strength = self.strength.value

    def _on_setting(self, change: dict) -> None:
        self._sync_state()

    def _on_view_change(self, change: dict) -> None:
        self._sync_state()
        self._update()

    def _on_run(self, button=None) -> None:
        try:
            self._sync_state()
            self.progress.max, self.progress.value = max(1, self.state.steps), 0
            self.status.value = "training..."

            def tick(step, steps):
                self.progress.max, self.progress.value = steps, step

            rec = self.state.run(progress=tick)
            self._update()
            self.status.value = (f"run n={rec.n_train} seed={rec.seed}{' (shuffled)' if rec.shuffled else ''}: "
                                 f"E(net)={rec.err_net:.3g}, E(NTK)={rec.err_ntk:.3g}, FQ={rec.fq:.3g}, "
                                 f"1-CKA={rec.one_minus_cka:.2f} ({rec.seconds:.0f} s). " + self.state.summary())
        except Exception as exc:  # never raise into the notebook
            self._error(exc)

    def _on_load(self, button=None) -> None:
        try:
            self.state.load(self.path.value)
            st = self.state
            if st.width not in self.width.options:
                self.width.options = sorted(set(self.width.options) | {st.width})
            with self.task.hold_trait_notifications():
                self.task.value, self.depth.value, self.width.value = st.task, st.depth, st.width
                self.gamma.value, self.steps.value = st.gamma, st.steps
            self._sync_state()
            self._update()
        except Exception as exc:
            self._error(exc)

    def _error(self, exc: Exception) -> None:
        import html

        self.status.value = f"<span style='color:#b00'>error: {html.escape(type(exc).__name__)}: {html.escape(str(exc))}</span>"

    def _update(self) -> None:
        try:
            self.panels.update(self.state)
            self.status.value = self.state.summary()
            self.fig.canvas.draw_idle()
        except Exception as exc:
            self._error(exc)


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
        Key of :data:`STRENGTH_MEASURES` for the scatter's x axis.
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
