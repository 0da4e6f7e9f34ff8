"""Exact fixed points and k-cycles of piecewise-linear RNNs (the SCYFI idea, made fast).

Inside a fixed sequence of regions ``D_1..D_k`` the k-fold map is affine,
``z_{k+1} = P z_1 + r`` with ``P = J_k ... J_1``, so a k-cycle through those regions solves
``(I - P) z_1 = r``. The candidate is *real* when the true map, run from ``z_1``, visits
exactly ``D_1..D_k``; otherwise it is *virtual* and SCYFI replaces the guess by the regions the
virtual orbit visited (this funnels quickly toward real objects).

Because the solution for one region sequence is unique (when ``I - P`` is nonsingular), a
cycle is identified by its region sequence up to rotation: :attr:`Cycle.key`, the
lexicographically smallest rotation written as ``"01|10|11"`` (one bit string per step).
A real solution has minimal period k exactly when its region sequence is primitive (not a
repetition of a shorter one); both facts are also checked on the points.

Search modes of :func:`find_cycles`:

``"fast"`` (default)
    A cost model first decides per order how the order is made complete (module
    :mod:`rnnexplore.dynamics.enumeration`): every Lyndon word over the model's *effective*
    letters (region bits that change no Jacobian or offset are left out) is solved, vectorised,
    whenever that is estimated to cost no more than the heuristic's budget for the order
    (or ``SearchBudget.enumerate_seconds``); above that, pruned enumeration (the admissible
    windows - words some state of the periodic box follows - found by exact LP emptiness tests
    to a depth chosen by cost, then the closed walks through them solved in batches) while its
    measured cost fits; the orders neither reaches go to the heuristic below. :attr:`CycleSet.proven` says which.
    Work estimated above ``SearchBudget.max_seconds`` (60 s) is refused unless
    ``allow_long=True``; Ctrl-C raises :class:`SearchInterrupted` carrying the partial result.
    Box certificates for what remains: ``find_cycles(..., certify=True, box=B)``
    (:func:`rnnexplore.dynamics.certify.certify_box` on every unproven order).

    The heuristic:
    Many chains of region guesses advance together as one stacked solve per iteration; every
    region sequence (up to rotation) is solved at most once per order; a chain that reaches an
    already-solved sequence ends and a new chain starts from a fresh sequence: ``warm_start``
    sequences first (e.g. the cycles found at nearby parameters), then in turn a window of k
    consecutive regions of a simulated orbit, a recombination of objects already found (a
    found k-cycle with a few bits flipped, or two found cycles of orders a + b = k glued
    together: cycles of a chaotic set shadow each other) and a uniformly random sequence.
    When an order has few region sequences (``SearchBudget.exhaustive_limit``) all of them are
    enumerated, which makes that order provably complete. An order ends after
    ``SearchBudget.restarts`` consecutive chains found nothing new.
``"reference"``
    The paper's semantics and loop defaults (random restarts ``N_out`` wrapping ``N_in`` region
    updates, a discovery resets both counters), sequential, but with exact dedup and an
    explicit primitive-period check instead of rounding. Used as the baseline in
    ``benchmarks/bench_cycles.py``.

Stability: eigenvalues ``lambda`` of ``P`` (the same for every phase): ``"stable"`` if all
``|lambda| < 1``, ``"unstable"`` if all ``|lambda| > 1``, otherwise ``"saddle"``. A cycle with an
eigenvalue of modulus exactly 1 (up to 1e-9) is therefore never called stable: it is reported as
``"saddle"`` (or ``"unstable"``) and flagged by :attr:`Cycle.marginal`.

Examples
--------
>>> from rnnexplore.dynamics.models import skew_tent
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> cs = find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0)
>>> [(c.order, c.stability) for c in cs]
[(1, 'unstable'), (2, 'stable')]
>>> cs[1].points[:, 0].round(4).tolist()
[-0.3846, 0.9231]
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from rnnexplore._validation import (
    check_array,
    check_bool,
    check_int,
    check_mapping,
    check_real,
    check_seed,
    check_str,
)
from rnnexplore.dynamics.enumeration import (
    PRUNE_TOL,
    NecklaceTree,
    effective_bits,
    n_lyndon,
    periodic_box,
    prefix_margin,
    prefix_margins,
    region_letters,
    switching_affine,
    template_box,
)
from rnnexplore.dynamics.models import PiecewiseLinearModel, ShallowPLRNN
from rnnexplore.dynamics.solve import HUGE, _solve_sequences, check_model
from rnnexplore.files import atomic_write_json, read_json

__all__ = [
    "Cycle",
    "CycleSet",
    "SearchBudget",
    "find_cycles",
    "SearchInterrupted",
    "brute_force_cycles",
    "reference_loops",
    "attractor_period",
]

_MARGINAL_TOL = 1e-9


# =========================================================================== Cycle
def _key_string(seq: np.ndarray) -> str:
    return "|".join("".join("1" if b else "0" for b in row) for row in seq)


def _canonical_shift(seq_bytes: bytes, k: int, nb: int) -> tuple[bytes, int]:
    """Smallest rotation (by whole regions) of a flattened region sequence and its shift."""
    best, shift = seq_bytes, 0
    for i in range(1, k):
        cut = i * nb
        rot = seq_bytes[cut:] + seq_bytes[:cut]
        if rot < best:
            best, shift = rot, i
    return best, shift


def _is_primitive(seq_bytes: bytes, k: int, nb: int) -> bool:
    for d in range(1, k):
        if k % d == 0:
            cut = d * nb
            if seq_bytes[cut:] + seq_bytes[:cut] == seq_bytes:
                return False
    return True


def _sort_eigenvalues(ev: np.ndarray) -> np.ndarray:
    ev = np.asarray(ev, dtype=complex)
    order = np.lexsort((ev.imag, ev.real, -np.abs(ev)))
    return ev[order]


@dataclass(frozen=True, eq=False)
class Cycle:
    """One fixed point (order 1) or k-cycle.

    Attributes
    ----------
    order : int
        Minimal period k.
    points : ndarray, shape (order, M)
        The orbit, starting at the canonical phase (the rotation whose regions form
        ``key``), so the same object found at nearby parameters starts at the
        corresponding point.
    eigenvalues : ndarray of complex, shape (M,)
        Eigenvalues of the cycle's Jacobian product ``P``, sorted by decreasing modulus.
    regions : ndarray of bool, shape (order, n_bits)
        Region bits of each point.
    key : str
        Canonical (rotation-minimal) region sequence, e.g. ``"10|01"``; hashable identity used
        to track an object across parameter changes.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> c = find_cycles(skew_tent(0.2, -1.5, 1.0), 1)[0]
    >>> c.order, c.key, c.stability, c.n_stable
    (1, '1', 'unstable', 0)
    """

    order: int
    points: np.ndarray
    eigenvalues: np.ndarray
    regions: np.ndarray
    key: str

    def __post_init__(self) -> None:
        # cheap type and shape checks only: the engine builds many cycles (from_dict checks content)
        k = self.order
        if isinstance(k, (bool, np.bool_)) or not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"order must be an integer >= 1, got {k!r}")
        if not isinstance(self.key, str):
            raise ValueError(f"key must be a string, got {type(self.key).__name__}")
        p, ev, r = self.points, self.eigenvalues, self.regions
        if not (isinstance(p, np.ndarray) and p.dtype == np.float64 and p.ndim == 2 and p.shape[0] == k):
            raise ValueError(f"points must be a float64 array of shape ({k}, M)")
        if not (isinstance(ev, np.ndarray) and ev.dtype.kind in "fc" and ev.shape == (p.shape[1],)):
            raise ValueError(f"eigenvalues must be an array of {p.shape[1]} numbers")
        if not (isinstance(r, np.ndarray) and r.dtype == bool and r.ndim == 2 and r.shape[0] == k):
            raise ValueError(f"regions must be a boolean array of shape ({k}, n_bits)")
        for arr in (self.points, self.eigenvalues, self.regions):
            arr.flags.writeable = False

    @property
    def n_stable(self) -> int:
        """Number of eigenvalues with ``|lambda| < 1`` and not marginal (the stability signature)."""
        return int(np.sum(np.abs(self.eigenvalues) < 1.0 - _MARGINAL_TOL))

    @property
    def max_abs_eigenvalue(self) -> float:
        """Spectral radius of ``P``."""
        return float(np.max(np.abs(self.eigenvalues)))

    @property
    def stability(self) -> str:
        """``"stable"`` (all ``|lambda| < 1``, none marginal), ``"unstable"`` (all > 1) or ``"saddle"``.

        A marginal eigenvalue (modulus within 1e-9 of 1, :attr:`marginal`) is never stable.
        """
        mod = np.abs(self.eigenvalues)
        if np.all(mod < 1.0 - _MARGINAL_TOL):
            return "stable"
        if np.all(mod > 1.0):
            return "unstable"
        return "saddle"

    @property
    def marginal(self) -> bool:
        """True when some eigenvalue has modulus 1 (within 1e-9): stability is borderline."""
        return bool(np.any(np.abs(np.abs(self.eigenvalues) - 1.0) <= _MARGINAL_TOL))

    @property
    def M(self) -> int:
        return int(self.points.shape[1])

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (complex eigenvalues as ``[re, im]`` pairs)."""
        return {
            "order": self.order,
            "key": self.key,
            "stability": self.stability,
            "points": self.points.tolist(),
            "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
            "regions": self.regions.astype(int).tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], model: Any = None, *, check: bool = True) -> "Cycle":
        """Inverse of :meth:`to_dict`; every field is checked (shapes, finiteness, key, stability).

        With ``model``, the points must also be a true orbit of it: ``model.step`` maps each
        point to the next (cyclically, to within ``1e-6 (1 + |z|)``) and the regions visited are
        the stored ones. ``check=False`` skips the checks, for dicts the kit has just made itself
        (the bifurcation map's tile results: several times faster).
        """
        if not check:
            order = int(d["order"])
            ev = np.array([complex(re, im) for re, im in d["eigenvalues"]], dtype=complex)
            return cls(order, np.array(d["points"], dtype=np.float64).reshape(order, -1), ev,
                       np.array(d["regions"], dtype=bool).reshape(order, -1), str(d["key"]))
        d = check_mapping(d, "cycle", required=("order", "key", "points", "eigenvalues", "regions"),
                          optional=("stability",))
        order = check_int(d["order"], "cycle order", minimum=1)
        key = check_str(d["key"], "cycle key", allow_empty=False)
        points = check_array(d["points"], "cycle points", ndim=2, min_size=1)
        if points.shape[0] != order:
            raise ValueError(f"cycle points must have {order} rows (the order), got shape {points.shape}")
        M = points.shape[1]
        ev = check_array(d["eigenvalues"], "cycle eigenvalues", shape=(M, 2))
        ev = ev[:, 0] + 1j * ev[:, 1]
        reg = check_array(d["regions"], "cycle regions", ndim=2, dtype=None)
        if reg.shape[0] != order or not np.all((reg == 0) | (reg == 1)):
            raise ValueError(f"cycle regions must be {order} rows of 0/1, got shape {reg.shape}")
        regions = reg.astype(bool)
        if key != _key_string(regions):
            raise ValueError(f"cycle key {key!r} does not match its regions {_key_string(regions)!r}")
        nb = regions.shape[1]
        if _canonical_shift(regions.tobytes(), order, nb)[0] != regions.tobytes() or not _is_primitive(
                regions.tobytes(), order, nb):
            raise ValueError(f"cycle key {key!r} is not a canonical (rotation-minimal, primitive) region sequence")
        cycle = cls(order, points, _sort_eigenvalues(ev), regions, key)
        if "stability" in d and d["stability"] != cycle.stability:
            raise ValueError(f"cycle {key!r}: stored stability {d['stability']!r} contradicts its eigenvalues "
                             f"({cycle.stability!r})")
        if model is not None:
            cycle._check_orbit(model)
        return cycle

    def _check_orbit(self, model: Any) -> None:
        if self.M != model.M or self.regions.shape[1] != model.n_bits:
            raise ValueError(f"cycle {self.key!r} has dimension {self.M} and {self.regions.shape[1]} region bits; "
                             f"the model has {model.M} and {model.n_bits}")
        nxt = model.step(self.points)
        err = np.max(np.abs(nxt - np.roll(self.points, -1, axis=0)), axis=1)
        if not np.all(err <= 1e-6 * (1.0 + np.max(np.abs(self.points), axis=1))):
            raise ValueError(f"cycle {self.key!r} is not an orbit of the model (step error {float(np.max(err)):.3g})")
        if not np.array_equal(model.region(self.points), self.regions):
            raise ValueError(f"cycle {self.key!r}: its points do not lie in its regions")

    def __repr__(self) -> str:
        return (
            f"Cycle(order={self.order}, stability={self.stability!r}, "
            f"max|lambda|={self.max_abs_eigenvalue:.4g}, key={self.key!r})"
        )


