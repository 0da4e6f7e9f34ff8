"""The batched dual simplex against scipy's HiGHS (linprog), one program at a time."""
import numpy as np
import pytest
from scipy.optimize import linprog

from rnnexplore.dynamics.dense_lp import EMPTY, OPTIMAL, UNDECIDED, WITNESS, farkas_bound, max_margins

TOL = 1e-7


def _optimum(A, b, lo, hi):
    """max tau s.t. A z + tau <= b (finite rows), lo <= z <= hi, tau <= 1, by linprog."""
    keep = np.isfinite(b)
    M = A.shape[1]
    c = np.zeros(M + 1)
    c[-1] = -1.0
    res = linprog(c, A_ub=np.c_[A[keep], np.ones(int(keep.sum()))], b_ub=b[keep],
                  bounds=[(l, h) for l, h in zip(lo, hi)] + [(None, 1.0)], method="highs")
    assert res.status == 0
    return -res.fun


def _bound_by_hand(y, A, b, lo, hi):
    """The Farkas bound written out: y.b - sum_i min over [lo_i, hi_i] of (A^T y)_i z_i, over sum y."""
    g = A.T @ y
    return (y @ np.where(y > 0, b, 0.0) - np.sum(np.minimum(g * lo, g * hi))) / y.sum()


def _programs(rng, n, m, M, degenerate=False):
    A = rng.normal(size=(n, m, M))
    b = rng.normal(size=(n, m)) + 0.3
    if degenerate:  # integer data, repeated rows, rows along the axes, zero rows: ties everywhere
        A = np.round(A)
        A[:, 1] = A[:, 0]
        b[:, 1] = b[:, 0]
        A[:, 2] = 0.0
        A[:, 2, 0] = 1.0
        A[:, 3] = 0.0
        b = np.round(b)
    return A, b


@pytest.mark.parametrize("n,m,M,degenerate", [(200, 8, 2, False), (200, 30, 6, False), (100, 60, 10, False),
                                              (200, 12, 3, True), (100, 40, 8, True)])
def test_optimal_margins_equal_linprogs(n, m, M, degenerate):
    rng = np.random.default_rng(n + m + M)
    A, b = _programs(rng, n, m, M, degenerate)
    lo, hi = -rng.uniform(0.5, 2.0, M), rng.uniform(0.5, 2.0, M)
    res = max_margins(A, b, lo, hi)
    ref = np.array([_optimum(A[i], b[i], lo, hi) for i in range(n)])
    solved = res.status == OPTIMAL
    assert np.mean(solved) >= 0.98 and set(np.unique(res.status)) <= {OPTIMAL, UNDECIDED}
    assert np.allclose(res.tau[solved], ref[solved], atol=1e-8, rtol=1e-8)
    assert np.all(np.isnan(res.tau[~solved]))
    # the returned vertex attains the margin; the multipliers certify it (no larger margin exists)
    for i in np.flatnonzero(solved)[:50]:
        z = res.z[i]
        assert np.all(z >= lo - 1e-9) and np.all(z <= hi + 1e-9)
        assert np.min(b[i] - A[i] @ z) >= res.tau[i] - 1e-8
        if res.y[i].sum() > 0.5 and res.tau[i] < 1 - 1e-9:
            assert _bound_by_hand(res.y[i], A[i], b[i], lo, hi) <= res.tau[i] + 1e-8


@pytest.mark.parametrize("degenerate", [False, True])
def test_early_stops_give_the_same_verdicts_with_checkable_evidence(degenerate):
    rng = np.random.default_rng(7)
    n, m, M = 400, 25, 5
    A, b = _programs(rng, n, m, M, degenerate)
    b += 0.8  # about half of the programs empty
    lo, hi = -np.ones(M), np.ones(M)
    res = max_margins(A, b, lo, hi, stop_below=-TOL, stop_above=0.0)
    ref = np.array([_optimum(A[i], b[i], lo, hi) for i in range(n)])
    assert np.mean(res.status == UNDECIDED) <= 0.02
    assert 0.2 < np.mean(res.status == EMPTY) < 0.8
    for i in range(n):
        if res.status[i] == EMPTY:  # a Farkas certificate, checked by hand
            y = res.y[i]
            assert np.all(y >= 0) and ref[i] < -TOL
            assert _bound_by_hand(y, A[i], b[i], lo, hi) < -TOL
            assert res.tau[i] >= ref[i] - 1e-9  # an upper bound of the margin
        elif res.status[i] == WITNESS:  # an interior point, checked on the inequalities
            z = res.z[i]
            assert np.all((z >= lo) & (z <= hi))
            assert np.min(b[i] - A[i] @ z) >= res.tau[i] - 1e-12 and res.tau[i] > 0 and ref[i] >= res.tau[i] - 1e-9
        elif res.status[i] == OPTIMAL:
            assert abs(res.tau[i] - ref[i]) < 1e-8 and ref[i] >= -TOL - 1e-9


