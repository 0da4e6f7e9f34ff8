"""Complete object sets the engine can prove: effective alphabet, Lyndon enumeration, pruned
itineraries, cost model, continua, refusals - against oracles written here with no engine code."""

import itertools

import numpy as np
import pytest

from test_cycles import _keys, _same_orbit, naive_cycles

from rnnexplore.dynamics import cycles as cycles_mod
from rnnexplore.dynamics.cycles import (
    SearchInterrupted,
    _Alphabet,
    _Collector,
    _ExactOrders,
    _Windows,
    brute_force_cycles,
    find_cycles,
)
from rnnexplore.dynamics.enumeration import NecklaceTree, effective_bits, n_lyndon, region_letters
from rnnexplore.dynamics.models import ALRNN, PLRNN, ShallowPLRNN, paper_gt16, random_plrnn, skew_tent


# --------------------------------------------------------------------------- an independent oracle
def lozi(a=1.7, b=0.5):
    """The Lozi map x' = 1 - a|x| + y, y' = b x as a PLRNN (|x| = 2 relu(x) - x): one effective bit."""
    return PLRNN([[a, 1.0], [b, 0.0]], [[-2 * a, 0.0], [0.0, 0.0]], [1.0, 0.0])


def lozi_cycle_counts(a, b, K):
    """Number of periodic orbits of minimal period k = 1..K of the Lozi map, by solving the cycle
    equation of every binary word (1 = x > 0) in plain numpy and counting real primitive words / k."""
    counts = {}
    for k in range(1, K + 1):
        codes = np.arange(2**k)
        w = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)  # (N, k)
        N = len(codes)
        P = np.broadcast_to(np.eye(2), (N, 2, 2)).copy()
        r = np.zeros((N, 2))
        for i in range(k):
            s = np.where(w[:, i], -a, a)  # slope of |x| on each side
            J = np.zeros((N, 2, 2))
            J[:, 0, 0], J[:, 0, 1], J[:, 1, 0] = s, 1.0, b
            P = J @ P
            r = (J @ r[:, :, None])[:, :, 0] + np.array([1.0, 0.0])
        z = np.linalg.solve(np.eye(2) - P, r[:, :, None])[:, :, 0]
        ok = np.ones(N, dtype=bool)
        cur = z.copy()
        for i in range(k):
            ok &= (cur[:, 0] > 0) == w[:, i]
            cur = np.stack([1.0 - a * np.abs(cur[:, 0]) + cur[:, 1], b * cur[:, 0]], axis=1)
        ok &= np.max(np.abs(cur - z), axis=1) <= 1e-8 * (1 + np.max(np.abs(z), axis=1))
        prim = np.ones(N, dtype=bool)
        for d in range(1, k):
            if k % d == 0:
                prim &= np.any(np.roll(w, d, axis=1) != w, axis=1)
        n_real = int(np.sum(ok & prim))
        assert n_real % k == 0  # every rotation of a real primitive word is real
        counts[k] = n_real // k
    return counts


@pytest.mark.parametrize("a,b", [(1.7, 0.5), (1.4, 0.3), (2.0, 0.5)])
def test_lozi_counts_equal_an_independent_enumeration_up_to_order_16(a, b):
    want = lozi_cycle_counts(a, b, 16)
    cs = find_cycles(lozi(a, b), 16, seed=0)
    assert {k: len(cs.by_order(k)) for k in range(1, 17)} == want
    assert cs.proven == {k: "enumerated" for k in range(1, 17)}
    assert cs.stats["letters"] == 2 and sum(want.values()) > 10


# --------------------------------------------------------------------------- alphabet
def test_effective_bits_and_letters():
    m = PLRNN([0.5, 0.5, 0.5], [[0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.3, 0.0]], [0.1, 0.2, 0.3])
    assert effective_bits(m).tolist() == [False, True, False]
    assert len(region_letters(m)) == 2
    al = ALRNN([0.5, 0.5, 0.5], [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.3, 0.0, 0.0]], [0.0, 0.1, 0.2], n_relu=2)
    assert effective_bits(al).tolist() == [True, False]  # the last unit's column of W is zero
    assert effective_bits(random_plrnn(4, seed=0)).all()


def test_shallow_letters_are_exactly_the_cells_of_the_arrangement():
    rng = np.random.default_rng(3)
    m = ShallowPLRNN(rng.uniform(0.2, 0.8, 2), rng.normal(size=(2, 6)), rng.normal(size=(6, 2)),
                     rng.normal(size=2), rng.normal(size=6))
    letters = {tuple(r) for r in region_letters(m)}
    # 6 lines in general position cut the plane into 1 + 6 + 15 = 22 cells
    assert len(letters) == 22
    pts = rng.uniform(-60, 60, size=(400000, 2))
    seen = {tuple(r) for r in np.unique(m.region(pts), axis=0)}
    assert seen == letters


