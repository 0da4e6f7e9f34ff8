"""The 3-bit flip-flop task (Sussillo & Barak 2013) for ReLU ``torch.nn.RNN`` networks.

Each of ``n_bits`` input channels carries rare pulses of +1 or -1; the matching output must
hold the sign of the last pulse of its channel. A network that solves it stores ``2^n_bits``
memories as stable fixed points of its input-free dynamics, with saddles between them (for 3
bits: 8 corners of a cube, and 12 edges + 6 faces + 1 centre = 19 saddles). A single-layer
ReLU RNN under constant input is exactly a PLRNN (:func:`rnnexplore.dynamics.models.from_torch_rnn`),
so all its fixed points can be enumerated exactly.

:func:`train_flipflop` trains one network (seeded, CPU); :func:`save_flipflop` /
:func:`load_flipflop` store the weights as ``.npz`` (no pickle); :func:`trained_flipflop` is the
one cache of trained networks (load the file, or train and write it when missing);
:func:`cached_flipflop` loads the network shipped with the package (trained by
:func:`train_flipflop` with its defaults).

Examples
--------
>>> u, y = flipflop_batch(2, 50, seed=0)
>>> u.shape, y.shape, sorted(set(u.ravel().tolist()))
((50, 2, 3), (50, 2, 3), [-1.0, 0.0, 1.0])
"""

from __future__ import annotations

import os
from importlib import resources
from typing import Any

import numpy as np

from rnnexplore._validation import check_bool, check_int, check_real, check_seed
from rnnexplore.files import atomic_savez, load_npz

__all__ = ["flipflop_batch", "train_flipflop", "save_flipflop", "load_flipflop", "trained_flipflop",
           "cached_flipflop", "flipflop_accuracy", "CACHED"]

_MAGIC = "rnnexplore-flipflop-1"
CACHED = "flipflop_relu.npz"  # package data: rnnexplore/dynamics/training/data/


