"""The flip-flop task and the shipped trained network (loaded without pickle)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")

from rnnexplore.dynamics.cycles import brute_force_cycles  # noqa: E402
from rnnexplore.dynamics.models import from_torch_rnn  # noqa: E402
from rnnexplore.dynamics.training.flipflop import (cached_flipflop, flipflop_batch, load_flipflop,  # noqa: E402
                                                   save_flipflop)


def test_targets_hold_the_last_pulse():
    u, y = flipflop_batch(3, 300, seed=5)
    for b in range(3):
        for k in range(3):
            last = 0.0
            for t in range(300):
                if u[t, b, k] != 0:
                    last = u[t, b, k]
                assert y[t, b, k] == last


def test_shipped_network_has_the_cube_of_27_fixed_points():
    rnn, _ = cached_flipflop()
    model = from_torch_rnn(rnn, u=[0.0, 0.0, 0.0])
    fixed = brute_force_cycles(model, 1)
    assert len(fixed) == 27
    n_unstable = sorted(int(np.sum(np.abs(c.eigenvalues) > 1)) for c in fixed)
    assert [n_unstable.count(k) for k in range(4)] == [8, 12, 6, 1]
    for c in fixed:  # each one checked by the map itself
        p = c.points[0]
        assert np.max(np.abs(model.step(p) - p)) < 1e-9


def test_save_load_round_trip_and_foreign_files_refused(tmp_path):
    rnn, ro = cached_flipflop()
    path = tmp_path / "net.npz"
    save_flipflop(path, rnn, ro)
    r2, o2 = load_flipflop(path)
    for a, b in zip(rnn.parameters(), r2.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    bad = tmp_path / "bad.npz"
    np.savez(bad, weight_ih_l0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="missing arrays"):
        load_flipflop(bad)
    evil = tmp_path / "evil.npz"
    np.savez(evil, weight_ih_l0=np.array([object()], dtype=object))
    with pytest.raises(ValueError):
        load_flipflop(evil)


def test_start_pulse_trials_begin_with_a_pulse_on_every_bit():
    u, y = flipflop_batch(4, 50, seed=2, start_pulse=True)
    assert np.all(u[0] != 0) and np.all(y != 0)
    u0, _ = flipflop_batch(4, 50, seed=2)
    np.testing.assert_array_equal(u[1:] != 0, u0[1:] != 0)  # the same later pulses
    with pytest.raises(ValueError, match="start_pulse"):
        flipflop_batch(4, 50, start_pulse="yes")


def test_benchmark_network_m64_has_the_cube_from_relaxed_states():
    # the cached M = 64 network of benchmarks/bench_flipflop.py; 2^64 regions rule out brute
    # force, so the oracle is the cube's structure and the map itself at every point
    import torch
    from pathlib import Path

    from rnnexplore.dynamics.continuation import objects_from_states

    path = Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "flipflop_M64.npz"
    rnn, _ = load_flipflop(path)
    model = from_torch_rnn(rnn)
    u, _ = flipflop_batch(16, 100, seed=1, start_pulse=True)
    with torch.no_grad():
        x = rnn(torch.tensor(u, dtype=torch.float32))[0].numpy().astype(np.float64).reshape(-1, 64)
    rng = np.random.default_rng(2)
    init = x[rng.choice(len(x), 512, replace=False)] + 0.5 * rng.standard_normal((512, 64))
    cs = objects_from_states(model, (init @ model.W.T + model.h)[None], 1, relax=30)
    n_unstable = sorted(int(np.sum(np.abs(c.eigenvalues) > 1)) for c in cs)
    assert [n_unstable.count(k) for k in range(4)] == [8, 12, 6, 1] and len(cs) == 27
    for c in cs:
        p = c.points[0]
        assert np.max(np.abs(model.step(p) - p)) < 1e-9
        np.testing.assert_array_equal(model.region(p), c.regions[0])


def test_a_diverging_learning_rate_raises_naming_the_step():
    """lr = 1 blows the ReLU network up within a couple of Adam steps (loss inf, then NaN weights):
    train_flipflop refuses to return it and says which step and what to change."""
    import math

    from rnnexplore.dynamics.training.flipflop import train_flipflop

    with pytest.raises(FloatingPointError, match=r"diverged at step \d+: .*smaller learning rate \(lr=1,") as info:
        train_flipflop(hidden=8, steps=6, batch=4, length=40, lr=1.0, seed=0)
    step = int(str(info.value).split("step ")[1].split(":")[0])
    assert 0 < step < 6  # step 0's loss is finite (a fresh network), the blow-up follows
    rnn, readout, losses = train_flipflop(hidden=8, steps=6, batch=4, length=40, lr=5e-3, seed=0)
    assert all(math.isfinite(x) for x in losses) and len(losses) == 6
    for bad in (0.0, -1e-3, float("nan")):
        with pytest.raises(ValueError, match="lr"):
            train_flipflop(hidden=8, steps=1, lr=bad)


def test_trained_flipflop_is_a_cache(tmp_path, monkeypatch):
    """Missing file: trained with the given settings and written (equal to train_flipflop's net);
    present: loaded without training; retrain=True: trained again and overwritten."""
    import torch

    from rnnexplore.dynamics.training import flipflop as ff

    kw = dict(hidden=5, steps=3, batch=2, length=12, seed=4)
    f = tmp_path / "sub" / "net.npz"
    rnn, readout, how = ff.trained_flipflop(f, **kw)
    ref, ref_out, _ = ff.train_flipflop(**kw)
    assert how.startswith("trained") and f.exists()
    for a, b in zip([*rnn.parameters(), *readout.parameters()], [*ref.parameters(), *ref_out.parameters()]):
        assert torch.equal(a, b)

    def no_training(**_):
        raise AssertionError("the cache must not train")

    monkeypatch.setattr(ff, "train_flipflop", no_training)
    rnn2, _, how2 = ff.trained_flipflop(f, **kw)
    assert how2 == "cached net.npz" and torch.equal(rnn2.weight_hh_l0, rnn.weight_hh_l0)
    with pytest.raises(AssertionError, match="must not train"):
        ff.trained_flipflop(f, retrain=True, **kw)
    assert torch.equal(ff.load_flipflop(f)[0].weight_hh_l0, rnn.weight_hh_l0)  # a failed retrain leaves the file
    with pytest.raises(ValueError, match="retrain"):
        ff.trained_flipflop(f, retrain="yes")
