"""Pruned enumeration by admissible windows against a vectorised brute force written here
(plain numpy over every region sequence; no engine code), on cycle-rich and chaotic systems
with M k up to 24, and the window invariant itself: every cyclic window of a real cycle is an
admissible window."""

import numpy as np
import pytest
from test_proven import inhibitory

from rnnexplore.dynamics.cycles import _Alphabet, _Collector, _ExactOrders, find_cycles
from rnnexplore.dynamics.models import (
    ALRNN,
    ClippedShallowPLRNN,
    ShallowPLRNN,
    random_plrnn,
)


def brute_force_codes(model, k, chunk=1 << 16):
    """Canonical codes of every k-cycle of ``z' = A z + W relu(z) + h``: one code per primitive
    region sequence (bits ``[i M, (i+1) M)`` = region of step i, the smallest rotation), solved
    and checked on the true map for every one of the ``2^(M k)`` sequences."""
    return set(brute_force_points(model, k, chunk))


def brute_force_points(model, k, chunk=1 << 16):
    """``{canonical code: the cycle's point of region step 0}`` (as :func:`brute_force_codes`)."""
    A, W, h = np.asarray(model.A), np.asarray(model.W), np.asarray(model.h)
    M = len(h)
    n = M * k
    mask = (1 << n) - 1
    found = {}
    for lo in range(0, 1 << n, chunk):
        codes = np.arange(lo, min(1 << n, lo + chunk), dtype=np.int64)
        keep = np.ones(len(codes), dtype=bool)
        for r in range(1, k):  # strictly below every rotation: primitive, one per class
            rot = ((codes >> (r * M)) | (codes << (n - r * M))) & mask
            keep &= codes < rot
        codes = codes[keep]
        if len(codes) == 0:
            continue
        D = ((codes[:, None] >> np.arange(n)) & 1).astype(bool).reshape(len(codes), k, M)
        P = np.broadcast_to(np.eye(M), (len(codes), M, M)).copy()
        r = np.zeros((len(codes), M))
        for i in range(k):
            Ji = A + W * D[:, i, None, :]
            P = Ji @ P
            r = np.einsum("bij,bj->bi", Ji, r) + h
        IP = np.eye(M) - P
        ok = np.abs(np.linalg.det(IP)) > 1e-12
        z = np.zeros((len(codes), M))
        z[ok] = np.linalg.solve(IP[ok], r[ok][:, :, None])[:, :, 0]
        cur = z.copy()
        for i in range(k):
            ok &= np.all((cur > 0) == D[:, i], axis=1)
            cur = cur @ A.T + np.maximum(cur, 0.0) @ W.T + h
        ok &= np.all(np.abs(cur - z) <= 1e-8 * (1.0 + np.abs(z)), axis=1)
        found.update((int(c), zc) for c, zc in zip(codes[ok], z[ok]))
    return found


def engine_codes(cycles, M):
    """The same canonical codes from the engine's cycles (their region sequences)."""
    out = set()
    for c in cycles:
        steps = [int(sum(int(b) << j for j, b in enumerate(row))) for row in c.regions]
        k = len(steps)
        out.add(min(sum(steps[(i + s) % k] << (M * i) for i in range(k)) for s in range(k)))
    return out


def _windows(m, K, depth=None):
    al = _Alphabet(m)
    cols = {k: _Collector(m, k) for k in range(1, K + 1)}
    ex = _ExactOrders(m, al, cols)
    done = ex.pruned(list(range(1, K + 1)), seconds=1e9, skip=set(), depth=depth)
    return done, ex, cols


_CASES = [
    ("rich 2-D", lambda: random_plrnn(2, seed=1, rich=True), 9, (None, 3, 6)),
    ("rich 3-D", lambda: random_plrnn(3, seed=2, rich=True), 6, (None, 2, 4)),
    ("inhibitory 3-D", lambda: inhibitory(3, 2), 6, (None, 3)),
    ("inhibitory 4-D", lambda: inhibitory(4, 3), 4, (None, 2)),
]
_SLOW = [  # M k = 24
    ("rich 2-D order 12", lambda: random_plrnn(2, seed=1, rich=True), 12, (5,)),
    ("rich 3-D order 8", lambda: random_plrnn(3, seed=2, rich=True), 8, (4,)),
    ("inhibitory 4-D order 6", lambda: inhibitory(4, 3), 6, (3,)),
]


@pytest.mark.parametrize(
    "name, make, K, depths",
    _CASES + [pytest.param(*c, marks=pytest.mark.slow) for c in _SLOW],
    ids=[c[0] for c in _CASES + _SLOW],
)
def test_window_enumeration_equals_vectorised_brute_force(name, make, K, depths):
    m = make()
    want = {k: brute_force_codes(m, k) for k in range(1, K + 1)}
    assert sum(len(v) for v in want.values()) > 0
    for depth in depths:
        done, _, cols = _windows(m, K, depth)
        assert done == list(range(1, K + 1))
        for k in range(1, K + 1):
            assert engine_codes(cols[k].cycles.values(), m.M) == want[k], (name, depth, k)


