"""Training PLRNNs and shallow PLRNNs in PyTorch (float64): BPTT and generalized teacher forcing.

Everything this module produces is numpy: a :class:`~rnnexplore.dynamics.training.replay.Replay`
of checkpoints. The models and the forced recursion are in
:mod:`rnnexplore.dynamics.training.torch_models`.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.training.torch_models import TorchPLRNN
>>> x = np.sin(0.3 * np.arange(300))[:, None] * np.ones((1, 2))
>>> model = TorchPLRNN(2, seed=0)
>>> rep = train(model, x, epochs=3, seq_len=20, batch_size=4, progress=False)
>>> len(rep.epochs)
4
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import torch

from rnnexplore._validation import (
    check_callable,
    check_choice,
    check_executor,
    check_int,
    check_memory,
    check_real,
    check_seed,
)
from rnnexplore.dynamics.training.data import MAX_STEPS
from rnnexplore.dynamics.training.replay import Replay
from rnnexplore.parallel import progress_bar
from rnnexplore.dynamics.training.torch_models import (
    DTYPE,
    AdaptiveAlpha,
    TorchModel,
    TorchPLRNN,
    TorchShallowPLRNN,
    data_windows,
    estimate_alpha,
    forced_rollout,
    gtf_loss,
    torch_generator,
    trajectory_array,
)


__all__ = [
    "TrainConfig",
    "train",
    "train_runs",
]


# --------------------------------------------------------------------------- training
_OPTIMISERS = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD, "rmsprop": torch.optim.RMSprop}


def _grad_norm(params: Sequence[torch.Tensor]) -> float:
    sq = 0.0
    for p in params:
        if p.grad is not None:
            sq += float(torch.sum(p.grad.detach() ** 2))
    return math.sqrt(sq)


@dataclass(frozen=True)
class TrainConfig:
    """The options of one training run; every field is also a keyword of :func:`train`.

    Attributes
    ----------
    alpha : float in [0, 1] or "adaptive"
        Forcing strength of generalized teacher forcing (0: BPTT); ``"adaptive"`` follows
        :class:`~rnnexplore.dynamics.training.torch_models.AdaptiveAlpha`.
    epochs : int
        Number of epochs; one epoch is ``batches_per_epoch`` optimiser steps.
    seq_len : int
        Length of the training windows (``2 <= seq_len <= T``).
    batch_size : int
        Windows per batch, drawn uniformly from the training trajectory.
    batches_per_epoch : int
    lr : float
        Learning rate.
    optimizer : {"adam", "sgd", "rmsprop"}
    trainable : sequence of str, optional
        Names of the parameters to train (e.g. ``("A",)``); the others stay fixed.
        Default: all.
    grad_clip : float, optional
        Clip the gradient norm (the logged norm is the one before clipping).
    record_every : int
        Epochs between checkpoints (checkpoint 0 is the initial model; the last epoch is
        always recorded).
    n_eval : int
        Fixed evaluation windows (drawn once from ``seed``) on which every checkpoint's
        ``loss`` (training objective with the current alpha), ``free_loss`` (alpha = 0) and
        ``grad_norm`` are computed, so checkpoint curves carry no minibatch noise.
    alpha_every : int
        Batches between adaptive-alpha updates.
    alpha_init : float
        Starting alpha of the adaptive schedule.
    seed : int, optional
        Seeds window sampling (and nothing else: initial weights come from the model).

    Examples
    --------
    >>> TrainConfig(epochs=10).replace(alpha="adaptive").adaptive
    True
    """

    alpha: float | str = 0.0
    epochs: int = 100
    seq_len: int = 50
    batch_size: int = 16
    batches_per_epoch: int = 1
    lr: float = 1e-3
    optimizer: str = "adam"
    trainable: Sequence[str] | None = None
    grad_clip: float | None = None
    record_every: int = 1
    n_eval: int = 16
    alpha_every: int = 5
    alpha_init: float = 0.0
    seed: int | None = 0

    @property
    def adaptive(self) -> bool:
        """Whether alpha follows the adaptive schedule."""
        return isinstance(self.alpha, str)

    def replace(self, **options: Any) -> "TrainConfig":
        """A copy with some options changed; ValueError naming unknown options."""
        unknown = sorted(set(options) - {f.name for f in fields(self)})
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; options are {[f.name for f in fields(self)]}")
        return dataclasses.replace(self, **options)

    def check(self, T: int, M: int = 1) -> None:
        """ValueError naming the first option that is invalid for a training length ``T`` (``M`` units)."""
        if self.adaptive:
            check_choice(self.alpha, "alpha", ("adaptive",))
        else:
            check_real(self.alpha, "alpha (a number in [0, 1] or 'adaptive')", minimum=0.0, maximum=1.0)
        for name in ("epochs", "batch_size", "batches_per_epoch", "record_every", "n_eval", "alpha_every"):
            check_int(getattr(self, name), name, minimum=1, maximum=MAX_STEPS)
        if self.epochs * self.batches_per_epoch > MAX_STEPS:
            raise ValueError(f"epochs * batches_per_epoch must be <= {MAX_STEPS} optimiser steps, "
                             f"got {self.epochs * self.batches_per_epoch}")
        check_int(self.seq_len, "seq_len (at most the training length)", minimum=2, maximum=T)
        check_memory((max(self.batch_size, self.n_eval), self.seq_len, M, 4), "batch_size / n_eval * seq_len")
        check_real(self.lr, "lr", minimum=0.0, exclusive_minimum=True)
        check_real(self.grad_clip, "grad_clip", minimum=0.0, exclusive_minimum=True, allow_none=True)
        check_real(self.alpha_init, "alpha_init", minimum=0.0, maximum=1.0)
        check_choice(self.optimizer, "optimizer", sorted(_OPTIMISERS))
        check_seed(self.seed)
        if self.trainable is not None and (isinstance(self.trainable, str)
                                           or not isinstance(self.trainable, Sequence)):
            raise ValueError(f"trainable must be a list of parameter names, got {self.trainable!r}")

    def info(self, trainable: list[str], n_obs: int) -> dict[str, Any]:
        """The ``Replay.info`` record of a run with these options."""
        return {
            "alpha": self.alpha if self.adaptive else float(self.alpha),
            "seq_len": int(self.seq_len),
            "batch_size": int(self.batch_size),
            "batches_per_epoch": int(self.batches_per_epoch),
            "lr": float(self.lr),
            "optimizer": self.optimizer,
            "trainable": trainable,
            "seed": self.seed,
            "record_every": int(self.record_every),
            "grad_clip": self.grad_clip,
            "n_obs": int(n_obs),
        }


def _select_trainables(model: TorchModel, trainable: Sequence[str] | None) -> list[str]:
    """Names of the parameters to train (the others get ``requires_grad=False``)."""
    named = model.named_trainables()
    names = list(named) if trainable is None else list(trainable)
    unknown = [n for n in names if n not in named]
    if unknown or not names:
        raise ValueError(f"trainable must name some of {list(named)}, got {trainable!r}")
    for key, p in named.items():
        p.requires_grad_(key in names)
    return names


class _Run:
    """One training run: optimiser, window sampling, alpha schedule, checkpoint and step records."""

    def __init__(self, model: TorchModel, x_np: np.ndarray, config: TrainConfig,
                 callback: Callable[[dict], Any] | None) -> None:
        self.model, self.config, self.callback = model, config, callback
        self.names = _select_trainables(model, config.trainable)
        named = model.named_trainables()
        self.params = [named[n] for n in self.names]
        self.opt = _OPTIMISERS[config.optimizer](self.params, lr=config.lr)
        self.gen = torch_generator(config.seed)
        self.x = torch.tensor(x_np, dtype=DTYPE)
        self.eval_x = self.windows(int(config.n_eval))
        self.schedule = AdaptiveAlpha(config.alpha_init) if config.adaptive else None
        self.alpha = self.schedule.alpha if config.adaptive else float(config.alpha)
        self.batch_count = 0
        self.rec: dict[str, list] = {k: [] for k in ("epochs", "loss", "free_loss", "grad_norm", "alpha")}
        self.rec_params: dict[str, list] = {k: [] for k in model.numpy_params()}
        self.steps: dict[str, list] = {"loss": [], "grad_norm": [], "alpha": []}

    def windows(self, n: int) -> torch.Tensor:
        """``n`` training windows with uniformly drawn starts."""
        seq_len = int(self.config.seq_len)
        starts = torch.randint(0, self.x.shape[0] - seq_len + 1, (n,), generator=self.gen)
        return data_windows(self.x, starts, seq_len)

    def checkpoint(self, epoch: int) -> bool:
        """Record the model on the evaluation windows; True when the callback asks to stop."""
        self.opt.zero_grad(set_to_none=True)
        loss = gtf_loss(self.model, self.eval_x, self.alpha)
        loss.backward()
        gnorm = _grad_norm(self.params)
        self.opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            free = float(gtf_loss(self.model, self.eval_x, 0.0)) if self.alpha != 0.0 else float(loss.detach())
        snapshot = self.model.numpy_params()
        row = {"epoch": epoch, "loss": float(loss.detach()), "free_loss": free, "grad_norm": gnorm,
               "alpha": self.alpha}
        self.rec["epochs"].append(epoch)
        for k in ("loss", "free_loss", "grad_norm", "alpha"):
            self.rec[k].append(row[k])
        for k, v in snapshot.items():
            self.rec_params[k].append(v)
        if self.callback is None:
            return False
        return bool(self.callback({**row, "params": snapshot, "model": self.model}))

    def step(self) -> None:
        """One optimiser step on a fresh batch (adaptive alpha updated every ``alpha_every`` batches)."""
        xb = self.windows(int(self.config.batch_size))
        self.opt.zero_grad(set_to_none=True)
        if self.schedule is not None and self.batch_count % int(self.config.alpha_every) == 0:
            with torch.no_grad():
                _, forced = forced_rollout(self.model.step, xb, self.alpha, self.model.M, return_forced=True)
            self.alpha = self.schedule.update(estimate_alpha(self.model, forced))
        loss = gtf_loss(self.model, xb, self.alpha)
        loss.backward()
        gnorm = _grad_norm(self.params)
        if self.config.grad_clip is not None:
            torch.nn.utils.clip_grad_norm_(self.params, float(self.config.grad_clip))
        if math.isfinite(float(loss.detach())) and math.isfinite(gnorm):
            self.opt.step()
        self.steps["loss"].append(float(loss.detach()))
        self.steps["grad_norm"].append(gnorm)
        self.steps["alpha"].append(self.alpha)
        self.batch_count += 1

    def run(self, bar: Any) -> None:
        """Checkpoint 0, then epochs until done or the callback stops."""
        epochs, every = int(self.config.epochs), int(self.config.record_every)
        stop = self.checkpoint(0)
        epoch = 0
        while not stop and epoch < epochs:
            epoch += 1
            for _ in range(int(self.config.batches_per_epoch)):
                self.step()
            if epoch % every == 0 or epoch == epochs:
                stop = self.checkpoint(epoch)
            bar.update(1)
            bar.set_postfix(loss=f"{self.steps['loss'][-1]:.3g}", alpha=f"{self.alpha:.3f}", refresh=False)

    def replay(self, n_obs: int) -> Replay:
        """The records as a :class:`Replay`."""
        info = self.config.info(self.names, n_obs)
        if isinstance(self.model, TorchPLRNN):
            info["offdiag_W"] = self.model.offdiag_W
        steps = {f"step_{k}": np.asarray(v) for k, v in self.steps.items()}
        return Replay(
            kind=self.model.kind,
            epochs=np.asarray(self.rec["epochs"], dtype=np.int64),
            params={k: np.stack(v) for k, v in self.rec_params.items()},
            loss=np.asarray(self.rec["loss"]),
            free_loss=np.asarray(self.rec["free_loss"]),
            grad_norm=np.asarray(self.rec["grad_norm"]),
            alpha=np.asarray(self.rec["alpha"]),
            **steps,
            info=info,
        )


def train(
    model: TorchModel,
    data: Any,
    config: TrainConfig | None = None,
    *,
    progress: bool | str = True,
    callback: Callable[[dict], Any] | None = None,
    **options: Any,
) -> Replay:
    """Train ``model`` in place with BPTT (``alpha=0``), fixed-alpha GTF or adaptive GTF.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
        Trained in place; its ``M`` must be >= the number of data columns (identity
        observation: the data are the first ``N`` latent units).
    data : TrajectoryData or array_like of shape (T, N)
        Training trajectory (``data.train`` for a :class:`~rnnexplore.dynamics.training.data.TrajectoryData`).
    config : TrainConfig, optional
        The run's options (default ``TrainConfig()``).
    progress : bool or str
        ``tqdm.auto`` progress bar over epochs.
    callback : callable, optional
        Called at every checkpoint with a dict ``{"epoch", "loss", "free_loss",
        "grad_norm", "alpha", "params", "model"}``; returning ``True`` stops training.
    **options
        Fields of :class:`TrainConfig` (``alpha``, ``epochs``, ``seq_len``, ``batch_size``,
        ``batches_per_epoch``, ``lr``, ``optimizer``, ``trainable``, ``grad_clip``,
        ``record_every``, ``n_eval``, ``alpha_every``, ``alpha_init``, ``seed``) overriding
        ``config``.

    Returns
    -------
    Replay
        Checkpoints plus per-step ``step_loss``, ``step_grad_norm`` and ``step_alpha``.

    Examples
    --------
    >>> x = np.cos(0.2 * np.arange(200))[:, None]
    >>> m = TorchPLRNN(2, seed=1)
    >>> rep = train(m, x, alpha="adaptive", epochs=4, seq_len=25, batch_size=8,
    ...             record_every=2, progress=False)
    >>> rep.epochs.tolist()
    [0, 2, 4]
    """
    config = (TrainConfig() if config is None else config).replace(**options)
    x_np = trajectory_array(data)
    T, N = x_np.shape
    if not isinstance(model, (TorchPLRNN, TorchShallowPLRNN)):
        raise ValueError("model must be a TorchPLRNN or TorchShallowPLRNN")
    if N > model.M:
        raise ValueError(f"data has {N} columns but the model only {model.M} latent units")
    config.check(T, model.M)
    check_callable(callback, "callback")
    try:
        run = _Run(model, x_np, config, callback)
        with progress_bar(progress, int(config.epochs), "training") as bar:
            run.run(bar)
    finally:
        for p in model.named_trainables().values():
            p.requires_grad_(True)
    return run.replay(N)


# --------------------------------------------------------------------------- many runs
def _train_run_work(item: dict) -> Replay:
    """Top-level work function of :func:`train_runs` (plain data in, a Replay out)."""
    torch.set_num_threads(1)
    spec = dict(item)
    kind = spec.pop("kind")
    init = spec.pop("init")
    x = spec.pop("x")
    if kind == "plrnn":
        model = TorchPLRNN(len(init["A"]), offdiag_W=spec.pop("offdiag_W", True), **init)
    else:
        model = TorchShallowPLRNN(len(init["a"]), len(init["h2"]), **init)
    return train(model, x, progress=False, **spec)


def train_runs(
    model: TorchModel,
    data: Any,
    *,
    seeds: Sequence[int] = (0,),
    alphas: Sequence[float | str] = (0.0,),
    init_noise: float = 0.0,
    executor: Any = None,
    progress: bool | str = False,
    **train_kwargs: Any,
) -> list[Replay]:
    """Train copies of ``model`` for every (seed, alpha) pair through :func:`rnnexplore.parallel.parallel_map`.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
        Initial model (not modified); every run starts from its parameters plus, if
        ``init_noise > 0``, Gaussian noise of that size drawn from the run's seed.
    data : TrajectoryData or array_like (T, N)
    seeds, alphas : sequences
        Runs are the product ``[(s, a) for s in seeds for a in alphas]``, in that order.
    init_noise : float
    executor : concurrent.futures.Executor, optional
        E.g. a ``ProcessPoolExecutor(2)`` or a Dask client's ``get_executor()``.
    progress : bool or str
    **train_kwargs
        Passed to :func:`train` (``epochs``, ``seq_len``, ``lr``, ...).

    Returns
    -------
    list of Replay
        In the order of the runs; each replay's ``info`` holds its ``seed`` and ``alpha``.

    Examples
    --------
    >>> x = np.sin(0.3 * np.arange(200))[:, None]
    >>> reps = train_runs(TorchPLRNN(2, seed=0), x, seeds=[0, 1], alphas=[0.0, 0.1],
    ...                   epochs=2, seq_len=20, batch_size=4)
    >>> [(r.info["seed"], r.info["alpha"]) for r in reps]
    [(0, 0.0), (0, 0.1), (1, 0.0), (1, 0.1)]
    """
    from rnnexplore.parallel import parallel_map

    x_np = trajectory_array(data)
    if not isinstance(model, (TorchPLRNN, TorchShallowPLRNN)):
        raise ValueError("model must be a TorchPLRNN or TorchShallowPLRNN")
    init_noise = check_real(init_noise, "init_noise", minimum=0.0)
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or \
            isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
        raise ValueError("seeds and alphas must be lists")
    seeds = [check_seed(s, "seeds entry", allow_none=False) for s in seeds]
    executor = check_executor(executor)
    base = model.numpy_params()
    items = []
    for s in seeds:
        for a in alphas:
            init = {k: v.copy() for k, v in base.items()}
            if init_noise > 0:
                rng = np.random.default_rng(int(s))
                for k in init:
                    init[k] = init[k] + init_noise * rng.standard_normal(init[k].shape)
                if isinstance(model, TorchPLRNN) and model.offdiag_W:
                    np.fill_diagonal(init["W"], 0.0)
            item = {"kind": model.kind, "init": init, "x": x_np, "seed": int(s), "alpha": a}
            if isinstance(model, TorchPLRNN):
                item["offdiag_W"] = model.offdiag_W
            item.update(train_kwargs)
            items.append(item)
    return parallel_map(_train_run_work, items, executor=executor, progress=progress)


