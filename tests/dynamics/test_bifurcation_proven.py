"""Maps that know which cells are proven complete: sweep(prove=K), BifurcationMap.proven, file format v2."""

from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from rnnexplore.dynamics.bifurcation import BifurcationMap, sweep
from rnnexplore.dynamics.models import PLRNN, paper_gt16


def lozi_family(a0=1.7):
    """x' = a x - 2 a0 relu(x) + y + 1, y' = b x: slopes a (x <= 0) and a - 2 a0 (x > 0); the
    Lozi map at a = a0. Swept over a = A[0,0] and b = A[1,0]."""
    return PLRNN([[a0, 1.0], [0.5, 0.0]], [[-2 * a0, 0.0], [0.0, 0.0]], [1.0, 0.0])


def brute_counts(s_left, s_right, b, K):
    """Periodic orbits of minimal period 1..K of x' = s(x) x + y + 1, y' = b x (s = s_left for
    x <= 0, s_right for x > 0): every binary word solved in plain numpy, real primitive words / k."""
    out = []
    for k in range(1, K + 1):
        w = ((np.arange(2**k)[:, None] >> np.arange(k)) & 1).astype(bool)
        N = len(w)
        P = np.broadcast_to(np.eye(2), (N, 2, 2)).copy()
        r = np.zeros((N, 2))
        for i in range(k):
            J = np.zeros((N, 2, 2))
            J[:, 0, 0], J[:, 0, 1], J[:, 1, 0] = np.where(w[:, i], s_right, s_left), 1.0, b
            P = J @ P
            r = (J @ r[:, :, None])[:, :, 0] + np.array([1.0, 0.0])
        z = np.linalg.solve(np.eye(2) - P, r[:, :, None])[:, :, 0]
        ok = np.ones(N, dtype=bool)
        cur = z.copy()
        for i in range(k):
            ok &= (cur[:, 0] > 0) == w[:, i]
            s = np.where(cur[:, 0] > 0, s_right, s_left)
            cur = np.stack([s * cur[:, 0] + cur[:, 1] + 1.0, b * cur[:, 0]], axis=1)
        ok &= np.max(np.abs(cur - z), axis=1) <= 1e-8 * (1 + np.max(np.abs(z), axis=1))
        prim = np.ones(N, dtype=bool)
        for d in range(1, k):
            if k % d == 0:
                prim &= np.any(np.roll(w, d, axis=1) != w, axis=1)
        n = int(np.sum(ok & prim))
        assert n % k == 0
        out.append(n // k)
    return np.array(out)


A_VALUES = np.linspace(1.55, 1.75, 5)
B_VALUES = np.linspace(0.3, 0.5, 4)
K = 8
WEAK = dict(budget={"restarts": 1, "exhaustive_limit": 0},
            continuation={"probes": 0, "chain_length": 0, "flips": False, "coarse": 2})


def _brute_map():
    return np.array([[brute_counts(a, a - 2 * 1.7, b, K) for b in B_VALUES] for a in A_VALUES])


@pytest.fixture(scope="module")
def maps():
    grid = {"A[0,0]": A_VALUES, "A[1,0]": B_VALUES}
    m = lozi_family()
    return {"weak": sweep(m, grid, K, seed=0, **WEAK), "weak_proven": sweep(m, grid, K, seed=0, prove=K, **WEAK),
            "default": sweep(m, grid, K, seed=0), "proven5": sweep(m, grid, K, seed=0, prove=5)}


def test_proven_cells_equal_brute_force_per_cell(maps):
    want = _brute_map()
    bm = maps["weak_proven"]
    assert bm.cell_proven.all() and (bm.proven_order == K).all()
    assert np.array_equal(bm.counts(), want)
    assert bm.proven_at(0, 0) == {k: "enumerated" for k in range(1, K + 1)}
    assert bm.proven_summary() == f"20 of 20 points proven complete to order {K}"


def test_the_proof_adds_objects_continuation_missed(maps):
    want = _brute_map()
    weak, proven = maps["weak"], maps["weak_proven"]
    assert weak.counts().sum() < want.sum()  # the crippled continuation misses some ...
    assert np.all(weak.counts() <= want)  # ... and finds nothing false
    assert not weak.cell_proven.any()
    assert proven.counts().sum() == want.sum()


def test_every_proven_order_agrees_with_brute_force(maps):
    """Without prove=: the full searches prove some orders at the coarse points; each proven
    (cell, order) has exactly the brute-force count; prove=5 proves orders 1..5 everywhere."""
    want = _brute_map()
    for name in ("default", "proven5", "weak"):
        bm = maps[name]
        sel = bm.proven > 0
        assert np.array_equal(bm.counts()[sel], want[sel]), name
    p5 = maps["proven5"]
    assert (p5.proven_order >= 5).all() and (p5.proven[..., :5] == 1).all()
    assert maps["default"].proven[~maps["default"].full_search].sum() == 0


def test_proven_is_stored_validated_and_old_files_load(maps, tmp_path):
    bm = maps["proven5"]
    path = tmp_path / "m.npz"
    bm.save(path)
    back = BifurcationMap.load(path)
    assert np.array_equal(back.proven, bm.proven) and back.proven.dtype == np.int8
    arrays = {f.name: np.asarray(getattr(bm, f.name)) for f in fields(BifurcationMap)}
    # a file of format v1: derived stability arrays stored, no completeness record
    v1 = {k: v for k, v in arrays.items() if k != "proven"}
    v1.update(magic=np.array("rnnexplore-bifurcation-map-v1"), obj_n_stable=bm.obj_n_stable,
              obj_stability=bm.obj_stability, obj_max_abs_eig=bm.obj_max_abs_eig)
    np.savez(tmp_path / "v1.npz", **v1)
    old = BifurcationMap.load(tmp_path / "v1.npz")
    assert not old.proven.any() and np.array_equal(old.obj_stability, bm.obj_stability)
    bad = dict(v1, obj_n_stable=bm.obj_n_stable + 1)
    np.savez(tmp_path / "v1bad.npz", **bad)
    with pytest.raises(ValueError, match="obj_n_stable does not match obj_eigenvalues"):
        BifurcationMap.load(tmp_path / "v1bad.npz")
    for proven, msg in ((np.full(bm.proven.shape, 7, np.int8), "proven codes"),
                        (bm.proven[..., :3], "proven must be integer codes of shape"),
                        (bm.proven.astype(float), "proven must be integer codes")):
        np.savez(tmp_path / "bad.npz", **dict(arrays, magic=np.array("rnnexplore-bifurcation-map-v2"), proven=proven))
        with pytest.raises(ValueError, match=msg):
            BifurcationMap.load(tmp_path / "bad.npz")
    np.savez(tmp_path / "noproven.npz", **dict(v1, magic=np.array("rnnexplore-bifurcation-map-v2")))
    with pytest.raises(ValueError, match="missing arrays"):
        BifurcationMap.load(tmp_path / "noproven.npz")


def test_derived_stability_is_one_source_of_truth(maps):
    bm = maps["default"]
    mod = np.abs(bm.obj_eigenvalues)
    assert np.array_equal(bm.obj_n_stable, np.sum(mod < 1, axis=1))
    assert np.array_equal(bm.obj_max_abs_eig, mod.max(axis=1))
    want = np.where(np.all(mod < 1, axis=1), "stable", np.where(np.all(mod > 1, axis=1), "unstable", "saddle"))
    assert np.array_equal(bm.obj_stability, want)
    assert {"obj_n_stable", "obj_stability", "obj_max_abs_eig"}.isdisjoint(f.name for f in fields(BifurcationMap))


def test_prove_validation_and_executor_independence():
    from concurrent.futures import ThreadPoolExecutor

    m = paper_gt16()
    grid = {"A[0]": m.get_param("A[0]") + np.linspace(-0.3, 0.3, 6), "A[1]": m.get_param("A[1]") + np.linspace(-0.3, 0.3, 5)}
    with pytest.raises(ValueError, match="prove"):
        sweep(m, grid, 4, prove=5)
    with pytest.raises(ValueError, match="prove"):
        sweep(m, grid, 4, prove=-1)
    kw = dict(seed=1, prove=3, continuation={"tile": 3, "coarse": 2})
    a = sweep(m, grid, 4, **kw)
    with ThreadPoolExecutor(2) as ex:
        b = sweep(m, grid, 4, executor=ex, chunksize=1, **kw)
    for f in fields(BifurcationMap):
        x, y = np.asarray(getattr(a, f.name)), np.asarray(getattr(b, f.name))
        assert x.shape == y.shape and np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"), f.name
    assert (a.proven_order >= 3).all()


def test_prove_on_a_shallow_model_whose_letters_change_over_the_grid():
    """Sweeping h2 moves the hyperplanes of a shallow PLRNN, so the cells (letters) differ
    between points; every proven cell equals a find_cycles search that enumerates all orders."""
    from rnnexplore.dynamics.cycles import find_cycles
    from rnnexplore.dynamics.models import ShallowPLRNN

    rng = np.random.default_rng(3)
    m = ShallowPLRNN(rng.uniform(0.2, 0.8, 2), rng.normal(0, 0.8, (2, 3)), rng.normal(0, 1, (3, 2)),
                     rng.normal(0, 0.3, 2), rng.normal(0, 0.5, 3))
    bm = sweep(m, {"a[0]": np.linspace(0.3, 0.7, 3), "h2[0]": np.linspace(-1, 1, 4)}, 4, seed=0, prove=4)
    assert bm.cell_proven.all()
    for i in range(3):
        for j in range(4):
            cs = find_cycles(bm.model_at(i, j), 4, seed=0, budget={"exhaustive_limit": 10**5})
            assert all(how is not None for how in cs.proven.values())
            assert cs.keys() == bm.cycles_at(i, j).keys(), (i, j)
