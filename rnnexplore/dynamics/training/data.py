"""Trajectory data sets for training RNNs: ground-truth PLRNNs, Lorenz-63, or your own array.

Everything here is numpy/scipy only. Every data set is a :class:`TrajectoryData`: a
training and a test trajectory of shape ``(T, N)`` (time x observed dimensions), split
contiguously in time (the test part follows the training part), with optional Gaussian
observation noise drawn from an explicit seed.

Examples
--------
>>> import numpy as np
>>> from rnnexplore.dynamics.training.data import from_array
>>> x = np.sin(np.linspace(0, 20, 200))[:, None]
>>> data = from_array(x, test_fraction=0.25)
>>> data.train.shape, data.test.shape
((150, 1), (50, 1))
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rnnexplore._validation import (
    check_array,
    check_bool,
    check_int,
    check_mapping,
    check_memory,
    check_real,
    check_seed,
    check_str,
)
from rnnexplore.files import atomic_savez, json_text, load_npz, parse_json

__all__ = [
    "TrajectoryData",
    "validate_trajectory",
    "train_test_split",
    "from_array",
    "model_trajectory",
    "gt16_data",
    "skew_tent_data",
    "lorenz63",
    "lorenz63_data",
]

_MAGIC = "rnnexplore-trajectorydata-v1"


def validate_trajectory(x: Any, name: str = "data", *, min_length: int = 2) -> np.ndarray:
    """Return ``x`` as a float64 array of shape ``(T, N)`` or raise ``ValueError``.

    A 1-D array is read as a single observed dimension.

    Parameters
    ----------
    x : array_like
        Trajectory, time along the first axis.
    name : str
        Argument name used in error messages.
    min_length : int
        Smallest accepted number of time steps.

    Returns
    -------
    ndarray of shape (T, N)

    Examples
    --------
    >>> validate_trajectory([1.0, 2.0, 3.0]).shape
    (3, 1)
    """
    arr = check_array(x, name, ndim=(1, 2), allow_nonfinite=True)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (T, N), got an array with shape {arr.shape}")
    if arr.shape[0] < min_length:
        raise ValueError(f"{name} needs at least {min_length} time steps, got {arr.shape[0]}")
    if arr.shape[1] < 1:
        raise ValueError(f"{name} needs at least one observed dimension, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def train_test_split(x: Any, test_fraction: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Split a trajectory contiguously in time: the first part trains, the rest tests.

    Parameters
    ----------
    x : array_like of shape (T, N)
    test_fraction : float
        Fraction in [0, 1) of the time steps kept for testing (rounded down).

    Returns
    -------
    train, test : ndarray

    Examples
    --------
    >>> tr, te = train_test_split(np.arange(10.0), 0.3)
    >>> tr.shape, te.shape
    ((7, 1), (3, 1))
    """
    arr = validate_trajectory(x, "x")
    test_fraction = check_real(test_fraction, "test_fraction")
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must lie in [0, 1), got {test_fraction}")
    n_test = int(np.floor(arr.shape[0] * float(test_fraction)))
    if arr.shape[0] - n_test < 2:
        raise ValueError("test_fraction leaves fewer than 2 training steps")
    return arr[: arr.shape[0] - n_test].copy(), arr[arr.shape[0] - n_test :].copy()


