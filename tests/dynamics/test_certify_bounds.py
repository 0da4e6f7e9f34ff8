"""The tightened program of :mod:`rnnexplore.dynamics.certify` against brute force written here:
its pre-activation bounds contain every fixed point and 2-cycle in the box, and folding the
stably active / inactive units away never loses a real fixed point (all 2^M regions solved)."""

import itertools

import numpy as np
import pytest

from rnnexplore.dynamics.certify import _Program, certify_box
from rnnexplore.dynamics.models import PLRNN


def multistable(M, seed, n_biased=0):
    """A ReLU RNN z' = W relu(z) + h with self-excitation and cross-inhibition: many fixed points
    (several attractors and the saddles between them), some outside small boxes. The last
    ``n_biased`` units are weakly coupled and strongly biased on or off: the bounds fix them."""
    rng = np.random.default_rng(seed)
    W = 1.3 * np.eye(M) - rng.uniform(0.1, 0.6, (M, M)) * (1 - np.eye(M)) + rng.normal(0, 0.05, (M, M))
    h = rng.uniform(-0.3, 1.0, M)
    if n_biased:
        W[-n_biased:] *= 0.1
        W[:, -n_biased:] *= 0.3
        h[-n_biased:] = rng.choice([-1.0, 1.0], n_biased) * rng.uniform(1.0, 1.5, n_biased)
    return PLRNN(np.zeros(M), W, h)


def brute_fixed_points(m, box):
    """Every fixed point of z' = W relu(z) + h in [-box, box]^M: one linear solve per region."""
    M = m.M
    W, h = np.asarray(m.W), np.asarray(m.h)
    out = []
    for bits in itertools.product([0.0, 1.0], repeat=M):
        D = np.diag(bits)
        IP = np.eye(M) - W @ D
        if abs(np.linalg.det(IP)) < 1e-12:
            continue
        z = np.linalg.solve(IP, h)
        on = np.asarray(bits) > 0
        if np.all(z[on] >= -1e-12) and np.all(z[~on] <= 1e-12) and np.all(np.abs(z) <= box):
            if not any(np.allclose(z, o, atol=1e-9) for o in out):
                out.append(z)
    return out


def brute_two_cycles(m, box):
    """Every 2-cycle point of z' = W relu(z) + h in the box (pairs of regions, plain numpy)."""
    M = m.M
    W, h = np.asarray(m.W), np.asarray(m.h)
    pts = []
    for b1 in itertools.product([0.0, 1.0], repeat=M):
        for b2 in itertools.product([0.0, 1.0], repeat=M):
            D1, D2 = np.diag(b1), np.diag(b2)
            P, r = W @ D2 @ W @ D1, W @ D2 @ h + h
            if abs(np.linalg.det(np.eye(M) - P)) < 1e-12:
                continue
            z1 = np.linalg.solve(np.eye(M) - P, r)
            z2 = W @ np.maximum(z1, 0) + h
            if np.allclose(z1, z2, atol=1e-9):
                continue
            ok = all(np.all((z > 0) == (np.asarray(b) > 0)) for z, b in ((z1, b1), (z2, b2)))
            if ok and np.allclose(W @ np.maximum(z2, 0) + h, z1, atol=1e-9) and np.all(np.abs([z1, z2]) <= box):
                pts += [z for z in (z1, z2) if not any(np.allclose(z, p, atol=1e-9) for p in pts)]
    return pts


@pytest.mark.parametrize("seed", range(8))
def test_tightened_bounds_contain_every_fixed_point(seed):
    M = 4 + seed % 3
    m = multistable(M, seed)
    box = 3.0 if seed % 2 else 10.0
    prog = _Program(m, 1, box)
    fps = brute_fixed_points(m, box)
    assert len(fps) >= 2 and prog.lps > 0
    for z in fps:  # G = I, g = 0: the pre-activations are the states
        assert np.all(z >= prog.slo) and np.all(z <= prog.shi)
        assert np.all(z >= prog.zlo) and np.all(z <= prog.zhi)
        assert np.all(z[prog.on] >= 0) and np.all(z[~prog.on & ~prog.free] <= 0)


@pytest.mark.parametrize("seed", range(4))
def test_tightened_bounds_contain_every_two_cycle(seed):
    m = multistable(3, 100 + seed)
    m = PLRNN(np.zeros(3), -np.asarray(m.W), np.asarray(m.h))  # inhibition flips: period-2 orbits
    prog = _Program(m, 2, 10.0)
    pts = brute_two_cycles(m, 10.0)
    for z in pts:
        assert np.all(z >= prog.slo) and np.all(z <= prog.shi)
    cs = certify_box(m, 2, box=10.0)
    assert cs.proven == {1: "box", 2: "box"}
    assert len(cs.by_order(2)) * 2 == len(pts)


folded: list[int] = []


@pytest.mark.parametrize("seed", range(10))
def test_folding_stable_units_never_loses_a_fixed_point(seed):
    M = 5 + seed % 4
    m = multistable(M, 50 + seed, n_biased=2 + seed % 3)
    box = 2.0 + seed % 3
    fps = brute_fixed_points(m, box)
    prog = _Program(m, 1, box)
    cs = certify_box(m, 1, box=box)  # from nothing: every fixed point must come from the program
    assert cs.proven == {1: "box"}
    assert len(cs) == len(fps)
    for z in fps:
        assert any(np.allclose(c.points[0], z, atol=1e-8) for c in cs)
    folded.append(M - prog.nf)
    # the same certificate with the known objects cut: nothing new
    again = certify_box(m, 1, box=box, cycles=list(cs))
    assert len(again) == len(fps) and again.stats["milp_solves"][1] <= 1  # 0: no point in the box at all


def test_folding_happened():
    """The previous test is only a test of folding if units were folded there."""
    for seed in range(10):
        M = 5 + seed % 4
        prog = _Program(multistable(M, 50 + seed, n_biased=2 + seed % 3), 1, 2.0 + seed % 3)
        folded.append(M - prog.nf)
    assert sum(f > 0 for f in folded) >= 5
