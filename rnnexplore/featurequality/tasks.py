"""Staircase target functions on the Boolean cube.

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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from rnnexplore._validation import check_int, check_memory, check_seed

__all__ = [
    "Staircase",
    "staircase",
    "classic_staircase",
    "paper_staircase",
    "is_merged_staircase",
    "shuffle_labels",
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

    def to_dict(self) -> dict:
        """Plain-data form (JSON-able); inverse of :meth:`from_dict`."""
        return {"d": self.d, "terms": [list(t) for t in self.terms], "name": self.name}

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
