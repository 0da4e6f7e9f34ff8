"""Tasks: staircase functions on the Boolean cube, multi-index polynomials, a user's arrays.

Every task has the same small protocol, used by :func:`~rnnexplore.featurequality.compare`:
``name``, ``d``, ``variance`` (of the clean target), ``train_set(n, seed)`` and
``test_set(n, seed)`` (each ``(X, y)``), and ``relevant_basis()`` (an orthonormal ``(d, k)``
basis of the directions the target depends on, or ``None`` if unknown).

- :class:`Staircase` - sums of parities on ``{-1, +1}^d`` (below);
- :class:`MultiIndex` - ``f(x) = g(U^T x)`` on Gaussian inputs, ``g`` a sum of products of
  normalised Hermite polynomials of the ``k`` projected coordinates (:func:`multi_index`);
- :class:`ArrayTask` - a user's ``(X, y)`` with a fixed held-out test split.

A staircase function is a sum of monomials (parities) ``x_S = prod_{i in S} x_i`` on
``x`` uniform on ``{-1, +1}^d`` such that, in the given order, every term adds at most
one coordinate not used by the terms before it (the *merged-staircase property* of
Abbe, Boix-Adsera and Misiakiewicz, 2022). Distinct monomials are orthonormal under the
uniform measure, so ``Var(f)`` equals the number of (distinct, non-constant) terms.

Examples
--------
>>> from rnnexplore.featurequality.tasks import classic_staircase
>>> task = classic_staircase(4, d=20)
>>> task.terms
((0,), (0, 1), (0, 1, 2), (0, 1, 2, 3))
>>> task.variance
4.0
>>> X, y = task.sample(5, seed=0)
>>> X.shape, y.shape
((5, 20), (5,))
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnexplore._validation import check_int, check_memory, check_seed

__all__ = [
    "Task",
    "MultiIndex",
    "multi_index",
    "ArrayTask",
    "Staircase",
    "staircase",
    "classic_staircase",
    "paper_staircase",
    "is_merged_staircase",
    "shuffle_labels",
    "task_from_dict",
    "MULTI_INDEX_TERMS",
]


def _normalise_terms(terms: Iterable[Iterable[int]]) -> tuple[tuple[int, ...], ...]:
    try:
        raw = [list(t) for t in terms]
    except TypeError:
        raise ValueError("terms must be a sequence of index sequences, e.g. [(0,), (0, 1)]") from None
    if not raw:
        raise ValueError("terms must not be empty")
    out = []
    for j, t in enumerate(raw):
        if not t:
            raise ValueError(f"terms[{j}] is empty: the constant term is not allowed")
        idx = []
        for i in t:
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)):
                raise ValueError(f"terms[{j}] contains {i!r}: indices must be integers")
            if i < 0:
                raise ValueError(f"terms[{j}] contains negative index {int(i)}")
            idx.append(int(i))
        if len(set(idx)) != len(idx):
            raise ValueError(f"terms[{j}] = {tuple(idx)} repeats an index (x_i^2 = 1 on the cube)")
        out.append(tuple(sorted(idx)))
    if len(set(out)) != len(out):
        raise ValueError("terms contains the same monomial twice")
    return tuple(out)


def is_merged_staircase(terms: Iterable[Iterable[int]]) -> bool:
    """Whether each term adds at most one coordinate not used by the terms before it.

    Parameters
    ----------
    terms : sequence of sequences of int
        Monomials in the order given.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_merged_staircase([(0,), (0, 1), (1, 2)])
    True
    >>> is_merged_staircase([(0,), (1, 2)])
    False
    """
    used: set[int] = set()
    for t in terms:
        if len(set(t) - used) > 1:
            return False
        used.update(t)
    return True


@dataclass(frozen=True)
class Staircase:
    """A sum of parities ``f(x) = sum_S prod_{i in S} x_i`` on ``{-1, +1}^d``.

    Build one with :func:`staircase`, :func:`classic_staircase` or
    :func:`paper_staircase` (they validate their input).

    Attributes
    ----------
    d : int
        Input dimension.
    terms : tuple of tuple of int
        The monomials (sorted index tuples).
    name : str
        A short label used in tables and plots.

    Examples
    --------
    >>> task = staircase(3, [(0,), (0, 1)])
    >>> task(np.array([[1, -1, 1]]))
    array([0.])
    """

    d: int
    terms: tuple[tuple[int, ...], ...]
    name: str = field(default="staircase")

    @property
    def variance(self) -> float:
        """``Var(f)`` under the uniform measure: the number of terms (orthonormal parities)."""
        return float(len(self.terms))

    @property
    def n_terms(self) -> int:
        """Number of monomials."""
        return len(self.terms)

    @property
    def degree(self) -> int:
        """Largest monomial degree."""
        return max(len(t) for t in self.terms)

    @property
    def support(self) -> tuple[int, ...]:
        """Coordinates the function depends on."""
        return tuple(sorted({i for t in self.terms for i in t}))

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate ``f`` on the rows of ``X`` (shape ``(n, d)``), returns float64 ``(n,)``."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.d:
            raise ValueError(f"X must have shape (n, {self.d}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        y = np.zeros(X.shape[0])
        for t in self.terms:
            y += np.prod(X[:, list(t)], axis=1)
        return y

    def sample(self, n: int, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``n`` inputs uniformly from the cube and their labels.

        Parameters
        ----------
        n : int
            Number of samples (>= 1).
        seed : int or numpy.random.SeedSequence
            Seed of the generator. The rows are drawn one after another, so the first
            ``m`` rows for ``n > m`` equal the sample for ``m`` (nested training sets).

        Returns
        -------
        X : ndarray, shape (n, d), float64 with entries +-1
        y : ndarray, shape (n,), float64

        Examples
        --------
        >>> X, y = classic_staircase(2, 4).sample(3, seed=1)
        >>> set(np.unique(X)) <= {-1.0, 1.0}
        True
        """
        n = check_int(n, "n", minimum=1)
        check_memory((n, self.d), "n")
        rng = np.random.default_rng(check_seed(seed))
        X = 2.0 * rng.integers(0, 2, size=(n, self.d)).astype(np.float64) - 1.0
        return X, self(X)

    def train_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """Training inputs and clean labels: :meth:`sample`."""
        return self.sample(n, seed)

    def test_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """Fresh test inputs and clean labels: :meth:`sample`."""
        return self.sample(n, seed)

    def relevant_basis(self) -> np.ndarray:
        """Unit vectors of the :attr:`support` coordinates, shape ``(d, len(support))``.

        Examples
        --------
        >>> classic_staircase(2, 4).relevant_basis()[:, 1]
        array([0., 1., 0., 0.])
        """
        return np.eye(self.d)[:, list(self.support)]

    def to_dict(self) -> dict:
        """Plain-data form (JSON-able); inverse of :meth:`from_dict`."""
        return {"kind": "staircase", "d": self.d, "terms": [list(t) for t in self.terms], "name": self.name}

    @classmethod
    def from_dict(cls, data: dict) -> Staircase:
        """Rebuild (and re-validate, without the staircase check) from :meth:`to_dict`."""
        return staircase(int(data["d"]), data["terms"], check=False, name=data.get("name", "staircase"))


