"""Fuzzing pass over the public entry points: hostile arguments, hostile files, the CLI.

Every case states what must happen: ``"error"`` (a ``ValueError``) or ``"ok"`` (a normal
return). A case fails as ``silent`` (nonsense accepted), ``hang`` (no answer within the time
limit), or by the name of any other exception (``TypeError``, ``RecursionError``, ...).
The script prints the number of inputs and the failures by kind, and with ``-v`` every failing
case. It uses only names that exist on the facade, so the same script measures any checkout::

    PYTHONPATH=. .venv/bin/python benchmarks/fuzz_report.py [-v] [--timeout 10]

Memory is capped (``RLIMIT_AS``, 6 GB) so that a runaway allocation shows as ``MemoryError``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import resource
import signal
import sys
import tempfile
import time

import numpy as np

import rnnexplore as rx

BAD_INT = ["x", 1.5, 2.0, True, float("nan"), float("inf"), [1], complex(1, 1), None, -1]
BAD_COUNT_HUGE = [10**12, 2**64]
BAD_REAL = ["0.5", float("nan"), [0.5], complex(1, 1), None, True, "inf"]
BAD_SEED = [-1, 1.5, "x", 2**64, True]
BAD_CALLABLE = [5, "x"]


def NOT_NONE(values):  # noqa: N802 - for arguments where None means "the default"
    return [v for v in values if v is not None]
BAD_ARRAY = ["x", [["0.5"]], [[1 + 1j]], [[float("nan")]], [[float("inf")]], [[1.0], [1.0, 2.0]], {}, None, [],
             "deep"]


class Hang(Exception):
    pass


def _alarm(signum, frame):  # noqa: ARG001
    raise Hang()


def deep(n: int = 100_000) -> list:
    out: list = []
    for _ in range(n):
        out = [out]
    return out


def label(v) -> str:
    try:
        return repr(v)[:40]
    except RecursionError:
        return "<deeply nested>"


def fix(v):
    return deep() if isinstance(v, str) and v == "deep" else v


# --------------------------------------------------------------------------- cases
def models():
    return rx.PLRNN([0.5, 0.5], [[0.0, 0.3], [-0.3, 0.0]], [0.1, -0.1])


def argument_cases():
    m = models()
    cases = []  # (entry, label, thunk, expect)

    def bad(entry, fn, values, **fixed):
        for v in values:
            cases.append((entry, label(v), (lambda v=v: fn(fix(v), **fixed)), "error"))

    # constructors with arrays
    good = {"A": [0.5, 0.5], "W": [[0.0, 0.3], [-0.3, 0.0]], "h": [0.1, -0.1]}
    for key in good:
        bad(f"PLRNN({key}=)", lambda v, key=key: rx.PLRNN(**{**good, key: v}), BAD_ARRAY)
    sgood = {"a": [0.5], "W1": [[1.0]], "W2": [[1.0]], "h1": [0.0], "h2": [0.5]}
    for key in sgood:
        bad(f"ShallowPLRNN({key}=)", lambda v, key=key: rx.ShallowPLRNN(**{**sgood, key: v}), BAD_ARRAY)
        bad(f"ClippedShallowPLRNN({key}=)", lambda v, key=key: rx.ClippedShallowPLRNN(**{**sgood, key: v}), BAD_ARRAY)
    bad("ALRNN(n_relu=)", lambda v: rx.ALRNN(good["A"], good["W"], good["h"], v), BAD_INT + [5])
    bad("random_plrnn(M=)", lambda v: rx.random_plrnn(v, seed=0), BAD_INT + [0, 10**9])
    bad("random_plrnn(seed=)", lambda v: rx.random_plrnn(2, seed=v), BAD_SEED)
    bad("skew_tent(a_l=)", lambda v: rx.skew_tent(v, -1.5, 1.0), BAD_REAL)
    bad("border_collision_normal_form(a_l=)", rx.border_collision_normal_form, BAD_REAL)
    bad("model_from_dict", rx.model_from_dict, [{"type": []}, {"type": "PLRNN", "A": ["0.5"], "W": [[0.0]], "h": [0.0]},
                                                {"type": "PLRNN", "A": [[1j]], "W": [[0.0]], "h": [0.0]},
                                                {"type": {}}, {"type": "PLRNN", "A": deep(), "W": [[0.0]], "h": [0.0]},
                                                [], "x", None, {"type": "ALRNN", "A": [0.5], "W": [[0.0]], "h": [0.0],
                                                                "n_relu": 1.5}])
    # model methods
    bad("simulate(n_steps=)", lambda v: m.simulate([0.1, 0.1], v), BAD_INT + BAD_COUNT_HUGE)
    bad("simulate(z0=)", lambda v: m.simulate(v, 5), ["x", [[1j, 0]], [0.1], None, "deep"])
    bad("step(z=)", m.step, ["x", [1j, 0], [0.1], None])
    bad("with_params", m.with_params, [{"A[0]": "0.5"}, {"A[0]": float("nan")}, {"Q[0]": 1.0}, {"A[9]": 1.0},
                                       {"A[0]": 1j}, "x", {"W[0,0": 1.0}])
    bad("simulate_orbits(n_steps=)", lambda v: rx.simulate_orbits(m, [[0.1, 0.1]], v), BAD_INT + BAD_COUNT_HUGE)
    # the engine
    bad("find_cycles(max_order=)", lambda v: rx.find_cycles(m, v, seed=0), BAD_INT + [0, 2**64])
    bad("find_cycles(seed=)", lambda v: rx.find_cycles(m, 2, seed=v), BAD_SEED)
    bad("find_cycles(mode=)", lambda v: rx.find_cycles(m, 2, mode=v), ["x", 1, None])
    bad("find_cycles(min_order=)", lambda v: rx.find_cycles(m, 2, min_order=v), BAD_INT + [0, 3])
    bad("find_cycles(model=)", lambda v: rx.find_cycles(v, 2), ["x", None, 5, {}])
    bad("find_cycles(warm_start=)", lambda v: rx.find_cycles(m, 2, warm_start=v), ["x", 5, [[["a"]]], [np.ones((2, 3))]])
    budget_bad = [{"restarts": "x"}, {"restarts": -1}, {"restarts": 1.5}, {"restart_scale": float("inf")},
                  {"restart_scale": -1.0}, {"restart_scale": "x"}, {"exhaustive_limit": 10**18},
                  {"exhaustive_limit": -5}, {"batch": 0}, {"batch": "x"}, {"max_solves": -1}, {"chain_length": 0},
                  {"trajectories": -1}, {"trajectory_length": 1.5}, {"nonsense": 1}, "x", -3, 1.5, [1]]
    bad("find_cycles(budget=)", lambda v: rx.find_cycles(m, 2, budget=v, seed=0), budget_bad)
    for key in ("restarts", "chain_length", "max_solves", "batch", "exhaustive_limit", "trajectories",
                "trajectory_length"):
        bad(f"SearchBudget({key}=)", lambda v, key=key: rx.SearchBudget(**{key: v}), ["x", 1.5, -1, True, float("nan")])
    bad("SearchBudget(restart_scale=)", lambda v: rx.SearchBudget(restart_scale=v),
        ["x", float("inf"), float("nan"), -1.0, 0.0, complex(1, 0)])
    bad("brute_force_cycles(order=)", lambda v: rx.brute_force_cycles(m, v), BAD_INT + [0, 2**64])
    bad("attractor_period(max_period=)", lambda v: rx.attractor_period(m, [0.1, 0.1], max_period=v), BAD_INT + [0])
    bad("attractor_period(n_transient=)", lambda v: rx.attractor_period(m, [0.1, 0.1], n_transient=v),
        BAD_INT + BAD_COUNT_HUGE)
    bad("attractor_period(z0=)", lambda v: rx.attractor_period(m, v), ["x", [1j, 0], None])
    regs = np.zeros((1, 1, 2), bool)
    bad("solve_region_sequences(regions=)", lambda v: rx.solve_region_sequences(m, v),
        [np.full((1, 1, 2), np.nan), [[["x", "y"]]], np.ones((1, 1, 3)), "x", np.full((1, 1, 2), 0.5), None])
    cases.append(("solve_region_sequences", "ok", lambda: rx.solve_region_sequences(m, regs), "ok"))
    bad("continue_cycles(cycles=)", lambda v: rx.continue_cycles(m, v), ["x", 5, [1, 2]])  # None: no cycles
    bad("classify_events(tol=)", lambda v: rx.classify_events([], [], tol=v), BAD_REAL + [-0.1])
    bad("classify_events(before=)", lambda v: rx.classify_events(v, []), ["x", 5])  # None: no cycles
    # sweep
    grid = {"A[0]": np.linspace(0.1, 0.5, 3)}
    bad("sweep(max_order=)", lambda v: rx.sweep(m, grid, v, orbit=False), BAD_INT + [0, 2**64])
    bad("sweep(grid=)", lambda v: rx.sweep(m, v, 2, orbit=False),
        [{"A[0]": ["x"]}, {"A[0]": [np.nan]}, {"Q[0]": [0.1]}, "x", {}, {"A[0]": [[0.1]]}, {"A[0]": [1j]}])
    bad("sweep(seed=)", lambda v: rx.sweep(m, grid, 2, seed=v, orbit=False), BAD_SEED)
    bad("sweep(executor=)", lambda v: rx.sweep(m, grid, 2, executor=v, orbit=False), ["x", 5])
    bad("sweep(tol=)", lambda v: rx.sweep(m, grid, 2, tol=v, orbit=False), BAD_REAL)
    bad("sweep(budget=)", lambda v: rx.sweep(m, grid, 2, budget=v, orbit=False), budget_bad[:6])
    # projection
    bad("Projection(kind=)", lambda v: rx.Projection(v, 2), ["x", 5, None])
    bad("Projection(M=)", lambda v: rx.Projection("units", v), BAD_INT + [0])
    # parallel
    from rnnexplore.parallel import parallel_map

    bad("parallel_map(executor=)", lambda v: parallel_map(abs, [1, 2], executor=v), ["x", 5, object()])
    bad("parallel_map(chunksize=)", lambda v: parallel_map(abs, [1, 2], executor=_Serial(), chunksize=v),
        NOT_NONE(BAD_INT) + [0])
    bad("parallel_map(func=)", lambda v: parallel_map(v, [1, 2]), BAD_CALLABLE)
    # training data
    bad("gt16_data(T=)", lambda v: rx.gt16_data(v), BAD_INT + [1, 10**12])
    bad("gt16_data(noise=)", lambda v: rx.gt16_data(100, noise=v), BAD_REAL + [-1.0])
    bad("gt16_data(seed=)", lambda v: rx.gt16_data(100, seed=v), BAD_SEED)
    bad("skew_tent_data(T=)", lambda v: rx.skew_tent_data(v), BAD_INT + [10**12])
    bad("lorenz63_data(T=)", lambda v: rx.lorenz63_data(v), BAD_INT + [10**12])
    bad("lorenz63_data(dt=)", lambda v: rx.lorenz63_data(100, dt=v), BAD_REAL + [-0.1, 0.0])
    bad("TrajectoryData(train=)", lambda v: rx.TrajectoryData(v, np.zeros((0, 1))), BAD_ARRAY)
    bad("detect_jumps(loss=)", lambda v: rx.detect_jumps(v), ["x", [[1j]], None, [["a"]], "deep"])
    bad("detect_jumps(window=)", lambda v: rx.detect_jumps(np.ones(20), window=v), BAD_INT + [0])
    # feature quality
    bad("staircase(d=)", lambda v: rx.staircase(v, [[0]]), BAD_INT + [0])
    bad("staircase(terms=)", lambda v: rx.staircase(4, v), ["x", [[9]], [["a"]], None, [[0.5]], 5])
    bad("classic_staircase(k=)", lambda v: rx.classic_staircase(v, 6), BAD_INT + [0, 7])
    bad("paper_staircase(d=)", rx.paper_staircase, BAD_INT + [0])
    bad("feature_quality(error_kernel=)", lambda v: rx.feature_quality(v, 1.0), BAD_REAL + [-1.0])
    X = np.ones((3, 4))
    bad("analytic_ntk(depth=)", lambda v: rx.analytic_ntk(X, depth=v, width=8), BAD_INT + [0])
    bad("analytic_ntk(X=)", lambda v: rx.analytic_ntk(v, depth=2, width=8), BAD_ARRAY)
    bad("analytic_nngp(gamma=)", lambda v: rx.analytic_nngp(X, depth=2, gamma=v), BAD_REAL + [0.0])
    task = rx.classic_staircase(2, 6)
    small = dict(width=8, steps=5, n_test=16)
    bad("compare(n_train=)", lambda v: rx.compare(task, v, **small), BAD_INT + [0])
    bad("compare(threads=)", lambda v: rx.compare(task, 16, threads=v, **small), BAD_INT + [0])
    bad("compare(ridge=)", lambda v: rx.compare(task, 16, ridge=v, **small), NOT_NONE(BAD_REAL) + [-1.0])
    bad("compare(seed=)", lambda v: rx.compare(task, 16, seed=v, **small), BAD_SEED)
    bad("compare(task=)", lambda v: rx.compare(v, 16, **small), ["x", 5, None])
    bad("compare(config)", lambda v: rx.compare(task, 16, **{**small, **v}),
        [{"width": "x"}, {"steps": -1}, {"lr": "x"}, {"depth": 0}, {"nonsense": 1}, {"gamma": float("nan")}])
    bad("SweepResult(records=)", rx.SweepResult, ["x", 5, [5], [["a"]]])
    return cases


class _Serial:
    """A minimal executor (no threads) for parallel_map's chunked path."""

    def submit(self, fn, *args):
        from concurrent.futures import Future

        f = Future()
        f.set_result(fn(*args))
        return f


