"""Analysing a training replay with warm starts against cold SCYFI searches.

Workload: a 600-checkpoint replay of a 2-D PLRNN - BPTT training of the
diagonal of A on data of the paper's GT16 system, started at A + (0.05, -0.05), one Adam step
per checkpoint - analysed for cycles up to order 16 at every checkpoint.

- cold: ``analyse_replay(rep, 16, warm=False)``: an independent ``find_cycles`` per checkpoint;
- warm: ``analyse_replay(rep, 16)``: full searches at every 100th checkpoint, then the batched
  continuation along the whole replay (every object found anywhere re-solved at every
  checkpoint where it persists, local searches where one turns virtual, probe orbits).

Both include the event classification between neighbours. Printed: wall times, the ratio, the
number of full searches of the warm run, and how many checkpoints have the same object set
(by region-sequence key) and the same events in both runs.

Run::

    .venv/bin/python benchmarks/bench_replay.py                 # trains the replay (~30-60 s)
    .venv/bin/python benchmarks/bench_replay.py --replay r.npz  # or analyse a saved one
    .venv/bin/python benchmarks/bench_replay.py --checkpoints 200
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np


def make_replay(n_checkpoints: int):
    import torch

    from rnnexplore.dynamics.training.data import gt16_data
    from rnnexplore.dynamics.models import paper_gt16
    from rnnexplore.dynamics.training import from_numpy_model, train

    torch.set_num_threads(1)
    data = gt16_data(1000, seed=0)
    model = from_numpy_model(paper_gt16())
    with torch.no_grad():
        model.A += torch.tensor([0.05, -0.05], dtype=torch.float64)
    return train(model, data, alpha=0.0, trainable=["A"], epochs=n_checkpoints - 1, seq_len=100,
                 batch_size=16, lr=0.005, seed=0, progress="training the replay")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replay", help="replay .npz to analyse (default: train one)")
    ap.add_argument("--save", help="save the trained replay here")
    ap.add_argument("--checkpoints", type=int, default=600)
    ap.add_argument("--max-order", type=int, default=16)
    ap.add_argument("--full-every", type=int, default=100)
    args = ap.parse_args()

    from rnnexplore.dynamics.training.replay import Replay, analyse_replay

    if args.replay:
        rep = Replay.load(args.replay)
    else:
        t = time.perf_counter()
        rep = make_replay(args.checkpoints)
        print(f"trained {rep.n_checkpoints} checkpoints in {time.perf_counter() - t:.1f} s")
        if args.save:
            rep.save(args.save)
    idx = list(range(min(args.checkpoints, rep.n_checkpoints)))
    print(f"load average: {os.getloadavg()[0]:.2f} (2 cores shared: timings are noisy)")

    t = time.perf_counter()
    warm = analyse_replay(rep, args.max_order, checkpoints=idx, seed=0, full_every=args.full_every)
    t_warm = time.perf_counter() - t
    t = time.perf_counter()
    cold = analyse_replay(rep, args.max_order, checkpoints=idx, seed=0, warm=False)
    t_cold = time.perf_counter() - t

    same = sum(a.keys() == b.keys() for a, b in zip(warm.cycle_sets, cold.cycle_sets))
    n_full = sum(1 for cs in warm.cycle_sets if not cs.stats.get("continued"))
    differ = [i for i, (a, b) in zip(idx, zip(warm.cycle_sets, cold.cycle_sets)) if a.keys() != b.keys()]
    ev_w = sorted(zip(warm.event_checkpoint.tolist(), warm.event_kind.tolist()))
    ev_c = sorted(zip(cold.event_checkpoint.tolist(), cold.event_kind.tolist()))
    print(f"checkpoints: {len(idx)}, max order {args.max_order}")
    print(f"cold : {t_cold:7.2f} s  ({1e3 * t_cold / len(idx):.1f} ms per checkpoint)")
    print(f"warm : {t_warm:7.2f} s  ({1e3 * t_warm / len(idx):.1f} ms per checkpoint, "
          f"{n_full} full searches)")
    print(f"ratio cold/warm: {t_cold / t_warm:.1f}x  (target >= 30x)")
    print(f"same object set at {same}/{len(idx)} checkpoints; events identical: {ev_w == ev_c} "
          f"({len(ev_c)} events at {len(np.unique(cold.event_checkpoint))} checkpoints)")
    if differ:
        i = differ[0]
        a, b = warm.cycle_sets[idx.index(i)], cold.cycle_sets[idx.index(i)]
        print(f"  differing checkpoints: {differ[:20]}; e.g. {i}: warm only {sorted(a.keys() - b.keys())}, "
              f"cold only {sorted(b.keys() - a.keys())}")
    print(f"loss jumps: {cold.jumps.tolist()}; alignment (window 3): {cold.alignment(window=3)}")


if __name__ == "__main__":
    main()
