"""Tests of rnnexplore.dynamics.training.replay: Replay files, jump detection, alignment (numpy only)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from rnnexplore.dynamics.models import PLRNN
from rnnexplore.dynamics.params import parse_param_name
from rnnexplore.dynamics.training.replay import Landscape, Replay, align_jumps, detect_jumps, jump_sizes


def _replay(C=5, S=7, seed=0):
    rng = np.random.default_rng(seed)
    return Replay(
        kind="plrnn",
        epochs=np.arange(C) * 10,
        params={"A": rng.random((C, 2)), "W": rng.standard_normal((C, 2, 2)), "h": rng.standard_normal((C, 2))},
        loss=rng.random(C) + 0.1,
        free_loss=rng.random(C) + 0.1,
        grad_norm=rng.random(C),
        alpha=rng.random(C),
        step_loss=rng.random(S),
        step_grad_norm=rng.random(S),
        step_alpha=rng.random(S),
        info={"seed": 3, "alpha": "adaptive", "trainable": ["A", "W"]},
    )


# --------------------------------------------------------------------------- files
def test_roundtrip_exact(tmp_path):
    rep = _replay()
    p = tmp_path / "r.npz"
    rep.save(p)
    back = Replay.load(p)
    assert back.kind == rep.kind and back.info == rep.info
    for name in ("epochs", "loss", "free_loss", "grad_norm", "alpha", "step_loss", "step_grad_norm", "step_alpha"):
        np.testing.assert_array_equal(getattr(back, name), getattr(rep, name))
        assert getattr(back, name).dtype == getattr(rep, name).dtype
    for k in rep.params:
        np.testing.assert_array_equal(back.params[k], rep.params[k])
    assert [f for f in os.listdir(tmp_path) if f != "r.npz"] == []  # no temp file left


def test_truncated_file_refused(tmp_path):
    p = tmp_path / "r.npz"
    _replay(C=50).save(p)
    raw = p.read_bytes()
    for cut in (10, len(raw) // 2, len(raw) - 30):
        q = tmp_path / f"cut{cut}.npz"
        q.write_bytes(raw[:cut])
        with pytest.raises(ValueError, match="not a valid replay"):
            Replay.load(q)


def test_pickles_and_foreign_files_refused(tmp_path):
    # an npz holding an object array (needs pickle to load)
    obj = tmp_path / "obj.npz"
    np.savez(obj, magic=np.array("rnnexplore-replay-v1"), kind=np.array("plrnn"), info=np.array("{}"),
             epochs=np.array([{"evil": 1}], dtype=object))
    with pytest.raises(ValueError, match="pickle|Object arrays"):
        Replay.load(obj)
    # a plain pickle
    pk = tmp_path / "p.npz"
    pk.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ValueError):
        Replay.load(pk)
    # a foreign npz
    fo = tmp_path / "f.npz"
    np.savez(fo, x=np.zeros(3))
    with pytest.raises(ValueError, match="missing"):
        Replay.load(fo)
    # right keys, wrong magic
    wm = tmp_path / "wm.npz"
    np.savez(wm, magic=np.array("something"), kind=np.array("plrnn"), info=np.array("{}"), epochs=np.zeros(1))
    with pytest.raises(ValueError, match="magic"):
        Replay.load(wm)
    with pytest.raises(ValueError, match="does not exist"):
        Replay.load(tmp_path / "nope.npz")


def test_failed_write_keeps_old_file(tmp_path):
    p = tmp_path / "r.npz"
    rep = _replay()
    rep.save(p)
    before = p.read_bytes()
    bad = _replay()
    bad.info = {"x": object()}  # not JSON-serialisable: the write fails
    with pytest.raises(ValueError, match="not JSON serializable"):
        bad.save(p)
    assert p.read_bytes() == before
    assert os.listdir(tmp_path) == ["r.npz"]


def test_replay_validation_and_access():
    rep = _replay()
    with pytest.raises(ValueError, match="kind"):
        Replay("rnn", rep.epochs, rep.params, rep.loss, rep.loss, rep.loss, rep.loss)
    with pytest.raises(ValueError, match="loss"):
        Replay("plrnn", rep.epochs, rep.params, rep.loss[:2], rep.loss, rep.loss, rep.loss)
    m = rep.model_at(2)
    assert isinstance(m, PLRNN)
    np.testing.assert_array_equal(np.diag(m.A), rep.params["A"][2])
    np.testing.assert_array_equal(rep.param_series("W[1,0]"), rep.params["W"][:, 1, 0])
    with pytest.raises(ValueError, match="out of range"):
        rep.model_at(99)
    with pytest.raises(ValueError, match="scalar"):
        rep.param_series("W[1]")
    assert parse_param_name(" W[ 1, 0 ] ") == ("W", (1, 0))


def test_landscape_roundtrip(tmp_path):
    L = Landscape("A[0]", "A[1]", [0, 1, 2], [0, 1], np.ones((2, 3)), np.zeros((2, 3)), {"alpha": 0.1})
    L.save(tmp_path / "l.npz")
    M = Landscape.load(tmp_path / "l.npz")
    np.testing.assert_array_equal(M.loss, L.loss)
    assert M.info == L.info and M.x_param == "A[0]"
    with pytest.raises(ValueError, match="shape"):
        Landscape("a", "b", [0, 1], [0], np.ones((2, 2)), np.ones((2, 2)))


# --------------------------------------------------------------------------- jumps
def _smooth_curve(n=600, seed=0, noise=0.02):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return (0.05 + np.exp(-t / 150.0)) * np.exp(noise * rng.standard_normal(n))


@pytest.mark.parametrize("seed", range(5))
def test_injected_jumps_found(seed):
    loss = _smooth_curve(seed=seed)
    rng = np.random.default_rng(100 + seed)
    where = np.sort(rng.choice(np.arange(30, 570, 60), 3, replace=False)) + rng.integers(0, 20, 3)
    for w in where:
        loss[w : w + rng.integers(3, 40)] *= 10.0  # spikes of varying duration
    found = detect_jumps(loss)
    assert len(found) == len(where)
    assert np.all(np.abs(found - where) <= 1)
    assert np.all(jump_sizes(loss, found) > 0.9)


@pytest.mark.parametrize("seed", range(5))
def test_smooth_curves_have_no_jumps(seed):
    assert detect_jumps(_smooth_curve(seed=seed)).size == 0
    assert detect_jumps(_smooth_curve(seed=seed, noise=0.0)).size == 0
    assert detect_jumps(_smooth_curve(seed=seed), direction="both").size == 0


def test_converged_noise_is_not_a_jump():
    rng = np.random.default_rng(0)
    loss = np.r_[np.logspace(0, -12, 100), 1e-13 * np.exp(3 * rng.standard_normal(100))]
    assert detect_jumps(loss).size == 0
    assert detect_jumps(loss, rel_floor=0.0).size > 0


def test_drops_and_validation():
    loss = _smooth_curve(noise=0.0)
    loss[300:] /= 30
    assert detect_jumps(loss).size == 0
    assert detect_jumps(loss, direction="down").tolist() == [300]
    loss[100] = np.inf  # a diverged checkpoint counts as a jump
    assert detect_jumps(loss, direction="both").tolist() == [100, 101, 300]
    with pytest.raises(ValueError, match="positive"):
        detect_jumps([1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match="direction"):
        detect_jumps([1.0, 2.0], direction="sideways")


def test_align_jumps():
    assert align_jumps([5, 50, 80], [3, 7, 49, 90], window=2) == [(5, [3, 7]), (50, [49]), (80, [])]


# --------------------------------------------------------------------------- analysis
def _param_replay(A, W, h, loss=None):
    C = len(A)
    loss = np.linspace(1.0, 0.5, C) if loss is None else np.asarray(loss, float)
    return Replay("plrnn", np.arange(C), {"A": np.asarray(A, float), "W": np.asarray(W, float),
                                         "h": np.asarray(h, float)}, loss, loss, np.ones(C), np.zeros(C))


def _skew_tent_replay(C=21):
    a_l = 0.2
    a_r = np.linspace(-1.3, -0.7, C)  # crosses -1 at checkpoint 10 (a_r = -1.0 exactly is avoided)
    a_r[C // 2] = -0.995
    loss = np.linspace(1.0, 0.5, C)
    loss[C // 2 :] *= 50.0  # a jump where the 2-cycle disappears
    return _param_replay(np.full((C, 1), a_l), (a_r - a_l)[:, None, None], np.ones((C, 1)), loss), a_r


def test_continue_cycles_matches_fresh_search():
    from rnnexplore.dynamics.cycles import find_cycles
    from rnnexplore.dynamics.models import paper_gt16
    from rnnexplore.dynamics.continuation import continue_cycles

    m0 = paper_gt16()
    m1 = m0.with_params({"A[0]": 0.8380})
    cs0 = find_cycles(m0, 16, seed=0)
    cont, ok = continue_cycles(m1, cs0)
    fresh = {c.key: c for c in find_cycles(m1, 16, seed=1)}
    assert ok and {c.key for c in cont} == set(fresh)
    for c in cont:
        np.testing.assert_allclose(c.points, fresh[c.key].points, atol=1e-10)
        np.testing.assert_allclose(np.sort(np.abs(c.eigenvalues)), np.sort(np.abs(fresh[c.key].eigenvalues)), atol=1e-10)
        np.testing.assert_allclose(m1.simulate(c.points[0], c.order)[-1], c.points[0], atol=1e-10)
    # past a bifurcation the 16-cycles do not persist
    _, ok_far = continue_cycles(m0.with_params({"A[0]": 0.80}), cs0)
    assert not ok_far


def test_analyse_skew_tent_flip_and_jump_alignment():
    from rnnexplore.dynamics.training.replay import analyse_replay

    rep, a_r = _skew_tent_replay()
    res = analyse_replay(rep, 2, seed=0)
    # closed form: the 2-cycle exists for a_r < -1 only, the fixed point always
    assert res.n_objects.tolist() == [2 if a < -1 else 1 for a in a_r]
    assert res.event_checkpoints().tolist() == [10]
    assert set(res.kinds_at(10)) == {"degenerate_flip"}
    assert res.jumps.tolist() == [10]
    assert res.alignment(window=2) == [(10, [10])]


def test_warm_cold_and_executor_agree_across_a_border_collision():
    from concurrent.futures import ThreadPoolExecutor

    from rnnexplore.dynamics.models import paper_gt16
    from rnnexplore.dynamics.training.replay import analyse_replay

    gt = paper_gt16()
    C = 12
    A = np.linspace([0.8303, 0.9703], [0.8345, 0.9677], C)  # a 16-cycle pair appears in between
    W = np.broadcast_to(gt.W, (C, 2, 2))
    h = np.broadcast_to(gt.h, (C, 2))
    rep = _param_replay(A, W, h)
    warm = analyse_replay(rep, 16, seed=0)
    cold = analyse_replay(rep, 16, seed=0, warm=False)
    with ThreadPoolExecutor(2) as ex:
        par = analyse_replay(rep, 16, seed=0, executor=ex)
    for res in (warm, par):
        assert [cs.keys() for cs in res.cycle_sets] == [cs.keys() for cs in cold.cycle_sets]
        assert res.event_kind.tolist() == cold.event_kind.tolist()
    assert cold.n_objects[0] == 1 and cold.n_objects[-1] == 3
    assert "pair_creation" in cold.event_kind.tolist()
    assert any(cs.stats.get("continued") for cs in warm.cycle_sets)


def test_analysis_roundtrip_and_validation(tmp_path):
    from rnnexplore.dynamics.training.replay import ReplayAnalysis, analyse_replay

    rep, _ = _skew_tent_replay(9)
    res = analyse_replay(rep, 2, seed=0)
    res.save(tmp_path / "a.npz")
    back = ReplayAnalysis.load(tmp_path / "a.npz")
    for name in ("n_objects", "n_stable", "event_checkpoint", "event_kind", "event_order", "jumps"):
        np.testing.assert_array_equal(getattr(back, name), getattr(res, name))
    with pytest.raises(ValueError, match="max_order"):
        analyse_replay(rep, 0)
    with pytest.raises(ValueError, match="ascending"):
        analyse_replay(rep, 2, checkpoints=[3, 1])
    with pytest.raises(ValueError, match="full_every"):
        analyse_replay(rep, 2, full_every=0)


def test_live_loss_callback_with_training():
    import matplotlib

    matplotlib.use("Agg")
    pytest.importorskip("ipywidgets")
    pytest.importorskip("torch")
    from rnnexplore.dynamics.training import TorchPLRNN, train
    from rnnexplore.widgets.replay import LiveLoss

    live = LiveLoss(every=2, stop_above=1e6)
    x = np.sin(0.3 * np.arange(120))[:, None]
    rep = train(TorchPLRNN(2, seed=0), x, epochs=6, seq_len=10, batch_size=2, progress=False, callback=live)
    assert live.epochs == rep.epochs.tolist()
    np.testing.assert_allclose(live.loss, rep.loss)
    np.testing.assert_allclose(live.loss_line.get_ydata(), rep.loss[: len(live.loss_line.get_ydata())])
    assert "rnx-replay-live" in live.widget._dom_classes and "epoch 6" in live.status.value
    stopper = LiveLoss(stop_above=0.0)
    rep2 = train(TorchPLRNN(2, seed=0), x, epochs=6, seq_len=10, batch_size=2, progress=False, callback=stopper)
    assert rep2.epochs.tolist() == [0]