def test_zero_column_does_not_multiply_the_sequences():
    # unit 1 feeds nothing: enumeration over 2 letters instead of 4, same objects as brute force
    rng = np.random.default_rng(5)
    W = rng.normal(size=(2, 2))
    W[:, 1] = 0.0
    m = PLRNN([[1.3, 0.4], [0.6, -0.2]], W, [0.8, -0.3])
    cs = find_cycles(m, 8, seed=0)
    assert cs.stats["letters"] == 2
    for k in range(1, 9):
        assert _keys(cs.by_order(k)) == _keys(brute_force_cycles(m, k))
        assert cs.stats["solves"][k] == n_lyndon(2, k)


def test_necklace_tree_levels_are_the_lyndon_words():
    for n in (1, 2, 3, 4):
        tree = NecklaceTree(n)
        for k in range(1, 9 if n < 4 else 7):
            _parents, lyn = tree.grow()
            assert len(lyn) == n_lyndon(n, k)
            brute = [w for w in itertools.product(range(n), repeat=k)
                     if all(w < w[i:] + w[:i] for i in range(1, k))]
            assert sorted(map(tuple, lyn.tolist())) == brute


# --------------------------------------------------------------------------- proven where it should be
def _system(i):
    M = 1 + i % 3
    return random_plrnn(M, seed=500 + i, rich=(i // 3) % 2 == 1), 8 // M


@pytest.mark.parametrize("i", range(12))
def test_equal_to_naive_oracle_and_proven(i):
    m, K = _system(i)
    cs = find_cycles(m, K, seed=i)
    assert cs.proven == {k: "enumerated" for k in range(1, K + 1)} and cs.stats["complete"]
    for k in range(1, K + 1):
        naive = naive_cycles(m, k)
        got = cs.by_order(k)
        assert len(got) == len(naive)
        for orbit in naive:
            assert any(_same_orbit(orbit, c.points) for c in got)


def test_heuristic_orders_are_not_proven_and_say_so():
    m = random_plrnn(2, seed=1, rich=True)
    cs = find_cycles(m, 12, seed=0)
    assert cs.proven[12] is None and not cs.stats["complete"]
    assert cs.stats["solves"][12] > 0
    assert "NOT proven" in cs.summary()[-1] and f"{cs.stats['solves'][12]} solves" in cs.summary()[-1]
    forced = find_cycles(random_plrnn(6, seed=1, rich=True), 3, min_order=3, seed=0, budget={"exhaustive_limit": 0})
    assert forced.proven == {3: None}  # 87360 sequences, more than the chains may solve


@pytest.mark.slow
def test_rich_plrnn_order_12_complete_with_enumeration():
    m = random_plrnn(2, seed=1, rich=True)
    cs = find_cycles(m, 12, seed=0, min_order=12, budget={"enumerate_seconds": 60.0})
    assert cs.proven == {12: "enumerated"}
    assert _keys(cs) == _keys(brute_force_cycles(m, 12))
    assert len(cs) == 328


# --------------------------------------------------------------------------- pruning
def _pruned_and_plain(m, K, depth=None):
    al = _Alphabet(m)
    cols_p = {k: _Collector(m, k) for k in range(1, K + 1)}
    cols_e = {k: _Collector(m, k) for k in range(1, K + 1)}
    pr = _ExactOrders(m, al, cols_p)
    done = pr.pruned(list(range(1, K + 1)), seconds=1e9, skip=set(), depth=depth)
    pl = _ExactOrders(m, al, cols_e)
    pl.plain(list(range(1, K + 1)))
    return done, pr, pl, cols_p, cols_e


@pytest.mark.parametrize("i", range(8))
def test_pruned_enumeration_equals_plain_enumeration(i):
    M = 1 + i % 3
    m = random_plrnn(M, seed=900 + i, rich=i % 2 == 0)
    K = {1: 8, 2: 5, 3: 3}[M]
    for depth in (None, 2, K):  # the cost model's window length, and forced ones
        done, pr, pl, cols_p, cols_e = _pruned_and_plain(m, K, depth)
        assert done == list(range(1, K + 1))
        assert depth is None or pr.window_depth == depth
        for k in range(1, K + 1):
            assert set(cols_p[k].cycles) == set(cols_e[k].cycles)
            assert pr.solves[k] <= pl.solves[k]


@pytest.mark.parametrize("slopes", [(0.5, -0.5), (0.9, -0.8)])
def test_windows_deeper_than_int64_word_codes(slopes):
    # a contraction (|slopes| < 1) has exactly one periodic orbit, its fixed point: windows of
    # length 66 over two letters (2^66 words, more than int64 codes of whole words can hold)
    # prove every order up to 70 with that one object
    m = skew_tent(*slopes, 1.0)
    K = 70
    al = _Alphabet(m)
    cols = {k: _Collector(m, k) for k in range(1, K + 1)}
    pr = _ExactOrders(m, al, cols)
    levels = []
    pr.on_level = lambda d: levels.append(d["windows"])
    assert pr.pruned(list(range(1, K + 1)), seconds=1e9, skip=set(), depth=66) == list(range(1, K + 1))
    assert pr.window_depth == 66 and len(levels) == 66
    assert [k for k in range(1, K + 1) if cols[k].cycles] == [1]
    win = _Windows(pr, K, list(range(1, K + 1)), depth=66)
    win.build()
    for t in (1, 2, 30, 64, 65, 66):  # ranks, prefixes and suffixes agree with the words
        lvl, below = win.levels[t - 1], win.levels[t - 2] if t > 1 else None
        assert np.array_equal(win._rank(lvl.words), np.arange(len(lvl.codes)))
        assert np.array_equal(lvl.codes % 2, lvl.words[:, -1])
        if below is not None:
            assert np.array_equal(lvl.codes // 2, win._rank(lvl.words[:, :-1]))
            assert np.array_equal(lvl.suf, win._rank(lvl.words[:, 1:]))
        assert np.all(np.diff(lvl.codes) > 0)
    top = {tuple(w) for w in win.levels[-1].words.tolist()}
    others = np.random.default_rng(0).integers(0, 2, size=(200, 66))
    outside = np.array([tuple(w) not in top for w in others.tolist()])
    assert outside.any() and np.all((win._rank(others) == -1) == outside)  # a word not there has no rank


def test_pruning_removes_what_no_state_follows():
    # a contracting system: few itineraries are admissible, far fewer than all Lyndon words
    m = random_plrnn(3, seed=2)
    done, pr, pl, cols_p, cols_e = _pruned_and_plain(m, 4, depth=4)
    assert sum(pr.solves.values()) < sum(pl.solves.values()) / 4
    assert all(set(cols_p[k].cycles) == set(cols_e[k].cycles) for k in range(1, 5))


def _empty_by_own_lp(model, D, box):
    """Whether no z_1 in the box follows the regions D (t, M) of z' = A z + W relu(z) + h, with
    the on inequalities strict (margin 1e-9): a linear program written here (scipy linprog)."""
    from scipy.optimize import linprog

    A, W, h = np.asarray(model.A), np.asarray(model.W), np.asarray(model.h)
    M = len(h)
    P, r = np.eye(M), np.zeros(M)
    rows, rhs = [], []
    for Di in D:  # z_i = P z_1 + r: on -> -(P z_1 + r) <= -1e-9, off -> P z_1 + r <= 0
        sg = np.where(Di, -1.0, 1.0)
        rows.append(sg[:, None] * P)
        rhs.append(-sg * r - 1e-9 * Di)
        Ji = A + W * Di[None, :]
        P, r = Ji @ P, Ji @ r + h
    res = linprog(np.zeros(M), A_ub=np.concatenate(rows), b_ub=np.concatenate(rhs),
                  bounds=list(zip(box[0], box[1])), method="highs")
    return res.status == 2


def test_emptiness_certificates_hold_for_every_sequence_sharing_their_inequalities():
    # prefix_margins' Farkas supports: a region sequence with the same inequalities on the
    # certificate's (step, unit) entries is empty too (checked by the LP above): the same steps
    # before the last step the certificate uses, that step's units in the support the same,
    # anything else after
    from test_proven import inhibitory

    from rnnexplore.dynamics.enumeration import PRUNE_TOL, periodic_box, prefix_margins

    rng = np.random.default_rng(3)
    checked = 0
    for M, seed in [(3, 2), (4, 3), (5, 5)]:
        m = inhibitory(M, seed)
        box = periodic_box(m)
        S = rng.random((120, 3, M)) < 0.5
        tau, _, sup = prefix_margins(m, S, box=box, certificates=True)
        assert not sup[~(tau < -PRUNE_TOL)].any()  # certificates only for empty sequences
        for b in np.flatnonzero(sup.any(axis=(1, 2)))[:25]:
            for _ in range(4):
                last = int(np.flatnonzero(sup[b].any(axis=1))[-1])
                D = S[b].copy()
                D[last:] = np.where(sup[b, last:], S[b, last:], rng.random(D[last:].shape) < 0.5)
                assert _empty_by_own_lp(m, D, box), (M, b)
                checked += 1
            assert not _empty_by_own_lp(m, m._region(m.simulate(rng.uniform(*box), 2)), box)
    assert checked > 100


def test_prefix_margins_same_decisions_with_the_bundled_highs_and_with_linprog():
    # the direct HiGHS route and the public linprog route decide every prefix alike
    from test_proven import inhibitory

    from rnnexplore.dynamics.enumeration import PRUNE_TOL, _BlockLP, periodic_box, prefix_margins

    m = inhibitory(5, 5)
    box = periodic_box(m)
    rng = np.random.default_rng(4)
    orbits = m.simulate(rng.uniform(*box, size=(300, 5)), 3)  # (4, 300, 5): regions some state follows
    S = np.swapaxes(m._region(orbits), 0, 1).copy()
    S[::2, -1] ^= rng.random((150, 5)) < 0.4  # and half of them changed in the last step
    public = _BlockLP()
    public.core = None
    t1, z1, s1 = prefix_margins(m, S, box=box, certificates=True, method="highs")
    t2, z2, s2 = prefix_margins(m, S, box=box, certificates=True, solver=public, method="highs")
    assert np.array_equal(t1 < -PRUNE_TOL, t2 < -PRUNE_TOL) and np.array_equal(t1 > 0, t2 > 0)
    assert 0.2 < np.mean(t1 < -PRUNE_TOL) < 0.95
    assert np.allclose(t1, t2, atol=1e-9)


def test_find_cycles_proves_orders_by_pruning_when_enumeration_is_too_dear():
    m = random_plrnn(3, seed=2)  # contracting: few admissible itineraries
    bud = {"enumerate_seconds": 0.0, "exhaustive_limit": 8, "max_solves": 1, "prune": True, "prune_seconds": 50.0}
    cs = find_cycles(m, 5, seed=0, budget=bud)
    assert cs.proven == {1: "enumerated", 2: "pruned", 3: "pruned", 4: "pruned", 5: "pruned"}
    for k in range(1, 6):
        assert _keys(cs.by_order(k)) == _keys(brute_force_cycles(m, k))
    # solving the closed walks of the letters is cheaper here than any LP: no LP is spent
    assert set(cs.stats["lps"]) == {2, 3, 4, 5} and cs.stats["solves"][5] <= n_lyndon(8, 5)
    # without time for the tree, the same orders are heuristic and say so
    cs = find_cycles(m, 5, seed=0, budget=dict(bud, prune_seconds=0.0))
    assert cs.proven[1] == "enumerated" and cs.proven[5] is None


# --------------------------------------------------------------------------- continua, refusals, interrupts
def test_identity_map_is_a_continuum_not_an_empty_complete_set():
    cs = find_cycles(PLRNN([1.0, 1.0], np.zeros((2, 2)), [0.0, 0.0]), 4, seed=0)
    assert len(cs) == 0
    (cont,) = cs.continua
    assert cont["order"] == 1 and cont["dimension"] == 2 and cont["regions"] == "**"
    assert "continuum of dimension 2" in cs.summary()[0]
    # z' = relu(z) on z > 0 and 0 below: the half-line z > 0 of fixed points, and the isolated z = 0
    cs = find_cycles(PLRNN([0.0], [[1.0]], [0.0]), 3, seed=0)
    assert [c["regions"] for c in cs.continua] == ["1"] and len(cs.by_order(1)) == 1


@pytest.mark.parametrize("max_order", [2**64, 100000])
def test_absurd_orders_are_refused_at_once(max_order):
    with pytest.raises(ValueError, match="max_order"):
        find_cycles(paper_gt16(), max_order)


def test_long_work_is_refused_with_its_estimate_unless_asked_for():
    with pytest.raises(ValueError, match=r"estimated at about .* s.*allow_long=True"):
        find_cycles(paper_gt16(), 1000)
    with pytest.raises(ValueError, match="estimated"):
        find_cycles(random_plrnn(100, seed=0), 3)
    with pytest.raises(ValueError, match="allow_long"):
        find_cycles(paper_gt16(), 4, allow_long="yes")


def test_keyboard_interrupt_stops_cleanly_with_the_partial_result(monkeypatch):
    real = cycles_mod._solve_sequences
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 6:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(cycles_mod, "_solve_sequences", flaky)
    with pytest.raises(SearchInterrupted) as info:
        find_cycles(paper_gt16(), 12, seed=0)
    part = info.value.partial
    assert isinstance(info.value, KeyboardInterrupt) and part.stats["interrupted"]
    assert part.proven[1] == "enumerated" and part.proven[12] is None
    assert part.stats["stop"][12] == "interrupted"
    assert len(part.by_order(1)) == 1
