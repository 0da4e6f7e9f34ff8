"""Benchmarks of the feature-quality half: empirical NTK, batched sweeps, the 8-term staircase,
depth against width.

Run from the repository root (each part can be run alone)::

    .venv/bin/python benchmarks/bench_featurequality.py --parts ntk
    .venv/bin/python benchmarks/bench_featurequality.py --parts steps        # training step cost
    .venv/bin/python benchmarks/bench_featurequality.py --parts pair         # kernels of the n=4000 pair
    .venv/bin/python benchmarks/bench_featurequality.py --parts sweep        # batched vs separate
    .venv/bin/python benchmarks/bench_featurequality.py --parts paper        # 8-term staircase FQ
    .venv/bin/python benchmarks/bench_featurequality.py --parts depthwidth   # writes package data

``ntk``: the 4000 x 4000 empirical NTK of the S4 MLP (d = 20, 3 hidden layers of width
256, ~137k parameters) with :func:`rnnexplore.featurequality.empirical_ntk` (one backward
pass, per-layer Gram products) against the torch.func reference (vmap of jacrev
per-example Jacobians, then ``J J^T``), measured on a subset (``--subset``) and extrapolated
(Jacobian time linear in n, contraction quadratic; both stated in the output).

``steps``: training cost alone in one process (1 thread): 15 S4 networks trained one after
another with ``train_mlp``, the same 15 as one batched model, and as one batched model with the
previous autograd training step (process CPU seconds; ``--step-count`` steps).

``sweep``: the CPU-scale S4 sweep (S4, d = 20, n_train 250..4000, seeds 0-2, shuffled
controls at every n: 30 runs, 8000 steps) twice in the same run on a 2-process pool (1 torch
thread each): every run separately (``batches=30``, the pre-batching behaviour) and as two
batched models (``batches=2``). Prints both wall times, their ratio and the load average,
checks that both give the same numbers, and writes the batched sweep to
``rnnexplore/featurequality/data/s4_sweep.json``.

``paper``: the paper's 8-term staircase (d = 30) at n = 2000 and 4000 (and a shuffled-label
control at 4000) with the CPU-scale schedule (15000 steps, Adam lr 1e-2 cosine-annealed,
batch 64), with every kernel; prints FQ and time, writes
``rnnexplore/featurequality/data/paper8_sweep.json``.

``depthwidth``: depth {1, 2, 3, 4} x width {64, 256, 1024} on S4 over n_train, FQ against
the analytic NTK (no empirical kernels), one batched model per architecture on 2 processes;
writes ``rnnexplore/featurequality/data/depth_width.json`` and prints the n at which FQ first
exceeds 10.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np


def _best(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def bench_ntk(n: int, subset: int, repeat: int) -> None:
    import torch

    from rnnexplore.featurequality import classic_staircase
    from rnnexplore.featurequality.mlp import ReLUMLP, empirical_ntk, empirical_ntk_torchfunc

    torch.set_num_threads(min(2, os.cpu_count() or 1))
    X, _ = classic_staircase(4, 20).sample(n, seed=0)
    model = ReLUMLP(20, 3, 256, seed=0)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"empirical NTK, MLP d=20, 3x256 ({n_params} parameters), float64, torch threads={torch.get_num_threads()}")

    t_fact, K = _best(lambda: empirical_ntk(model, X), repeat)
    print(f"  layer-factorised formula, n={n}: {t_fact:.2f} s")

    Xs = X[:subset]
    t_fact_s, Ks = _best(lambda: empirical_ntk(model, Xs), repeat)
    # torch.func reference, split into Jacobian and contraction for the extrapolation
    from torch.func import functional_call, jacrev, vmap

    m = ReLUMLP(20, 3, 256, seed=0).double()
    params = {k: v.detach() for k, v in m.named_parameters()}
    xs = torch.as_tensor(Xs, dtype=torch.float64)

    def jac():
        J = vmap(jacrev(lambda p, x: functional_call(m, p, (x[None],))[0]), (None, 0))(params, xs)
        return torch.cat([J[k].reshape(len(xs), -1) for k in params], dim=1)

    t_jac, J = _best(jac, repeat)
    t_con, Kref = _best(lambda: (J @ J.T).numpy(), repeat)
    rel = np.linalg.norm(Ks - Kref) / np.linalg.norm(Kref)
    assert np.allclose(empirical_ntk_torchfunc(model, Xs[:50]), Ks[:50, :50], rtol=1e-6)
    print(f"  subset n={subset}: factorised {t_fact_s:.3f} s; torch.func Jacobian {t_jac:.3f} s "
          f"+ contraction {t_con:.3f} s = {t_jac + t_con:.3f} s  (relative difference {rel:.1e})")
    print(f"  ratio at n={subset} (measured): {(t_jac + t_con) / t_fact_s:.1f}x")
    scale = n / subset
    t_tf = t_jac * scale + t_con * scale**2
    print(f"  torch.func at n={n} extrapolated (Jacobian x{scale:g}, contraction x{scale**2:g}): {t_tf:.1f} s, "
          f"Jacobian memory {n * n_params * 8 / 1e9:.1f} GB")
    print(f"  ratio at n={n} (extrapolated): {t_tf / t_fact:.1f}x   (target >= 10x)")
    del K


DATA = Path(__file__).resolve().parents[1] / "rnnexplore" / "featurequality" / "data"
S4_NS = [250, 500, 1000, 2000, 4000]
#: the 8-term staircase's CPU-scale schedule (tuned: 8000 steps at lr 2e-3 gave FQ ~3)
PAPER_CONFIG = dict(depth=3, width=256, steps=15000, lr=1e-2, batch_size=64, n_test=2000)
PAPER_NS = [2000, 4000]
DW_NS = [250, 500, 1000, 2000, 3000, 4000]


def _pool(workers):
    ctx = multiprocessing.get_context("spawn")  # torch + fork is fragile
    return ProcessPoolExecutor(workers, mp_context=ctx)


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children (the pool's workers)."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench_sweep(out: Path, workers: int, modes: list[str]) -> None:
    """Wall time and the workers' CPU seconds per mode. On a shared machine the CPU seconds are
    the fairer comparison: they do not depend on how many other jobs took turns on the cores."""
    from rnnexplore.featurequality import classic_staircase, sweep

    task = classic_staircase(4, 20)
    walls, cpus, results = {}, {}, {}
    for label in modes:
        batches = {"separate": 30, "batched": workers}[label]
        load0 = os.getloadavg()[0]
        t, c = time.perf_counter(), _children_cpu()
        with _pool(workers) as ex:
            results[label] = sweep(task, S4_NS, seeds=[0, 1, 2], shuffled=True, executor=ex, batches=batches)
        walls[label], cpus[label] = time.perf_counter() - t, _children_cpu() - c
        print(f"S4 sweep, 30 runs x 8000 steps, {label:8s} (batches={batches:2d}, {workers} processes x 1 thread): "
              f"wall {walls[label]:.0f} s, worker CPU {cpus[label]:.0f} s   "
              f"(load average {load0:.2f} -> {os.getloadavg()[0]:.2f})", flush=True)
        if label == "batched":  # each batch's wall time (its records carry wall / runs): the idle tail
            per_batch: dict[float, int] = {}
            for r in results[label].records:
                per_batch[r["seconds"]] = per_batch.get(r["seconds"], 0) + 1
            batch_walls = sorted(sec * count for sec, count in per_batch.items())
            print(f"  batch walls {', '.join(f'{w:.0f}' for w in batch_walls)} s ({', '.join(map(str, per_batch.values()))} "
                  f"runs): the first worker idles {batch_walls[-1] - batch_walls[0]:.0f} s at the end", flush=True)
    if len(results) == 2:
        print(f"  batched / separate: wall {walls['batched'] / walls['separate']:.2f}, "
              f"CPU {cpus['batched'] / cpus['separate']:.2f}")
        a, b = results["separate"], results["batched"]
        dev = max(abs(np.log10(x["fq"]) - np.log10(y["fq"])) for x, y in zip(a.records, b.records))
        print(f"  largest |log10 FQ| difference between the two: {dev:.3f} (float32 rounding of training grows over 8000 steps)")
    res = results.get("batched", results[modes[-1]])
    out.parent.mkdir(parents=True, exist_ok=True)
    res.save(out)
    print(f"  saved the batched sweep to {out}")
    print(res.table(["err_net", "err_ntk", "err_kT", "fq", "cka", "cka_debiased", "rel_frob", "kta_T", "max_angle"],
                    shuffled=False))
    print("shuffled labels:")
    print(res.table(["err_net", "err_ntk", "fq", "one_minus_cka", "cka_debiased", "rel_frob"], shuffled=True))


def bench_pair(steps: int) -> None:
    """The non-training cost of the sweep's largest work: the n = 4000 clean + shuffled pair with
    ``steps`` training steps (all five kernels, the strength and feature measures), one process."""
    from rnnexplore.featurequality import classic_staircase, compare_many

    task = classic_staircase(4, 20)
    compare_many(task, [(100, 0, False)], steps=10, n_test=100)  # imports, caches
    c, t = time.process_time(), time.perf_counter()
    compare_many(task, [(4000, 0, False), (4000, 0, True)], steps=steps)
    print(f"n=4000 clean + shuffled pair, {steps} training steps, one process: CPU {time.process_time() - c:.1f} s, "
          f"wall {time.perf_counter() - t:.1f} s (load average {os.getloadavg()[0]:.2f})")


def _autograd_batched(nets, data, steps, lr, batch_size):
    """The previous training step, for comparison: stacked ``W^T``, ``baddbmm`` forward, autograd
    backward, the same fused Adam, cosine lr and index stream (minibatches from one draw)."""
    import math

    import torch

    B, L = len(nets), len(nets[0].layers)
    WTs = [torch.stack([m.layers[k].weight.detach().T for m in nets]).contiguous().requires_grad_(True) for k in range(L)]
    bs = [torch.stack([m.layers[k].bias.detach() for m in nets]).unsqueeze(1).clone().requires_grad_(True)
          for k in range(L)]
    n_max = max(len(X) for X, _ in data)
    Xp, yp = torch.zeros(B, n_max, data[0][0].shape[1]), torch.zeros(B, n_max)
    for j, (X, y) in enumerate(data):
        Xp[j, :len(X)], yp[j, :len(y)] = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.float32)
    idx_all = torch.stack([torch.randint(0, len(X), (steps, batch_size), generator=torch.Generator().manual_seed(j))
                           for j, (X, _) in enumerate(data)], dim=1)
    opt = torch.optim.Adam(WTs + bs, lr=lr, fused=True)
    rows = torch.arange(B).unsqueeze(1)
    for step in range(steps):
        idx = idx_all[step]
        h, y = Xp[rows, idx], yp[rows, idx]
        for WT, b in zip(WTs[:-1], bs[:-1]):
            h = torch.relu(torch.baddbmm(b, h, WT))
        loss = torch.mean((torch.baddbmm(bs[-1], h, WTs[-1]).squeeze(-1) - y) ** 2, dim=1).sum()
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * step / steps))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()


def bench_steps(models: int, steps: int, repeat: int) -> None:
    """Training cost only, one process, one torch thread: ``models`` S4 networks (3 x 256, batch 64)
    trained one after another with ``train_mlp``, as one batched model (``train_batched``: hand-written
    backward pass, denormals flushed) and as one batched model with the previous autograd step
    (:func:`_autograd_batched`), interleaved ``repeat`` times; process CPU seconds (fairer under load)
    and wall seconds, best of the repeats."""
    import torch

    from rnnexplore.featurequality import classic_staircase
    from rnnexplore.featurequality.mlp import ReLUMLP, train_batched, train_mlp

    torch.set_num_threads(1)
    task = classic_staircase(4, 20)
    data = [task.sample(n, seed=j) for j, n in enumerate([250, 500, 1000, 2000, 4000] * (models // 5 + 1))][:models]
    cfg = dict(steps=steps, lr=2e-3, batch_size=64)
    labels = ("separate", "batched", "autograd")
    best = {label: (np.inf, np.inf) for label in labels}
    for _ in range(repeat):
        for label in labels:
            nets = [ReLUMLP(20, 3, 256, seed=j) for j in range(models)]
            c, t = time.process_time(), time.perf_counter()
            if label == "separate":
                for j, (net, (X, y)) in enumerate(zip(nets, data)):
                    train_mlp(net, X, y, seed=j, **cfg)
            elif label == "batched":
                train_batched(nets, [X for X, _ in data], [y for _, y in data], seeds=range(models), **cfg)
            else:
                _autograd_batched(nets, data, **cfg)
            cpu, wall = time.process_time() - c, time.perf_counter() - t
            best[label] = min(best[label], (cpu, wall))
    per = {label: 1e3 * best[label][0] / models / steps for label in labels}
    print(f"training only, {models} S4 networks x {steps} steps, 1 thread (best of {repeat}, load average "
          f"{os.getloadavg()[0]:.2f}); CPU s (wall s), ms CPU per model-step:")
    for label in labels:
        print(f"  {label:9s} {best[label][0]:6.1f} s ({best[label][1]:6.1f} s)  {per[label]:.3f} ms")
    print(f"  batched / previous autograd batched step: {per['batched'] / per['autograd']:.2f}; "
          f"batched / separate: {per['batched'] / per['separate']:.2f}")


def bench_paper(out: Path, workers: int) -> None:
    from rnnexplore.featurequality import paper_staircase, sweep

    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    with _pool(workers) as ex:
        res = sweep(paper_staircase(), PAPER_NS, seeds=[0], shuffled=[4000], executor=ex, batches=workers,
                    **PAPER_CONFIG)
    wall = time.perf_counter() - t
    res.save(out)
    print(f"8-term staircase (d=30), {PAPER_CONFIG}, n {PAPER_NS} + shuffled control at 4000, "
          f"{len(res)} runs as {workers} batched models on {workers} processes: wall {wall:.0f} s "
          f"(load average {load0:.2f} -> {os.getloadavg()[0]:.2f}); saved {out}")
    print(res.table(["err_net", "err_ntk", "err_kT", "fq", "cka", "cka_debiased", "rel_frob", "max_angle", "seconds"],
                    shuffled=False))
    print("shuffled labels:")
    print(res.table(["err_net", "err_ntk", "fq", "one_minus_cka", "rel_frob"], shuffled=True))


def _one_item(depth: int, width: int, n: int) -> list[dict]:
    from rnnexplore.featurequality import architecture_sweep, classic_staircase

    res = architecture_sweep(classic_staircase(4, 20), [n], seeds=[0], depths=[depth], widths=[width])
    return res.records


#: order of the training-set sizes: those that decide where FQ first exceeds 10 first
DW_ORDER = [1000, 500, 250, 2000, 4000, 3000]
assert sorted(DW_ORDER) == DW_NS


def bench_depth_width(out: Path, workers: int, widths: list[int], missing_only: bool = False) -> None:
    """One work item per (depth, width, n_train) (the training cost of an item does not depend on n;
    wide networks are compute-bound, so batching the sizes of one architecture gains little), in the
    order of :data:`DW_ORDER` and widest first. The file is rewritten after every finished item, so an
    interrupted run leaves the part of the grid it finished; records of other widths already in
    ``out`` are kept, so ``--dw-widths 1024`` adds one width to an existing table. With
    ``missing_only`` (``--dw-missing``) every record in ``out`` is kept and only the
    (depth, width, n_train) items absent from it are trained, so an interrupted run can be resumed."""
    from concurrent.futures import as_completed

    from rnnexplore.featurequality import SweepResult, first_n_above

    items = [(dp, w, n) for n in DW_ORDER for w in sorted(widths, reverse=True) for dp in (4, 3, 2, 1)]
    old = SweepResult.load(out).records if out.exists() else []
    if missing_only:
        done = {(r["depth"], r["width"], r["n_train"]) for r in old}
        items = [item for item in items if item not in done]
        kept = old
    else:
        kept = [r for r in old if r["width"] not in widths]
    print(f"depth x width: {len(items)} items to train: {items}", flush=True)
    load0 = os.getloadavg()[0]
    t = time.perf_counter()
    records: list[dict] = []
    out.parent.mkdir(parents=True, exist_ok=True)
    with _pool(workers) as ex:
        futures = {ex.submit(_one_item, *item): item for item in items}
        for fut in as_completed(futures):
            records.extend(fut.result())
            SweepResult(sorted(kept + records, key=lambda r: (r["depth"], r["width"], r["n_train"], r["seed"]))).save(out)
            dp, w, n = futures[fut]
            print(f"  depth {dp} x width {w}, n = {n} done at {time.perf_counter() - t:.0f} s "
                  f"(load average {os.getloadavg()[0]:.2f})", flush=True)
    wall = time.perf_counter() - t
    res = SweepResult.load(out)
    print(f"depth x width on S4 (widths {widths} rerun; n {DW_NS}, seed 0, 8000 steps, analytic NTK only): "
          f"wall {wall:.0f} s (load average {load0:.2f} -> {os.getloadavg()[0]:.2f}); saved {out}")
    print("| depth | width | n where FQ first > 10 | largest FQ | at n <= |")
    print("|---|---|---|---|---|")
    for row in first_n_above(res, 10.0):
        print(f"| {row['depth']} | {row['width']} | {row['n_first'] or 'not reached'} | {row['max_median']:.3g} | {row['n_max']} |")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parts", default="ntk,steps,sweep,paper",
                    help="comma-separated: ntk, steps, pair, sweep, paper, depthwidth")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--subset", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=DATA / "s4_sweep.json")
    ap.add_argument("--depth-width-out", type=Path, default=DATA / "depth_width.json")
    ap.add_argument("--paper-out", type=Path, default=DATA / "paper8_sweep.json")
    ap.add_argument("--step-count", type=int, default=500, help="steps part: training steps per model")
    ap.add_argument("--modes", default="separate,batched", help="sweep part: separate, batched or both")
    ap.add_argument("--dw-widths", default="64,256,1024", help="depthwidth part: widths to (re)run")
    ap.add_argument("--dw-missing", action="store_true",
                    help="depthwidth part: keep every record in the file, train only the missing items")
    args = ap.parse_args(argv)
    parts = set(args.parts.split(","))
    unknown = parts - {"ntk", "steps", "pair", "sweep", "paper", "depthwidth"}
    if unknown:
        ap.error(f"unknown parts {sorted(unknown)}")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    if "ntk" in parts:
        bench_ntk(args.n, args.subset, args.repeat)
    if "sweep" in parts:
        bench_sweep(args.out, args.workers, args.modes.split(","))
    if "steps" in parts:
        bench_steps(15, args.step_count, args.repeat)
    if "pair" in parts:
        bench_pair(50)
    if "paper" in parts:
        bench_paper(args.paper_out, args.workers)
    if "depthwidth" in parts:
        bench_depth_width(args.depth_width_out, args.workers, [int(w) for w in args.dw_widths.split(",")],
                          args.dw_missing)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