def torch_cases():
    cases = []
    try:
        import torch  # noqa: F401
    except ImportError:
        return cases
    data = rx.gt16_data(200, seed=0)
    mk = lambda: rx.TorchPLRNN(2, seed=0)  # noqa: E731

    def bad(entry, fn, values):
        for v in values:
            cases.append((entry, label(v), (lambda v=v: fn(fix(v))), "error"))

    kw = dict(epochs=2, seq_len=10, progress=False)
    bad("train(lr=)", lambda v: rx.train(mk(), data, **{**kw, "lr": v}), BAD_REAL + [-1.0, 0.0, float("inf")])
    bad("train(epochs=)", lambda v: rx.train(mk(), data, **{**kw, "epochs": v}), BAD_INT + [0])
    bad("train(callback=)", lambda v: rx.train(mk(), data, **{**kw, "callback": v}), BAD_CALLABLE)
    bad("train(seed=)", lambda v: rx.train(mk(), data, **{**kw, "seed": v}), BAD_SEED)
    bad("train(alpha=)", lambda v: rx.train(mk(), data, **{**kw, "alpha": v}), ["x", 2.0, -0.1, float("nan"), [0.5]])
    bad("train(seq_len=)", lambda v: rx.train(mk(), data, **{**kw, "seq_len": v}), BAD_INT + [1, 10**6])
    bad("train(batch_size=)", lambda v: rx.train(mk(), data, **{**kw, "batch_size": v}), BAD_INT + [0])
    bad("train(optimizer=)", lambda v: rx.train(mk(), data, **{**kw, "optimizer": v}), ["x", 5])
    bad("train(grad_clip=)", lambda v: rx.train(mk(), data, **{**kw, "grad_clip": v}), NOT_NONE(BAD_REAL) + [-1.0])
    bad("train(data=)", lambda v: rx.train(mk(), v, **kw), BAD_ARRAY)
    bad("TorchPLRNN(M=)", lambda v: rx.TorchPLRNN(v), BAD_INT + [0])
    bad("TorchPLRNN(seed=)", lambda v: rx.TorchPLRNN(2, seed=v), BAD_SEED)
    bad("TorchShallowPLRNN(H=)", lambda v: rx.TorchShallowPLRNN(2, v), BAD_INT + [0])
    bad("from_torch_module(kind=)", lambda v: rx.from_torch_module(mk(), kind=v), ["x", 5, []])
    bad("from_torch_module(module=)", rx.from_torch_module, ["x", 5, None, {"type": []}])
    bad("from_torch_rnn(u=)", lambda v: rx.from_torch_rnn(torch.nn.RNN(1, 2, nonlinearity="relu"), u=v),
        ["x", [1j], [float("nan")], [1.0, 2.0], "deep"])
    return cases


