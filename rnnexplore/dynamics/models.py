"""Piecewise-linear recurrent networks whose fixed points and cycles can be found exactly.

Four model classes share one interface (``step``, ``simulate``, ``region``, ``jacobian``,
``offset`` and their batched forms ``jacobians``/``offsets``), which is all the cycle engine
(:mod:`rnnexplore.dynamics.cycles`) needs:

- :class:`PLRNN` ``z' = A z + W relu(z) + h`` (A a vector means ``diag(A)``),
- :class:`ShallowPLRNN` ``z' = a*z + W1 relu(W2 z + h2) + h1``,
- :class:`ClippedShallowPLRNN` ``z' = a*z + W1 (relu(W2 z + h2) - relu(W2 z)) + h1``,
- :class:`ALRNN` (a PLRNN where only the last ``n_relu`` units are rectified).

Inside one *region* (the on/off pattern of the rectifiers, strict ``> 0``: a pre-activation
exactly 0 counts as off) every model is affine, ``z' = J(d) z + c(d)``.

Parameters are addressed by numpy-index names (``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``) through
:meth:`~PLRNN.param_names`, :meth:`~PLRNN.get_param` and :meth:`~PLRNN.with_params`
(which returns a new model). Models round-trip through plain dicts / JSON
(:func:`model_from_dict`, :func:`load_model_json`, :func:`save_model_json`) and can be
converted from PyTorch (:func:`from_torch_rnn`, :func:`from_torch_module`; torch is imported
lazily).

Examples
--------
>>> from rnnexplore.dynamics.models import PLRNN
>>> m = PLRNN(A=[0.5, 0.5], W=[[0.0, 1.0], [-1.0, 0.0]], h=[0.1, -0.2])
>>> m.step([1.0, -1.0]).tolist()
[0.6, -1.7]
>>> m.region([1.0, -1.0]).tolist()
[True, False]
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from rnnexplore._validation import (
    check_array,
    check_bool,
    check_choice,
    check_int,
    check_mapping,
    check_memory,
    check_real,
    check_seed,
)
from rnnexplore.files import atomic_write_json, read_json
from rnnexplore.dynamics.params import index_names, locate_param, name_forms

__all__ = [
    "PiecewiseLinearModel",
    "PLRNN",
    "ShallowPLRNN",
    "ClippedShallowPLRNN",
    "ALRNN",
    "MODEL_TYPES",
    "model_from_dict",
    "load_model_json",
    "save_model_json",
    "from_torch_rnn",
    "from_torch_module",
    "hidden_from_preactivation",
    "skew_tent",
    "border_collision_normal_form",
    "paper_gt16",
    "random_plrnn",
]

# --------------------------------------------------------------------------- validation
def _as_array(value: Any, name: str, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Convert ``value`` to a finite, non-empty float64 array (a copy) with the allowed ``ndim``."""
    return np.array(check_array(value, name, ndim=ndim, min_size=1))


def _check_shape(arr: np.ndarray, name: str, shape: tuple[int, ...]) -> None:
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")


def _state_array(z: Any, M: int, name: str = "z") -> np.ndarray:
    """Validate a state (M,) or batch (..., M) and return it as float64."""
    arr = check_array(z, name, allow_nonfinite=True)
    if arr.ndim == 0 or arr.shape[-1] != M:
        raise ValueError(f"{name} must have shape ({M},) or (..., {M}), got {arr.shape}")
    return arr


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


