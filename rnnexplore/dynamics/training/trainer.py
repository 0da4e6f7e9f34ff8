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

import math
from collections.abc import Callable, Sequence
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


def train(
    model: TorchModel,
    data: Any,
    *,
    alpha: float | str = 0.0,
    epochs: int = 100,
    seq_len: int = 50,
    batch_size: int = 16,
    batches_per_epoch: int = 1,
    lr: float = 1e-3,
    optimizer: str = "adam",
    trainable: Sequence[str] | None = None,
    grad_clip: float | None = None,
    record_every: int = 1,
    n_eval: int = 16,
    alpha_every: int = 5,
    alpha_init: float = 0.0,
    seed: int | None = 0,
    progress: bool | str = True,
    callback: Callable[[dict], Any] | None = None,
) -> Replay:
    """Train ``model`` in place with BPTT (``alpha=0``), fixed-alpha GTF or adaptive GTF.

    Parameters
    ----------
    model : TorchPLRNN or TorchShallowPLRNN
        Trained in place; its ``M`` must be >= the number of data columns (identity
        observation: the data are the first ``N`` latent units).
    data : TrajectoryData or array_like of shape (T, N)
        Training trajectory (``data.train`` for a :class:`~rnnexplore.dynamics.training.data.TrajectoryData`).
    alpha : float in [0, 1] or "adaptive"
        Forcing strength; ``"adaptive"`` follows the schedule of the module docstring.
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
    progress : bool or str
        ``tqdm.auto`` progress bar over epochs.
    callback : callable, optional
        Called at every checkpoint with a dict ``{"epoch", "loss", "free_loss",
        "grad_norm", "alpha", "params", "model"}``; returning ``True`` stops training.

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
    x_np = trajectory_array(data)
    T, N = x_np.shape
    if not isinstance(model, (TorchPLRNN, TorchShallowPLRNN)):
        raise ValueError("model must be a TorchPLRNN or TorchShallowPLRNN")
    if N > model.M:
        raise ValueError(f"data has {N} columns but the model only {model.M} latent units")
    adaptive = isinstance(alpha, str)
    if adaptive:
        check_choice(alpha, "alpha", ("adaptive",))
    else:
        alpha = check_real(alpha, "alpha (a number in [0, 1] or 'adaptive')", minimum=0.0, maximum=1.0)
    epochs, batch_size, batches_per_epoch, record_every, n_eval, alpha_every = (
        check_int(val, name, minimum=1, maximum=MAX_STEPS) for name, val in (
            ("epochs", epochs), ("batch_size", batch_size), ("batches_per_epoch", batches_per_epoch),
            ("record_every", record_every), ("n_eval", n_eval), ("alpha_every", alpha_every)))
    if epochs * batches_per_epoch > MAX_STEPS:
        raise ValueError(f"epochs * batches_per_epoch must be <= {MAX_STEPS} optimiser steps, "
                         f"got {epochs * batches_per_epoch}")
    seq_len = check_int(seq_len, "seq_len (at most the training length)", minimum=2, maximum=T)
    check_memory((max(batch_size, n_eval), seq_len, model.M, 4), "batch_size / n_eval * seq_len")
    lr = check_real(lr, "lr", minimum=0.0, exclusive_minimum=True)
    grad_clip = check_real(grad_clip, "grad_clip", minimum=0.0, exclusive_minimum=True, allow_none=True)
    alpha_init = check_real(alpha_init, "alpha_init", minimum=0.0, maximum=1.0)
    check_choice(optimizer, "optimizer", sorted(_OPTIMISERS))
    check_callable(callback, "callback")
    seed = check_seed(seed)
    named = model.named_trainables()
    if trainable is not None and (isinstance(trainable, str) or not isinstance(trainable, Sequence)):
        raise ValueError(f"trainable must be a list of parameter names, got {trainable!r}")
    names = list(named) if trainable is None else list(trainable)
    unknown = [n for n in names if n not in named]
    if unknown or not names:
        raise ValueError(f"trainable must name some of {list(named)}, got {trainable!r}")
    for key, p in named.items():
        p.requires_grad_(key in names)
    params = [named[n] for n in names]
    opt = _OPTIMISERS[optimizer](params, lr=lr)

    gen = torch_generator(seed)
    x = torch.tensor(x_np, dtype=DTYPE)
    n_start = T - int(seq_len) + 1
    eval_x = data_windows(x, torch.randint(0, n_start, (int(n_eval),), generator=gen), int(seq_len))
    schedule = AdaptiveAlpha(alpha_init) if adaptive else None
    cur_alpha = schedule.alpha if adaptive else float(alpha)

    rec: dict[str, list] = {k: [] for k in ("epochs", "loss", "free_loss", "grad_norm", "alpha")}
    rec_params: dict[str, list] = {k: [] for k in model.numpy_params()}
    steps: dict[str, list] = {"loss": [], "grad_norm": [], "alpha": []}

    def checkpoint(epoch: int) -> bool:
        opt.zero_grad(set_to_none=True)
        loss = gtf_loss(model, eval_x, cur_alpha)
        loss.backward()
        gnorm = _grad_norm(params)
        opt.zero_grad(set_to_none=True)
        with torch.no_grad():
            free = float(gtf_loss(model, eval_x, 0.0)) if cur_alpha != 0.0 else float(loss.detach())
        snapshot = model.numpy_params()
        rec["epochs"].append(epoch)
        rec["loss"].append(float(loss.detach()))
        rec["free_loss"].append(free)
        rec["grad_norm"].append(gnorm)
        rec["alpha"].append(cur_alpha)
        for k, v in snapshot.items():
            rec_params[k].append(v)
        if callback is not None:
            info = {
                "epoch": epoch,
                "loss": float(loss.detach()),
                "free_loss": free,
                "grad_norm": gnorm,
                "alpha": cur_alpha,
                "params": snapshot,
                "model": model,
            }
            return bool(callback(info))
        return False

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=int(epochs), desc=progress if isinstance(progress, str) else "training")
    batch_count = 0
    try:
        stop = checkpoint(0)
        epoch = 0
        while not stop and epoch < int(epochs):
            epoch += 1
            for _ in range(int(batches_per_epoch)):
                xb = data_windows(x, torch.randint(0, n_start, (int(batch_size),), generator=gen), int(seq_len))
                opt.zero_grad(set_to_none=True)
                if adaptive and batch_count % int(alpha_every) == 0:
                    with torch.no_grad():
                        _, forced = forced_rollout(model.step, xb, cur_alpha, model.M, return_forced=True)
                    cur_alpha = schedule.update(estimate_alpha(model, forced))
                loss = gtf_loss(model, xb, cur_alpha)
                loss.backward()
                gnorm = _grad_norm(params)
                if grad_clip is not None:
                    torch.nn.utils.clip_grad_norm_(params, float(grad_clip))
                if math.isfinite(float(loss.detach())) and math.isfinite(gnorm):
                    opt.step()
                steps["loss"].append(float(loss.detach()))
                steps["grad_norm"].append(gnorm)
                steps["alpha"].append(cur_alpha)
                batch_count += 1
            if epoch % int(record_every) == 0 or epoch == int(epochs):
                stop = checkpoint(epoch)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{steps['loss'][-1]:.3g}", alpha=f"{cur_alpha:.3f}", refresh=False)
    finally:
        if bar is not None:
            bar.close()
        for p in named.values():
            p.requires_grad_(True)

    info = {
        "alpha": alpha if adaptive else float(alpha),
        "seq_len": int(seq_len),
        "batch_size": int(batch_size),
        "batches_per_epoch": int(batches_per_epoch),
        "lr": float(lr),
        "optimizer": optimizer,
        "trainable": names,
        "seed": seed,
        "record_every": int(record_every),
        "grad_clip": grad_clip,
        "n_obs": int(N),
    }
    if isinstance(model, TorchPLRNN):
        info["offdiag_W"] = model.offdiag_W
    return Replay(
        kind=model.kind,
        epochs=np.asarray(rec["epochs"], dtype=np.int64),
        params={k: np.stack(v) for k, v in rec_params.items()},
        loss=np.asarray(rec["loss"]),
        free_loss=np.asarray(rec["free_loss"]),
        grad_norm=np.asarray(rec["grad_norm"]),
        alpha=np.asarray(rec["alpha"]),
        step_loss=np.asarray(steps["loss"]),
        step_grad_norm=np.asarray(steps["grad_norm"]),
        step_alpha=np.asarray(steps["alpha"]),
        info=info,
    )


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


