"""Benchmark: bifurcation map of the paper's 2-D system (GT16) with continuation, serial / pool / Dask.

Measures, for an n x n grid over (delta a11, delta a22) in [-1, 1]^2 up to order K:

- wall time of the continuation sweep serially, on a 2-process pool and on a 2-worker
  ``dask.distributed.LocalCluster`` (and whether the three maps are identical);
- linear solves per grid point with continuation against independent full searches
  (``find_cycles`` from scratch at every point; estimated on a random sample of points unless
  ``--independent-all``), the target being at least 20x fewer;
- the speed-up of the pool and of the Dask cluster over serial.

The issue's setting is ``--n 200 --max-order 16`` (40 000 points; long on a shared 2-core
machine: roughly 0.02-0.05 s per point serially). Smaller grids: ``--n 61``.

Usage::

    .venv/bin/python benchmarks/bench_bifurcation.py --n 61
    .venv/bin/python benchmarks/bench_bifurcation.py --n 200 --max-order 16 --sample 100
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200, help="grid points per axis (default 200)")
    ap.add_argument("--max-order", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--sample", type=int, default=50, help="points for the independent-search estimate")
    ap.add_argument("--independent-all", action="store_true", help="independent searches at every point")
    ap.add_argument("--skip-pool", action="store_true")
    ap.add_argument("--skip-dask", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    m = paper_gt16()
    g = np.linspace(-1.0, 1.0, args.n)
    grid = {"A[0]": m.get_param("A[0]") + g, "A[1]": m.get_param("A[1]") + g}
    K = args.max_order
    print(f"GT16 map: {args.n} x {args.n} grid, orders 1..{K}; load average at start {os.getloadavg()}")

    t0 = time.perf_counter()
    serial = sweep(m, grid, K, seed=args.seed)
    t_serial = time.perf_counter() - t0
    n_pts = args.n * args.n
    print(f"serial continuation:   {t_serial:8.1f} s  ({1e3 * t_serial / n_pts:.1f} ms/point, "
          f"{serial.solves_per_point:.1f} solves/point, {int(serial.full_search.sum())} full searches, "
          f"{len(serial.ev_kind)} events)")

    # independent per-point searches (the baseline)
    if args.independent_all:
        t0 = time.perf_counter()
        ind = sweep(m, grid, K, seed=args.seed, continuation=False)
        t_ind = time.perf_counter() - t0
        s_ind = ind.solves_per_point
        missed = int(np.sum(ind.n_objects() > serial.n_objects()))
        print(f"independent (all):     {t_ind:8.1f} s  ({s_ind:.1f} solves/point); "
              f"points where independent found more: {missed}")
    else:
        rng = np.random.default_rng(1)
        idx = rng.integers(0, args.n, (args.sample, 2))
        solves, missed = [], 0
        t0 = time.perf_counter()
        for n, (i, j) in enumerate(idx):
            cs = find_cycles(serial.model_at(i, j), K, seed=10_000 + n)
            solves.append(cs.stats["total_solves"])
            missed += bool(cs.keys() - serial.cycles_at(i, j).keys())
        t_ind = (time.perf_counter() - t0) / args.sample * n_pts
        s_ind = float(np.mean(solves))
        print(f"independent (sample of {args.sample}): {s_ind:.1f} solves/point, estimated {t_ind:.1f} s for the "
              f"grid; sampled points where an independent search found an object the map lacks: {missed}")
    print(f"solves per point: continuation {serial.solves_per_point:.1f} vs independent {s_ind:.1f} "
          f"-> {s_ind / serial.solves_per_point:.1f}x fewer (target >= 20x)")

    if not args.skip_pool:
        t0 = time.perf_counter()
        with ProcessPoolExecutor(args.workers) as ex:
            pooled = sweep(m, grid, K, seed=args.seed, executor=ex)
        t_pool = time.perf_counter() - t0
        print(f"process pool ({args.workers}):      {t_pool:8.1f} s  speed-up {t_serial / t_pool:.2f}x, "
              f"identical: {same_map(serial, pooled)}")

    if not args.skip_dask:
        from dask.distributed import Client, LocalCluster

        t0 = time.perf_counter()
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, Client(cluster) as client:
            t_start = time.perf_counter() - t0
            t1 = time.perf_counter()
            dasked = sweep(m, grid, K, seed=args.seed, executor=client.get_executor())
            t_dask = time.perf_counter() - t1
        print(f"Dask LocalCluster ({args.workers}): {t_dask:8.1f} s  speed-up {t_serial / t_dask:.2f}x over serial "
              f"(cluster start {t_start:.1f} s not included), identical: {same_map(serial, dasked)}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
