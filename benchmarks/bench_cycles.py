"""Speed of the cycle engine: fast mode vs the paper's reference loops, side by side.

Run::

    .venv/bin/python benchmarks/bench_cycles.py            # everything (several minutes)
    .venv/bin/python benchmarks/bench_cycles.py --quick    # skip the slow reference runs

Sections
--------
1. GT16 (the paper's 2-D system), orders 1-16: reference vs fast, same object set, time ratio.
2. Slider events: orders 1-8 of GT16 after a small parameter change, warm-started from the
   previous objects ("interactive" and default budgets), checked against a thorough cold search.
3. Two 10-D PLRNNs (two skew-tent units driving eight contracting units; multistable or
   chaotic), orders 1-10: fast mode vs the reference loops with doubled ``N_out`` ("generous").
4. Scaling: solves and time vs M (k = 1) and vs k (M = 2), next to brute force's 2^(M k).

Timings are wall-clock on whatever machine runs this (shared machines are noisy: the load
average is printed).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rnnexplore.dynamics.cycles import attractor_period, brute_force_cycles, find_cycles
from rnnexplore.dynamics.models import PLRNN, paper_gt16, random_plrnn

HEURISTIC = {"exhaustive_limit": 0}


def coupled_tents(M: int = 10, seed: int = 0, eps: float = 0.05, chaotic: bool = True) -> PLRNN:
    """Two skew-tent units (weakly coupled back) driving M - 2 contracting units.

    ``chaotic=True``: the second tent is chaotic (dozens of saddle cycles up to order 10);
    ``chaotic=False``: both tents have a stable 2-cycle (a multistable system with 5 objects).
    """
    rng = np.random.default_rng(seed)
    tents = ((0.2, -1.5, 1.0), (0.5, -3.0, 1.0) if chaotic else (0.3, -3.0, 1.0))
    n = len(tents)
    A = np.empty(M)
    W = eps * rng.normal(size=(M, M)) / np.sqrt(M)
    h = np.empty(M)
    for i, (a_l, a_r, mu) in enumerate(tents):
        A[i], W[i, i], h[i] = a_l, a_r - a_l, mu
    A[n:] = rng.uniform(0.2, 0.6, M - n)
    for j in range(n, M):
        W[j, j] = rng.uniform(-0.3, 0.3)
    W[n:, :n] = 0.7 * rng.normal(size=(M - n, n))
    h[n:] = rng.normal(0.0, 0.5, M - n)
    return PLRNN(A, W, h)


def timed(fn, repeat: int = 1):
    """(result, median wall time, min wall time, median CPU time of this process)."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return out, float(np.median(times)), float(np.min(times)), float(np.median(cpu))


def section_gt16(quick: bool) -> None:
    print("\n== 1. GT16, orders 1-16: reference loops vs fast mode ==")
    g = paper_gt16()
    fast, t_fast, t_fast_min, c_fast = timed(lambda: find_cycles(g, 16, seed=0), repeat=7)
    print(f"fast     : {len(fast)} objects, {fast.stats['total_solves']:>7} solves, "
          f"wall median {t_fast * 1e3:.1f} ms (min {t_fast_min * 1e3:.1f} ms), cpu {c_fast * 1e3:.1f} ms")
    if quick:
        return
    ref, t_ref, _, c_ref = timed(lambda: find_cycles(g, 16, seed=0, mode="reference"))
    print(f"reference: {len(ref)} objects, {ref.stats['total_solves']:>7} solves, wall {t_ref:.2f} s, cpu {c_ref:.2f} s")
    print(f"same object set: {ref.keys() == fast.keys()};  time ratio reference/fast = "
          f"{t_ref / t_fast:.0f}x wall, {c_ref / c_fast:.0f}x cpu;  "
          f"solve ratio = {ref.stats['total_solves'] / fast.stats['total_solves']:.0f}x")
    for c in fast:
        print(f"   order {c.order:>2}  {c.stability:<8}  max|lambda| = {c.max_abs_eigenvalue:.4f}")


def section_slider() -> None:
    print("\n== 2. Slider events: GT16 orders 1-8, warm start from the previous parameters ==")
    g = paper_gt16()
    base = g.get_param("A[0]")
    for budget in ("interactive", None):
        prev = find_cycles(g, 8, seed=0)
        times, cpu, agree, solves = [], [], 0, []
        for i in range(1, 41):
            m = g.with_params({"A[0]": base + 0.001 * i})
            t0, c0 = time.perf_counter(), time.process_time()
            cs = find_cycles(m, 8, seed=i, warm_start=prev, budget=budget)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
            truth = find_cycles(m, 8, seed=0, budget="thorough")
            agree += cs.keys() == truth.keys()
            solves.append(cs.stats["total_solves"])
            prev = cs
        times = np.array(times) * 1e3
        print(f"budget={budget!s:<11}: median {np.median(times):.1f} ms, 90th pct {np.percentile(times, 90):.1f} ms, "
              f"max {times.max():.1f} ms (cpu median {np.median(cpu) * 1e3:.1f} ms); {np.mean(solves):.0f} solves/event; "
              f"same set as a thorough cold search in {agree}/40 events")


