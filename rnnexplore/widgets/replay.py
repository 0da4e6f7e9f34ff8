"""TrainingReplay: scrub through a training run and see which object appeared or vanished at each jump.

:class:`TrainingReplay` wraps the scriptable :class:`~rnnexplore.apps.replay.ReplayState` in a thin ipywidgets + ipympl view: Play and a slider
(linked), a status line, and one figure with four panels - loss (log) with jump and
bifurcation markers, gradient norm, phase portrait with the objects of the current model,
and the loss landscape with the parameter path so far. Every control carries a stable CSS
class ``rnx-replay-...``. :class:`LiveLoss` is a training callback that plots loss and
gradient norm while :func:`rnnexplore.dynamics.training.trainer.train` runs.

Examples
--------
>>> from rnnexplore.dynamics.training.replay import Replay
>>> from rnnexplore.apps.replay import ReplayState
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

from rnnexplore.apps.replay import ReplayState
from rnnexplore.dynamics.training.replay import Replay
from rnnexplore.widgets.base import EVENT_COLOURS, refresh
from rnnexplore.widgets.figure import figure_canvas

__all__ = ["TrainingReplay", "LiveLoss"]



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
        self.refresh()

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
            self.refresh()
        except Exception as exc:  # never raise into the notebook
            self.status.value = f"<span style='color:red'>error: {type(exc).__name__}: {exc}</span>"

    def refresh(self) -> None:
        refresh(self.fig, self.canvas if self._static else None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)


class LiveLoss:
    """Watch training live: a callback for :func:`rnnexplore.dynamics.training.trainer.train` that plots as it goes.

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
        """Record one checkpoint (the dict :func:`~rnnexplore.dynamics.training.trainer.train` passes)."""
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
        refresh(self.fig, self.canvas if self._static else None)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)
