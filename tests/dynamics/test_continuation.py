"""Continuation: canonical keys, the one continuation step, the batched engine on grids.

Oracles: rotations enumerated in the test, brute-force enumeration of every region sequence
at every grid point (:func:`brute_force_cycles`), per-point solves of the reported sequences,
and :func:`classify_events` on per-point object sets.
"""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.bifurcation import sweep
from rnnexplore.dynamics.continuation import (
    ContinuationOptions, canonical_sequences, continuation_step, continue_cycles, objects_from_states,
)
from rnnexplore.dynamics.cycles import CycleSet, brute_force_cycles, find_cycles
from rnnexplore.dynamics.events import classify_events
from rnnexplore.dynamics.models import PLRNN, paper_gt16, random_plrnn, skew_tent
from rnnexplore.dynamics.solve import solve_region_sequences


def test_canonical_sequences_match_enumerated_rotations():
    rng = np.random.default_rng(0)
    # up to 62 bits a sequence is one packed integer; (8, 9) and (3, 40) take the word-wise path
    for k, nb in ((1, 3), (4, 2), (6, 1), (5, 3), (16, 2), (12, 5), (8, 9), (3, 40)):
        S = rng.random((300, k, nb)) < 0.5
        for d in (d for d in range(1, k) if k % d == 0):  # repetitions of shorter sequences
            S[d * 10 : d * 10 + 10] = np.tile(S[d * 10 : d * 10 + 10, :d], (1, k // d, 1))
        canon, shift, prim = canonical_sequences(S)
        for b in range(len(S)):
            rots = [np.roll(S[b], -i, axis=0) for i in range(k)]
            best = min(range(k), key=lambda i: (rots[i].tobytes(), i))
            assert canon[b].tobytes() == rots[best].tobytes() and shift[b] == best
            assert prim[b] == all(rots[i].tobytes() != S[b].tobytes() for i in range(1, k))


def test_continue_cycles_and_step_on_the_skew_tent():
    cs = find_cycles(skew_tent(0.2, -1.5, 1.0), 2, seed=0)
    new, ok = continue_cycles(skew_tent(0.2, -1.6, 1.0), cs)
    assert ok and [c.key for c in new] == ["1", "0|1"]
    # closed form: 2-cycle {mu(1 + a_r)/(1 - a_l a_r), mu(1 + a_l)/(1 - a_l a_r)}
    a_l, a_r = 0.2, -1.6
    np.testing.assert_allclose(sorted(new[1].points[:, 0]), [(1 + a_r) / (1 - a_l * a_r), (1 + a_l) / (1 - a_l * a_r)])
    # past a_r = -1 the 2-cycle is gone; the step reports the fixed point only
    gone, ok = continue_cycles(skew_tent(0.2, -0.9, 1.0), cs)
    assert not ok and [c.key for c in gone] == ["1"]
    step = continuation_step(skew_tent(0.2, -0.9, 1.0), cs, 2, seed=0, budget=False)
    assert step.keys() == {"1"} and step.stats["continued"] == 1


def test_step_follows_a_border_collision_without_a_search():
    # a_l = a_r = 0.5: the fixed point 2 mu moves through the border z = 0 as mu changes sign;
    # the continued sequence "1" turns virtual and its bit flip "0" is the persisting object
    m0, m1 = skew_tent(0.5, 0.5, 0.01), skew_tent(0.5, 0.5, -0.01)
    step = continuation_step(m1, find_cycles(m0, 1, seed=0), 1, budget=False)
    assert step.keys() == {c.key for c in brute_force_cycles(m1, 1)} == {"0"}
    np.testing.assert_allclose(step[0].points[0, 0], -0.02)
    assert step.stats["continued"] == 0


def test_objects_from_states_finds_every_fixed_point_of_a_cube():
    # z' = W relu(z) + h with three independent bistable units: 8 stable fixed points and
    # 19 saddles/repellers (each unit: two stable states and an unstable one between)
    M = 3
    W = 2.0 * np.eye(M)
    m = PLRNN(np.zeros(M), W, -0.5 * np.ones(M))
    ref = {c.key for c in brute_force_cycles(m, 1)}
    rng = np.random.default_rng(0)
    traj = m.simulate(rng.normal(scale=2.0, size=(200, M)), 10)
    got = objects_from_states(m, traj, 1)
    assert {c.key for c in got} == ref


def _oracle_sets(bm, max_order):
    out = {}
    for i in range(bm.shape[0]):
        for j in range(bm.shape[1]):
            m = bm.model_at(i, j)
            out[(i, j)] = CycleSet([c for k in range(1, max_order + 1) for c in brute_force_cycles(m, k)])
    return out


@pytest.mark.parametrize("seed", [1, 4, 7])
def test_batched_map_equals_per_point_enumeration(seed):
    m = random_plrnn(2, seed=seed, rich=True)
    grid = {"A[0]": m.get_param("A[0]") + np.linspace(-0.3, 0.3, 7), "A[1]": m.get_param("A[1]") + np.linspace(-0.3, 0.3, 6)}
    K = 4
    bm = sweep(m, grid, K, seed=0, continuation={"coarse": 3})
    ref = _oracle_sets(bm, K)
    for (i, j), cs in ref.items():
        got = bm.cycles_at(i, j)
        assert got.keys() == cs.keys(), (i, j)
        model = bm.model_at(i, j)
        by_key = {c.key: c for c in cs}
        for c in got:  # the batched points and eigenvalues are those of a per-point solve
            sol = solve_region_sequences(model, c.regions[None])
            assert sol.real[0]
            np.testing.assert_allclose(c.points, sol.points[0], rtol=1e-10, atol=1e-12)
            np.testing.assert_allclose(c.eigenvalues, by_key[c.key].eigenvalues, atol=1e-9)
    # events: exactly classify_events of the per-point sets, neighbour by neighbour
    want = []
    n0, n1 = bm.shape
    for i in range(n0):
        for j in range(n1):
            for q in ((i + 1, j), (i, j + 1)):
                if q[0] < n0 and q[1] < n1:
                    a, b = ref[(i, j)], ref[q]
                    if {(c.key, c.n_stable) for c in a} != {(c.key, c.n_stable) for c in b}:
                        evs = classify_events(a, b, models=(bm.model_at(i, j), bm.model_at(*q)))
                        want.extend(((i, j), q, e.kind, e.order) for e in evs)
    got = [(tuple(a), tuple(b), e.kind, e.order) for a, b, e in bm.events()]
    assert sorted(got) == sorted(want)


def _diagonal_model():
    # fixed point of region (1, 1): z = M^-1 h with M^-1 = [[1, -1], [-1, 1.001]], so it exists
    # iff y < x < 1.001 y for h = (x, y): a band thinner than the grid step along the diagonal
    Minv = np.array([[1.0, -1.0], [-1.0, 1.001]])
    W = np.eye(2) - np.linalg.inv(Minv)
    return PLRNN(np.zeros(2), W, [1.0, 1.0])


@pytest.mark.parametrize("tile", [None, 3])
def test_object_on_diagonal_grid_points_only_is_not_missed(tile):
    m = _diagonal_model()
    y = 1.0 + 0.1 * np.arange(7)
    grid = {"h[0]": y + 0.0005, "h[1]": y}
    # one full search, at (0, 0); no probes: only continuation can reach the other points
    bm = sweep(m, grid, 1, seed=0, continuation={"coarse": 100, "probes": 0, "tile": tile})
    assert bm.full_search.sum() == 1
    for i in range(7):
        for j in range(7):
            oracle = {c.key for c in brute_force_cycles(bm.model_at(i, j), 1)}
            assert ("11" in oracle) == (i == j)  # the band holds the diagonal points only
            assert ("11" in bm.cycles_at(i, j).keys()) == (i == j), (i, j)


def test_options_validation():
    with pytest.raises(ValueError, match="chain_length"):
        ContinuationOptions(chain_length=-1)
    with pytest.raises(ValueError, match="continuation options"):
        ContinuationOptions.coerce({"bogus": 1})
    with pytest.raises(ValueError, match="continuation"):
        ContinuationOptions.coerce(3)
    with pytest.raises(ValueError, match="max_order"):
        continuation_step(paper_gt16(), None, 0)
    with pytest.raises(ValueError, match="states"):
        objects_from_states(paper_gt16(), np.zeros((3, 5)))


def test_objects_from_states_relaxed_finds_every_fixed_point_of_a_wide_network():
    # 3 coupled units (brute force: every one of their 2^3 regions) + 21 units that decay to
    # z = -1 whatever the rest does: the fixed points are the 3-unit ones times (-1, ..., -1);
    # M = 24 takes the reduced k x k solves
    rng = np.random.default_rng(4)
    small = PLRNN(np.zeros(3), 2.0 * np.eye(3) + 0.3 * rng.normal(size=(3, 3)), -0.5 * np.ones(3))
    M = 24
    W = np.zeros((M, M))
    W[:3, :3] = small.W
    W[3:, 3:] = 0.5 * np.eye(M - 3)
    W[3:, :3] = rng.normal(size=(M - 3, 3))  # the decaying units listen to the first three...
    h = np.r_[small.h, -11.0 * np.ones(M - 3)]  # ...but stay inactive wherever those are bounded
    m = PLRNN(np.zeros(M), W, h)
    ref = {c.key for c in brute_force_cycles(small, 1)}
    starts = rng.normal(scale=1.0, size=(300, M))
    got = objects_from_states(m, starts, 1, relax=3)
    assert len(got) == len(ref) >= 4
    for c in got:
        z = c.points[0]
        np.testing.assert_allclose(m.step(z), z, atol=1e-10)  # the exact fixed-point condition
        assert np.all(z[3:] < 0) and c.key[3:] == "0" * (M - 3)
    assert {c.key[:3] for c in got} == ref
    with pytest.raises(ValueError, match="relax"):
        objects_from_states(m, starts, 1, relax=-1)
