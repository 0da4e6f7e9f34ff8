"""Infinite-width kernels of the ReLU MLP and kernel ridge regression (numpy, float64).

Parameterisation (shared with :mod:`rnnexplore.featurequality.mlp`): ``L`` hidden layers of
width ``n``, ``h_1 = W_1 x + b_1``, ``h_{l+1} = W_{l+1} relu(h_l) + b_{l+1}``, output
``f = (W_out relu(h_L) + b_out) / gamma``; weights ``N(0, 1/fan_in)`` and biases zero at
initialisation ("standard" parameterisation, as trained with Adam).

With ``q_1(x, x') = <x, x'>/d`` and the arc-cosine maps
``q_{l+1} = E[relu(u) relu(v)]`` and ``p_l = E[relu'(u) relu'(v)]`` for ``(u, v)`` Gaussian
with covariance ``q_l``, the expected empirical NTK at initialisation is

``Theta(x, x') = sum_{l=1}^{L+1} P_l (m_{l-1} q_l(x, x') + 1)``,
``P_{L+1} = 1/gamma^2``, ``P_l = P_{l+1} p_l``, ``m_0 = d``, ``m_l = n``,

the layer-factorised form ``sum_l <delta_l, delta_l'> (<a_{l-1}, a_{l-1}'> + 1)`` with each
inner product replaced by its infinite-width limit at the given widths (the ``+1`` are the
biases). As ``n -> infinity`` the bias and first-layer terms become negligible next to the
``O(n)`` weight terms; keeping the actual widths makes :func:`analytic_ntk` the mean of the
finite network's NTK at init, which is what the tests check. Kernel ridge regression with a
ridge proportional to ``tr(K)/n`` is invariant to the overall scale of a kernel.

Examples
--------
>>> import numpy as np
>>> X = np.array([[1.0, -1.0], [1.0, 1.0]])
>>> K = analytic_ntk(X, depth=2, width=64)
>>> K.shape, bool(np.allclose(K, K.T))
((2, 2), True)
"""

from __future__ import annotations

import numpy as np

from rnnexplore._validation import check_array, check_int, check_real

__all__ = [
    "analytic_ntk",
    "analytic_nngp",
    "KernelRidge",
    "linear_kernel_ridge",
    "default_ridge",
    "DEFAULT_RELATIVE_RIDGE",
]

#: Ridge used by :class:`KernelRidge` when none is given: ``1e-6 * tr(K) / n``.
DEFAULT_RELATIVE_RIDGE = 1e-6


def _check_matrix(X, name: str, d: int | None = None) -> np.ndarray:
    X = check_array(X, name, ndim=2)
    if X.shape[0] < 1:
        raise ValueError(f"{name} must have at least one row")
    if d is not None and X.shape[1] != d:
        raise ValueError(f"{name} must have {d} columns, got {X.shape[1]}")
    return X


def _check_arch(depth, width, gamma) -> tuple[int, int, float]:
    return (check_int(depth, "depth", minimum=1, maximum=1000), check_int(width, "width", minimum=1),
            check_real(gamma, "gamma", minimum=0.0, exclusive_minimum=True))


def _arccos_step(Q, qx, qy):
    """One ReLU layer: returns (E relu relu cross, diag x, diag y, E relu' relu' cross)."""
    norm = np.sqrt(np.outer(qx, qy))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norm > 0, Q / np.where(norm > 0, norm, 1.0), 0.0)
    np.clip(cos, -1.0, 1.0, out=cos)
    theta = np.arccos(cos)
    k1 = norm / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * cos)
    k0 = (np.pi - theta) / (2 * np.pi)
    return k1, qx / 2.0, qy / 2.0, k0


def _recursion_gram(Q, qx, qy, depth):
    qs, ps = [Q], []
    for _ in range(depth):
        Q, qx, qy, P = _arccos_step(Q, qx, qy)
        qs.append(Q)
        ps.append(P)
    return qs, ps  # qs[l] = q_{l+1} for l = 0..L, ps[l] = p_{l+1}


