"""Tests of rnnexplore.replay: Replay files, jump detection, alignment (numpy only)."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from rnnexplore.models import PLRNN
from rnnexplore.replay import Landscape, Replay, align_jumps, detect_jumps, jump_sizes, parse_param_name


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
    with pytest.raises(TypeError):
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
