"""The batched kernel over stacks of models equals per-model solves; closed forms equal LAPACK."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.models import ALRNN, PLRNN, ClippedShallowPLRNN, ShallowPLRNN, paper_gt16, random_plrnn
from rnnexplore.dynamics.solve import ModelStack, _solve_sequences, solve_region_sequences, solve_stack


def _shallow(rng, M=3, H=5, cls=ShallowPLRNN):
    return cls(0.5 * rng.uniform(-1, 1, M), rng.normal(size=(M, H)), rng.normal(size=(H, M)),
               rng.normal(size=M), rng.normal(size=H))


def _families(seed):
    rng = np.random.default_rng(seed)
    plrnn = random_plrnn(3, seed=seed)
    return [
        ("plrnn", [plrnn, plrnn.with_params({"W[0,1]": 0.3}), plrnn.with_params({"h[2]": -0.5})]),
        ("alrnn", [ALRNN(np.diag(plrnn.A), plrnn.W, plrnn.h, 2), ALRNN(np.diag(plrnn.A), plrnn.W * 0.5, plrnn.h, 2)]),
        ("shallow", [_shallow(rng), _shallow(rng)]),
        ("clipped", [_shallow(rng, cls=ClippedShallowPLRNN), _shallow(rng, cls=ClippedShallowPLRNN)]),
        ("gt16", [paper_gt16(), paper_gt16().with_params({"A[0]": 0.9})]),
    ]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("family", ["plrnn", "alrnn", "shallow", "clipped", "gt16"])
def test_stack_equals_per_model(seed, family):
    models = dict(_families(seed))[family]
    stack = ModelStack.from_models(models)
    rng = np.random.default_rng(seed + 10)
    nb = models[0].n_bits
    B, K = 600, 5
    S = rng.random((B, K, nb)) < 0.5
    lengths = rng.integers(1, K + 1, B)
    pt = rng.integers(0, len(models), B)
    got = solve_stack(stack, S, lengths, points=pt)
    for i, m in enumerate(models):
        sel = pt == i
        ref = _solve_sequences(m, S[sel], lengths[sel])
        for name, a, b in zip(("ok", "real", "Z", "V", "P", "continuum"), got, ref):
            a = a[sel]
            if a.dtype == bool:
                assert np.array_equal(a, b), (family, name)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9, err_msg=f"{family} {name}")


def test_from_params_equals_from_models():
    rng = np.random.default_rng(3)
    base = _shallow(rng)
    vals = {"W1[0,1]": [0.3, -0.7, 2.0], "W2[1,0]": [-0.2, 0.7, 0.1]}
    a = ModelStack.from_params(base, vals)
    models = [base.with_params({k: v[i] for k, v in vals.items()}) for i in range(3)]
    b = ModelStack.from_models(models)
    for name in ("J0", "G", "c0", "g", "L", "l0"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-12, err_msg=name)
    assert a.model(2) == models[2]


def test_small_m_closed_forms_match_an_explicit_solve():
    # oracle written here: products by hand, numpy.linalg.solve, true map by hand
    m = paper_gt16()
    rng = np.random.default_rng(0)
    S = rng.random((200, 3, 2)) < 0.5
    ok, real, Z, V, P, _ = _solve_sequences(m, S)
    for b in range(len(S)):
        Pb, r = np.eye(2), np.zeros(2)
        for d in S[b]:
            J = m.A + m.W * d[None, :]
            Pb, r = J @ Pb, J @ r + m.h
        np.testing.assert_allclose(P[b], Pb, atol=1e-12)
        z = np.linalg.solve(np.eye(2) - Pb, r)
        assert ok[b]
        np.testing.assert_allclose(Z[b, 0], z, rtol=1e-9, atol=1e-12)
        orbit = [z]
        for _ in range(2):
            orbit.append(m.A @ orbit[-1] + m.W @ np.maximum(orbit[-1], 0) + m.h)
        assert real[b] == bool(np.array_equal(np.array(orbit) > 0, S[b]) and
                               np.allclose(m.A @ orbit[-1] + m.W @ np.maximum(orbit[-1], 0) + m.h, z))


def test_large_m_regular_rows_need_no_svd(monkeypatch):
    # at M = 64 the determinant bound overflows; the inverse proves full rank instead
    import rnnexplore.dynamics.solve as solve

    m = random_plrnn(64, seed=1)
    calls = []
    real_svd = np.linalg.svd
    monkeypatch.setattr(solve.np.linalg, "svd", lambda *a, **k: calls.append(1) or real_svd(*a, **k))
    S = np.random.default_rng(0).random((8, 1, 64)) < 0.5
    ok, *_ = _solve_sequences(m, S)
    assert ok.all() and not calls


def test_stack_validation():
    st = ModelStack.from_models([paper_gt16(), paper_gt16()])
    S = np.zeros((2, 1, 2), bool)
    with pytest.raises(ValueError, match="points"):
        solve_region_sequences(st, S)
    with pytest.raises(ValueError, match="points"):
        solve_region_sequences(st, S, points=[0, 5])
    with pytest.raises(ValueError, match="one kind"):
        ModelStack.from_models([paper_gt16(), PLRNN([0.5], [[0.0]], [1.0])])
    with pytest.raises(ValueError, match="non-empty"):
        ModelStack.from_models([])
    sol = solve_region_sequences(st, S, points=[0, 1])
    assert sol.points.shape == (2, 1, 2)


# ------------------------------------------------------------------ reduced fixed-point solves
def _sparse_plrnn(M, seed, diag=True):
    rng = np.random.default_rng(seed)
    A = np.diag(rng.uniform(-0.6, 0.6, M)) if diag else np.zeros((M, M))
    return PLRNN(A, rng.normal(size=(M, M)) / np.sqrt(M), rng.normal(size=M))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_reduced_fixed_points_equal_full_numpy_solves(seed):
    # oracle: numpy.linalg.solve of each region's full M x M system, region checked by hand
    m = _sparse_plrnn(40, seed)
    rng = np.random.default_rng(seed)
    traj = m.simulate(rng.normal(scale=2.0, size=(60, 40)), 15).reshape(-1, 40)
    S = np.unique(m.region(traj), axis=0)[:, None, :]
    S = np.concatenate([S, rng.random((40, 1, 40)) < rng.uniform(0, 1, (40, 1, 1))])  # all sizes of active set
    ok, real, Z, V, P, cont = solve_stack(m, S)
    assert real.any() and not real.all()
    for b in range(len(S)):
        d = S[b, 0]
        J = m.A + m.W * d
        z = np.linalg.solve(np.eye(40) - J, m.h)
        assert ok[b] and not cont[b]
        np.testing.assert_allclose(Z[b, 0], z, rtol=1e-9, atol=1e-9)
        assert real[b] == bool(np.all((z > 0) == d))
        np.testing.assert_array_equal(P[b], J)
    ok2, real2, Z2, _, P2, _ = solve_stack(m, S, real_products=True)
    np.testing.assert_array_equal(real2, real)
    np.testing.assert_array_equal(P2, P[real])


def test_reduced_path_equals_the_generic_kernel(monkeypatch):
    import rnnexplore.dynamics.solve as solve

    m = _sparse_plrnn(30, 5)
    S = np.random.default_rng(5).random((300, 1, 30)) < 0.4
    fast = solve_stack(m, S)
    monkeypatch.setattr(solve, "_REDUCE_MIN_M", 10**9)
    slow = solve_stack(m, S)
    for a, b in zip(fast, slow):
        if a.dtype == bool:
            np.testing.assert_array_equal(a, b)
        else:
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)


def test_reduced_path_brute_force_over_all_regions(monkeypatch):
    # every one of the 2^8 regions: the real ones are exactly the brute-force fixed points
    import rnnexplore.dynamics.solve as solve

    monkeypatch.setattr(solve, "_REDUCE_MIN_M", 1)
    M = 8
    m = _sparse_plrnn(M, 7)
    S = ((np.arange(2**M)[:, None] >> np.arange(M)) & 1).astype(bool)[:, None, :]
    ok, real, Z, *_ = solve_stack(m, S)
    oracle = []
    for d in S[:, 0]:
        z = np.linalg.solve(np.eye(M) - m.A - m.W * d, m.h)
        if np.all((z > 0) == d):
            oracle.append(z)
    assert real.sum() == len(oracle) >= 1
    np.testing.assert_allclose(np.sort(Z[real, 0], axis=0), np.sort(np.array(oracle), axis=0), atol=1e-10)
    for z in Z[real, 0]:  # the exact fixed-point condition
        np.testing.assert_allclose(m.step(z), z, atol=1e-10)


def test_reduced_path_singular_and_continuum(monkeypatch):
    # z' = relu(z) (A = 0, W = I, h = 0): the active orthant is a continuum of fixed points, the
    # all-inactive region holds the isolated fixed point 0; the generic kernel says the same
    import rnnexplore.dynamics.solve as solve

    M = 30
    m = PLRNN(np.zeros(M), np.eye(M), np.zeros(M))
    S = np.zeros((3, 1, M), bool)
    S[1, 0, :5] = True
    S[2, 0, :] = True
    fast = solve_stack(m, S)
    monkeypatch.setattr(solve, "_REDUCE_MIN_M", 10**9)
    slow = solve_stack(m, S)
    for n in (0, 1, 5):  # ok, real, continuum
        np.testing.assert_array_equal(fast[n], slow[n])
    assert fast[0].tolist() == [True, False, False] and fast[5].tolist() == [False, True, True]


def test_eigenvalues_of_the_active_block_equal_numpy():
    from rnnexplore.dynamics.solve import eigenvalues

    rng = np.random.default_rng(3)
    M = 40
    A = np.diag(rng.uniform(-0.9, 0.9, M))
    W = rng.normal(size=(M, M))
    D = rng.random((5, M)) < 0.3
    P = A + W * D[:, None, :]
    got, ref = eigenvalues(P), np.linalg.eigvals(P)
    for g, r in zip(got, ref):
        np.testing.assert_allclose(np.sort_complex(g), np.sort_complex(r), atol=1e-9)