def section_10d(quick: bool) -> None:
    for chaotic in (False, True):
        label = "chaotic: dozens of saddle cycles" if chaotic else "multistable: two stable 2-cycles"
        print(f"\n== 3. 10-D PLRNN, coupled skew tents ({label}), orders 1-10 ==")
        m = coupled_tents(chaotic=chaotic)
        fast, t_fast, _, c_fast = timed(lambda: find_cycles(m, 10, seed=0), repeat=3)
        print(f"fast (default)  : {len(fast)} objects, {fast.stats['total_solves']} solves, wall {t_fast:.2f} s, cpu {c_fast:.2f} s")
        thorough, t_th, _, c_th = timed(lambda: find_cycles(m, 10, seed=0, budget="thorough"))
        print(f"fast (thorough) : {len(thorough)} objects, {thorough.stats['total_solves']} solves, wall {t_th:.2f} s, cpu {c_th:.2f} s")
        if quick:
            continue
        ref, t_ref, _, c_ref = timed(lambda: find_cycles(m, 10, seed=0, mode="reference", budget={"restart_scale": 2.0}))
        print(f"reference (2x N_out): {len(ref)} objects, {ref.stats['total_solves']} solves, wall {t_ref:.1f} s, cpu {c_ref:.1f} s")
        print(f"found by reference but not by fast default: {len(ref.keys() - fast.keys())}, "
              f"not by fast thorough: {len(ref.keys() - thorough.keys())}; "
              f"found by fast thorough but not by reference: {len(thorough.keys() - ref.keys())}; "
              f"union of all three: {len(ref.keys() | fast.keys() | thorough.keys())}")
        print(f"cpu ratio reference/fast default = {c_ref / c_fast:.0f}x, reference/thorough = {c_ref / c_th:.0f}x")


def section_scaling() -> None:
    print("\n== 4a. Scaling with dimension M (k = 1, random PLRNNs, SCYFI chains only) ==")
    print(f"{'M':>3} {'2^M':>10} {'objects':>7} {'solves to find all':>18} {'solves total':>12} {'time ms':>8}  brute force agrees")
    for M in (2, 3, 5, 8, 10, 12, 15, 20, 30, 50):
        rows = []
        for seed in range(5):
            m = random_plrnn(M, seed=seed, scale=1.2)
            cs, t, _, _ = timed(lambda: find_cycles(m, 1, seed=seed, budget=HEURISTIC))
            bf = brute_force_cycles(m, 1) if M <= 12 else None
            rows.append((len(cs), cs.stats["solves_at_last_find"][1], cs.stats["total_solves"], t,
                         None if bf is None else cs.keys() == {c.key for c in bf}))
        r = np.array([x[:4] for x in rows], dtype=float).mean(axis=0)
        agree = "n/a" if rows[0][4] is None else f"{sum(x[4] for x in rows)}/5"
        print(f"{M:>3} {2.0 ** M:>10.3g} {r[0]:>7.1f} {r[1]:>18.1f} {r[2]:>12.0f} {r[3] * 1e3:>8.1f}  {agree}")

    print("\n== 4b. Scaling with order k (M = 2): GT16-family systems with a stable k-cycle ==")
    g = paper_gt16()
    systems = {}
    for s in np.linspace(0.8, 1.3, 160):
        m = PLRNN(np.diag(g.A), g.W * s, g.h)
        p = attractor_period(m, [0.5, 0.5], max_period=50)
        if p is not None and p not in systems:
            systems[p] = m
    for a in np.linspace(0.75, 0.999, 160):
        m = g.with_params({"A[1]": a})
        p = attractor_period(m, [0.5, 0.5], max_period=50)
        if p is not None and p not in systems:
            systems[p] = m
    print(f"{'k':>3} {'2^(2k)':>10} {'objects':>7} {'solves to find all':>18} {'solves total':>12} {'time ms':>8}  stable k-cycle found")
    for k in sorted(systems):
        m = systems[k]
        res = []
        for seed in range(3):
            cs, t, _, _ = timed(lambda: find_cycles(m, k, min_order=k, seed=seed, budget=HEURISTIC))
            res.append((len(cs), cs.stats["solves_at_last_find"][k], cs.stats["total_solves"], t,
                        any(c.stability == "stable" for c in cs)))
        r = np.array([x[:4] for x in res], dtype=float).mean(axis=0)
        print(f"{k:>3} {2.0 ** (2 * k):>10.3g} {r[0]:>7.1f} {r[1]:>18.1f} {r[2]:>12.0f} {r[3] * 1e3:>8.1f}  "
              f"{sum(x[4] for x in res)}/3")

    print("\n== 4c. GT16 itself, one order at a time (k = 1..50): cost of a complete search ==")
    print(f"{'k':>3} {'2^(2k)':>10} {'objects':>7} {'solves':>7} {'time ms':>8}")
    for k in (1, 2, 4, 8, 12, 16, 20, 24, 32, 40, 50):
        cs, t, _, _ = timed(lambda: find_cycles(g, k, min_order=k, seed=0))
        print(f"{k:>3} {2.0 ** (2 * k):>10.3g} {len(cs):>7} {cs.stats['total_solves']:>7} {t * 1e3:>8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="skip the slow reference-mode runs")
    args = parser.parse_args()
    print(f"load average: {os.getloadavg()}, cpus: {os.cpu_count()}")
    section_gt16(args.quick)
    section_slider()
    section_10d(args.quick)
    section_scaling()
    print(f"\nload average at the end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
