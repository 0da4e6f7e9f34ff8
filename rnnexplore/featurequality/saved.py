"""Sweeps shipped with the package (computed by ``benchmarks/bench_featurequality.py``).

Examples
--------
>>> saved_sweep_path("s4").name
's4_sweep.json'
>>> saved_sweep_path("nope")
Traceback (most recent call last):
...
ValueError: name must be one of ['depth_width', 'paper8', 's4'], got 'nope'
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["SAVED_SWEEPS", "saved_sweep_path"]

_DATA = Path(__file__).resolve().parent / "data"

#: name -> file in the package's data folder: the CPU-scale S4 sweep (30 runs), the
#: 8-term staircase at CPU scale, and the depth x width grid on S4 (analytic NTK only)
SAVED_SWEEPS = {"s4": "s4_sweep.json", "paper8": "paper8_sweep.json", "depth_width": "depth_width.json"}


def saved_sweep_path(name: str = "s4") -> Path:
    """Path of a saved sweep shipped with the package (load it with ``SweepResult.load``)."""
    if name not in SAVED_SWEEPS:
        raise ValueError(f"name must be one of {sorted(SAVED_SWEEPS)}, got {name!r}")
    return _DATA / SAVED_SWEEPS[name]