def staircase(d: int, terms: Sequence[Sequence[int]], *, check: bool = True, name: str = "staircase") -> Staircase:
    """A sum of parities on ``{-1, +1}^d``, checked for the merged-staircase property.

    Parameters
    ----------
    d : int
        Input dimension; must exceed every index in ``terms``.
    terms : sequence of sequences of int
        Monomials, e.g. ``[(0,), (0, 1), (0, 1, 2)]``. Order matters for the check.
    check : bool, default True
        Raise if the terms are not a merged staircase (each term adds at most one new
        coordinate). ``check=False`` allows any sum of distinct parities.
    name : str
        Label for tables and plots.

    Returns
    -------
    Staircase

    Raises
    ------
    ValueError
        Empty ``terms``, bad indices, ``d`` too small, or (with ``check``) not a staircase.

    Examples
    --------
    >>> staircase(5, [(0,), (0, 1), (1, 2)]).variance
    3.0
    >>> staircase(5, [(0, 1)])
    Traceback (most recent call last):
    ...
    ValueError: terms is not a merged staircase: terms[0] = (0, 1) adds 2 new coordinates (0, 1); pass check=False to allow it
    """
    d = check_int(d, "d", minimum=1)
    terms_n = _normalise_terms(terms)
    top = max(max(t) for t in terms_n)
    if d < top + 1:
        raise ValueError(f"d = {d} is too small: terms use index {top}, so d must be >= {top + 1}")
    if check:
        used: set[int] = set()
        for j, t in enumerate(terms_n):
            new = sorted(set(t) - used)
            if len(new) > 1:
                raise ValueError(
                    f"terms is not a merged staircase: terms[{j}] = {t} adds {len(new)} new "
                    f"coordinates {tuple(new)}; pass check=False to allow it"
                )
            used.update(t)
    return Staircase(d=d, terms=terms_n, name=str(name))


