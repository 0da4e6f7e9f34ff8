"""Benchmark: bifurcation map of the paper's 2-D system (GT16) with the batched continuation.

Measures, for an n x n grid over (delta a11, delta a22) in [-1, 1]^2 up to order K:

- wall time of the continuation sweep serially (in-process) and on a 2-worker
  ``dask.distributed.LocalCluster`` (one thread each; the same default tiling, 4 x 4 tiles;
  whether the maps are identical), ``--repeats`` times each, alternating, medians compared:
  first a cluster with Dask's default settings, then the kit's
  :func:`rnnexplore.parallel.local_cluster` (its lean settings), each against the serial
  sweeps run alternately with it. Both are warmed first by a 20 x 20 sweep (imports and
  caches), and the cluster start is not counted;
- wall time of independent per-point searches (``find_cycles`` from scratch, default budget),
  estimated from a random sample of points timed in the same run; the target is >= 100x;
- completeness: at ``--thorough`` random points a thorough independent search
  (``budget="thorough"``) must find no object the map lacks;
- with ``--schedule``: a load-independent projection of the 2-worker speed-up from the thread
  CPU time of every task of an in-process run (on a shared machine the cluster's processes share
  one scheduler group's CPU with the serial run, so wall-time ratios there measure the load);
- with ``--prove K``: the cost of proving every cell complete to order K
  (``sweep(..., prove=K)``: every Lyndon word over the effective letters solved at every
  point), against the plain sweep, and the objects the proof added.

Usage::

    .venv/bin/python benchmarks/bench_bifurcation.py                     # 200 x 200, K = 16
    .venv/bin/python benchmarks/bench_bifurcation.py --n 61 --skip-dask
    .venv/bin/python benchmarks/bench_bifurcation.py --sample 0 --thorough 0 --prove 4 --skip-dask
    .venv/bin/python benchmarks/bench_bifurcation.py --sample 0 --thorough 0 --schedule    # Dask only
    .venv/bin/python benchmarks/bench_bifurcation.py --sample 0 --thorough 0 --repeats 5   # Dask, 5 each
"""

from __future__ import annotations

import argparse
import importlib
import os
import time
from dataclasses import fields

import numpy as np

from rnnexplore.dynamics.bifurcation import BifurcationMap, sweep
from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import paper_gt16


def same_map(a: BifurcationMap, b: BifurcationMap) -> bool:
    for f in fields(BifurcationMap):
        x, y = np.asarray(getattr(a, f.name)), np.asarray(getattr(b, f.name))
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"):
            return False
    return True


def schedule_projection(m, grid, K: int, seed: int, workers: int) -> tuple[float, float, float]:
    """Load-independent estimate of the parallel speed-up: the sweep run in-process with the
    thread CPU time of every tile step recorded; the steps of each round (a tile's n-th step
    is in round n) are then scheduled greedily, in submission order, on ``workers`` workers,
    plus the CPU time of the code between steps. Returns (serial CPU s, projected wall s,
    ratio). The sweep itself has no barrier between rounds (a tile's next step waits only
    for its neighbours), so this is pessimistic there, and it leaves out data transfer and
    scheduler latency (the real cluster run measures those)."""
    import heapq

    import rnnexplore.parallel as par

    log: dict[int, list[float]] = {}
    steps: dict = {}
    orig = par.Resident.submit

    def submit(self, func, key, item, priority=0):
        rnd = steps[key] = steps.get(key, 0) + 1

        def timed(state, item):
            t = time.thread_time()
            out = func(state, item)
            log.setdefault(rnd, []).append(time.thread_time() - t)
            return out

        return orig(self, timed, key, item, priority)

    par.Resident.submit = submit
    try:
        t0 = time.thread_time()
        sweep(m, grid, K, seed=seed)
        cpu = time.thread_time() - t0
    finally:
        par.Resident.submit = orig
    wall = cpu - sum(map(sum, log.values()))
    for times in log.values():
        free = [0.0] * workers
        for t in times:
            heapq.heappush(free, heapq.heappop(free) + t)
        wall += max(free)
    return cpu, wall, cpu / wall


