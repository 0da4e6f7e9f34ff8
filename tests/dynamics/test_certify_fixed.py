"""The fixed-point program with the state eliminated (:class:`_FixedPointProgram`) against brute
force written here (one linear solve per region, all 2^M regions, plain numpy): its bounds and its
rows hold at every fixed point in the box, units with ``W~_ii < 1``, ``> 1`` and ``= 1`` included;
a singular ``I - L`` falls back to the state program; removed objects come back; a box that
excludes an object leaves it out and proves the rest."""

import itertools

import numpy as np
import pytest

from rnnexplore.dynamics.certify import _certify_order, _FixedPointProgram, _make_program, _Program, certify_box
from rnnexplore.dynamics.models import PLRNN


def mixed(M, seed, diag=(0.6, 1.6), exact_one=False):
    """z' = A z + W relu(z) + h with a full linear part A: W~ = (I - A)^{-1} W has diagonal
    entries on both sides of 1 (self-excited bistable units and weakly excited ones);
    ``exact_one``: unit 0 gets W~_00 = 1 in exact arithmetic (A = 0.5 I there, W_00 = 0.5)."""
    rng = np.random.default_rng(seed)
    A = 0.5 * np.eye(M) + rng.normal(0, 0.05, (M, M)) * (1 - np.eye(M))
    W = np.diag(rng.uniform(*diag, M) * 0.5) - rng.uniform(0.0, 0.3, (M, M)) * (1 - np.eye(M))
    h = rng.uniform(-0.2, 0.5, M)
    if exact_one:
        A[0], A[:, 0] = 0.0, 0.0
        A[0, 0] = 0.5
        W[0, 0] = 0.5
    return PLRNN(A, W, h)


def brute_fixed_points(m, box):
    """Every fixed point of z' = A z + W relu(z) + h in [-box, box]^M (isolated ones)."""
    M, A, W, h = m.M, np.asarray(m.A), np.asarray(m.W), np.asarray(m.h)
    out = []
    for bits in itertools.product([0.0, 1.0], repeat=M):
        T = np.eye(M) - A - W @ np.diag(bits)
        if abs(np.linalg.det(T)) < 1e-12:
            continue
        z = np.linalg.solve(T, h)
        on = np.asarray(bits) > 0
        if np.all(z[on] >= -1e-12) and np.all(z[~on] <= 1e-12) and np.all(np.abs(z) <= box):
            if not any(np.allclose(z, o, atol=1e-9) for o in out):
                out.append(z)
    return out


def w_tilde_diag(m):
    A, W = np.asarray(m.A), np.asarray(m.W)
    return np.diag(np.linalg.solve(np.eye(m.M) - A, W))


def feasible(prog, x, tol=1e-7):
    """x satisfies every row and variable bound of the program."""
    Amat, rlo, rhi, vlo, vhi, _, _ = prog.program()
    r = Amat @ x
    return bool(np.all(r >= rlo - tol) and np.all(r <= rhi + tol) and np.all(x >= vlo - tol) and np.all(x <= vhi + tol))


@pytest.mark.parametrize("seed", range(10))
def test_fixed_point_program_equals_brute_force(seed):
    M = 4 + seed % 4
    m = mixed(M, seed, exact_one=seed % 3 == 0)
    wd = w_tilde_diag(m)
    box = 3.0 + seed % 3
    fps = brute_fixed_points(m, box)
    prog = _make_program(m, 1, box)
    assert isinstance(prog, _FixedPointProgram)
    assert np.all(prog.tform == (wd < 1 - 1e-9))  # the t-form exactly where W~_ii < 1
    for z in fps:  # bounds and rows hold at every fixed point, before any cut
        y = np.maximum(z, 0)
        assert np.all(y >= prog.ylo) and np.all(y <= prog.yhi)
        x = np.concatenate([y, (z > 0)[prog.free].astype(float)])
        assert feasible(prog, x)
    cs = certify_box(m, 1, box=box)  # from nothing: every fixed point must come from the program
    assert cs.proven == {1: "box"}
    assert len(cs) == len(fps)
    for z in fps:
        assert any(np.allclose(c.points[0], z, atol=1e-8) for c in cs)