class CycleSet(list):
    """A list of :class:`Cycle` sorted by order then key, with search statistics.

    Attributes
    ----------
    stats : dict
        ``mode``, ``max_order``, ``seed``, ``wall_time`` (s), ``total_solves``, ``solves``
        (per order), ``stop`` (per order: ``"complete"`` = every region sequence was solved,
        so the order is provably complete; ``"converged"`` = the restart budget ran out without
        new finds; ``"max_solves"`` = the hard cap was hit), ``budget_exhausted`` (any order
        stopped by ``max_solves``), ``complete`` (all orders complete), ``solves_at_last_find``
        (per order: solves performed when the last object of that order was found -- the cost of
        finding everything, as opposed to the cost of deciding to stop).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> cs = find_cycles(paper_gt16(), 3, seed=0)
    >>> len(cs.by_order(1)), cs.stats["mode"]
    (1, 'fast')
    """

    def __init__(self, cycles: Iterable[Cycle] = (), stats: dict[str, Any] | None = None, model: Any = None) -> None:
        super().__init__(sorted(_as_cycles(cycles, "cycles"), key=lambda c: (c.order, c.key)))
        self.stats: dict[str, Any] = {} if stats is None else check_mapping(stats, "stats")
        if model is not None:
            check_model(model)
        #: The model the cycles belong to (set by :func:`find_cycles`; saved with the set, so that
        #: loading can check every orbit), or None.
        self.model = model

    @property
    def proven(self) -> dict[int, str | None]:
        """How completeness is known, per order: ``"enumerated"`` (every Lyndon word over the
        effective letters solved), ``"pruned"`` (admissible windows, then closed walks),
        ``"box"`` (a mixed-integer certificate for the box ``stats["box"]``) or ``None``
        (heuristic: ``stats["solves"][k]`` solves were spent and more objects may exist)."""
        return {int(k): v for k, v in dict(self.stats.get("proven", {})).items()}

    @property
    def continua(self) -> list[dict[str, Any]]:
        """Sets of non-isolated periodic points (singular ``I - P``, consistent, meeting its
        regions): ``{"order", "regions" (``*`` = any), "dimension", "point"}`` each."""
        return list(self.stats.get("continua", []))

    def summary(self) -> list[str]:
        """One line per order: count, how completeness is known, the work spent.

        Examples
        --------
        >>> from rnnexplore.dynamics.models import skew_tent
        >>> for line in find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0).summary():
        ...     print(line)
        order 1: 1 object(s), proven complete (enumerated, 2 solves)
        order 2: 1 object(s), proven complete (enumerated, 1 solves)
        """
        lines = []
        proven = self.proven
        solves = {int(k): v for k, v in dict(self.stats.get("solves", {})).items()}
        lps = {int(k): v for k, v in dict(self.stats.get("lps", {})).items()}
        milps = {int(k): v for k, v in dict(self.stats.get("milp_solves", {})).items()}
        stop = {int(k): v for k, v in dict(self.stats.get("stop", {})).items()}
        conts: dict[int, list[dict]] = {}
        for c in self.continua:
            conts.setdefault(int(c["order"]), []).append(c)
        for k in sorted(set(proven) | set(solves)):
            n = len(self.by_order(k))
            how = proven.get(k)
            if how == "box":
                txt = f"proven complete in the box [-{self.stats.get('box')}, {self.stats.get('box')}]^M ({milps.get(k, 0)} MILPs)"
            elif how == "pruned":
                txt = f"proven complete (pruned, {lps.get(k, 0)} LPs, {solves.get(k, 0)} solves)"
            elif how is not None:
                txt = f"proven complete ({how}, {solves.get(k, 0)} solves)"
            else:
                txt = f"NOT proven: heuristic, {solves.get(k, 0)} solves, stopped {stop.get(k, '?')}"
            line = f"order {k}: {n} object(s), {txt}"
            for c in conts.get(k, []):
                line += f"; a continuum of dimension {c['dimension']} in regions {c['regions']}"
            lines.append(line)
        return lines

    def by_order(self, k: int) -> list[Cycle]:
        """Cycles of minimal period ``k``."""
        return [c for c in self if c.order == k]

    def keys(self) -> set[str]:
        """Set of ``Cycle.key`` values."""
        return {c.key for c in self}

    def to_dict(self, model: Any = None) -> dict[str, Any]:
        """JSON-able dict; the model (``model``, else :attr:`model`) is stored too, so loading checks every orbit."""
        d: dict[str, Any] = {"cycles": [c.to_dict() for c in self], "stats": _jsonable(self.stats)}
        model = self.model if model is None else model
        if model is not None:
            check_model(model)
            d["model"] = model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], model: Any = None) -> "CycleSet":
        """Inverse of :meth:`to_dict`, checking every cycle (:meth:`Cycle.from_dict`).

        All cycles must share one dimension and distinct keys; when the dict holds a model (or
        ``model`` is given) every cycle must be a true orbit of it.
        """
        d = check_mapping(d, "cycle set", required=("cycles",), optional=("stats", "model"))
        if model is None and "model" in d:
            from rnnexplore.dynamics.models import model_from_dict

            model = model_from_dict(d["model"])
        if model is not None:
            check_model(model)
        if not isinstance(d["cycles"], list):
            raise ValueError(f"cycle set 'cycles' must be a list, got {type(d['cycles']).__name__}")
        cycles = []
        for n, c in enumerate(d["cycles"]):
            try:
                cycles.append(Cycle.from_dict(c, model))
            except ValueError as exc:
                raise ValueError(f"cycles[{n}]: {exc}") from None
        dims = {(c.M, c.regions.shape[1]) for c in cycles}
        if len(dims) > 1:
            raise ValueError(f"cycles of one set must share dimension and region bits, got {sorted(dims)}")
        keys = [c.key for c in cycles]
        if len(set(keys)) != len(keys):
            raise ValueError("cycle keys must be distinct (each object once)")
        stats = check_mapping(d.get("stats", {}), "cycle set stats")
        return cls(cycles, stats, model)

    def save(self, path: str | os.PathLike, model: Any = None) -> None:
        """Write as JSON, atomically (a failed save keeps the previous file); see :meth:`to_dict`."""
        atomic_write_json(path, self.to_dict(model), "cycle set")

    @classmethod
    def load(cls, path: str | os.PathLike, model: Any = None) -> "CycleSet":
        """Read a file written by :meth:`save` (every field checked; see :meth:`from_dict`)."""
        data = read_json(path, "cycle set")
        try:
            return cls.from_dict(data, model)
        except ValueError as exc:
            raise ValueError(f"cycle set file {os.fspath(path)!r}: {exc}") from None


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# =========================================================================== budgets
#: (field, minimum, maximum, None allowed) of every integer budget field. The maxima keep one
#: order's work and memory bounded: enumeration stores every sequence, chains are solved together.
_BUDGET_INTS = (
    ("restarts", 1, 10**7, True),
    ("chain_length", 1, 10**6, True),
    ("max_solves", 1, 10**9, True),
    ("batch", 1, 4096, False),
    ("exhaustive_limit", 0, 2**20, False),
    ("trajectories", 0, 10**4, False),
    ("trajectory_length", 0, 10**5, False),
)
_MAX_RESTART_SCALE = 1e4
def reference_loops(k: int) -> tuple[int, int]:
    """The paper's ``(N_out, N_in)`` loop defaults for order k (tuned for 2-D systems).

    Examples
    --------
    >>> reference_loops(1), reference_loops(16), reference_loops(40)
    ((10, 20), (40, 1080), (100, 1115))
    """
    if k <= 2:
        return 10, 20
    if k <= 5:
        return 10, 60
    if k <= 7:
        return 10, 300
    if k <= 19:
        return 40, 1080
    if k <= 29:
        return 40, 1115
    return 100, 1115


@dataclass(frozen=True)
class SearchBudget:
    """Completeness controls of :func:`find_cycles` (all per order).

    Parameters
    ----------
    restarts : int, optional
        Fast mode: an order ends after this many consecutive chains found nothing new
        (default ``16 + 8 M + min(M^2, 400)``). Reference mode: ``N_out`` (default :func:`reference_loops`).
    chain_length : int, optional
        Maximum region updates per chain (reference: ``N_in``, default :func:`reference_loops`;
        fast: default ``20 + 2k`` -- chains that find objects do so within a few updates, while
        chains of expanding systems can wander through new virtual sequences for ever).
    max_solves : int, optional
        Hard cap on linear solves per order (default: none in reference mode,
        ``20000 + 2000 M`` in fast mode).
    batch : int
        Fast mode: chains advanced together in one stacked solve.
    exhaustive_limit : int
        Fast mode: enumerate every Lyndon word over the effective letters when there are at
        most this many, whatever the cost model says; the order is then provably complete.
        0 disables enumeration and pruning altogether (pure SCYFI heuristic).
    enumerate_seconds : float
        Fast mode: an order is enumerated when the cost model estimates that at most the
        heuristic's budget for the order (:meth:`fast_expected_solves` solves) or at most this
        many seconds, whichever is larger (default 0: never dearer than the heuristic).
    prune : bool
        Fast mode: orders too large to enumerate are first tried with pruned enumeration
        (admissible windows by LP emptiness tests, then closed walks), within the heuristic's
        budget of those orders (default False: each LP costs a fraction of a millisecond,
        too dear for every point of a sweep; ``"thorough"`` prunes).
    prune_seconds : float, optional
        Time pruned enumeration may take (default: the heuristic's budget of the orders it would prove).
    max_seconds : float
        Searches estimated above this are refused (``find_cycles(..., allow_long=True)`` runs them).
    restart_scale : float
        Multiplies the default ``restarts`` (fast) or ``N_out`` (reference), e.g. 4.0 for a
        thorough search.
    trajectories, trajectory_length : int
        Fast mode: every other fresh chain (at most ``restarts`` of them per order) starts from
        a window of k consecutive regions of one of ``trajectories`` simulated orbits
        (``trajectory_length`` steps after a short transient); the others start from random
        regions or from recombinations of found objects (at most ``restarts`` per order).
        Only random-start chains count against ``restarts``. 0 disables orbit seeding.

    Presets (strings accepted by ``find_cycles(budget=...)``): ``"default"``;
    ``"interactive"`` (for one slider event with a warm start: ``restarts=4``, ``batch=8``,
    ``exhaustive_limit=64``, ``max_solves=400``, 8 orbits of 60 steps); ``"thorough"``
    (``restart_scale=4``, ``exhaustive_limit=20000``, ``enumerate_seconds=1``, ``prune=True``,
    ``max_seconds=600``).

    Examples
    --------
    >>> SearchBudget.coerce("interactive").restarts
    4
    """

    restarts: int | None = None
    chain_length: int | None = None
    max_solves: int | None = None
    batch: int = 32
    exhaustive_limit: int = 2048
    enumerate_seconds: float = 0.0
    prune: bool = False
    prune_seconds: float | None = None
    max_seconds: float = 60.0
    restart_scale: float = 1.0
    trajectories: int = 32
    trajectory_length: int = 200

    def __post_init__(self) -> None:
        for name, lo, hi, none_ok in _BUDGET_INTS:
            object.__setattr__(self, name, check_int(getattr(self, name), f"budget {name}", minimum=lo,
                                                     maximum=hi, allow_none=none_ok))
        object.__setattr__(self, "restart_scale", check_real(self.restart_scale, "budget restart_scale",
                                                             minimum=0.0, exclusive_minimum=True,
                                                             maximum=_MAX_RESTART_SCALE))

    @classmethod
    def coerce(cls, budget: Any) -> "SearchBudget":
        """Accept ``None``, a preset name, an int (``restarts``), a dict or a SearchBudget."""
        if budget is None or budget == "default":
            return cls()
        if isinstance(budget, SearchBudget):
            return budget
        if budget == "interactive":
            return cls(restarts=4, batch=8, exhaustive_limit=64, max_solves=400, trajectories=8, trajectory_length=60)
        if budget == "thorough":
            return cls(restart_scale=4.0, exhaustive_limit=20000, enumerate_seconds=1.0, prune=True,
                       max_seconds=600.0)
        if isinstance(budget, (int, np.integer)) and not isinstance(budget, bool):
            return cls(restarts=check_int(budget, "budget (restarts)", minimum=1))
        if isinstance(budget, Mapping):
            return cls(**check_mapping(budget, "budget", optional=[f.name for f in fields(cls)]))
        raise ValueError(
            "budget must be None, 'default', 'interactive', 'thorough', an int (restarts), "
            f"a dict or a SearchBudget; got {budget!r}"
        )

    def fast_restarts(self, M: int) -> int:
        """Restarts of the fast heuristic for dimension ``M``."""
        if self.restarts is not None:
            return self.restarts
        return max(1, int(math.ceil((16 + 8 * M + min(M * M, 400)) * self.restart_scale)))

    def fast_chain_length(self, k: int) -> int:
        """Chain length of the fast heuristic at order ``k``."""
        if self.chain_length is not None:
            return self.chain_length
        return min(reference_loops(k)[1], 20 + 2 * k)

    def fast_max_solves(self, M: int) -> int:
        """Solves per order the fast heuristic may spend for dimension ``M``."""
        return self.max_solves if self.max_solves is not None else 20000 + 2000 * M

    def fast_expected_solves(self, M: int, k: int) -> int:
        """The heuristic's budget for order k in the cost model: its restarts times the chain
        length, twice (chains that find objects reset the count), capped by ``max_solves``."""
        return min(self.fast_max_solves(M), 2 * self.fast_restarts(M) * self.fast_chain_length(k))