def _via_inner_products(X, Y, kernel_of_gram):
    """Evaluate a dot-product kernel (or a tuple of them), using a lookup table when it pays off.

    If all rows of ``X`` and ``Y`` have the same norm and integer entries (e.g. the
    Boolean cube), the kernel depends only on the integer ``<x, y>``: evaluate the
    recursion once per distinct value and index (exact, and much faster for large n).
    ``kernel_of_gram(Q, qx, qy)`` returns one array or a tuple of arrays (then so does this,
    all from one Gram matrix and one index).
    """
    d = X.shape[1]
    nx = np.einsum("ij,ij->i", X, X)
    ny = np.einsum("ij,ij->i", Y, Y)
    G = X @ Y.T
    integer = np.array_equal(X, np.rint(X)) and np.array_equal(Y, np.rint(Y))
    if integer and np.all(nx == nx[0]) and np.all(ny == nx[0]):
        Gi = np.rint(G).astype(np.int64)
        lo = int(Gi.min())
        values = np.arange(lo, int(Gi.max()) + 1, dtype=np.float64)[None, :] / d
        q = np.array([nx[0] / d])
        tables = kernel_of_gram(values, q, q)
        Gi -= lo
        if isinstance(tables, tuple):
            return tuple(t[0][Gi] for t in tables)
        return tables[0][Gi]
    return kernel_of_gram(G / d, nx / d, ny / d)


def analytic_nngp(X, Y=None, *, depth: int, gamma: float = 1.0) -> np.ndarray:
    """Infinite-width NNGP kernel of the output (the last hidden layer's conjugate kernel).

    ``K(x, x') = q_{L+1}(x, x') / gamma^2``: the covariance of the network output at
    initialisation, proportional to ``<a_L(x), a_L(x')>/n`` at infinite width.

    Parameters
    ----------
    X : array_like, shape (n1, d)
    Y : array_like, shape (n2, d), optional
        Defaults to ``X``.
    depth : int
        Number of hidden layers.
    gamma : float
        Output scale (the output is divided by ``gamma``).

    Returns
    -------
    ndarray, shape (n1, n2), float64

    Examples
    --------
    >>> X = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> np.round(analytic_nngp(X, depth=1), 4)  # q = 1/2 on the diagonal, 1/(2 pi) at 90 deg
    array([[0.5   , 0.1592],
           [0.1592, 0.5   ]])
    """
    depth, _, gamma = _check_arch(depth, 1, gamma)
    X = _check_matrix(X, "X")
    Y = X if Y is None else _check_matrix(Y, "Y", X.shape[1])
    return _via_inner_products(X, Y, lambda Q, qx, qy: _recursion_gram(Q, qx, qy, depth)[0][-1] / gamma**2)


def analytic_ntk(X, Y=None, *, depth: int, width: int, gamma: float = 1.0) -> np.ndarray:
    """Analytic NTK of the ReLU MLP at the given widths (mean of the empirical NTK at init).

    See the module docstring for the recursion and the parameterisation.

    Parameters
    ----------
    X : array_like, shape (n1, d)
    Y : array_like, shape (n2, d), optional
        Defaults to ``X``.
    depth : int
        Number of hidden layers ``L >= 1``.
    width : int
        Hidden width ``n`` (sets the weight of the bias and first-layer terms).
    gamma : float, default 1
        Output scale: ``f = (W_out a_L + b_out) / gamma``.

    Returns
    -------
    ndarray, shape (n1, n2), float64

    Examples
    --------
    >>> X = np.array([[1.0, 1.0], [1.0, -1.0]])
    >>> K = analytic_ntk(X, depth=1, width=10)
    >>> float(K[0, 0])  # P_2 (n q_2 + 1) + P_1 (d q_1 + 1) = (10/2 + 1) + (1/2)(2 + 1)
    7.5
    """
    depth, width, gamma = _check_arch(depth, width, gamma)
    X = _check_matrix(X, "X")
    Y = X if Y is None else _check_matrix(Y, "Y", X.shape[1])
    d = X.shape[1]
    return _via_inner_products(X, Y, lambda Q, qx, qy: _ntk_of_gram(Q, qx, qy, d, depth, width, gamma))