def test_the_family_covers_every_kind_of_unit():
    """The previous test sees W~_ii < 1, > 1 and exactly 1, and systems with several fixed points."""
    kinds, counts = set(), []
    for seed in range(10):
        m = mixed(4 + seed % 4, seed, exact_one=seed % 3 == 0)
        wd = w_tilde_diag(m)
        kinds |= {"<1" for v in wd if v < 1 - 1e-9} | {">1" for v in wd if v > 1 + 1e-9}
        kinds |= {"=1" for v in wd if v == 1.0}
        counts.append(len(brute_fixed_points(m, 3.0 + seed % 3)))
    assert kinds == {"<1", ">1", "=1"}
    assert sum(c >= 2 for c in counts) >= 6 and max(counts) >= 5


def test_singular_linear_part_falls_back_to_the_state_program():
    m = mixed(4, 3)
    A = np.asarray(m.A).copy()
    A[1], A[:, 1] = 0.0, 0.0
    A[1, 1] = 1.0  # z_1' = z_1 + W_1 relu(z) + h_1: I - L singular
    ms = PLRNN(A, m.W, m.h)
    assert isinstance(_make_program(ms, 1, 4.0), _Program)
    cs = certify_box(ms, 1, box=4.0)
    fps = brute_fixed_points(ms, 4.0)
    assert cs.proven == {1: "box"} and len(cs) == len(fps)
    for z in fps:
        assert any(np.allclose(c.points[0], z, atol=1e-8) for c in cs)


def test_eliminated_and_state_programs_agree():
    """The fixed-point program and the state program (``eliminate=False``) prove the same set."""
    for seed in range(4):
        m = mixed(6, 20 + seed)
        new, proven, _, _ = _certify_order(m, 1, 4.0, {}, None)
        old, proven0, _, _ = _certify_order(m, 1, 4.0, {}, None, eliminate=False)
        assert proven == proven0 == "box"
        assert sorted(c.key for c in new) == sorted(c.key for c in old)
        assert len(new) == len(brute_fixed_points(m, 4.0))


def test_a_removed_fixed_point_comes_back():
    m = mixed(7, 4)
    full = certify_box(m, 1, box=5.0)
    assert len(full) >= 3
    for drop in full:
        rest = [c for c in full if c is not drop]
        cs = certify_box(m, 1, box=5.0, cycles=rest)
        assert sorted(c.key for c in cs) == sorted(c.key for c in full) and cs.proven == {1: "box"}


def test_box_that_excludes_a_fixed_point_leaves_it_out():
    m = mixed(7, 4)
    fps = brute_fixed_points(m, 50.0)
    far = max(fps, key=lambda z: np.max(np.abs(z)))
    box = 0.5 * (np.max(np.abs(far)) + max(np.max(np.abs(z)) for z in fps if np.max(np.abs(z)) < np.max(np.abs(far))))
    inside = [z for z in fps if np.max(np.abs(z)) <= box]
    assert 0 < len(inside) < len(fps)
    cs = certify_box(m, 1, box=box)
    assert cs.proven == {1: "box"} and len(cs) == len(inside)
    assert not any(np.allclose(c.points[0], far, atol=1e-8) for c in cs)


def test_probes_never_fix_a_unit_against_an_unknown_fixed_point():
    """Hide one brute-force fixed point, probe with the others known (and cut): every unit a probe
    fixes has the hidden point's sign; over the seeds some units are fixed."""
    n_forced = 0
    for seed in range(8):
        m = mixed(6 + seed % 2, 40 + seed)
        fps = brute_fixed_points(m, 4.0)
        if len(fps) < 2:
            continue
        for hide in range(len(fps)):
            known = np.array([z > 0 for i, z in enumerate(fps) if i != hide])
            prog = _make_program(m, 1, 4.0)
            for r in known:
                prog.cut(r[None])
            prog.probe(known)
            z = fps[hide]
            assert not prog.empty
            assert np.all(z[prog.forced > 0] >= -1e-12) and np.all(z[prog.forced < 0] <= 1e-12)
            n_forced += int(np.sum(prog.forced != 0))
    assert n_forced >= 10, n_forced