def test_rows_left_out_with_infinite_rhs_are_absent():
    rng = np.random.default_rng(3)
    A, b = _programs(rng, 150, 20, 4)
    b[:, ::3] = np.inf
    lo, hi = -np.ones(4), np.ones(4)
    res = max_margins(A, b, lo, hi)
    ref = np.array([_optimum(A[i], b[i], lo, hi) for i in range(150)])
    ok = res.status == OPTIMAL
    assert ok.mean() > 0.98 and np.allclose(res.tau[ok], ref[ok], atol=1e-8)
    assert not res.y[:, ::3].any()
    # every row left out: the margin is 1 (tau <= 1 binds)
    r = max_margins(A[:2], np.full((2, 20), np.inf), lo, hi)
    assert r.status.tolist() == [OPTIMAL, OPTIMAL] and np.allclose(r.tau, 1.0)


def test_a_pivot_cap_leaves_programs_undecided_never_wrong():
    rng = np.random.default_rng(5)
    A, b = _programs(rng, 300, 30, 6)
    b -= 0.5
    lo, hi = -np.ones(6), np.ones(6)
    ref = np.array([_optimum(A[i], b[i], lo, hi) for i in range(300)])
    for cap in (0, 1, 3):
        res = max_margins(A, b, lo, hi, stop_below=-TOL, stop_above=0.0, max_pivots=cap)
        assert (res.status == UNDECIDED).any()
        assert np.all(ref[res.status == EMPTY] < -TOL)
        assert np.all(ref[res.status == WITNESS] > 0)
        assert np.all(np.isnan(res.tau[res.status == UNDECIDED]))


def test_farkas_bound_is_a_valid_upper_bound_for_any_multipliers():
    rng = np.random.default_rng(11)
    A, b = _programs(rng, 60, 10, 3)
    lo, hi = -np.ones(3), np.ones(3)
    ref = np.array([_optimum(A[i], b[i], lo, hi) for i in range(60)])
    y = rng.random((60, 10)) * (rng.random((60, 10)) < 0.5)
    y[0] = 0.0
    bound = farkas_bound(y, A, b, lo, hi)
    assert bound[0] == np.inf
    assert np.all(bound[1:] >= np.minimum(ref[1:], 1.0) - 1e-12)
    assert np.allclose(bound[1:], [_bound_by_hand(y[i], A[i], b[i], lo, hi) for i in range(1, 60)], atol=1e-7)


def test_bad_input_is_refused_with_the_problem_named():
    A, b = np.zeros((2, 3, 2)), np.zeros((2, 3))
    lo, hi = -np.ones(2), np.ones(2)
    with pytest.raises(ValueError, match="shape"):
        max_margins(A, np.zeros((2, 4)), lo, hi)
    bad = A.copy()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        max_margins(bad, b, lo, hi)
    with pytest.raises(ValueError, match="lo <= hi"):
        max_margins(A, b, hi, lo)
    with pytest.raises(ValueError, match="finite"):
        max_margins(A, b, lo, np.array([1.0, np.inf]))
    assert max_margins(np.zeros((0, 3, 2)), np.zeros((0, 3)), lo, hi).status.shape == (0,)


def test_prefix_margins_decides_like_highs_on_random_systems():
    # the engine's use: region sequences of inhibitory ReLU RNNs, some followed by an orbit, some
    # changed in the last step; the dense route and HiGHS agree on every verdict, and every
    # certificate of either verifies by an LP of its own (test_enumeration's oracle)
    from test_enumeration import _empty_by_own_lp
    from test_proven import inhibitory

    from rnnexplore.dynamics.enumeration import PRUNE_TOL, periodic_box, prefix_margins

    rng = np.random.default_rng(2)
    for M, seed, t in [(3, 2, 4), (5, 5, 3), (6, 1, 5)]:
        m = inhibitory(M, seed)
        box = periodic_box(m)
        orbits = m.simulate(rng.uniform(*box, size=(400, M)), t - 1)
        S = np.swapaxes(m._region(orbits), 0, 1).copy()
        S[::2, -1] ^= rng.random((200, M)) < 0.4
        S[1::4] = rng.random((100, t, M)) < 0.5
        t1, z1, s1 = prefix_margins(m, S, box=box, certificates=True)
        t2, z2, s2 = prefix_margins(m, S, box=box, certificates=True, method="highs")
        assert np.array_equal(t1 < -PRUNE_TOL, t2 < -PRUNE_TOL)
        assert 0.2 < np.mean(t1 < -PRUNE_TOL) < 0.9
        wit = t1 > 0
        assert np.all(t2[wit] > 0)  # a witness of the dense route: the margin is positive
        regions = np.swapaxes(m._region(m.simulate(z1[wit], t - 1)), 0, 1)
        assert np.array_equal(regions, S[wit])  # and its orbit follows the sequence
        assert s1[~(t1 < -PRUNE_TOL)].any() == False  # noqa: E712
        for b in np.flatnonzero(s1.any(axis=(1, 2)))[:10]:
            assert _empty_by_own_lp(m, S[b], box)