class _Collector:
    """Cycles found so far for one order, with exact (key) and tolerance-based dedup."""

    def __init__(self, model, k: int) -> None:
        self.model, self.k, self.nb = model, k, model.n_bits
        self.cycles: dict[bytes, Cycle] = {}
        self._near_border: list[Cycle] = []

    def offer(self, seq_bytes: bytes, Z: np.ndarray, S: np.ndarray, P: np.ndarray) -> bool:
        """Record a real solution if it is a new primitive k-cycle; True when recorded."""
        k, nb = self.k, self.nb
        canon, shift = _canonical_shift(seq_bytes, k, nb)
        if canon in self.cycles or not _is_primitive(canon, k, nb):
            return False
        scale = 1.0 + float(np.max(np.abs(Z)))
        for d in range(1, k):  # minimal period on the points
            if k % d == 0 and float(np.max(np.abs(Z[d] - Z[0]))) <= 1e-10 * scale:
                return False
        points = np.roll(Z, -shift, axis=0)
        # Two region sequences can describe one orbit only if a point sits on a border
        # (a switching value ~0 seen as on by one solve and off by the other).
        near = nb > 0 and float(np.min(np.abs(self.model._switching(Z)))) <= 1e-9 * scale
        if near:
            for other in self._near_border:
                if _same_orbit(points, other.points):
                    return False
        with np.errstate(all="ignore"):
            ev = _sort_eigenvalues(np.linalg.eigvals(P))
        regions = np.roll(S, -shift, axis=0).copy()
        cyc = Cycle(k, points.copy(), ev, regions, _key_string(regions))
        self.cycles[canon] = cyc
        if near:
            self._near_border.append(cyc)
        return True


def _offer_many(col: "_Collector", V: np.ndarray, Z: np.ndarray, P: np.ndarray) -> int:
    """Vectorised :meth:`_Collector.offer` for many real solutions of one order (enumeration
    results); rows near a border go through the scalar path (tolerance dedup). Returns the count
    recorded."""
    N, k, nb = V.shape
    if N == 0:
        return 0
    L = k * nb
    flat = np.ascontiguousarray(V.reshape(N, L)).view(np.uint8)
    best = flat.copy()
    shift = np.zeros(N, dtype=np.int64)
    for sft in range(1, k):
        rot = np.roll(flat, -sft * nb, axis=1)
        diff = rot != best
        first = np.argmax(diff, axis=1)
        rows = np.arange(N)
        less = diff.any(axis=1) & (rot[rows, first] < best[rows, first])
        best[less] = rot[less]
        shift[less] = sft
    prim = np.ones(N, dtype=bool)
    scale = 1.0 + np.max(np.abs(Z), axis=(1, 2))
    for d in range(1, k):
        if k % d == 0:
            prim &= np.any(np.roll(flat, -d * nb, axis=1) != flat, axis=1)
            prim &= np.max(np.abs(Z[:, d] - Z[:, 0]), axis=1) > 1e-10 * scale
    near = np.zeros(N, dtype=bool)
    if nb > 0:
        near = np.min(np.abs(col.model._switching(Z)), axis=(1, 2)) <= 1e-9 * scale
    idx = np.arange(k)[None, :] + shift[:, None]
    idx %= k
    pts = np.take_along_axis(Z, idx[:, :, None], axis=1)
    regs = np.take_along_axis(V, idx[:, :, None], axis=1)
    with np.errstate(all="ignore"):
        ev = np.linalg.eigvals(P).astype(complex)
    order = np.lexsort((ev.imag, ev.real, -np.abs(ev)), axis=-1)
    ev = np.take_along_axis(ev, order, axis=1)
    chars = np.where(regs, ord("1"), ord("0")).astype(np.uint8)
    chars = np.concatenate([chars, np.full((N, k, 1), ord("|"), dtype=np.uint8)], axis=2).reshape(N, -1)[:, :-1]
    n_new = 0
    for b in range(N):
        if not prim[b]:
            continue
        if near[b]:
            n_new += col.offer(flat[b].tobytes(), Z[b], V[b], P[b])
            continue
        canon = best[b].tobytes()
        if canon in col.cycles:
            continue
        col.cycles[canon] = Cycle(k, pts[b].copy(), ev[b].copy(), regs[b].copy(), chars[b].tobytes().decode())
        n_new += 1
    return n_new


def _same_orbit(a: np.ndarray, b: np.ndarray, rtol: float = 1e-9) -> bool:
    tol = rtol * (1.0 + max(float(np.max(np.abs(a))), float(np.max(np.abs(b)))))
    for s in range(len(b)):
        if float(np.max(np.abs(a - np.roll(b, -s, axis=0)))) <= tol:
            return True
    return False


# =========================================================================== enumeration
_BRUTE_LIMIT_BITS = 30  # never enumerate more than 2^30 region sequences


def _brute_force_seconds(nb: int, k: int, M: int) -> float:
    """Rough single-core time of brute force (measured: ~3.5 us + 0.08 us * k * M^2 per sequence)."""
    return (2.0 ** (nb * k) / k) * (3.5 + 0.08 * k * M * M) * 1e-6


def _canonical_codes(nb: int, k: int, lo: int, hi: int) -> np.ndarray:
    """Codes in [lo, hi) that are strictly smaller than all their proper rotations.

    Exactly one code per primitive necklace; code bits ``[i*nb, (i+1)*nb)`` are region i.
    """
    codes = np.arange(lo, hi, dtype=np.uint64)
    if k == 1:
        return codes
    n = nb * k
    mask = np.uint64((1 << n) - 1)
    keep = np.ones(codes.shape, dtype=bool)
    for j in range(1, k):
        s1, s2 = np.uint64(j * nb), np.uint64(n - j * nb)
        rot = ((codes >> s1) | (codes << s2)) & mask
        keep &= codes < rot
    return codes[keep]


def _decode(codes: np.ndarray, nb: int, k: int) -> np.ndarray:
    bits = (codes[:, None] >> np.arange(nb * k, dtype=np.uint64)) & np.uint64(1)
    return bits.astype(bool).reshape(len(codes), k, nb)


def _enumerate_order(model, k: int, collector: _Collector, batch: int = 4096) -> int:
    """Solve every primitive region sequence of order k (one per rotation class)."""
    nb = model.n_bits
    n_codes = 1 << (nb * k)
    solves = 0
    chunk = 1 << 16
    for lo in range(0, n_codes, chunk):
        codes = _canonical_codes(nb, k, lo, min(n_codes, lo + chunk))
        for s in range(0, len(codes), batch):
            S = _decode(codes[s : s + batch], nb, k)
            ok, real, Z, V, P, _c = _solve_sequences(model, S)
            solves += len(S)
            for b in np.flatnonzero(real):
                collector.offer(S[b].tobytes(), Z[b], S[b], P[b])
    return solves


def _solve_seconds(M: int, k: int) -> float:
    """Rough single-core time of one vectorised solve of an order-k sequence (measured on the
    2-core development machine under load: ~2 us + 0.4 us * k + 0.06 us * k * M^2)."""
    return (2.0 + 0.4 * k + 0.06 * k * M * M) * 1e-6


def _heuristic_seconds_per_solve(M: int, k: int) -> float:
    """The SCYFI chains pay Python bookkeeping per solve on top of the stacked solve."""
    return 12e-6 + 2.0 * _solve_seconds(M, k)


class _Alphabet:
    """Effective letters of a model: patterns of the bits that matter, and a state -> letter map."""

    def __init__(self, model) -> None:
        self.model = model
        self.bits = effective_bits(model)
        self.letters = region_letters(model)
        self.n = len(self.letters)
        self.G, self.g = switching_affine(model)
        self._index = {row.tobytes(): i for i, row in enumerate(self.letters[:, self.bits])}

    def letter_of(self, z: np.ndarray) -> np.ndarray:
        """Letter index of each state (-1 for a pattern outside the alphabet)."""
        regs = self.model._region(z)[..., self.bits]
        return np.array([self._index.get(r.tobytes(), -1) for r in regs.reshape(-1, regs.shape[-1])],
                        dtype=np.int64).reshape(regs.shape[:-1])

    def star_key(self, regions: np.ndarray) -> str:
        """Region sequence with ineffective bits written ``*`` (they do not matter there)."""
        return "|".join("".join(("1" if b else "0") if e else "*" for b, e in zip(row, self.bits)) for row in regions)


class _ExactOrders:
    """Orders made complete by enumeration: plain Lyndon words over the effective letters, or
    the Lyndon words whose cyclic windows some state of the periodic box follows (pruned)."""

    def __init__(self, model, alphabet: _Alphabet, collectors: dict, bar=None) -> None:
        self.model, self.alpha = model, alphabet
        self.collectors = collectors
        self.bar = bar
        self.completed: dict[int, str] = {}  # order -> "enumerated" / "pruned", as each finishes
        self.solves: dict[int, int] = {}
        self.lps: dict[int, int] = {}
        self.continua: dict[bytes, dict] = {}
        self.lp_seconds = 5e-4  # first guess per LP (batched blocks, 2-core machine under load); then measured
        self._deadline = math.inf
        self.box = None  # bounds of every periodic point used by the pruned stage (None: unbounded)
        self.window_depth = 0  # the window length J the pruned stage chose
        self.on_level = None  # callable(dict) told about every window level built (benchmarks)

    # -- exact solve of Lyndon words
    def solve_words(self, k: int, words: np.ndarray, batch: int = 8192) -> None:
        model, alpha = self.model, self.alpha
        col = self.collectors[k]
        self.solves[k] = self.solves.get(k, 0) + len(words)
        for s in range(0, len(words), batch):
            S = alpha.letters[words[s : s + batch]]
            ok, real, Z, V, P, cont = _solve_sequences(model, S, bits=alpha.bits)
            rows = np.flatnonzero(real)
            _offer_many(col, V[rows], Z[rows], P[rows])
            for b in np.flatnonzero(cont):
                self._continuum(k, S[b], P[b])

    def _continuum(self, k: int, seq: np.ndarray, P: np.ndarray) -> None:
        key = _canonical_shift(np.ascontiguousarray(seq).tobytes(), k, seq.shape[1])[0]
        if key in self.continua:
            return
        tau, z = prefix_margin(self.model, seq, self.alpha.bits, self.alpha.G, self.alpha.g, closed=True)
        if tau > 0.0 and z is not None:
            with np.errstate(all="ignore"):
                sv = np.linalg.svd(np.eye(self.model.M) - P, compute_uv=False)
            dim = int(np.sum(sv <= 1e-9 * (1.0 + float(np.max(np.abs(P))))))
            self.continua[key] = {"order": k, "regions": self.alpha.star_key(seq), "dimension": max(dim, 1),
                                  "point": [float(v) for v in z]}

    # -- plain enumeration (orders up to k_plain)
    def _complete(self, k: int, how: str) -> None:
        self.completed[k] = how
        if self.bar is not None:
            self.bar.update(1)

    def plain(self, orders: list[int]) -> None:
        if not orders:
            return
        tree = NecklaceTree(self.alpha.n)
        want = set(orders)
        for t in range(1, max(orders) + 1):
            _parents, lyn = tree.grow()
            if t in want:
                self.solve_words(t, lyn)
                self._complete(t, "enumerated")

    # -- pruned enumeration: admissible windows, then closed walks
    def pruned(self, orders: list[int], seconds: float, skip: set[int], report: set[int] | None = None,
               box: Any = "auto", depth: int | None = None) -> list[int]:
        """Prove ``orders`` by admissible windows within about ``seconds``; returns the orders made
        complete (the ones in ``report`` are marked ``"pruned"``; those in ``skip`` are not solved).

        Two stages (:class:`_Windows`). First the sets ``A_1..A_J`` of admissible *windows*: the
        words of length t (all of them, not only prenecklaces) that some state of the periodic
        box follows for t steps, each found exactly - a word is dropped only when a linear
        program proves its polyhedron of initial states in the box empty, or its interval hull
        is empty. Then, for every order k, the Lyndon words of length k whose every cyclic
        window of length J lies in ``A_J`` (closed walks of the de Bruijn graph of ``A_J``,
        grown as a prenecklace tree), each solved exactly and checked on the true map.

        Completeness: the points ``z_1..z_k`` of a real k-cycle all lie in the periodic box (and
        in its tightening by a template polytope, which maps every periodic point it holds to
        one it holds: :func:`~rnnexplore.dynamics.enumeration.template_box`), and
        for each i the itinerary of ``z_i`` over J steps (read cyclically) is the cyclic window
        of the cycle's region sequence starting at i; so every cyclic window of length J is
        admissible and survives in ``A_J`` (the filters below drop only what no such orbit
        follows), and the cycle's Lyndon rotation is among the words solved. The depth J is
        chosen by cost: deepening stops when the LPs of the next level would cost more than
        solving the closed walks of the current one (estimated from its graph's growth rate).

        ``box``: bounds ``(lo, hi)`` holding every periodic point, ``"auto"`` for
        :func:`~rnnexplore.dynamics.enumeration.periodic_box` tightened by
        :func:`~rnnexplore.dynamics.enumeration.template_box` (:meth:`_auto_box`), or None (no bound: windows of
        any initial state). ``depth``: grow the windows to this length whatever the cost model
        says (tests; the time limit still applies).
        """
        report = set(orders) if report is None else report
        import scipy.optimize  # noqa: F401 - imported before the clock starts (the LP cost model)

        t0 = time.perf_counter()
        self._deadline = t0 + seconds
        self.box = self._auto_box(seconds) if isinstance(box, str) else box
        K = max(orders)
        todo = [k for k in orders if k not in skip]
        win = _Windows(self, K, todo, depth)
        win.build()
        self.window_depth = win.depth
        done: list[int] = []
        want = set(orders)
        for k, lyn in win.closed_walks():
            if k not in want:
                continue
            if k not in skip:
                est = len(lyn) * _solve_seconds(self.model.M, k)
                if time.perf_counter() + est > self._deadline and est > 0.05 * seconds:
                    break  # (orders that cost under 5% of the budget are still solved)
                self.solve_words(k, lyn)
                self.solves.setdefault(k, 0)
            # the LPs of window level k; the lowest reported order also carries the levels below it
            low = min(report) if report else 1
            self.lps[k] = win.lps.get(k, 0) if k != low else sum(n for t, n in win.lps.items() if t <= k)
            done.append(k)
            if k in report:
                self._complete(k, "pruned")
        return done

    template_share = 0.1  # of the pruned stage's time, at most, for tightening the box (template_box)

    def _auto_box(self, seconds: float):
        """:func:`periodic_box`, tightened by :func:`template_box` within ``template_share`` of
        the time (every periodic point stays inside: see there); None when no box is known."""
        box = periodic_box(self.model)
        if box is None or self.template_share <= 0:
            return box
        return template_box(self.model, box, seconds=self.template_share * seconds)

    def _in_box(self, z: np.ndarray) -> np.ndarray:
        """Rows of z (..., M) inside the box (finite rows without a box); NaN is outside."""
        if self.box is None:
            return np.all(np.isfinite(z), axis=-1)
        return np.all((z >= self.box[0]) & (z <= self.box[1]), axis=-1)


