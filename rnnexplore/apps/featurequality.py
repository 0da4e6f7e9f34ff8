"""Scriptable state of the feature-quality app (no widgets, no matplotlib).

:class:`FeatureQualityState` holds the chosen task and configuration, runs
:func:`rnnexplore.featurequality.compare` - blocking with :meth:`~FeatureQualityState.run`, or
in a background :class:`~rnnexplore.apps.jobs.Job` with :meth:`~FeatureQualityState.start`
(progress, cancel, each finished run delivered as it completes) - keeps every run in a
:class:`~rnnexplore.featurequality.SweepResult` (or loads a saved sweep) and computes what the
plots of :class:`rnnexplore.widgets.featurequality.FeatureQualityExplorer` show.

Runs are grouped into *series* by their full configuration (task, depth, width, gamma, steps,
lr, batch size, n_test): a quick 200-step run never mixes into the medians of an 8000-step
sweep; it is its own series.

Examples
--------
>>> from rnnexplore.apps.featurequality import FeatureQualityState
>>> st = FeatureQualityState(width=16, steps=50, n_train=32, n_test=64)
>>> rec = st.run()
>>> sorted(st.learning_curves())
['ckT', 'k0', 'kT', 'net', 'nngp', 'ntk']
>>> job = st.start([32, 48]).wait(120)
>>> job.state, [r["n_train"] for r in st.result.records]
('done', [32, 32, 48])
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from rnnexplore.apps.jobs import Job
from rnnexplore.featurequality import (
    FQRecord,
    SweepResult,
    classic_staircase,
    compare,
    multi_index,
    paper_staircase,
)
from rnnexplore._validation import check_bool, check_choice, check_int, check_real, check_seed
from rnnexplore.featurequality.saved import saved_sweep_path

__all__ = ["FeatureQualityState", "TASKS", "STRENGTH_MEASURES", "LEARNERS", "DEFAULT_SWEEP_FILE", "SERIES_KEYS"]

#: Tasks offered by the explorer (label -> factory).
TASKS: dict[str, Callable] = {
    "S4 (d=20)": lambda: classic_staircase(4, 20),
    "S3 (d=15)": lambda: classic_staircase(3, 15),
    "S5 (d=20)": lambda: classic_staircase(5, 20),
    "paper 8-term (d=30)": paper_staircase,
    "multi-index (d=20)": lambda: multi_index(20, seed=0),
}

#: The saved S4 sweep, shipped as package data (written by ``benchmarks/bench_featurequality.py``).
DEFAULT_SWEEP_FILE = saved_sweep_path("s4")

#: Strength measures for the scatter's x axis (record column -> label).
STRENGTH_MEASURES = {
    "one_minus_cka": "1 - CKA(K0, KT)",
    "cka_debiased": "debiased CKA(K0, KT)",
    "rel_frob": "relative Frobenius change of the NTK",
    "kta_T": "train-label alignment of KT",
    "mean_weight_change": "mean relative weight change",
}

LEARNERS = {"net": "network", "ntk": "analytic NTK", "nngp": "analytic NNGP", "k0": "NTK at init (K0)",
            "kT": "after kernel (KT)", "ckT": "last layer after training"}

#: Record columns that define a series (runs of one configuration, differing in n, seed, labels).
SERIES_KEYS = ("task", "depth", "width", "gamma", "steps", "lr", "batch_size", "n_test")


def series_label(key: tuple) -> str:
    """Short label of a series key (see ``SERIES_KEYS``).

    Examples
    --------
    >>> series_label(("S4", 3, 256, 1.0, 8000, 0.002, 64, 2000))
    'S4 3x256 g=1 8000 steps lr=0.002 b=64'
    """
    task, depth, width, gamma, steps, lr, batch, _ = key
    return f"{task} {depth}x{width} g={gamma:g} {steps} steps lr={lr:g} b={batch}"


class FeatureQualityState:
    """Scriptable state of the explorer (see the module docstring).

    Parameters
    ----------
    result : SweepResult or path, optional
        Runs to start with (a saved sweep's ``.json``/``.csv`` path is loaded).
    task : str
        A key of ``TASKS``.
    depth, width, gamma, steps, n_test : as in :func:`~rnnexplore.featurequality.compare`
    n_train : int
        Training-set size of the next :meth:`run`.
    seed : int
        Seed of the next run.
    shuffled : bool
        Next run uses shuffled training labels.
    strength : str
        Key of ``STRENGTH_MEASURES`` for the scatter.

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
                 width: int = 256, gamma: float = 1.0, steps: int = 8000, lr: float = 2e-3, batch_size: int = 64,
                 n_test: int = 2000, n_train: int = 1000, seed: int = 0, shuffled: bool = False,
                 strength: str = "one_minus_cka"):
        self.result = SweepResult([])
        self.task = check_choice(task, "task", list(TASKS))
        self.strength = check_choice(strength, "strength", list(STRENGTH_MEASURES))
        self.depth = check_int(depth, "depth", minimum=1)
        self.width = check_int(width, "width", minimum=1)
        self.gamma = check_real(gamma, "gamma", minimum=0, exclusive_minimum=True)
        self.steps = check_int(steps, "steps", minimum=1)
        self.lr = check_real(lr, "lr", minimum=0, exclusive_minimum=True)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1)
        self.n_test = check_int(n_test, "n_test", minimum=1)
        self.n_train = check_int(n_train, "n_train", minimum=1)
        self.seed = check_seed(seed, allow_none=False)
        self.shuffled = check_bool(shuffled, "shuffled")
        self.job: Job | None = None
        self._lock = threading.Lock()
        if result is not None:
            if not isinstance(result, (str, Path, SweepResult)):
                raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
            self.load(result) if isinstance(result, (str, Path)) else self.set_result(result)

    def set_result(self, result: SweepResult, adopt: bool = True) -> None:
        """Replace the runs; with ``adopt``, take the task and configuration of the first run."""
        if not isinstance(result, SweepResult):
            raise ValueError(f"result must be a SweepResult or a path, got {type(result).__name__}")
        self.result = result
        if adopt and len(result):
            r = result.records[0]
            names = {TASKS[k]().name: k for k in TASKS}
            self.task = names.get(r.get("task"), self.task)
            self.depth, self.width, self.gamma = int(r["depth"]), int(r["width"]), float(r["gamma"])
            self.steps, self.n_test = int(r["steps"]), int(r["n_test"])
            self.lr, self.batch_size = float(r.get("lr", self.lr)), int(r.get("batch_size", self.batch_size))

    def config(self) -> dict:
        """The configuration of the next run (the keyword arguments of ``compare``)."""
        return dict(depth=self.depth, width=self.width, gamma=float(self.gamma), steps=self.steps, lr=float(self.lr),
                    batch_size=self.batch_size, n_test=self.n_test)

    def current_key(self) -> tuple:
        """Series key (``SERIES_KEYS``) of the current settings."""
        c = self.config()
        return (TASKS[self.task]().name, c["depth"], c["width"], c["gamma"], c["steps"], c["lr"], c["batch_size"],
                c["n_test"])

    # ------------------------------------------------------------------ actions
    def _add(self, rec: FQRecord) -> None:
        with self._lock:  # the worker thread appends while the view may read: swap whole objects
            self.result = SweepResult(self.result.records + [rec.to_dict()])

    def run(self, progress=False) -> FQRecord:
        """Run one comparison with the current settings (blocking) and add it to ``result``."""
        rec = compare(TASKS[self.task](), self.n_train, seed=self.seed, shuffle_labels=self.shuffled,
                      progress=progress, **self.config())
        self._add(rec)
        return rec

    @property
    def busy(self) -> bool:
        """A background job is running."""
        return self.job is not None and self.job.running

    def start(self, n_trains: Sequence[int] | None = None, seeds: Sequence[int] | None = None, *,
              on_record: Callable | None = None, on_progress: Callable | None = None,
              on_done: Callable | None = None, on_error: Callable | None = None,
              on_cancel: Callable | None = None) -> Job:
        """Train in a background thread: one run per ``n_train x seed`` with the current settings.

        Each finished run is added to ``result`` at once and passed to ``on_record(rec)``
        (in the worker thread), so plots can stream. :meth:`cancel` stops the current run
        within 100 training steps; finished runs are kept, the unfinished one is dropped.

        Parameters
        ----------
        n_trains, seeds : sequences of int, optional
            Default ``[n_train]`` and ``[seed]``.
        on_record, on_progress, on_done, on_error, on_cancel : callables, optional
            ``on_record(FQRecord)``; ``on_cancel(records finished before the cancel)``; the
            others as in :class:`~rnnexplore.apps.jobs.Job` (``on_done`` gets the list of this
            job's records). All run in the worker thread.

        Returns
        -------
        Job
            Also kept as ``job``.

        Raises
        ------
        ValueError
            A job is already running, or bad ``n_trains`` / ``seeds``.
        """
        if self.busy:
            raise ValueError("a run is in progress: cancel it or wait for it first")
        ns = [check_int(n, "n_trains", minimum=1) for n in (n_trains if n_trains is not None else [self.n_train])]
        ss = [check_int(s, "seeds", minimum=0) for s in (seeds if seeds is not None else [self.seed])]
        if not ns or not ss:
            raise ValueError("n_trains and seeds must not be empty")
        task, cfg, shuffled = TASKS[self.task](), self.config(), self.shuffled
        runs = [(n, s) for n in ns for s in ss]

        out: list[FQRecord] = []  # this job's finished runs (on_cancel gets them)

        def work(report):
            for i, (n, s) in enumerate(runs):
                label = f"run {i + 1}/{len(runs)}: n={n} seed={s}{' shuffled' if shuffled else ''}"
                report(i / len(runs), label + " - training")

                def tick(step, steps, i=i, label=label):
                    report((i + step / steps) / len(runs), f"{label} - step {step}/{steps}")

                rec = compare(task, n, seed=s, shuffle_labels=shuffled, progress=tick, **cfg)
                self._add(rec)
                out.append(rec)
                if on_record is not None:
                    on_record(rec)
            return out

        cancelled = None if on_cancel is None else (lambda: on_cancel(list(out)))
        self.job = Job(work, on_progress=on_progress, on_done=on_done, on_error=on_error,
                       on_cancel=cancelled, name="rnnexplore-featurequality").start()
        return self.job

    def cancel(self) -> None:
        """Ask the running job (if any) to stop at its next progress report."""
        if self.job is not None:
            self.job.cancel()

    def load(self, path: str | Path) -> SweepResult:
        """Replace the runs by a saved sweep and adopt its task and configuration."""
        res = SweepResult.load(path)
        self.set_result(res)
        return res

    # ------------------------------------------------------------------ views of the data
    def _task_runs(self) -> SweepResult:
        return self.result.filter(task=TASKS[self.task]().name)

    def matching(self, shuffled: bool = False) -> SweepResult:
        """Runs of the current series: the full current configuration (``SERIES_KEYS``)."""
        where = dict(zip(SERIES_KEYS, self.current_key()))
        return self.result.filter(shuffled=shuffled, **where)

    def series(self) -> list[tuple[tuple, str, SweepResult]]:
        """Every series of the current task: ``(key, label, clean-label runs)``, in first-seen order."""
        out: dict[tuple, list] = {}
        for r in self._task_runs().records:
            if not r.get("shuffled"):
                out.setdefault(tuple(r.get(k) for k in SERIES_KEYS), []).append(r)
        return [(k, series_label(k), SweepResult(v)) for k, v in out.items()]

    def other_series_curves(self) -> list[tuple[str, np.ndarray, np.ndarray]]:
        """Network learning curves ``(label, n_trains, median err_net)`` of the task's other series."""
        cur = self.current_key()
        return [(label, *runs.median("err_net")) for key, label, runs in self.series() if key != cur]

    def learning_curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """``{learner: (n_trains, median test error)}`` for the current architecture."""
        runs = self.matching()
        return {k: runs.median("err_" + k) for k in LEARNERS}

    def strength_values(self, runs: SweepResult) -> np.ndarray:
        """The selected strength measure of each run (NaN where a saved run lacks it)."""
        if self.strength == "mean_weight_change":
            return np.asarray([np.mean(r["weight_change"]) for r in runs.records], dtype=float)
        return np.asarray([r.get(self.strength, np.nan) for r in runs.records], dtype=float)

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
        label = series_label(self.current_key())
        if not len(runs):
            return f"{len(self.result)} runs loaded; none for {label}"
        ns, fq = runs.median("fq")
        return (f"{len(self.result)} runs; {label}: "
                f"median FQ from {fq[0]:.3g} (n={ns[0]}) to {fq[-1]:.3g} (n={ns[-1]})")
