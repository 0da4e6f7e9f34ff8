"""Where the time of a pruned enumeration's emptiness LPs goes, and what HiGHS settings change it.

On the M = 10 chaotic ReLU RNN of ``bench_proofs.py --part 2`` (the model that misses order 12),
prefix words of length ``t`` are cut from a long orbit and their last letter is perturbed in two
bits (a mix of admissible and empty prefixes, as in a window level). The same words are solved by
:func:`rnnexplore.dynamics.enumeration.prefix_margins` with several block sizes and HiGHS options,
side by side, and the verdicts (empty / admissible) are compared with the default's. Then one
default call is profiled: the share of the time spent inside HiGHS's ``run`` bounds what any
Python-side change can save.

The engine's default route (``method="auto"``: the batched dense dual simplex of
:mod:`rnnexplore.dynamics.dense_lp`, HiGHS for what it leaves undecided) is timed on the same
words and compared with the HiGHS defaults, verdict by verdict.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/bench_prefix_lp.py [--t 5] [--words 2000]``
"""
import argparse
import cProfile
import os
import pstats
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from bench_proofs import chaotic_relu_rnn  # noqa: E402

from rnnexplore.dynamics import enumeration as en  # noqa: E402
from rnnexplore.dynamics.cycles import _Alphabet  # noqa: E402
from rnnexplore.dynamics.enumeration import PRUNE_TOL, periodic_box, prefix_margins  # noqa: E402

OPTIONS = ({}, {"simplex_strategy": 4}, {"simplex_scale_strategy": 0},
           {"simplex_strategy": 1, "simplex_scale_strategy": 0}, {"solver": "ipm"})


def words_from_orbit(m, t, n, seed):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=m.M)
    for _ in range(500):
        z = m.step(z)
    regions = []
    for _ in range(5000):
        z = m.step(z)
        regions.append(m.region(z))
    regions = np.array(regions)
    out = []
    for _ in range(n):
        i = rng.integers(0, len(regions) - t)
        w = regions[i : i + t].copy()
        w[-1, rng.integers(0, m.M, size=2)] ^= True
        out.append(w)
    return np.array(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--M", type=int, default=10)
    ap.add_argument("--t", type=int, default=5)
    ap.add_argument("--words", type=int, default=2000)
    args = ap.parse_args()
    m, _ = chaotic_relu_rnn(args.M, seed=args.M)
    al = _Alphabet(m)
    box = periodic_box(m)
    W = words_from_orbit(m, args.t, args.words, seed=0)
    print(f"M = {args.M}, {len(W)} prefixes of length {args.t}, box {'yes' if box is not None else 'no'} "
          f"(load {os.getloadavg()[0]:.2f})")
    prefix_margins(m, W[:200], al.bits, al.G, al.g, box=box)  # (first-call set-up not counted)
    c = time.process_time()
    tau_d, _ = prefix_margins(m, W, al.bits, al.G, al.g, box=box, method="auto")
    dense = (time.process_time() - c) / len(W) * 1e6
    base = None
    for chunk in (100, 30, 10):
        for opts in OPTIONS:
            s = en._BlockLP()
            if s.core is None and opts:
                continue
            for k, v in opts.items():
                s.h.setOptionValue(k, v)
            c = time.process_time()
            tau, _ = prefix_margins(m, W, al.bits, al.G, al.g, box=box, chunk=chunk, solver=s, method="highs")
            dt = time.process_time() - c
            empty = tau < -PRUNE_TOL
            if base is None:
                base, highs = empty, dt / len(W) * 1e6
            print(f"  chunk {chunk:4d} {str(opts):52s} {dt / len(W) * 1e6:7.1f} us CPU per LP, "
                  f"{int(empty.sum())} empty, {int(np.sum(empty != base))} verdicts differ from the default", flush=True)
    print(f"  dense dual simplex (method='auto', the engine's default): {dense:7.1f} us CPU per LP, "
          f"{int(np.sum(tau_d < -PRUNE_TOL))} empty, {int(np.sum((tau_d < -PRUNE_TOL) != base))} verdicts differ from HiGHS; "
          f"HiGHS defaults / dense = {highs / dense:.1f}x", flush=True)
    prof = cProfile.Profile()
    prof.enable()
    prefix_margins(m, W, al.bits, al.G, al.g, box=box, chunk=100, solver=en._BlockLP(), method="highs")
    prof.disable()
    st = pstats.Stats(prof)
    total = st.total_tt
    run = sum(v[2] for k, v in st.stats.items() if k[2] == "run" or "_core.run" in k[2])
    print(f"  profile (chunk 100, defaults): {total:.2f} s, of which HiGHS run {run:.2f} s ({100 * run / total:.0f}%)")


if __name__ == "__main__":
    main()