_BIG = 1e300  # "unbounded" in interval arithmetic (finite, so that 0 * bound stays 0)
_MAX_TREE = 12_000_000  # prenecklace-tree nodes the closed-walk stage may hold at one level (~1 GB)


class _Level:
    """The admissible windows of one length t: words (N, t) sorted lexicographically, an
    interval hull ``[lo, hi]`` of the last state of every orbit in the box that follows the
    word, and each word's place in the level below: ``codes = rank(w[:-1]) * n_letters +
    w[-1]`` (sorted, the lexicographic order) and ``suf = rank(w[1:])``, ranks being indices
    in the level of length t - 1 (the empty word has rank 0). Ranks keep codes small at any
    depth (base-n codes of whole words overflow int64 at n^t > 2^63: J <= 6 for 1024 letters)."""

    def __init__(self, t: int, words: np.ndarray, codes: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 suf: np.ndarray) -> None:
        self.t, self.words, self.codes, self.lo, self.hi, self.suf = t, words, codes, lo, hi, suf

    def select(self, keep: np.ndarray) -> _Level:
        return _Level(self.t, self.words[keep], self.codes[keep], self.lo[keep], self.hi[keep], self.suf[keep])


class _Windows:
    """Admissible windows ``A_1..A_J`` of the periodic orbits of a model (see
    :meth:`_ExactOrders.pruned` for the completeness argument) and the closed walks through them.

    Level t -> t + 1: the candidates are the words ``w a`` with ``w`` and ``w[1:] a`` both in
    ``A_t`` (a window's two sub-windows are windows). A candidate is rejected without an LP when
    its interval hull is empty: the image of ``w``'s hull under its last piece, intersected with
    the hull of ``w[1:] a`` (the same last state), the box and the half-spaces of ``a``; it is
    kept without an LP when an orbit known to follow it starts in the box (random orbits from
    the box and the LP witnesses, all simulated); the rest cost one LP each
    (:func:`~rnnexplore.dynamics.enumeration.prefix_margins`, batched). Then words that have
    no successor or no predecessor in ``A_{t+1}`` are removed until none is left (every window
    of a cycle has both: the windows starting one step later and earlier). A level whose LPs
    would not fit in half the time left is built partially: the candidates not tested in that
    time are kept (a superset of ``A_{t+1}`` is as sound, only less selective) - when at least
    about 70% of its LPs fit; it is then the last level. A lazy level that does not fit is
    also built partially when the closed walks of the current level cannot reach the next
    order at all (its prenecklace tree is over ``_MAX_TREE``): with half the time those
    walks leave unused (four times their estimate kept back), if that is at least a tenth of the
    time left - the alternative is to stop there. A lazy level whose candidates were all
    decided within its time is exact and need not be the last.

    By default the levels are built lazily (:meth:`_grow_lazy`, :meth:`_settle`): the trimmed
    level is the core of the admissible candidates, so only candidates in the core of those not
    yet rejected are tested, and a rejection that leaves a word without predecessor or
    successor drops its other candidates untested; an LP's Farkas certificate also rejects the
    siblings it covers. The levels are the same sets (tested against building them in full).
    """

    lazy: bool | str = True  # decide levels lazily (:meth:`_settle`; "always": also at a forced depth)
    split_first = True  # the bit-cell pre-tests (:meth:`_split`) before the lazy rounds
    lazy_fraction = 0.2  # LPs a lazy level spends per candidate in its core (first guess; then measured)

    def __init__(self, ex: _ExactOrders, K: int, todo: list[int], depth: int | None = None) -> None:
        self.ex, self.model, self.alpha = ex, ex.model, ex.alpha
        self.K, self.todo, self.forced = K, todo, depth
        self.partial = False  # the last level was only partly tested (then it stays the last)
        self.seconds = ex._deadline - time.perf_counter()
        self.n = ex.alpha.n
        self.M = ex.model.M
        self.levels: list[_Level] = []
        self.lps: dict[int, int] = {}
        G = self.alpha.G
        unit = (np.sum(G != 0, axis=1) == 1) & (np.max(G, axis=1) == 1.0)
        #: per switching bit, the state component it reads (G row = unit vector), else -1
        self.selects = np.where(unit, np.argmax(G != 0, axis=1), -1)
        eff = np.flatnonzero(self.alpha.bits)
        self.exact_cells = bool(np.all(self.selects[eff] >= 0))  # the hull test of a letter is exact
        self.binary = not isinstance(ex.model, ShallowPLRNN) and ex.alpha.n == 2 ** len(eff)
        box = ex.box
        self.blo = np.full(self.M, -_BIG) if box is None else np.asarray(box[0], dtype=np.float64)
        self.bhi = np.full(self.M, _BIG) if box is None else np.asarray(box[1], dtype=np.float64)
        self.J = ex.model.jacobians(self.alpha.letters)
        self.c = ex.model.offsets(self.alpha.letters)
        self._pool_letters: list[np.ndarray] = []
        self._pool_start: list[np.ndarray] = []
        rng = np.random.default_rng(0)  # witnesses only save LPs: the result does not depend on them
        if box is None:
            z0 = rng.normal(size=(2048, self.M)) * (1.0 + float(np.max(np.abs(ex.alpha.g), initial=0.0)))
        else:
            z0 = self.blo + (self.bhi - self.blo) * rng.random((2048, self.M))
        self._add_orbits(z0, 48)

    @property
    def depth(self) -> int:
        return self.levels[-1].t if self.levels else 0

    # -- witnesses
    def _add_orbits(self, z0: np.ndarray, steps: int) -> None:
        """Simulate orbits from z0; keep their letters and whether each point is in the box."""
        with np.errstate(all="ignore"):
            orbit = self.model.simulate(z0, steps - 1)  # (steps, n, M)
        orbit = np.swapaxes(orbit, 0, 1)
        finite = np.all(np.isfinite(orbit), axis=2)
        lets = _letter_index(self.alpha, np.nan_to_num(orbit))
        lets[~finite] = -1
        if self.n < 2**15:
            lets = lets.astype(np.int16)
        self._pool_letters.append(lets)
        self._pool_start.append(self.ex._in_box(orbit) & finite)

    def _witnessed(self, t: int) -> np.ndarray:
        """Sorted codes (:class:`_Level`) of the words of length t some pool orbit follows from a
        point in the box and whose prefix of length t - 1 is in the level below."""
        from numpy.lib.stride_tricks import sliding_window_view

        out = []
        for lets, start in zip(self._pool_letters, self._pool_start):
            if lets.shape[1] < t:
                continue
            win = sliding_window_view(lets, t, axis=1)  # (n, T - t + 1, t)
            ok = start[:, : win.shape[1]] & np.all(win >= 0, axis=2)
            out.append(win[ok].astype(np.int64))
        if not out:
            return np.zeros(0, dtype=np.int64)
        words = np.concatenate(out)
        r = self._rank(words[:, :-1])
        return np.unique(r[r >= 0] * self.n + words[r >= 0, -1])

    def _rank(self, words: np.ndarray) -> np.ndarray:
        """Index of each word (N, t) in the level of length t (-1 where it is not a window there)."""
        r = np.zeros(len(words), dtype=np.int64)  # the empty word
        found = np.ones(len(words), dtype=bool)
        for s in range(words.shape[1]):
            codes = self.levels[s].codes
            if len(codes) == 0:
                return np.full(len(words), -1, dtype=np.int64)
            c = r * self.n + words[:, s]
            pos = np.minimum(np.searchsorted(codes, c), len(codes) - 1)
            found &= codes[pos] == c
            r = pos
        return np.where(found, r, -1)

    # -- interval hulls
    def _region_hull(self, lo: np.ndarray, hi: np.ndarray, letters: np.ndarray,
                     units: np.ndarray | None = None) -> np.ndarray:
        """Clip hulls (in place) to the half-spaces of their letters (only the bits ``units``, by
        default every effective bit); which are possibly nonempty (sound: False only when no
        state of the hull lies in the letter's region)."""
        G, g = self.alpha.G, self.alpha.g
        eff = np.flatnonzero(self.alpha.bits) if units is None else units
        regs = self.alpha.letters[letters]
        for j in eff:
            p = self.selects[j]
            on = regs[:, j]
            if p >= 0:
                thr = -g[j]
                lo[on, p] = np.maximum(lo[on, p], thr - 1e-9 * (1.0 + abs(thr)))
                hi[~on, p] = np.minimum(hi[~on, p], thr + 1e-9 * (1.0 + abs(thr)))
        ok = np.all(lo <= hi, axis=1)
        Gp, Gn = np.maximum(G[eff], 0.0), np.minimum(G[eff], 0.0)
        with np.errstate(all="ignore"):
            slo = lo @ Gp.T + hi @ Gn.T + g[eff]
            shi = hi @ Gp.T + lo @ Gn.T + g[eff]
        tol = 1e-9 * (1.0 + np.abs(slo) + np.abs(shi))
        on = regs[:, eff]
        ok &= np.all(np.where(on, ~(shi < -tol), ~(slo > tol)), axis=1)
        return ok

    def _image(self, lvl: _Level) -> tuple[np.ndarray, np.ndarray]:
        """Interval image of every word's last-state hull under the piece of its last letter."""
        N = len(lvl.codes)
        nlo, nhi = np.empty((N, self.M)), np.empty((N, self.M))
        last = lvl.words[:, -1]
        for s in range(0, N, 16384):
            sl = slice(s, s + 16384)
            J, c = self.J[last[sl]], self.c[last[sl]]
            Jp, Jn = np.maximum(J, 0.0), np.minimum(J, 0.0)
            lo, hi = lvl.lo[sl], lvl.hi[sl]
            with np.errstate(all="ignore"):
                a = np.einsum("nij,nj->ni", Jp, lo) + np.einsum("nij,nj->ni", Jn, hi) + c
                b = np.einsum("nij,nj->ni", Jp, hi) + np.einsum("nij,nj->ni", Jn, lo) + c
            pad = 1e-9 * (1.0 + np.abs(a) + np.abs(b))
            nlo[sl] = np.nan_to_num(a - pad, nan=-_BIG, neginf=-_BIG, posinf=_BIG)
            nhi[sl] = np.nan_to_num(b + pad, nan=_BIG, neginf=-_BIG, posinf=_BIG)
        return np.maximum(nlo, self.blo), np.minimum(nhi, self.bhi)

    # -- LPs
    def _lp(self, words: np.ndarray, until: float = math.inf, units: np.ndarray | None = None,
            certify: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Keep-mask of the words (LP emptiness, z_1 in the box) and the rows with a witness.
        LPs stop at time ``until``: the words not tested by then are kept (undecided; in a
        seeded random order, so that a partial level prunes evenly). ``units``: only these
        bits of the last letter count (a cell of letters sharing them). Also sets
        ``last_tested`` and, with ``certify``, ``last_support`` /
        ``last_certified`` (the inequalities of each verified emptiness certificate)."""
        ex, alpha = self.ex, self.alpha
        n = len(words)
        active = None
        if units is not None:
            active = np.ones((n, words.shape[1], self.model.n_bits), dtype=bool)
            active[:, -1] = False
            active[:, -1, units] = True
        taus, zs = np.full(n, np.nan), np.zeros((n, self.M))
        sup = np.zeros((n, words.shape[1], self.model.n_bits), dtype=bool) if certify else None
        order = np.random.default_rng(n).permutation(n)
        self.tested, spent = 0, 0.0
        self.last_tested = np.zeros(n, dtype=bool)
        for s0 in range(0, n, 1000):  # the time limits are checked between slices
            if time.perf_counter() > min(until, ex._deadline) and (s0 or not certify):
                break  # (a certified round always tests its first slice: the lazy rounds progress)
            a = time.perf_counter()
            sl = order[s0 : s0 + 1000]
            out = prefix_margins(self.model, alpha.letters[words[sl]], alpha.bits, alpha.G, alpha.g,
                                 box=ex.box, active=None if active is None else active[sl], certificates=certify)
            taus[sl], zs[sl] = out[0], out[1]
            if certify:
                sup[sl] = out[2]
            self.last_tested[sl] = True
            self.tested += len(sl)
            spent += time.perf_counter() - a
        if self.tested >= 200:  # the cost of an LP grows with the word length: the latest batch counts
            ex.lp_seconds = spent / self.tested
        pos = np.flatnonzero(taus > 0.0)
        if len(pos):
            self._add_orbits(zs[pos], self.K + 1)
        if certify:
            self.last_support, self.last_certified = sup, (taus < -PRUNE_TOL) & sup.any(axis=(1, 2))
        return ~(taus < -PRUNE_TOL), pos  # NaN (undecided) is kept

    # -- levels
    def _first(self) -> _Level:
        n = self.n
        letters = np.arange(n, dtype=np.int64)
        lo, hi = np.tile(self.blo, (n, 1)), np.tile(self.bhi, (n, 1))
        ok = self._region_hull(lo, hi, letters)
        if not self.exact_cells:
            idx = np.flatnonzero(ok)
            keep, _ = self._lp(letters[idx, None])
            self.lps[1] = self.tested
            ok[idx] = keep
        else:
            self.lps[1] = 0
        return _Level(1, letters[ok, None], letters[ok], lo[ok], hi[ok], np.zeros(int(ok.sum()), dtype=np.int64))

    def _candidates(self, lvl: _Level):
        """The words ``w a`` with ``w``, ``w[1:] a`` in A_t: (parent, letter, index of w[1:] a, code)."""
        n = self.n
        codes = lvl.codes
        pref, suf = codes // n, lvl.suf  # ranks of w[:-1] and w[1:] in the level below
        start = np.searchsorted(pref, suf, "left")
        cnt = np.searchsorted(pref, suf, "right") - start
        par = np.repeat(np.arange(len(codes)), cnt)
        vi = start[par] + np.arange(len(par)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        a = codes[vi] % n
        return par, a, vi, par * n + a

    def _grow(self, lvl: _Level) -> _Level | None:
        """A_{t+1} from A_t, or None when its LPs would not pay or not fit (the choice of J)."""
        ex, t = self.ex, lvl.t
        par, a, vi, ccode = self._candidates(lvl)
        nlo, nhi = self._image(lvl)
        lo = np.maximum(nlo[par], lvl.lo[vi])
        hi = np.minimum(nhi[par], lvl.hi[vi])
        ok = self._region_hull(lo, hi, a)
        lazy = self.lazy and self.forced is None or self.lazy == "always"
        if lazy:
            return self._grow_lazy(lvl, par, a, vi, ccode, nlo, nhi, lo, hi, ok)
        split_lps = 0 if self.forced is None and self.partial else self._split(lvl, par, a, ccode, nlo, nhi, ok)
        seen = self._witnessed(t + 1)
        free = ok & np.isin(ccode, seen, assume_unique=False)
        need = np.flatnonzero(ok & ~free)
        left = ex._deadline - time.perf_counter()
        lp_cost = len(need) * ex.lp_seconds * (t + 1) / t  # one step longer than the last LPs
        walk_cost = self._walk_seconds(lvl)
        until = math.inf
        if self.forced is not None:
            if t >= self.forced:
                return None
        elif split_lps < 0 or walk_cost <= lp_cost or lp_cost > 0.7 * left or self.partial:
            return None  # the bit-by-bit tests ran out of time, or deepening would not pay or not fit
        elif lp_cost > 0.5 * left:  # a partial last level (untested words kept): time for the walks
            until = time.perf_counter() + 0.5 * left
            self.partial = True
        words = np.concatenate([lvl.words[par[need]], a[need, None]], axis=1)
        keep, _ = self._lp(words, until)
        self.lps[t + 1] = self.tested + max(split_lps, 0)
        ok[need] = keep
        words = np.concatenate([lvl.words[par[ok]], a[ok, None]], axis=1)
        return self._trim(_Level(t + 1, words, ccode[ok], lo[ok], hi[ok], vi[ok]))

    def _grow_lazy(self, lvl, par, a, vi, ccode, nlo, nhi, lo, hi, ok) -> _Level | None:
        """:meth:`_grow` with the lazy rounds: the candidates outside the core are dropped, the
        cost is priced from the LPs per candidate the last lazy level spent (``lazy_fraction``),
        then the bit-cell pre-tests (pruned to the core between their rounds) and
        :meth:`_settle`."""
        ex, t = self.ex, lvl.t
        ok = _core(par, vi, ok, len(lvl.codes))  # only the core can be in the trimmed level (_settle)
        n0 = int(np.sum(ok))
        left = ex._deadline - time.perf_counter()
        lp_cost = n0 * ex.lp_seconds * (t + 1) / t * self.lazy_fraction
        until = math.inf
        walk = self._walk_seconds(lvl)
        if self.forced is not None:
            if t >= self.forced:
                return None
        elif walk <= lp_cost or self.partial:
            return None  # deepening would not pay
        elif lp_cost > 0.7 * left:  # does not fit: a partial last level with the time the walks cannot use
            spare = 0.0 if math.isfinite(walk) else 0.5 * (left - 4.0 * self._walk_seconds(lvl, reachable=True))
            if spare < 0.1 * left:
                return None
            until = time.perf_counter() + spare
            self.partial = True
        elif lp_cost > 0.5 * left:  # a partial last level (untested words kept): time for the walks
            until = time.perf_counter() + 0.5 * left
            self.partial = True
        split_lps = self._split(lvl, par, a, ccode, nlo, nhi, ok, vi, until) if self.split_first else 0
        free = ok & np.isin(ccode, self._witnessed(t + 1), assume_unique=False)
        status = np.where(ok, 0, -1)
        status[free] = 1
        with np.errstate(all="ignore"):
            prio = np.sum(np.log(np.maximum(hi - lo, 1e-300)), axis=1)
        ok = self._settle(lvl, par, vi, a, status, prio, until)
        if self.partial and self.settle_stats["undecided_left"] == 0:
            self.partial = False  # every candidate was decided in time: an exact level, not the last
        self.lps[t + 1] = self.spent + split_lps
        if n0:
            self.lazy_fraction = max((self.spent + split_lps) / n0, 0.02)
        words = np.concatenate([lvl.words[par[ok]], a[ok, None]], axis=1)
        return self._trim(_Level(t + 1, words, ccode[ok], lo[ok], hi[ok], vi[ok]))

    def _settle(self, lvl: _Level, par: np.ndarray, vi: np.ndarray, a: np.ndarray, status: np.ndarray,
                prio: np.ndarray, until: float) -> np.ndarray:
        """Decide lazily which candidates are in the trimmed ``A_{t+1}``; returns its mask.

        The candidates are the edges ``w -> w[1:] a`` of the de Bruijn graph of ``A_t``
        (``par``, ``vi``); ``status`` is 1 (admissible: witnessed), -1 (rejected) or 0
        (undecided), updated in place. The trimmed level is the *core* of the admissible
        edges: what is left after repeatedly removing the edges whose source has no edge in
        or whose target has no edge out. The core of the edges not rejected contains it, and
        equals it once every edge in it is decided - so only edges in that core are tested, in
        rounds, and a rejection that empties a node removes its other edges untested. Each
        round tests, for every core node without an admissible edge in (out), its undecided
        in (out) edges of largest interval hull; when every node has both, one undecided edge
        of each source per round, smallest hull first. An LP that proves an edge ``w a`` empty
        returns a Farkas certificate (:func:`~rnnexplore.dynamics.enumeration.prefix_margins`);
        it holds for every sibling ``w a'`` whose letter agrees with ``a`` on the last-step
        bits it uses (same inequalities), which are rejected with it. When the time runs out,
        the undecided edges of the core are kept (a superset is as sound).
        """
        N = len(lvl.codes)
        pstart = np.searchsorted(par, np.arange(N + 1))  # par is sorted: the edges out of node i
        letters = self.alpha.letters
        self.spent = 0
        rounds = 0
        alive = status >= 0
        self.settle_stats = {"undecided": int(np.sum(status == 0)), "feasible LPs": 0, "empty LPs": 0,
                             "certified siblings": 0}
        while True:
            alive = _core(par, vi, alive, N)  # the core of the edges not rejected
            und = np.flatnonzero(alive & (status == 0))
            if len(und) == 0 or time.perf_counter() > min(until, self.ex._deadline):
                break
            rounds += 1
            per = min(1 + rounds // 3, 16)
            fe = np.flatnonzero(alive & (status == 1))
            has_in = np.bincount(vi[fe], minlength=N) > 0
            has_out = np.bincount(par[fe], minlength=N) > 0
            pick = []
            c_in = und[~has_in[vi[und]]]
            if len(c_in):
                pick.append(_best_per_group(c_in, vi[c_in], prio[c_in], per))
            c_out = und[~has_out[par[und]]]
            if len(c_out):
                pick.append(_best_per_group(c_out, par[c_out], prio[c_out], per))
            if not pick:
                pick.append(_best_per_group(und, par[und], -prio[und], 1))
            batch = np.unique(np.concatenate(pick))
            words = np.concatenate([lvl.words[par[batch]], a[batch, None]], axis=1)
            keep, _ = self._lp(words, until, certify=True)
            self.spent += self.tested
            sup, done = self.last_support[:, -1], self.last_tested
            status[batch[done & keep]] = 1  # (an LP failure, NaN, is kept: undecided but settled)
            status[batch[done & ~keep]] = -1
            self.settle_stats["feasible LPs"] += int(np.sum(done & keep))
            self.settle_stats["empty LPs"] += int(np.sum(done & ~keep))
            # certificates: siblings w a' agreeing with a on the bits a proof uses are empty too
            rej = np.flatnonzero(done & ~keep & self.last_certified)
            if len(rej):
                src = par[batch[rej]]
                cnt = pstart[src + 1] - pstart[src]
                owner = np.repeat(np.arange(len(rej)), cnt)
                sib = np.repeat(pstart[src], cnt) + np.arange(int(cnt.sum())) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                la, lb = letters[a[sib]], letters[a[batch[rej]]][owner]
                agree = np.all((la == lb) | ~sup[rej][owner], axis=1)
                hit = sib[agree & (status[sib] == 0)]
                status[hit] = -1
                self.settle_stats["certified siblings"] += len(hit)
            alive &= status >= 0
        self.settle_stats.update(rounds=rounds, kept=int(alive.sum()), undecided_left=int(np.sum(alive & (status == 0))))
        return alive

    def _split(self, lvl: _Level, par: np.ndarray, a: np.ndarray, ccode: np.ndarray, nlo: np.ndarray,
               nhi: np.ndarray, ok: np.ndarray, vi: np.ndarray | None = None, until: float = math.inf) -> int:
        """Bit-by-bit pre-tests of the candidates (binary letters: a letter's code bit b is
        effective unit b): the candidates of a word whose last letters agree on the code bits
        >= b form a cell; a cell whose image hull misses those bits' half-spaces, or whose LP
        (only those bits of the last region active) is empty, drops every candidate in it
        (``ok`` is cleared in place). Cells witnessed by a known orbit are free; a round is
        skipped when its cells are barely shared (more than half as many as candidates).
        Returns the LPs spent (-1 when the time ran out: the level is not built). Lazy (``vi``
        given, the targets of the candidates): the rounds are pruned to the core of the
        candidates left (see :meth:`_settle`), a round stops at ``until`` and the LPs spent
        are returned (what is not tested stays undecided)."""
        if self.binary is False or self.forced is not None and self.forced <= lvl.t:
            return 0
        ex, t = self.ex, lvl.t
        eff = np.flatnonzero(self.alpha.bits)
        spent = 0
        # measured: the cell tests and the LPs after them cost about a third of one LP per candidate
        if vi is None and self.forced is None and 0.3 * np.sum(ok) * ex.lp_seconds > 0.7 * (ex._deadline - time.perf_counter()):
            return -1
        for b in range(len(eff) - 1, 0, -1):
            if vi is not None:  # lazy: only the core of the candidates left can be in the level
                ok[:] = _core(par, vi, ok, len(lvl.codes))
            live = np.flatnonzero(ok)
            if len(live) == 0:
                break
            ukey, first, inv = np.unique(ccode[live] >> b, return_index=True, return_inverse=True)
            if len(ukey) > 0.5 * len(live):
                continue
            rep = live[first]
            units = eff[b:]
            clo, chi = nlo[par[rep]].copy(), nhi[par[rep]].copy()
            cell = self._region_hull(clo, chi, a[rep], units)
            free = np.isin(ukey, self._witnessed(t + 1) >> b)
            need = np.flatnonzero(cell & ~free)
            left = ex._deadline - time.perf_counter()
            if vi is None and self.forced is None and len(need) * ex.lp_seconds > 0.7 * left:
                return -1
            if vi is not None and time.perf_counter() > min(until, ex._deadline):
                break
            if len(need):
                words = np.concatenate([lvl.words[par[rep[need]]], a[rep[need], None]], axis=1)
                keep, _ = self._lp(words, until if vi is not None else math.inf, units=units)
                spent += self.tested
                cell[need] = keep
            ok[live[~cell[inv.ravel()]]] = False
        return spent

    def _trim(self, lvl: _Level) -> _Level:
        """Remove words without a successor or a predecessor window until none is left."""
        n = self.n
        while len(lvl.codes):
            pref, suf = lvl.codes // n, lvl.suf
            ps, ss = np.unique(pref), np.unique(suf)
            keep = np.isin(suf, ps) & np.isin(pref, ss)
            if keep.all():
                break
            lvl = lvl.select(keep)
        return lvl

    def _walk_seconds(self, lvl: _Level, reachable: bool = False) -> float:
        """Estimated cost of solving the closed walks of lvl's de Bruijn graph for the orders left.
        About ``lambda^k / k`` Lyndon words of order k are solved (closed walks, one in k;
        lambda: the graph's growth rate), but the prenecklace tree that finds them holds about
        ``|A_t| lambda^(k-t) / k`` words (open walks), and a tree above ``_MAX_TREE`` words
        cannot be grown (infinite cost: deepen). (At M = 9, J = 6 the order-12 tree was ~20x
        the closed walks and above the limit, so order 12 was dropped.) ``reachable``: the cost
        of the orders before the first such tree only (what the walks of lvl can still prove;
        the time beyond it is free for a deeper, partial level)."""
        lam = _growth_rate(lvl, self.n)
        M, N = self.M, len(lvl.codes)
        total = 0.0
        for k in sorted(self.todo):
            if k > lvl.t:
                nodes = min(N * lam ** (k - lvl.t) / k, 1e15)
                if nodes > _MAX_TREE:
                    return total if reachable else math.inf
                total += min(lam**k / k, 1e15) * _solve_seconds(M, k) + nodes * 1e-6 * k
        return total

    def build(self) -> None:
        """Grow A_1, A_2, ... while deepening pays (see :meth:`_grow`) and fits in the time."""
        t0, c0 = time.perf_counter(), time.process_time()
        lvl = self._first()
        self.levels.append(lvl)
        report = self.ex.on_level
        while True:
            if report is not None:
                report({"t": lvl.t, "windows": len(lvl.codes), "lps": self.lps.get(lvl.t, 0),
                        "lam": _growth_rate(lvl, self.n), "seconds": time.perf_counter() - t0,
                        "cpu": time.process_time() - c0, "partial": self.partial})
            if not (lvl.t < self.K and len(lvl.codes)):
                break
            nxt = self._grow(lvl)
            if nxt is None:
                break
            lvl = nxt
            self.levels.append(lvl)

    # -- closed walks
    def closed_walks(self):
        """Yield ``(k, lyndon_words)`` for k = 1..K: the Lyndon words of length k whose every cyclic
        window of length J lies in A_J (a prenecklace tree; prefixes are windows' prefixes)."""
        n, Jd = self.n, self.depth
        # idx[t]: ranks in level t of the length-t prefixes of the top windows (t = 1..J)
        idx = [np.zeros(1, dtype=np.int64)] * (Jd + 1)
        if Jd:
            idx[Jd] = np.arange(len(self.levels[-1].codes))
            for t in range(Jd, 1, -1):
                idx[t - 1] = np.unique(self.levels[t - 1].codes[idx[t]] // n)
        prefixes = [self.levels[t - 1].codes[idx[t]] if t else np.zeros(0, dtype=np.int64) for t in range(Jd + 1)]
        tree = NecklaceTree(n)
        tail = np.zeros(1, dtype=np.int64)  # rank of each node's last min(t, J-1) letters in their level
        for k in range(1, self.K + 1):
            T = prefixes[min(k, Jd)]
            pref = T // n
            start = np.searchsorted(pref, tail, "left")
            cnt = np.searchsorted(pref, tail, "right") - start
            # the level would not fit (about half the children are Lyndon words to solve)
            est = 0.5 * float(cnt.sum()) * _solve_seconds(self.M, k)
            late = time.perf_counter() + est > self.ex._deadline and est > 0.05 * self.seconds
            if int(cnt.sum()) > _MAX_TREE or (late and any(j >= k for j in self.todo)):
                return
            par = np.repeat(np.arange(len(tail)), cnt)
            vi = start[par] + np.arange(len(par)) - np.repeat(np.cumsum(cnt) - cnt, cnt)
            letters = T[vi] % n
            if k == self.K and k > 1:  # the last level: only the Lyndon words are needed
                strict = letters > tree.lowest_letters()[par]
                par, vi, letters = par[strict], vi[strict], letters[strict]
            if Jd == 0:
                ctail = np.zeros(len(vi), dtype=np.int64)
            elif k < Jd:
                ctail = idx[k][vi]  # the child itself, a prefix of a top window
            else:
                ctail = self.levels[-1].suf[idx[Jd][vi]]  # the last J - 1 letters of the window it ends
            _parents, lyn = tree.extend(par, letters)
            tail = ctail[tree.kept]
            if len(lyn) and Jd:
                reps = -(-(k + Jd) // k)
                ext = np.tile(lyn.astype(np.int64), (1, reps))
                keep = np.ones(len(lyn), dtype=bool)
                for s in range(max(0, k - Jd + 1), k):  # the windows that wrap around
                    keep &= self._rank(ext[:, s : s + Jd]) >= 0
                lyn = lyn[keep]
            yield k, lyn


def _core(src: np.ndarray, dst: np.ndarray, alive: np.ndarray, N: int) -> np.ndarray:
    """The edges (``src -> dst`` over N nodes; mask ``alive``) left after repeatedly removing
    those whose source has no edge in or whose target has no edge out (the word trim)."""
    alive = alive.copy()
    while True:
        e = np.flatnonzero(alive)
        indeg = np.bincount(dst[e], minlength=N)
        outdeg = np.bincount(src[e], minlength=N)
        bad = alive & ((indeg[src] == 0) | (outdeg[dst] == 0))
        if not bad.any():
            return alive
        alive &= ~bad


def _best_per_group(idx: np.ndarray, grp: np.ndarray, prio: np.ndarray, per: int) -> np.ndarray:
    """The (at most) ``per`` entries of ``idx`` of highest ``prio`` in each group ``grp``."""
    order = np.lexsort((-prio, grp))
    g = grp[order]
    first = np.searchsorted(g, g, "left")
    return idx[order[np.arange(len(g)) - first < per]]


def _growth_rate(lvl: _Level, n: int) -> float:
    """Spectral radius of the de Bruijn graph of a window set (nodes: (t-1)-words, one edge per
    window from its prefix to its suffix), by power iteration (an estimate for the cost model)."""
    if len(lvl.codes) == 0:
        return 0.0
    pref, suf = lvl.codes // n, lvl.suf
    nodes, inv = np.unique(np.concatenate([pref, suf]), return_inverse=True)
    src, dst = inv[: len(pref)], inv[len(pref) :]
    x = np.ones(len(nodes))
    logs = []
    for _ in range(60):
        y = np.bincount(dst, weights=x[src], minlength=len(nodes))
        s = float(y.sum())
        if s <= 0.0:
            return 0.0
        logs.append(math.log(s / float(x.sum())))
        x = y / s * len(nodes)
    return math.exp(float(np.mean(logs[-20:])))


def _letter_index(alpha: "_Alphabet", z: np.ndarray) -> np.ndarray:
    """Letter index of each state of z (..., M), vectorised (-1 outside the alphabet)."""
    regs = alpha.model._region(z)[..., alpha.bits]
    flat = regs.reshape(-1, regs.shape[-1])
    if flat.shape[1] == 0:
        return np.zeros(regs.shape[:-1], dtype=np.int64)
    packed = np.packbits(flat, axis=1)
    uniq, inv = np.unique(packed, axis=0, return_inverse=True)
    lut = {row.tobytes(): i for i, row in enumerate(np.packbits(alpha.letters[:, alpha.bits], axis=1))}
    ids = np.array([lut.get(row.tobytes(), -1) for row in uniq], dtype=np.int64)
    return ids[inv.reshape(-1)].reshape(regs.shape[:-1])


def brute_force_cycles(model: PiecewiseLinearModel, order: int) -> list[Cycle]:
    """All cycles of minimal period ``order``, by enumerating every region sequence.

    Solves one sequence per rotation class of the ``2^(n_bits*order)`` sequences (vectorised,
    in batches). Refuses (ValueError) when the estimated time exceeds about a minute (e.g.
    order > 13 for a 2-D PLRNN, order > 2 for a 10-D one).

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
    order : int
        Exact minimal period (>= 1).

    Returns
    -------
    list of Cycle
        Sorted by key.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> [c.points[:, 0].round(4).tolist() for c in brute_force_cycles(skew_tent(0.2, -1.5, 1.0), 2)]
    [[-0.3846, 0.9231]]
    """
    check_model(model)
    order = check_int(order, "order", minimum=1)
    nb = model.n_bits
    seconds = _brute_force_seconds(nb, order, model.M) if nb * order <= _BRUTE_LIMIT_BITS else math.inf
    if seconds > 60.0:
        raise ValueError(
            f"order={order}: brute force would solve 2^({nb}*{order})/{order} region sequences "
            f"({'more than 2^30' if math.isinf(seconds) else f'about {seconds:.3g} s'}; the limit is about a "
            "minute); use find_cycles instead"
        )
    col = _Collector(model, order)
    _enumerate_order(model, order, col)
    return sorted(col.cycles.values(), key=lambda c: c.key)


# =========================================================================== validation
def _as_cycles(obj: Any, name: str) -> list[Cycle]:
    """A CycleSet or list of Cycle objects as a list (None is empty); anything else is refused."""
    if obj is None:
        return []
    if isinstance(obj, (Cycle, str, bytes, Mapping)) or not isinstance(obj, Iterable):
        raise ValueError(f"{name} must be a CycleSet or a list of Cycle objects, got {type(obj).__name__}")
    out = list(obj)
    for c in out:
        if not isinstance(c, Cycle):
            raise ValueError(f"{name} must contain only Cycle objects, got {type(c).__name__}")
    return out


def _warm_sequences(warm_start: Any, nb: int) -> dict[int, list[np.ndarray]]:
    """Group warm-start region sequences by order."""
    out: dict[int, list[np.ndarray]] = {}
    if warm_start is None:
        return out
    if isinstance(warm_start, (Cycle, str, bytes)) or not isinstance(warm_start, (Sequence, np.ndarray)) or \
            (isinstance(warm_start, np.ndarray) and warm_start.ndim == 0):
        raise ValueError("warm_start must be a CycleSet, a list of Cycles or a list of region sequences")
    for item in warm_start:
        seq = item.regions if isinstance(item, Cycle) else item
        try:
            arr = np.asarray(seq)
        except Exception:  # noqa: BLE001 - anything unparsable is a user error
            raise ValueError("warm_start items must be Cycles or (order, n_bits) boolean arrays") from None
        if arr.ndim == 1 and nb == 1:
            arr = arr[:, None]
        if arr.ndim != 2 or arr.shape[1] != nb or arr.shape[0] < 1:
            raise ValueError(f"warm_start region sequences must have shape (order, {nb}), got {arr.shape}")
        if arr.dtype != bool:
            if not np.all(np.isin(arr, (0, 1))):
                raise ValueError("warm_start region sequences must be boolean (or 0/1)")
            arr = arr.astype(bool)
        out.setdefault(arr.shape[0], []).append(np.ascontiguousarray(arr))
    return out


# =========================================================================== search modes
def _solve_one(model, D: np.ndarray):
    """Solve one region sequence (the reference mode's inner step): None when not solvable."""
    ok, real, Z, V, P, _c = _solve_sequences(model, D[None])
    if not ok[0]:
        return None
    return bool(real[0]), Z[0], V[0], P[0]


def _reference_order(model, k, rng, budget: SearchBudget, collector, warm) -> tuple[int, str, int]:
    """The paper's loops: N_out random restarts around N_in region updates, resets on finds."""
    n_out, n_in = reference_loops(k)
    n_out = max(1, int(math.ceil(n_out * budget.restart_scale)))
    if budget.restarts is not None:
        n_out = budget.restarts
    if budget.chain_length is not None:
        n_in = budget.chain_length
    max_solves = budget.max_solves
    warm = list(warm)
    solves = last_find = 0
    i_out = 0
    while i_out < n_out:
        D = warm.pop(0) if warm else model.random_regions(rng, (k,))
        i_in = 0
        while i_in < n_in:
            if max_solves is not None and solves >= max_solves:
                return solves, "max_solves", last_find
            res = _solve_one(model, D)
            solves += 1
            if res is None:
                D = model.random_regions(rng, (k,))
            elif res[0]:
                if collector.offer(D.tobytes(), res[1], D, res[3]):
                    i_out = 0
                    i_in = 0
                    last_find = solves
                D = model.random_regions(rng, (k,))
            else:
                D = res[2]
            i_in += 1
        i_out += 1
    return solves, "converged", last_find


class _Chain:
    __slots__ = ("seq", "key", "length", "found", "counts")

    def __init__(self, seq: np.ndarray, key: bytes, length: int = 0, found: bool = False, counts: bool = True) -> None:
        self.seq, self.key, self.length, self.found = seq, key, length, found
        self.counts = counts  # a fruitless end counts against the restart budget


class _TrajectoryRegions:
    """Region sequences seen along simulated orbits of the true map (computed lazily, once
    per search). Windows of k consecutive regions are excellent starting guesses: orbits on
    or near an attractor shadow the cycles (saddles included) embedded in it."""

    def __init__(self, model, n_traj: int, length: int, seed) -> None:
        self.model, self.n_traj, self.length, self.seed = model, n_traj, length, seed
        self._regs: np.ndarray | None = None
        self._valid: np.ndarray | None = None

    def _compute(self) -> None:
        m = self.model
        rng = np.random.default_rng(None if self.seed is None else [int(self.seed), 7919])
        burn = 20
        traj = m.simulate(rng.normal(scale=2.0, size=(self.n_traj, m.M)), burn + self.length)[burn:]
        good = np.all(np.abs(traj) < HUGE, axis=2)  # (T, n): inf/NaN/huge once diverged
        bad_any = ~np.logical_and.accumulate(good, axis=0)
        self._valid = np.where(bad_any.any(axis=0), bad_any.argmax(axis=0), traj.shape[0])
        with np.errstate(invalid="ignore"):
            self._regs = np.ascontiguousarray(m._region(traj).transpose(1, 0, 2))

    def draw(self, rng: np.random.Generator, k: int) -> np.ndarray | None:
        if self.n_traj <= 0 or self.length <= 0:
            return None
        if self._regs is None:
            self._compute()
        i = int(rng.integers(self.n_traj))
        n = int(self._valid[i])
        if n < k:
            return None
        t = int(rng.integers(n - k + 1))
        return self._regs[i, t : t + k]


class _Proposals:
    """Fresh starting sequences: warm starts; then, alternately, windows of simulated orbits
    and random draws not solved yet; then (for small finite spaces) the remaining unsolved
    sequences in random order."""

    def __init__(
        self, model, k, rng, warm, solved, enumerable: bool, trajectories=None, max_windows: int = 0, found=None
    ) -> None:
        self.model, self.k, self.rng, self.solved = model, k, rng, solved
        self.windows_left = max_windows
        self.recombinations_left = max_windows if found is not None else 0
        self.found = found if found is not None else {}
        self.nb = model.n_bits
        self.warm = list(warm)
        self.enumerable = enumerable
        self.trajectories = trajectories
        self.rest: np.ndarray | None = None
        self.pos = 0
        self.turn = 0

    def _key(self, seq: np.ndarray) -> bytes:
        return _canonical_shift(seq.tobytes(), self.k, self.nb)[0]

    def _recombine(self) -> np.ndarray | None:
        """A neighbour of known objects: a found k-cycle with a few bits flipped, or two found
        cycles of orders a + b = k glued together (cycles of chaotic sets shadow each other)."""
        k, rng, found = self.k, self.rng, self.found
        own = list(found[k].cycles.values()) if k in found else []
        pairs = [a for a in range(1, k) if found.get(a) and found.get(k - a) and found[a].cycles and found[k - a].cycles]
        if not own and not pairs:
            return None
        if own and (not pairs or rng.random() < 0.5):
            seq = own[int(rng.integers(len(own)))].regions.copy()
            flips = rng.random(seq.shape) < 1.5 / seq.size
            if not flips.any():
                flips.flat[int(rng.integers(seq.size))] = True
            return seq ^ flips
        a = pairs[int(rng.integers(len(pairs)))]
        parts = []
        for order in (a, k - a):
            cs = list(found[order].cycles.values())
            c = cs[int(rng.integers(len(cs)))]
            parts.append(np.roll(c.regions, -int(rng.integers(order)), axis=0))
        return np.concatenate(parts)

    def next(self, pending: set[bytes]) -> _Chain | None:
        taken = self.solved
        while self.warm:
            seq = self.warm.pop(0)
            key = self._key(seq)
            if key not in taken and key not in pending:
                return _Chain(seq, key)
        self.turn += 1
        if self.turn % 3 == 2 and self.recombinations_left > 0:
            for _ in range(4):
                seq = self._recombine()
                if seq is None:
                    break
                key = self._key(seq)
                if key not in taken and key not in pending:
                    self.recombinations_left -= 1
                    return _Chain(seq, key, counts=False)
        if self.trajectories is not None and self.turn % 3 == 1 and self.windows_left > 0:
            for _ in range(4):
                seq = self.trajectories.draw(self.rng, self.k)
                if seq is None:
                    break
                key = self._key(seq)
                if key not in taken and key not in pending:
                    self.windows_left -= 1
                    return _Chain(seq.copy(), key, counts=False)
        for _ in range(16):
            seq = self.model.random_regions(self.rng, (self.k,))
            key = self._key(seq)
            if key not in taken and key not in pending:
                return _Chain(seq, key)
        if not self.enumerable:
            return None
        if self.rest is None:
            codes = _canonical_codes(self.nb, self.k, 0, 1 << (self.nb * self.k))
            self.rest = _decode(codes[self.rng.permutation(len(codes))], self.nb, self.k)
        while self.pos < len(self.rest):
            seq = self.rest[self.pos]
            self.pos += 1
            key = self._key(seq)
            if key not in taken and key not in pending:
                return _Chain(seq, key)
        return None


class _FastOrder:
    """Search state of one order in fast mode; many orders share each stacked solve."""

    def __init__(self, model, k: int, rng, budget: SearchBudget, warm, trajectories=None, found=None,
                 exhaustive: bool = False) -> None:
        self.model, self.k, self.nb = model, k, model.n_bits
        nb, M = self.nb, model.M
        self.collector = _Collector(model, k)
        if found is not None:
            found[k] = self.collector
        finite = nb * k <= 62
        self.n_lyndon = n_lyndon(2**nb, k) if finite else None
        self.exhaustive = exhaustive and self.n_lyndon is not None and self.n_lyndon <= budget.exhaustive_limit
        self.restarts = budget.fast_restarts(M)
        self.max_solves = budget.fast_max_solves(M)
        self.n_in = budget.fast_chain_length(k)
        self.B = max(1, budget.batch)
        self.solved: set[bytes] = set()
        self.n_primitive_solved = 0
        self.source = _Proposals(
            model, k, rng, warm, self.solved, enumerable=finite and nb * k <= 20,
            trajectories=trajectories, max_windows=self.restarts, found=found,
        )
        self.fruitless = 0
        self.solves = 0
        self.last_find = 0
        self.chains: list[_Chain] = []
        self.pending: set[bytes] = set()
        self.stop: str | None = None

    def propose(self) -> np.ndarray | None:
        """Region sequences (n, k, nb) to solve next, or None when this order is done."""
        if self.stop is not None:
            return None
        if self.exhaustive:
            codes = _canonical_codes(self.nb, self.k, 0, 1 << (self.nb * self.k))
            return _decode(codes, self.nb, self.k)
        while len(self.chains) < self.B and self.fruitless < self.restarts:
            ch = self.source.next(self.pending)
            if ch is None:
                self.fruitless = self.restarts  # nothing left to try
                break
            self.chains.append(ch)
            self.pending.add(ch.key)
        if not self.chains:
            self.stop = "converged"
            return None
        return np.stack([ch.seq for ch in self.chains])

    def absorb(self, S, ok, real, Z, V, P) -> None:
        """Take the results for the sequences of the last :meth:`propose`."""
        k, nb = self.k, self.nb
        before = self.solves
        self.solves += len(S)
        if self.exhaustive:
            for b in np.flatnonzero(real):
                if self.collector.offer(S[b].tobytes(), Z[b], S[b], P[b]):
                    self.last_find = before + int(b) + 1
            self.stop = "complete"
            return
        for ch in self.chains:
            self.solved.add(ch.key)
            self.n_primitive_solved += _is_primitive(ch.key, k, nb)
        self.pending = set()
        survivors: list[_Chain] = []
        for b, ch in enumerate(self.chains):
            if real[b] and self.collector.offer(ch.seq.tobytes(), Z[b], ch.seq, P[b]):
                self.fruitless = 0
                self.last_find = before + b + 1
                ch.found = True
            if ok[b] and not real[b] and ch.length + 1 < self.n_in:
                key = _canonical_shift(V[b].tobytes(), k, nb)[0]
                if key not in self.solved and key not in self.pending:
                    survivors.append(_Chain(V[b], key, ch.length + 1, ch.found, ch.counts))
                    self.pending.add(key)
                    continue
            if not ch.found and ch.counts:
                self.fruitless += 1
        self.chains = survivors
        if self.n_lyndon is not None and self.n_primitive_solved >= self.n_lyndon:
            self.stop = "complete"
        elif self.solves >= self.max_solves:
            self.stop = "max_solves"


def _fast_search(model, searches: list[_FastOrder], bar=None) -> None:
    """Advance every order's chains together: one padded stacked solve per iteration."""
    nb = model.n_bits
    active = list(searches)
    while active:
        proposals = []
        for srch in active:
            S = srch.propose()
            if S is not None:
                proposals.append((srch, S))
            elif bar is not None:
                bar.update(1)
        active = [srch for srch, _ in proposals]
        if not proposals:
            break
        K = max(srch.k for srch, _ in proposals)
        total = sum(len(S) for _, S in proposals)
        Sall = np.zeros((total, K, nb), dtype=bool)
        lengths = np.empty(total, dtype=np.int64)
        pos = 0
        for srch, S in proposals:
            Sall[pos : pos + len(S), : srch.k] = S
            lengths[pos : pos + len(S)] = srch.k
            pos += len(S)
        ok, real, Z, V, P, _c = _solve_sequences(model, Sall, lengths)
        pos = 0
        for srch, S in proposals:
            sl = slice(pos, pos + len(S))
            k = srch.k
            srch.absorb(S, ok[sl], real[sl], Z[sl, :k], V[sl, :k], P[sl])
            pos += len(S)


class SearchInterrupted(KeyboardInterrupt):
    """Raised by :func:`find_cycles` on Ctrl-C; ``partial`` holds the cycles found so far."""

    def __init__(self, partial: "CycleSet") -> None:
        super().__init__("cycle search interrupted; the objects found so far are in .partial")
        self.partial = partial


MAX_ORDER = 10_000  # hard bound on max_order (beyond the cost model's refusal)


def _plan(model, orders: range, bud: SearchBudget, mode: str, alpha: "_Alphabet | None"):
    """Cost model: per order the method (``"enumerated"``, ``"heuristic"``, or ``"pruned?"``:
    pruning will be tried first) and the estimated seconds of the whole search."""
    M = model.M
    plan: dict[int, str] = {}
    est = 0.0
    prune_budget = 0.0
    for k in orders:
        if mode == "reference":
            n_out, n_in = reference_loops(k)
            n_out = bud.restarts or max(1, int(math.ceil(n_out * bud.restart_scale)))
            n_in = bud.chain_length or n_in
            solves = bud.max_solves or 4 * n_out * n_in
            plan[k] = "heuristic"
            est += solves * _heuristic_seconds_per_solve(M, k)
            continue
        heur = bud.fast_expected_solves(M, k) * _heuristic_seconds_per_solve(M, k)
        if alpha is not None:
            L = n_lyndon(alpha.n, k) if k * math.log2(max(alpha.n, 1)) < 900 else math.inf
            plain = float(L) * _solve_seconds(M, k)
            if L <= bud.exhaustive_limit or plain <= max(bud.enumerate_seconds, heur):
                plan[k] = "enumerated"
                est += plain
                continue
            if bud.prune:
                plan[k] = "pruned?"
                prune_budget += heur
                est += 2 * heur
                continue
        plan[k] = "heuristic"
        est += heur
    if bud.prune_seconds is not None and prune_budget > 0:
        est += bud.prune_seconds - prune_budget
        prune_budget = bud.prune_seconds
    return plan, est, prune_budget


def find_cycles(
    model: PiecewiseLinearModel,
    max_order: int,
    *,
    seed: int | None = None,
    mode: str = "fast",
    warm_start: Any = None,
    budget: Any = None,
    min_order: int = 1,
    progress: bool = False,
    allow_long: bool = False,
    certify: bool = False,
    box: float | None = None,
) -> CycleSet:
    """All fixed points and cycles of orders ``min_order..max_order``, proven complete where affordable.

    In fast mode a cost model chooses per order how completeness is reached:

    - ``"enumerated"``: every Lyndon word over the model's effective letters
      (:mod:`rnnexplore.dynamics.enumeration`) is solved, vectorised - whenever that costs no
      more than the heuristic's budget for the order (or ``SearchBudget.enumerate_seconds``);
    - ``"pruned"``: the Lyndon words whose every cyclic window of length J is an admissible
      window (exact LP emptiness tests; J chosen by cost), solved in batches, while the
      measured cost fits the heuristic's budget of the orders it would prove;
    - otherwise the SCYFI heuristic (chains of region updates, see the module docstring).

    Every returned object passes the exact real/virtual check. :attr:`CycleSet.proven` says per
    order how completeness is known (``None``: heuristic, with ``stats["solves"]`` spent);
    :attr:`CycleSet.continua` lists sets of non-isolated periodic points (a singular
    ``I - P`` with a consistent solution set that meets its regions, e.g. the identity map).

    Parameters
    ----------
    model : PLRNN, ShallowPLRNN, ClippedShallowPLRNN or ALRNN
    max_order : int
        Highest cycle order k (1 <= k <= 10000).
    seed : int, optional
        Seed for the random region draws; the same seed gives the same result.
    mode : {"fast", "reference"}
        See the module docstring (reference mode never enumerates).
    warm_start : CycleSet, list of Cycle, or list of (k, n_bits) bool arrays, optional
        Region sequences tried first (typically the objects found at nearby parameters).
    budget : None, "default", "interactive", "thorough", int, dict or SearchBudget
        Completeness controls (:class:`SearchBudget`); an int sets ``restarts``.
    min_order : int
        Lowest order searched (default 1).
    progress : bool
        Show a ``tqdm.auto`` bar over orders.
    allow_long : bool
        Work the cost model estimates above ``SearchBudget.max_seconds`` (default 60 s) is
        refused with a ValueError giving the estimate, unless this is True.
    certify : bool
        After the search, every order left unproven is certified in the box ``[-box, box]^M``
        by a mixed-integer program (:func:`rnnexplore.dynamics.certify.certify_box`; orders up
        to 64): objects it finds are added, and ``proven[k] == "box"`` (with
        ``stats["box"] == box``) when the program proves nothing else exists in the box.
    box : float, optional
        Half-width of the certified box (required with ``certify=True``, refused without).

    Returns
    -------
    CycleSet
        Cycles sorted by order then key, with ``.stats``, ``.proven`` and ``.continua``.

    Raises
    ------
    SearchInterrupted
        On KeyboardInterrupt (a subclass of it); ``.partial`` holds what was found.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16
    >>> cs = find_cycles(paper_gt16(), 16, seed=0)
    >>> [c.order for c in cs if c.stability == "stable"]
    [16]
    >>> cs.proven[1], cs.proven[16]  # order 16 has ~2.7e8 Lyndon words: heuristic
    ('enumerated', None)
    >>> cs2 = find_cycles(paper_gt16().with_params({"A[0]": 0.84}), 16, warm_start=cs, seed=0)
    >>> cs3 = find_cycles(paper_gt16(), 10, seed=0, certify=True, box=20.0)  # orders 9, 10 by MILP
    >>> cs3.proven[10], cs3.stats["box"]
    ('box', 20.0)
    """
    t0 = time.perf_counter()
    max_order, min_order, seed, box = _search_args(model, max_order, min_order, mode, seed, allow_long, certify, box)
    bud = SearchBudget.coerce(budget)
    warm = _warm_sequences(warm_start, model.n_bits)
    orders = range(min_order, max_order + 1)
    alpha = None
    if mode == "fast" and bud.exhaustive_limit > 0 and _alphabet_affordable(model):
        alpha = _Alphabet(model)
    plan, estimate, prune_budget = _plan(model, orders, bud, mode, alpha)
    if estimate > bud.max_seconds and not allow_long:
        raise ValueError(
            f"max_order={max_order}: the search is estimated at about {estimate:.3g} s "
            f"(limit {bud.max_seconds:g} s: SearchBudget.max_seconds); lower max_order or the budget, "
            "or pass allow_long=True"
        )
    run = _Run(model, orders, seed, bud, warm, progress)
    try:
        if mode == "fast":
            run.fast(alpha, plan, prune_budget)
        else:
            run.reference()
    except KeyboardInterrupt:
        run.interrupted = True
    finally:
        if run.bar is not None:
            run.bar.close()
    stats = run.stats(mode, max_order, min_order, estimate, alpha)
    result = CycleSet(run.cycles(), stats, model)
    if run.interrupted:
        result.stats["wall_time"] = time.perf_counter() - t0
        raise SearchInterrupted(result)
    if certify:
        result = _certify_unproven(model, result, box)
    result.stats["wall_time"] = time.perf_counter() - t0
    return result


def _search_args(model, max_order, min_order, mode, seed, allow_long, certify, box):
    """Validated ``(max_order, min_order, seed, box)`` of :func:`find_cycles`."""
    check_model(model)
    max_order = check_int(max_order, "max_order", minimum=1)
    min_order = check_int(min_order, "min_order", minimum=1)
    if max_order > MAX_ORDER:
        raise ValueError(f"max_order must be <= {MAX_ORDER}, got {max_order}")
    if min_order > max_order:
        raise ValueError(f"min_order ({min_order}) must be <= max_order ({max_order})")
    if mode not in ("fast", "reference"):
        raise ValueError(f"mode must be 'fast' or 'reference', got {mode!r}")
    seed = check_seed(seed)
    check_bool(allow_long, "allow_long")
    if check_bool(certify, "certify"):
        if box is None:
            raise ValueError("certify=True needs box=B: the half-width of the box [-B, B]^M to certify")
        box = check_real(box, "box", minimum=0.0, exclusive_minimum=True)
        if max_order > _CERTIFY_MAX_ORDER:
            raise ValueError(f"certify=True: box certificates handle orders up to {_CERTIFY_MAX_ORDER}, "
                             f"got max_order={max_order}")
    elif box is not None:
        raise ValueError("box is only used with certify=True")
    return max_order, min_order, seed, box


_CERTIFY_MAX_ORDER = 64  # the largest order certify_box accepts


def _certify_unproven(model, cs: CycleSet, box: float) -> CycleSet:
    """Certify every unproven order of ``cs`` in ``[-box, box]^M`` (one program per order, lowest
    first, the objects known so far cut); objects the programs find are added."""
    from rnnexplore.dynamics.certify import certify_box

    cycles = list(cs)
    proven = dict(cs.proven)
    milps: dict[int, int] = {}
    for k in sorted(o for o, how in proven.items() if how is None):
        cert = certify_box(model, k, box, cycles=cycles, min_order=k)
        known = {c.key for c in cycles if c.order == k}
        cycles.extend(c for c in cert if c.order == k and c.key not in known)
        milps[k] = int(cert.stats["milp_solves"].get(k, 0))
        proven[k] = cert.proven[k]
    stats = dict(cs.stats)
    stop = dict(stats.get("stop", {}))
    stop.update({k: "complete" for k in milps if proven[k] == "box"})
    stats.update(proven=proven, box=float(box), milp_solves=milps, stop=stop,
                 complete=all(p is not None for p in proven.values()))
    return CycleSet(cycles, stats, cs.model)


class _Run:
    """The search of :func:`find_cycles` over its orders: what each order found and spent."""

    def __init__(self, model, orders: range, seed, bud: SearchBudget, warm, progress: bool) -> None:
        self.model, self.orders, self.seed, self.bud, self.warm = model, orders, seed, bud, warm
        self.found: dict[int, _Collector] = {}
        self.searches: list[_FastOrder] = []
        self.exact: _ExactOrders | None = None
        self.reference_results: dict[int, tuple[int, str, int]] = {}
        self.interrupted = False
        self.bar = None
        if progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=len(orders), desc="cycle orders")

    def rng_for(self, k: int) -> np.random.Generator:
        return np.random.default_rng(None if self.seed is None else [int(self.seed), k])

    def fast(self, alpha: "_Alphabet | None", plan: dict[int, str], prune_budget: float) -> None:
        """Exact orders first (plain, then pruned), the heuristic for the rest."""
        model, orders, bud = self.model, self.orders, self.bud
        if alpha is not None:
            for k in orders:
                self.found[k] = _Collector(model, k)
            self.exact = _ExactOrders(model, alpha, self.found, self.bar)
            plain = [k for k in orders if plan[k] == "enumerated"]
            self.exact.plain(plain)
            rest = [k for k in orders if plan[k] == "pruned?"]
            if rest:
                self.exact.pruned(list(range(1, max(rest) + 1)), prune_budget,
                                  skip=set(plain) | set(range(1, orders.start)), report=set(rest))
        done = self.exact.completed if self.exact is not None else {}
        heur = [k for k in orders if k not in done]
        traj = _TrajectoryRegions(model, bud.trajectories, bud.trajectory_length, self.seed)
        for k in heur:
            self.found.pop(k, None)
        self.searches = [_FastOrder(model, k, self.rng_for(k), bud, self.warm.get(k, []), traj, self.found,
                                    exhaustive=alpha is None) for k in heur]
        _fast_search(model, self.searches, self.bar)

    def reference(self) -> None:
        for k in self.orders:
            col = _Collector(self.model, k)
            self.found[k] = col
            self.reference_results[k] = _reference_order(self.model, k, self.rng_for(k), self.bud, col,
                                                         self.warm.get(k, []))
            if self.bar is not None:
                self.bar.update(1)

    def cycles(self) -> list[Cycle]:
        for srch in self.searches:
            self.found[srch.k] = srch.collector
        return [c for k in self.orders if k in self.found for c in self.found[k].cycles.values()]

    def stats(self, mode: str, max_order: int, min_order: int, estimate: float, alpha) -> dict[str, Any]:
        """The search statistics (see :class:`CycleSet`), per order."""
        orders, exact = self.orders, self.exact
        proven: dict[int, str | None] = {k: None for k in orders}
        solves: dict[int, int] = {}
        stops: dict[int, str] = {}
        last_find: dict[int, int] = {}
        for k, (n, stop, last) in self.reference_results.items():
            solves[k], stops[k], last_find[k] = n, stop, last
        if exact is not None:
            for k, how in exact.completed.items():
                if k in proven:
                    proven[k], stops[k] = how, "complete"
                    solves[k] = last_find[k] = exact.solves.get(k, 0)
        for srch in self.searches:
            solves[srch.k], last_find[srch.k] = srch.solves, srch.last_find
            stops[srch.k] = srch.stop or ("interrupted" if self.interrupted else "converged")
            if srch.stop == "complete":
                proven[srch.k] = "enumerated"  # the chains happened to solve every region sequence
        for k in orders:
            if k not in stops:
                solves[k] = exact.solves.get(k, 0) if exact is not None else 0
        if mode == "reference":
            proven = {k: None for k in orders}
        stats = {
            "mode": mode,
            "max_order": max_order,
            "min_order": min_order,
            "seed": None if self.seed is None else int(self.seed),
            "solves": {k: int(solves.get(k, 0)) for k in orders},
            "total_solves": int(sum(solves.values())),
            "lps": {k: n for k, n in exact.lps.items() if proven.get(k) == "pruned"} if exact is not None else {},
            "stop": {k: stops.get(k, "interrupted") for k in orders},
            "solves_at_last_find": last_find,
            "budget_exhausted": any(s == "max_solves" for s in stops.values()),
            "complete": all(p is not None for p in proven.values()),
            "proven": proven,
            "continua": sorted(exact.continua.values(), key=lambda d: (d["order"], d["regions"]))
            if exact is not None else [],
            "estimated_seconds": float(estimate),
            "interrupted": self.interrupted,
        }
        if alpha is not None:
            stats["letters"] = int(alpha.n)
        return stats


def _alphabet_affordable(model) -> bool:
    """Effective letters are cheap for PLRNN/ALRNN; shallow models need LPs over the arrangement."""
    if not isinstance(model, ShallowPLRNN):  # a table of 2^n_eff letters (beyond 2^20 none is affordable)
        return int(np.sum(effective_bits(model))) <= 20
    return model.n_bits <= 16


# =========================================================================== simulation helper
def attractor_period(
    model: PiecewiseLinearModel, z0: Any, *, n_transient: int = 3000, max_period: int = 60, rtol: float = 1e-9
) -> int | None:
    """Period of the orbit reached from ``z0`` after a transient (None: not periodic or diverged).

    A cheap way to find parameters with a stable cycle of a given order (used by the scaling
    experiments); the exact cycle then comes from :func:`find_cycles`.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import paper_gt16, skew_tent
    >>> attractor_period(paper_gt16(), [0.5, 0.5]), attractor_period(skew_tent(0.2, -1.5, 1.0), [0.1])
    (16, 2)
    """
    check_model(model)
    max_period = check_int(max_period, "max_period", minimum=1)
    n_transient = check_int(n_transient, "n_transient", minimum=0)
    rtol = check_real(rtol, "rtol", minimum=0.0)
    traj = model.simulate(z0, n_transient + max_period)
    tail = traj[-(max_period + 1):]
    z = tail[-1]
    if not np.all(np.isfinite(z)):
        return None
    tol = rtol * (1.0 + float(np.max(np.abs(z))))
    err = [float(np.max(np.abs(tail[-1 - p] - z))) for p in range(1, max_period + 1)]
    for p in range(1, max_period + 1):
        if err[p - 1] <= tol:
            # a slowly converging orbit can pass the test at a multiple of its period first
            for d in range(1, p):
                if p % d == 0 and err[d - 1] <= max(tol, 1e3 * err[p - 1]):
                    return d
            return p
    return None


# =========================================================================== CLI