def classic_staircase(k: int, d: int) -> Staircase:
    """The classic staircase ``S_k = x0 + x0 x1 + … + x0 x1 … x(k-1)``.

    Examples
    --------
    >>> classic_staircase(3, 10).terms
    ((0,), (0, 1), (0, 1, 2))
    """
    k = check_int(k, "k", minimum=1, maximum=10**4)  # k terms of up to k indices
    return staircase(d, [tuple(range(j + 1)) for j in range(k)], name=f"S{k}")


#: The paper's main task: 8 terms of degree 1..7 on 8 coordinates, each adding at most one
#: new coordinate (Goering et al. 2025, staircase with Var = 8).
PAPER_TERMS: tuple[tuple[int, ...], ...] = (
    (0,),
    (0, 1),
    (0, 1, 2),
    (0, 1, 2, 3),
    (0, 1, 2, 3, 4),
    (0, 1, 2, 3, 4, 5),
    (0, 1, 2, 3, 4, 5, 6),
    (1, 2, 3, 4, 5, 6, 7),
)


def paper_staircase(d: int = 30) -> Staircase:
    """The paper's 8-term staircase (degrees 1-7 on 8 coordinates, ``Var = 8``), default ``d = 30``.

    The terms are ``S_7`` (degrees 1..7 on x0..x6) plus ``x1 x2 ... x7``, which adds the
    eighth coordinate: a merged staircase with the paper's shape (8 terms, degrees 1-7,
    8 relevant coordinates). The paper's exact term list may differ in which degree repeats.

    Examples
    --------
    >>> t = paper_staircase()
    >>> t.d, t.n_terms, t.degree, len(t.support), t.variance
    (30, 8, 7, 8, 8.0)
    """
    return staircase(d, PAPER_TERMS, name="paper8")


def shuffle_labels(y: np.ndarray, seed: int | np.random.SeedSequence = 0) -> np.ndarray:
    """A random permutation of the labels (the memorisation control).

    Examples
    --------
    >>> sorted(shuffle_labels(np.arange(4.0), seed=0)) == [0.0, 1.0, 2.0, 3.0]
    True
    """
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-d, got shape {y.shape}")
    if not np.all(np.isfinite(y)):
        raise ValueError("y contains NaN or inf")
    return np.random.default_rng(seed).permutation(y)


# ----------------------------------------------------------------------------- multi-index
def _hermite(k: int, z: np.ndarray) -> np.ndarray:
    """Normalised probabilists' Hermite polynomial ``He_k(z) / sqrt(k!)`` (orthonormal under N(0, 1))."""
    from numpy.polynomial.hermite_e import hermeval

    c = np.zeros(k + 1)
    c[k] = 1.0
    return hermeval(z, c) / math.sqrt(math.factorial(k))


@dataclass(frozen=True)
class MultiIndex:
    """``f(x) = sum_t prod_i h_{t_i}(z_i)`` with ``z = U^T x`` and ``x ~ N(0, I_d)``.

    ``h_k = He_k / sqrt(k!)`` are the normalised probabilists' Hermite polynomials; ``U`` is a
    ``(d, k)`` matrix with orthonormal columns, so ``z ~ N(0, I_k)`` and distinct terms are
    orthonormal: ``Var(f) = number of terms``. Build one with :func:`multi_index`.

    Attributes
    ----------
    d : int
    basis : tuple of tuples
        ``U`` row by row (``d`` rows of ``k`` numbers).
    terms : tuple of tuple of int
        Per term, the Hermite degree of each of the ``k`` projected coordinates.
    name : str

    Examples
    --------
    >>> task = multi_index(d=6, terms=[(1, 0, 0), (1, 1, 0)], seed=0)
    >>> X, y = task.sample(3, seed=0)
    >>> X.shape, task.variance, task.relevant_basis().shape
    ((3, 6), 2.0, (6, 3))
    """

    d: int
    basis: tuple[tuple[float, ...], ...]
    terms: tuple[tuple[int, ...], ...]
    name: str = field(default="multi-index")

    @property
    def k(self) -> int:
        """Dimension of the relevant subspace."""
        return len(self.basis[0])

    @property
    def variance(self) -> float:
        """``Var(f)``: the number of terms (orthonormal Hermite products)."""
        return float(len(self.terms))

    def relevant_basis(self) -> np.ndarray:
        """``U``, shape ``(d, k)``, orthonormal columns."""
        return np.asarray(self.basis, dtype=np.float64)

    def __call__(self, X: np.ndarray) -> np.ndarray:
        """Evaluate ``f`` on the rows of ``X`` (shape ``(n, d)``)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.d:
            raise ValueError(f"X must have shape (n, {self.d}), got {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or inf")
        Z = X @ self.relevant_basis()
        y = np.zeros(X.shape[0])
        for t in self.terms:
            term = np.ones(X.shape[0])
            for i, deg in enumerate(t):
                if deg:
                    term *= _hermite(deg, Z[:, i])
            y += term
        return y

    def sample(self, n: int, seed: int | np.random.SeedSequence = 0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` standard Gaussian inputs (rows drawn in order: nested in ``n``) and their labels."""
        n = check_int(n, "n", minimum=1)
        X = np.random.default_rng(seed).standard_normal((n, self.d))
        return X, self(X)

    def train_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """Training inputs and clean labels: :meth:`sample`."""
        return self.sample(n, seed)

    def test_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """Fresh test inputs and clean labels: :meth:`sample`."""
        return self.sample(n, seed)

    def to_dict(self) -> dict:
        """Plain-data form (JSON-able)."""
        return {"kind": "multi-index", "d": self.d, "basis": [list(r) for r in self.basis],
                "terms": [list(t) for t in self.terms], "name": self.name}


