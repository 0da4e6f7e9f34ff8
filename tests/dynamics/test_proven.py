"""Proven orders: the periodic-orbit box, box-bounded pruning, certify=True - against brute force
and the plain-numpy oracle of test_cycles (no engine code in the oracle)."""

import numpy as np
import pytest
from test_cycles import _keys, _same_orbit, naive_cycles

from rnnexplore.dynamics.cycles import (
    _Alphabet,
    _Collector,
    _ExactOrders,
    brute_force_cycles,
    find_cycles,
)
from rnnexplore.dynamics.enumeration import periodic_box, template_box
from rnnexplore.dynamics.models import PLRNN, paper_gt16, random_plrnn, skew_tent


def inhibitory(M, seed, rho_pos=0.6):
    """z' = W relu(z) + h with the excitatory part of W scaled to spectral radius rho_pos < 1
    (inhibition unrestricted): contracting at infinity, often chaotic."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(1.0, 4.0) * rng.normal(size=(M, M)) / np.sqrt(M)
    Wp, Wn = np.maximum(W, 0.0), np.minimum(W, 0.0)
    r = np.max(np.abs(np.linalg.eigvals(Wp)))
    if r > 0:
        Wp *= rho_pos / r
    return PLRNN(np.zeros(M), Wp + Wn, np.abs(rng.normal(size=M)))


def _box_cases():
    # (model, max order, whether a box must be found)
    cases = [(skew_tent(0.2, -1.5, 1.0), 8, True)]
    cases += [(random_plrnn(M, seed=s, rich=True), 8 // M, True) for M, s in [(1, 3), (2, 1), (2, 4), (2, 5), (3, 2)]]
    cases += [(random_plrnn(3, seed=s), 3, True) for s in (0, 3)]
    cases += [(inhibitory(M, s), 8 // M, True) for M, s in [(2, 0), (2, 1), (3, 2), (4, 3)]]
    cases += [(PLRNN([1.0], [[0.0]], [0.0]), 2, False)]  # the identity: no bound can exist
    return cases


@pytest.mark.parametrize("i", range(len(_box_cases())))
def test_every_brute_force_cycle_lies_in_the_periodic_box(i):
    m, K, expect = _box_cases()[i]
    box = periodic_box(m)
    assert (box is not None) == expect
    if box is None:
        return
    lo, hi = box
    n = 0
    for k in range(1, K + 1):
        orbits = naive_cycles(m, k) if m.n_bits * k <= 10 else [c.points for c in brute_force_cycles(m, k)]
        for orbit in orbits:
            assert np.all(orbit >= lo) and np.all(orbit <= hi)
            n += 1
    assert n > 0


@pytest.mark.parametrize("i", range(len(_box_cases()) - 1))
def test_every_brute_force_cycle_lies_in_the_template_box(i):
    # the template polytope's box: inside the periodic box, strictly smaller on the cycle-rich
    # and inhibitory systems, and still holding every point of every brute-force cycle
    m, K, _ = _box_cases()[i]
    box = periodic_box(m)
    lo, hi = template_box(m, box, n_iter=4)
    assert np.all(lo >= box[0]) and np.all(hi <= box[1]) and np.all(lo <= hi)
    n = 0
    for k in range(1, K + 1):
        orbits = naive_cycles(m, k) if m.n_bits * k <= 10 else [c.points for c in brute_force_cycles(m, k)]
        for orbit in orbits:
            assert np.all(orbit >= lo) and np.all(orbit <= hi), (k, orbit, lo, hi)
            n += 1
    assert n > 0


def test_template_box_tightens_most_periodic_boxes():
    # the tightening must do something: at least 3/4 of the systems lose 30% of the box volume
    ratios = []
    for m, _, _ in _box_cases()[:-1]:
        box = periodic_box(m)
        lo, hi = template_box(m, box, n_iter=4)
        ratios.append(np.prod(hi - lo) / np.prod(box[1] - box[0]))
    assert np.mean(np.array(ratios) < 0.7) >= 0.75, ratios


def test_template_box_bounds_are_verified_and_emptiness_needs_a_checked_ray():
    # the dual bound of one letter's LP against the maximum over a dense grid of its feasible
    # set (brute force) and linprog's optimum; an empty set is reported only with a checked ray
    from scipy.optimize import linprog
    from scipy.optimize._highspy import _core

    from rnnexplore.dynamics.enumeration import _letter_bounds

    rng = np.random.default_rng(0)
    h = _core._Highs()
    h.setOptionValue("output_flag", False)
    lo, hi = np.array([-2.0, -1.0]), np.array([1.0, 3.0])
    A = rng.normal(size=(4, 2))
    b = A @ np.array([0.1, 0.5]) + rng.uniform(0.2, 1.0, 4)  # (0.1, 0.5) strictly inside
    Q = rng.normal(size=(5, 2))
    got = _letter_bounds(h, _core, A, b, lo, hi, Q)
    g = np.stack(np.meshgrid(np.linspace(lo[0], hi[0], 601), np.linspace(lo[1], hi[1], 801)), -1).reshape(-1, 2)
    g = g[np.all(g @ A.T <= b, axis=1)]
    for q, bound in zip(Q, got):
        best = -linprog(-q, A_ub=A, b_ub=b, bounds=list(zip(lo, hi)), method="highs").fun
        assert np.max(g @ q) <= bound + 1e-12 and abs(bound - best) <= 1e-7
    A2 = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert _letter_bounds(h, _core, A2, np.array([-0.5, -0.5]), lo, hi, Q) is None  # x <= -0.5 and x >= 0.5
    assert _letter_bounds(h, _core, A2, np.array([0.5, 0.5]), lo, hi, Q) is not None


def test_template_box_without_highs_object_keeps_the_box(monkeypatch):
    # another scipy layout: no tightening (the periodic box is still sound)
    import builtins

    real = builtins.__import__

    def no_core(name, *args, **kw):
        if name == "scipy.optimize._highspy":
            raise ImportError(name)
        return real(name, *args, **kw)

    m = inhibitory(3, 2)
    box = periodic_box(m)
    monkeypatch.setattr(builtins, "__import__", no_core)
    lo, hi = template_box(m, box)
    assert np.array_equal(lo, box[0]) and np.array_equal(hi, box[1])


def test_no_box_when_the_map_neither_contracts_nor_expands_at_infinity():
    # x' = 2 relu(x) - relu(-x)... as a PLRNN: slope -1 on the left, 2 on the right (|slope| 1: no margin)
    assert periodic_box(PLRNN([1.0], [[1.0]], [0.5])) is None


def _pruned(m, K, box, depth=None):
    al = _Alphabet(m)
    cols = {k: _Collector(m, k) for k in range(1, K + 1)}
    ex = _ExactOrders(m, al, cols)
    done = ex.pruned(list(range(1, K + 1)), seconds=1e9, skip=set(), box=box, depth=depth)
    return done, ex, cols


_PRUNE_CASES = [(inhibitory, 2, 40), (inhibitory, 3, 41), (inhibitory, 2, 42), (inhibitory, 3, 43),
                (lambda M, s: random_plrnn(M, seed=s, rich=True), 2, 5), (lambda M, s: random_plrnn(M, seed=s, rich=True), 3, 4)]


@pytest.mark.parametrize("i", range(len(_PRUNE_CASES)))
def test_box_bounded_pruning_equals_plain_enumeration(i):
    make, M, seed = _PRUNE_CASES[i]
    m = make(M, seed)
    K = {2: 6, 3: 4}[M]
    done, ex, cols = _pruned(m, K, "auto")
    assert ex.box is not None and done == list(range(1, K + 1))
    plain = _ExactOrders(m, _Alphabet(m), {k: _Collector(m, k) for k in range(1, K + 1)})
    plain.plain(list(range(1, K + 1)))
    for k in range(1, K + 1):
        assert set(cols[k].cycles) == set(plain.collectors[k].cycles)
        assert ex.solves[k] <= plain.solves[k]


def test_the_box_drops_prefixes_no_periodic_orbit_follows():
    m = inhibitory(3, 2)
    _, with_box, cols_b = _pruned(m, 6, "auto", depth=3)
    _, without, cols_n = _pruned(m, 6, None, depth=3)
    assert all(set(cols_b[k].cycles) == set(cols_n[k].cycles) for k in range(1, 7))
    assert sum(with_box.lps.values()) < sum(without.lps.values())
    assert sum(with_box.solves.values()) < sum(without.solves.values())


@pytest.mark.parametrize("K", [6, pytest.param(7, marks=pytest.mark.slow)])
def test_cycle_rich_3d_map_pruned_equals_brute_force(K):
    m = random_plrnn(3, seed=2, rich=True)  # M k = 18 / 21 (M k = 24: the 2-D order-12 test below), expanding at infinity: a box
    done, ex, cols = _pruned(m, K, "auto")
    assert ex.box is not None and done == list(range(1, K + 1))
    for k in range(1, K + 1):
        assert set(c.key for c in cols[k].cycles.values()) == _keys(brute_force_cycles(m, k))
    assert sum(len(cols[k].cycles) for k in range(1, K + 1)) > 40  # cycle-rich: brute force finds dozens


@pytest.mark.slow
def test_rich_2d_order_12_pruned_equals_brute_force():
    m = random_plrnn(2, seed=1, rich=True)  # M k = 24: 328 cycles of order 12
    cs = find_cycles(m, 12, seed=0, budget={"prune": True, "prune_seconds": 600.0, "max_seconds": 1200.0})
    assert cs.proven[12] == "pruned"
    assert _keys(cs.by_order(12)) == _keys(brute_force_cycles(m, 12)) and len(cs.by_order(12)) == 328


def test_proven_is_set_exactly_where_the_tree_got_to():
    m = inhibitory(3, 2)
    bud = {"enumerate_seconds": 0.0, "exhaustive_limit": 8, "max_solves": 1, "prune": True, "prune_seconds": 1e4}
    cs = find_cycles(m, 6, seed=0, budget=bud, allow_long=True)
    assert cs.proven == {1: "enumerated", **{k: "pruned" for k in range(2, 7)}}
    for k in range(1, 7):
        assert _keys(cs.by_order(k)) == _keys(brute_force_cycles(m, k))
    cs = find_cycles(m, 6, seed=0, budget=dict(bud, prune_seconds=0.0))
    assert cs.proven[1] == "enumerated" and all(cs.proven[k] is None for k in range(2, 7))


# --------------------------------------------------------------------------- certify=True
def test_certify_restores_what_a_starved_heuristic_missed():
    m = random_plrnn(2, seed=2, rich=True)
    starved = {"restarts": 1, "chain_length": 2}  # the reference heuristic, proving nothing
    plain = find_cycles(m, 4, seed=0, mode="reference", budget=starved)
    box = 50.0
    cs = find_cycles(m, 4, seed=0, mode="reference", budget=starved, certify=True, box=box)
    assert cs.proven == {k: "box" for k in range(1, 5)} and cs.stats["box"] == box and cs.stats["complete"]
    n_missing = 0
    for k in range(1, 5):
        naive = [o for o in naive_cycles(m, k) if np.all(np.abs(o) <= box)]
        got = cs.by_order(k)
        assert len(got) == len(naive)
        assert all(any(_same_orbit(o, c.points) for c in got) for o in naive)
        n_missing += len(naive) - len(plain.by_order(k))
    assert n_missing > 0  # the heuristic alone did miss objects


def test_certify_leaves_proven_orders_alone():
    cs = find_cycles(paper_gt16(), 10, seed=0, certify=True, box=20.0)
    assert cs.proven[8] == "enumerated" and cs.proven[9] == cs.proven[10] == "box"
    assert set(cs.stats["milp_solves"]) == {9, 10} and cs.stats["stop"][10] == "complete"
    assert "proven complete in the box [-20.0, 20.0]^M" in cs.summary()[9]


def test_a_box_that_excludes_objects_leaves_them_out_and_proves_the_rest():
    m = random_plrnn(2, seed=2, rich=True)
    naive = {k: naive_cycles(m, k) for k in (1, 2, 3)}
    sizes = sorted(float(np.max(np.abs(o))) for k in naive for o in naive[k])
    box = 0.5 * (sizes[len(sizes) // 2 - 1] + sizes[len(sizes) // 2])  # about half of them outside
    starved = {"restarts": 1, "chain_length": 2}
    heur = find_cycles(m, 3, seed=0, mode="reference", budget=starved)
    cs = find_cycles(m, 3, seed=0, mode="reference", budget=starved, certify=True, box=box)
    assert cs.proven == {1: "box", 2: "box", 3: "box"}
    n_in = sum(np.all(np.abs(o) <= box) for k in naive for o in naive[k])
    assert 0 < n_in < sum(len(v) for v in naive.values())
    for k in (1, 2, 3):
        inside = [o for o in naive[k] if np.all(np.abs(o) <= box)]
        got = cs.by_order(k)
        assert all(any(_same_orbit(o, c.points) for c in got) for o in inside)
        # an object outside the box is there only if the heuristic had found it
        for c in got:
            if np.any(np.abs(c.points) > box):
                assert c.key in _keys(heur.by_order(k))


@pytest.mark.parametrize("kwargs, match", [
    ({"certify": True}, "needs box"),
    ({"box": 3.0}, "only used with certify"),
    ({"certify": True, "box": 0.0}, "box"),
    ({"certify": True, "box": float("nan")}, "box"),
    ({"certify": "yes", "box": 1.0}, "certify"),
])
def test_certify_arguments_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0, **kwargs)


def test_certify_refuses_orders_it_cannot_handle():
    with pytest.raises(ValueError, match="orders up to 64"):
        find_cycles(skew_tent(0.2, -1.5, 1.0), 65, seed=0, certify=True, box=5.0)