# --------------------------------------------------------------------------- base class
class PiecewiseLinearModel:
    """The model protocol: a map that is affine inside each region of its rectifiers.

    Every model the cycle engine, the bifurcation sweeps and the apps accept is an instance
    (:class:`PLRNN`, :class:`ALRNN`, :class:`ShallowPLRNN`, :class:`ClippedShallowPLRNN`);
    signatures and ``isinstance`` checks across the package use this class. It provides

    - dynamics: ``M`` (state dimension), ``n_bits`` (rectifiers), :meth:`step`,
      :meth:`simulate`, :meth:`region`, :meth:`switching`;
    - affine pieces: :meth:`jacobian`, :meth:`offset`, :meth:`affine` and the batched
      ``jacobians(regions)`` / ``offsets(regions)``, ``random_regions(rng, shape)``;
    - parameters by name (:mod:`rnnexplore.dynamics.params`): :meth:`param_names`,
      :meth:`param_index`, :meth:`get_param`, :meth:`with_params` (a new model);
    - plain-dict I/O: :meth:`to_dict` (inverse :func:`model_from_dict`).

    A subclass defines ``_fields`` (constructor arguments that are arrays), ``M``,
    ``n_bits``, ``_step``, ``_switching``, ``_region``, ``jacobians`` and ``offsets``.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import PiecewiseLinearModel, skew_tent
    >>> isinstance(skew_tent(0.2, -1.5, 1.0), PiecewiseLinearModel)
    True
    """

    _fields: tuple[str, ...] = ()
    M: int
    n_bits: int

    # -- dynamics -------------------------------------------------------------------
    def step(self, z: Any) -> np.ndarray:
        """One step of the map for a state ``(M,)`` or a batch ``(..., M)``.

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> skew_tent(0.2, -1.5, 1.0).step([0.5]).tolist()
        [0.25]
        """
        with np.errstate(over="ignore", invalid="ignore"):
            return self._step(_state_array(z, self.M))

    def simulate(self, z0: Any, n_steps: int) -> np.ndarray:
        """Iterate the map ``n_steps`` times.

        Parameters
        ----------
        z0 : array_like, shape (M,) or (B, M)
            Initial state(s).
        n_steps : int
            Number of steps (>= 0).

        Returns
        -------
        ndarray, shape (n_steps + 1, M) or (n_steps + 1, B, M)
            The trajectory including ``z0``. Diverging orbits may contain inf.

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> skew_tent(0.2, -1.5, 1.0).simulate([0.0], 2)[:, 0].tolist()
        [0.0, 1.0, -0.5]
        """
        z = _state_array(z0, self.M, "z0")
        n_steps = check_int(n_steps, "n_steps", minimum=0)
        check_memory((n_steps + 1,) + z.shape, "n_steps")
        out = np.empty((n_steps + 1,) + z.shape)
        out[0] = z
        with np.errstate(over="ignore", invalid="ignore"):
            for t in range(n_steps):
                out[t + 1] = self._step(out[t])
        return out

    def region(self, z: Any) -> np.ndarray:
        """Region bits (bool, shape ``(..., n_bits)``) of a state or a batch of states."""
        return self._region(_state_array(z, self.M))

    def switching(self, z: Any) -> np.ndarray:
        """The quantities whose signs are the region bits (``region(z) == switching(z) > 0``).

        A value near 0 means the state lies near a switching border (where border-collision
        bifurcations happen). Shape ``(..., n_bits)``.
        """
        return self._switching(_state_array(z, self.M))

    def jacobian(self, region: Any) -> np.ndarray:
        """Jacobian ``(M, M)`` of the affine piece of one region (bool vector of ``n_bits``)."""
        return self.jacobians(self._region_array(region, single=True))

    def offset(self, region: Any) -> np.ndarray:
        """Offset ``(M,)`` of the affine piece of one region: ``z' = J z + offset``."""
        return self.offsets(self._region_array(region, single=True))

    def affine(self, region: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(jacobian, offset)`` of one region."""
        reg = self._region_array(region, single=True)
        return self.jacobians(reg), self.offsets(reg)

    def _region_array(self, region: Any, single: bool = False) -> np.ndarray:
        arr = check_array(region, "region", dtype=None, allow_nonfinite=True)
        if arr.dtype != bool:
            if not np.all(np.isin(arr, (0, 1))):
                raise ValueError("region must contain booleans (or 0/1)")
            arr = arr.astype(bool)
        if single and arr.shape != (self.n_bits,):
            raise ValueError(f"region must have shape ({self.n_bits},), got {arr.shape}")
        if arr.ndim == 0 or arr.shape[-1] != self.n_bits:
            raise ValueError(f"regions must have shape (..., {self.n_bits}), got {arr.shape}")
        return arr

    def random_regions(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        """Random region patterns ``shape + (n_bits,)`` for the cycle search.

        Every pattern of a PLRNN/ALRNN is a real region, so bits are uniform here; shallow
        models override this with draws from patterns observed on sampled states.
        """
        return rng.random(shape + (self.n_bits,)) < 0.5

    # -- parameters -----------------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        return {f: getattr(self, f) for f in self._fields}

    def param_names(self) -> list[str]:
        """All scalar parameter names, numpy-index style (``"W[0,1]"``, ``"h[1]"``).

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> skew_tent(0.2, -1.5, 1.0).param_names()
        ['A[0]', 'W[0,0]', 'h[0]']
        """
        names = []
        for field, arr in self._arrays().items():
            names.extend(index_names(field, arr.shape))
        return names

    def _name_forms(self) -> str:
        return name_forms({f: a.shape for f, a in self._arrays().items()})

    def param_index(self, name: str) -> tuple[str, tuple[int, ...]]:
        """``(array name, index)`` of a parameter name (grammar: :mod:`rnnexplore.dynamics.params`).

        Raises ValueError listing the valid forms for an unknown name.

        Examples
        --------
        >>> from rnnexplore.dynamics.models import paper_gt16
        >>> paper_gt16().param_index("A[1]"), paper_gt16().param_index("W[1, 0]")
        (('A', (1, 1)), ('W', (1, 0)))
        """
        return locate_param(name, {f: a.shape for f, a in self._arrays().items()},
                            alias=self._normalise_index, forms=self._name_forms())

    def _normalise_index(self, field: str, idx: tuple[int, ...], shape: tuple[int, ...]):
        return idx

    def get_param(self, name: str) -> float:
        """Value of one scalar parameter, e.g. ``model.get_param("W[1,0]")``."""
        field, idx = self.param_index(name)
        return float(getattr(self, field)[idx])

    def with_params(self, updates: Mapping[str, float]) -> "PiecewiseLinearModel":
        """A NEW model with some scalar parameters replaced (the model itself is unchanged).

        Examples
        --------
        >>> from rnnexplore.dynamics.models import paper_gt16
        >>> m = paper_gt16().with_params({"A[0]": 0.5, "W[1,0]": -0.2})
        >>> m.get_param("A[0]"), m.get_param("W[1,0]")
        (0.5, -0.2)
        """
        if not isinstance(updates, Mapping):
            raise ValueError("updates must be a mapping {name: value}")
        arrays = {k: v.copy() for k, v in self._arrays().items()}
        for name, value in updates.items():
            field, idx = self.param_index(name)
            arrays[field][idx] = check_real(value, f"value for {name!r}")
        return self._rebuild(arrays)

    def _rebuild(self, arrays: dict[str, np.ndarray]) -> "PiecewiseLinearModel":
        return type(self)(**arrays)

    # -- serialisation --------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict with a ``"type"`` key; inverse of :func:`model_from_dict`."""
        d: dict[str, Any] = {"type": type(self).__name__}
        for field, arr in self._arrays().items():
            d[field] = arr.tolist()
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}(M={self.M}, n_bits={self.n_bits})"

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    __hash__ = None  # type: ignore[assignment]




