"""Box certificates (mixed-integer programs): missing objects come back, planted ones are found,
a box that excludes an object leaves it out and still proves the rest."""

import numpy as np
import pytest

from test_cycles import _keys, _same_orbit, naive_cycles

from rnnexplore.dynamics.certify import certify_box, propagate_bounds, relu_form
from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import (
    ALRNN,
    ClippedShallowPLRNN,
    PLRNN,
    ShallowPLRNN,
    paper_gt16,
    random_plrnn,
)


def planted(M=10, c=0.053, h=-0.5):
    """z' = 0.5 z + c 1 1^T relu(z) + h: a stable fixed point at 2h = -1 (all off) and a planted
    unstable one with every unit on at 2h / (1 - 2 c M) = 16.7; no region with m < M units on
    holds a fixed point (on and off units would need the same value), so the region updates of
    the heuristic funnel every chain to the all-off point."""
    return PLRNN(np.full(M, 0.5), np.full((M, M), c), np.full(M, h))


@pytest.mark.parametrize("make", [
    lambda rng: PLRNN(rng.normal(0, 0.6, (2, 2)), rng.normal(0, 1.0, (2, 2)), rng.normal(0, 1, 2)),
    lambda rng: ALRNN(rng.normal(0, 0.6, (3, 3)), rng.normal(0, 1.0, (3, 3)), rng.normal(0, 1, 3), n_relu=2),
    lambda rng: ShallowPLRNN(rng.uniform(0.1, 0.9, 2), rng.normal(size=(2, 3)), rng.normal(size=(3, 2)),
                             rng.normal(size=2), rng.normal(size=3)),
    lambda rng: ClippedShallowPLRNN(rng.uniform(0.1, 0.9, 2), rng.normal(size=(2, 2)), rng.normal(size=(2, 2)),
                                    rng.normal(size=2), rng.normal(size=2)),
])
def test_relu_form_reproduces_the_map(make):
    rng = np.random.default_rng(0)
    m = make(rng)
    L, C, G, g, h0 = relu_form(m)
    z = rng.normal(scale=3.0, size=(50, m.M))
    np.testing.assert_allclose(z @ L.T + np.maximum(z @ G.T + g, 0) @ C.T + h0, m.step(z), atol=1e-12)


def test_bounds_contain_every_periodic_point():
    for m, tight in ((random_plrnn(3, seed=1), True), (random_plrnn(3, seed=1, rich=True), False)):
        lo, hi = propagate_bounds(m, 50.0)
        if tight:  # a contracting map: its image of the box is much smaller than the box
            assert np.all(hi - lo < 20.0)
        for c in find_cycles(m, 4, seed=0):
            assert np.all(c.points >= lo - 1e-9) and np.all(c.points <= hi + 1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_certificate_equals_the_naive_oracle(seed):
    m = random_plrnn(2, seed=300 + seed, rich=seed % 2 == 1)
    cs = certify_box(m, 3, box=100.0)
    assert cs.proven == {1: "box", 2: "box", 3: "box"}
    for k in (1, 2, 3):
        naive = [o for o in naive_cycles(m, k) if np.all(np.abs(o) <= 100.0)]
        got = cs.by_order(k)
        assert len(got) == len(naive)
        assert all(any(_same_orbit(o, c.points) for c in got) for o in naive)


def test_a_removed_object_comes_back():
    m = random_plrnn(2, seed=1, rich=True)
    full = find_cycles(m, 4, seed=0)
    assert full.proven == {k: "enumerated" for k in range(1, 5)}
    for drop in (full.by_order(1)[0], full.by_order(4)[-1]):
        rest = [c for c in full if c is not drop]
        cs = certify_box(m, 4, box=50.0, cycles=rest)
        assert _keys(cs) == _keys(full)
        assert drop.key in _keys(cs.by_order(drop.order))
        assert cs.proven == {k: "box" for k in range(1, 5)}


def test_planted_fixed_point_outside_the_heuristics_reach_is_found():
    m = planted()
    heur = find_cycles(m, 1, seed=0, budget={"exhaustive_limit": 0, "restarts": 3, "trajectories": 4})
    assert len(heur) == 1 and heur[0].points[0, 0] == pytest.approx(-1.0)  # only the attractor
    cs = certify_box(m, 1, box=50.0, cycles=heur)
    assert len(cs) == 2 and cs.proven == {1: "box"}
    (new,) = [c for c in cs if c.key not in _keys(heur)]
    np.testing.assert_allclose(new.points[0], np.full(10, -1.0 / (1 - 2 * 0.053 * 10)), rtol=1e-10)
    assert new.stability == "saddle" or new.stability == "unstable"
    np.testing.assert_allclose(m.step(new.points[0]), new.points[0], atol=1e-10)


def test_box_that_excludes_an_object_leaves_it_out_and_proves_the_rest():
    m = planted()
    cs = certify_box(m, 2, box=10.0)  # the planted point sits at 16.7
    assert [c.points[0, 0] for c in cs] == pytest.approx([-1.0])
    assert cs.proven == {1: "box", 2: "box"} and cs.stats["box"] == 10.0
    assert "[-10.0, 10.0]^M" in cs.summary()[0]


def test_gt16_fixed_point_and_low_orders():
    cs = certify_box(paper_gt16(), 3, box=20.0)
    ref = find_cycles(paper_gt16(), 3, seed=0)
    assert _keys(cs) == _keys(ref) and cs.proven == {1: "box", 2: "box", 3: "box"}


def test_bad_arguments():
    m = paper_gt16()
    for kwargs in ({"box": -1.0}, {"box": "3"}, {"box": 1.0, "time_limit": -1.0}):
        with pytest.raises(ValueError):
            certify_box(m, 1, **kwargs)
    with pytest.raises(ValueError, match="max_order"):
        certify_box(m, 0, box=1.0)
    with pytest.raises(ValueError, match="cycles"):
        certify_box(m, 1, box=1.0, cycles=[1, 2])
