"""Projections of M-dimensional orbits onto the plane of a phase portrait.

:class:`Projection` maps orbits to a plane (a pair of units, a PCA plane, or for M = 1 the
return map ``(z_t, z_{t+1})``) and lifts clicked plane points back to states;
:mod:`rnnexplore.widgets.portrait` draws through it.

Examples
--------
>>> import numpy as np
>>> p = Projection.units(3, 0, 2)
>>> p.orbit(np.array([[1.0, 2.0, 3.0]])).tolist()
[[1.0, 3.0]]
>>> p.lift([1.0, 3.0]).tolist()
[1.0, 0.0, 3.0]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_choice, check_int, check_memory

from rnnexplore.dynamics.orbits import diverged

__all__ = ["Projection"]


class Projection:
    """Map orbits of an M-dimensional model to a plane and lift plane points back.

    Three kinds:

    ``"units"``
        ``(x, y) = (z_i, z_j)``; lifting sets the other coordinates to ``origin``.
    ``"pca"``
        ``(x, y) = (z - origin) @ basis.T`` with an orthonormal ``basis`` (2, M) fitted by
        :meth:`pca`; lifting gives ``origin + x b_1 + y b_2``.
    ``"return"``
        For M = 1: the return map ``(x, y) = (z_t, z_{t+1})`` along an orbit (a cycle's
        polygon closes, a fixed point sits on the diagonal); lifting gives ``z = x``.

    Every lift is affine in ``(x, y)``, so switching borders are straight lines in the plane.

    Parameters
    ----------
    kind : {"units", "pca", "return"}
    M : int
    units : (int, int)
        The pair for ``kind="units"``.
    origin : array_like (M,), optional
        Base state of lifts (default zeros).
    basis : array_like (2, M), optional
        Plane of ``kind="pca"``.

    Examples
    --------
    >>> p = Projection.units(3, 0, 2, origin=[0.0, 5.0, 0.0])
    >>> p.orbit([[1.0, 2.0, 3.0]]).tolist()
    [[1.0, 3.0]]
    >>> p.lift([1.0, 3.0]).tolist()
    [1.0, 5.0, 3.0]
    """

    def __init__(self, kind: str, M: int, *, units: tuple[int, int] = (0, 1), origin: Any = None,
                 basis: Any = None) -> None:
        check_choice(kind, "kind", ("units", "pca", "return"))
        self.kind, self.M = kind, check_int(M, "M", minimum=1)
        check_memory((2, self.M), "M")
        self.origin = np.zeros(self.M) if origin is None else check_array(origin, "origin", shape=(self.M,))
        if kind == "return" and self.M != 1:
            raise ValueError(f"the return-map projection needs M = 1, got M = {self.M}")
        if kind == "units":
            if not isinstance(units, (tuple, list)) or len(units) != 2:
                raise ValueError(f"units must be a pair of indices, got {units!r}")
            i, j = (check_int(u, "units entry") for u in units)
            if not (0 <= i < self.M and 0 <= j < self.M and i != j):
                raise ValueError(f"units must be two different indices in 0..{self.M - 1}, got {units!r}")
            self.units_ = (i, j)
            basis = np.zeros((2, self.M))
            basis[0, i] = basis[1, j] = 1.0
        elif kind == "return":
            self.units_ = (0, 0)
            basis = np.array([[1.0], [0.0]])
        else:
            basis = check_array(basis, "basis", shape=(2, self.M))
            self.units_ = None
        self.basis = basis

    # -- constructors ---------------------------------------------------------------
    @classmethod
    def units(cls, M: int, i: int = 0, j: int = 1, origin: Any = None) -> "Projection":
        """Pair of units ``(z_i, z_j)``."""
        return cls("units", M, units=(i, j), origin=origin)

    @classmethod
    def pca(cls, points: Any) -> "Projection":
        """The plane of the two leading principal components of ``points`` (n, M), n >= 2.

        Examples
        --------
        >>> import numpy as np
        >>> pts = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [2.0, 1.0, 0.0]])
        >>> np.abs(Projection.pca(pts).basis).round(6).tolist()
        [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]
        """
        pts = np.asarray(points, dtype=float)
        if pts.ndim != 2 or pts.shape[1] < 2:
            raise ValueError(f"points must have shape (n, M) with M >= 2, got {pts.shape}")
        pts = pts[~diverged(pts)]
        M = pts.shape[1]
        if len(pts) < 3:
            return cls.units(M, 0, 1)
        mean = pts.mean(axis=0)
        _, _, vt = np.linalg.svd(pts - mean, full_matrices=False)
        basis = np.zeros((2, M))
        basis[: min(2, len(vt))] = vt[:2]
        if len(vt) < 2 or not np.any(basis[1]):
            return cls.units(M, 0, 1, origin=mean)
        for r in range(2):  # deterministic sign: largest entry positive
            if basis[r, np.argmax(np.abs(basis[r]))] < 0:
                basis[r] = -basis[r]
        return cls("pca", M, origin=mean, basis=basis)

    @classmethod
    def default(cls, M: int) -> "Projection":
        """Units (0, 1) for M >= 2, the return map for M = 1."""
        return cls("return", 1) if M == 1 else cls.units(M, 0, 1)

    # -- maps -----------------------------------------------------------------------
    @property
    def labels(self) -> tuple[str, str]:
        """Axis labels, e.g. ``("z0", "z1")``, ``("PC1", "PC2")``, ``("z_t", "z_t+1")``."""
        if self.kind == "units":
            return f"z{self.units_[0]}", f"z{self.units_[1]}"
        if self.kind == "pca":
            return "PC1", "PC2"
        return "z_t", "z_t+1"

    def orbit(self, points: Any, closed: bool = False) -> np.ndarray:
        """Plane coordinates (n', 2) of an orbit (n, M).

        For ``"return"``: pairs of consecutive points, n' = n if ``closed`` (a cycle) else
        n - 1 (a trajectory; a single point maps to the diagonal).
        """
        z = np.asarray(points, dtype=float).reshape(-1, self.M)
        if self.kind != "return":
            return (z - self.origin) @ self.basis.T if self.kind == "pca" else z[:, list(self.units_)]
        x = z[:, 0]
        if closed or len(x) == 1:
            return np.column_stack([x, np.roll(x, -1)])
        return np.column_stack([x[:-1], x[1:]])

    def lift(self, xy: Any) -> np.ndarray:
        """States (..., M) for plane points (..., 2)."""
        xy = np.asarray(xy, dtype=float)
        if self.kind == "return":
            return xy[..., :1].copy()
        if self.kind == "pca":
            return self.origin + xy @ self.basis
        z = np.broadcast_to(self.origin, xy.shape[:-1] + (self.M,)).copy()
        z[..., self.units_[0]] = xy[..., 0]
        z[..., self.units_[1]] = xy[..., 1]
        return z

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (rounded to 6 decimals)."""
        d: dict[str, Any] = {"kind": self.kind}
        if self.kind == "units":
            d["units"] = list(self.units_)
        if self.kind == "pca":
            d["basis"] = np.round(self.basis, 6).tolist()
        if self.kind != "return" and np.any(self.origin):
            d["origin"] = np.round(self.origin, 6).tolist()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], M: int) -> "Projection":
        """Inverse of :meth:`to_dict` for a model of dimension M (ValueError if malformed)."""
        if not isinstance(d, Mapping) or "kind" not in d:
            raise ValueError("projection must be an object with a 'kind'")
        try:
            return cls(str(d["kind"]), M, units=tuple(d.get("units", (0, 1))), origin=d.get("origin"),
                       basis=d.get("basis"))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"projection: {exc}") from None

    def __repr__(self) -> str:
        return f"Projection({self.kind!r}, M={self.M}, labels={self.labels})"


