"""One vocabulary of argument checks: every public function refuses bad input with the same words.

Each check returns the cleaned value or raises ``ValueError`` naming the argument, what was
expected and what was given (scikit-learn's parameter-constraint idea: validation is declared
once and phrased once). The rules:

- integers are Python or numpy integers, never ``bool`` and never floats (``2.0`` and ``2.5``
  are both refused: a float where a count is meant is a bug upstream);
- reals are Python/numpy integers or floats (not ``bool``, not strings, not complex), finite
  unless ``allow_inf``;
- arrays are numeric (bool, integer or real - never strings, objects or complex), of the given
  number of dimensions / shape, finite unless ``allow_nonfinite``;
- choices are compared exactly and the error lists the valid ones.

Examples
--------
>>> check_int(3, "max_order", minimum=1)
3
>>> check_int(2.0, "max_order")
Traceback (most recent call last):
...
ValueError: max_order must be an integer, got 2.0 (float)
>>> check_real("0.5", "lr")
Traceback (most recent call last):
...
ValueError: lr must be a real number, got '0.5' (str)
>>> check_choice("fast", "mode", ("fast", "reference"))
'fast'
>>> check_array([[1, 2]], "W", shape=(1, 2)).dtype
dtype('float64')
>>> check_array([1, float("nan")], "h")
Traceback (most recent call last):
...
ValueError: h must be finite (no NaN or inf), got 1 non-finite entries
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "check_int",
    "check_real",
    "check_bool",
    "check_choice",
    "check_array",
    "check_seed",
    "check_callable",
    "check_str",
    "check_mapping",
    "check_executor",
    "check_memory",
    "MAX_ARRAY_BYTES",
    "describe",
]

#: Largest array (bytes) a single call may allocate before it is refused with an estimate.
MAX_ARRAY_BYTES = 2**31


def describe(value: Any) -> str:
    """Short ``repr (type)`` of a value for error messages (long reprs are cut)."""
    try:
        r = repr(value)
    except Exception:  # noqa: BLE001 - deeply nested or broken objects: name the type only
        r = f"<{type(value).__name__}>"
    if len(r) > 60:
        r = r[:57] + "..."
    return f"{r} ({type(value).__name__})"


def _bounds(value: float, name: str, minimum: float | None, maximum: float | None, what: str) -> None:
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be {what}>= {minimum}, got {value!r}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name} must be {what}<= {maximum}, got {value!r}")


def check_int(value: Any, name: str, *, minimum: int | None = None, maximum: int | None = None,
              allow_none: bool = False) -> int | None:
    """An integer (Python or numpy; not bool, not float) within ``[minimum, maximum]`` (or None if allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise ValueError(f"{name} must be an integer, got {describe(value)}")
    value = int(value)
    _bounds(value, name, minimum, maximum, "")
    return value


def check_real(value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None,
               exclusive_minimum: bool = False, allow_inf: bool = False,
               allow_none: bool = False) -> float | None:
    """A real number (int or float, not bool/str/complex), finite unless ``allow_inf`` (or None if allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.integer, np.floating)):
        raise ValueError(f"{name} must be a real number, got {describe(value)}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        value = math.inf if value > 0 else -math.inf
    if math.isnan(value) or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if exclusive_minimum and minimum is not None and value <= minimum:
        raise ValueError(f"{name} must be > {minimum}, got {value!r}")
    _bounds(value, name, minimum, maximum, "")
    return value


def check_bool(value: Any, name: str) -> bool:
    """``True`` or ``False`` (also numpy booleans); not 0/1, not strings."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {describe(value)}")
    return bool(value)


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> Any:
    """One of ``choices`` (compared exactly; the message lists them)."""
    try:
        ok = any(value == c and type(value) is type(c) for c in choices)
    except Exception:  # noqa: BLE001 - arrays and odd objects compare badly: not a choice
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {list(choices)}, got {describe(value)}")
    return value


