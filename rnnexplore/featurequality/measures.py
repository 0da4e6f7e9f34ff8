"""Measures of feature *quality* and feature-learning *strength* (numpy, float64).

Quality tracks generalisation: :func:`feature_quality` (``FQ = E(analytic NTK) / E(net)``),
the ratio ``E(K_0) / E(K_T)`` and :func:`spectral_quality` (``Pi*(k)``, ``k95``).
Strength measures how far learning moved the kernel or the weights: :func:`cka` (biased
or debiased),
:func:`relative_frobenius_change`, :func:`kernel_target_alignment`,
:func:`relative_weight_change` and :func:`effective_rank`.

Examples
--------
>>> import numpy as np
>>> K = np.array([[2.0, 1.0], [1.0, 2.0]])
>>> cka(K, 3 * K)
1.0
"""

from __future__ import annotations

import numpy as np

from rnnexplore._validation import check_real

__all__ = [
    "mse",
    "feature_quality",
    "cka",
    "relative_frobenius_change",
    "kernel_target_alignment",
    "spectral_quality",
    "k95",
    "effective_rank",
    "relative_weight_change",
]


def _square(K, name: str) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.ndim != 2 or K.shape[0] != K.shape[1] or K.shape[0] < 2:
        raise ValueError(f"{name} must be a square matrix of size >= 2, got shape {K.shape}")
    if not np.all(np.isfinite(K)):
        raise ValueError(f"{name} contains NaN or inf")
    return K