#: Default terms of :func:`multi_index`: the Gaussian staircase ``z1 + z1 z2 + z1 z2 z3``.
MULTI_INDEX_TERMS = ((1, 0, 0), (1, 1, 0), (1, 1, 1))


def multi_index(d: int = 20, terms: Sequence[Sequence[int]] = MULTI_INDEX_TERMS, *, seed: int = 0,
                basis=None, name: str = "multi-index") -> MultiIndex:
    """A polynomial of a ``k``-dimensional projection of Gaussian inputs (the paper's multi-index task).

    Parameters
    ----------
    d : int, default 20
        Input dimension.
    terms : sequence of sequences of int
        Per term, the Hermite degree of each projected coordinate (all of length ``k``);
        default ``z1 + z1 z2 + z1 z2 z3`` (``k = 3``, ``Var = 3``).
    seed : int
        Seed of the random orthonormal ``U`` (QR of a Gaussian matrix) when ``basis`` is None.
    basis : array_like, shape (d, k), optional
        The projection ``U``; orthonormalised (QR) if its columns are not orthonormal.
    name : str

    Returns
    -------
    MultiIndex

    Examples
    --------
    >>> t = multi_index()
    >>> t.d, t.k, t.variance
    (20, 3, 3.0)
    >>> multi_index(4, [(1, 0), (0, 0)])
    Traceback (most recent call last):
    ...
    ValueError: terms[1] is constant: every term needs a positive degree
    """
    d = check_int(d, "d", minimum=1)
    try:
        raw = [tuple(int(v) if isinstance(v, (int, np.integer)) and not isinstance(v, bool) else v for v in t)
               for t in terms]
    except TypeError:
        raise ValueError("terms must be a sequence of degree sequences, e.g. [(1, 0, 0), (1, 1, 0)]") from None
    if not raw:
        raise ValueError("terms must not be empty")
    k = len(raw[0])
    for j, t in enumerate(raw):
        if len(t) != k or k < 1:
            raise ValueError(f"terms[{j}] has {len(t)} degrees; every term needs k = {k} >= 1")
        if any(not isinstance(v, int) or v < 0 for v in t):
            raise ValueError(f"terms[{j}] = {t}: degrees must be integers >= 0")
        if sum(t) == 0:
            raise ValueError(f"terms[{j}] is constant: every term needs a positive degree")
    if len(set(raw)) != len(raw):
        raise ValueError("terms contains the same term twice")
    if k > d:
        raise ValueError(f"k = {k} projected coordinates need d >= {k}, got d = {d}")
    if basis is None:
        U = np.random.default_rng(seed).standard_normal((d, k))
    else:
        U = np.asarray(basis, dtype=np.float64)
        if U.shape != (d, k) or not np.all(np.isfinite(U)):
            raise ValueError(f"basis must be a finite ({d}, {k}) array, got shape {U.shape}")
    if np.allclose(U.T @ U, np.eye(k), rtol=0, atol=1e-12):
        Q = U  # already orthonormal (e.g. from to_dict): keep it exactly
    else:
        Q, R = np.linalg.qr(U)
        if np.min(np.abs(np.diag(R))) < 1e-12 * max(1.0, np.abs(R).max()):
            raise ValueError("basis has linearly dependent columns")
        Q = Q * np.sign(np.diag(R))  # keep the given directions' signs
    return MultiIndex(d=d, basis=tuple(tuple(float(v) for v in row) for row in Q), terms=tuple(raw), name=str(name))


