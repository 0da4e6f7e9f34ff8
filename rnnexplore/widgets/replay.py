"""TrainingReplay: scrub through a training run and see which object appeared or vanished at each jump.

:class:`ReplayState` is a plain, scriptable object (no widgets): the current checkpoint, the
model there, its SCYFI objects, the events and jumps, the parameter path.
:class:`TrainingReplay` wraps it in a thin ipywidgets + ipympl view: Play and a slider
(linked), a status line, and one figure with four panels - loss (log) with jump and
bifurcation markers, gradient norm, phase portrait with the objects of the current model,
and the loss landscape with the parameter path so far. Every control carries a stable CSS
class ``rnx-replay-...``. :class:`LiveLoss` is a training callback that plots loss and
gradient norm while :func:`rnnexplore.training.train` runs.

Examples
--------
>>> from rnnexplore.replay import Replay
>>> from rnnexplore.widgets.replay import ReplayState
>>> import numpy as np
>>> C = 4
>>> rep = Replay("plrnn", np.arange(C), {"A": np.full((C, 1), 0.5), "W": np.zeros((C, 1, 1)),
...              "h": np.ones((C, 1))}, np.ones(C), np.ones(C), np.ones(C), np.zeros(C))
>>> st = ReplayState(rep)
>>> st.set_index(2).epoch
2
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnexplore.replay import Landscape, Replay, ReplayAnalysis, detect_jumps
from rnnexplore.widgets.bifurcation import EVENT_COLOURS
from rnnexplore.widgets.figure import figure_canvas, in_ipython

__all__ = ["ReplayState", "TrainingReplay", "LiveLoss"]



class ReplayState:
    """Scriptable state behind :class:`TrainingReplay`.

    Parameters
    ----------
    replay : Replay
    analysis : ReplayAnalysis, optional
        Objects and events per checkpoint (:func:`rnnexplore.replay.analyse_replay`).
        Without it, objects are searched on demand when ``max_order`` is given
        (warm-started from the nearest checkpoint already searched) and no events are shown.
    landscape : Landscape, optional
        Background of the path panel; its two parameters define the path.
    path_params : (str, str), optional
        Parameters of the path panel when there is no landscape (default: the first two
        scalar parameters that change along the replay, e.g. ``("A[0]", "A[1]")``).
    curves : list of (x, y) arrays, optional
        Bifurcation curves drawn on the path panel.
    data : array_like (T, N), optional
        Its first state starts the simulated orbit; with ``N == M`` its first ``n_steps``
        states are drawn in the phase portrait too.
    max_order : int, optional
        Cycle order for on-demand searches.
    n_steps : int
        Length of the simulated trajectory in the phase portrait.
    """

    def __init__(
        self,
        replay: Replay,
        *,
        analysis: ReplayAnalysis | None = None,
        landscape: Landscape | None = None,
        path_params: tuple[str, str] | None = None,
        curves: list | None = None,
        data: Any = None,
        max_order: int | None = None,
        n_steps: int = 300,
    ) -> None:
        if not isinstance(replay, Replay):
            raise ValueError("replay must be a rnnexplore.replay.Replay")
        if analysis is not None and len(analysis.n_objects) != replay.n_checkpoints:
            raise ValueError("analysis must cover every checkpoint of the replay")
        self.replay = replay
        self.analysis = analysis
        self.landscape = landscape
        self.curves = [tuple(np.asarray(c, float) for c in cv) for cv in (curves or [])]
        self.data = None if data is None else np.asarray(data, dtype=np.float64)
        self.max_order = max_order
        self.n_steps = int(n_steps)
        if landscape is not None:
            path_params = (landscape.x_param, landscape.y_param)
        if path_params is None:
            names = replay.scalar_param_names(varying=True) + replay.scalar_param_names()
            names = list(dict.fromkeys(names))  # varying ones first, no repeats
            path_params = (names[0], names[1])
        self.path_params = tuple(path_params)
        self.path = np.stack([replay.param_series(p) for p in self.path_params], axis=1)
        self.jumps = analysis.jumps if analysis is not None else detect_jumps(replay.loss)
        self._objects: dict[int, Any] = {}
        if analysis is not None and analysis.cycle_sets:
            self._objects = dict(enumerate(analysis.cycle_sets))
        self.index = 0

    # ------------------------------------------------------------------ navigation
    @property
    def n_checkpoints(self) -> int:
        """Number of checkpoints."""
        return self.replay.n_checkpoints

    @property
    def epoch(self) -> int:
        """Epoch of the current checkpoint."""
        return int(self.replay.epochs[self.index])

    def set_index(self, i: int) -> "ReplayState":
        """Move to checkpoint ``i`` (validated) and return ``self``."""
        self.index = self.replay._check_index(i)
        return self

    # ------------------------------------------------------------------ content
    def model(self) -> Any:
        """The numpy model at the current checkpoint."""
        return self.replay.model_at(self.index)

    def objects(self) -> Any:
        """The CycleSet at the current checkpoint (``None`` if unavailable)."""
        if self.index in self._objects:
            return self._objects[self.index]
        if self.max_order is None:
            return None
        from rnnexplore.cycles import find_cycles

        warm = None
        if self._objects:
            nearest = min(self._objects, key=lambda j: abs(j - self.index))
            warm = self._objects[nearest]
        cs = find_cycles(self.model(), int(self.max_order), seed=self.index, warm_start=warm)
        self._objects[self.index] = cs
        return cs

    def trajectory(self) -> np.ndarray:
        """Simulated orbit of the current model from the data's first state (or 0.1)."""
        model = self.model()
        z0 = np.full(model.M, 0.1)
        if self.data is not None:
            z0[: self.data.shape[1]] = self.data[0, : model.M]
        traj = model.simulate(z0, self.n_steps)
        return np.where(np.isfinite(traj), traj, np.nan)

    def events_here(self) -> list[str]:
        """Event kinds between the previous and the current checkpoint."""
        return [] if self.analysis is None else self.analysis.kinds_at(self.index)

    def summary(self) -> str:
        """One line describing the current checkpoint."""
        r = self.replay
        i = self.index
        parts = [
            f"checkpoint {i}/{self.n_checkpoints - 1}",
            f"epoch {self.epoch}",
            f"loss {r.loss[i]:.4g}",
            f"|grad| {r.grad_norm[i]:.3g}",
            f"alpha {r.alpha[i]:.3f}",
        ]
        cs = self._objects.get(i) if self.max_order is None else self.objects()
        if cs is not None:
            n_st = sum(1 for c in cs if getattr(c, "stability", "") == "stable")
            parts.append(f"{len(cs)} objects ({n_st} stable)")
        ev = self.events_here()
        if ev:
            parts.append("events: " + ", ".join(sorted(set(ev))))
        if i in set(int(j) for j in self.jumps):
            parts.append("LOSS JUMP")
        return " | ".join(parts)


