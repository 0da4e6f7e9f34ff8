"""One grammar for scalar parameter names: numpy indexing on a model's named arrays.

A name is an array name followed by one non-negative integer index per array axis, in square
brackets and separated by commas: ``"A[0]"``, ``"W[1,0]"``, ``"h[1]"``, ``"W1[0,3]"``, and
input weights such as ``"u[0]"`` or ``"C[2,1]"`` for models with inputs. Spaces around the
parts are ignored; the canonical spelling (:func:`format_param_name`) has none. The same
grammar addresses a numpy model (:meth:`~rnnexplore.dynamics.models.PiecewiseLinearModel.get_param`,
``with_params``, bifurcation grids), a training :class:`~rnnexplore.dynamics.training.replay.Replay`
(parameter series over checkpoints) and loss landscapes.

Examples
--------
>>> parse_param_name(" W[ 1, 0 ] ")
('W', (1, 0))
>>> format_param_name("W", (1, 0))
'W[1,0]'
>>> locate_param("h[1]", {"W": (2, 2), "h": (2,)})
('h', (1,))
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

__all__ = ["parse_param_name", "format_param_name", "index_names", "name_forms", "locate_param"]

_NAME_RE = re.compile(r"^\s*([A-Za-z_]\w*)\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]\s*$")


def parse_param_name(name: Any) -> tuple[str, tuple[int, ...]]:
    """Split a parameter name into ``(array name, index)``.

    Parameters
    ----------
    name : str
        ``"<array>[i]"``, ``"<array>[i,j]"``, ... (non-negative integer indices).

    Returns
    -------
    tuple of (str, tuple of int)

    Raises
    ------
    ValueError
        If ``name`` is not a string of that form.

    Examples
    --------
    >>> parse_param_name("A[0]"), parse_param_name("u[3]")
    (('A', (0,)), ('u', (3,)))
    >>> parse_param_name("h")
    Traceback (most recent call last):
    ...
    ValueError: parameter name must look like 'A[0]' or 'W[1,0]', got 'h'
    """
    m = _NAME_RE.match(name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(f"parameter name must look like 'A[0]' or 'W[1,0]', got {name!r}")
    return m.group(1), tuple(int(i) for i in m.group(2).split(","))


def format_param_name(field: str, index: tuple[int, ...]) -> str:
    """The canonical name of ``field[index]`` (inverse of :func:`parse_param_name`).

    Examples
    --------
    >>> format_param_name("h", (1,)), format_param_name("W", (0, 2))
    ('h[1]', 'W[0,2]')
    """
    return f"{field}[{','.join(str(int(i)) for i in index)}]"


def index_names(field: str, shape: tuple[int, ...]) -> list[str]:
    """Names of every scalar of an array ``field`` of ``shape``, in C order.

    Examples
    --------
    >>> index_names("W", (2, 2))
    ['W[0,0]', 'W[0,1]', 'W[1,0]', 'W[1,1]']
    """
    return [format_param_name(field, idx) for idx in np.ndindex(*shape)]


def name_forms(shapes: Mapping[str, tuple[int, ...]]) -> str:
    """Human-readable list of the valid name forms for arrays of ``shapes`` (for errors).

    Examples
    --------
    >>> name_forms({"W": (2, 3), "h": (2,)})
    "'W[i,j]' (2 x 3), 'h[i]' (2)"
    """
    forms = []
    for field, shape in shapes.items():
        idx = ",".join("ijklmn"[: len(shape)])
        forms.append(f"'{field}[{idx}]' ({' x '.join(str(s) for s in shape)})")
    return ", ".join(forms)


def locate_param(
    name: Any,
    shapes: Mapping[str, tuple[int, ...]],
    *,
    alias: Callable[[str, tuple[int, ...], tuple[int, ...]], tuple[int, ...]] | None = None,
    forms: str | None = None,
) -> tuple[str, tuple[int, ...]]:
    """``(array name, index)`` of the scalar that ``name`` addresses among arrays of ``shapes``.

    Parameters
    ----------
    name : str
    shapes : mapping of str -> tuple of int
        The arrays that can be addressed and their shapes.
    alias : callable, optional
        ``alias(field, index, shape) -> index`` rewrites short forms before the range check
        (a PLRNN with diagonal ``A`` accepts ``"A[i]"`` for ``A[i,i]``).
    forms : str, optional
        Description of the valid names for the error message (default ``name_forms(shapes)``).

    Raises
    ------
    ValueError
        ``"unknown parameter name ..."`` with the valid forms and the reason, when ``name``
        does not parse, names no array, has the wrong number of indices or is out of range.

    Examples
    --------
    >>> shapes = {"A": (2, 2), "h": (2,)}
    >>> locate_param("A[1,0]", shapes)
    ('A', (1, 0))
    >>> locate_param("A[1]", shapes)
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter name 'A[1]'; valid names: 'A[i,j]' (2 x 2), 'h[i]' (2) (here: a scalar of A needs 2 indices)
    """
    try:
        field, idx = parse_param_name(name)
    except ValueError:
        reason = "not of the form 'A[0]' or 'W[1,0]'"
    else:
        if field not in shapes:
            reason = f"no array {field!r}"
        else:
            shape = tuple(shapes[field])
            if alias is not None:
                idx = alias(field, idx, shape)
            if len(idx) != len(shape):
                reason = f"a scalar of {field} needs {len(shape)} indices"
            elif not all(i < s for i, s in zip(idx, shape)):
                reason = f"index out of range for {field} of shape {shape}"
            else:
                return field, idx
    valid = name_forms(shapes) if forms is None else forms
    raise ValueError(f"unknown parameter name {name!r}; valid names: {valid} (here: {reason})")