def test_every_cyclic_window_of_a_cycle_is_admissible():
    m = random_plrnn(2, seed=1, rich=True)
    K, J = 8, 4
    _, ex, cols = _windows(m, K, depth=J)
    al = ex.alpha
    from rnnexplore.dynamics.cycles import _letter_index, _Windows

    win = _Windows(ex, K, list(range(1, K + 1)), J)
    win.build()
    top = {tuple(w) for w in win.levels[-1].words.tolist()}
    checked = 0
    for k in range(1, K + 1):
        for c in cols[k].cycles.values():
            lets = _letter_index(al, c.points)
            for s in range(k):
                w = [int(lets[(s + i) % k]) for i in range(J)]
                assert tuple(w) in top
                checked += 1
    assert checked > 100


def test_find_cycles_proves_a_chaotic_4d_net_by_windows_and_says_so():
    m = inhibitory(4, 3)
    bud = {"enumerate_seconds": 0.0, "exhaustive_limit": 16, "max_solves": 1, "prune": True, "prune_seconds": 60.0}
    cs = find_cycles(m, 5, seed=0, budget=bud, allow_long=True)
    assert cs.proven == {1: "enumerated", **{k: "pruned" for k in range(2, 6)}}
    for k in range(1, 6):
        assert engine_codes(cs.by_order(k), 4) == brute_force_codes(m, k)


def _other_models():
    rng, r0 = np.random.default_rng(7), np.random.default_rng(0)
    return [
        ShallowPLRNN(rng.uniform(-0.5, 0.9, 2), 1.5 * rng.normal(size=(2, 3)), rng.normal(size=(3, 2)),
                     rng.normal(size=2), rng.normal(size=3)),
        ClippedShallowPLRNN(rng.uniform(0.2, 0.9, 2), 2 * rng.normal(size=(2, 2)), rng.normal(size=(2, 2)),
                            rng.normal(size=2), rng.normal(size=2)),
        ALRNN(r0.uniform(-0.9, 0.9, 3), 2.0 * r0.normal(size=(3, 3)), r0.normal(size=3), n_relu=2),  # a 4-cycle
    ]


@pytest.mark.parametrize("i", range(3))
def test_windows_equal_plain_enumeration_for_shallow_and_alrnn_models(i):
    # letters that are not all bit patterns (shallow cells: LPs at level 1, no bit cells), linear units
    m = _other_models()[i]
    K = 5
    plain = _ExactOrders(m, _Alphabet(m), {k: _Collector(m, k) for k in range(1, K + 1)})
    plain.plain(list(range(1, K + 1)))
    assert sum(len(plain.collectors[k].cycles) for k in range(1, K + 1)) > 0
    for depth in (None, 2, K):
        done, ex, cols = _windows(m, K, depth)
        assert done == list(range(1, K + 1))
        for k in range(1, K + 1):
            assert set(cols[k].cycles) == set(plain.collectors[k].cycles), (depth, k)
            assert ex.solves[k] <= plain.solves[k]


def _levels(m, K, depth, lazy, split_first=True):
    """The window levels A_1..A_depth built with or without the lazy rounds (forced depth)."""
    from rnnexplore.dynamics.cycles import _Windows
    from rnnexplore.dynamics.enumeration import periodic_box

    ex = _ExactOrders(m, _Alphabet(m), {k: _Collector(m, k) for k in range(1, K + 1)})
    ex.box = periodic_box(m)
    ex._deadline = float("inf")
    win = _Windows(ex, K, list(range(1, K + 1)), depth)
    win.lazy, win.split_first = lazy, split_first
    win.build()
    return [{tuple(w) for w in lvl.words.tolist()} for lvl in win.levels], win



_LAZY_CASES = [
    (lambda: random_plrnn(2, seed=1, rich=True), 8, 6),
    (lambda: random_plrnn(3, seed=2, rich=True), 6, 4),
    (lambda: inhibitory(3, 2), 6, 4),
    (lambda: inhibitory(4, 3), 5, 4),
    (lambda: inhibitory(5, 5), 4, 3),
    (lambda: _other_models()[0], 5, 3),
]