class TrainingReplay:
    """ipywidgets + ipympl view of a :class:`ReplayState` (see the module docstring).

    Parameters
    ----------
    replay : Replay or ReplayState
    **kwargs
        Passed to :class:`ReplayState` when ``replay`` is a Replay.

    Attributes
    ----------
    state : ReplayState
    play : ipywidgets.Play
    slider : ipywidgets.IntSlider
    status : ipywidgets.HTML
    widget : ipywidgets.VBox
        What to display (``TrainingReplay`` itself displays as this box).

    Examples
    --------
    >>> view = TrainingReplay(replay, analysis=analysis, landscape=landscape)   # doctest: +SKIP
    >>> view.slider.value = 40                                                  # doctest: +SKIP
    """

    def __init__(self, replay: Replay | ReplayState, *, figsize: tuple[float, float] = (10, 7), **kwargs: Any):
        import ipywidgets as W
        import matplotlib.pyplot as plt

        self.state = replay if isinstance(replay, ReplayState) else ReplayState(replay, **kwargs)
        n = self.state.n_checkpoints
        self.play = W.Play(value=0, min=0, max=n - 1, step=1, interval=150, description="play")
        self.play.add_class("rnx-replay-play")
        self.slider = W.IntSlider(value=0, min=0, max=n - 1, step=1, description="checkpoint",
                                  continuous_update=True, layout=W.Layout(width="60%"))
        self.slider.add_class("rnx-replay-slider")
        W.jslink((self.play, "value"), (self.slider, "value"))
        self.play.observe(self._on_play, names="value")
        self.status = W.HTML()
        self.status.add_class("rnx-replay-status")
        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        self._build_figure()
        self.canvas, self._static = figure_canvas(self.fig, "rnx-replay-figure")
        controls = W.HBox([self.play, self.slider])
        controls.add_class("rnx-replay-controls")
        self.widget = W.VBox([controls, self.status, self.canvas])
        self.widget.add_class("rnx-replay")
        self.slider.observe(self._on_slider, names="value")
        self._update()
        self.fig.tight_layout()  # once more, now that the portrait has its labels
        self._redraw()

    # ------------------------------------------------------------------ figure
    def _build_figure(self) -> None:
        st, r = self.state, self.state.replay
        ep = r.epochs
        gs = self.fig.add_gridspec(2, 2)
        self.ax_loss = self.fig.add_subplot(gs[0, 0])
        self.ax_grad = self.fig.add_subplot(gs[1, 0], sharex=self.ax_loss)
        self.ax_phase = self.fig.add_subplot(gs[0, 1])
        self.ax_land = self.fig.add_subplot(gs[1, 1])
        a = self.ax_loss
        a.semilogy(ep, np.clip(r.loss, 1e-300, 1e300), color="C0", lw=1, label="loss")
        if np.any(r.free_loss != r.loss):
            a.semilogy(ep, np.clip(r.free_loss, 1e-300, 1e300), color="C0", lw=0.6, alpha=0.5, ls="--",
                       label="free-running loss")
        if len(st.jumps):
            a.plot(ep[st.jumps], np.clip(r.loss[st.jumps], 1e-300, 1e300), "v", color="red", ms=7, label="loss jump")
        if st.analysis is not None and len(st.analysis.event_kind):
            for kind in np.unique(st.analysis.event_kind):
                cks = np.unique(st.analysis.event_checkpoint[st.analysis.event_kind == kind])
                for ax in (self.ax_loss, self.ax_grad):
                    ax.vlines(ep[cks], 0, 1, transform=ax.get_xaxis_transform(), colors=EVENT_COLOURS.get(kind, "gray"),
                              lw=0.8, alpha=0.6, label=kind if ax is self.ax_loss else None)
        a.set_ylabel("loss")
        a.legend(fontsize=7, loc="upper right")
        self.cur_loss = a.axvline(ep[0], color="k", lw=1)
        g = self.ax_grad
        g.semilogy(ep, np.clip(r.grad_norm, 1e-300, 1e300), color="C1", lw=1)
        g.set_ylabel("gradient norm")
        g.set_xlabel("epoch")
        self.cur_grad = g.axvline(ep[0], color="k", lw=1)
        from rnnexplore.widgets.portrait import PhasePortrait

        self.portrait = PhasePortrait(self.ax_phase, shade=True, grid=60, max_trajectories=2)
        self.ax_phase.set_title("phase portrait at the checkpoint", fontsize=9)
        la = self.ax_land
        if st.landscape is not None:
            L = st.landscape
            ext = (L.x_values[0], L.x_values[-1], L.y_values[0], L.y_values[-1])
            img = np.log10(np.clip(L.loss, 1e-300, 1e300))
            la.imshow(img, origin="lower", extent=ext, aspect="auto", cmap="viridis",
                      vmax=np.nanpercentile(img, 95))
            la.set_title(f"log10 loss (alpha={L.info.get('alpha', '?')})", fontsize=9)
        for cx, cy in st.curves:
            la.plot(cx, cy, "-", color="white", lw=0.8)
        la.plot(st.path[:, 0], st.path[:, 1], "-", color="0.6", lw=0.5)
        (self.path_line,) = la.plot([], [], "-", color="red", lw=1.2)
        (self.path_dot,) = la.plot([], [], "o", color="red", ms=5)
        la.set_xlabel(st.path_params[0])
        la.set_ylabel(st.path_params[1])
        self.fig.tight_layout()

    # ------------------------------------------------------------------ events
    def _on_play(self, change: dict) -> None:
        # jslink keeps the browser in sync; this keeps kernels without a frontend in sync too
        if self.slider.value != change["new"]:
            self.slider.value = change["new"]

    def _on_slider(self, change: dict) -> None:
        self._update()

    def _update(self) -> None:
        try:
            st = self.state.set_index(self.slider.value)
            e = st.epoch
            self.cur_loss.set_xdata([e, e])
            self.cur_grad.set_xdata([e, e])
            trajs = [st.trajectory()]
            if st.data is not None and st.data.shape[1] == st.model().M:
                trajs.append(st.data[: st.n_steps])
            self.portrait.update(model=st.model(), cycles=list(st.objects() or []), trajectories=trajs)
            i = st.index
            self.path_line.set_data(st.path[: i + 1, 0], st.path[: i + 1, 1])
            self.path_dot.set_data(st.path[i : i + 1, 0], st.path[i : i + 1, 1])
            self.status.value = f"<span class='rnx-replay-summary'>{st.summary()}</span>"
            self._redraw()
        except Exception as exc:  # never raise into the notebook
            self.status.value = f"<span style='color:red'>error: {type(exc).__name__}: {exc}</span>"

    def _redraw(self) -> None:
        _redraw(self.fig, self.canvas if self._static else None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


def _redraw(fig: Any, output: Any) -> None:
    """``draw_idle`` on an interactive canvas, or re-show the figure in ``output`` (static backends)."""
    if output is None:
        fig.canvas.draw_idle()
        return
    if in_ipython():
        from IPython.display import clear_output, display

        with output:
            clear_output(wait=True)
            display(fig)


class LiveLoss:
    """Watch training live: a callback for :func:`rnnexplore.training.train` that plots as it goes.

    Loss (log) and gradient norm per checkpoint, updated in place at every checkpoint
    (with ``%matplotlib widget``; with a static backend the picture is re-drawn every
    ``every`` checkpoints). Display the object, then pass it as ``callback``.

    Parameters
    ----------
    every : int
        Redraw every ``every`` checkpoints.
    stop_above : float, optional
        Stop training (callback returns True) once the loss exceeds this value.

    Examples
    --------
    >>> live = LiveLoss()                                  # doctest: +SKIP
    >>> live                                               # doctest: +SKIP
    >>> rep = train(model, data, epochs=500, callback=live)   # doctest: +SKIP
    """

    def __init__(self, *, every: int = 5, stop_above: float | None = None, figsize=(8, 3)) -> None:
        import ipywidgets as W
        import matplotlib.pyplot as plt

        self.every = max(1, int(every))
        self.stop_above = stop_above
        self.epochs: list[int] = []
        self.loss: list[float] = []
        self.grad: list[float] = []
        with plt.ioff():
            self.fig = plt.figure(figsize=figsize)
        self.ax_loss = self.fig.add_subplot(1, 2, 1)
        self.ax_grad = self.fig.add_subplot(1, 2, 2)
        (self.loss_line,) = self.ax_loss.semilogy([], [], color="C0")
        (self.grad_line,) = self.ax_grad.semilogy([], [], color="C1")
        self.ax_loss.set_title("loss", fontsize=9)
        self.ax_grad.set_title("gradient norm", fontsize=9)
        self.fig.tight_layout()
        self.status = W.HTML()
        self.status.add_class("rnx-replay-live-status")
        self.canvas, self._static = figure_canvas(self.fig, "rnx-replay-live-figure")
        self.widget = W.VBox([self.status, self.canvas])
        self.widget.add_class("rnx-replay-live")

    def __call__(self, info: dict) -> bool:
        """Record one checkpoint (the dict :func:`~rnnexplore.training.train` passes)."""
        try:
            self.epochs.append(int(info["epoch"]))
            self.loss.append(max(float(info["loss"]), 1e-300))
            self.grad.append(max(float(info["grad_norm"]), 1e-300))
            self.status.value = (f"epoch {info['epoch']} | loss {info['loss']:.4g} | "
                                 f"|grad| {info['grad_norm']:.3g} | alpha {info['alpha']:.3f}")
            if len(self.epochs) % self.every == 0:
                self.redraw()
        except Exception as exc:  # never break the training loop
            self.status.value = f"<span style='color:red'>error: {type(exc).__name__}: {exc}</span>"
        return self.stop_above is not None and float(info["loss"]) > self.stop_above

    def redraw(self) -> None:
        """Update the lines and the view."""
        self.loss_line.set_data(self.epochs, self.loss)
        self.grad_line.set_data(self.epochs, self.grad)
        for ax in (self.ax_loss, self.ax_grad):
            ax.relim()
            ax.autoscale_view()
        _redraw(self.fig, self.canvas if self._static else None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
