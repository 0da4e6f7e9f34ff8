"""Scriptable state of the feature-quality app (no widgets, no matplotlib).

:class:`FeatureQualityState` holds the chosen task and architecture, runs
:func:`rnnexplore.featurequality.compare`, keeps every run in a
:class:`~rnnexplore.featurequality.SweepResult` (or loads a saved sweep) and computes what the
plots of :class:`rnnexplore.widgets.featurequality.FeatureQualityExplorer` show.

Examples
--------
>>> from rnnexplore.apps.featurequality import FeatureQualityState
>>> st = FeatureQualityState(width=16, steps=50, n_train=32, n_test=64)
>>> rec = st.run()
>>> sorted(st.learning_curves())
['ckT', 'k0', 'kT', 'net', 'nngp', 'ntk']
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from rnnexplore.featurequality import (
    FQRecord,
    Staircase,
    SweepResult,
    classic_staircase,
    compare,
    paper_staircase,
)
from rnnexplore._validation import check_bool, check_choice, check_int, check_real, check_seed
from rnnexplore.featurequality.saved import saved_sweep_path

__all__ = ["FeatureQualityState", "TASKS", "STRENGTH_MEASURES", "LEARNERS", "DEFAULT_SWEEP_FILE"]

#: Tasks offered by the explorer (label -> factory).
TASKS: dict[str, Callable[[], Staircase]] = {
    "S4 (d=20)": lambda: classic_staircase(4, 20),
    "S3 (d=15)": lambda: classic_staircase(3, 15),
    "S5 (d=20)": lambda: classic_staircase(5, 20),
    "paper 8-term (d=30)": paper_staircase,
}

#: The saved S4 sweep, shipped as package data (written by ``benchmarks/bench_featurequality.py``).
DEFAULT_SWEEP_FILE = saved_sweep_path("s4")

#: Strength measures for the scatter's x axis (record column -> label).
STRENGTH_MEASURES = {
    "one_minus_cka": "1 - CKA(K0, KT)",
    "rel_frob": "relative Frobenius change of the NTK",
    "kta_T": "train-label alignment of KT",
    "mean_weight_change": "mean relative weight change",
}

LEARNERS = {"net": "network", "ntk": "analytic NTK", "nngp": "analytic NNGP", "k0": "NTK at init (K0)",
            "kT": "after kernel (KT)", "ckT": "last layer after training"}


class FeatureQualityState:
    """Scriptable state of the explorer (see the module docstring).

    Parameters
    ----------
    result : SweepResult or path, optional
        Runs to start with (a saved sweep's ``.json``/``.csv`` path is loaded).
    task : str
        A key of :data:`TASKS`.
    depth, width, gamma, steps, n_test : as in :func:`~rnnexplore.featurequality.compare`
    n_train : int
        Training-set size of the next :meth:`run`.
    seed : int
        Seed of the next run.
    shuffled : bool
        Next run uses shuffled training labels.
    strength : str
        Key of :data:`STRENGTH_MEASURES` for the scatter.

    Examples
    --------
    >>> st = FeatureQualityState(task="S3 (d=15)", width=8, steps=20, n_train=16, n_test=32)
    >>> st.run().n_train
    16
    >>> xs, ys, n, shuffled = st.scatter_points()
    >>> len(xs)
    1
    """

    def __init__(self, result: SweepResult | str | Path | None = None, *, task: str = "S4 (d=20)", depth: int = 3,
                 width: int = 256, gamma: float = 1.0, steps: int = 8000, n_test: int = 2000, n_train: int = 1000,
                 seed: int = 0, shuffled: bool = False, strength: str = "one_minus_cka"):
        self.result = SweepResult([])
        check_choice(task, "task", list(TASKS))
        check_choice(strength, "strength", list(STRENGTH_MEASURES))
        depth, width, steps = check_int(depth, "depth", minimum=1), check_int(width, "width", minimum=1), \
            check_int(steps, "steps", minimum=1)
        n_test, n_train = check_int(n_test, "n_test", minimum=1), check_int(n_train, "n_train", minimum=1)
        gamma = check_real(gamma, "gamma", minimum=0.0, exclusive_minimum=True)
        seed, shuffled = check_seed(seed, allow_none=False), check_bool(shuffled, "shuffled")
        self.task, self.depth, self.width, self.gamma = task, depth, width, gamma
        self.steps, self.n_test, self.n_train, self.seed, self.shuffled = steps, n_test, n_train, seed, shuffled
        self.strength = strength
        if result is not None:
            if not isinstance(result, (str, Path, SweepResult)):
                raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
            self.load(result) if isinstance(result, (str, Path)) else self.set_result(result)

    def set_result(self, result: SweepResult, adopt: bool = True) -> None:
        """Replace the runs; with ``adopt``, take the task and architecture of the first run."""
        if not isinstance(result, SweepResult):
            raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
        self.result = result
        if adopt and len(result):
            r = result.records[0]
            names = {TASKS[k]().name: k for k in TASKS}
            self.task = names.get(r.get("task"), self.task)
            self.depth, self.width, self.gamma = int(r["depth"]), int(r["width"]), float(r["gamma"])
            self.steps, self.n_test = int(r["steps"]), int(r["n_test"])

    # ------------------------------------------------------------------ actions
    def run(self, progress=False) -> FQRecord:
        """Run one comparison with the current settings and add it to :attr:`result`."""
        rec = compare(TASKS[self.task](), self.n_train, seed=self.seed, shuffle_labels=self.shuffled,
                      depth=self.depth, width=self.width, gamma=self.gamma, steps=self.steps, n_test=self.n_test,
                      progress=progress)
        self.result = SweepResult(self.result.records + [rec.to_dict()])
        return rec

    def load(self, path: str | Path) -> SweepResult:
        """Replace the runs by a saved sweep and adopt its task and architecture."""
        res = SweepResult.load(path)
        self.set_result(res)
        return res

    # ------------------------------------------------------------------ views of the data
    def _task_runs(self) -> SweepResult:
        return self.result.filter(task=TASKS[self.task]().name)

    def matching(self, shuffled: bool = False) -> SweepResult:
        """Runs of the current task and architecture (depth, width, gamma)."""
        return self._task_runs().filter(depth=self.depth, width=self.width, gamma=float(self.gamma), shuffled=shuffled)

    def learning_curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{learner: (n_trains, median test error)}`` for the current architecture."""
        runs = self.matching()
        return {k: runs.median("err_" + k) for k in LEARNERS}

    def strength_values(self, runs: SweepResult) -> np.ndarray:
        """The selected strength measure of each run."""
        if self.strength == "mean_weight_change":
            return np.asarray([np.mean(r["weight_change"]) for r in runs.records], dtype=float)
        return runs.column(self.strength).astype(float) if len(runs) else np.zeros(0)

    def scatter_points(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every run of the task: (strength, log10 FQ, n_train, shuffled)."""
        runs = self._task_runs()
        if not len(runs):
            z = np.zeros(0)
            return z, z, z, z.astype(bool)
        return (self.strength_values(runs), runs.column("log10_fq").astype(float),
                runs.column("n_train").astype(float), runs.column("shuffled").astype(bool))

    def pi_star_curves(self) -> list[tuple[int, np.ndarray]]:
        """``[(n_train, median Pi*(k) of the trained features)]`` for the current architecture."""
        runs = self.matching()
        out = []
        for n in sorted({r["n_train"] for r in runs.records}):
            curves = [np.asarray(r["pi_star_T"], dtype=float) for r in runs.filter(n_train=n).records]
            m = min(len(c) for c in curves)
            out.append((int(n), np.median([c[:m] for c in curves], axis=0)))
        return out

    def summary(self) -> str:
        """One line about the runs shown."""
        runs = self.matching()
        if not len(runs):
            return f"{len(self.result)} runs loaded; none for {self.task}, depth {self.depth}, width {self.width}, gamma {self.gamma:g}"
        ns, fq = runs.median("fq")
        return (f"{len(self.result)} runs; {self.task}, depth {self.depth}, width {self.width}, gamma {self.gamma:g}: "
                f"median FQ from {fq[0]:.3g} (n={ns[0]}) to {fq[-1]:.3g} (n={ns[-1]})")
