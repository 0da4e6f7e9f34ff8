"""Every file the kit writes survives a kill mid-save and a save that fails halfway.

The kill test forks a child that saves one of two versions of a file in a loop and kills it
(SIGKILL) at random moments (seeded), 20 times per file type: the file on disk must always load
and equal one of the two versions, at most the killed child's temporary file may be left, and the
next save removes it.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import time

import numpy as np
import pytest

import rnnexplore as rx
from rnnexplore.files import atomic_write, atomic_write_json, read_json, temporary_files

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")

KILLS = 20


def _model(s=0.0):
    return rx.PLRNN([0.5, 0.5], [[0.0, 0.3 + s], [-0.3, 0.0]], [0.1, -0.1])


def _replay(C=400, s=0.0):
    return rx.Replay("plrnn", np.arange(C), {"A": np.full((C, 2), 0.5 + s), "W": np.zeros((C, 2, 2)),
                                             "h": np.zeros((C, 2))}, np.ones(C), np.ones(C), np.ones(C), np.zeros(C))


def _versions():
    """file type -> (suffix, two objects to save, save(obj, path), load(path), equal(a, b))."""
    tent = rx.skew_tent(0.2, -1.5, 1.0)
    maps = [rx.sweep(tent, {"A[0]": np.linspace(0.1, 0.5, n), "h[0]": np.linspace(0.9, 1.1, n)}, 2, orbit=False)
            for n in (8, 9)]
    cycles = [rx.find_cycles(_model(s), 6, seed=0) for s in (0.0, 0.2)]
    sweeps = [rx.SweepResult([{"n_train": i, "fq": float(i) * s, "lst": [1.0, 2.0]} for i in range(300)])
              for s in (1.0, 2.0)]
    data = [rx.gt16_data(3000, seed=s) for s in (0, 1)]
    lands = [rx.Landscape("A[0]", "A[1]", np.linspace(0, 1, 60), np.linspace(0, 1, 50), np.full((50, 60), s),
                          np.zeros((50, 60))) for s in (1.0, 2.0)]
    analyses = [rx.ReplayAnalysis(2, np.arange(500) % 3, np.zeros(500, int), np.arange(1, 40), np.array(["birth"] * 39),
                                  np.ones(39, int) * s, np.array([3])) for s in (1, 2)]
    same_arrays = lambda a, b, names: all(np.array_equal(getattr(a, n), getattr(b, n)) for n in names)  # noqa: E731
    return {
        "model json": (".json", [_model(0.0), _model(0.2)], lambda o, p: rx.save_model_json(o, p),
                       rx.load_model_json, lambda a, b: a == b),
        "cycle set json": (".json", cycles, lambda o, p: o.save(p), rx.CycleSet.load,
                           lambda a, b: a.keys() == b.keys() and np.allclose(a[0].points, b[0].points)),
        "bifurcation map npz": (".npz", maps, lambda o, p: o.save(p), rx.BifurcationMap.load,
                                lambda a, b: same_arrays(a, b, [f.name for f in dataclasses.fields(a)])),
        "replay npz": (".npz", [_replay(s=0.0), _replay(s=0.1)], lambda o, p: o.save(p), rx.Replay.load,
                       lambda a, b: np.array_equal(a.params["A"], b.params["A"])),
        "sweep json": (".json", sweeps, lambda o, p: o.save(p), rx.SweepResult.load,
                       lambda a, b: a.records == b.records),
        "sweep csv": (".csv", sweeps, lambda o, p: o.save(p), rx.SweepResult.load,
                      lambda a, b: a.column("fq").tolist() == b.column("fq").tolist()),
        "trajectory npz": (".npz", data, lambda o, p: o.save(p), rx.TrajectoryData.load,
                           lambda a, b: np.array_equal(a.train, b.train)),
        "landscape npz": (".npz", lands, lambda o, p: o.save(p), rx.Landscape.load,
                          lambda a, b: np.array_equal(a.loss, b.loss)),
        "replay analysis npz": (".npz", analyses, lambda o, p: o.save(p), rx.ReplayAnalysis.load,
                                lambda a, b: np.array_equal(a.event_order, b.event_order)),
    }


VERSIONS = _versions()


def _save_forever(save, objs, path, ready_w):
    """Child process: save the two versions alternately until killed."""
    try:
        save(objs[0], path)
        os.write(ready_w, b"x")
        i = 1
        while True:
            save(objs[i % 2], path)
            i += 1
    finally:
        os._exit(0)


@pytest.mark.parametrize("kind", sorted(VERSIONS))
def test_killed_saves_leave_a_good_file_and_no_temporaries(kind, tmp_path):
    suffix, objs, save, load, equal = VERSIONS[kind]
    path = str(tmp_path / f"target{suffix}")
    t0 = time.perf_counter()
    save(objs[0], path)
    one_save = max(time.perf_counter() - t0, 1e-4)
    rng = np.random.default_rng(17)
    left = []
    for _ in range(KILLS):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os.close(r)
            _save_forever(save, objs, path, w)
        os.close(w)
        os.read(r, 1)  # the child finished its first save and is saving in a loop now
        os.close(r)
        time.sleep(float(rng.uniform(0.0, 3.0 * one_save)))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        got = load(path)  # always a complete file ...
        assert equal(got, objs[0]) or equal(got, objs[1])  # ... of one of the two versions
        tmps = temporary_files(path)
        assert len(tmps) <= 1, tmps  # at most the killed child's file
        left.append(len(tmps))
    save(objs[1], path)  # the next save removes what the last kill left behind
    assert temporary_files(path) == []
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(path)]
    assert equal(load(path), objs[1])


def test_failed_saves_keep_the_previous_file(tmp_path):
    bad = object()
    cases = [
        ("c.json", rx.find_cycles(_model(), 3, seed=0), lambda o: rx.CycleSet(list(o), {"x": bad}), rx.CycleSet.load),
        ("r.npz", _replay(5), lambda o: _with_info(o, bad), rx.Replay.load),
        ("s.json", rx.SweepResult([{"a": 1}]), lambda o: _with_records(o, bad), rx.SweepResult.load),
        ("t.npz", rx.gt16_data(50, seed=0), lambda o: _with_info(o, bad), rx.TrajectoryData.load),
    ]
    for name, good, spoil, load in cases:
        p = tmp_path / name
        good.save(p)
        before = p.read_bytes()
        with pytest.raises(ValueError, match="cannot write"):
            spoil(good).save(p)
        assert p.read_bytes() == before, name
        load(p)
    assert sorted(os.listdir(tmp_path)) == sorted(n for n, *_ in cases)


def _with_info(obj, value):
    obj = dataclasses.replace(obj)
    obj.info = {"x": value}  # not JSON-serialisable
    return obj


def _with_records(obj, value):
    out = rx.SweepResult([])
    out.records = [{"a": value}]
    return out


def test_write_failure_removes_its_temporary(tmp_path, monkeypatch):
    p = tmp_path / "x.json"
    atomic_write_json(p, {"a": 1})

    def boom(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(p, b"new content")
    monkeypatch.undo()
    assert read_json(p, "x") == {"a": 1}
    assert os.listdir(tmp_path) == ["x.json"]


def test_temporaries_of_live_writers_are_left_alone(tmp_path):
    p = tmp_path / "x.json"
    live = tmp_path / f".x.json.tmp-{os.getppid()}-abc"  # the parent process runs: its write may be in flight
    live.write_bytes(b"partial")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child: exits at once, so its pid is dead afterwards
        os._exit(0)
    os.waitpid(pid, 0)
    dead = tmp_path / f".x.json.tmp-{pid}-abc"
    dead.write_bytes(b"partial")
    atomic_write_json(p, [1])
    assert live.exists() and not dead.exists()
    assert read_json(p, "x") == [1]


def test_readers_refuse_directories_and_missing_files(tmp_path):
    for load in (rx.load_model_json, rx.CycleSet.load, rx.BifurcationMap.load, rx.Replay.load, rx.SweepResult.load):
        with pytest.raises(ValueError, match="directory"):
            load(_dir(tmp_path, load))
        with pytest.raises(ValueError, match="does not exist"):
            load(tmp_path / ("nope.csv" if load == rx.SweepResult.load else "nope.npz"))


def _dir(tmp_path, load):
    if load == rx.SweepResult.load:  # the sweep loader reads by suffix: a directory named like a file
        d = tmp_path / "dir.json"
        d.mkdir(exist_ok=True)
        return d
    return tmp_path