def _sums(K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(column sums, row sums, diagonal)`` of a kernel: all the centred measures read of it besides
    its inner products."""
    return K.sum(axis=0), K.sum(axis=1), np.diag(K)


def _centred_from(KL: float, sK, sL, n: int) -> float:
    """``<H K H, H L H>`` from ``<K, L>`` and the :func:`_sums` of ``K`` and ``L``."""
    (cK, rK, _), (cL, rL, _) = sK, sL
    return float(KL - (cK @ cL + rK @ rL) / n + cK.sum() * cL.sum() / n**2)


def _centred_inner(K: np.ndarray, L: np.ndarray) -> float:
    """``<H K H, H L H>_F`` with ``H = I - 11^T/n``, without forming the centred matrices.

    ``<HKH, HLH> = <K, L> - (c_K . c_L + r_K . r_L) / n + (1'K1)(1'L1) / n^2`` with ``c``, ``r``
    the column and row sums (one pass over each matrix; checked against ``H K H`` in the tests).
    """
    return _centred_from(float(np.vdot(K, L)), _sums(K), _sums(L), K.shape[0])


def mse(prediction, target) -> float:
    """Mean squared error ``mean((prediction - target)^2)``.

    Examples
    --------
    >>> mse([1.0, 2.0], [1.0, 0.0])
    2.0
    """
    p = np.asarray(prediction, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"prediction shape {p.shape} != target shape {t.shape}")
    return float(np.mean((p - t) ** 2))


def feature_quality(error_kernel: float, error_network: float) -> float:
    """``FQ = E_gen(kernel) / E_gen(network)`` (> 1: the network beats the kernel).

    Examples
    --------
    >>> feature_quality(1.2, 0.004)
    300.0
    """
    error_kernel = check_real(error_kernel, "error_kernel", minimum=0.0)
    error_network = check_real(error_network, "error_network", minimum=0.0)
    if error_network == 0:
        return float("inf")
    return float(error_kernel / error_network)


def _hsic_unbiased(K: np.ndarray, L: np.ndarray) -> float:
    """Unbiased HSIC estimator of Song et al. (2012), eq. (5), for ``n >= 4``.

    With ``Kt, Lt`` the kernels with zeroed diagonals::

        HSIC_1 = [tr(Kt Lt) + (1'Kt1)(1'Lt1) / ((n-1)(n-2)) - 2/(n-2) 1'Kt Lt 1] / (n (n-3))

    It equals the U-statistic over ordered 4-tuples of distinct indices (checked in the tests).
    """
    return _hsic_from(float(np.vdot(K, L)), _sums(K), _sums(L), K.shape[0])


def _hsic_from(KL: float, sK, sL, n: int) -> float:
    """:func:`_hsic_unbiased` from ``<K, L>`` and the :func:`_sums` of ``K`` and ``L``."""
    (cK, _, dK), (cL, _, dL) = sK, sL
    sk, sl = cK - dK, cL - dL  # column sums of Kt, Lt
    trace = float(KL - dK @ dL)  # tr(Kt Lt) for symmetric kernels
    return (trace + sk.sum() * sl.sum() / ((n - 1) * (n - 2)) - 2.0 / (n - 2) * float(sk @ sl)) / (n * (n - 3))


def cka(K1, K2, *, debiased: bool = False) -> float:
    """Centred kernel alignment of two kernels on the same points, biased or debiased.

    Biased (default): ``<H K1 H, H K2 H>_F / (||H K1 H||_F ||H K2 H||_F)`` with
    ``H = I - 11^T/n`` (Cortes et al. 2012; Kornblith et al. 2019). It is positive even for
    independent features: for linear kernels of independent standard Gaussian features of
    widths ``p`` and ``q`` it tends to ``sqrt(pq) / sqrt((p + n)(q + n))``.

    Debiased (``debiased=True``): the same ratio with the unbiased HSIC estimator of Song et
    al. (2012) in place of ``<H K H, H L H>`` (Nguyen, Raghu & Kornblith 2021). Its mean is
    0 for independent features; for the linear kernels above its standard deviation is about
    ``sqrt(2) / n``. Needs ``n >= 4`` points; can be slightly negative; NaN if either kernel's
    unbiased self-HSIC is not positive.

    ``1 - cka`` is a kernel distance (in [0, 1] for the biased form and PSD kernels). Both
    forms are invariant to scaling either kernel.

    Parameters
    ----------
    K1, K2 : array_like, shape (n, n)
        Symmetric kernel matrices on the same ``n`` points.
    debiased : bool, default False

    Returns
    -------
    float

    Examples
    --------
    >>> K = np.array([[1.0, 0.2, 0.0, 0.1], [0.2, 1.0, 0.3, 0.0], [0.0, 0.3, 1.0, 0.2], [0.1, 0.0, 0.2, 1.0]])
    >>> round(cka(K, K), 12), round(cka(K, K, debiased=True), 12)
    (1.0, 1.0)
    """
    K1 = _square(K1, "K1")
    K2 = _square(K2, "K2")
    if K1.shape != K2.shape:
        raise ValueError(f"K1 and K2 must have the same shape, got {K1.shape} and {K2.shape}")
    if debiased and K1.shape[0] < 4:
        raise ValueError(f"debiased CKA needs at least 4 points, got {K1.shape[0]}")
    return _cka_from(_KernelStats.of(K1), _KernelStats.of(K2), float(np.vdot(K1, K2)), debiased)


class _KernelStats:
    """What the centred measures need of one symmetric kernel: its :func:`_sums` and ``<K, K>``
    (computed once, e.g. for ``K_0`` shared by a clean run and its control)."""

    def __init__(self, sums, self_inner: float):
        self.sums, self.self_inner = sums, self_inner

    @classmethod
    def of(cls, K: np.ndarray) -> _KernelStats:
        return cls(_sums(K), float(np.vdot(K, K)))


def _cka_from(a: _KernelStats, b: _KernelStats, ab: float, debiased: bool) -> float:
    """:func:`cka` from the two kernels' statistics and their inner product ``ab = <K1, K2>``."""
    n = len(a.sums[0])
    if debiased:
        kk, ll = _hsic_from(a.self_inner, a.sums, a.sums, n), _hsic_from(b.self_inner, b.sums, b.sums, n)
        if kk <= 0 or ll <= 0:
            return float("nan")
        return float(_hsic_from(ab, a.sums, b.sums, n) / np.sqrt(kk * ll))
    na2, nb2 = _centred_from(a.self_inner, a.sums, a.sums, n), _centred_from(b.self_inner, b.sums, b.sums, n)
    if na2 <= 0 or nb2 <= 0:
        raise ValueError("a centred kernel is zero: CKA is undefined")
    return float(_centred_from(ab, a.sums, b.sums, n) / np.sqrt(na2 * nb2))


def relative_frobenius_change(K0, KT) -> float:
    """``||K_T - K_0||_F / max(||K_0||_F, ||K_T||_F)`` (0: unchanged; up to 2).

    Examples
    --------
    >>> relative_frobenius_change(np.eye(2), 2 * np.eye(2))
    0.5
    """
    A = _square(K0, "K0")
    B = _square(KT, "KT")
    if A.shape != B.shape:
        raise ValueError(f"K0 and KT must have the same shape, got {A.shape} and {B.shape}")
    return _rel_frob_from(A, B, float(np.vdot(A, A)), float(np.vdot(B, B)))


def _rel_frob_from(A: np.ndarray, B: np.ndarray, AA: float, BB: float) -> float:
    """:func:`relative_frobenius_change` given ``<A, A>`` and ``<B, B>``."""
    return float(np.linalg.norm(B - A) / np.sqrt(max(AA, BB)))


def kernel_target_alignment(K, y) -> float:
    """Centred kernel-target alignment ``cka(K, y y^T)``.

    Examples
    --------
    >>> y = np.array([1.0, -2.0, 0.5])
    >>> round(kernel_target_alignment(np.outer(y, y), y), 12)
    1.0
    """
    K = _square(K, "K")
    y = np.asarray(y, dtype=np.float64)
    if y.shape != (K.shape[0],):
        raise ValueError(f"y must have shape ({K.shape[0]},), got {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    return _kta_from(K, _KernelStats.of(K), y)


def _kta_from(K: np.ndarray, stats: _KernelStats, y: np.ndarray) -> float:
    """:func:`kernel_target_alignment` given the kernel's statistics."""
    # cka(K, y y^T) without the outer product: <HKH, H yy^T H> = yc' K yc, ||H yy^T H|| = ||yc||^2
    yc = y - y.mean()
    nk2 = _centred_from(stats.self_inner, stats.sums, stats.sums, K.shape[0])
    if nk2 <= 0 or not yc.any():
        raise ValueError("a centred kernel is zero: CKA is undefined")
    return float(yc @ K @ yc / (np.sqrt(nk2) * (yc @ yc)))


def _kernel_change(K0: np.ndarray, KT: np.ndarray, y: np.ndarray, stats0: _KernelStats | None = None) -> dict:
    """``cka`` (and ``cka_debiased`` for n >= 4), ``rel_frob``, ``kta_0`` and ``kta_T`` of the change
    ``K0 -> KT`` on points with labels ``y`` (n >= 2): the public functions' values, with each
    kernel's sums and inner products computed once (``stats0`` may be passed in for ``K0``)."""
    K0, KT = _square(K0, "K0"), _square(KT, "KT")
    if K0.shape != KT.shape:
        raise ValueError(f"K0 and KT must have the same shape, got {K0.shape} and {KT.shape}")
    s0 = _KernelStats.of(K0) if stats0 is None else stats0
    sT = _KernelStats.of(KT)
    cross = float(np.vdot(K0, KT))
    out = dict(cka=_cka_from(s0, sT, cross, False), rel_frob=_rel_frob_from(K0, KT, s0.self_inner, sT.self_inner),
               kta_0=_kta_from(K0, s0, y), kta_T=_kta_from(KT, sT, y))
    if K0.shape[0] >= 4:
        out["cka_debiased"] = _cka_from(s0, sT, cross, True)
    return out


def spectral_quality(features, target) -> np.ndarray:
    """``Pi*(k)``: fraction of ``||y||^2`` captured by the top-k left singular vectors of the features.

    Parameters
    ----------
    features : array_like, shape (m, p)
        Feature matrix on test inputs (rows are points), e.g. the last hidden layer.
        Not centred (the bias direction is a feature).
    target : array_like, shape (m,)
        Target values on the same points.

    Returns
    -------
    ndarray, shape (r,)
        ``Pi*(k)`` for ``k = 1..r`` with ``r = min(m, p)``; non-decreasing, at most 1.

    Examples
    --------
    >>> F = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> spectral_quality(F, np.array([0.0, 1.0, 0.0]))
    array([0., 1.])
    """
    return _spectral_summary(features, target)[0]


def _spectral_summary(features, target) -> tuple[np.ndarray, float]:
    """``(spectral_quality(features, target), effective_rank(features))`` from one SVD."""
    F = np.asarray(features, dtype=np.float64)
    y = np.asarray(target, dtype=np.float64)
    if F.ndim != 2:
        raise ValueError(f"features must be 2-d, got shape {F.shape}")
    if y.shape != (F.shape[0],):
        raise ValueError(f"target must have shape ({F.shape[0]},), got {y.shape}")
    if not (np.all(np.isfinite(F)) and np.all(np.isfinite(y))):
        raise ValueError("features or target contains NaN or inf")
    norm2 = float(y @ y)
    if norm2 == 0:
        raise ValueError("target is zero: Pi*(k) is undefined")
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    order = np.argsort(-s, kind="stable")
    return np.cumsum((U[:, order].T @ y) ** 2) / norm2, _entropy_rank(s)


def k95(pi_star, level: float = 0.95) -> float:
    """Smallest ``k`` with ``Pi*(k) >= level`` (NaN if never reached).

    Examples
    --------
    >>> k95([0.5, 0.9, 0.96, 1.0])
    3.0
    """
    p = np.asarray(pi_star, dtype=np.float64)
    hit = np.nonzero(p >= level)[0]
    return float(hit[0] + 1) if hit.size else float("nan")


def effective_rank(features) -> float:
    """Entropy effective rank ``exp(H(s / sum s))`` of the singular values (Roy & Vetterli 2007).

    Examples
    --------
    >>> round(effective_rank(np.eye(4)), 6)
    4.0
    """
    F = np.asarray(features, dtype=np.float64)
    if F.ndim != 2 or not np.all(np.isfinite(F)):
        raise ValueError("features must be a finite 2-d array")
    return _entropy_rank(np.linalg.svd(F, compute_uv=False))


def _entropy_rank(s: np.ndarray) -> float:
    if s.sum() == 0:
        return 0.0
    p = s / s.sum()
    p = p[p > 0]
    return float(np.exp(-np.sum(p * np.log(p))))


def relative_weight_change(weights_0, weights_T) -> list[float]:
    """``||W_T - W_0||_F / ||W_0||_F`` for each layer's weight matrix.

    Examples
    --------
    >>> relative_weight_change([np.ones((2, 2))], [2 * np.ones((2, 2))])
    [1.0]
    """
    if len(weights_0) != len(weights_T):
        raise ValueError("weights_0 and weights_T must list the same layers")
    out = []
    for j, (a, b) in enumerate(zip(weights_0, weights_T)):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            raise ValueError(f"layer {j}: shapes differ {a.shape} vs {b.shape}")
        out.append(float(np.linalg.norm(b - a) / np.linalg.norm(a)))
    return out