@dataclass
class TrajectoryData:
    """A training and a test trajectory plus a description of where they came from.

    Attributes
    ----------
    train : ndarray of shape (T_train, N)
    test : ndarray of shape (T_test, N)  (``T_test`` may be 0)
    name : str
        Short description ("gt16", "lorenz63", "array", ...).
    info : dict
        JSON-serialisable metadata (generator parameters, seed, noise, scaling).

    Examples
    --------
    >>> d = TrajectoryData(np.zeros((5, 2)), np.zeros((0, 2)), "zeros")
    >>> d.n_obs
    2
    """

    train: np.ndarray
    test: np.ndarray
    name: str = "array"
    info: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = check_str(self.name, "name")
        self.info = check_mapping(self.info, "info")
        self.train = validate_trajectory(self.train, "train")
        test = check_array(self.test, "test", allow_nonfinite=True)
        if test.ndim == 0:
            raise ValueError("test must be an array of shape (T, N), got a scalar")
        if test.size == 0:
            test = np.zeros((0, self.train.shape[1]))
        self.test = test if test.shape[0] == 0 else validate_trajectory(test, "test", min_length=1)
        if self.test.shape[1] != self.train.shape[1]:
            raise ValueError(
                f"train and test must have the same number of columns, got "
                f"{self.train.shape[1]} and {self.test.shape[1]}"
            )

    @property
    def n_obs(self) -> int:
        """Number of observed dimensions N."""
        return int(self.train.shape[1])

    def save(self, path: str | os.PathLike) -> None:
        """Write to a single ``.npz`` file (atomic: temporary file renamed into place)."""
        arrays = {
            "magic": np.array(_MAGIC),
            "train": self.train,
            "test": self.test,
            "name": np.array(str(self.name)),
            "info": np.array(json_text(self.info, "trajectory data info")),
        }
        atomic_savez(path, arrays, "trajectory data")

    @classmethod
    def load(cls, path: str | os.PathLike) -> "TrajectoryData":
        """Read a file written by :meth:`save` (never unpickles; foreign files -> ValueError)."""
        arrays = load_npz(path, ["train", "test", "name", "info"], "trajectory data", _MAGIC)
        where = f"trajectory data file {os.fspath(path)!r}"
        info = parse_json(str(arrays["info"]), f"{where}: info")
        if not isinstance(info, dict):
            raise ValueError(f"{where}: info must be a JSON object, got {type(info).__name__}")
        for key in ("train", "test"):
            check_array(arrays[key], f"{where}: {key}", ndim=2)
        try:
            return cls(arrays["train"], arrays["test"], str(arrays["name"]), info)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


# --------------------------------------------------------------------------- generators
#: Longest simulated trajectory (burn-in included) a generator accepts: about a minute of stepping.
MAX_STEPS = 10**7


def _check_length(T: Any, burn_in: Any, dim: int) -> tuple[int, int]:
    T = check_int(T, "T", minimum=1, maximum=MAX_STEPS)
    burn_in = check_int(burn_in, "burn_in", minimum=0, maximum=MAX_STEPS - T)
    check_memory((T, dim), "T")
    return T, burn_in


