"""Bifurcation events: name every change between the objects at two nearby parameter settings.

:func:`classify_events` compares the objects (fixed points and cycles,
:class:`~rnnexplore.dynamics.cycles.CycleSet`) found at two nearby parameter settings and
names every change: births and deaths, border collisions, degenerate transcritical and flip
bifurcations, Neimark-Sacker type stability changes and pair creation / annihilation
(Eisenmann et al., "Bifurcations and loss jumps in RNN training", NeurIPS 2023). The live
explorer flags these between slider values, the training replays between checkpoints, and
the bifurcation maps between neighbouring grid points.

Examples
--------
>>> from rnnexplore.dynamics.models import skew_tent
>>> from rnnexplore.dynamics.cycles import find_cycles
>>> before = find_cycles(skew_tent(0.2, 0.9, 1.0), 2, seed=0)
>>> after = find_cycles(skew_tent(0.2, 1.1, 1.0), 2, seed=0)
>>> [e.kind for e in classify_events(before, after)]
['degenerate_transcritical']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from rnnexplore._validation import check_array, check_choice, check_int, check_mapping, check_real, check_str
from rnnexplore.dynamics.cycles import Cycle, _as_cycles
from rnnexplore.dynamics.orbits import diverged

__all__ = ["EVENT_KINDS", "BifurcationEvent", "classify_events", "classify_events_many", "index_sums"]

EVENT_KINDS: tuple[str, ...] = (
    "birth",
    "death",
    "stability_change",
    "border_collision",
    "degenerate_transcritical",
    "degenerate_flip",
    "neimark_sacker",
    "pair_creation",
    "pair_annihilation",
)

_REAL_TOL = 1e-9  # |imag| below this (relative) counts as a real eigenvalue
_HEURISTIC_MAX = 0.5  # without models: nearest-criterion distances above this -> plain birth/death
_INDEX_TOL = 1e-9  # an eigenvalue of P^m this close to 1 (relative) makes a fixed point of F^k degenerate


# =========================================================================== index sums
def index_sums(cycles: Any, max_order: int) -> dict[int, int | None]:
    """Fixed-point index sums of ``F^k``, k = 1..max_order, from an object set.

    A nondegenerate fixed point ``z`` of a continuous map ``G`` has index
    ``sign det(I - DG(z))``; the sum of the indices of all fixed points of ``G`` in a region is the
    degree of ``I - G`` there, which does not change while a parameter moves, as long as no fixed
    point is degenerate (an eigenvalue 1) or crosses the region's boundary (escapes to infinity).
    Objects are born and die in pairs of opposite index (folds, border-collision pair creation):
    so when the sum over a *found* set changes between two nearby parameter values with no
    degenerate-transcritical event between them, one of the two sets misses an object. The
    explorer uses this to decide when a fast step needs a deeper search.

    For ``G = F^k`` the fixed points are the points of every d-cycle with ``d | k``; each of the d
    points of a d-cycle with Jacobian product ``P`` has index ``sign prod(1 - lambda^(k/d))``
    over the eigenvalues ``lambda`` of ``P``.

    Parameters
    ----------
    cycles : sequence of Cycle (a CycleSet)
    max_order : int
        Highest k.

    Returns
    -------
    dict
        ``{k: sum}``; ``None`` for a k at which some fixed point of ``F^k`` is degenerate (its
        index is not defined by its eigenvalues).

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> tent = skew_tent(0.2, -1.5, 1.0)  # an unstable fixed point and a stable 2-cycle
    >>> index_sums(find_cycles(tent, 2, seed=0), 2)  # F^2: the fixed point -1, the 2-cycle 2 x (+1)
    {1: 1, 2: 1}
    """
    K = check_int(max_order, "max_order", minimum=1)
    objs = _as_cycles(cycles, "cycles")
    out: dict[int, int | None] = {}
    for k in range(1, K + 1):
        total: int | None = 0
        for c in objs:
            d = c.order
            if k % d:
                continue
            with np.errstate(all="ignore"):
                lam = np.asarray(c.eigenvalues, dtype=complex) ** (k // d)
                f = 1.0 - lam
            if not np.all(np.isfinite(f)) or np.any(np.abs(f) <= _INDEX_TOL * (1.0 + np.abs(lam))):
                total = None  # an eigenvalue of P^(k/d) at 1
                break
            # sign of prod(1 - lambda): complex pairs give |1 - lambda|^2 > 0, so count the real
            # eigenvalues above 1
            real = np.abs(lam.imag) <= _REAL_TOL * (1.0 + np.abs(lam))
            total += d * (-1 if int(np.sum(real & (lam.real > 1.0))) % 2 else 1)
        out[k] = total
    return out


# =========================================================================== events
@dataclass(frozen=True)
class BifurcationEvent:
    """One change of the object set between two parameter settings.

    Attributes
    ----------
    kind : str
        One of :data:`EVENT_KINDS`.
    order : int
        Period of the object concerned.
    key_before, key_after : str or None
        ``key`` (:class:`~rnnexplore.dynamics.cycles.Cycle`) of the object before / after (None when it did not exist there).
    description : str
        Human-readable sentence.
    stability_before, stability_after : str or None
        ``"stable"``, ``"saddle"``, ``"unstable"`` or None.

    Examples
    --------
    >>> e = BifurcationEvent("birth", 2, None, "01", "2-cycle born")
    >>> BifurcationEvent.from_dict(e.to_dict()) == e
    True
    """

    kind: str
    order: int
    key_before: str | None
    key_after: str | None
    description: str
    stability_before: str | None = None
    stability_after: str | None = None

    def __post_init__(self) -> None:
        check_choice(self.kind, "kind", EVENT_KINDS)
        check_int(self.order, "order", minimum=-1)
        check_str(self.description, "description")
        for name in ("key_before", "key_after"):
            if getattr(self, name) is not None:
                check_str(getattr(self, name), name)
        for name in ("stability_before", "stability_after"):
            if getattr(self, name) is not None:
                check_choice(getattr(self, name), name, ("stable", "saddle", "unstable"))

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (inverse: :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "BifurcationEvent":
        """Rebuild an event from :meth:`to_dict` output."""
        d = check_mapping(d, "event", required=("kind", "order", "key_before", "key_after", "description"),
                          optional=("stability_before", "stability_after"))
        try:
            return cls(**d)
        except TypeError as exc:
            raise ValueError(f"malformed event description: {exc}") from None


# =========================================================================== helpers
def _name(order: int) -> str:
    return "fixed point" if order == 1 else f"{order}-cycle"


def _scale(*cycles: Cycle) -> float:
    return 1.0 + max(float(np.max(np.abs(c.points))) for c in cycles)


def _orbit_distance(a: Cycle, b: Cycle) -> float:
    """Max-norm distance between two orbits of the same order, minimised over phase shifts,
    relative to ``1 + max |point|``."""
    if a.order != b.order or a.points.shape != b.points.shape:
        return np.inf
    best = min(float(np.max(np.abs(a.points - np.roll(b.points, -s, axis=0)))) for s in range(a.order))
    return best / _scale(a, b)


def _is_real(ev: np.ndarray) -> np.ndarray:
    return np.abs(ev.imag) <= _REAL_TOL * (1.0 + np.abs(ev))


def _det_sign(ev: np.ndarray, shift: float) -> float:
    """Sign of ``det(shift*I - P)`` = prod(shift - lambda) from the eigenvalues."""
    with np.errstate(all="ignore"):
        return float(np.sign(np.prod(shift - ev).real))


def _n_inside(ev: np.ndarray, mask: np.ndarray) -> int:
    return int(np.sum(np.abs(ev[mask]) < 1.0))


def _crossing_kind(ev_before: np.ndarray, ev_after: np.ndarray) -> str:
    """Which way eigenvalues crossed between two spectra of the same object.

    ``det(I - P)`` changing sign (or becoming / ceasing to be 0 on a grid point that sits exactly
    on the bifurcation): a real eigenvalue passed +1 (degenerate transcritical);
    ``det(I + P)`` changing sign: passed -1 (degenerate flip); otherwise a change of the number
    of complex eigenvalues inside the unit circle: Neimark-Sacker type; otherwise a plain
    stability change (or none).
    """
    if _det_sign(ev_before, 1.0) != _det_sign(ev_after, 1.0):
        return "degenerate_transcritical"
    if _det_sign(ev_before, -1.0) != _det_sign(ev_after, -1.0):
        return "degenerate_flip"
    cb, ca = ~_is_real(ev_before), ~_is_real(ev_after)
    if _n_inside(ev_before, cb) != _n_inside(ev_after, ca):
        return "neimark_sacker"
    return "stability_change"


def _heuristic_kind(c: Cycle) -> str:
    """Without models: the nearest of eigenvalue +1, -1, unit circle (complex) or a border."""
    ev = c.eigenvalues
    real = _is_real(ev)
    d = {
        "degenerate_transcritical": float(np.min(np.abs(ev[real].real - 1.0), initial=np.inf)),
        "degenerate_flip": float(np.min(np.abs(ev[real].real + 1.0), initial=np.inf)),
        "neimark_sacker": float(np.min(np.abs(np.abs(ev[~real]) - 1.0), initial=np.inf)),
        "border_collision": np.inf,
    }
    if c.regions.shape[1] == c.points.shape[1]:  # PLRNN-like: the switching values are the states
        d["border_collision"] = float(np.min(np.abs(c.points))) / _scale(c)
    if bool(np.any(diverged(c.points))):
        return "degenerate_transcritical"
    kind = min(d, key=d.get)
    return kind if d[kind] <= _HEURISTIC_MAX else ""


def _model_kinds(objs: Sequence[Cycle], system: Any, points: np.ndarray | None = None) -> list[str]:
    """Rule 4, exact: re-solve every object's region sequence on the other side, batched.

    ``system`` is the other side's model, or a :class:`~rnnexplore.dynamics.solve.ModelStack`
    with ``points[n]`` the stack index of object ``n``'s other side. One stacked solve per order.
    Singular or overflowing -> degenerate transcritical; otherwise compare the spectra of the
    two sides (``det(I -+ P)`` sign changes); a solution that merely became virtual (an orbit
    point crossed a switching border) -> border collision; still real -> "" (the search missed it).
    """
    from rnnexplore.dynamics.solve import eigenvalues, solve_region_sequences  # the engine's one batched solve

    kinds = [""] * len(objs)
    orders = np.array([c.order for c in objs], dtype=np.int64)
    for k in np.unique(orders).tolist():
        idx = np.flatnonzero(orders == k)
        S = np.stack([np.asarray(objs[i].regions, dtype=bool) for i in idx])
        sol = solve_region_sequences(system, S, points=None if points is None else np.asarray(points)[idx])
        with np.errstate(all="ignore"):
            ev_other = eigenvalues(np.where(np.isfinite(sol.P), sol.P, 0.0))
        for r, i in enumerate(idx.tolist()):
            if not sol.solvable[r]:
                kinds[i] = "degenerate_transcritical"
                continue
            kind = _crossing_kind(objs[i].eigenvalues, ev_other[r])
            if kind not in ("degenerate_transcritical", "degenerate_flip"):
                kind = "" if sol.real[r] else "border_collision"
            kinds[i] = kind
    return kinds


def _greedy_pairs(cands: list[tuple[float, int, int]]) -> list[tuple[int, int]]:
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs = []
    for _d, i, j in sorted(cands):
        if i not in used_a and j not in used_b:
            used_a.add(i)
            used_b.add(j)
            pairs.append((i, j))
    return pairs


# =========================================================================== classify
def classify_events(
    before: Any,
    after: Any,
    *,
    tol: float = 0.05,
    models: Sequence[Any] | None = None,
) -> list[BifurcationEvent]:
    """Name every change of the object set between two nearby parameter settings.

    Rules, applied in this order:

    1. **Matching.** Objects with the same ``Cycle.key`` (region sequence up to rotation)
       are the same object. Among the rest, an object before and one after of the same order
       whose orbits are within ``tol`` (max-norm over phase shifts, relative to
       ``1 + max |point|``) are the same object that crossed a switching border:
       ``border_collision`` (greedy, closest pairs first).
    2. **Surviving objects** (same key) whose stability signature (:attr:`Cycle.n_stable`)
       changed: ``det(I - P)`` changed sign -> ``degenerate_transcritical``; ``det(I + P)``
       changed sign (a real eigenvalue through -1) -> ``degenerate_flip``; the number of complex
       eigenvalues inside the unit circle changed -> ``neimark_sacker``; else
       ``stability_change``.
    3. **Pairs.** Two unmatched objects after (before) of the same order whose stability
       signatures differ by one and whose orbits are within ``4 * tol`` of each other ->
       ``pair_creation`` (``pair_annihilation``), one event per object.
    4. **Births and deaths** (unmatched after / before). With ``models=(model_before,
       model_after)``, the object's region sequence is solved on the other side: singular
       ``I - P`` or a sign change of ``det(I - P)`` -> ``degenerate_transcritical`` (the object
       escaped to / came from infinity); sign change of ``det(I + P)`` -> ``degenerate_flip``;
       a solution that is merely virtual there -> ``border_collision`` (an orbit point crossed a
       switching border); a solution that is real there too -> ``birth``/``death`` (one of the
       searches missed it). Without models a heuristic picks the nearest of: a real eigenvalue
       at +1 (or ``|points| > 1e6``), at -1, a complex pair on the unit circle, an orbit point on
       a border (``min |z| / (1 + max |z|)``, PLRNN-like models only); distances above 0.5 give a
       plain ``birth``/``death``.
    5. **Flip partners.** If an object of order k undergoes a degenerate flip, births and deaths
       of order 2k that are not degenerate transcritical are labelled ``degenerate_flip`` too
       (e.g. the skew tent's 2-cycle appearing as its fixed point passes eigenvalue -1).

    Parameters
    ----------
    before, after : CycleSet or list of Cycle
        Objects found at the two parameter settings (e.g. with ``find_cycles``).
    tol : float
        Relative distance under which two orbits with different keys are the same object.
    models : (model_before, model_after), optional
        The two models; makes birth/death classification exact (rule 4).

    Returns
    -------
    list of BifurcationEvent
        Sorted by order, kind and keys; empty when nothing changed.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> m0, m1 = skew_tent(0.2, -1.1, 1.0), skew_tent(0.2, -0.9, 1.0)
    >>> ev = classify_events(find_cycles(m0, 2, seed=0), find_cycles(m1, 2, seed=0), models=(m0, m1))
    >>> [(e.order, e.kind) for e in ev]
    [(1, 'degenerate_flip'), (2, 'degenerate_flip')]
    """
    b = _as_cycles(before, "before")
    a = _as_cycles(after, "after")
    tol = check_real(tol, "tol", minimum=0.0, exclusive_minimum=True)
    if models is not None:
        if not isinstance(models, (tuple, list)) or len(models) != 2:
            raise ValueError("models must be a pair (model_before, model_after)")
    plan = _Plan(b, a, tol)
    if models is None:
        kinds = ([_heuristic_kind(c) for c in plan.query_lost], [_heuristic_kind(c) for c in plan.query_new])
    else:
        kinds = (_model_kinds(plan.query_lost, models[1]), _model_kinds(plan.query_new, models[0]))
    return plan.events(*kinds)


def classify_events_many(
    pairs: Sequence[tuple[Any, Any]],
    stack: Any,
    points: Any,
    *,
    tol: float = 0.05,
) -> list[list[BifurcationEvent]]:
    """:func:`classify_events` with models for many pairs of object sets, the solves batched.

    Every birth or death of all pairs is re-solved on the other side in one stacked solve per
    order (the exact rule 4), instead of one small solve per object; the events are those of
    ``classify_events(before, after, tol=tol, models=(stack.model(i), stack.model(j)))``.

    Parameters
    ----------
    pairs : list of (before, after)
        Object sets (CycleSet or list of Cycle) at two nearby parameter points.
    stack : ModelStack
        The models (:class:`rnnexplore.dynamics.solve.ModelStack`).
    points : (n_pairs, 2) int array
        Stack indices of the two sides of every pair.
    tol : float

    Returns
    -------
    list of list of BifurcationEvent
        One sorted list per pair.

    Examples
    --------
    >>> from rnnexplore.dynamics.models import skew_tent
    >>> from rnnexplore.dynamics.cycles import find_cycles
    >>> from rnnexplore.dynamics.solve import ModelStack
    >>> ms = [skew_tent(0.2, a, 1.0) for a in (-1.1, -0.9, 0.9, 1.1)]
    >>> cs = [find_cycles(m, 2, seed=0) for m in ms]
    >>> out = classify_events_many([(cs[0], cs[1]), (cs[2], cs[3])], ModelStack.from_models(ms), [[0, 1], [2, 3]])
    >>> [[e.kind for e in ev] for ev in out]
    [['degenerate_flip', 'degenerate_flip'], ['degenerate_transcritical']]
    """
    from rnnexplore.dynamics.solve import ModelStack

    tol = check_real(tol, "tol", minimum=0.0, exclusive_minimum=True)
    if not isinstance(stack, ModelStack):
        raise ValueError(f"stack must be a ModelStack, got {type(stack).__name__}")
    pairs = list(pairs)
    if not pairs:
        return []
    points = check_array(points, "points", shape=(len(pairs), 2), dtype=np.int64)
    if points.size and (points.min() < 0 or points.max() >= len(stack)):
        raise ValueError(f"points must index the stack of {len(stack)} models")
    plans = [_Plan(_as_cycles(b, "before"), _as_cycles(a, "after"), tol) for b, a in pairs]
    objs, other = [], []
    for plan, (pb, pa) in zip(plans, points.tolist()):
        objs += plan.query_lost + plan.query_new
        other += [pa] * len(plan.query_lost) + [pb] * len(plan.query_new)
    kinds = _model_kinds(objs, stack, np.asarray(other, dtype=np.int64)) if objs else []
    out, pos = [], 0
    for plan in plans:
        n_l, n_n = len(plan.query_lost), len(plan.query_new)
        out.append(plan.events(kinds[pos : pos + n_l], kinds[pos + n_l : pos + n_l + n_n]))
        pos += n_l + n_n
    return out


class _Plan:
    """Rules 1-3 and 5 for one pair of object sets; rule 4 needs a kind for each of
    ``query_lost`` / ``query_new`` (the unmatched objects that are not in a pair)."""

    def __init__(self, b: list[Cycle], a: list[Cycle], tol: float) -> None:
        same, lost, new = _match_by_key(b, a)
        self.moved, self.lost, self.new = _border_collisions(lost, new, tol)
        self.changed, self.flip_orders = _stability_changes(same)
        self.partner_lost = _pair_partners(self.lost, tol)
        self.partner_new = _pair_partners(self.new, tol)
        self.query_lost = [c for i, c in enumerate(self.lost) if i not in self.partner_lost]
        self.query_new = [c for i, c in enumerate(self.new) if i not in self.partner_new]

    def events(self, kinds_lost: Sequence[str], kinds_new: Sequence[str]) -> list[BifurcationEvent]:
        events = self.moved + self.changed
        events += _births_and_deaths(self.lost, "death", self.partner_lost, kinds_lost, self.flip_orders)
        events += _births_and_deaths(self.new, "birth", self.partner_new, kinds_new, self.flip_orders)
        events.sort(key=lambda e: (e.order, e.kind, e.key_before or "", e.key_after or ""))
        return events


def _match_by_key(b: list[Cycle], a: list[Cycle]) -> tuple[list[tuple[Cycle, Cycle]], list[Cycle], list[Cycle]]:
    """Rule 1a: ``(same, lost, new)`` - pairs with equal keys, objects only before, only after."""
    a_by_key = {c.key: c for c in a}
    b_keys = {c.key for c in b}
    same = [(c, a_by_key[c.key]) for c in b if c.key in a_by_key]
    return same, [c for c in b if c.key not in a_by_key], [c for c in a if c.key not in b_keys]


def _border_collisions(lost: list[Cycle], new: list[Cycle], tol: float
                       ) -> tuple[list[BifurcationEvent], list[Cycle], list[Cycle]]:
    """Rule 1b: a lost and a new object of one order within ``tol`` are one object that crossed a border.

    Returns the events and the lost / new objects left unmatched.
    """
    cands = [(d, i, j) for i, cb in enumerate(lost) for j, ca in enumerate(new)
             if cb.order == ca.order and (d := _orbit_distance(cb, ca)) <= tol]
    moved = _greedy_pairs(cands)
    events = []
    for i, j in moved:
        cb, ca = lost[i], new[j]
        change = f"; stability {cb.stability} -> {ca.stability}" if cb.n_stable != ca.n_stable else ""
        events.append(BifurcationEvent(
            "border_collision", cb.order, cb.key, ca.key,
            f"{_name(cb.order)} crossed a switching border (regions {cb.key!r} -> {ca.key!r}){change}",
            cb.stability, ca.stability,
        ))
    moved_b, moved_a = {i for i, _ in moved}, {j for _, j in moved}
    return (events, [c for i, c in enumerate(lost) if i not in moved_b],
            [c for j, c in enumerate(new) if j not in moved_a])


_HOW = {
    "degenerate_transcritical": "a real eigenvalue passed +1",
    "degenerate_flip": "a real eigenvalue passed -1 (degenerate flip)",
    "neimark_sacker": "a complex pair crossed the unit circle (Neimark-Sacker type)",
    "stability_change": "the stability signature changed",
}


def _stability_changes(same: list[tuple[Cycle, Cycle]]) -> tuple[list[BifurcationEvent], set[int]]:
    """Rule 2: surviving objects whose stability signature changed; also the orders that flipped."""
    events, flip_orders = [], set()
    for cb, ca in same:
        if cb.n_stable == ca.n_stable:
            continue
        kind = _crossing_kind(cb.eigenvalues, ca.eigenvalues)
        if kind == "degenerate_flip":
            flip_orders.add(cb.order)
        events.append(BifurcationEvent(
            kind, cb.order, cb.key, ca.key,
            f"{_name(cb.order)} {cb.key!r} changed stability {cb.stability} -> {ca.stability}: {_HOW[kind]}",
            cb.stability, ca.stability,
        ))
    return events, flip_orders


def _pair_partners(objs: list[Cycle], tol: float) -> dict[int, int]:
    """Rule 3: index -> partner index for objects born (or dying) together in a pair.

    Same order, stability signatures differing by one, orbits within ``4 * tol``; closest first.
    """
    cands = [(d, i, j) for i, c1 in enumerate(objs) for j in range(i + 1, len(objs))
             if c1.order == objs[j].order and abs(c1.n_stable - objs[j].n_stable) == 1
             and (d := _orbit_distance(c1, objs[j])) <= 4 * tol]
    partner: dict[int, int] = {}
    for _d, i, j in sorted(cands):  # one object joins at most one pair
        if i not in partner and j not in partner:
            partner[i], partner[j] = j, i
    return partner


def _births_and_deaths(objs: list[Cycle], side: str, partner: dict[int, int], kinds: Sequence[str],
                       flip_orders: set[int]) -> list[BifurcationEvent]:
    """Rules 3-5 for the unmatched objects of one side (``side`` is ``"death"`` or ``"birth"``;
    ``kinds``: the rule-4 kinds of the objects not in ``partner``, in order)."""
    pair_kind = "pair_annihilation" if side == "death" else "pair_creation"
    events = []
    rest = iter(kinds)
    for i, c in enumerate(objs):
        kind = pair_kind if i in partner else next(rest)
        if kind in ("", "neimark_sacker", "stability_change"):
            kind = side
        if _is_flip_partner(c, kind, pair_kind, flip_orders):
            kind = "degenerate_flip"
        events.append(_birth_death_event(kind, side, c, objs[partner[i]] if i in partner else None))
    return events


def _is_flip_partner(c: Cycle, kind: str, pair_kind: str, flip_orders: set[int]) -> bool:
    """Rule 5: an order-2k birth/death beside an order-k degenerate flip belongs to that flip."""
    return (c.order % 2 == 0 and c.order // 2 in flip_orders
            and kind not in ("degenerate_transcritical", pair_kind))


def _birth_death_event(kind: str, side: str, c: Cycle, partner: Cycle | None) -> BifurcationEvent:
    verb = "died" if side == "death" else "was born"
    why = {
        "degenerate_transcritical": (
            "escaped to infinity (eigenvalue through +1, degenerate transcritical)"
            if side == "death"
            else "came in from infinity (eigenvalue through +1, degenerate transcritical)"
        ),
        "degenerate_flip": f"{verb} in a degenerate flip (eigenvalue through -1)",
        "border_collision": f"{verb} in a border collision (an orbit point crossed a switching border)",
        "pair_annihilation": f"was annihilated together with the {partner.stability if partner else ''} "
        f"{_name(c.order)} {partner.key if partner else ''!r}",
        "pair_creation": f"was created together with the {partner.stability if partner else ''} "
        f"{_name(c.order)} {partner.key if partner else ''!r}",
        "birth": "was born",
        "death": "died",
    }[kind]
    kb, ka = (c.key, None) if side == "death" else (None, c.key)
    sb, sa = (c.stability, None) if side == "death" else (None, c.stability)
    return BifurcationEvent(kind, c.order, kb, ka, f"{c.stability} {_name(c.order)} {c.key!r} {why}", sb, sa)


