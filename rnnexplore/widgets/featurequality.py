"""Feature-quality explorer: network vs kernel learners on staircase functions.

:class:`FeatureQualityState` is a plain, scriptable object (no widgets): it holds the
chosen task and architecture, runs :func:`rnnexplore.featurequality.compare` and keeps
every run in a :class:`~rnnexplore.featurequality.SweepResult` (or loads a saved sweep),
and computes what the plots show. :class:`FeatureQualityExplorer` wraps it in a thin
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
>>> from rnnexplore.widgets.featurequality import FeatureQualityState
>>> st = FeatureQualityState(width=16, steps=50, n_train=32, n_test=64)
>>> rec = st.run()
>>> sorted(st.learning_curves())
['ckT', 'k0', 'kT', 'net', 'nngp', 'ntk']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rnnexplore.featurequality import (
    FQRecord,
    Staircase,
    SweepResult,
    classic_staircase,
    compare,
    paper_staircase,
)
from rnnexplore.widgets.figure import figure_canvas

__all__ = ["FeatureQualityState", "FeatureQualityExplorer", "FeatureQualityPanels", "plot_sweep", "TASKS", "STRENGTH_MEASURES", "DEFAULT_SWEEP_FILE"]

#: Tasks offered by the explorer (label -> factory).
TASKS: dict[str, Callable[[], Staircase]] = {
    "S4 (d=20)": lambda: classic_staircase(4, 20),
    "S3 (d=15)": lambda: classic_staircase(3, 15),
    "S5 (d=20)": lambda: classic_staircase(5, 20),
    "paper 8-term (d=30)": paper_staircase,
}

#: The saved S4 sweep of a source checkout (written by ``benchmarks/bench_featurequality.py``).
DEFAULT_SWEEP_FILE = Path(__file__).resolve().parents[2] / "data" / "featurequality_s4_sweep.json"

#: Strength measures for the scatter's x axis (record column -> label).
STRENGTH_MEASURES = {
    "one_minus_cka": "1 - CKA(K0, KT)",
    "rel_frob": "relative Frobenius change of the NTK",
    "kta_T": "train-label alignment of KT",
    "mean_weight_change": "mean relative weight change",
}

LEARNERS = {"net": "network", "ntk": "analytic NTK", "nngp": "analytic NNGP", "k0": "NTK at init (K0)",
            "kT": "after kernel (KT)", "ckT": "last layer after training"}


class FeatureQualityState:
    """Scriptable state of the explorer (see the module docstring).

    Parameters
    ----------
    result : SweepResult or path, optional
        Runs to start with (a saved sweep's ``.json``/``.csv`` path is loaded).
    task : str
        A key of :data:`TASKS`.
    depth, width, gamma, steps, n_test : as in :func:`~rnnexplore.featurequality.compare`
    n_train : int
        Training-set size of the next :meth:`run`.
    seed : int
        Seed of the next run.
    shuffled : bool
        Next run uses shuffled training labels.
    strength : str
        Key of :data:`STRENGTH_MEASURES` for the scatter.

    Examples
    --------
    >>> st = FeatureQualityState(task="S3 (d=15)", width=8, steps=20, n_train=16, n_test=32)
    >>> st.run().n_train
    16
    >>> xs, ys, n, shuffled = st.scatter_points()
    >>> len(xs)
    1
    """

    def __init__(self, result: SweepResult | str | Path | None = None, *, task: str = "S4 (d=20)", depth: int = 3,
                 width: int = 256, gamma: float = 1.0, steps: int = 8000, n_test: int = 2000, n_train: int = 1000,
                 seed: int = 0, shuffled: bool = False, strength: str = "one_minus_cka"):
        self.result = SweepResult([])
        if task not in TASKS:
            raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
        if strength not in STRENGTH_MEASURES:
            raise ValueError(f"strength must be one of {list(STRENGTH_MEASURES)}, got {strength!r}")
        self.task, self.depth, self.width, self.gamma = task, depth, width, gamma
        self.steps, self.n_test, self.n_train, self.seed, self.shuffled = steps, n_test, n_train, seed, shuffled
        self.strength = strength
        if result is not None:
            self.load(result) if isinstance(result, (str, Path)) else self.set_result(result)

    def set_result(self, result: SweepResult, adopt: bool = True) -> None:
        """Replace the runs; with ``adopt``, take the task and architecture of the first run."""
        if not isinstance(result, SweepResult):
            raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
        self.result = result
        if adopt and len(result):
            r = result.records[0]
            names = {TASKS[k]().name: k for k in TASKS}
            self.task = names.get(r.get("task"), self.task)
            self.depth, self.width, self.gamma = int(r["depth"]), int(r["width"]), float(r["gamma"])
            self.steps, self.n_test = int(r["steps"]), int(r["n_test"])

    # ------------------------------------------------------------------ actions
    def run(self, progress=False) -> FQRecord:
        """Run one comparison with the current settings and add it to :attr:`result`."""
        rec = compare(TASKS[self.task](), self.n_train, seed=self.seed, shuffle_labels=self.shuffled,
                      depth=self.depth, width=self.width, gamma=self.gamma, steps=self.steps, n_test=self.n_test,
                      progress=progress)
        self.result = SweepResult(self.result.records + [rec.to_dict()])
        return rec

    def load(self, path: str | Path) -> SweepResult:
        """Replace the runs by a saved sweep and adopt its task and architecture."""
        res = SweepResult.load(path)
        self.set_result(res)
        return res

    # ------------------------------------------------------------------ views of the data
    def _task_runs(self) -> SweepResult:
        return self.result.filter(task=TASKS[self.task]().name)

    def matching(self, shuffled: bool = False) -> SweepResult:
        """Runs of the current task and architecture (depth, width, gamma)."""
        return self._task_runs().filter(depth=self.depth, width=self.width, gamma=float(self.gamma), shuffled=shuffled)

    def learning_curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{learner: (n_trains, median test error)}`` for the current architecture."""
        runs = self.matching()
        return {k: runs.median("err_" + k) for k in LEARNERS}

    def strength_values(self, runs: SweepResult) -> np.ndarray:
        """The selected strength measure of each run."""
        if self.strength == "mean_weight_change":
            return np.asarray([np.mean(r["weight_change"]) for r in runs.records], dtype=float)
        return runs.column(self.strength).astype(float) if len(runs) else np.zeros(0)

    def scatter_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every run of the task: (strength, log10 FQ, n_train, shuffled)."""
        runs = self._task_runs()
        if not len(runs):
            z = np.zeros(0)
            return z, z, z, z.astype(bool)
        return (self.strength_values(runs), runs.column("log10_fq").astype(float),
                runs.column("n_train").astype(float), runs.column("shuffled").astype(bool))

    def pi_star_curves(self) -> list[tuple[int, np.ndarray]]:
        """``[(n_train, median Pi*(k) of the trained features)]`` for the current architecture."""
        runs = self.matching()
        out = []
        for n in sorted({r["n_train"] for r in runs.records}):
            curves = [np.asarray(r["pi_star_T"], dtype=float) for r in runs.filter(n_train=n).records]
            m = min(len(c) for c in curves)
            out.append((int(n), np.median([c[:m] for c in curves], axis=0)))
        return out

    def summary(self) -> str:
        """One line about the runs shown."""
        runs = self.matching()
        if not len(runs):
            return f"{len(self.result)} runs loaded; none for {self.task}, depth {self.depth}, width {self.width}, gamma {self.gamma:g}"
        ns, fq = runs.median("fq")
        return (f"{len(self.result)} runs; {self.task}, depth {self.depth}, width {self.width}, gamma {self.gamma:g}: "
                f"median FQ from {fq[0]:.3g} (n={ns[0]}) to {fq[-1]:.3g} (n={ns[-1]})")


class FeatureQualityExplorer:
    """ipywidgets + ipympl view of a :class:`FeatureQualityState`.

    Parameters
    ----------
    state : FeatureQualityState, SweepResult or path, optional
        A state, or runs to start from (e.g. ``"data/featurequality_s4_sweep.json"``).
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
    >>> view = FeatureQualityExplorer("data/featurequality_s4_sweep.json")   # doctest: +SKIP
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
    >>> fig = plot_sweep("data/featurequality_s4_sweep.json")   # doctest: +SKIP
    """
    from matplotlib.figure import Figure

    state = FeatureQualityState(strength=strength)
    state.load(result) if isinstance(result, (str, Path)) else state.set_result(result)
    fig = Figure(figsize=figsize)
    FeatureQualityPanels(fig).update(state)
    return fig
