"""Proven-complete object sets: what the proofs cost, measured side by side in one run.

1. A chaotic 2-D PWL map (the Lozi map at a = 2, b = 0.5: a horseshoe with > 10,000 cycles up
   to order 20, one effective bit per step): ``find_cycles`` (default budget) against a plain
   vectorised enumeration over the effective alphabet written here in numpy (no engine code).
2. ReLU RNNs ``x' = relu(W x + b)`` with M = 3..10 units and a chaotic attractor: how far pruned
   enumeration (admissible windows by LPs, then closed walks solved in batches) proves orders
   within a time cap, its LPs and solves against ``2^(M k)``.
3. Box certificates (MILP) for the fixed points of ReLU RNNs trained on the 3-bit flip-flop task
   at M = 16 / 32 / 64 (``benchmarks/data/certify_flipflop_M*.npz`` from ``make_flipflop_nets.py``: the
   27-point cube of 8 attractors and 19 saddles), with the interval-only program side by side.

Run: ``PYTHONPATH=. python benchmarks/bench_proofs.py [--quick] [--part 1 2 3]`` (part 2 also
``--cap SECONDS --family inhibitory|dense --M 3 4 ...``; part 3 ``--sizes 16 32 64``)
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from rnnexplore.dynamics.certify import _certify_order, _make_program, certify_box
from rnnexplore.dynamics.cycles import _Alphabet, _Collector, _ExactOrders, find_cycles
from rnnexplore.dynamics.models import PLRNN, from_torch_rnn


# --------------------------------------------------------------------------- 1. Lozi
def lozi(a, b):
    return PLRNN([[a, 1.0], [b, 0.0]], [[-2 * a, 0.0], [0.0, 0.0]], [1.0, 0.0])


def plain_lozi(a, b, K):
    """Vectorised plain enumeration of every binary word per order (counts / k: no Lyndon filter)."""
    counts = {}
    for k in range(1, K + 1):
        n_real = 0
        for lo in range(0, 2**k, 1 << 16):
            codes = np.arange(lo, min(2**k, lo + (1 << 16)))
            w = ((codes[:, None] >> np.arange(k)) & 1).astype(bool)
            N = len(codes)
            p00, p01, p10, p11 = np.ones(N), np.zeros(N), np.zeros(N), np.ones(N)
            r0, r1 = np.zeros(N), np.zeros(N)
            for i in range(k):
                s = np.where(w[:, i], -a, a)
                p00, p01, p10, p11 = s * p00 + p10, s * p01 + p11, b * p00, b * p01
                r0, r1 = s * r0 + r1 + 1.0, b * r0
            i00, i01, i10, i11 = 1 - p00, -p01, -p10, 1 - p11
            det = i00 * i11 - i01 * i10
            x = (i11 * r0 - i01 * r1) / det
            y = (-i10 * r0 + i00 * r1) / det
            ok = np.isfinite(x) & np.isfinite(y)
            cx, cy = x.copy(), y.copy()
            for i in range(k):
                ok &= (cx > 0) == w[:, i]
                cx, cy = 1.0 - a * np.abs(cx) + cy, b * cx
            pmax = np.maximum(np.maximum(np.abs(p00), np.abs(p01)), np.maximum(np.abs(p10), np.abs(p11)))
            # closure up to rounding, which grows with the expansion |P| of the orbit
            ok &= np.abs(cx - x) + np.abs(cy - y) <= 1e-8 * (1 + np.abs(x) + np.abs(y)) * (1 + pmax)
            prim = np.ones(N, dtype=bool)
            for d in range(1, k):
                if k % d == 0:
                    prim &= np.any(np.roll(w, d, axis=1) != w, axis=1)
            n_real += int(np.sum(ok & prim))
        counts[k] = n_real // k
    return counts


def part1(quick: bool) -> None:
    a, b, K = 2.0, 0.5, (16 if quick else 20)
    t = time.perf_counter()
    want = plain_lozi(a, b, K)
    t_plain = time.perf_counter() - t
    t = time.perf_counter()
    cs = find_cycles(lozi(a, b), K, seed=0, budget="thorough")
    t_engine = time.perf_counter() - t
    got = {k: len(cs.by_order(k)) for k in range(1, K + 1)}
    t = time.perf_counter()
    default = find_cycles(lozi(a, b), K, seed=0)
    t_default = time.perf_counter() - t
    note = (f"    default budget: {len(default)} cycles in {t_default:.2f} s, proven orders "
            f"{[k for k, v in default.proven.items() if v]}, heuristic orders "
            f"{[k for k, v in default.proven.items() if v is None]}")
    print(f"[1] Lozi a={a} b={b}, orders 1-{K}: {sum(want.values())} cycles (independent plain enumeration)")
    print(f"    engine (budget='thorough'): {len(cs)} cycles, counts equal at every order: {got == want}, "
          f"proven at every order: {all(v is not None for v in cs.proven.values())} "
          f"({set(cs.proven.values())})")
    print(f"    plain vectorised enumeration {t_plain:.2f} s, find_cycles {t_engine:.2f} s, "
          f"ratio engine/plain = {t_engine / t_plain:.2f}x (target <= 5x)")
    print(note)


# --------------------------------------------------------------------------- 2. ReLU RNNs
def _lyapunov(m, W, rng, M):
    """Largest Lyapunov exponent of z' = W relu(z) + h along one orbit (1000 steps after 500),
    by the tangent map W diag(z > 0); None when the orbit or the tangent vector degenerates."""
    z, v, lyap = rng.normal(size=M), rng.normal(size=M), 0.0
    for t in range(1500):
        v = (W * (z > 0)) @ v
        nv = np.linalg.norm(v)
        if nv == 0 or not np.isfinite(nv):
            return None
        if t >= 500:
            lyap += np.log(nv)
        v /= nv
        z = m.step(z)
        if not np.all(np.abs(z) < 1e6):
            return None
    return lyap / 1000


def chaotic_relu_rnn(M, seed, family="inhibitory"):
    """A ReLU RNN z' = W relu(z) + h (pre-activation form) with a bounded orbit of positive
    largest Lyapunov exponent, from seeded random draws (gain and bias scanned).

    ``"inhibitory"``: the excitatory part of W is scaled to spectral radius 0.6 (inhibition
    unrestricted), h > 0: the map contracts at infinity, so ``periodic_box`` bounds every
    periodic orbit. ``"dense"``: W = gain N(0, 1/M), h ~ N(0, 1) (the systems of the first
    measurement; no periodic box exists for them)."""
    rng = np.random.default_rng(seed)
    for _ in range(400):
        if family == "inhibitory":
            W = rng.uniform(1.0, 4.0) * rng.normal(size=(M, M)) / np.sqrt(M)
            Wp = np.maximum(W, 0.0)
            r = np.max(np.abs(np.linalg.eigvals(Wp)))
            W = (Wp * (0.6 / r) if r > 0 else Wp) + np.minimum(W, 0.0)
            h = np.abs(rng.normal(0.0, 1.0, M))
        else:
            W = rng.uniform(1.2, 3.0) * rng.normal(size=(M, M)) / np.sqrt(M)
            h = rng.normal(0.0, 1.0, M)
        m = PLRNN(np.zeros(M), W, h)
        lyap = _lyapunov(m, W, rng, M)
        if lyap is not None and lyap > 0.02:
            return m, lyap
    raise RuntimeError(f"no chaotic ReLU RNN found for M={M}")


def part2(quick: bool, cap: float | None = None, family: str = "inhibitory", sizes=range(3, 11)) -> None:
    cap = (20.0 if quick else 60.0) if cap is None else cap
    print(f"[2] chaotic ReLU RNNs ({family}), pruned enumeration (admissible windows + closed walks) up to order 12 "
          f"(cap {cap:.0f} s per model; load {os.getloadavg()[0]:.2f})")
    print(f"    {'M':>3} {'lyap':>6} {'box':>4} {'letters':>7} {'J':>2} {'orders':>6} {'cycles':>7} {'LPs':>8} {'solves':>8} "
          f"{'2^(M k) at k':>14} {'(LPs+solves)/2^(Mk)':>19} {'s':>6}")
    proven = {}
    for M in sizes:
        m, lyap = chaotic_relu_rnn(M, seed=M, family=family)
        al = _Alphabet(m)
        cols = {k: _Collector(m, k) for k in range(1, 13)}
        ex = _ExactOrders(m, al, cols)
        ex.on_level = lambda d, M=M: print(
            f"      M={M} window level {d['t']}: {d['windows']} windows, {d['lps']} LPs, growth rate "
            f"{d['lam']:.2f}, {d['seconds']:.1f} s (cpu {d['cpu']:.1f} s){' partial' if d['partial'] else ''}",
            flush=True)
        t, c0 = time.perf_counter(), time.process_time()
        done = ex.pruned(list(range(1, 13)), cap, set())
        dt, cpu = time.perf_counter() - t, time.process_time() - c0
        K = max(done) if done else 0
        proven[M] = K
        n = sum(len(cols[k].cycles) for k in done)
        lps = sum(ex.lps.get(k, 0) for k in done)
        solves = sum(ex.solves.get(k, 0) for k in done)
        n_let = 2 ** M if ex.box is None else int(2 ** np.sum((ex.box[0] <= 0) & (ex.box[1] > 0)))
        print(f"    {M:>3} {lyap:>6.3f} {'yes' if ex.box is not None else 'no':>4} {n_let:>7} {ex.window_depth:>2} {K:>6} "
              f"{n:>7} {lps:>8} {solves:>8} {float(2.0 ** (M * K)):>10.3g} @{K:<3} "
              f"{(lps + solves) / 2.0 ** (M * K) if K else float('nan'):>19.2g} {dt:>6.1f} (cpu {cpu:.1f})", flush=True)
    met = [M for M, K in proven.items() if K >= 12]
    print(f"    highest order proven per M: {proven}; target order 12 for every M: "
          f"{'met' if len(met) == len(proven) else 'MISSED for M = ' + str([M for M in proven if M not in met])}")


# --------------------------------------------------------------------------- 3. flip-flop
def flipflop_net(M):
    """The flip-flop network of size M from benchmarks/data (the one table and cache: make_flipflop_nets)."""
    from make_flipflop_nets import network

    return network(M)[0]


def part3(quick: bool, sizes=(16, 32, 64)) -> None:
    """Certify the fixed points of the cached flip-flop nets; wall and CPU time (the machine is
    shared: CPU time is the load-independent number). Side by side up to M = 32: the program
    over the states (``eliminate=False``, the form every order k > 1 uses; at M = 64 it needs
    ~320 s CPU, beyond this benchmark's budget)."""
    from rnnexplore.dynamics.models import skew_tent

    certify_box(skew_tent(0.2, -1.5, 1.0), 2, box=10.0)  # warm-up: imports, HiGHS first call
    targets = {16: 2.0, 32: 20.0, 64: 120.0}
    caps = {16: 30.0, 32: 120.0, 64: 600.0}  # wall-clock HiGHS limits, generous under load (met: wall <= target)
    print(flush=True)
    print("[3] box certificates for the fixed points of flip-flop ReLU RNNs (benchmarks/data, seed 0)")
    print(f"    {'M':>3} {'fixed pts':>9} {'certified':>9} {'box':>5} {'free':>5} {'LPs':>4} {'MILPs':>5} "
          f"{'certificate':>11}  target   state program (k > 1 form)")
    for M in sizes:
        m = from_torch_rnn(flipflop_net(M))  # autonomous (zero input) dynamics in pre-activation variables
        traj = m.simulate(np.random.default_rng(0).normal(size=(64, M)), 300)
        box = float(np.ceil(2.0 * np.nanmax(np.abs(traj[50:])) + 1.0))
        heur = find_cycles(m, 1, seed=0, allow_long=True)
        cap = caps.get(M, 120.0)
        t, c0 = time.perf_counter(), time.process_time()
        cs = certify_box(m, 1, box, cycles=list(heur), time_limit=cap)
        dt, cpu = time.perf_counter() - t, time.process_time() - c0
        nf = _make_program(m, 1, box).nf
        base = "-"
        if not quick and M <= 32:
            t, c0 = time.perf_counter(), time.process_time()
            _, proven0, _, _ = _certify_order(m, 1, box, {1: list(heur)}, cap, eliminate=False)
            base = (f"{time.perf_counter() - t:.1f} s (cpu {time.process_time() - c0:.1f} s)"
                    f"{'' if proven0 else ' not proven: time limit'}")
        kinds = {s: sum(c.stability == s for c in cs) for s in ("stable", "saddle")}
        ok = cs.proven[1] == "box" and dt <= targets.get(M, np.inf)
        print(f"    {M:>3} {len(heur):>9} {len(cs):>9} {box:>5.1f} {nf:>5} {cs.stats['bound_lps'][1]:>4} "
              f"{cs.stats['milp_solves'][1]:>5} {dt:>9.1f} s (cpu {cpu:.1f} s) <= {targets.get(M, float('nan')):.0f} s "
              f"{'met' if ok else 'MISSED'}   {base}", flush=True)
        print(f"        proven={cs.proven[1]}, {kinds['stable']} attractors + {kinds['saddle']} saddles, "
              f"time limit {cap:.0f} s", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--part", type=int, nargs="*", default=[1, 2, 3])
    ap.add_argument("--sizes", type=int, nargs="*", default=[16, 32, 64], help="flip-flop network sizes (part 3)")
    ap.add_argument("--cap", type=float, default=None, help="seconds per model of part 2 (default 20 quick / 60)")
    ap.add_argument("--family", choices=["inhibitory", "dense"], default="inhibitory", help="ReLU RNNs of part 2")
    ap.add_argument("--M", type=int, nargs="*", default=list(range(3, 11)), help="sizes of part 2")
    args = ap.parse_args()
    for p in args.part:
        if p == 3:
            part3(args.quick, tuple(args.sizes))
        elif p == 2:
            part2(args.quick, args.cap, args.family, args.M)
        else:
            part1(args.quick)
