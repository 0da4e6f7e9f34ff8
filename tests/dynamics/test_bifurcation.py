"""Tests of rnnexplore.dynamics.bifurcation: event classification, sweeps, continuation, curves."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.events import EVENT_KINDS, BifurcationEvent, classify_events
from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import border_collision_normal_form, skew_tent


def _events(m0, m1, *, models=True, max_order=4):
    c0 = find_cycles(m0, max_order, seed=0)
    c1 = find_cycles(m1, max_order, seed=0)
    return [(e.order, e.kind) for e in classify_events(c0, c1, models=(m0, m1) if models else None)]


# --------------------------------------------------------------------------- classify_events
@pytest.mark.parametrize("models", [True, False])
def test_skew_tent_dtb_at_ar_one(models):
    # fixed point mu/(1 - a_r) escapes to +inf as a_r -> 1 (eigenvalue a_r through +1)
    assert _events(skew_tent(0.2, 0.95, 1.0), skew_tent(0.2, 1.05, 1.0), models=models) == [
        (1, "degenerate_transcritical")
    ]
    assert _events(skew_tent(0.2, 1.05, 1.0), skew_tent(0.2, 0.95, 1.0), models=models) == [
        (1, "degenerate_transcritical")
    ]


@pytest.mark.parametrize("models", [True, False])
def test_skew_tent_flip_at_ar_minus_one(models):
    # a_r through -1: the fixed point (eigenvalue a_r) changes stability, the 2-cycle
    # (exists for a_r < -1 with a_l a_r < 1) appears / disappears
    fwd = classify_events(
        find_cycles(skew_tent(0.2, -0.95, 1.0), 2, seed=0),
        find_cycles(skew_tent(0.2, -1.05, 1.0), 2, seed=0),
        models=(skew_tent(0.2, -0.95, 1.0), skew_tent(0.2, -1.05, 1.0)) if models else None,
    )
    assert [(e.order, e.kind) for e in fwd] == [(1, "degenerate_flip"), (2, "degenerate_flip")]
    fp, cyc = fwd
    assert (fp.stability_before, fp.stability_after) == ("stable", "unstable")
    assert fp.key_before == fp.key_after == "1"
    assert cyc.key_before is None and cyc.key_after == "0|1" and cyc.stability_after == "stable"
    back = _events(skew_tent(0.2, -1.05, 1.0), skew_tent(0.2, -0.95, 1.0), models=models)
    assert back == [(1, "degenerate_flip"), (2, "degenerate_flip")]


@pytest.mark.parametrize("models", [True, False])
def test_normal_form_two_cycle_dtb_and_flip(models):
    # the normal form's 2-cycle has eigenvalue ~0.997 at a_l = -0.48 and ~-0.94 at a_l = 0.5
    assert _events(border_collision_normal_form(-0.47), border_collision_normal_form(-0.52), models=models) == [
        (2, "degenerate_transcritical")
    ]
    ev = _events(border_collision_normal_form(0.5), border_collision_normal_form(0.6), models=models)
    assert (2, "degenerate_flip") in ev
    # the saddle fixed point (0.107, 0.066875) does not change
    assert all(order != 1 for order, _ in ev)


@pytest.mark.parametrize("models", [True, False])
def test_border_collision_persistence(models):
    # a_l = a_r = 0.5: the fixed point mu/0.5 moves continuously through the border z = 0
    ev = classify_events(
        find_cycles(skew_tent(0.5, 0.5, 0.01), 1, seed=0),
        find_cycles(skew_tent(0.5, 0.5, -0.01), 1, seed=0),
        models=(skew_tent(0.5, 0.5, 0.01), skew_tent(0.5, 0.5, -0.01)) if models else None,
    )
    assert len(ev) == 1
    assert (ev[0].kind, ev[0].key_before, ev[0].key_after) == ("border_collision", "1", "0")


@pytest.mark.parametrize("models", [True, False])
def test_pair_creation_and_annihilation(models):
    # a_l = 0.5, a_r = 2: for mu < 0 a stable fixed point 2 mu (left) and an unstable one -mu
    # (right) exist; both meet at the border as mu -> 0 and vanish for mu > 0
    m_neg, m_pos = skew_tent(0.5, 2.0, -0.01), skew_tent(0.5, 2.0, 0.01)
    assert _events(m_pos, m_neg, models=models) == [(1, "pair_creation")] * 2
    assert _events(m_neg, m_pos, models=models) == [(1, "pair_annihilation")] * 2


def test_no_change_no_events():
    c = find_cycles(border_collision_normal_form(0.0), 4, seed=0)
    assert classify_events(c, find_cycles(border_collision_normal_form(0.01), 4, seed=1)) == []
    assert classify_events([], []) == []


def test_event_roundtrip_and_validation():
    e = BifurcationEvent("death", 1, "1", None, "x", "stable", None)
    assert BifurcationEvent.from_dict(e.to_dict()) == e
    with pytest.raises(ValueError, match="kind"):
        BifurcationEvent("explosion", 1, None, None, "")
    with pytest.raises(ValueError, match="before"):
        classify_events([1, 2], [])
    with pytest.raises(ValueError, match="tol"):
        classify_events([], [], tol=-1)
    with pytest.raises(ValueError, match="models"):
        classify_events([], [], models=(1,))
    assert set(EVENT_KINDS) >= {"birth", "neimark_sacker"}


def test_neimark_sacker_complex_pair():
    from rnnexplore.dynamics.models import PLRNN

    def rot(r, th=1.0):  # linear part r * rotation: a complex pair of modulus r
        A = r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        return PLRNN(A, np.zeros((2, 2)), [1.0, 0.2])

    m0, m1 = rot(0.95), rot(1.05)
    c0, c1 = find_cycles(m0, 1, seed=0), find_cycles(m1, 1, seed=0)
    assert c0.keys() == c1.keys()  # the same fixed point on both sides
    ev = classify_events(c0, c1, models=(m0, m1))
    assert [(e.order, e.kind, e.stability_before, e.stability_after) for e in ev] == [
        (1, "neimark_sacker", "stable", "unstable")
    ]


# --------------------------------------------------------------------------- sweeps
from rnnexplore.dynamics.bifurcation import BifurcationMap, check_grid, sweep  # noqa: E402
from rnnexplore.dynamics.models import paper_gt16  # noqa: E402

A_L = 0.2
AR_1D = np.linspace(-1.95, 1.95, 40)  # step 0.1, never exactly on +-1


@pytest.fixture(scope="module")
def tent_1d():
    # skew tent: W[0,0] = a_r - a_l
    return sweep(skew_tent(A_L, 0.0, 1.0), {"W[0,0]": AR_1D - A_L}, 2, seed=0)


def test_skew_tent_1d_bifurcation_values(tent_1d):
    step = 0.1
    bv1 = tent_1d.bifurcation_values(orders=1)
    assert set(bv1) == {"degenerate_transcritical", "degenerate_flip"}
    assert np.all(np.abs(bv1["degenerate_transcritical"] + A_L - 1.0) <= step)
    assert np.all(np.abs(bv1["degenerate_flip"] + A_L + 1.0) <= step)
    bv2 = tent_1d.bifurcation_values(orders=2)
    assert set(bv2) == {"degenerate_flip"} and np.all(np.abs(bv2["degenerate_flip"] + A_L + 1.0) <= step)


def test_skew_tent_1d_diagram_matches_closed_form(tent_1d):
    d = tent_1d.diagram()
    a_r = d["param"] + A_L
    fp = d["order"] == 1
    np.testing.assert_allclose(np.unique(d["param"][fp]) + A_L, AR_1D[AR_1D < 1])  # fixed point iff a_r < 1
    np.testing.assert_allclose(d["z"][fp], 1.0 / (1.0 - a_r[fp]))
    assert np.all((d["stability"][fp] == "stable") == (np.abs(a_r[fp]) < 1))
    two = d["order"] == 2
    np.testing.assert_allclose(np.unique(d["param"][two]) + A_L, AR_1D[AR_1D < -1])  # 2-cycle iff a_r < -1 here
    lo = (1 + a_r[two]) / (1 - A_L * a_r[two])
    hi = (1 + A_L) / (1 - A_L * a_r[two])
    assert np.all(np.isclose(d["z"][two], lo) | np.isclose(d["z"][two], hi))
    assert np.all(d["stability"][two] == "stable")
    # one track per branch: the fixed point and the 2-cycle
    assert len(np.unique(d["track"][fp])) == 1 and len(np.unique(d["track"][two])) == 1
    # orbit diagram: settles on the stable fixed point for |a_r| < 1, on the 2-cycle below -1
    orb = tent_1d.orbit[..., 0]
    for n, a in enumerate(AR_1D):
        if abs(a) < 0.9:
            np.testing.assert_allclose(orb[n], 1 / (1 - a), atol=1e-6)
        elif a < -1.05:
            targets = np.array([(1 + a) / (1 - A_L * a), (1 + A_L) / (1 - A_L * a)])
            assert np.all(np.min(np.abs(orb[n][:, None] - targets), axis=1) < 1e-6)
        elif a > 1.05:
            assert np.all(np.isnan(orb[n]))  # every orbit escapes


def _near_curve(pts, curve, steps):
    """Normalised max-norm distance of each point to a densely sampled curve."""
    d = np.abs(pts[:, None, :] - curve[None, :, :]) / np.asarray(steps)
    return np.min(np.max(d, axis=2), axis=1)


def test_skew_tent_2d_analytic_curves_within_one_step():
    al = np.linspace(-0.85, 0.85, 18)  # step 0.1
    w = np.linspace(-2.97, 1.93, 50)  # step 0.1; a_r = a_l + w never hits +-1
    bm = sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": al, "W[0,0]": w}, 2, seed=0)
    steps = (0.1, 0.1)
    s = np.linspace(-1, 1, 4001)
    # analytic curves in the swept coordinates (a_l, w = a_r - a_l)
    line = lambda ar: np.c_[s, ar - s]  # a_r = const  # noqa: E731
    neg = s[s < -0.05]
    pos = s[s > 0.05]
    expected = {
        ("degenerate_transcritical", 1): [line(1.0)],  # a_r = 1
        ("degenerate_flip", 1): [line(-1.0)],  # a_r = -1
        ("degenerate_transcritical", 2): [np.c_[neg, 1 / neg - neg]],  # a_l = 1 / a_r
        ("degenerate_flip", 2): [line(-1.0), np.c_[pos, -1 / pos - pos]],  # birth; a_l = -1 / a_r
    }
    for (kind, order), curves in expected.items():
        segs = bm.curves(kinds=kind, orders=order)[kind].reshape(-1, 2)
        ref = np.concatenate(curves)
        ref = ref[(ref[:, 1] >= w[0]) & (ref[:, 1] <= w[-1]) & (ref[:, 0] >= al[0]) & (ref[:, 0] <= al[-1])]
        assert np.all(_near_curve(segs, ref, steps) <= 1.0), (kind, order)
        # and every analytic curve is recovered (sampled where the object exists on one side)
        for c in curves:
            inside = c[(c[:, 0] > al[0] + 0.1) & (c[:, 0] < al[-1] - 0.1) & (c[:, 1] > w[0] + 0.1) & (c[:, 1] < w[-1] - 0.1)]
            if kind == "degenerate_flip" and order == 2 and c is curves[0]:
                inside = inside[inside[:, 0] * (inside[:, 0] + inside[:, 1]) < 1]  # 2-cycle exists there
            if kind == "degenerate_transcritical" and order == 2:
                inside = inside[inside[:, 0] + inside[:, 1] < -1.1]
            assert np.all(_near_curve(inside[::50], segs, steps) <= 1.0), (kind, order)
    # nothing else happens in this window up to order 2 except border collisions
    assert set(bm.ev_kind.tolist()) <= {"degenerate_transcritical", "degenerate_flip", "border_collision"}


def _gt16_grid(n, lo=-1.0, hi=1.0):
    m = paper_gt16()
    g = np.linspace(lo, hi, n)
    return m, {"A[0]": m.get_param("A[0]") + g, "A[1]": m.get_param("A[1]") + g}


def test_continuation_misses_nothing_a_full_search_finds():
    m, grid = _gt16_grid(13)
    bm = sweep(m, grid, 16, seed=0, continuation={"coarse": 4})
    assert bm.full_search.sum() == 16  # the coarse sub-grid only
    assert np.all(bm.n_objects() >= 1)
    rng = np.random.default_rng(7)
    for n in range(12):
        i, j = (int(x) for x in rng.integers(0, 13, 2))
        ref = find_cycles(bm.model_at(i, j), 16, seed=100 + n, budget="thorough")
        assert ref.keys() <= bm.cycles_at(i, j).keys(), (i, j)
    # continuation is much cheaper than a full search everywhere
    assert bm.solves[~bm.full_search].mean() < 0.25 * bm.solves[bm.full_search].mean()


def _assert_same_map(a: BifurcationMap, b: BifurcationMap) -> None:
    from dataclasses import fields

    for f in fields(BifurcationMap):
        x, y = np.asarray(getattr(a, f.name)), np.asarray(getattr(b, f.name))
        assert x.shape == y.shape and x.dtype == y.dtype, f.name
        if x.dtype.kind in "fc":
            assert np.array_equal(x, y, equal_nan=True), f.name
        else:
            assert np.array_equal(x, y), f.name


@pytest.fixture(scope="module")
def small_map():
    m, grid = _gt16_grid(10, -0.6, 0.6)
    return sweep(m, grid, 8, seed=3, continuation={"coarse": 3, "tile": 6})


def test_save_load_roundtrip(small_map, tmp_path):
    p = tmp_path / "map.npz"
    small_map.save(p)
    back = BifurcationMap.load(p)
    _assert_same_map(small_map, back)
    assert back.cycles_at(2, 3).keys() == small_map.cycles_at(2, 3).keys()
    lab, names = back.signatures()
    assert lab.shape == (10, 10) and len(names) == len(np.unique(lab))
    with pytest.raises(ValueError, match="does not exist"):
        BifurcationMap.load(tmp_path / "missing.npz")


def test_results_do_not_depend_on_executor_or_chunking(small_map):
    from concurrent.futures import ProcessPoolExecutor

    m, grid = _gt16_grid(10, -0.6, 0.6)
    kw = dict(seed=3, continuation={"coarse": 3, "tile": 6})
    _assert_same_map(small_map, sweep(m, grid, 8, chunksize=1, **kw))
    tent_grid = {"W[0,0]": AR_1D - A_L}
    tent_serial = sweep(skew_tent(A_L, 0.0, 1.0), tent_grid, 2, seed=0)
    with ProcessPoolExecutor(2) as ex:
        _assert_same_map(small_map, sweep(m, grid, 8, executor=ex, **kw))
        _assert_same_map(tent_serial, sweep(skew_tent(A_L, 0.0, 1.0), tent_grid, 2, seed=0, executor=ex))


@pytest.mark.slow
def test_results_do_not_depend_on_a_dask_cluster(small_map):
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    m, grid = _gt16_grid(10, -0.6, 0.6)
    kw = dict(seed=3, continuation={"coarse": 3, "tile": 6})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            _assert_same_map(small_map, sweep(m, grid, 8, executor=client.get_executor(), chunksize=2, **kw))


def test_resident_tiles_on_dask_give_the_serial_map(small_map):
    # in-process workers (fast); the tiles' engines stay on the worker that started them and
    # only edge objects travel between rounds
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    from rnnexplore.dynamics.cycles import brute_force_cycles
    from rnnexplore.dynamics.models import PLRNN

    m, grid = _gt16_grid(10, -0.6, 0.6)
    kw = dict(seed=3, continuation={"coarse": 3, "tile": 6})
    # a thin existence region: the fixed point of region (1, 1) is z = N h with
    # N = [[1, -1], [-1, 1.002]], real iff y < x < 1.002 y for h = (x, y), which holds at the
    # diagonal grid points only; 3 x 3 tiles, so continuation crosses tile corners diagonally
    band = PLRNN(np.zeros(2), np.eye(2) - np.linalg.inv(np.array([[1.0, -1.0], [-1.0, 1.002]])), [1.0, 1.0])
    y = 1.0 + 0.1 * np.arange(8)
    band_grid = {"h[0]": y + 0.001, "h[1]": y}
    band_kw = dict(seed=0, continuation={"coarse": 100, "probes": 0, "tile": 3})
    band_serial = sweep(band, band_grid, 1, **band_kw)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        _assert_same_map(small_map, sweep(m, grid, 8, executor=client, **kw))
        band_dask = sweep(band, band_grid, 1, executor=client.get_executor(), **band_kw)
    _assert_same_map(band_serial, band_dask)
    assert band_dask.full_search.sum() == 1
    for i in range(8):
        for j in range(8):
            oracle = {c.key for c in brute_force_cycles(band_dask.model_at(i, j), 1)}
            assert ("11" in oracle) == (i == j)
            assert ("11" in band_dask.cycles_at(i, j).keys()) == (i == j), (i, j)


def _delayed(delay, fn, *args):
    import time

    time.sleep(delay)
    return fn(*args)


def test_tiles_finishing_in_any_order_give_the_same_map(small_map, monkeypatch):
    # tiles move on to their next round as soon as their neighbours' last round is in (no
    # barrier): steps that finish in random orders must give the map of the serial run, also
    # when objects cross several tiles, one round per tile (the diagonal band: 3 x 3 tiles)
    from concurrent.futures import ThreadPoolExecutor

    import rnnexplore.parallel as par
    from rnnexplore.dynamics.cycles import brute_force_cycles
    from rnnexplore.dynamics.models import PLRNN

    class Shuffled(ThreadPoolExecutor):
        def __init__(self, seed):
            super().__init__(3)
            self.rng = np.random.default_rng(seed)

        def submit(self, fn, *args):
            return super().submit(_delayed, float(self.rng.uniform(0, 0.03)), fn, *args)

    steps = {}
    submit = par.Resident.submit

    def counting(self, func, key, item, priority=0):
        steps[key] = steps.get(key, 0) + 1
        return submit(self, func, key, item, priority)

    band = PLRNN(np.zeros(2), np.eye(2) - np.linalg.inv(np.array([[1.0, -1.0], [-1.0, 1.002]])), [1.0, 1.0])
    y = 1.0 + 0.1 * np.arange(8)
    band_grid = {"h[0]": y + 0.001, "h[1]": y}
    band_kw = dict(seed=0, continuation={"coarse": 100, "probes": 0, "tile": 3})
    monkeypatch.setattr(par.Resident, "submit", counting)
    band_serial = sweep(band, band_grid, 1, **band_kw)
    assert max(steps.values()) >= 3 and steps[8] >= 3  # the far corner tile waits for rounds
    m, grid = _gt16_grid(10, -0.6, 0.6)
    kw = dict(seed=3, continuation={"coarse": 3, "tile": 6})
    for seed in range(3):
        with Shuffled(seed) as ex:
            _assert_same_map(band_serial, sweep(band, band_grid, 1, executor=ex, **band_kw))
            _assert_same_map(small_map, sweep(m, grid, 8, executor=ex, **kw))
    for i in range(8):
        for j in range(8):
            assert ("11" in {c.key for c in brute_force_cycles(band_serial.model_at(i, j), 1)}) == (i == j)
            assert ("11" in band_serial.cycles_at(i, j).keys()) == (i == j), (i, j)


def test_independent_search_baseline(small_map):
    m, grid = _gt16_grid(10, -0.6, 0.6)
    ind = sweep(m, grid, 8, seed=3, continuation=False)
    assert ind.full_search.all()
    assert np.array_equal(ind.n_objects(), small_map.n_objects())
    assert ind.solves_per_point > 3 * small_map.solves_per_point


def test_grid_validation_errors():
    m = paper_gt16()
    with pytest.raises(ValueError, match="unknown parameter name 'A\\[5\\]'"):
        sweep(m, {"A[5]": [0.1]}, 2)
    with pytest.raises(ValueError, match="unknown parameter name 'Q\\[0\\]'"):
        check_grid(m, {"Q[0]": [0.1]})
    with pytest.raises(ValueError, match="empty"):
        sweep(m, {"A[0]": []}, 2)
    with pytest.raises(ValueError, match="NaN or inf"):
        sweep(m, {"A[0]": [0.1, np.nan]}, 2)
    with pytest.raises(ValueError, match="NaN or inf"):
        sweep(m, {"h[1]": [0.1, np.inf]}, 2)
    with pytest.raises(ValueError, match="strictly"):
        sweep(m, {"A[0]": [0.1, 0.1]}, 2)
    with pytest.raises(ValueError, match="1-D"):
        sweep(m, {"A[0]": [[0.1]]}, 2)
    with pytest.raises(ValueError, match="one or two"):
        sweep(m, {"A[0]": [0.1], "A[1]": [0.1], "h[0]": [0.1]}, 2)
    with pytest.raises(ValueError, match="twice"):
        sweep(m, {"A[0]": [0.1], "A[0,0]": [0.1]}, 2)
    with pytest.raises(ValueError, match="max_order"):
        sweep(m, {"A[0]": [0.1]}, 0)
    with pytest.raises(ValueError, match="model"):
        sweep("gt16", {"A[0]": [0.1]}, 2)
    with pytest.raises(ValueError, match="continuation options"):
        sweep(m, {"A[0]": [0.1]}, 2, continuation={"bogus": 1})


def test_curve_formats_and_option_errors(small_map):
    segs = small_map.curves()
    lines = small_map.curve_lines()
    assert len(lines) == len(segs)
    for (x, y), s in zip(lines, segs.values()):
        assert len(x) == 3 * len(s) and np.isnan(x[2::3]).all()
    m = paper_gt16()
    for kw in ({"tol": 0}, {"n_orbits": 0}, {"orbit_steps": (1,)}, {"seed": -1}):
        with pytest.raises(ValueError, match=next(iter(kw))):
            sweep(m, {"A[0]": [0.1]}, 1, **kw)
    for opt in ({"max_rounds": 0}, {"chain_length": -1}, {"probes": -1}, {"coarse": 0}):
        with pytest.raises(ValueError, match=next(iter(opt))):
            sweep(m, {"A[0]": [0.1]}, 1, continuation=opt)
    with pytest.raises(ValueError, match="2-D"):
        sweep(m, {"A[0]": [0.1, 0.2]}, 1).curves()


def test_shallow_plrnn_sweep():
    from rnnexplore.dynamics.models import ShallowPLRNN

    # shPLRNN with W2 = I, h2 = 0 equals the PLRNN skew tent: same diagram
    m = ShallowPLRNN(a=[0.2], W1=[[-1.7]], W2=[[1.0]], h1=[1.0], h2=[0.0])
    vals = np.linspace(-2.15, 0.55, 10)  # a_r = 0.2 + W1
    bm = sweep(m, {"W1[0,0]": vals}, 2, orbit=False)
    ref = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": vals}, 2, orbit=False)
    assert np.array_equal(bm.n_objects(), ref.n_objects())
    np.testing.assert_allclose(bm.pt_coords, ref.pt_coords)