def _add_noise(x: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    noise = check_real(noise, "noise", minimum=0.0)
    if noise == 0:
        return x
    return x + noise * rng.standard_normal(x.shape)


def from_array(
    x: Any,
    *,
    test_fraction: float = 0.2,
    noise: float = 0.0,
    standardise: bool = False,
    seed: int | None = None,
    name: str = "array",
) -> TrajectoryData:
    """Wrap your own ``(T, N)`` array as a :class:`TrajectoryData`.

    Parameters
    ----------
    x : array_like of shape (T, N)
        Finite values, time along axis 0.
    test_fraction : float
        Contiguous tail kept for testing.
    noise : float
        Standard deviation of added Gaussian observation noise (after standardising).
    standardise : bool
        Subtract the training mean and divide by the training standard deviation.
    seed : int, optional
        Seed of the noise.
    name : str
        Description stored in the result.

    Examples
    --------
    >>> d = from_array(np.random.default_rng(0).normal(size=(100, 3)), standardise=True)
    >>> bool(abs(d.train.mean()) < 1e-12)
    True
    """
    arr = validate_trajectory(x, "x")
    test_fraction = check_real(test_fraction, "test_fraction", minimum=0.0, maximum=1.0)
    noise = check_real(noise, "noise", minimum=0.0)
    seed = check_seed(seed)
    info: dict[str, Any] = {"noise": noise, "seed": seed, "standardised": check_bool(standardise, "standardise")}
    if standardise:
        n_train = arr.shape[0] - int(np.floor(arr.shape[0] * float(test_fraction)))
        mean = arr[:n_train].mean(axis=0)
        std = arr[:n_train].std(axis=0)
        std = np.where(std > 0, std, 1.0)
        arr = (arr - mean) / std
        info.update(mean=mean.tolist(), std=std.tolist())
    arr = _add_noise(arr, float(noise), np.random.default_rng(seed))
    train, test = train_test_split(arr, test_fraction)
    return TrajectoryData(train, test, name, info)


def model_trajectory(
    model: Any,
    T: int,
    *,
    z0: Any = None,
    burn_in: int = 0,
    process_noise: float = 0.0,
    seed: int | None = None,
) -> np.ndarray:
    """Simulate a numpy model (anything with ``step(z)``, e.g. :class:`rnnexplore.dynamics.models.PLRNN`).

    Parameters
    ----------
    model : object with ``step(z) -> z'`` and attribute ``dim`` or ``M``
    T : int
        Number of returned states.
    z0 : array_like, optional
        Initial state; default a standard normal draw from ``seed``.
    burn_in : int
        Steps discarded before recording (to land on the attractor).
    process_noise : float
        Standard deviation of Gaussian noise added to every state (dynamical noise).
    seed : int, optional

    Returns
    -------
    ndarray of shape (T, M)
    """
    dim = _model_dim(model)
    T, burn_in = _check_length(T, burn_in, dim)
    process_noise = check_real(process_noise, "process_noise", minimum=0.0)
    rng = np.random.default_rng(check_seed(seed))
    z = rng.standard_normal(dim) if z0 is None else np.asarray(z0, dtype=np.float64).reshape(dim)
    out = np.empty((int(T), dim))
    for t in range(int(burn_in) + int(T)):
        if t >= burn_in:
            out[t - burn_in] = z
        z = np.asarray(model.step(z), dtype=np.float64)
        if process_noise > 0:
            z = z + process_noise * rng.standard_normal(dim)
        if not np.all(np.isfinite(z)):
            raise ValueError("the model trajectory diverged (NaN/inf); choose another model or z0")
    return out


def _model_dim(model: Any) -> int:
    for attr in ("M", "dim", "n_latent"):
        val = getattr(model, attr, None)
        if isinstance(val, (int, np.integer)):
            return int(val)
    h = getattr(model, "h", None)
    if h is None:
        h = getattr(model, "h1")
    return int(np.asarray(h).shape[0])


def gt16_data(
    T: int = 2000,
    *,
    test_fraction: float = 0.2,
    noise: float = 0.0,
    burn_in: int = 1000,
    seed: int | None = 0,
) -> TrajectoryData:
    """Trajectory of the 2-D ground-truth PLRNN of Eisenmann et al. (NeurIPS 2023, Fig. 3) on its attractor.

    Parameters
    ----------
    T : int
        Total number of time steps (train + test).
    test_fraction, noise, seed :
        As in :func:`from_array`; ``seed`` also draws the initial state.
    burn_in : int
        Transient steps discarded first.

    Examples
    --------
    >>> d = gt16_data(300, seed=1)
    >>> d.train.shape
    (240, 2)
    """
    from rnnexplore.dynamics.models import paper_gt16

    T, burn_in = _check_length(T, burn_in, 2)
    noise, seed = check_real(noise, "noise", minimum=0.0), check_seed(seed)
    model = paper_gt16()
    rng = np.random.default_rng(seed)
    x = model_trajectory(model, T, z0=rng.uniform(-1, 1, 2), burn_in=burn_in)
    x = _add_noise(x, float(noise), rng)
    train, test = train_test_split(x, test_fraction)
    info = {"T": int(T), "noise": float(noise), "burn_in": int(burn_in), "seed": seed}
    return TrajectoryData(train, test, "gt16", info)


def skew_tent_data(
    T: int = 500,
    *,
    a_l: float = 0.2,
    a_r: float = -1.5,
    mu: float = 1.0,
    test_fraction: float = 0.2,
    noise: float = 0.0,
    burn_in: int = 100,
    seed: int | None = 0,
) -> TrajectoryData:
    """Trajectory of the 1-D skew tent map ``z' = a_l z + (a_r - a_l) relu(z) + mu``."""
    from rnnexplore.dynamics.models import skew_tent

    T, burn_in = _check_length(T, burn_in, 1)
    noise, seed = check_real(noise, "noise", minimum=0.0), check_seed(seed)
    model = skew_tent(a_l, a_r, mu)
    rng = np.random.default_rng(seed)
    x = model_trajectory(model, T, z0=rng.uniform(-1, 1, 1), burn_in=burn_in)
    x = _add_noise(x, float(noise), rng)
    train, test = train_test_split(x, test_fraction)
    info = {"a_l": a_l, "a_r": a_r, "mu": mu, "noise": float(noise), "seed": seed}
    return TrajectoryData(train, test, "skew_tent", info)


def lorenz63(
    T: int,
    *,
    dt: float = 0.01,
    sigma: float = 10.0,
    rho: float = 28.0,
    beta: float = 8.0 / 3.0,
    burn_in: int = 1000,
    x0: Any = None,
    seed: int | None = None,
) -> np.ndarray:
    """Integrate Lorenz-63 with :func:`scipy.integrate.solve_ivp` and sample every ``dt``.

    Parameters
    ----------
    T : int
        Number of returned samples.
    dt : float
        Sampling interval.
    sigma, rho, beta : float
        The classic parameters (chaotic at the defaults).
    burn_in : int
        Samples discarded first (transient).
    x0 : array_like of shape (3,), optional
        Initial state; default drawn from ``seed`` near the attractor.
    seed : int, optional

    Returns
    -------
    ndarray of shape (T, 3)

    Examples
    --------
    >>> lorenz63(50, seed=0).shape
    (50, 3)
    """
    from scipy.integrate import solve_ivp

    T, burn_in = _check_length(T, burn_in, 3)
    dt = check_real(dt, "dt", minimum=0.0, exclusive_minimum=True, maximum=1.0)
    sigma, rho, beta = (check_real(v, n) for v, n in ((sigma, "sigma"), (rho, "rho"), (beta, "beta")))
    rng = np.random.default_rng(check_seed(seed))
    start = (np.array([1.0, 1.0, 20.0]) + rng.standard_normal(3) if x0 is None
             else check_array(x0, "x0", shape=(3,)))
    if start.shape != (3,):
        raise ValueError(f"x0 must have shape (3,), got {start.shape}")

    def rhs(_t: float, s: np.ndarray) -> list[float]:
        x, y, z = s
        return [sigma * (y - x), x * (rho - z) - y, x * y - beta * z]

    n = int(burn_in) + int(T)
    t_eval = np.arange(n) * dt
    sol = solve_ivp(rhs, (0.0, t_eval[-1]), start, t_eval=t_eval, method="RK45", rtol=1e-9, atol=1e-9)
    if not sol.success:  # pragma: no cover - scipy failure
        raise ValueError(f"Lorenz-63 integration failed: {sol.message}")
    return sol.y.T[int(burn_in) :].copy()


def lorenz63_data(
    T: int = 3000,
    *,
    dt: float = 0.01,
    test_fraction: float = 0.2,
    noise: float = 0.0,
    seed: int | None = 0,
    **params: float,
) -> TrajectoryData:
    """Standardised (training mean 0, std 1) Lorenz-63 data with optional observation noise.

    Examples
    --------
    >>> d = lorenz63_data(400, seed=0)
    >>> d.n_obs
    3
    """
    x = lorenz63(T, dt=dt, seed=seed, **params)
    d = from_array(x, test_fraction=test_fraction, noise=noise, standardise=True, seed=seed, name="lorenz63")
    d.info.update({"dt": dt, "T": int(T), **{k: float(v) for k, v in params.items()}})
    return d
