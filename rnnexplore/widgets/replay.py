"""TrainingReplay: scrub through a training run and see which object appeared or vanished at each jump.

:class:`TrainingReplay` wraps the scriptable :class:`~rnnexplore.apps.replay.ReplayState` in a
thin view: Play and a slider (linked in the browser), a status line, and one picture with four
panels - loss (log) with jump and bifurcation markers, gradient norm, phase portrait with the
objects of the current model, and the loss landscape with the parameter path so far.

Playback runs in the browser: the static parts are one matplotlib figure rendered once (at the
width the page gives it), and what moves - the epoch cursors, the path, the simulated orbit and
the objects of each checkpoint - is sent once as data and drawn over it by a
:class:`~rnnexplore.widgets.clientside.FramePlayer`. A frame costs no kernel round trip and the browser
times playback, so it keeps its interval (default 66 ms, 15 frames/s) and the figure is never
re-rendered per frame.
Without an analysis, the objects of every checkpoint are searched in a background
:class:`~rnnexplore.apps.jobs.Job` and stream into the player as they are found.

Every control carries a stable CSS class ``rnx-replay-...``. :class:`LiveLoss` is a training
callback that plots loss and gradient norm while
:func:`rnnexplore.dynamics.training.trainer.train` runs.

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

import io
import threading
from typing import Any

import numpy as np

from rnnexplore.apps.jobs import Job
from rnnexplore.apps.replay import ReplayState
from rnnexplore.dynamics.training.replay import Replay
from rnnexplore.widgets.base import EVENT_COLOURS, guarded, refresh, status_html
from rnnexplore.widgets.figure import figure_canvas

__all__ = ["TrainingReplay", "LiveLoss"]

_STAB_CODE = {"stable": 0, "saddle": 1, "unstable": 2}


class TrainingReplay:
    """Browser-side playback of a :class:`ReplayState` (see the module docstring).

    Parameters
    ----------
    replay : Replay or ReplayState
    width : int
        Pixel width of the picture until the page reports the width it has.
    interval : int
        Milliseconds between frames of playback.
    **kwargs
        Passed to :class:`ReplayState` when ``replay`` is a Replay.

    Attributes
    ----------
    state : ReplayState
    play : ipywidgets.ToggleButton
        Play / pause (linked to ``player.playing``: the browser times the frames).
    slider : ipywidgets.IntSlider
    status : ipywidgets.HTML
    player : FramePlayer
        The picture (background PNG + the per-checkpoint layers drawn in the browser).
    fig : matplotlib.figure.Figure
        The static figure (not registered with pyplot, so it is shown once, in the player).
    portrait : PhasePortrait
        Draws the phase-portrait background (regions, borders, the data orbit).
    widget : ipywidgets.VBox
        What to display (``TrainingReplay`` itself displays as this box).
    job : Job or None
        The background search of objects (only without an analysis and with ``max_order``).

    Examples
    --------
    >>> view = TrainingReplay(replay, analysis=analysis, landscape=landscape)   # doctest: +SKIP
    >>> view.slider.value = 40                                                  # doctest: +SKIP
    """

    def __init__(self, replay: Replay | ReplayState, *, width: int = 860, interval: int = 66, **kwargs: Any):
        import ipywidgets as W
        from matplotlib.figure import Figure

        from rnnexplore.widgets.clientside import FramePlayer

        self.state = replay if isinstance(replay, ReplayState) else ReplayState(replay, **kwargs)
        self.last_error: str | None = None
        self.job: Job | None = None
        self._lock = threading.RLock()
        n = self.state.n_checkpoints
        self.play = W.ToggleButton(value=False, description="play", icon="play", layout=W.Layout(width="90px"),
                                   tooltip=f"play the checkpoints in the browser, one every {int(interval)} ms")
        self.play.add_class("rnx-replay-play")
        self.slider = W.IntSlider(value=0, min=0, max=n - 1, step=1, description="checkpoint",
                                  continuous_update=True, layout=W.Layout(width="60%"))
        self.slider.add_class("rnx-replay-slider")
        self.player = FramePlayer(interval=int(interval))
        self.player.add_class("rnx-replay-figure")
        W.jslink((self.play, "value"), (self.player, "playing"))
        W.jslink((self.slider, "value"), (self.player, "index"))
        self.status = W.HTML()
        self.status.add_class("rnx-replay-status")
        self._width = int(width)
        self.fig = Figure(figsize=(self._width / 100, self._height(self._width) / 100), dpi=100)
        self._build_figure()
        controls = W.HBox([self.play, self.slider])
        controls.add_class("rnx-replay-controls")
        self.widget = W.VBox([controls, self.status, self.player], layout=W.Layout(width="100%"))
        self.widget.add_class("rnx-replay")
        self.slider.observe(self._on_slider, names="value")
        self.player.observe(self._on_width, names="width")
        self._frames = self._frame_data()
        self._render_background()
        self._send_frames()
        self._update_status()
        if self.state.analysis is None and self.state.max_order is not None:
            self._start_search()

    # ------------------------------------------------------------------ figure
    @staticmethod
    def _height(width: int) -> int:
        return int(min(max(0.68 * width, 420), 760))

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
                              lw=0.8, alpha=0.6, label=kind.replace("_", " ") if ax is self.ax_loss else None)
        a.set_ylabel("loss")
        a.set_title("loss per checkpoint (black line: the checkpoint shown)", fontsize=9)
        a.legend(fontsize=7, loc="upper right")
        g = self.ax_grad
        g.semilogy(ep, np.clip(r.grad_norm, 1e-300, 1e300), color="C1", lw=1)
        g.set_ylabel("gradient norm")
        g.set_xlabel("epoch")
        g.set_title("gradient norm", fontsize=9)
        from rnnexplore.widgets.portrait import PhasePortrait

        self.portrait = PhasePortrait(self.ax_phase, shade=True, grid=60, max_trajectories=2)
        self.ax_phase.set_title("phase portrait at the checkpoint: orbit (purple), objects", fontsize=9)
        la = self.ax_land
        if st.landscape is not None:
            L = st.landscape
            ext = (L.x_values[0], L.x_values[-1], L.y_values[0], L.y_values[-1])
            img = np.log10(np.clip(L.loss, 1e-300, 1e300))
            im = la.imshow(img, origin="lower", extent=ext, aspect="auto", cmap="viridis",
                           vmax=np.nanpercentile(img, 95))
            self.fig.colorbar(im, ax=la, fraction=0.05, pad=0.02).set_label("log10 loss", fontsize=8)
            la.set_title(f"loss landscape (alpha = {L.info.get('alpha', '?')}) and the path", fontsize=9)
        else:
            la.set_title("parameter path", fontsize=9)
        for cx, cy in st.curves:
            la.plot(cx, cy, "-", color="white", lw=0.8)
        la.plot(st.path[:, 0], st.path[:, 1], "-", color="0.6", lw=0.5)
        pad = lambda lo, hi: (lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12))  # noqa: E731
        if st.landscape is None:
            la.set_xlim(*pad(np.nanmin(st.path[:, 0]), np.nanmax(st.path[:, 0])))
            la.set_ylim(*pad(np.nanmin(st.path[:, 1]), np.nanmax(st.path[:, 1])))
        la.set_xlabel(st.path_params[0])
        la.set_ylabel(st.path_params[1])

    def _portrait_background(self) -> None:
        st = self.state
        trajs = []
        if st.data is not None and st.data.shape[1] == st.model().M:
            trajs.append(st.data[: st.n_steps])
        self.portrait.update(model=st.model(), cycles=[], trajectories=trajs, rescale=False)
        self.portrait.set_limits(*self._frames["limits"])

    def _render_background(self) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        with self._lock:
            w = self._width
            self.fig.set_size_inches(w / 100, self._height(w) / 100)
            self._portrait_background()
            self.fig.tight_layout()
            self._portrait_background()  # the limits again: tight_layout moved the axes
            canvas = FigureCanvasAgg(self.fig)
            buf = io.BytesIO()
            canvas.print_png(buf)
            self.player.size = [int(self.fig.bbox.width), int(self.fig.bbox.height)]
            self.player.background = buf.getvalue()

    # ------------------------------------------------------------------ frames (sent once)
    def _frame_data(self) -> dict:
        """Per-checkpoint orbits and objects projected on the portrait's plane, and the limits."""
        st = self.state
        n = st.n_checkpoints
        self.portrait.update(model=st.replay.model_at(0), cycles=[], trajectories=[], rescale=False)
        proj = self.portrait.projection
        trajs = []
        for i in range(n):
            t = st.trajectory_at(i)
            t = t.reshape(len(t), -1)
            xy = np.column_stack([t[:-1, 0], t[1:, 0]]) if proj.kind == "return" else proj.orbit(t)
            trajs.append(np.asarray(xy, float))
        frames = {"trajs": trajs, "objects": [self._objects_xy(i) for i in range(n)]}
        core = [o[0] for o in frames["objects"] if len(o[0])]
        pts = np.vstack(core + [tr[len(tr) // 2:] for tr in trajs])
        pts = pts[np.all(np.isfinite(pts), axis=1)]
        if st.data is not None and st.data.shape[1] == st.replay.model_at(0).M:
            pts = np.vstack([pts, proj.orbit(st.data[: st.n_steps])])
        if len(pts):
            lo, hi = np.percentile(pts, 1, axis=0), np.percentile(pts, 99, axis=0)
        else:
            lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
        span = np.maximum(hi - lo, 1e-3)
        lo, hi = lo - 0.15 * span, hi + 0.15 * span
        frames["limits"] = ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))
        return frames

    def _objects_xy(self, i: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Points (P, 2), stability codes (P,) and object ids (P,) of checkpoint ``i`` (empty if unknown)."""
        cs = self.state.known_objects(i)
        if not cs:
            return np.zeros((0, 2)), np.zeros(0), np.zeros(0)
        proj = self.portrait.projection
        xy, code, obj = [], [], []
        for k, c in enumerate(cs):
            p = np.asarray(c.points, float).reshape(len(c.points), -1)
            q = np.column_stack([p[:, 0], np.roll(p[:, 0], -1)]) if proj.kind == "return" else proj.orbit(p)
            xy.append(np.asarray(q, float)[: len(p)])
            code.extend([_STAB_CODE.get(c.stability, 2)] * len(p))
            obj.extend([k] * len(p))
        return np.vstack(xy), np.array(code, float), np.array(obj, float)

    def _send_frames(self) -> None:
        from rnnexplore.widgets.clientside import FrameData, axes_layout

        st, fr = self.state, self._frames
        fd = FrameData()
        ep = st.replay.epochs.astype(float)
        traj_starts = np.concatenate([[0], np.cumsum([len(t) for t in fr["trajs"]])])
        objs = fr["objects"]
        obj_starts = np.concatenate([[0], np.cumsum([len(o[0]) for o in objs])])
        cat = lambda parts, w: np.concatenate(parts) if parts else np.zeros((0, w))  # noqa: E731
        spec = {
            "n_frames": st.n_checkpoints,
            "axes": {name: axes_layout(ax) for name, ax in
                     (("loss", self.ax_loss), ("grad", self.ax_grad), ("phase", self.ax_phase), ("land", self.ax_land))},
            "layers": [
                {"type": "vline", "axes": "loss", "x": fd.add(ep), "color": "black", "lw": 1.2},
                {"type": "vline", "axes": "grad", "x": fd.add(ep), "color": "black", "lw": 1.2},
                {"type": "prefix_path", "axes": "land", "xy": fd.add(st.path), "color": "red", "lw": 1.5},
                {"type": "frame_lines", "axes": "phase", "xy": fd.add(cat(fr["trajs"], 2)),
                 "starts": fd.add(traj_starts), "color": "#9467bd", "lw": 1.0},
                {"type": "frame_markers", "axes": "phase", "xy": fd.add(cat([o[0] for o in objs], 2)),
                 "starts": fd.add(obj_starts), "code": fd.add(cat([o[1] for o in objs], 1).ravel()),
                 "object": fd.add(cat([o[2] for o in objs], 1).ravel())},
            ],
            "status": [],
        }
        self._spec = spec
        self._buffer = fd.buffer()
        self.player.set_frames(spec, fd)

    def frame(self, i: int) -> dict:
        """What the browser draws at checkpoint ``i``, decoded from the data sent (for tests)."""
        buf, out = self._buffer, {}
        seg = lambda ref: buf[ref[0] : ref[0] + ref[1]]  # noqa: E731
        for L in self._spec["layers"]:
            if L["type"] == "vline":
                out[f"cursor_{L['axes']}"] = float(seg(L["x"])[i])
            elif L["type"] == "prefix_path":
                out["path"] = seg(L["xy"]).reshape(-1, 2)[: i + 1]
            elif L["type"] == "frame_lines":
                st = seg(L["starts"]).astype(int)
                out["orbit"] = seg(L["xy"]).reshape(-1, 2)[st[i] : st[i + 1]]
            elif L["type"] == "frame_markers":
                st = seg(L["starts"]).astype(int)
                out["objects"] = seg(L["xy"]).reshape(-1, 2)[st[i] : st[i + 1]]
                out["stability"] = seg(L["code"])[st[i] : st[i + 1]].astype(int)
        return out

    # ------------------------------------------------------------------ background search
    def _start_search(self) -> None:
        st = self.state
        todo = st.missing_checkpoints()

        def work(report):
            for k, i in enumerate(todo):
                report(k / len(todo), f"searching objects: checkpoint {k + 1} of {len(todo)}")
                st.objects_at(i)
                if k % 10 == 9 or k == len(todo) - 1:
                    self._objects_arrived()
            return len(todo)

        def done(_):
            self.status.value = status_html("ok", self.state.summary())

        def failed(exc, tb):
            self.last_error = tb
            self.status.value = status_html("error", f"object search failed: {type(exc).__name__}: {exc}")

        self.job = Job(work, on_progress=lambda f, m: setattr(self.status, "value", status_html("busy", m)),
                       on_done=done, on_error=failed, name="rnnexplore-replay-objects").start()

    def _objects_arrived(self) -> None:
        with self._lock:
            self._frames["objects"] = [self._objects_xy(i) for i in range(self.state.n_checkpoints)]
            self._send_frames()

    # ------------------------------------------------------------------ events
    @guarded
    def _on_slider(self, change: dict) -> None:
        self._show(change["new"])

    def _show(self, i: int) -> None:
        # Only read here, never write the value back to the slider or the player: in the browser
        # they are linked already, and an echo of a value the browser has moved past makes
        # playback jump back (that halved the frame rate)
        self.state.set_index(int(i))
        self._update_status()

    @guarded
    def _on_width(self, change: dict) -> None:
        w = int(change["new"])
        if w >= 200 and abs(w - self._width) > 8:
            self._width = w
            self._render_background()
            self._send_frames()  # axes moved: new layout for the layers

    def _update_status(self) -> None:
        job = self.job
        if job is not None and job.running:
            return  # the search reports its progress there
        cs = self.state.known_objects(self.state.index)
        text = self.state.summary() if (cs is not None or self.state.max_order is None) else \
            f"checkpoint {self.state.index}: objects not searched yet"
        self.status.value = f"<span class='rnx-replay-summary'>{text}</span>"

    def refresh(self) -> None:
        """Re-render the static picture (after changing the figure by hand)."""
        self._render_background()
        self._send_frames()

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
        if not isinstance(self.fig.canvas, W.DOMWidget):
            plt.close(self.fig)  # static backend: shown by this view only, never again under a later cell
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
