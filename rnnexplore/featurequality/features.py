"""What the features are: where the first layer puts its weight, and which subspace it learned.

For a first-layer weight matrix ``W`` (shape ``(width, d)``, rows are units) and a target that
depends on ``x`` only through an orthonormal basis ``U`` (shape ``(d, k)``; the staircase's
coordinates, the multi-index projection):

- :func:`weight_mass` - fraction of ``||W||_F^2`` on each input coordinate (uniform: ``1/d``);
- :func:`subspace_mass` - fraction of ``||W||_F^2`` inside ``span(U)`` (random: about ``k/d``);
- :func:`learned_subspace` - the top-``k`` right singular vectors of ``W``;
- :func:`principal_angles` - principal angles between two subspaces, in degrees.

:func:`feature_view` combines them for a trained network: the learned subspace is taken from the
*change* of the first layer, ``W_T - W_0``. At initialisation ``W_0`` is isotropic (all its
singular values within about ``1 +- sqrt(d/width)`` of each other), so the top singular
directions of ``W_T`` itself can still be the initialisation's; the change is what training
added.

Examples
--------
>>> import numpy as np
>>> U = np.eye(4)[:, :2]
>>> W = np.random.default_rng(0).standard_normal((16, 2)) @ U.T   # rows inside span(e0, e1)
>>> principal_angles(learned_subspace(W, 2), U).round(6).tolist()
[0.0, 0.0]
>>> round(subspace_mass(W, U), 12)
1.0
"""

from __future__ import annotations

import numpy as np

from .._validation import check_array, check_int

__all__ = ["weight_mass", "subspace_mass", "learned_subspace", "principal_angles", "feature_view"]


def _weights(W, name: str = "W") -> np.ndarray:
    return check_array(W, name, ndim=2, min_size=1)


def _basis(U, d: int, name: str = "U") -> np.ndarray:
    U = check_array(U, name, ndim=(1, 2), min_size=1)
    U = U[:, None] if U.ndim == 1 else U
    if U.shape[0] != d:
        raise ValueError(f"{name} must have shape ({d}, k) with k >= 1, got {U.shape}")
    return U


def weight_mass(W) -> np.ndarray:
    """Fraction of the squared Frobenius norm of ``W`` on each input coordinate (column).

    Parameters
    ----------
    W : array_like, shape (width, d)

    Returns
    -------
    ndarray, shape (d,)
        Non-negative, sums to 1.

    Examples
    --------
    >>> weight_mass([[3.0, 0.0], [0.0, 1.0], [1.0, 0.0]]).tolist()
    [0.9090909090909091, 0.09090909090909091]
    """
    W = _weights(W)
    col = np.sum(W * W, axis=0)
    total = col.sum()
    if total == 0:
        raise ValueError("W is zero: the weight mass is undefined")
    return col / total


def subspace_mass(W, U) -> float:
    """``||W P_U||_F^2 / ||W||_F^2``: the fraction of ``W``'s energy inside ``span(U)``.

    Parameters
    ----------
    W : array_like, shape (width, d)
    U : array_like, shape (d, k)
        Any basis of the subspace (orthonormalised here).

    Examples
    --------
    >>> subspace_mass(np.eye(4), np.eye(4)[:, :1])   # isotropic: k/d
    0.25
    """
    W = _weights(W)
    Q = np.linalg.qr(_basis(U, W.shape[1]))[0]
    total = float(np.sum(W * W))
    if total == 0:
        raise ValueError("W is zero: the subspace mass is undefined")
    P = W @ Q
    return float(np.sum(P * P) / total)


def learned_subspace(W, k: int) -> np.ndarray:
    """Orthonormal basis ``(d, k)`` of the top-``k`` right singular vectors of ``W``.

    Examples
    --------
    >>> np.abs(learned_subspace(np.diag([1.0, 5.0, 2.0]), 1)).ravel().round(6).tolist()  # up to sign
    [0.0, 1.0, 0.0]
    """
    W = _weights(W)
    k = check_int(k, "k", minimum=1, maximum=min(W.shape))
    _, _, Vt = np.linalg.svd(W, full_matrices=False)
    return Vt[: int(k)].T.copy()


def principal_angles(A, B) -> np.ndarray:
    """Principal angles between ``span(A)`` and ``span(B)`` in degrees, smallest first.

    Uses :func:`scipy.linalg.subspace_angles` (accurate for small angles). Returns
    ``min(rank A, rank B)`` angles; 0 means a shared direction, 90 an orthogonal one.

    Parameters
    ----------
    A : array_like, shape (d, k1)
    B : array_like, shape (d, k2)

    Examples
    --------
    >>> e = np.eye(3)
    >>> principal_angles(e[:, :2], np.c_[e[:, 0], e[:, 1] + e[:, 2]]).round(6).tolist()
    [0.0, 45.0]
    """
    from scipy.linalg import subspace_angles

    A = check_array(A, "A", ndim=(1, 2), min_size=1)
    A = A[:, None] if A.ndim == 1 else A
    B = _basis(B, A.shape[0], "B")
    return np.sort(np.degrees(subspace_angles(A, B)))


def feature_view(W0, WT, U) -> dict:
    """First-layer feature measures of a trained network against the target's subspace ``U``.

    Parameters
    ----------
    W0, WT : array_like, shape (width, d)
        First-layer weights at initialisation and after training.
    U : array_like, shape (d, k), or None
        Basis of the relevant subspace; None gives NaN subspace measures.

    Returns
    -------
    dict
        ``weight_mass`` (list, per coordinate, of ``WT``), ``support_mass_0`` and
        ``support_mass_T`` (:func:`subspace_mass` of ``W0`` and ``WT``), ``angles`` (list,
        principal angles in degrees between the top-``k`` subspace of ``WT - W0`` and ``U``)
        and ``max_angle`` (the largest of them).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> U = np.eye(6)[:, :2]
    >>> W0 = rng.standard_normal((32, 6)); WT = W0 + 3 * rng.standard_normal((32, 2)) @ U.T
    >>> v = feature_view(W0, WT, U)
    >>> round(v["max_angle"], 6), v["support_mass_T"] > v["support_mass_0"]
    (0.0, True)
    """
    W0, WT = _weights(W0, "W0"), _weights(WT, "WT")
    if W0.shape != WT.shape:
        raise ValueError(f"W0 and WT must have the same shape, got {W0.shape} and {WT.shape}")
    out = {"weight_mass": [float(v) for v in weight_mass(WT)]}
    if U is None:
        return dict(out, support_mass_0=float("nan"), support_mass_T=float("nan"), angles=[], max_angle=float("nan"))
    U = _basis(U, WT.shape[1])
    k = U.shape[1]
    dW = WT - W0
    if not np.any(dW) or k > min(dW.shape):
        angles = [float("nan")] * k
    else:
        angles = [float(a) for a in principal_angles(learned_subspace(dW, k), U)]
    return dict(out, support_mass_0=subspace_mass(W0, U), support_mass_T=subspace_mass(WT, U), angles=angles,
                max_angle=float(max(angles)) if angles else float("nan"))
