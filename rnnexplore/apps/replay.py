"""Scriptable state of the training-replay app (no widgets, no matplotlib).

:class:`ReplayState` holds the current checkpoint of a :class:`~rnnexplore.dynamics.training.replay.Replay`,
the model there, its SCYFI objects, the events and jumps and the parameter path;
:class:`rnnexplore.widgets.replay.TrainingReplay` draws it.

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

from collections.abc import Sequence
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_int
from rnnexplore.dynamics.training.replay import Landscape, Replay, ReplayAnalysis, detect_jumps

__all__ = ["ReplayState"]


class ReplayState:
    """Scriptable state behind :class:`TrainingReplay`.

    Parameters
    ----------
    replay : Replay
    analysis : ReplayAnalysis, optional
        Objects and events per checkpoint (:func:`rnnexplore.dynamics.training.replay.analyse_replay`).
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
            raise ValueError("replay must be a rnnexplore.dynamics.training.replay.Replay")
        if analysis is not None and not isinstance(analysis, ReplayAnalysis):
            raise ValueError(f"analysis must be a ReplayAnalysis or None, got {type(analysis).__name__}")
        if landscape is not None and not isinstance(landscape, Landscape):
            raise ValueError(f"landscape must be a Landscape or None, got {type(landscape).__name__}")
        if analysis is not None and len(analysis.n_objects) != replay.n_checkpoints:
            raise ValueError("analysis must cover every checkpoint of the replay")
        if curves is not None and (isinstance(curves, (str, bytes)) or not isinstance(curves, Sequence)):
            raise ValueError(f"curves must be a list of (x, y) polylines, got {type(curves).__name__}")
        for n, cv in enumerate(curves or []):
            if not isinstance(cv, (tuple, list)) or len(cv) != 2:
                raise ValueError(f"curves[{n}] must be an (x, y) pair of arrays")
            for c in cv:
                check_array(c, f"curves[{n}]", ndim=1, allow_nonfinite=True)
        if path_params is not None and (not isinstance(path_params, (tuple, list)) or len(path_params) != 2):
            raise ValueError(f"path_params must be a pair of parameter names, got {path_params!r}")
        max_order = check_int(max_order, "max_order", minimum=1, allow_none=True)
        n_steps = check_int(n_steps, "n_steps", minimum=1, maximum=100_000)
        self.replay = replay
        self.analysis = analysis
        self.landscape = landscape
        self.curves = [tuple(np.asarray(c, float) for c in cv) for cv in (curves or [])]
        self.data = None if data is None else check_array(data, "data", ndim=(1, 2))
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
        return self.objects_at(self.index)

    def objects_at(self, i: int) -> Any:
        """The CycleSet at checkpoint ``i``: from the analysis, or searched on demand (cached)."""
        i = self.replay._check_index(i)
        if i in self._objects:
            return self._objects[i]
        if self.max_order is None:
            return None
        cs = self._search(i)
        self._objects[i] = cs
        return cs

    def known_objects(self, i: int) -> Any:
        """The CycleSet at checkpoint ``i`` if known already (analysis or an earlier search), else None."""
        return self._objects.get(int(i))

    def missing_checkpoints(self) -> list[int]:
        """Checkpoints whose objects are not known yet."""
        return [i for i in range(self.n_checkpoints) if i not in self._objects]

    def _search(self, i: int) -> Any:
        """Objects at checkpoint ``i``, continued from the nearest checkpoint searched before."""
        from rnnexplore.dynamics.continuation import continuation_step

        warm = None
        if self._objects:
            nearest = min(self._objects, key=lambda j: abs(j - i))
            warm = self._objects[nearest]
        return continuation_step(self.replay.model_at(i), warm, int(self.max_order), seed=i)

    def trajectory(self) -> np.ndarray:
        """Simulated orbit of the current model from the data's first state (or 0.1)."""
        return self.trajectory_at(self.index)

    def trajectory_at(self, i: int) -> np.ndarray:
        """Simulated orbit (``n_steps + 1``, M) of the model at checkpoint ``i``, NaN once diverged."""
        model = self.replay.model_at(i)
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
