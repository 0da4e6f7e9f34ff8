"""Benchmark: bifurcation map of the paper's 2-D system (GT16) with the batched continuation.

Measures, for an n x n grid over (delta a11, delta a22) in [-1, 1]^2 up to order K:

- wall time of the continuation sweep serially (in-process) and on a 2-worker
  ``dask.distributed.LocalCluster`` (the same default tiling, 4 x 4 tiles; whether the maps are
  identical). Both are warmed first by a 20 x 20 sweep (imports and caches; on the cluster in
  every worker), and the cluster start is not counted;
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
"""

from __future__ import annotations

import argparse
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
    thread CPU time of every task (tile, exchange round, events) recorded; the tasks of each
    round are then scheduled greedily, in submission order, on ``workers`` workers, plus the
    CPU time of the code between rounds. Returns (serial CPU s, projected wall s, ratio); it
    leaves out data transfer and scheduler latency (the real cluster run measures those)."""
    import heapq

    import rnnexplore.dynamics.bifurcation as bif

    log: list[list[float]] = []
    orig = bif.parallel_map

    def recording(func, items, **kw):
        times: list[float] = []

        def timed(item):
            t = time.thread_time()
            out = func(item)
            times.append(time.thread_time() - t)
            return out

        log.append(times)
        return orig(timed, items, **kw)

    bif.parallel_map = recording
    try:
        t0 = time.thread_time()
        bif.sweep(m, grid, K, seed=seed)
        cpu = time.thread_time() - t0
    finally:
        bif.parallel_map = orig
    wall = cpu - sum(map(sum, log))
    for times in log:
        free = [0.0] * workers
        for t in times:
            heapq.heappush(free, heapq.heappop(free) + t)
        wall += max(free)
    return cpu, wall, cpu / wall


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
        print(f"CPU-time schedule: serial {cpu:.2f} s of CPU; on {args.workers} idle workers (tasks greedily in "
              f"submission order, no transfer costs) {wall:.2f} s -> projected {ratio:.2f}x (target >= 1.7x)")

    if not args.skip_dask:
        from dask.distributed import Client, LocalCluster

        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t_start = time.perf_counter() - t0
            sweep(m, warm, K, seed=args.seed, executor=client.get_executor())
            t1 = time.perf_counter()
            dasked = sweep(m, grid, K, seed=args.seed, executor=client.get_executor())
            t_dask = time.perf_counter() - t1
        print(f"Dask LocalCluster ({args.workers}): {t_dask:8.1f} s  speed-up {t_serial / t_dask:.2f}x over serial "
              f"(target >= 1.7x; cluster start {t_start:.1f} s not included), identical: {same_map(serial, dasked)}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