def _ntk_of_gram(Q, qx, qy, d, depth, width, gamma):
    return _ntk_from_recursion(*_recursion_gram(Q, qx, qy, depth), d, depth, width, gamma)


def _ntk_from_recursion(qs, ps, d, depth, width, gamma):
    P = np.full_like(qs[0], 1.0 / gamma**2)
    K = P * (width * qs[depth] + 1.0)  # output layer
    for layer in range(depth, 0, -1):  # hidden layers L..1 (1-based)
        P = P * ps[layer - 1]
        fan_in = d if layer == 1 else width
        K += P * (fan_in * qs[layer - 1] + 1.0)
    return K


def _analytic_kernels(X, Y=None, *, depth: int, width: int, gamma: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """``(analytic_ntk(X, Y, ...), analytic_nngp(X, Y, ...))`` from one Gram matrix and one recursion."""
    depth, width, gamma = _check_arch(depth, width, gamma)
    X = _check_matrix(X, "X")
    Y = X if Y is None else _check_matrix(Y, "Y", X.shape[1])
    d = X.shape[1]

    def both(Q, qx, qy):
        qs, ps = _recursion_gram(Q, qx, qy, depth)
        return _ntk_from_recursion(qs, ps, d, depth, width, gamma), qs[-1] / gamma**2

    return _via_inner_products(X, Y, both)


def default_ridge(K: np.ndarray, relative: float = DEFAULT_RELATIVE_RIDGE) -> float:
    """The documented default ridge ``relative * tr(K) / n`` (scale-free).

    Examples
    --------
    >>> default_ridge(np.eye(3) * 2.0)
    2e-06
    """
    K = np.asarray(K)
    return float(relative * np.trace(K) / K.shape[0])


class KernelRidge:
    """Kernel ridge regression on precomputed kernels, in float64.

    Solves ``(K + ridge I) alpha = y`` by Cholesky (falling back to a symmetric
    eigendecomposition if ``K + ridge I`` is numerically not positive definite) and
    predicts ``K_test_train @ alpha``.

    Parameters
    ----------
    ridge : float, optional
        Absolute ridge. Default ``relative_ridge * tr(K) / n``.
    relative_ridge : float, default 1e-6
        Used when ``ridge`` is None; makes the fit invariant to the kernel's scale.

    Attributes
    ----------
    alpha_ : ndarray, shape (n,) or (n, m)
    ridge_ : float
        The ridge actually used.

    Examples
    --------
    >>> K = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> krr = KernelRidge(ridge=1e-12).fit(K, np.array([1.0, -1.0]))
    >>> np.round(krr.predict(K), 6)
    array([ 1., -1.])
    """

    def __init__(self, ridge: float | None = None, relative_ridge: float = DEFAULT_RELATIVE_RIDGE):
        if ridge is not None and (not np.isfinite(ridge) or ridge < 0):
            raise ValueError(f"ridge must be finite and >= 0, got {ridge}")
        if not np.isfinite(relative_ridge) or relative_ridge < 0:
            raise ValueError(f"relative_ridge must be finite and >= 0, got {relative_ridge}")
        self.ridge = ridge
        self.relative_ridge = float(relative_ridge)

    def fit(self, K, y) -> KernelRidge:
        """Fit on the train kernel ``K`` (n, n) and labels ``y``: shape (n,), or (n, m) for ``m``
        label vectors at once (one factorisation, e.g. clean and shuffled labels)."""
        from scipy.linalg import cho_factor, cho_solve, eigh

        K = np.asarray(K, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if K.ndim != 2 or K.shape[0] != K.shape[1]:
            raise ValueError(f"K must be a square matrix, got shape {K.shape}")
        if y.ndim not in (1, 2) or y.shape[0] != K.shape[0]:
            raise ValueError(f"y must have shape ({K.shape[0]},) or ({K.shape[0]}, m), got {y.shape}")
        if not (np.all(np.isfinite(K)) and np.all(np.isfinite(y))):
            raise ValueError("K or y contains NaN or inf")
        ridge = default_ridge(K, self.relative_ridge) if self.ridge is None else float(self.ridge)
        def shifted():
            A = K.copy()
            A.flat[:: K.shape[0] + 1] += ridge
            return A

        try:
            self.alpha_ = cho_solve(cho_factor(shifted(), lower=True, overwrite_a=True, check_finite=False), y,
                                    check_finite=False)
        except np.linalg.LinAlgError:
            A = shifted()
            w, V = eigh((A + A.T) / 2)
            tol = max(ridge, np.finfo(float).eps * max(abs(w).max(), 1.0) * K.shape[0])
            coef = V.T @ y
            self.alpha_ = V @ (coef / (np.maximum(w, tol) if y.ndim == 1 else np.maximum(w, tol)[:, None]))
        self.ridge_ = ridge
        return self

    def predict(self, K_test_train) -> np.ndarray:
        """Predictions ``K_test_train @ alpha`` for a (m, n) cross kernel (one column per label vector)."""
        K_test_train = np.asarray(K_test_train, dtype=np.float64)
        if K_test_train.ndim != 2 or K_test_train.shape[1] != self.alpha_.shape[0]:
            raise ValueError(f"K_test_train must have shape (m, {self.alpha_.shape[0]}), got {K_test_train.shape}")
        return K_test_train @ self.alpha_


def linear_kernel_ridge(F_train, F_test, y, *, ridge: float | None = None,
                        relative_ridge: float = DEFAULT_RELATIVE_RIDGE) -> np.ndarray:
    """KRR predictions with the linear kernel ``K = F F^T``, solved in feature space.

    Equal to ``KernelRidge(ridge, relative_ridge).fit(F_train @ F_train.T, y).predict(F_test @ F_train.T)``
    by the push-through identity ``F^T (F F^T + r I)^{-1} = (F^T F + r I)^{-1} F^T``, at cost
    ``O(n p^2)`` instead of ``O(n^3)`` (``p`` features, ``n`` training points; the two have the same
    condition number). The default ridge is the same ``relative_ridge * tr(K) / n`` with
    ``tr(K) = ||F_train||_F^2``.

    Parameters
    ----------
    F_train : array_like, shape (n, p)
    F_test : array_like, shape (m, p)
    y : array_like, shape (n,) or (n, k)
    ridge, relative_ridge : as in :class:`KernelRidge`

    Returns
    -------
    ndarray, shape (m,) or (m, k)

    Examples
    --------
    >>> F = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]); y = np.array([1.0, 2.0, 3.0])
    >>> np.round(linear_kernel_ridge(F, F, y, ridge=1e-9), 6)  # y lies in the span of F's columns
    array([1., 2., 3.])
    """
    from scipy.linalg import cho_factor, cho_solve, eigh

    F = check_array(F_train, "F_train", ndim=2, min_size=1)
    G = check_array(F_test, "F_test", ndim=2)
    y = check_array(y, "y", ndim=(1, 2))
    if G.shape[1] != F.shape[1]:
        raise ValueError(f"F_test must have {F.shape[1]} columns like F_train, got {G.shape[1]}")
    if y.ndim not in (1, 2) or y.shape[0] != F.shape[0]:
        raise ValueError(f"y must have shape ({F.shape[0]},) or ({F.shape[0]}, k), got {y.shape}")
    relative_ridge = check_real(relative_ridge, "relative_ridge", minimum=0.0)
    if ridge is None:
        ridge = relative_ridge * float(np.vdot(F, F)) / F.shape[0]
    ridge = check_real(ridge, "ridge", minimum=0.0)
    A = F.T @ F
    A.flat[:: A.shape[0] + 1] += ridge
    b = F.T @ y
    try:
        w = cho_solve(cho_factor(A, lower=True, check_finite=False), b, check_finite=False)
    except np.linalg.LinAlgError:
        lam, V = eigh((A + A.T) / 2)
        tol = max(ridge, np.finfo(float).eps * max(abs(lam).max(), 1.0) * A.shape[0])
        coef = V.T @ b
        w = V @ (coef / (np.maximum(lam, tol) if b.ndim == 1 else np.maximum(lam, tol)[:, None]))
    return G @ w