# --------------------------------------------------------------------------- files
def file_cases(tmp: str):
    m = models()
    cases = []
    # good files of every type
    good = {}
    p = os.path.join(tmp, "good_model.json")
    rx.save_model_json(m, p)
    good["model"] = p
    cs = rx.find_cycles(m, 2, seed=0)
    p = os.path.join(tmp, "good_cycles.json")
    cs.save(p)
    good["cycles"] = p
    bm = rx.sweep(m, {"A[0]": np.linspace(0.1, 0.5, 3)}, 2, orbit=False)
    p = os.path.join(tmp, "good_map.npz")
    bm.save(p)
    good["map"] = p
    r = rx.Replay("plrnn", np.arange(2), {"A": np.full((2, 2), 0.5), "W": np.zeros((2, 2, 2)), "h": np.zeros((2, 2))},
                  np.ones(2), np.ones(2), np.ones(2), np.zeros(2))
    p = os.path.join(tmp, "good_replay.npz")
    r.save(p)
    good["replay"] = p
    sr = rx.SweepResult([{"n_train": 10, "fq": 2.0, "shuffled": False}])
    p = os.path.join(tmp, "good_sweep.json")
    sr.save(p)
    good["sweep"] = p
    td = rx.gt16_data(50, seed=0)
    p = os.path.join(tmp, "good_data.npz")
    td.save(p)
    good["data"] = p

    loaders = {
        "model": rx.load_model_json,
        "cycles": rx.CycleSet.load,
        "map": rx.BifurcationMap.load,
        "replay": rx.Replay.load,
        "sweep": rx.SweepResult.load,
        "data": rx.TrajectoryData.load,
    }
    n = 0

    def write(name, data: bytes):
        nonlocal n
        n += 1
        ext = os.path.splitext(name)[1]
        q = os.path.join(tmp, f"f{n}{ext}")
        with open(q, "wb") as fh:
            fh.write(data)
        return q

    for kind, path in good.items():
        load = loaders[kind]
        ext = os.path.splitext(path)[1]
        raw = open(path, "rb").read()
        cases.append((f"{kind} load", "good", (lambda load=load, path=path: load(path)), "ok"))
        hostile = {
            "empty": b"",
            "truncated": raw[: len(raw) // 2],
            "one byte": raw[:1],
            "foreign": bytes(range(256)) * 4,
            "text": b"hello",
            "deep json": b"[" * 100_000 + b"]" * 100_000,
            "deep dict": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
            "json list": b"[1, 2]",
            "type []": b'{"type": []}',
            "latin1": b"\xff\xfe\x00",
        }
        for label, data in hostile.items():
            q = write(f"x{ext}", data)
            cases.append((f"{kind} load", label, (lambda load=load, q=q: load(q)), "error"))
        cases.append((f"{kind} load", "directory", (lambda load=load: load(tmp)), "error"))
        cases.append((f"{kind} load", "missing", (lambda load=load: load(os.path.join(tmp, "nope" + ext))), "error"))

    # model JSON content
    def jcase(entry, label, obj, load, ext=".json", expect="error"):
        q = write(f"x{ext}", obj.encode() if isinstance(obj, str) else json.dumps(obj).encode())
        cases.append((entry, label, (lambda: load(q)), expect))

    base = m.to_dict()
    for label, obj in [("type []", {"type": []}), ("A str", {**base, "A": ["0.5", "0.5"]}),
                       ("A complex-ish", {**base, "A": [[1, 2], [3]]}), ("nan", {**base, "h": [float("nan"), 0]}),
                       ("shape", {**base, "W": [[1.0]]}), ("extra", {**base, "zzz": 1}),
                       ("type int", {**base, "type": 5}), ("deep A", '{"type":"PLRNN","A":' + "[" * 50000 + "]" * 50000 + "}"),
                       ("huge number", '{"type":"PLRNN","A":[1e999, 0.5],"W":[[0,0],[0,0]],"h":[0,0]}')]:
        jcase("model JSON", label, obj, rx.load_model_json)
    # cycle-set content
    csd = cs.to_dict()
    c0 = csd["cycles"][0]

    def with_cycle(**kw):  # a saved set carries its model (older files without one cannot be checked)
        return {"cycles": [{**c0, **kw}], "stats": {}, "model": m.to_dict()}

    for label, obj in [("nan point", with_cycle(points=[[float("nan"), 0.0]])),
                       ("not a cycle", with_cycle(points=[[123.0, -45.0]])),
                       ("wrong key", with_cycle(key="11")),
                       ("mixed dims", {"cycles": [c0, {**c0, "points": [[0.1, 0.2, 0.3]]}], "stats": {}}),
                       ("order str", with_cycle(order="x")), ("order 0", with_cycle(order=0)),
                       ("regions str", with_cycle(regions=[["a", "b"]])),
                       ("eig bad", with_cycle(eigenvalues=[[1.0]])), ("cycles dict", {"cycles": {}}),
                       ("cycles None", {"cycles": None}), ("cycle str", {"cycles": ["x"]})]:
        jcase("CycleSet load", label, obj, rx.CycleSet.load)
    # sweep content
    for label, obj in [("no records", {"format": "rnnexplore.featurequality.sweep/1"}),
                       ("records str", {"format": "rnnexplore.featurequality.sweep/1", "records": "x"}),
                       ("record int", {"format": "rnnexplore.featurequality.sweep/1", "records": [5]}),
                       ("wrong format", {"format": "x", "records": []})]:
        jcase("SweepResult load", label, obj, rx.SweepResult.load)
    # npz content: a valid map with one field spoilt
    import dataclasses

    fields = {f.name: np.asarray(getattr(bm, f.name)) for f in dataclasses.fields(bm)}

    def npz_case(entry, label, arrays, load):
        nonlocal n
        n += 1
        q = os.path.join(tmp, f"n{n}.npz")
        with open(q, "wb") as fh:
            np.savez(fh, **arrays)
        cases.append((entry, label, (lambda: load(q)), "error"))

    spoil = {
        "nan coords": {"pt_coords": np.full_like(fields["pt_coords"], np.nan)},
        "index out of range": {"obj_index": fields["obj_index"] + 100},
        "pt_object out of range": {"pt_object": fields["pt_object"] + 100},
        "model_json bad": {"model_json": np.array('{"type": []}')},
        "model_json deep": {"model_json": np.array("[" * 100000 + "]" * 100000)},
        "max_order str": {"max_order": np.array("x")},
        "values nan": {"values0": np.full_like(fields["values0"], np.nan)},
        "solves shape": {"solves": np.zeros((1, 1, 1))},
        "pickled object": {"names": np.array([{"a": 1}], dtype=object)},
    }
    for label, over in spoil.items():
        arrays = {**fields, **over}
        npz_case("BifurcationMap load", label, arrays, rx.BifurcationMap.load)
    missing = dict(fields)
    missing.pop("obj_key")
    npz_case("BifurcationMap load", "missing field", missing, rx.BifurcationMap.load)
    # replay content
    with np.load(good["replay"], allow_pickle=False) as z:
        rfields = {k: z[k] for k in z.files}
    for label, over in {"loss nan-length": {"loss": np.ones(5)}, "info deep": {"info": np.array("[" * 100000 + "]" * 100000)},
                        "info bad": {"info": np.array("{")}, "params str": {"param_A": np.array([["a", "b"]] * 2)},
                        "epochs float": {"epochs": np.array([0.5, 1.5])}, "kind bad": {"kind": np.array("zzz")}}.items():
        npz_case("Replay load", label, {**rfields, **over}, rx.Replay.load)
    # explorer share strings
    from rnnexplore.apps.explorer import ExplorerState

    st = ExplorerState(m, max_order=2)
    share = st.to_json()
    for label, text in [("type []", '{"model": {"type": []}}'), ("deep", "[" * 100000 + "]" * 100000),
                        ("not json", "{"), ("list", "[1]"), ("number", "5"),
                        ("model str A", json.dumps({**json.loads(share), "model": {**base, "A": ["0.5", "0.5"]}})),
                        ("max_order 1.5", json.dumps({**json.loads(share), "max_order": 1.5})),
                        ("max_order huge", json.dumps({**json.loads(share), "max_order": 10**9}))]:
        cases.append(("ExplorerState.from_json", label, (lambda text=text: ExplorerState.from_json(text)), "error"))
    # save failures must not destroy the previous file
    def failing_save(obj, spoilt, load, name):
        def thunk():
            p = os.path.join(tmp, name)
            obj.save(p)
            try:
                spoilt.save(p)
            except (ValueError, TypeError):
                pass
            try:
                load(p)
            except ValueError:
                raise RuntimeError("a failed save destroyed the previous file") from None
        return thunk

    cases.append(("save fails", "CycleSet stats", failing_save(cs, rx.CycleSet(list(cs), {"x": object()}),
                                                           rx.CycleSet.load, "keep.json"), "ok"))
    cases.append(("save fails", "Replay info", failing_save(r, dataclasses.replace(r, info={"x": object()}),
                                                        rx.Replay.load, "keep.npz"), "ok"))
    cases.append(("save fails", "SweepResult record", failing_save(sr, rx.SweepResult([{"n_train": object()}]),
                                                               rx.SweepResult.load, "keep_sweep.json"), "ok"))
    return cases


def cli_cases(tmp: str):
    from rnnexplore.cli import main

    cases = []
    m = models()
    p = os.path.join(tmp, "cli_model.json")
    rx.save_model_json(m, p)
    contents = {"type []": '{"type": []}', "deep": "[" * 100000 + "]" * 100000, "not json": "{",
                "A str": json.dumps({**m.to_dict(), "A": ["0.5", "0.5"]})}

    def run(argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        if code == 2 and len(lines) <= 1:
            raise ValueError("exit 2, one line")
        if code == 0:
            return code
        raise RuntimeError(f"exit {code}, {len(lines)} lines on stderr")

    for i, (label, text) in enumerate(contents.items()):
        q = os.path.join(tmp, f"cli{i}.json")
        with open(q, "w") as fh:
            fh.write(text)
        cases.append(("cli cycles", label, (lambda q=q: run(["cycles", q, "--max-order", "2"])), "error"))
    cases.append(("cli cycles", "directory", (lambda: run(["cycles", tmp, "--max-order", "2"])), "error"))
    for v in ["0", "-1", "100000", "x"]:
        cases.append(("cli cycles", f"--max-order {v}", (lambda v=v: run(["cycles", p, "--max-order", v])), "error"))
    cases.append(("cli cycles", "good", (lambda: run(["cycles", p, "--max-order", "2"])), "ok"))
    return cases


# --------------------------------------------------------------------------- run
def run_case(thunk, expect, timeout):
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        thunk()
        outcome = "pass" if expect == "ok" else "silent"
    except Hang:
        outcome = "hang"
    except ValueError:
        outcome = "pass" if expect == "error" else "ValueError"
    except BaseException as exc:  # noqa: BLE001 - every other kind is what we count
        outcome = type(exc).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return outcome


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--no-torch", action="store_true")
    args = ap.parse_args(argv)
    limit = 6 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _alarm)
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 1000))
    t0 = time.perf_counter()
    counts: collections.Counter = collections.Counter()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        cases = argument_cases() + ([] if args.no_torch else torch_cases()) + file_cases(tmp) + cli_cases(tmp)
        import warnings

        warnings.simplefilter("ignore")
        for entry, label, thunk, expect in cases:
            out = run_case(thunk, expect, args.timeout)
            counts[out] += 1
            if out != "pass":
                failures.append((entry, label, out))
    n = sum(counts.values())
    print(f"{n} hostile inputs, {counts['pass']} handled as promised, {n - counts['pass']} not "
          f"({time.perf_counter() - t0:.0f} s)")
    for kind, c in counts.most_common():
        if kind != "pass":
            print(f"  {kind:<20} {c}")
    by_entry = collections.Counter(e for e, _, _ in failures)
    if args.verbose:
        for entry, label, out in failures:
            print(f"    {out:<16} {entry}  {label}")
    else:
        print("entries with failures:", ", ".join(f"{e} ({c})" for e, c in by_entry.most_common()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