# --------------------------------------------------------------------------- PLRNN
class PLRNN(PiecewiseLinearModel):
    """Piecewise-linear RNN ``z' = A z + W relu(z) + h``.

    Parameters
    ----------
    A : array_like, shape (M,) or (M, M)
        Linear part; a vector means ``diag(A)``. Stored as an ``(M, M)`` array.
    W : array_like, shape (M, M)
        Weights on the rectified state (any square matrix; the paper uses off-diagonal).
    h : array_like, shape (M,)
        Bias.

    Attributes
    ----------
    A, W, h : ndarray (float64)
    M : int
        Dimension; the model has ``n_bits = M`` region bits ``z > 0``.

    Notes
    -----
    Region ``d = 1[z > 0]``; Jacobian ``A + W diag(d)``; offset ``h``. Parameter names:
    ``"A[i]"`` (means ``A[i,i]``; listed when A is diagonal), ``"A[i,j]"``, ``"W[i,j]"``,
    ``"h[i]"``.

    Examples
    --------
    >>> m = PLRNN([0.5], [[-1.0]], [1.0])
    >>> m.A.shape, m.M
    ((1, 1), 1)
    >>> m.jacobian([True]).tolist()
    [[-0.5]]
    """

    _fields = ("A", "W", "h")

    def __init__(self, A: Any, W: Any, h: Any) -> None:
        h = _as_array(h, "h", 1)
        M = h.shape[0]
        A = _as_array(A, "A", (1, 2))
        if A.ndim == 1:
            _check_shape(A, "A", (M,))
            A = np.diag(A)
        _check_shape(A, "A", (M, M))
        W = _as_array(W, "W", 2)
        _check_shape(W, "W", (M, M))
        self.A, self.W, self.h, self.M = A, W, h, M
        self.n_bits = M
        for arr in (A, W, h):
            arr.flags.writeable = False

    @property
    def diagonal_A(self) -> bool:
        """True when A is diagonal (then parameter names list ``"A[i]"``)."""
        return bool(np.all(self.A == np.diag(np.diag(self.A))))

    def _step(self, z: np.ndarray) -> np.ndarray:
        a = self.__dict__.get("_diag")
        if a is None:  # immutable: decided once; a diagonal A is a multiply, not an M x M product
            a = self.__dict__["_diag"] = np.diag(self.A).copy() if self.diagonal_A else False
        if a is False:
            return z @ self.A.T + _relu(z) @ self.W.T + self.h
        with np.errstate(invalid="ignore", over="ignore"):
            lin = z * a
        if not np.all(np.isfinite(lin)):  # keep the product's propagation of inf / nan (inf * 0)
            return z @ self.A.T + _relu(z) @ self.W.T + self.h
        return lin + _relu(z) @ self.W.T + self.h

    def _switching(self, z: np.ndarray) -> np.ndarray:
        return z

    def _region(self, z: np.ndarray) -> np.ndarray:
        return z > 0

    def jacobians(self, regions: np.ndarray) -> np.ndarray:
        """Jacobians ``A + W diag(d)`` for a stack of regions ``(..., M)`` -> ``(..., M, M)``."""
        return self.A + self.W * regions[..., None, :]

    def offsets(self, regions: np.ndarray) -> np.ndarray:
        """Offsets (always ``h``) broadcast to ``(..., M)``."""
        return np.broadcast_to(self.h, regions.shape[:-1] + (self.M,))

    def param_names(self) -> list[str]:
        if not self.diagonal_A:
            return super().param_names()
        return [f"A[{i}]" for i in range(self.M)] + index_names("W", self.W.shape) + index_names("h", self.h.shape)

    def _name_forms(self) -> str:
        return "'A[i]' (= A[i,i]), " + super()._name_forms()

    def _normalise_index(self, field, idx, shape):
        if field == "A" and len(idx) == 1:
            return (idx[0], idx[0])
        return idx

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        if self.diagonal_A:
            d["A"] = np.diag(self.A).tolist()
        return d