@pytest.mark.parametrize("i", range(len(_LAZY_CASES)))
def test_lazy_levels_keep_every_window_of_a_real_cycle(i):
    # the lazy rounds (the core of the edges not rejected, sibling certificates) against the
    # cycles of the brute force written here: every cyclic window of every cycle is in every
    # level; and the levels equal the ones built by testing every candidate, then trimming
    from rnnexplore.dynamics.cycles import _letter_index

    make, K, J = _LAZY_CASES[i]
    m = make()
    lazy, win = _levels(m, K, J, "always", split_first=(i % 2 == 0))
    full, _ = _levels(m, K, J, False)
    assert lazy == full
    if isinstance(m, ShallowPLRNN):
        return
    A, W, h = np.asarray(m.A), np.asarray(m.W), np.asarray(m.h)
    checked = 0
    for k in range(1, K + 1):
        for z in brute_force_points(m, k).values():
            pts = [z]
            for _ in range(k - 1):
                pts.append(A @ pts[-1] + W @ np.maximum(pts[-1], 0.0) + h)
            lets = _letter_index(win.alpha, np.array(pts))
            for t, top in enumerate(lazy, start=1):
                for s0 in range(k):
                    assert tuple(int(lets[(s0 + j) % k]) for j in range(t)) in top, (i, k, t)
                    checked += 1
    assert checked > 0


def _levels_from_windows(top, n):
    """Window levels 1..J holding every substring of the windows ``top`` (a list of tuples),
    with the rank codes of :class:`_Level` written out here: code = rank(w[:-1]) * n + w[-1]."""
    from rnnexplore.dynamics.cycles import _Level

    J = len(top[0])
    levels, rank = [], {(): 0}
    for t in range(1, J + 1):
        words = sorted({w[s : s + t] for w in top for s in range(J - t + 1)})
        codes = np.array([rank[w[:-1]] * n + w[-1] for w in words], dtype=np.int64)
        suf = np.array([rank[w[1:]] for w in words], dtype=np.int64)
        assert np.all(np.diff(codes) > 0)
        levels.append(_Level(t, np.array(words, dtype=np.int64), codes, np.zeros((len(words), 9)),
                             np.zeros((len(words), 9)), suf))
        rank = {w: i for i, w in enumerate(words)}
    return levels


def test_closed_walks_of_windows_whose_word_codes_would_overflow_int64():
    # 7-letter windows over 512 letters (base-512 codes of whole words reach 2^63 - 1; n^J does
    # not fit in int64): the two alternating windows close only into the 2-cycle word (510, 511)
    from rnnexplore.dynamics.cycles import _Windows
    from rnnexplore.dynamics.models import PLRNN

    m = PLRNN(np.zeros(9), -0.1 * np.ones((9, 9)), np.ones(9))
    ex = _ExactOrders(m, _Alphabet(m), {k: _Collector(m, k) for k in range(1, 10)})
    ex._deadline = float("inf")
    win = _Windows(ex, 9, list(range(1, 10)), 7)
    top = [(510, 511) * 3 + (510,), (511, 510) * 3 + (511,)]
    assert max(sum(x * 512 ** (6 - i) for i, x in enumerate(w)) for w in top) > 2**62
    win.levels = _levels_from_windows(top, 512)
    assert {k: lyn.tolist() for k, lyn in win.closed_walks() if len(lyn)} == {2: [[510, 511]]}
    # a third window through letter 3 adds the 3-cycle word (3, 510, 511) only if all its cyclic
    # windows are there: they are not, so the walks stay the same
    win.levels = _levels_from_windows(top + [(3, 510, 511) * 2 + (3,)], 512)
    assert {k: lyn.tolist() for k, lyn in win.closed_walks() if len(lyn)} == {2: [[510, 511]]}
    # with every cyclic window of (3, 510, 511) present, that word closes too (its repetitions
    # are not Lyndon words)
    cyc = (3, 510, 511)
    win.levels = _levels_from_windows(top + [tuple(cyc[(s + i) % 3] for i in range(7)) for s in range(3)], 512)
    assert {k: lyn.tolist() for k, lyn in win.closed_walks() if len(lyn)} == {2: [[510, 511]], 3: [[3, 510, 511]]}


def test_a_level_that_does_not_fit_is_built_partially_when_the_walks_cannot_reach_the_next_order(monkeypatch):
    # priced far above the time left (huge LPs per candidate) while the walks of A_1 cannot grow
    # their order-3 tree (a tiny tree limit): the old rule stopped at J = 1; now A_2 is built
    # with the spare time (partial, or exact when decided in time), and what the stage proves
    # still equals brute force
    from rnnexplore.dynamics import cycles
    from rnnexplore.dynamics.cycles import _Windows

    m = inhibitory(4, 3)
    K = 3
    monkeypatch.setattr(cycles, "_MAX_TREE", 40)
    monkeypatch.setattr(_Windows, "lazy_fraction", 1e9)
    ex = _ExactOrders(m, _Alphabet(m), {k: _Collector(m, k) for k in range(1, K + 1)})
    done = ex.pruned(list(range(1, K + 1)), seconds=60.0, skip=set())
    assert ex.window_depth >= 2  # (main stopped at J = 1)
    assert done and done == list(range(1, max(done) + 1))
    for k in done:
        assert engine_codes(ex.collectors[k].cycles.values(), m.M) == brute_force_codes(m, k), k

