"""Train the flip-flop ReLU RNNs that ``bench_proofs.py --part 3`` certifies (seeded, CPU).

``rnnexplore.dynamics.training.flipflop.train_flipflop(hidden=M, steps=STEPS[M], seed=0)``,
otherwise the trainer's defaults. The step counts stop training where the network holds the
task's 27 fixed points (8 attractors, 19 saddles): trained on, these networks also learn the
"no pulse yet" target 0 of each channel as a memory (27 attractors and about 90 saddles at
M = 32 after 1000 steps; ``start_pulse=True``, as ``bench_flipflop.py`` trains its nets, avoids
that). The weights go to ``benchmarks/data/certify_flipflop_M{M}.npz`` (``save_flipflop``:
atomic, no pickle). Prints the loss, the accuracy and the fixed points found by ``find_cycles``.

Run: ``PYTHONPATH=. python benchmarks/make_flipflop_nets.py [--sizes 16 32 64] [--steps N]``
"""

from __future__ import annotations

import argparse
import collections
import os
import time

import torch

from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import from_torch_rnn
from rnnexplore.dynamics.training.flipflop import flipflop_accuracy, save_flipflop, train_flipflop

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


STEPS = {16: 800, 32: 400, 64: 200}  # from scans of the fixed points every 50-100 steps


def path(M: int) -> str:
    return os.path.join(HERE, f"certify_flipflop_M{M}.npz")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[16, 32, 64])
    ap.add_argument("--steps", type=int, default=None, help="Adam steps (default: STEPS[M], else the trainer's)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for M in args.sizes:
        steps = args.steps if args.steps is not None else STEPS.get(M)
        kw = {} if steps is None else {"steps": steps}
        t = time.perf_counter()
        rnn, readout, losses = train_flipflop(hidden=M, seed=args.seed, **kw)
        dt = time.perf_counter() - t
        acc = flipflop_accuracy(rnn, readout)
        cs = find_cycles(from_torch_rnn(rnn), 1, seed=0, allow_long=True)
        kinds = collections.Counter(c.stability for c in cs)
        save_flipflop(path(M), rnn, readout)
        print(f"M={M}: {len(losses)} steps in {dt:.0f} s, final loss {losses[-1]:.4f}, accuracy {acc:.3f}, "
              f"{len(cs)} fixed points {dict(kinds)} -> {path(M)}", flush=True)


if __name__ == "__main__":
    main()