class ALRNN(PLRNN):
    """Almost-linear RNN: a PLRNN whose first ``M - n_relu`` units are linear.

    ``z' = A z + W phi(z) + h`` with ``phi(z)_i = z_i`` for ``i < M - n_relu`` and
    ``relu(z_i)`` for the last ``n_relu`` units. Region bits: only the rectified units
    (``n_bits = n_relu``).

    Examples
    --------
    >>> m = ALRNN([0.5, 0.5], [[0.0, 1.0], [1.0, 0.0]], [0.0, 0.0], n_relu=1)
    >>> m.step([-1.0, -1.0]).tolist()
    [-0.5, -1.5]
    """

    def __init__(self, A: Any, W: Any, h: Any, n_relu: int) -> None:
        super().__init__(A, W, h)
        self.n_relu = check_int(n_relu, "n_relu", minimum=0)
        if self.n_relu > self.M:
            raise ValueError(f"n_relu must be <= M = {self.M}, got {n_relu}")
        self.n_bits = self.n_relu
        self._n_lin = self.M - self.n_relu

    def _phi(self, z: np.ndarray) -> np.ndarray:
        out = z.copy()
        out[..., self._n_lin :] = _relu(z[..., self._n_lin :])
        return out

    def _step(self, z: np.ndarray) -> np.ndarray:
        return z @ self.A.T + self._phi(z) @ self.W.T + self.h

    def _switching(self, z: np.ndarray) -> np.ndarray:
        return z[..., self._n_lin :]

    def _region(self, z: np.ndarray) -> np.ndarray:
        return z[..., self._n_lin :] > 0

    def _full(self, regions: np.ndarray) -> np.ndarray:
        ones = np.ones(regions.shape[:-1] + (self._n_lin,), dtype=bool)
        return np.concatenate([ones, regions], axis=-1)

    def jacobians(self, regions: np.ndarray) -> np.ndarray:
        return super().jacobians(self._full(regions))

    def offsets(self, regions: np.ndarray) -> np.ndarray:
        return np.broadcast_to(self.h, regions.shape[:-1] + (self.M,))

    def _rebuild(self, arrays):
        return ALRNN(**arrays, n_relu=self.n_relu)

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d["n_relu"] = self.n_relu
        return d

    def __repr__(self) -> str:
        return f"ALRNN(M={self.M}, n_relu={self.n_relu})"


