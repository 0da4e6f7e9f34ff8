"""Simulated orbits with one divergence rule.

Every part of the kit that simulates orbits for display or probing (explorer trajectories,
orbit diagrams, map selections, replay probes, PCA planes) calls :func:`simulate_orbits` and
:func:`diverged`, so "diverges" means the same everywhere: a state that is not finite or whose
largest absolute coordinate exceeds :data:`DIVERGENCE`.

Examples
--------
>>> from rnnexplore.dynamics.models import skew_tent
>>> traj = simulate_orbits(skew_tent(0.2, 3.0, 1.0), [[0.0], [-2e6]], 3)
>>> traj.shape
(4, 2, 1)
>>> bool(np.isnan(traj[1:, 1]).all())      # the second orbit starts beyond the bound
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_int

__all__ = ["DIVERGENCE", "diverged", "simulate_orbits"]

DIVERGENCE = 1e6
"""A state whose largest absolute coordinate exceeds this is called diverging."""


def diverged(z: Any) -> np.ndarray:
    """Boolean mask over states ``z`` (..., M): not finite or beyond :data:`DIVERGENCE`.

    Examples
    --------
    >>> diverged(np.array([[0.0, 1.0], [np.nan, 0.0], [2e6, 0.0]])).tolist()
    [False, True, True]
    """
    z = np.asarray(z, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~np.all(np.isfinite(z) & (np.abs(z) <= DIVERGENCE), axis=-1)


def simulate_orbits(model: Any, z0: Any, n_steps: int) -> np.ndarray:
    """Orbits from the states ``z0`` (B, M): shape (n_steps + 1, B, M), NaN from divergence on.

    Once a state has diverged (:func:`diverged`) it and every later state of that orbit are
    NaN, so a plot shows the orbit up to where it left and no overflow warnings leak.
    """
    if not callable(getattr(model, "simulate", None)) or not isinstance(getattr(model, "M", None), int):
        raise ValueError(f"model must be a model of rnnexplore.dynamics.models, got {type(model).__name__}")
    z0 = check_array(z0, "z0", ndim=(1, 2), allow_nonfinite=True)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    if z0.ndim == 1:
        z0 = z0[None, :]
    if z0.shape[0] == 0:
        return np.empty((int(n_steps) + 1, 0, model.M))
    traj = model.simulate(z0, n_steps)
    traj[np.cumsum(diverged(traj), axis=0) > 0] = np.nan
    return traj