# ----------------------------------------------------------------------------- user arrays
class ArrayTask:
    """A user's data ``(X, y)`` as a task, with a fixed held-out test split.

    ``test_fraction`` of the rows (at least one) are held out once, by a permutation drawn
    from ``split_seed``; :meth:`train_set` draws training sets only from the other rows and
    :meth:`test_set` returns held-out rows only, so train and test never overlap.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    test_fraction : float, default 0.25
    split_seed : int, default 0
    name : str, default "data"
    relevant_basis : array_like, shape (d, k), optional
        Known relevant directions (for the feature view); orthonormalised.

    Attributes
    ----------
    n_pool : int
        Rows available for training.
    n_held_out : int
        Rows in the test split.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((40, 3)); y = X[:, 0] * X[:, 1]
    >>> task = ArrayTask(X, y, test_fraction=0.25)
    >>> task.n_pool, task.n_held_out
    (30, 10)
    >>> Xtr, _ = task.train_set(20, seed=1); Xte, _ = task.test_set(10)
    >>> bool((Xtr[:, None, :] == Xte[None]).all(-1).any())  # no test row in the training set
    False
    """

    def __init__(self, X, y, *, test_fraction: float = 0.25, split_seed: int = 0, name: str = "data",
                 relevant_basis=None):
        X = np.asarray(X, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] < 2 or X.shape[1] < 1:
            raise ValueError(f"X must be 2-d (n, d) with n >= 2, got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"y must have shape ({X.shape[0]},), got {y.shape}")
        if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
            raise ValueError("X or y contains NaN or inf")
        if not (isinstance(test_fraction, (int, float)) and 0 < test_fraction < 1):
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        n = X.shape[0]
        n_test = min(n - 1, max(1, int(round(test_fraction * n))))
        perm = np.random.default_rng(split_seed).permutation(n)
        self._test_idx, self._pool_idx = perm[:n_test], perm[n_test:]
        self.X, self.y = X, y
        self.d = X.shape[1]
        self.name = str(name)
        self.test_fraction, self.split_seed = float(test_fraction), int(split_seed)
        self._basis = None
        if relevant_basis is not None:
            U = np.asarray(relevant_basis, dtype=np.float64)
            if U.ndim != 2 or U.shape[0] != self.d or not np.all(np.isfinite(U)):
                raise ValueError(f"relevant_basis must be a finite ({self.d}, k) array, got shape {U.shape}")
            self._basis = np.linalg.qr(U)[0]

    @property
    def n_pool(self) -> int:
        return len(self._pool_idx)

    @property
    def n_held_out(self) -> int:
        return len(self._test_idx)

    @property
    def variance(self) -> float:
        """Variance of the held-out labels (the error of predicting their mean)."""
        return float(np.var(self.y[self._test_idx]))

    def relevant_basis(self) -> np.ndarray | None:
        """The ``relevant_basis`` given at construction, or None."""
        return None if self._basis is None else self._basis.copy()

    def train_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """``n`` distinct training rows (a seeded permutation of the pool; nested in ``n``)."""
        n = check_int(n, "n_train", minimum=1)
        if n > self.n_pool:
            raise ValueError(f"n_train = {n} exceeds the {self.n_pool} rows available for training")
        idx = self._pool_idx[np.random.default_rng(seed).permutation(self.n_pool)[:n]]
        return self.X[idx], self.y[idx]

    def test_set(self, n: int, seed=0) -> tuple[np.ndarray, np.ndarray]:
        """The first ``min(n, n_held_out)`` held-out rows (``seed`` is unused: the split is fixed)."""
        n = min(check_int(n, "n_test", minimum=1), self.n_held_out)
        idx = self._test_idx[:n]
        return self.X[idx], self.y[idx]

    def __repr__(self) -> str:
        return f"ArrayTask({self.name!r}, d={self.d}, pool={self.n_pool}, held_out={self.n_held_out})"


#: Anything with the task protocol (see the module docstring).
Task = Staircase | MultiIndex | ArrayTask


def task_from_dict(data: dict):
    """Rebuild a :class:`Staircase` or :class:`MultiIndex` from its ``to_dict()`` form.

    Examples
    --------
    >>> t = multi_index(5, [(1, 1)], seed=2)
    >>> task_from_dict(t.to_dict()) == t
    True
    """
    kind = data.get("kind", "staircase")
    if kind == "staircase":
        return Staircase.from_dict(data)
    if kind == "multi-index":
        return multi_index(int(data["d"]), data["terms"], basis=data["basis"], name=data.get("name", "multi-index"))
    raise ValueError(f"unknown task kind {kind!r}; known: 'staircase', 'multi-index'")
