"""Training replays: checkpoint files, loss-jump detection, and their alignment with bifurcations.

numpy only (no torch): a :class:`Replay` written by :func:`rnnexplore.dynamics.training.trainer.train` can be
loaded, scrubbed and analysed anywhere.

Loss-jump rule (:func:`detect_jumps`)
-------------------------------------
Work on ``y = log10(loss)``. The noise scale is the robust standard deviation of the
one-checkpoint differences, ``s = 1.4826 * MAD(diff(y))``. Checkpoint ``i`` is *flagged* when
its log loss exceeds the minimum of the ``window`` checkpoints before it by more than
``max(k * s, log10(min_factor))``, i.e. the loss rose by at least ``k`` robust noise units
*and* by at least the factor ``min_factor`` within ``window`` checkpoints. Every run of
consecutive flagged checkpoints is one jump, reported at its first checkpoint (the onset).
``direction="down"`` finds sudden drops the same way, ``"both"`` either. A smooth curve has
tiny differences but also no factor-``min_factor`` rise, so nothing is reported; slow drifts
are ignored because only ``window`` checkpoints are compared. Losses below
``rel_floor`` times the initial loss are raised to that floor first, so the relative
fluctuations of a run that has converged to (numerically) zero loss are not jumps.

Examples
--------
>>> import numpy as np
>>> loss = np.exp(-np.linspace(0, 3, 100))
>>> loss[60:] *= 20
>>> detect_jumps(loss).tolist()
[60]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_choice, check_int, check_mapping, check_real, check_seed, check_str
from rnnexplore.files import atomic_savez, json_text, load_npz, parse_json
from rnnexplore.dynamics.params import format_param_name, locate_param

__all__ = [
    "Replay",
    "Landscape",
    "ReplayAnalysis",
    "detect_jumps",
    "jump_sizes",
    "align_jumps",
    "analyse_replay",
]

_REPLAY_MAGIC = "rnnexplore-replay-v1"
_LANDSCAPE_MAGIC = "rnnexplore-landscape-v1"
_ANALYSIS_MAGIC = "rnnexplore-replay-analysis-v1"
_KINDS = {"plrnn": ("A", "W", "h"), "shplrnn": ("a", "W1", "W2", "h1", "h2")}


def _as_1d(x: Any, name: str, n: int | None = None, dtype: Any = np.float64, *,
           allow_nonfinite: bool = True) -> np.ndarray:
    arr = check_array(x, name, ndim=1, allow_nonfinite=allow_nonfinite and dtype != np.int64)
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"{name} must have length {n}, got {arr.shape[0]}")
    if dtype == np.int64:
        if np.any(arr != np.round(arr)) or np.any(np.abs(arr) > 2**53):
            raise ValueError(f"{name} must hold integers")
        return arr.astype(np.int64)
    return arr


def _read_info(arrays: dict, where: str) -> dict:
    info = parse_json(check_str(arrays["info"][()], f"{where}: info"), f"{where}: info")
    if not isinstance(info, dict):
        raise ValueError(f"{where}: info must be a JSON object, got {type(info).__name__}")
    return info


# --------------------------------------------------------------------------- Replay
@dataclass
class Replay:
    """Checkpoints of one training run (parameters, loss, gradient norm, alpha per checkpoint).

    Attributes
    ----------
    kind : {"plrnn", "shplrnn"}
    epochs : ndarray of int, shape (C,)
        Epoch of every checkpoint (0 = the initial model).
    params : dict of str -> ndarray of shape (C, ...)
        ``A, W, h`` (PLRNN; ``A`` as the diagonal vector) or ``a, W1, W2, h1, h2`` (shPLRNN).
    loss : ndarray (C,)
        Training objective (with the alpha in force) on fixed evaluation windows.
    free_loss : ndarray (C,)
        Free-running (alpha = 0) loss on the same windows.
    grad_norm : ndarray (C,)
        Norm of the training objective's gradient at the checkpoint.
    alpha : ndarray (C,)
        Forcing strength in force at the checkpoint.
    step_loss, step_grad_norm, step_alpha : ndarray (S,)
        Per optimiser step (minibatch loss, gradient norm before clipping, alpha).
    info : dict
        JSON-serialisable description of the run (hyper-parameters, seed).

    Examples
    --------
    >>> C = 3
    >>> rep = Replay("plrnn", np.arange(C), {"A": np.ones((C, 1)), "W": np.zeros((C, 1, 1)),
    ...              "h": np.ones((C, 1))}, np.ones(C), np.ones(C), np.ones(C), np.zeros(C))
    >>> rep.n_checkpoints, rep.param_series("A[0]").tolist()
    (3, [1.0, 1.0, 1.0])
    """

    kind: str
    epochs: np.ndarray
    params: dict[str, np.ndarray]
    loss: np.ndarray
    free_loss: np.ndarray
    grad_norm: np.ndarray
    alpha: np.ndarray
    step_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_grad_norm: np.ndarray = field(default_factory=lambda: np.zeros(0))
    step_alpha: np.ndarray = field(default_factory=lambda: np.zeros(0))
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", sorted(_KINDS))
        self.params = check_mapping(self.params, "params")
        self.info = check_mapping(self.info, "info")
        self.epochs = _as_1d(self.epochs, "epochs", dtype=np.int64)
        C = self.epochs.shape[0]
        if C < 1:
            raise ValueError("a replay needs at least one checkpoint")
        expected = _KINDS[self.kind]
        if sorted(self.params) != sorted(expected):
            raise ValueError(f"params of a {self.kind} replay must be {list(expected)}, got {list(self.params)}")
        self.params = {k: check_array(self.params[k], f"params[{k!r}]") for k in expected}
        for k, v in self.params.items():
            if v.ndim < 2 or v.shape[0] != C:
                raise ValueError(f"params[{k!r}] must have shape (n_checkpoints={C}, ...), got {v.shape}")
        for name in ("loss", "free_loss", "grad_norm", "alpha"):
            setattr(self, name, _as_1d(getattr(self, name), name, C))
        S = _as_1d(self.step_loss, "step_loss").shape[0]
        for name in ("step_loss", "step_grad_norm", "step_alpha"):
            setattr(self, name, _as_1d(getattr(self, name), name, S))

    # ----------------------------------------------------------------- access
    @property
    def n_checkpoints(self) -> int:
        """Number of checkpoints C."""
        return int(self.epochs.shape[0])

    def params_at(self, i: int) -> dict[str, np.ndarray]:
        """Parameter arrays of checkpoint ``i`` (copies)."""
        i = self._check_index(i)
        return {k: v[i].copy() for k, v in self.params.items()}

    def model_at(self, i: int) -> Any:
        """The numpy model (:mod:`rnnexplore.dynamics.models`) at checkpoint ``i``, ready for SCYFI."""
        p = self.params_at(i)
        from rnnexplore.dynamics import models

        if self.kind == "plrnn":
            return models.PLRNN(p["A"], p["W"], p["h"])
        return models.ShallowPLRNN(p["a"], p["W1"], p["W2"], p["h1"], p["h2"])

    def scalar_param_names(self, *, varying: bool = False) -> list[str]:
        """Names of every scalar parameter (``"A[0]"``, ``"W[0,1]"``, ...).

        With ``varying=True`` only those that change along the replay.

        Examples
        --------
        >>> C = 2
        >>> Replay("plrnn", np.arange(C), {"A": [[0.5], [0.6]], "W": np.zeros((C, 1, 1)),
        ...        "h": np.ones((C, 1))}, np.ones(C), np.ones(C), np.ones(C), np.zeros(C)
        ...        ).scalar_param_names(varying=True)
        ['A[0]']
        """
        names = []
        for key, arr in self.params.items():
            for idx in np.ndindex(*arr.shape[1:]):
                series = arr[(slice(None),) + idx]
                if not varying or np.ptp(series) > 0:
                    names.append(format_param_name(key, idx))
        return names

    def param_series(self, name: str) -> np.ndarray:
        """Values of one scalar parameter (``"A[0]"``, ``"W[1,0]"``) over the checkpoints."""
        key, idx = locate_param(name, {k: v.shape[1:] for k, v in self.params.items()})
        return self.params[key][(slice(None),) + idx].copy()

    def _check_index(self, i: int) -> int:
        i = int(i)
        if not -self.n_checkpoints <= i < self.n_checkpoints:
            raise ValueError(f"checkpoint index {i} out of range (0..{self.n_checkpoints - 1})")
        return i % self.n_checkpoints

    # ----------------------------------------------------------------- files
    def save(self, path: str | os.PathLike) -> None:
        """Write one ``.npz`` (atomic: temporary file renamed into place; no pickles)."""
        arrays = {
            "magic": np.array(_REPLAY_MAGIC),
            "kind": np.array(self.kind),
            "info": np.array(json_text(self.info, "replay info")),
        }
        for name in ("epochs", "loss", "free_loss", "grad_norm", "alpha", "step_loss", "step_grad_norm", "step_alpha"):
            arrays[name] = getattr(self, name)
        for k, v in self.params.items():
            arrays["param_" + k] = v
        atomic_savez(path, arrays, "replay")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Replay":
        """Read a replay file; truncated, foreign or pickle-bearing files raise ``ValueError``.

        Examples
        --------
        >>> Replay.load("/nonexistent.npz")
        Traceback (most recent call last):
        ...
        ValueError: replay file '/nonexistent.npz' does not exist
        """
        arrays = load_npz(path, ["kind", "info", "epochs"], "replay", _REPLAY_MAGIC)
        where = f"replay file {os.fspath(path)!r}"
        kind = str(arrays["kind"])
        if kind not in _KINDS:
            raise ValueError(f"{where}: unknown model kind {kind!r}")
        missing = [k for k in ["loss", "free_loss", "grad_norm", "alpha", "step_loss", "step_grad_norm",
                               "step_alpha"] + ["param_" + p for p in _KINDS[kind]] if k not in arrays]
        if missing:
            raise ValueError(f"{where}: missing arrays {missing}")
        try:
            info = _read_info(arrays, where)
            return cls(
                kind=kind,
                epochs=arrays["epochs"],
                params={k: arrays["param_" + k] for k in _KINDS[kind]},
                loss=arrays["loss"],
                free_loss=arrays["free_loss"],
                grad_norm=arrays["grad_norm"],
                alpha=arrays["alpha"],
                step_loss=arrays["step_loss"],
                step_grad_norm=arrays["step_grad_norm"],
                step_alpha=arrays["step_alpha"],
                info=info,
            )
        except ValueError as exc:
            raise ValueError(f"{where} is not a valid replay file: {exc}") from None


# --------------------------------------------------------------------------- Landscape
@dataclass
class Landscape:
    """Loss and gradient norm over a grid of two parameters (see :func:`rnnexplore.dynamics.training.landscape.loss_landscape`).

    Attributes
    ----------
    x_param, y_param : str
        Parameter names (``"A[0]"``, ...).
    x_values, y_values : ndarray
        Grid axes (absolute parameter values).
    loss, grad_norm : ndarray of shape (len(y_values), len(x_values))
    info : dict
        ``alpha``, ``seq_len``, ...
    """

    x_param: str
    y_param: str
    x_values: np.ndarray
    y_values: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.x_param = check_str(self.x_param, "x_param")
        self.y_param = check_str(self.y_param, "y_param")
        self.info = check_mapping(self.info, "info")
        self.x_values = _as_1d(self.x_values, "x_values", allow_nonfinite=False)
        self.y_values = _as_1d(self.y_values, "y_values", allow_nonfinite=False)
        shape = (self.y_values.size, self.x_values.size)
        for name in ("loss", "grad_norm"):
            arr = check_array(getattr(self, name), name, allow_nonfinite=True)
            if arr.shape != shape:
                raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
            setattr(self, name, arr)

    def save(self, path: str | os.PathLike) -> None:
        """Write one ``.npz`` atomically."""
        atomic_savez(
            path,
            {
                "magic": np.array(_LANDSCAPE_MAGIC),
                "x_param": np.array(self.x_param),
                "y_param": np.array(self.y_param),
                "x_values": self.x_values,
                "y_values": self.y_values,
                "loss": self.loss,
                "grad_norm": self.grad_norm,
                "info": np.array(json_text(self.info, "landscape info")),
            },
            "landscape",
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Landscape":
        """Read a file written by :meth:`save` (``ValueError`` on anything else)."""
        keys = ["x_param", "y_param", "x_values", "y_values", "loss", "grad_norm", "info"]
        a = load_npz(path, keys, "landscape", _LANDSCAPE_MAGIC)
        where = f"landscape file {os.fspath(path)!r}"
        try:
            return cls(
                check_str(a["x_param"][()], "x_param"), check_str(a["y_param"][()], "y_param"), a["x_values"],
                a["y_values"], a["loss"], a["grad_norm"], _read_info(a, where),
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- jumps
def _log_loss(loss: Any, rel_floor: float = 0.0) -> np.ndarray:
    arr = _as_1d(loss, "loss")
    if np.any(np.isnan(arr)):
        raise ValueError("loss contains NaN")
    if np.any(arr <= 0):
        raise ValueError("loss must be positive (it is compared on a log scale)")
    if not 0.0 <= rel_floor < 1.0:
        raise ValueError(f"rel_floor must lie in [0, 1), got {rel_floor}")
    arr = np.minimum(arr, 1e300)
    if rel_floor > 0 and arr.size:
        arr = np.maximum(arr, rel_floor * arr[0])
    return np.log10(arr)


def _flag_runs(flags: np.ndarray) -> np.ndarray:
    starts = np.flatnonzero(flags & ~np.concatenate([[False], flags[:-1]]))
    return starts.astype(np.int64)


def detect_jumps(
    loss: Any,
    *,
    window: int = 3,
    k: float = 6.0,
    min_factor: float = 3.0,
    direction: str = "up",
    rel_floor: float = 1e-6,
) -> np.ndarray:
    """Indices where the loss jumps (see the module docstring for the rule).

    Parameters
    ----------
    loss : 1-D array_like of positive numbers
        Loss per checkpoint (inf allowed: it counts as a huge value).
    window : int
        Checkpoints before ``i`` against which ``loss[i]`` is compared.
    k : float
        Robust noise units (MADs of the differenced log10 loss) a jump must exceed.
    min_factor : float
        Minimum multiplicative change a jump must reach (> 1).
    direction : {"up", "down", "both"}
    rel_floor : float
        Losses below ``rel_floor * loss[0]`` count as that floor.

    Returns
    -------
    ndarray of int
        Onset index of every jump, ascending.

    Examples
    --------
    >>> detect_jumps(np.linspace(1, 0.1, 50)).tolist()
    []
    """
    rel_floor = check_real(rel_floor, "rel_floor", minimum=0.0)
    y = _log_loss(loss, rel_floor)
    window = check_int(window, "window", minimum=1)
    k = check_real(k, "k", minimum=0.0)
    min_factor = check_real(min_factor, "min_factor", minimum=1.0, exclusive_minimum=True)
    check_choice(direction, "direction", ("up", "down", "both"))
    n = y.size
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    d = np.diff(y)
    s = 1.4826 * float(np.median(np.abs(d - np.median(d))))
    thr = max(float(k) * s, float(np.log10(min_factor)))
    rise = np.full(n, -np.inf)
    fall = np.full(n, -np.inf)
    for i in range(1, n):
        prev = y[max(0, i - int(window)) : i]
        rise[i] = y[i] - prev.min()
        fall[i] = prev.max() - y[i]
    out = []
    if direction in ("up", "both"):
        out.append(_flag_runs(rise > thr))
    if direction in ("down", "both"):
        out.append(_flag_runs(fall > thr))
    return np.unique(np.concatenate(out)).astype(np.int64)


def jump_sizes(loss: Any, indices: Any, *, window: int = 3, rel_floor: float = 1e-6) -> np.ndarray:
    """log10 factor of every jump: ``max(y[i:i+window]) - min(y[i-window:i])`` with ``y = log10 loss``.

    Examples
    --------
    >>> loss = np.ones(20); loss[10:] = 100.0
    >>> jump_sizes(loss, [10]).tolist()
    [2.0]
    """
    y = _log_loss(loss, rel_floor)
    idx = np.asarray(indices, dtype=np.int64).ravel()
    out = np.empty(idx.size)
    for j, i in enumerate(idx):
        if not 1 <= i < y.size:
            raise ValueError(f"jump index {i} out of range 1..{y.size - 1}")
        out[j] = y[i : i + int(window)].max() - y[max(0, i - int(window)) : i].min()
    return out


def align_jumps(jumps: Any, event_checkpoints: Any, *, window: int = 3) -> list[tuple[int, list[int]]]:
    """Pair every jump with the event checkpoints within ``window`` checkpoints of it.

    An event at checkpoint ``e`` happened between checkpoints ``e-1`` and ``e``.

    Returns
    -------
    list of (jump_index, [event checkpoints sorted by distance])

    Examples
    --------
    >>> align_jumps([10, 40], [9, 12, 25])
    [(10, [9, 12]), (40, [])]
    """
    ev = np.unique(np.asarray(event_checkpoints, dtype=np.int64).ravel())
    out = []
    for j in np.asarray(jumps, dtype=np.int64).ravel():
        near = ev[np.abs(ev - j) <= int(window)]
        order = np.argsort(np.abs(near - j), kind="stable")
        out.append((int(j), [int(e) for e in near[order]]))
    return out


# --------------------------------------------------------------------------- analysis
def _event_field(ev: Any, name: str, default: Any) -> Any:
    if isinstance(ev, dict):
        return ev.get(name, default)
    return getattr(ev, name, default)


@dataclass
class ReplayAnalysis:
    """SCYFI objects at every checkpoint and the events between consecutive checkpoints.

    Attributes
    ----------
    max_order : int
    n_objects, n_stable : ndarray of int, shape (C,)
        Cycles found (orders 1..max_order) and how many of them are stable.
    event_checkpoint : ndarray of int, shape (E,)
        For every event, the checkpoint ``i`` such that it happened between ``i-1`` and ``i``.
    event_kind : ndarray of str, shape (E,)
    event_order : ndarray of int, shape (E,)
        Order of the object concerned (-1 if unknown).
    jumps : ndarray of int
        Loss-jump onsets (:func:`detect_jumps` on the replay's loss).
    cycle_sets : list
        The :class:`~rnnexplore.dynamics.cycles.CycleSet` of every checkpoint (not saved to file).
    events : list of list
        The raw event objects per transition (``events[i]``: between ``i`` and ``i+1``; not saved).
    """

    max_order: int
    n_objects: np.ndarray
    n_stable: np.ndarray
    event_checkpoint: np.ndarray
    event_kind: np.ndarray
    event_order: np.ndarray
    jumps: np.ndarray
    cycle_sets: list = field(default_factory=list, repr=False)
    events: list = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        mo = self.max_order
        self.max_order = check_int(mo[()] if isinstance(mo, np.ndarray) and mo.shape == () else mo, "max_order",
                                   minimum=1)
        self.n_objects = _as_1d(self.n_objects, "n_objects", dtype=np.int64)
        self.n_stable = _as_1d(self.n_stable, "n_stable", self.n_objects.shape[0], dtype=np.int64)
        self.event_checkpoint = _as_1d(self.event_checkpoint, "event_checkpoint", dtype=np.int64)
        E = self.event_checkpoint.shape[0]
        kinds = np.asarray(self.event_kind)
        if kinds.shape != (E,) or (E and kinds.dtype.kind != "U"):
            raise ValueError(f"event_kind must be {E} strings, got {kinds.dtype} of shape {kinds.shape}")
        self.event_kind = kinds.astype(str)
        self.event_order = _as_1d(self.event_order, "event_order", E, dtype=np.int64)
        self.jumps = _as_1d(self.jumps, "jumps", dtype=np.int64)
        if np.any(self.n_objects < 0) or np.any(self.n_stable < 0) or np.any(self.n_stable > self.n_objects):
            raise ValueError("n_stable and n_objects must satisfy 0 <= n_stable <= n_objects")
        if np.any(self.event_checkpoint < 0) or np.any(self.jumps < 0):
            raise ValueError("event_checkpoint and jumps must be checkpoint indices (>= 0)")
        if np.any((self.event_order != -1) & (self.event_order < 1)):
            raise ValueError("event_order must be -1 (unknown) or an order >= 1")
        if not isinstance(self.cycle_sets, list) or not isinstance(self.events, list):
            raise ValueError("cycle_sets and events must be lists")

    def event_checkpoints(self, kinds: Sequence[str] | None = None) -> np.ndarray:
        """Sorted unique checkpoints with at least one event (of the given kinds)."""
        mask = np.ones(self.event_kind.shape, bool) if kinds is None else np.isin(self.event_kind, list(kinds))
        return np.unique(self.event_checkpoint[mask])

    def alignment(self, *, window: int = 3, kinds: Sequence[str] | None = None) -> list[tuple[int, list[int]]]:
        """:func:`align_jumps` of this analysis' jumps and events."""
        return align_jumps(self.jumps, self.event_checkpoints(kinds), window=window)

    def kinds_at(self, checkpoint: int) -> list[str]:
        """Event kinds recorded at one checkpoint."""
        return [str(k) for k in self.event_kind[self.event_checkpoint == int(checkpoint)]]

    def save(self, path: str | os.PathLike) -> None:
        """Write the summary arrays (not the cycle sets) atomically to ``.npz``."""
        atomic_savez(
            path,
            {
                "magic": np.array(_ANALYSIS_MAGIC),
                "max_order": np.array(self.max_order),
                "n_objects": self.n_objects,
                "n_stable": self.n_stable,
                "event_checkpoint": self.event_checkpoint,
                "event_kind": self.event_kind.astype(str),
                "event_order": self.event_order,
                "jumps": self.jumps,
            },
            "replay analysis",
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ReplayAnalysis":
        """Read a file written by :meth:`save`."""
        keys = ["max_order", "n_objects", "n_stable", "event_checkpoint", "event_kind", "event_order", "jumps"]
        a = load_npz(path, keys, "replay analysis", _ANALYSIS_MAGIC)
        try:
            return cls(*(a[k] for k in keys))
        except ValueError as exc:
            raise ValueError(f"replay analysis file {os.fspath(path)!r}: {exc}") from None


def _full_search_work(item: dict) -> list:
    """Top-level work function: independent full searches at some checkpoints (plain data in)."""
    from rnnexplore.dynamics.cycles import find_cycles

    replay, seed = item["replay"], item["seed"]
    return [find_cycles(replay.model_at(i), item["max_order"], seed=None if seed is None else int(seed) + int(i),
                        **item["find_kwargs"]) for i in item["indices"]]


def _full_searches(replay, idx, max_order, seed, find_kwargs, executor, progress) -> list:
    """``find_cycles`` at the checkpoints ``idx`` (checkpoint i uses ``seed + i``)."""
    item = {"replay": replay, "max_order": int(max_order), "seed": seed, "find_kwargs": find_kwargs}
    if executor is None:
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(idx), desc=progress if isinstance(progress, str) else "SCYFI per checkpoint")
        out = []
        try:
            for i in idx:
                out.extend(_full_search_work({**item, "indices": [i]}))
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()
        return out
    from rnnexplore.parallel import n_workers, parallel_map

    n_blocks = max(1, min(len(idx), 4 * n_workers(executor)))
    bounds = np.linspace(0, len(idx), n_blocks + 1).astype(int)
    items = [{**item, "indices": idx[a:b]} for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    return [cs for part in parallel_map(_full_search_work, items, executor=executor, chunksize=1,
                                        progress=progress) for cs in part]


def _continued_sets(replay, idx, max_order, seed, full_every, options, find_kwargs, executor, progress) -> list:
    """Objects at every checkpoint from the batched continuation along the replay.

    Full searches at every ``full_every``-th analysed checkpoint (and the last); every object
    found anywhere is continued to all checkpoints where it persists, in both directions, and
    what changed is searched where a continued object turns virtual
    (:class:`~rnnexplore.dynamics.continuation.Continuation` on the chain of checkpoints).
    """
    from rnnexplore.dynamics.continuation import Continuation, ContinuationOptions
    from rnnexplore.dynamics.solve import ModelStack

    opt = options if options is not None else ContinuationOptions()
    stack = ModelStack.from_models([replay.model_at(i) for i in idx])
    eng = Continuation(stack, (len(idx),), max_order, opt, point_seeds=np.asarray(idx))
    coarse = sorted(set(range(0, len(idx), full_every)) | {len(idx) - 1})
    sets = _full_searches(replay, [idx[n] for n in coarse], max_order, seed, find_kwargs, executor, progress)
    for n, cs in zip(coarse, sets):
        eng.full[n] = True
        eng.full_solves[n] = int(cs.stats["total_solves"])
        eng.add_cycles(n, list(cs))
    eng.probe(0 if seed is None else int(seed))
    eng.run()
    out = eng.all_cycles()
    for n, cs in enumerate(out):
        cs.stats["continued"] = not eng.full[n]
        cs.stats["total_solves"] = int(eng.solves[n])
    return out


def analyse_replay(
    replay: Replay,
    max_order: int,
    *,
    warm: bool = True,
    full_every: int = 100,
    options: Any = None,
    seed: int | None = 0,
    checkpoints: Sequence[int] | None = None,
    jump_kwargs: dict | None = None,
    executor: Any = None,
    progress: bool | str = False,
    **find_kwargs: Any,
) -> ReplayAnalysis:
    """Run SCYFI along a replay, classify the events between neighbours, find the loss jumps.

    Warm mode (default) exploits that consecutive checkpoints are close, with no lag: a full
    :func:`~rnnexplore.dynamics.cycles.find_cycles` search runs at every ``full_every``-th
    checkpoint (and the last); every object found at any checkpoint is then *continued*
    (its region sequence re-solved exactly) to every checkpoint where it persists, backwards
    as well as forwards, in one batched solve per step along the replay; where a continued
    object turns virtual, the regions its virtual orbit visits and its bit flips are tried
    (border collisions create the new objects there), and probe orbits at every checkpoint
    catch attractors born away from the known objects
    (:class:`~rnnexplore.dynamics.continuation.Continuation`). ``warm=False`` runs an
    independent cold search at every checkpoint (the baseline).

    Parameters
    ----------
    replay : Replay
    max_order : int
        Highest cycle order searched (>= 1).
    warm : bool
    full_every : int
        Checkpoints between full searches in warm mode (>= 1; 1 = a full search everywhere).
    options : ContinuationOptions or dict, optional
        Continuation knobs (chain length, bit flips, probe orbits).
    seed : int, optional
        Checkpoint ``i`` uses ``seed + i`` for its full search.
    checkpoints : sequence of int, optional
        Analyse only these checkpoints (ascending); default all.
    jump_kwargs : dict, optional
        Passed to :func:`detect_jumps` (default: ``direction="both"``).
    executor : concurrent.futures.Executor, optional
        Runs the full searches in parallel (:func:`rnnexplore.parallel.parallel_map`); the
        result does not depend on it.
    progress : bool or str
        ``tqdm.auto`` progress bar over the full searches.
    **find_kwargs
        Passed to :func:`rnnexplore.dynamics.cycles.find_cycles` (``budget``, ``mode``, ...).

    Returns
    -------
    ReplayAnalysis

    Examples
    --------
    >>> res = analyse_replay(replay, 16)                       # doctest: +SKIP
    >>> res.alignment(window=3)                                # doctest: +SKIP
    [(27, [24]), (43, [44])]
    """
    from rnnexplore.dynamics.continuation import ContinuationOptions

    if not isinstance(replay, Replay):
        raise ValueError("replay must be a Replay")
    max_order = check_int(max_order, "max_order", minimum=1)
    full_every = check_int(full_every, "full_every", minimum=1)
    check_mapping(find_kwargs, "find_cycles options", optional=("mode", "budget"))
    if jump_kwargs is not None:
        check_mapping(jump_kwargs, "jump_kwargs", optional=("window", "k", "min_factor", "direction", "rel_floor"))
    seed = check_seed(seed)
    opt = None if options is None else ContinuationOptions.coerce(options)
    idx = _checked_checkpoints(replay, checkpoints)
    if warm:
        sets = _continued_sets(replay, idx, max_order, seed, full_every, opt, find_kwargs, executor, progress)
    else:
        sets = _full_searches(replay, idx, max_order, seed, find_kwargs, executor, progress)
    return _analysis(replay, idx, max_order, sets, jump_kwargs)


def _checked_checkpoints(replay: Replay, checkpoints: Sequence[int] | None) -> list[int]:
    """The checkpoint indices of :func:`analyse_replay` (default all; non-empty, ascending)."""
    if checkpoints is not None and (isinstance(checkpoints, (str, bytes)) or not isinstance(checkpoints, Sequence)):
        raise ValueError(f"checkpoints must be a list of checkpoint indices, got {type(checkpoints).__name__}")
    idx = (list(range(replay.n_checkpoints)) if checkpoints is None
           else [replay._check_index(check_int(i, "checkpoints entry")) for i in checkpoints])
    if not idx or any(b <= a for a, b in zip(idx, idx[1:])):
        raise ValueError("checkpoints must be non-empty and strictly ascending")
    return idx


def _analysis(replay, idx, max_order, sets, jump_kwargs) -> ReplayAnalysis:
    """Events between consecutive checkpoints with different object sets, jumps, counts."""
    from rnnexplore.dynamics.events import classify_events

    events, ev_ck, ev_kind, ev_order = [], [], [], []
    for j in range(1, len(sets)):
        if {(c.key, c.n_stable) for c in sets[j - 1]} == {(c.key, c.n_stable) for c in sets[j]}:
            events.append([])  # same keys and stability signatures: no event
            continue
        models = (replay.model_at(idx[j - 1]), replay.model_at(idx[j]))
        evs = list(classify_events(sets[j - 1], sets[j], models=models))
        events.append(evs)
        for ev in evs:
            ev_ck.append(idx[j])
            ev_kind.append(str(_event_field(ev, "kind", "unknown")))
            order = _event_field(ev, "order", -1)
            ev_order.append(int(order) if order is not None else -1)
    n_obj = np.array([len(cs) for cs in sets], dtype=np.int64)
    n_stable = np.array([sum(1 for c in cs if _is_stable(c)) for cs in sets], dtype=np.int64)
    jumps_local = detect_jumps(replay.loss[idx], **({"direction": "both"} | (jump_kwargs or {})))
    return ReplayAnalysis(
        max_order=int(max_order),
        n_objects=n_obj,
        n_stable=n_stable,
        event_checkpoint=np.asarray(ev_ck, dtype=np.int64),
        event_kind=np.asarray(ev_kind, dtype=str) if ev_kind else np.zeros(0, dtype="<U1"),
        event_order=np.asarray(ev_order, dtype=np.int64),
        jumps=np.asarray([idx[j] for j in jumps_local], dtype=np.int64),
        cycle_sets=sets,
        events=events,
    )


def _is_stable(cycle: Any) -> bool:
    stab = getattr(cycle, "stability", None)
    if isinstance(stab, str):
        return stab == "stable"
    return bool(getattr(cycle, "max_abs_eigenvalue", np.inf) < 1)
