"""Benchmark: empirical NTK by the layer-factorised formula vs torch.func, and the S4 sweep.

Run from the repository root::

    .venv/bin/python benchmarks/bench_featurequality.py            # both parts
    .venv/bin/python benchmarks/bench_featurequality.py --no-sweep # NTK timing only

Part 1 times the 4000 x 4000 empirical NTK of the spec's MLP (d = 20, 3 hidden layers of
width 256, ~137k parameters) with :func:`rnnexplore.featurequality.empirical_ntk`
(one backward pass, per-layer Gram products) against the torch.func reference (vmap of
jacrev per-example Jacobians, then ``J J^T``). At n = 4000 the Jacobian alone is 4.4 GB
in float64, so torch.func is measured on a subset (``--subset``, default 500) and
extrapolated: Jacobian time linear in n, contraction time quadratic in n (both stated in
the output). The factorised formula is also timed on the same subset for a direct ratio.

Part 2 runs the spec's section-5 sweep (S4, d = 20, n_train 250..4000, seeds 0-2, with
shuffled-label controls at every n; 30 runs) on a 2-process pool, prints its wall time
and writes ``rnnexplore/featurequality/data/s4_sweep.json`` (loadable by
``SweepResult.load`` and the ``FeatureQualityExplorer`` widget).
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


def bench_sweep(out: Path, workers: int) -> None:
    from rnnexplore.featurequality import classic_staircase, sweep

    ctx = multiprocessing.get_context("spawn")  # torch + fork is fragile
    t = time.perf_counter()
    with ProcessPoolExecutor(workers, mp_context=ctx) as ex:
        res = sweep(classic_staircase(4, 20), [250, 500, 1000, 2000, 4000], seeds=[0, 1, 2],
                    shuffled=True, executor=ex, progress=True)
    wall = time.perf_counter() - t
    out.parent.mkdir(parents=True, exist_ok=True)
    res.save(out)
    per_run = np.asarray(res.column("seconds"), dtype=float)
    print(f"S4 sweep (30 runs, spec config, {workers} processes x 1 torch thread): wall {wall:.0f} s, "
          f"per run {np.median(per_run):.1f} s median ({per_run.min():.1f}-{per_run.max():.1f}); saved {out}")
    print(res.table(["err_net", "err_ntk", "err_kT", "fq", "cka", "rel_frob", "kta_T"], shuffled=False))
    print("shuffled labels:")
    print(res.table(["err_net", "err_ntk", "fq", "one_minus_cka", "rel_frob"], shuffled=True))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--subset", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--no-sweep", action="store_true")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "rnnexplore" / "featurequality" / "data" / "s4_sweep.json")
    args = ap.parse_args(argv)
    print(f"load average at start: {os.getloadavg()}")
    bench_ntk(args.n, args.subset, args.repeat)
    if not args.no_sweep:
        bench_sweep(args.out, args.workers)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