def timed_sweeps(m, grid, K: int, seed: int, repeats: int, executor=None) -> tuple[list[float], BifurcationMap]:
    """Wall times of ``repeats`` sweeps (the last map is returned)."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        bm = sweep(m, grid, K, seed=seed, executor=executor)
        times.append(time.perf_counter() - t0)
    return times, bm


def dask_runs(m, grid, warm, K: int, args, serial: BifurcationMap, lean: bool) -> dict:
    """Serial and Dask sweeps alternating ``args.repeats`` times on a fresh 2-worker cluster:
    :func:`rnnexplore.parallel.local_cluster` (``lean``: the kit's settings, else Dask's
    defaults). Both are warmed first; the cluster start is not counted. Wall and CPU times."""
    from dask.distributed import Client

    from rnnexplore.parallel import local_cluster

    name = (f"Dask local_cluster({args.workers}) (the kit's lean settings)" if lean else
            f"Dask LocalCluster({args.workers}, 1 thread each, Dask's default settings)")
    out = {"name": name, "serial": [], "serial_cpu": [], "dask": [], "workers_cpu": [], "client_cpu": [],
           "identical": True}
    t0 = time.perf_counter()
    with local_cluster(args.workers, lean=lean) as cluster, Client(cluster) as client:
        out["start"] = time.perf_counter() - t0
        ex = client.get_executor()
        for mod in ("rnnexplore.dynamics.bifurcation", "rnnexplore.dynamics.events", "scipy.sparse.csgraph"):
            client.run(importlib.import_module, mod)  # every worker, not only the warm sweep's
        sweep(m, warm, K, seed=args.seed, executor=ex)
        for _ in range(args.repeats):  # alternate, so both see the same load
            c0 = time.process_time()
            out["serial"] += timed_sweeps(m, grid, K, args.seed, 1)[0]
            out["serial_cpu"].append(time.process_time() - c0)
            w0, c0 = client.run(time.process_time), time.process_time()
            t, dasked = timed_sweeps(m, grid, K, args.seed, 1, ex)
            w1, c1 = client.run(time.process_time), time.process_time()
            out["workers_cpu"].append(sum(w1[k] - w0[k] for k in w0))
            out["client_cpu"].append(c1 - c0)
            out["dask"] += t
            out["identical"] &= same_map(serial, dasked)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="grid points per axis (default 200)")
    ap.add_argument("--max-order", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=int, default=100, help="points timed for the independent-search estimate")
    ap.add_argument("--thorough", type=int, default=100, help="random points checked with thorough searches")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--prove", type=int, default=0, help="also time sweep(prove=K) (0: skip)")
    ap.add_argument("--schedule", action="store_true",
                    help="also project the Dask speed-up from the CPU time of every task (load-independent)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3,
                    help="serial and Dask sweeps timed alternately this many times each (medians compared)")
    args = ap.parse_args()

    m = paper_gt16()
    g = np.linspace(-1.0, 1.0, args.n)
    grid = {"A[0]": m.get_param("A[0]") + g, "A[1]": m.get_param("A[1]") + g}
    K, n_pts = args.max_order, args.n * args.n
    print(f"GT16 map: {args.n} x {args.n} grid, orders 1..{K}; load average at start {os.getloadavg()}")

    warm = {name: v[:20] for name, v in grid.items()}
    sweep(m, warm, K, seed=args.seed)
    t0 = time.perf_counter()
    serial = sweep(m, grid, K, seed=args.seed)
    t_serial = time.perf_counter() - t0
    print(f"serial continuation: {t_serial:8.1f} s ({1e3 * t_serial / n_pts:.2f} ms/point, "
          f"{serial.solves_per_point:.1f} solves/point, {int(serial.full_search.sum())} full searches, "
          f"{len(serial.obj_order)} objects, {len(serial.ev_kind)} events)")

    print(f"  {serial.proven_summary()}")
    rng = np.random.default_rng(1)
    idx = rng.integers(0, args.n, (args.sample, 2))
    if args.sample:
        t0 = time.perf_counter()
        solves = [find_cycles(serial.model_at(i, j), K, seed=10_000 + n).stats["total_solves"]
                  for n, (i, j) in enumerate(idx)]
        t_ind = (time.perf_counter() - t0) / args.sample * n_pts
        print(f"independent searches: {np.mean(solves):.1f} solves/point; estimated {t_ind:.1f} s for the grid "
              f"(from {args.sample} points) -> continuation is {t_ind / t_serial:.1f}x faster (target >= 100x)")

    idx = rng.integers(0, args.n, (args.thorough, 2))
    missed = []
    for n, (i, j) in enumerate(idx):
        ref = find_cycles(serial.model_at(i, j), K, seed=20_000 + n, budget="thorough")
        lack = ref.keys() - serial.cycles_at(i, j).keys()
        if lack:
            missed.append(((int(i), int(j)), sorted(lack)))
    print(f"thorough independent searches at {args.thorough} random points: {len(missed)} points with an "
          f"object the map lacks {missed[:5]}")

    if args.prove:
        t0 = time.perf_counter()
        proven = sweep(m, grid, K, seed=args.seed, prove=args.prove)
        t_prove = time.perf_counter() - t0
        added = int(proven.counts().sum() - serial.counts().sum())
        print(f"sweep(prove={args.prove}): {t_prove:8.1f} s = {t_prove / t_serial:.1f}x the plain sweep "
              f"({proven.solves_per_point:.0f} solves/point); {proven.proven_summary()}; "
              f"{added} object(s) added by the proof")

    if args.schedule:
        cpu, wall, ratio = schedule_projection(m, grid, K, args.seed, args.workers)
        print(f"CPU-time schedule: serial {cpu:.2f} s of CPU; on {args.workers} idle workers (each round's tasks "
              f"greedily in submission order, a barrier after each round, no transfer costs) {wall:.2f} s -> "
              f"projected {ratio:.2f}x (target >= 1.7x)")

    if not args.skip_dask:
        results = [dask_runs(m, grid, warm, K, args, serial, lean) for lean in (False, True)]
        ser = [c for r in results for c in r["serial_cpu"]]
        all_serial = [t_serial] + [t for r in results for t in r["serial"]]
        print(f"serial   sweeps: {', '.join(f'{t:.2f}' for t in all_serial)} s (median {np.median(all_serial):.2f} s; "
              f"CPU per sweep median {np.median(ser):.2f} s)")
        for r in results:
            t_s, t_d = float(np.median(r["serial"])), float(np.median(r["dask"]))
            print(f"{r['name']}: {', '.join(f'{t:.2f}' for t in r['dask'])} s (median {t_d:.2f} s; cluster start "
                  f"{r['start']:.1f} s not included), maps identical: {r['identical']}; CPU per sweep (medians): "
                  f"workers {np.median(r['workers_cpu']):.2f} s + client and scheduler process "
                  f"{np.median(r['client_cpu']):.2f} s")
            print(f"  speed-up over the serial sweeps alternating with it ({', '.join(f'{t:.2f}' for t in r['serial'])} s,"
                  f" median {t_s:.2f} s): {t_s / t_d:.2f}x (target >= 1.7x) {'MET' if t_s / t_d >= 1.7 else 'NOT met'}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