def flipflop_batch(n_batch: int, n_steps: int, *, n_bits: int = 3, p: float = 0.04,
                   seed: int | None = 0, start_pulse: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Inputs and targets ``(n_steps, n_batch, n_bits)`` of the flip-flop task.

    A pulse (+1 or -1, equally likely) arrives on each channel with probability ``p`` per
    step; the target holds the last pulse's sign (0 before the first pulse). With
    ``start_pulse=True`` every channel gets a pulse at step 0, as in fixed-point-finder's
    ``FlipFlopData``: no "nothing seen yet" state to hold, so a network has no reason to keep
    a stable state at 0 besides the ``2^n_bits`` memories.
    """
    n_batch = check_int(n_batch, "n_batch", minimum=1)
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    n_bits = check_int(n_bits, "n_bits", minimum=1)
    p = check_real(p, "p", minimum=0.0, maximum=1.0)
    rng = np.random.default_rng(check_seed(seed))
    pulse = rng.uniform(size=(n_steps, n_batch, n_bits)) < p
    if check_bool(start_pulse, "start_pulse"):
        pulse[0] = True
    sign = np.where(rng.uniform(size=pulse.shape) < 0.5, -1.0, 1.0)
    u = np.where(pulse, sign, 0.0)
    y = np.zeros_like(u)
    state = np.zeros((n_batch, n_bits))
    for t in range(n_steps):
        state = np.where(pulse[t], sign[t], state)
        y[t] = state
    return u, y


def train_flipflop(*, hidden: int = 10, n_bits: int = 3, steps: int = 1500, batch: int = 64,
                   length: int = 150, p: float = 0.02, lr: float = 5e-3, seed: int = 0,
                   start_pulse: bool = False) -> tuple[Any, Any, list[float]]:
    """Train a ReLU ``torch.nn.RNN`` (+ linear readout) on the flip-flop task (CPU, seeded).

    The defaults (10 units, 1500 Adam steps on batches of 64 sequences of 150 steps, pulse
    probability 0.02) give the shipped network (:func:`cached_flipflop`): 27 fixed points at
    zero input, 8 attractors and 19 saddles. About 3-5 minutes on one CPU core.
    ``start_pulse=True`` trains on trials that begin with a pulse on every channel
    (:func:`flipflop_batch`); wide networks trained so keep only the 8 memories stable.

    Returns
    -------
    rnn : torch.nn.RNN
    readout : torch.nn.Linear
    losses : list of float
        Mean squared error per step.

    Raises
    ------
    FloatingPointError
        When training diverges: a loss or a weight after a step is not finite (NaN or
        infinite). The message names the step and suggests a smaller learning rate ``lr``;
        no NaN network is ever returned.
    """
    import torch

    hidden = check_int(hidden, "hidden", minimum=1, maximum=1024)
    steps = check_int(steps, "steps", minimum=0)
    lr = check_real(lr, "lr", minimum=0.0, exclusive_minimum=True)
    seed = check_seed(seed, allow_none=False)
    torch.manual_seed(seed)
    rnn = torch.nn.RNN(n_bits, hidden, nonlinearity="relu")
    readout = torch.nn.Linear(hidden, n_bits)
    with torch.no_grad():  # start near the identity: memories need slow dynamics
        # random part of spectral radius about 0.02 sqrt(min(hidden, 64)) <= 0.16: wide nets stay tame
        scale = 0.02 * min(1.0, 8.0 / np.sqrt(hidden))
        rnn.weight_hh_l0.copy_(0.9 * torch.eye(hidden) + scale * torch.randn(hidden, hidden))
        rnn.bias_hh_l0.zero_()
        rnn.bias_ih_l0.fill_(0.05)
    opt = torch.optim.Adam([*rnn.parameters(), *readout.parameters()], lr=lr)
    losses = []
    for i in range(steps):
        u, y = flipflop_batch(batch, length, n_bits=n_bits, p=p, seed=seed * 100_003 + i, start_pulse=start_pulse)
        u, y = torch.tensor(u, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
        out, _ = rnn(u)
        loss = torch.mean((readout(out) - y) ** 2)
        value = float(loss.detach())
        _check_finite(np.isfinite(value), i, lr, f"the loss is {value}")
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([*rnn.parameters(), *readout.parameters()], 1.0)
        opt.step()
        losses.append(float(loss.detach()))
        with torch.no_grad():
            bad = [n for n, q in [*rnn.named_parameters(), *readout.named_parameters(prefix="readout")]
                   if not bool(torch.isfinite(q).all())]
        _check_finite(not bad, i, lr, f"the update made {', '.join(bad)} non-finite")
    return rnn, readout, losses


def _check_finite(finite: bool, step: int, lr: float, what: str) -> None:
    """Raise FloatingPointError naming the training step unless ``finite``."""
    if not finite:
        raise FloatingPointError(f"train_flipflop diverged at step {step}: {what}; "
                                 f"try a smaller learning rate (lr={lr:g}, e.g. lr={lr / 10:g})")


def flipflop_accuracy(rnn: Any, readout: Any, *, n_batch: int = 32, n_steps: int = 200, seed: int = 1) -> float:
    """Share of time steps (after each channel's first pulse) whose output has the right sign."""
    import torch

    u, y = flipflop_batch(n_batch, n_steps, n_bits=rnn.input_size, seed=seed)
    with torch.no_grad():
        out = readout(rnn(torch.tensor(u, dtype=torch.float32))[0]).numpy()
    seen = y != 0
    return float(np.mean(np.sign(out[seen]) == y[seen]))


def save_flipflop(path: str | os.PathLike, rnn: Any, readout: Any) -> None:
    """Store the weights of a flip-flop network as ``.npz`` (atomic, no pickle)."""
    arrays = {name: p.detach().numpy().astype(np.float64) for name, p in rnn.named_parameters()}
    arrays.update({f"readout_{n}": p.detach().numpy().astype(np.float64) for n, p in readout.named_parameters()})
    arrays["magic"] = np.array(_MAGIC)
    atomic_savez(path, arrays, "flip-flop network")


def load_flipflop(path: str | os.PathLike) -> tuple[Any, Any]:
    """Rebuild ``(rnn, readout)`` from :func:`save_flipflop` (``np.load(allow_pickle=False)``)."""
    import torch

    keys = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0", "readout_weight", "readout_bias"]
    d = load_npz(path, keys, "flip-flop network", magic=_MAGIC)
    H, K = d["weight_ih_l0"].shape
    if d["weight_hh_l0"].shape != (H, H) or d["readout_weight"].shape != (K, H):
        raise ValueError(f"{os.fspath(path)!r}: inconsistent weight shapes")
    rnn = torch.nn.RNN(K, H, nonlinearity="relu")
    readout = torch.nn.Linear(H, K)
    with torch.no_grad():
        for n in keys[:4]:
            getattr(rnn, n).copy_(torch.tensor(d[n], dtype=torch.float32))
        readout.weight.copy_(torch.tensor(d["readout_weight"], dtype=torch.float32))
        readout.bias.copy_(torch.tensor(d["readout_bias"], dtype=torch.float32))
    return rnn, readout


def trained_flipflop(path: str | os.PathLike, *, retrain: bool = False, torch_threads: int | None = 1,
                     **train_kwargs: Any) -> tuple[Any, Any, str]:
    """The network ``train_flipflop(**train_kwargs)`` gives, cached in the file ``path``.

    An existing file is loaded (:func:`load_flipflop`: ``np.load(allow_pickle=False)``);
    otherwise (or with ``retrain=True``) the network is trained and written atomically
    (:func:`save_flipflop`), so a reader never sees half a file. The file does not record the
    settings: one path belongs to one set of ``train_kwargs``.

    Parameters
    ----------
    path : path-like
        The ``.npz`` cache (its folder is created when missing).
    retrain : bool
        Train again and overwrite the file even if it exists.
    torch_threads : int or None
        Torch CPU threads while training (default 1: the cached benchmark networks were trained
        so, and one thread keeps the result reproducible); None leaves torch's setting alone.
    **train_kwargs
        Passed to :func:`train_flipflop` (``hidden``, ``steps``, ``seed``, ``start_pulse``, ...).

    Returns
    -------
    rnn : torch.nn.RNN
    readout : torch.nn.Linear
    how : str
        ``"cached NAME"`` or what was trained (settings, seconds, final loss).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "net.npz"
    >>> rnn, readout, how = trained_flipflop(f, hidden=4, steps=2, batch=2, length=10)
    >>> how.startswith("trained"), trained_flipflop(f)[2]
    (True, 'cached net.npz')
    """
    import time

    import torch

    retrain = check_bool(retrain, "retrain")
    torch_threads = check_int(torch_threads, "torch_threads", minimum=1, allow_none=True)
    path = os.fspath(path)
    if os.path.exists(path) and not retrain:
        return (*load_flipflop(path), f"cached {os.path.basename(path)}")
    before = torch.get_num_threads()
    t0 = time.perf_counter()
    try:
        if torch_threads is not None:
            torch.set_num_threads(torch_threads)
        rnn, readout, losses = train_flipflop(**train_kwargs)
    finally:
        torch.set_num_threads(before)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    save_flipflop(path, rnn, readout)
    loss = f"{losses[-1]:.2g}" if losses else "-"
    return rnn, readout, (f"trained {train_kwargs} in {time.perf_counter() - t0:.0f} s (loss {loss}) "
                          f"-> {os.path.basename(path)}")


def cached_flipflop() -> tuple[Any, Any]:
    """The flip-flop network shipped with the package (``train_flipflop()`` with its defaults)."""
    with resources.as_file(resources.files("rnnexplore.dynamics.training") / "data" / CACHED) as p:
        return load_flipflop(p)