# --------------------------------------------------------------------------- shallow PLRNNs
class ShallowPLRNN(PiecewiseLinearModel):
    """Shallow PLRNN ``z' = a*z + W1 relu(W2 z + h2) + h1`` (hidden width H).

    Parameters
    ----------
    a : array_like, shape (M,)
    W1 : array_like, shape (M, H)
    W2 : array_like, shape (H, M)
    h1 : array_like, shape (M,)
    h2 : array_like, shape (H,)

    Notes
    -----
    Region ``d = 1[W2 z + h2 > 0]`` (H bits); Jacobian ``diag(a) + W1 diag(d) W2``; offset
    ``W1 diag(d) h2 + h1``. Only patterns realised by the hyperplane arrangement exist, so
    random searches draw from patterns observed on sampled states (:meth:`random_regions`).

    Examples
    --------
    >>> import numpy as np
    >>> m = ShallowPLRNN([0.5], [[-1.0]], [[1.0]], [1.0], [0.0])
    >>> m.n_bits, m.step([2.0]).tolist()
    (1, [0.0])
    """

    _fields = ("a", "W1", "W2", "h1", "h2")
    _pool_size = 4000

    def __init__(self, a: Any, W1: Any, W2: Any, h1: Any, h2: Any) -> None:
        a = _as_array(a, "a", 1)
        M = a.shape[0]
        W1 = _as_array(W1, "W1", 2)
        if W1.shape[0] != M:
            raise ValueError(f"W1 must have shape ({M}, H), got {W1.shape}")
        H = W1.shape[1]
        W2 = _as_array(W2, "W2", 2)
        _check_shape(W2, "W2", (H, M))
        h1 = _as_array(h1, "h1", 1)
        _check_shape(h1, "h1", (M,))
        h2 = _as_array(h2, "h2", 1)
        _check_shape(h2, "h2", (H,))
        self.a, self.W1, self.W2, self.h1, self.h2 = a, W1, W2, h1, h2
        self.M, self.H = M, H
        self.n_bits = H
        self._diag_a = np.diag(a)
        self._pool: np.ndarray | None = None
        for arr in (a, W1, W2, h1, h2):
            arr.flags.writeable = False

    def _pre(self, z: np.ndarray) -> np.ndarray:
        return z @ self.W2.T + self.h2

    def _step(self, z: np.ndarray) -> np.ndarray:
        return self.a * z + _relu(self._pre(z)) @ self.W1.T + self.h1

    def _switching(self, z: np.ndarray) -> np.ndarray:
        return self._pre(z)

    def _region(self, z: np.ndarray) -> np.ndarray:
        return self._pre(z) > 0

    def jacobians(self, regions: np.ndarray) -> np.ndarray:
        """``diag(a) + W1 diag(d) W2`` for regions ``(..., H)`` -> ``(..., M, M)``."""
        return self._diag_a + (self.W1 * regions[..., None, :]) @ self.W2

    def offsets(self, regions: np.ndarray) -> np.ndarray:
        """``W1 diag(d) h2 + h1`` for regions ``(..., H)`` -> ``(..., M)``."""
        return (regions * self.h2) @ self.W1.T + self.h1

    def region_pool(self) -> np.ndarray:
        """Distinct region patterns seen on states sampled in ``[-10, 10]^M`` and on orbits.

        Deterministic (fixed internal seed) and cached; shape ``(n_patterns, n_bits)``.
        """
        if self._pool is None:
            rng = np.random.default_rng(0)
            pts = rng.uniform(-10.0, 10.0, size=(self._pool_size, self.M))
            with np.errstate(over="ignore", invalid="ignore"):
                traj = self.simulate(pts[:200], 50).reshape(-1, self.M)
            traj = traj[np.all(np.isfinite(traj), axis=1)]
            regs = self._region(np.concatenate([pts, traj]))
            # distinct rows via packed bytes (np.unique(axis=0) on bool rows is ~10x slower);
            # first occurrences in sampling order keep the pool deterministic
            packed = np.ascontiguousarray(np.packbits(regs, axis=1))
            keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
            _, first = np.unique(keys, return_index=True)
            self._pool = regs[np.sort(first)]
        return self._pool

    def random_regions(self, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
        pool = self.region_pool()
        return pool[rng.integers(0, len(pool), size=shape)]


class ClippedShallowPLRNN(ShallowPLRNN):
    """Clipped shallow PLRNN ``z' = a*z + W1 (relu(W2 z + h2) - relu(W2 z)) + h1``.

    Region bits: ``2H`` booleans ``[W2 z + h2 > 0, W2 z > 0]`` concatenated; Jacobian
    ``diag(a) + W1 (D1 - D2) W2``; offset ``W1 D1 h2 + h1``. Orbits stay bounded when
    ``|a| < 1``.

    Examples
    --------
    >>> m = ClippedShallowPLRNN([0.5], [[1.0]], [[1.0]], [0.0], [1.0])
    >>> m.n_bits, m.region([0.5]).tolist()
    (2, [True, True])
    """

    def __init__(self, a: Any, W1: Any, W2: Any, h1: Any, h2: Any) -> None:
        super().__init__(a, W1, W2, h1, h2)
        self.n_bits = 2 * self.H

    def _step(self, z: np.ndarray) -> np.ndarray:
        wz = z @ self.W2.T
        return self.a * z + (_relu(wz + self.h2) - _relu(wz)) @ self.W1.T + self.h1

    def _switching(self, z: np.ndarray) -> np.ndarray:
        wz = z @ self.W2.T
        return np.concatenate([wz + self.h2, wz], axis=-1)

    def _region(self, z: np.ndarray) -> np.ndarray:
        return self._switching(z) > 0

    def jacobians(self, regions: np.ndarray) -> np.ndarray:
        d = regions[..., : self.H].astype(np.float64) - regions[..., self.H :]
        return self._diag_a + (self.W1 * d[..., None, :]) @ self.W2

    def offsets(self, regions: np.ndarray) -> np.ndarray:
        return (regions[..., : self.H] * self.h2) @ self.W1.T + self.h1


MODEL_TYPES: dict[str, type] = {
    "PLRNN": PLRNN,
    "ShallowPLRNN": ShallowPLRNN,
    "ClippedShallowPLRNN": ClippedShallowPLRNN,
    "ALRNN": ALRNN,
}

_OPTIONAL_KEYS = ("meta", "description", "name")


# --------------------------------------------------------------------------- dict / JSON
def model_from_dict(d: Mapping[str, Any]) -> PiecewiseLinearModel:
    """Build a model from a dict such as ``{"type": "PLRNN", "A": [...], "W": [...], "h": [...]}``.

    ``"type"`` is one of ``PLRNN`` (default when absent), ``ShallowPLRNN``,
    ``ClippedShallowPLRNN``, ``ALRNN``; optional keys ``"name"``, ``"description"``, ``"meta"``
    are ignored. Unknown keys are an error.

    Examples
    --------
    >>> m = model_from_dict({"type": "PLRNN", "A": [0.2], "W": [[-1.7]], "h": [1.0]})
    >>> model_from_dict(m.to_dict()) == m
    True
    """
    d = check_mapping(d, "model description")
    kind = check_choice(d.get("type", "PLRNN"), "model type", sorted(MODEL_TYPES))
    cls = MODEL_TYPES[kind]
    expected = list(cls._fields) + (["n_relu"] if cls is ALRNN else [])
    check_mapping(d, f"{kind} model", required=expected, optional=["type", *_OPTIONAL_KEYS])
    return cls(**{k: d[k] for k in expected})


def save_model_json(model: PiecewiseLinearModel, path: str | os.PathLike) -> None:
    """Write ``model.to_dict()`` as JSON to ``path``."""
    if not isinstance(model, PiecewiseLinearModel):
        raise ValueError(f"model must be one of {sorted(MODEL_TYPES)}, got {type(model).__name__}")
    atomic_write_json(path, model.to_dict(), "model", indent=1)


def load_model_json(path: str | os.PathLike) -> PiecewiseLinearModel:
    """Read a model written by :func:`save_model_json` (or by hand; see the README).

    Never executes code; malformed files raise ``ValueError`` naming the file.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> save_model_json(paper_gt16(), p)
    >>> load_model_json(p).M
    2
    """
    data = read_json(path, "model")
    try:
        return model_from_dict(data)
    except ValueError as exc:
        raise ValueError(f"model file {os.fspath(path)!r}: {exc}") from None


# --------------------------------------------------------------------------- torch converters
def _np(t: Any, name: str = "tensor") -> np.ndarray:
    if hasattr(t, "detach"):
        try:
            t = t.detach().cpu().double().numpy()
        except (TypeError, RuntimeError, AttributeError) as exc:
            raise ValueError(f"{name} is not a real-valued tensor ({exc})") from None
    return check_array(t, name)


def from_torch_rnn(rnn: Any, u: Any = None) -> PLRNN:
    """PLRNN equivalent of a single-layer ``torch.nn.RNN(nonlinearity="relu")`` under constant input.

    The RNN ``x' = relu(W_hh x + W_ih u + b_ih + b_hh)`` is the PLRNN with ``A = 0``,
    ``W = W_hh``, ``h = W_ih u + b_ih + b_hh`` in the pre-activation variable
    ``z = W_hh x + h``: ``z' = W relu(z) + h``. Map states (and cycle points) back with
    ``x = relu(z)`` (:func:`hidden_from_preactivation`); a hidden state ``x`` corresponds to
    ``z = W x + h`` (the next pre-activation).

    Parameters
    ----------
    rnn : torch.nn.RNN
        Single layer, unidirectional, ``nonlinearity="relu"`` (bias optional).
    u : array_like, shape (input_size,), optional
        The constant input (default zeros).

    Examples
    --------
    >>> import torch
    >>> rnn = torch.nn.RNN(1, 3, nonlinearity="relu")
    >>> from_torch_rnn(rnn, u=[0.5]).M
    3
    """
    import torch

    if not isinstance(rnn, torch.nn.RNN):
        raise ValueError(f"rnn must be a torch.nn.RNN, got {type(rnn).__name__}")
    if rnn.nonlinearity != "relu":
        raise ValueError(f"rnn must use nonlinearity='relu', got {rnn.nonlinearity!r}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("rnn must be a single-layer unidirectional RNN")
    if getattr(rnn, "proj_size", 0):
        raise ValueError("rnn with proj_size is not supported")
    W_hh = _np(rnn.weight_hh_l0)
    W_ih = _np(rnn.weight_ih_l0)
    H = W_hh.shape[0]
    if u is None:
        u = np.zeros(W_ih.shape[1])
    u = _as_array(u, "u", 1)
    _check_shape(u, "u", (W_ih.shape[1],))
    h = W_ih @ u
    if rnn.bias:
        h = h + _np(rnn.bias_ih_l0) + _np(rnn.bias_hh_l0)
    return PLRNN(np.zeros(H), W_hh, h)


def hidden_from_preactivation(z: Any) -> np.ndarray:
    """Map PLRNN states of :func:`from_torch_rnn` back to RNN hidden states: ``relu(z)``.

    Works on any array (e.g. ``cycle.points``).

    Examples
    --------
    >>> hidden_from_preactivation([[-1.0, 2.0]]).tolist()
    [[0.0, 2.0]]
    """
    return np.maximum(np.asarray(z, dtype=np.float64), 0.0)


def from_torch_module(module: Any, kind: str | None = None) -> PiecewiseLinearModel:
    """Convert a PLRNN-shaped torch module (attributes are tensors or parameters).

    Recognised attribute sets: ``A, W, h`` (-> :class:`PLRNN`, or :class:`ALRNN` when the
    module has an integer ``n_relu``) and ``a, W1, W2, h1, h2`` (-> :class:`ShallowPLRNN`;
    pass ``kind="ClippedShallowPLRNN"`` for the clipped form). ``kind`` forces a type.
    Shapes follow this module's conventions (``W1``: M x H, ``W2``: H x M).

    Examples
    --------
    >>> import torch
    >>> mod = torch.nn.Module()
    >>> mod.A = torch.nn.Parameter(torch.tensor([0.5, 0.5]))
    >>> mod.W = torch.nn.Parameter(torch.zeros(2, 2)); mod.h = torch.nn.Parameter(torch.ones(2))
    >>> type(from_torch_module(mod)).__name__
    'PLRNN'
    """

    def has(*names):
        return all(getattr(module, n, None) is not None for n in names)

    if kind is None:
        if has("a", "W1", "W2", "h1", "h2"):
            kind = "ShallowPLRNN"
        elif has("A", "W", "h"):
            kind = "ALRNN" if isinstance(getattr(module, "n_relu", None), int) else "PLRNN"
        else:
            raise ValueError("module must have tensor attributes A, W, h or a, W1, W2, h1, h2")
    check_choice(kind, "kind", sorted(MODEL_TYPES))
    cls = MODEL_TYPES[kind]
    if not has(*cls._fields):
        raise ValueError(f"module lacks attributes {list(cls._fields)} needed for kind={kind!r}")
    arrays = {f: _np(getattr(module, f), f) for f in cls._fields}
    if cls is ALRNN:
        return ALRNN(**arrays, n_relu=getattr(module, "n_relu", None))
    return cls(**arrays)


# --------------------------------------------------------------------------- known systems
def skew_tent(a_l: float, a_r: float, mu: float) -> PLRNN:
    """1-D skew tent map as a PLRNN: slope ``a_l`` for ``z <= 0``, ``a_r`` for ``z > 0``, offset mu.

    Fixed point ``mu / (1 - a_r)`` (for ``a_r < 1``); a 2-cycle for ``a_r < -1``.

    Examples
    --------
    >>> m = skew_tent(0.2, -1.5, 1.0)
    >>> m.step([0.5]).tolist()
    [0.25]
    """
    a_l, a_r, mu = check_real(a_l, "a_l"), check_real(a_r, "a_r"), check_real(mu, "mu")
    return PLRNN([a_l], [[a_r - a_l]], [mu])


def border_collision_normal_form(a_l: float) -> PLRNN:
    """2-D border-collision normal form of the paper's supplement (matrices M_L / M_R).

    ``M_L = [[a_l, 0.8], [-0.4, 0.2]]`` for ``z1 <= 0``, ``M_R = [[-1.5, 0.8], [0.5, 0.2]]``
    for ``z1 > 0``, ``h = (0.214, 0)``. Its fixed point ``(0.107, 0.066875)`` is a saddle.

    Examples
    --------
    >>> border_collision_normal_form(0.0).jacobian([True, False]).tolist()
    [[-1.5, 0.8], [0.5, 0.2]]
    """
    a_l = check_real(a_l, "a_l")
    return PLRNN([[a_l, 0.8], [-0.4, 0.2]], [[-1.5 - a_l, 0.0], [0.9, 0.0]], [0.214, 0.0])


def paper_gt16() -> PLRNN:
    """The 2-D ground-truth PLRNN of Eisenmann et al. (2023), with a stable cycle of order 16.

    Examples
    --------
    >>> paper_gt16().M
    2
    """
    return PLRNN(
        [0.8377689, 0.96461297],
        [[0.0, -0.64375], [0.52505308, 0.0]],
        [0.37298253, -0.97931491],
    )


def random_plrnn(M: int, seed: int | None = None, *, rich: bool = False, scale: float | None = None) -> PLRNN:
    """A random PLRNN with diagonal A.

    Parameters
    ----------
    M : int
        Dimension (>= 1).
    seed : int, optional
        Seed of ``numpy.random.default_rng``.
    rich : bool
        False: A in [0.3, 0.9], small W (mostly contracting, few objects). True: weakly
        coupled chaotic skew tent maps (slopes in [1.1, 1.7] and [-1.7, -1.1] on the two sides
        of each border, bounded orbits): very many cycles, almost all unstable or saddles.
    scale : float, optional
        Overrides the scale of W (default 0.6) or, if rich, of the coupling (default 0.3).

    Examples
    --------
    >>> random_plrnn(3, seed=0).M
    3
    """
    M = check_int(M, "M", minimum=1)
    check_memory((M, M), "M")
    rng = np.random.default_rng(check_seed(seed))
    rich = check_bool(rich, "rich")
    scale = check_real(scale, "scale", minimum=0.0, allow_none=True)
    if rich:
        s = 0.3 if scale is None else float(scale)
        A = rng.uniform(1.1, 1.7, M)
        a_r = rng.uniform(-1.7, -1.1, M)
        W = s * rng.normal(size=(M, M)) / math.sqrt(M)
        np.fill_diagonal(W, a_r - A)
        h = rng.uniform(0.5, 1.5, M)
        return PLRNN(A, W, h)
    s = 0.6 if scale is None else float(scale)
    A = rng.uniform(0.3, 0.9, M)
    W = s * rng.normal(size=(M, M)) / math.sqrt(M)
    if M > 1:
        np.fill_diagonal(W, 0.0)
    h = rng.normal(0.0, 0.5, M)
    return PLRNN(A, W, h)
