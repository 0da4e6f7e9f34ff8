"""The flip-flop ReLU RNNs of the benchmarks: one table, one cache (seeded, CPU).

Every network is ``rnnexplore.dynamics.training.flipflop.train_flipflop(hidden=M, seed=0, **settings)``
cached in ``benchmarks/data/`` by ``trained_flipflop`` (``save_flipflop`` format: atomic write,
``np.load(allow_pickle=False)``; a missing file is trained and written):

- ``"certify"``: ``certify_flipflop_M{M}.npz`` (M = 16, 32, 64), certified by
  ``bench_proofs.py --part 3``; the trainer's defaults except the step counts ``STEPS``, which
  stop training where the network holds the task's 27 fixed points (8 attractors, 19 saddles):
  trained on, these networks also learn the "no pulse yet" target 0 of each channel as a memory
  (27 attractors and about 90 saddles at M = 32 after 1000 steps; ``start_pulse=True`` avoids that);
- ``"flipflop"``: ``flipflop_M{M}.npz`` (M = 64, 128, 512), searched by ``bench_flipflop.py`` and
  opened by ``bench_explorer.py``; ``start_pulse=True`` (trials begin with a pulse on every bit,
  as fixed-point-finder's ``FlipFlopData``) with the settings in ``TRAINING``.

Run (retrains and rewrites; prints the loss, the accuracy and the fixed points ``find_cycles`` finds)::

    PYTHONPATH=. python benchmarks/make_flipflop_nets.py [--kind certify|flipflop] [--sizes 16 32 64]
"""

from __future__ import annotations

import argparse
import collections
import os

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")

STEPS = {16: 800, 32: 400, 64: 200}  # "certify" nets, from scans of the fixed points every 50-100 steps
TRAINING = {  # "flipflop" nets (start_pulse=True)
    64: dict(steps=800, batch=64, length=100, lr=5e-3),
    128: dict(steps=800, batch=64, length=100, lr=5e-3),
    512: dict(steps=600, batch=32, length=60, lr=1e-3),
}
FILES = {"certify": "certify_flipflop_M{M}.npz", "flipflop": "flipflop_M{M}.npz"}


def settings(M: int, kind: str = "certify") -> dict:
    """The ``train_flipflop`` keyword arguments of benchmark net ``kind`` with ``M`` units."""
    if kind == "certify":
        return dict(hidden=M, seed=0, **({"steps": STEPS[M]} if M in STEPS else {}))
    if kind == "flipflop":
        return dict(hidden=M, seed=0, start_pulse=True, **TRAINING.get(M, TRAINING[128]))
    raise ValueError(f"kind must be one of {sorted(FILES)}, got {kind!r}")


def path(M: int, kind: str = "certify") -> str:
    """The cache file of benchmark net ``kind`` with ``M`` units."""
    if kind not in FILES:
        raise ValueError(f"kind must be one of {sorted(FILES)}, got {kind!r}")
    return os.path.join(HERE, FILES[kind].format(M=M))


def network(M: int, kind: str = "certify", retrain: bool = False):
    """``(rnn, readout, how)`` of benchmark net ``kind`` with ``M`` units (trained when missing)."""
    from rnnexplore.dynamics.training.flipflop import trained_flipflop

    return trained_flipflop(path(M, kind), retrain=retrain, **settings(M, kind))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kind", choices=sorted(FILES), default="certify")
    ap.add_argument("--sizes", type=int, nargs="*", default=None,
                    help="default: 16 32 64 (certify), 64 128 512 (flipflop)")
    args = ap.parse_args()
    from rnnexplore.dynamics.cycles import find_cycles
    from rnnexplore.dynamics.models import from_torch_rnn
    from rnnexplore.dynamics.training.flipflop import flipflop_accuracy

    sizes = args.sizes or (sorted(STEPS) if args.kind == "certify" else sorted(TRAINING))
    for M in sizes:
        rnn, readout, how = network(M, args.kind, retrain=True)
        acc = flipflop_accuracy(rnn, readout)
        cs = find_cycles(from_torch_rnn(rnn), 1, seed=0, allow_long=True)
        kinds = collections.Counter(c.stability for c in cs)
        print(f"M={M}: {how}; accuracy {acc:.3f}, {len(cs)} fixed points {dict(kinds)}", flush=True)


if __name__ == "__main__":
    main()