def check_array(value: Any, name: str, *, ndim: int | Sequence[int] | None = None,
                shape: Sequence[int | None] | None = None, dtype: Any = np.float64,
                allow_nonfinite: bool = False, min_size: int = 0) -> np.ndarray:
    """A numeric array (bool/int/real input) converted to ``dtype``, checked for shape and finiteness.

    ``shape`` entries of ``None`` match any length. Strings, objects and complex values are refused
    (numpy would otherwise parse ``"0.5"`` or drop an imaginary part silently).
    """
    if isinstance(value, (str, bytes)):
        raise ValueError(f"{name} must be an array of numbers, got a string")
    try:
        raw = np.asarray(value)
    except (ValueError, TypeError, RecursionError, OverflowError) as exc:
        raise ValueError(f"{name} must be an array of numbers ({type(exc).__name__}: {exc})") from None
    if raw.dtype.kind not in "biuf":
        what = {"c": "complex numbers", "U": "strings", "S": "strings", "O": "mixed or ragged values"}.get(
            raw.dtype.kind, f"dtype {raw.dtype}")
        raise ValueError(f"{name} must be an array of real numbers, got {what}")
    arr = raw.astype(dtype, copy=False)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {arr.shape}")
    if shape is not None:
        if arr.ndim != len(shape) or any(s is not None and s != a for s, a in zip(shape, arr.shape)):
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    if arr.size < min_size:
        raise ValueError(f"{name} must have at least {min_size} entries, got {arr.size}")
    if not allow_nonfinite and arr.dtype.kind == "f":
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        if bad:
            raise ValueError(f"{name} must be finite (no NaN or inf), got {bad} non-finite entries")
    return arr


def check_seed(value: Any, name: str = "seed", *, allow_none: bool = True) -> int | None:
    """A seed: None (fresh entropy, when allowed) or an integer in [0, 2**63)."""
    if value is None and allow_none:
        return None
    return check_int(value, name, minimum=0, maximum=2**63 - 1)


def check_callable(value: Any, name: str, *, allow_none: bool = True) -> Callable | None:
    """A callable (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not callable(value):
        raise ValueError(f"{name} must be callable{' or None' if allow_none else ''}, got {describe(value)}")
    return value


def check_str(value: Any, name: str, *, allow_empty: bool = True) -> str:
    """A ``str`` (also a numpy string scalar); not bytes, not numbers."""
    if isinstance(value, np.str_):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {describe(value)}")
    if not allow_empty and not value:
        raise ValueError(f"{name} must not be empty")
    return value


def check_mapping(value: Any, name: str, *, required: Sequence[str] = (), optional: Sequence[str] | None = None
                  ) -> dict:
    """A mapping with string keys; ``required`` keys present and (when ``optional`` is given) no others.

    Examples
    --------
    >>> check_mapping({"a": 1}, "budget", optional=("a", "b"))
    {'a': 1}
    >>> check_mapping({"c": 1}, "budget", optional=("a", "b"))
    Traceback (most recent call last):
    ...
    ValueError: budget has unknown key(s) ['c']; expected some of ['a', 'b']
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"{name} must be a dict (JSON object), got {describe(value)}")
    bad = [k for k in value if not isinstance(k, str)]
    if bad:
        raise ValueError(f"{name} keys must be strings, got {describe(bad[0])}")
    missing = [k for k in required if k not in value]
    if missing:
        raise ValueError(f"{name} is missing key(s) {missing}")
    if optional is not None:
        allowed = list(required) + [k for k in optional if k not in required]
        unknown = [k for k in value if k not in allowed]
        if unknown:
            raise ValueError(f"{name} has unknown key(s) {unknown}; expected some of {allowed}")
    return dict(value)


def check_executor(value: Any, name: str = "executor", *, allow_none: bool = True) -> Any:
    """A ``concurrent.futures``-style executor (an object with a callable ``submit``), or None."""
    if value is None and allow_none:
        return None
    if not callable(getattr(value, "submit", None)):
        raise ValueError(f"{name} must be None or an executor with a submit() method (ProcessPoolExecutor, "
                         f"a Dask client's get_executor(), ...), got {describe(value)}")
    return value


def check_memory(shape: Sequence[int], name: str, *, itemsize: int = 8, limit: int | None = None) -> None:
    """Refuse an allocation of ``shape`` x ``itemsize`` bytes above ``limit`` (:data:`MAX_ARRAY_BYTES`).

    Examples
    --------
    >>> check_memory((10**12 + 1, 1, 2), "n_steps")
    Traceback (most recent call last):
    ...
    ValueError: n_steps: the result would need about 16 TB (shape (1000000000001, 1, 2)); the limit is 2.1 GB
    """
    limit = MAX_ARRAY_BYTES if limit is None else limit
    need = itemsize * math.prod(int(s) for s in shape)
    if need > limit:
        raise ValueError(f"{name}: the result would need about {_bytes(need)} (shape {tuple(int(s) for s in shape)});"
                         f" the limit is {_bytes(limit)}")


def _bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.2g} {unit}" if n < 10 else f"{n:.0f} {unit}"
        n /= 1000.0
    return f"{n:.0f} PB"  # pragma: no cover
