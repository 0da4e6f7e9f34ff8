"""One network-vs-kernels comparison (:func:`compare`), batches of them and sweeps (:func:`sweep`).

Every run trains one ReLU MLP on a task and fits kernel ridge regression with five kernels on
the same training set:

``ntk``    analytic NTK of the architecture (:func:`~rnnexplore.featurequality.analytic_ntk`)
``nngp``   analytic NNGP of the output (:func:`~rnnexplore.featurequality.analytic_nngp`)
``k0``     empirical NTK at initialisation
``kT``     empirical NTK after training (the "after kernel", Long 2021)
``ckT``    last-hidden-layer kernel after training, ``<a_L(x), a_L(x')> + 1``

(``empirical_kernels=False`` keeps only the analytic ones: FQ without the strength measures,
much cheaper for wide networks.)

**Reported generalisation error**: the mean squared error against the *clean* target on a
fresh test set of ``n_test`` points (for an :class:`~rnnexplore.featurequality.ArrayTask`, its
held-out rows), at the *end* of training (not the best over checkpoints, which would be
optimistic). With shuffled training labels the test target is still the clean one.

**Batches.** :func:`compare_many` trains all its runs as one batched model
(:func:`~rnnexplore.featurequality.mlp.train_batched`: stacked weights, batched matrix
products; each model still gets exactly its own gradient and Adam update) and shares what the
runs have in common: a clean run and its shuffled-label control with the same seed and size
have the same inputs and initialisation, so ``K_0`` and the analytic kernels are built and
factorised once for both. :func:`sweep` splits its runs into ``batches`` such batched models
and maps them over an executor.

Seeds: the training set, test set, label shuffle, initialisation and minibatch order all
derive from ``seed`` alone (training sets of one seed are nested in ``n_train``), so a run is
reproducible for a given seed, torch thread count and ``batches``, whatever executor runs it
(another batching changes only the float32 rounding of training, checked in the tests).

Examples
--------
>>> from rnnexplore.featurequality import classic_staircase, compare
>>> rec = compare(classic_staircase(2, 6), 64, width=32, steps=200, n_test=128)
>>> sorted(rec.errors())
['ckT', 'k0', 'kT', 'net', 'nngp', 'ntk']
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..parallel import parallel_map
from .features import feature_view
from .kernels import DEFAULT_RELATIVE_RIDGE, KernelRidge, _analytic_kernels, linear_kernel_ridge
from .measures import (
    _kernel_change,
    _KernelStats,
    _spectral_summary,
    feature_quality,
    k95,
    mse,
    relative_weight_change,
)
from .._validation import (
    check_bool,
    check_callable,
    check_int,
    check_mapping,
    check_memory,
    check_real,
    check_seed,
)
from ..files import atomic_write, json_text, parse_json, read_bytes
from .tasks import ArrayTask, MultiIndex, Staircase
from .tasks import shuffle_labels as shuffle_labels_fn

__all__ = ["FQRecord", "compare", "compare_many", "sweep", "split_runs", "architecture_sweep", "first_n_above",
           "SweepResult", "DEFAULT_CONFIG"]

#: Defaults of :func:`compare`: a CPU-scale version of the setup of Göring et al. (2025) (S4, MLP 3 x 256).
DEFAULT_CONFIG = dict(depth=3, width=256, gamma=1.0, steps=8000, lr=2e-3, batch_size=64, n_test=2000)

KERNELS = ("ntk", "nngp", "k0", "kT", "ckT")
NAN = float("nan")


@dataclass
class FQRecord:
    """All errors and measures of one run (see :func:`compare`). Lists are per layer, k or coordinate.

    Attributes
    ----------
    err_net, err_ntk, err_nngp, err_k0, err_kT, err_ckT : float
        Test MSE (clean target, end of training) of the network and of KRR with each kernel
        (NaN for kernels not computed).
    fq : float
        ``err_ntk / err_net``; the property ``log10_fq`` is its logarithm (derived, not stored).
    k0_over_kT, kT_over_net : float
        ``err_k0 / err_kT`` and ``err_kT / err_net``.
    pi_star_0, pi_star_T : list of float
        Spectral quality ``Pi*(k)`` of the last hidden layer on test inputs, init / trained.
    k95_0, k95_T : float
        Smallest k with ``Pi*(k) >= 0.95`` (NaN if never).
    cka, cka_debiased : float
        Centred CKA of ``K_0`` and ``K_T`` on the training inputs, biased and debiased
        (``one_minus_cka`` = distance from the biased one).
    rel_frob : float
        ``||K_T - K_0|| / max(||K_0||, ||K_T||)`` on the training inputs.
    kta_0, kta_T : float
        Centred kernel-target alignment with the training labels.
    weight_change : list of float
        ``||W_T - W_0|| / ||W_0||`` per layer (input layer first).
    erank_0, erank_T : float
        Effective rank of the last hidden layer's test features.
    weight_mass : list of float
        Fraction of the trained first layer's squared norm on each input coordinate.
    support_mass_0, support_mass_T : float
        Fraction of the first layer's squared norm inside the target's relevant subspace,
        at init and trained (NaN if the task does not know its subspace).
    angles, max_angle : list of float, float
        Principal angles (degrees) between the top-k subspace of the first-layer change
        ``W_T - W_0`` and the relevant subspace (k its dimension).
    seconds : float
        Wall time of the run; for runs trained together, the batch's wall time divided by
        its number of runs (``batched_with``).
    """

    task: str
    d: int
    n_train: int
    seed: int
    shuffled: bool
    depth: int
    width: int
    gamma: float
    steps: int
    lr: float
    batch_size: int
    n_test: int
    var_f: float
    train_loss: float
    err_net: float
    err_ntk: float
    err_nngp: float
    err_k0: float
    err_kT: float
    err_ckT: float
    fq: float
    k0_over_kT: float
    kT_over_net: float
    k95_0: float
    k95_T: float
    cka: float
    one_minus_cka: float
    rel_frob: float
    kta_0: float
    kta_T: float
    erank_0: float
    erank_T: float
    weight_change: list = field(default_factory=list)
    pi_star_0: list = field(default_factory=list)
    pi_star_T: list = field(default_factory=list)
    seconds: float = NAN
    cka_debiased: float = NAN
    support_mass_0: float = NAN
    support_mass_T: float = NAN
    max_angle: float = NAN
    angles: list = field(default_factory=list)
    weight_mass: list = field(default_factory=list)
    batched_with: int = 1

    @property
    def log10_fq(self) -> float:
        """``log10(fq)`` (``-inf`` for FQ 0, NaN for NaN)."""
        return _log10(self.fq)

    def errors(self) -> dict[str, float]:
        """``{"net": err_net, "ntk": err_ntk, ...}``."""
        return {k: getattr(self, "err_" + k) for k in ("net",) + KERNELS}

    def to_dict(self) -> dict:
        """Plain JSON-able dict (lists for arrays)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> FQRecord:
        """Inverse of :meth:`to_dict` (unknown keys are ignored)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def _log10(v) -> float:
    v = float(v)
    return float("-inf") if v == 0 else (float(np.log10(v)) if v > 0 else NAN)


def _validate_config(cfg: dict) -> dict:
    out = dict(DEFAULT_CONFIG)
    out.update(check_mapping(cfg, "options", optional=sorted(out)))
    for name, hi in (("depth", 100), ("width", 2**16), ("steps", 10**7), ("batch_size", 2**20), ("n_test", 2**20)):
        out[name] = check_int(out[name], name, minimum=1, maximum=hi)
    check_memory((out["depth"], out["width"], out["width"]), "depth * width^2 (weights)")
    for name in ("gamma", "lr"):
        out[name] = check_real(out[name], name, minimum=0.0, exclusive_minimum=True)
    return out


def _check_task(task) -> None:
    if not isinstance(task, (Staircase, MultiIndex, ArrayTask)):
        raise ValueError(f"task must be a Staircase, MultiIndex or ArrayTask, got {type(task).__name__}")


def _check_seed(seed) -> int:
    return check_seed(seed, allow_none=False)


def _seeds(seed: int) -> dict[str, int]:
    states = np.random.SeedSequence([int(seed), 0x5EED]).generate_state(5)
    return dict(zip(("train", "test", "shuffle", "init", "batches"), (int(s) for s in states)))


def _krr_errors(K_tt, cross, Y_train, y_test, ridge, relative_ridge) -> list[float]:
    """Test MSE of KRR for each column of ``Y_train`` (one factorisation). ``cross`` is the
    (n_test, n) test-train kernel, or a function ``alpha -> K_test_train @ alpha`` (the empirical
    NTKs: applied through their factors, never formed)."""
    krr = KernelRidge(ridge=ridge, relative_ridge=relative_ridge).fit(K_tt, Y_train)
    pred = cross(krr.alpha_) if callable(cross) else krr.predict(cross)
    return [mse(pred[:, j], y_test) for j in range(pred.shape[1])]


def _ratio_or_nan(a: float, b: float) -> float:
    return feature_quality(a, b) if math.isfinite(a) and math.isfinite(b) else NAN


def compare_many(
    task,
    runs: Sequence[tuple[int, int, bool]],
    *,
    ridge: float | None = None,
    relative_ridge: float = DEFAULT_RELATIVE_RIDGE,
    threads: int = 1,
    empirical_kernels: bool = True,
    progress=False,
    should_stop=None,
    **config,
) -> list[FQRecord]:
    """Runs ``(n_train, seed, shuffled)`` of one task and configuration, trained as one batched model.

    The result of each run equals :func:`compare` of that run alone (same seeds; float
    summation order aside). See the module docstring for what is shared.

    Parameters
    ----------
    task : Staircase, MultiIndex or ArrayTask
    runs : sequence of (int, int, bool)
        ``(n_train, seed, shuffled)`` per run; at least one.
    ridge, relative_ridge, threads, empirical_kernels, **config
        As in :func:`compare`.
    progress : bool, str or callable
        Training progress (see :func:`~rnnexplore.featurequality.mlp.train_batched`).
    should_stop : callable, optional
        Cancels training (raises :class:`~rnnexplore.featurequality.mlp.TrainingCancelled`).

    Returns
    -------
    list of FQRecord
        In the order of ``runs``.

    Examples
    --------
    >>> from rnnexplore.featurequality import classic_staircase
    >>> recs = compare_many(classic_staircase(2, 6), [(32, 0, False), (32, 0, True)], width=16, steps=60, n_test=64)
    >>> [r.shuffled for r in recs], recs[0].err_ntk != recs[1].err_ntk, recs[0].batched_with
    ([False, True], True, 2)
    """
    from .mlp import ReLUMLP, set_torch_threads, train_batched

    runs, krr, threads, cfg = _check_many(task, runs, ridge, relative_ridge, threads, config)
    set_torch_threads(threads)
    t0 = time.perf_counter()
    with _blas_threads(threads):
        groups = {}
        for n, seed, _ in runs:
            if (n, seed) not in groups:
                groups[(n, seed)] = _initial_group(task, n, seed, [r[2] for r in runs if r[:2] == (n, seed)],
                                                   cfg, krr, empirical_kernels)
        models = [ReLUMLP(task.d, **_arch(cfg), seed=groups[r[:2]]["seeds"]["init"]) for r in runs]
        train_batched(models, [groups[r[:2]]["X_tr"] for r in runs], [groups[r[:2]]["labels"][r[2]] for r in runs],
                      seeds=[groups[r[:2]]["seeds"]["batches"] for r in runs], steps=cfg["steps"], lr=cfg["lr"],
                      batch_size=cfg["batch_size"], progress=progress, should_stop=should_stop)
        records = [_trained_record(task, cfg, r, model, groups[r[:2]], krr, empirical_kernels, len(runs))
                   for r, model in zip(runs, models)]
    wall = time.perf_counter() - t0
    for rec in records:
        rec.seconds = wall / len(records)
    return records


def _check_many(task, runs, ridge, relative_ridge, threads, config):
    """Validated ``(runs, krr options, threads, config)`` of :func:`compare_many`."""
    _check_task(task)
    runs = [(check_int(n, "n_train", minimum=1), _check_seed(s), check_bool(sh, "shuffled")) for n, s, sh in runs]
    if not runs:
        raise ValueError("runs must not be empty")
    krr = dict(ridge=check_real(ridge, "ridge", minimum=0.0, allow_none=True),
               relative_ridge=check_real(relative_ridge, "relative_ridge", minimum=0.0))
    threads = check_int(threads, "threads", minimum=1, maximum=os.cpu_count() or 1)
    cfg = _validate_config(config)
    n_big = max(max(n for n, _, _ in runs), cfg["n_test"])
    check_memory((n_big, n_big), "n_train / n_test (kernel matrices)")
    return runs, krr, threads, cfg


def _blas_threads(n: int):
    """Limit numpy's and scipy's BLAS to ``n`` threads while the kernels are built and solved
    (threadpoolctl, if installed). Two sweep workers with two BLAS threads each on two cores made
    every Gram product and Cholesky factorisation spin-wait for the other process. scipy's wheels
    bring their own OpenBLAS, which threadpoolctl limits only once it is loaded: ``scipy.linalg``
    is imported first (imported lazily inside the limits, the sweep's Cholesky factorisations ran
    two threads per worker)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scipy's usual stack
        import contextlib

        return contextlib.nullcontext()
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS before the limits are set)

    return threadpool_limits(limits=n, user_api="blas")


def _arch(cfg: dict) -> dict:
    return dict(depth=cfg["depth"], width=cfg["width"], gamma=cfg["gamma"])


def _initial_group(task, n: int, seed: int, shuffled: list[bool], cfg: dict, krr: dict, empirical: bool) -> dict:
    """Everything of one ``(n_train, seed)`` that does not depend on training, shared by its runs
    (clean and shuffled labels): data, the analytic kernels' and ``K_0``'s test errors for every
    label vector (one factorisation each), the initial network's weights and test features."""
    import torch

    from .mlp import ReLUMLP, _ntk_apply, ntk_factors, ntk_from_factors

    s = _seeds(seed)
    X_tr, f_tr = task.train_set(n, seed=s["train"])
    X_te, y_te = task.test_set(cfg["n_test"], seed=s["test"])
    labels = {False: f_tr, True: shuffle_labels_fn(f_tr, seed=s["shuffle"])}
    labels = {sh: labels[sh] for sh in shuffled}
    Y = np.stack(list(labels.values()), axis=1)
    err0: dict[bool, dict] = {sh: {} for sh in labels}

    def errs(K_tt, K_st, name):
        for sh, e in zip(labels, _krr_errors(K_tt, K_st, Y, y_te, krr["ridge"], krr["relative_ridge"])):
            err0[sh][name] = e

    arch = _arch(cfg)
    (ntk_tt, nngp_tt), (ntk_st, nngp_st) = _analytic_kernels(X_tr, **arch), _analytic_kernels(X_te, X_tr, **arch)
    errs(ntk_tt, ntk_st, "ntk")
    del ntk_tt, ntk_st
    errs(nngp_tt, nngp_st, "nngp")
    del nngp_tt, nngp_st
    model0 = ReLUMLP(task.d, **arch, seed=s["init"])
    with torch.no_grad():
        H0_te = model0.hidden(torch.as_tensor(X_te, dtype=torch.float32)).double().numpy()
    g = dict(seeds=s, X_tr=X_tr, X_te=X_te, y_te=y_te, labels=labels, err0=err0, W0=model0.weights(),
             H0_te=H0_te, spectrum0=_spectral_summary(H0_te, y_te))
    if empirical:
        Ftr = ntk_factors(model0, X_tr)
        g["K0_tt"] = ntk_from_factors(Ftr)
        Fte = ntk_factors(model0, X_te)
        errs(g["K0_tt"], lambda alpha: _ntk_apply(Fte, Ftr, alpha), "k0")
    return g


def _forward(Z, fn) -> np.ndarray:
    import torch

    with torch.no_grad():
        return fn(torch.as_tensor(Z, dtype=torch.float32)).double().numpy()


def _trained_kernels(model, g: dict, y_tr, HT_tr, HT_te, krr: dict) -> dict:
    """Test errors of the after kernel ``K_T`` and the trained last-layer kernel, and the strength
    measures of ``K_0 -> K_T`` on the training inputs."""
    from .mlp import _ntk_apply, ntk_factors, ntk_from_factors

    X_tr, X_te, y_te, K0_tt = g["X_tr"], g["X_te"], g["y_te"], g["K0_tt"]
    Ftr, Fte = ntk_factors(model, X_tr), ntk_factors(model, X_te)
    KT_tt = ntk_from_factors(Ftr)
    out = dict(err_kT=_krr_errors(KT_tt, lambda alpha: _ntk_apply(Fte, Ftr, alpha), y_tr[:, None], y_te,
                                  krr["ridge"], krr["relative_ridge"])[0])
    del Ftr, Fte
    # <a_L(x), a_L(x')> + 1 = Phi Phi^T with Phi = [a_L, 1]: ridge regression in feature space
    ones = np.ones((len(HT_tr), 1)), np.ones((len(HT_te), 1))
    pred = linear_kernel_ridge(np.hstack([HT_tr, ones[0]]), np.hstack([HT_te, ones[1]]), y_tr, **krr)
    out["err_ckT"] = mse(pred, y_te)
    if len(y_tr) > 1:
        if "K0_stats" not in g:  # shared by the runs of the group
            g["K0_stats"] = _KernelStats.of(K0_tt)
        out.update(_kernel_change(K0_tt, KT_tt, y_tr, g["K0_stats"]))
    return out


def _trained_record(task, cfg: dict, run, model, g: dict, krr: dict, empirical: bool, batched_with: int) -> FQRecord:
    """The :class:`FQRecord` of one trained run of :func:`compare_many`."""
    n, seed, shuffled = run
    y_tr, e = g["labels"][shuffled], g["err0"][shuffled]
    X_tr, X_te, y_te = g["X_tr"], g["X_te"], g["y_te"]
    err_net = mse(_forward(X_te, model), y_te)
    train_loss = mse(_forward(X_tr, model), y_tr)
    HT_te = _forward(X_te, model.hidden)
    m = dict(err_kT=NAN, err_ckT=NAN, cka=NAN, cka_debiased=NAN, rel_frob=NAN, kta_0=NAN, kta_T=NAN)
    if empirical:
        m.update(_trained_kernels(model, g, y_tr, _forward(X_tr, model.hidden), HT_te, krr))
    (pi0, erank0), (piT, erankT) = g["spectrum0"], _spectral_summary(HT_te, y_te)
    WT = model.weights()
    view = feature_view(g["W0"][0], WT[0], task.relevant_basis())
    return FQRecord(
        task=task.name, d=task.d, n_train=n, seed=seed, shuffled=shuffled, depth=cfg["depth"], width=cfg["width"],
        gamma=cfg["gamma"], steps=cfg["steps"], lr=cfg["lr"], batch_size=cfg["batch_size"], n_test=len(X_te),
        var_f=task.variance, train_loss=train_loss, err_net=err_net, err_ntk=e["ntk"], err_nngp=e["nngp"],
        err_k0=e.get("k0", NAN), fq=feature_quality(e["ntk"], err_net),
        k0_over_kT=_ratio_or_nan(e.get("k0", NAN), m["err_kT"]), kT_over_net=_ratio_or_nan(m["err_kT"], err_net),
        k95_0=k95(pi0), k95_T=k95(piT), one_minus_cka=1.0 - m["cka"], **m, erank_0=erank0, erank_T=erankT,
        weight_change=relative_weight_change(g["W0"], WT),
        pi_star_0=[float(v) for v in pi0], pi_star_T=[float(v) for v in piT],
        weight_mass=view["weight_mass"], support_mass_0=view["support_mass_0"],
        support_mass_T=view["support_mass_T"], angles=view["angles"], max_angle=view["max_angle"],
        batched_with=batched_with,
    )


def compare(
    task,
    n_train: int,
    *,
    seed: int = 0,
    shuffle_labels: bool = False,
    ridge: float | None = None,
    relative_ridge: float = DEFAULT_RELATIVE_RIDGE,
    threads: int = 1,
    empirical_kernels: bool = True,
    progress=False,
    should_stop=None,
    **config,
) -> FQRecord:
    """Train one network and the kernel learners on ``n_train`` samples; return every measure.

    Parameters
    ----------
    task : Staircase, MultiIndex or ArrayTask
        Target (e.g. ``classic_staircase(4, 20)``, ``multi_index()``, ``ArrayTask(X, y)``).
    n_train : int
        Training-set size (>= 1).
    seed : int, default 0
        Seeds the data, the shuffle, the initialisation and the minibatches.
    shuffle_labels : bool, default False
        Memorisation control: permute the training labels (test target stays clean).
    ridge : float, optional
        Absolute KRR ridge for every kernel; default ``relative_ridge * tr(K)/n``.
    relative_ridge : float, default 1e-6
    threads : int, default 1
        torch intra-op threads. Minibatch steps of this size are small: one thread is
        fastest on a shared machine (on a busy 2-core machine 2 threads made a step ~10x
        slower) and leaves the other core to a second batch of a sweep.
    empirical_kernels : bool, default True
        Also build ``K_0``, ``K_T`` and the trained last-layer kernel, and the strength
        measures from them. False: analytic kernels only (NaN for the rest).
    progress : bool, str or callable
        tqdm bar over training steps, or ``progress(step, steps)`` (see ``train_mlp``).
    should_stop : callable, optional
        Checked every 100 steps; True cancels (raises ``TrainingCancelled``).
    **config
        Overrides of :data:`DEFAULT_CONFIG`: ``depth`` (hidden layers), ``width``,
        ``gamma`` (output divided by it), ``steps``, ``lr`` (Adam, cosine-annealed),
        ``batch_size`` (sampled with replacement), ``n_test``.

    Returns
    -------
    FQRecord
        Errors are end-of-training test MSEs against the clean target (see module doc).

    Examples
    --------
    >>> from rnnexplore.featurequality import classic_staircase
    >>> rec = compare(classic_staircase(2, 6), 32, width=16, steps=100, n_test=64)
    >>> rec.fq == rec.err_ntk / rec.err_net
    True
    """
    n_train = check_int(n_train, "n_train", minimum=1)
    return compare_many(task, [(n_train, _check_seed(seed), bool(shuffle_labels))], ridge=ridge,
                        relative_ridge=relative_ridge, threads=threads, empirical_kernels=empirical_kernels,
                        progress=progress, should_stop=should_stop, **config)[0]


def _run_batch(item: dict) -> list[dict]:
    """Top-level work function of :func:`sweep`: one batched model's runs, plain dicts out."""
    recs = compare_many(item["task"], item["runs"], threads=item.get("threads", 1), ridge=item.get("ridge"),
                        relative_ridge=item.get("relative_ridge", DEFAULT_RELATIVE_RIDGE),
                        empirical_kernels=item.get("empirical_kernels", True), **item["config"])
    return [r.to_dict() for r in recs]


def split_runs(runs: Sequence[tuple[int, int, bool]], batches: int, cost=None) -> list[list[tuple[int, int, bool]]]:
    """Split runs into at most ``batches`` groups of nearly equal size and cost, keeping runs that
    share ``(n_train, seed)`` together (they share ``K_0`` and the analytic kernels), except that the
    runs of the cheapest such pair may go to different batches when that evens the sizes (its
    shared kernels are then built twice, which is cheap at small ``n``). With
    ``batches >= len(runs)`` every run is its own batch.

    The run counts are balanced first (every run of a sweep trains for the same number of steps),
    the estimated cost second: the pairs go largest first to the batch with the fewest runs (the
    cheapest of those), then pairs of equal size are swapped between the costliest batch and
    another while that lowers the largest cost.

    Parameters
    ----------
    runs : sequence of (n_train, seed, shuffled)
    batches : int
        Number of batches (>= 1).
    cost : callable, optional
        ``cost(n_train) -> (per_run, shared)``: estimated cost of one run and of the work the
        runs of its pair share. Default ``(0, n_train)``. :func:`sweep` passes the kernel work
        of its configuration.

    Examples
    --------
    >>> split_runs([(10, 0, False), (20, 0, False), (10, 0, True), (20, 0, True)], 2)
    [[(20, 0, False), (20, 0, True)], [(10, 0, False), (10, 0, True)]]
    >>> [len(b) for b in split_runs([(n, 0, sh) for n in (1, 2, 3) for sh in (False, True)], 2)]
    [3, 3]
    """
    batches = check_int(batches, "batches", minimum=1)
    check_callable(cost, "cost")
    if batches >= len(runs):
        return [[r] for r in runs]
    cost = (lambda n: (0.0, float(n))) if cost is None else cost
    pairs: dict[tuple[int, int], list] = {}
    for r in runs:
        pairs.setdefault(r[:2], []).append(r)

    def unit_cost(unit: list) -> float:
        per_run, shared = (float(c) for c in cost(unit[0][0]))
        return per_run * len(unit) + shared

    units = sorted(pairs.values(), key=lambda u: (-unit_cost(u), -u[0][0], u[0][1]))
    k = min(batches, len(pairs))
    options = [_balanced(units, k, unit_cost)]
    if len(units[-1]) > 1:  # the cheapest pair split into its runs
        options.append(_balanced(units[:-1] + [[r] for r in units[-1]], k, unit_cost))

    def worst(parts):
        return (max(sum(len(u) for u in p) for p in parts), max(sum(unit_cost(u) for u in p) for p in parts))

    return [[r for u in p for r in u] for p in min(options, key=worst) if p]


def _balanced(units: list, k: int, unit_cost) -> list[list]:
    """``units`` (largest first) into ``k`` parts, each to the part with the fewest runs (then the
    cheapest); then swaps of two units with the same number of runs between the costliest part and
    another while its cost drops."""
    parts: list[list] = [[] for _ in range(k)]
    totals, sizes = [0.0] * k, [0] * k
    for u in units:
        b = min(range(k), key=lambda j: (sizes[j], totals[j]))
        parts[b].append(u)
        totals[b] += unit_cost(u)
        sizes[b] += len(u)
    while True:
        hi = max(range(k), key=lambda j: totals[j])
        swaps = ((lo, a, b) for lo in range(k) if lo != hi for a in range(len(parts[hi]))
                 for b in range(len(parts[lo])) if len(parts[hi][a]) == len(parts[lo][b]))
        for lo, a, b in swaps:
            delta = unit_cost(parts[hi][a]) - unit_cost(parts[lo][b])
            if delta > 0 and totals[lo] + delta < totals[hi] - 1e-12 * abs(totals[hi]):
                parts[hi][a], parts[lo][b] = parts[lo][b], parts[hi][a]
                totals[hi], totals[lo] = totals[hi] - delta, totals[lo] + delta
                break
        else:
            return parts


def _kernel_cost(cfg: dict, empirical_kernels: bool):
    """Relative kernel work ``n -> (per_run, shared)`` of :func:`sweep`'s configuration, for
    :func:`split_runs`: per run ``K_T`` (its Gram products, solve and strength measures), shared by a
    pair ``K_0`` and the analytic kernels, each growing like ``n^2 (n + n_test)`` (measured on the
    S4 sweep, 3 x 256 at n = 4000: about 2 s per run and 3.5 s per pair; the analytic kernels
    alone about 1 s)."""
    def cost(n: int) -> tuple[float, float]:
        scale = n * n * (n + cfg["n_test"])
        return (2.0 * scale, 3.5 * scale) if empirical_kernels else (0.0, scale)
    return cost


def sweep(
    task,
    n_trains: Iterable[int],
    seeds: Iterable[int] = (0, 1, 2),
    *,
    shuffled: bool | Iterable[int] = False,
    executor: Executor | None = None,
    batches: int = 2,
    threads: int = 1,
    ridge: float | None = None,
    relative_ridge: float = DEFAULT_RELATIVE_RIDGE,
    empirical_kernels: bool = True,
    progress: bool | str = False,
    **config,
) -> SweepResult:
    """Run :func:`compare` over ``n_trains x seeds`` (and shuffled-label controls), batched.

    Parameters
    ----------
    task : Staircase, MultiIndex or ArrayTask
    n_trains : iterable of int
        Training-set sizes.
    seeds : iterable of int
        One run per seed and size; the seed alone fixes the run.
    shuffled : bool or iterable of int
        Shuffled-label controls: ``True`` for every size, ``False`` none, or the sizes
        at which to add one (for every seed).
    executor : concurrent.futures.Executor, optional
        Passed to :func:`rnnexplore.parallel.parallel_map` (``None``: serial;
        ``ProcessPoolExecutor(2)``; a Dask ``client.get_executor()``).
    batches : int, default 2
        Number of batched models the runs are split into (:func:`split_runs`); each is one
        work item. The default suits two cores (one batch per core); ``batches`` equal to the
        number of runs trains every run separately (the pre-batching behaviour).
    threads : int, default 1
        torch threads per batch (see :func:`compare`).
    ridge, relative_ridge, empirical_kernels, **config
        As in :func:`compare`.
    progress : bool or str
        tqdm bar over batches.

    Returns
    -------
    SweepResult
        Records in the order: clean runs (sizes x seeds), then shuffled ones.

    Examples
    --------
    >>> from rnnexplore.featurequality import classic_staircase
    >>> res = sweep(classic_staircase(2, 6), [16, 32], seeds=[0], shuffled=[16],
    ...             width=16, steps=50, n_test=32)
    >>> len(res), res.column("n_train").tolist(), res.column("shuffled").tolist()
    (3, [16, 32, 16], [False, False, True])
    """
    _check_task(task)
    n_trains = [check_int(n, "n_trains", minimum=1) for n in n_trains]
    seeds = [_check_seed(s) for s in seeds]
    if not n_trains or not seeds:
        raise ValueError("n_trains and seeds must not be empty")
    if shuffled is True:
        shuffled_ns = list(n_trains)
    elif shuffled is False or shuffled is None:
        shuffled_ns = []
    else:
        shuffled_ns = [check_int(n, "shuffled entry", minimum=1) for n in shuffled]
    cfg = _validate_config(config)
    runs = [(n, s, False) for n in n_trains for s in seeds] + [(n, s, True) for n in shuffled_ns for s in seeds]
    base = dict(task=task, config=cfg, threads=threads, ridge=ridge, relative_ridge=relative_ridge,
                empirical_kernels=empirical_kernels)
    items = [dict(base, runs=b) for b in split_runs(runs, batches, cost=_kernel_cost(cfg, empirical_kernels))]
    out = parallel_map(_run_batch, items, executor=executor, chunksize=1 if executor else None,
                       progress="sweep" if progress is True else progress)
    by_run = {(r["n_train"], r["seed"], r["shuffled"]): r for batch in out for r in batch}
    return SweepResult([by_run[r] for r in runs])


def architecture_sweep(
    task,
    n_trains: Iterable[int],
    seeds: Iterable[int] = (0,),
    *,
    depths: Iterable[int] = (1, 2, 3, 4),
    widths: Iterable[int] = (64, 256, 1024),
    executor: Executor | None = None,
    threads: int = 1,
    empirical_kernels: bool = False,
    progress: bool | str = False,
    **config,
) -> SweepResult:
    """:func:`sweep` over ``n_trains x seeds`` for every ``depth x width``, one batched model each.

    Every architecture's runs are one work item (largest first, so a pool balances them);
    by default only the analytic kernels are fitted (FQ without the strength measures: the
    empirical NTK of a 4 x 1024 network at n = 4000 costs more than its training).

    Returns
    -------
    SweepResult
        Ordered by depth, width, then as :func:`sweep`.

    Examples
    --------
    >>> from rnnexplore.featurequality import classic_staircase
    >>> res = architecture_sweep(classic_staircase(2, 6), [16], depths=[1, 2], widths=[8],
    ...                          steps=30, n_test=32)
    >>> res.column("depth").tolist(), res.column("width").tolist()
    ([1, 2], [8, 8])
    """
    _check_task(task)
    n_trains = [check_int(n, "n_trains", minimum=1) for n in n_trains]
    seeds = [_check_seed(s) for s in seeds]
    depths = [check_int(v, "depths", minimum=1) for v in depths]
    widths = [check_int(v, "widths", minimum=1) for v in widths]
    if not (n_trains and seeds and depths and widths):
        raise ValueError("n_trains, seeds, depths and widths must not be empty")
    for key in ("depth", "width"):
        if key in config:
            raise ValueError(f"pass {key}s=[...] to architecture_sweep, not {key}")
    archs = [(dp, w) for dp in depths for w in widths]
    runs = [(n, s, False) for n in n_trains for s in seeds]
    items = [dict(task=task, runs=runs, threads=threads, empirical_kernels=empirical_kernels,
                  config=_validate_config(dict(config, depth=dp, width=w))) for dp, w in archs]
    # cost ~ parameters: largest first so that a pool's workers finish together
    order = sorted(range(len(items)), key=lambda i: -(archs[i][0] * archs[i][1] ** 2))
    out = parallel_map(_run_batch, [items[i] for i in order], executor=executor, chunksize=1 if executor else None,
                       progress="architectures" if progress is True else progress)
    by_arch = {archs[i]: recs for i, recs in zip(order, out)}
    return SweepResult([r for a in archs for r in by_arch[a]])


def first_n_above(result: SweepResult, threshold: float = 10.0, column: str = "fq") -> list[dict]:
    """Per architecture, the smallest ``n_train`` whose median ``column`` (over seeds) exceeds ``threshold``.

    Returns
    -------
    list of dict
        ``{"depth", "width", "n_first" (None if never), "max_median", "n_max"}`` per architecture
        of the (clean-label) runs, sorted by depth then width.

    Examples
    --------
    >>> r = SweepResult([dict(depth=1, width=8, n_train=n, fq=f, shuffled=False) for n, f in ((10, 2.0), (20, 12.0))])
    >>> first_n_above(r)
    [{'depth': 1, 'width': 8, 'n_first': 20, 'max_median': 12.0, 'n_max': 20}]
    """
    clean = result.filter(shuffled=False)
    archs = sorted({(int(r["depth"]), int(r["width"])) for r in clean.records})
    out = []
    for dp, w in archs:
        ns, med = clean.median(column, depth=dp, width=w)
        hit = [int(n) for n, m in zip(ns, med) if m > threshold]
        out.append(dict(depth=dp, width=w, n_first=hit[0] if hit else None, max_median=float(np.max(med)),
                        n_max=int(ns.max())))
    return out


_FORMAT = "rnnexplore.featurequality.sweep/1"
#: Columns computed from a stored one: ``{name: (source column, function)}``.
_DERIVED = {"log10_fq": ("fq", lambda v: _log10(NAN if v is None else v))}


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _unclean(v):
    if v is None:
        return float("nan")
    if v in ("inf", "-inf"):
        return float(v)
    if isinstance(v, list):
        return [_unclean(x) for x in v]
    return v


def _parse_cell(s: str):
    if not isinstance(s, str):  # a row longer or shorter than the header
        raise ValueError(f"row length does not match the header (cell {s!r})")
    if s.startswith("["):
        return _unclean(parse_json(s, "list cell"))
    if s in ("True", "False"):
        return s == "True"
    for conv in (int, float):
        try:
            return conv(s)
        except ValueError:
            pass
    return s


class SweepResult:
    """A table of run records (list of dicts), saved to and loaded from CSV or JSON.

    Parameters
    ----------
    records : list of dict
        One :meth:`FQRecord.to_dict` per run.

    Examples
    --------
    >>> r = SweepResult([{"n_train": 10, "fq": 2.0, "shuffled": False},
    ...                  {"n_train": 10, "fq": 4.0, "shuffled": False}])
    >>> r.median("fq")
    (array([10]), array([3.]))
    """

    def __init__(self, records: Sequence[dict]):
        if isinstance(records, (str, bytes, Mapping)) or not isinstance(records, Iterable):
            raise ValueError(f"records must be a list of dicts, got {type(records).__name__}")
        # derived columns are computed on demand, never stored (files written before that kept them)
        self.records = [{k: v for k, v in check_mapping(r, f"records[{i}]").items() if k not in _DERIVED}
                        for i, r in enumerate(records)]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"SweepResult({len(self)} runs)"

    @property
    def columns(self) -> list[str]:
        """Column names, in first-seen order (``log10_fq`` derived from ``fq``, after it)."""
        cols: list[str] = []
        for c in self._stored_columns():
            cols.append(c)
            cols.extend(k for k, (source, _) in _DERIVED.items() if source == c)
        return cols

    def _stored_columns(self) -> list[str]:
        cols: dict[str, None] = {}
        for r in self.records:
            cols.update(dict.fromkeys(r))
        return list(cols)

    def filter(self, **where) -> SweepResult:
        """Rows whose columns equal the given values, e.g. ``filter(shuffled=False)``."""
        return SweepResult([r for r in self.records if all(r.get(k) == v for k, v in where.items())])

    def column(self, name: str, **where) -> np.ndarray:
        """One column as an array (after :meth:`filter`)."""
        if self.records and name not in self.columns:
            raise ValueError(f"unknown column {name!r}; columns: {self.columns}")
        rows = self.filter(**where).records
        if name in _DERIVED:
            source, fn = _DERIVED[name]
            return np.asarray([fn(r[source]) for r in rows], dtype=float)
        return np.asarray([r[name] for r in rows])

    def median(self, name: str, by: str = "n_train", **where) -> tuple[np.ndarray, np.ndarray]:
        """Median of column ``name`` for each value of ``by`` (sorted), after :meth:`filter`."""
        sub = self.filter(**where)
        keys = np.unique(sub.column(by)) if len(sub) else np.array([])
        med = [np.median(sub.column(name, **{by: k}).astype(float)) for k in keys]
        return keys, np.asarray(med, dtype=float)

    def table(self, columns: Sequence[str], by: str = "n_train", fmt: str = "{:.3g}", **where) -> str:
        """Markdown table of per-``by`` medians of ``columns`` (after :meth:`filter`)."""
        keys = None
        cols = []
        for c in columns:
            keys, m = self.median(c, by=by, **where)
            cols.append(m)
        lines = ["| " + " | ".join([by, *columns]) + " |", "|" + "---|" * (len(columns) + 1)]
        for i, k in enumerate([] if keys is None else keys):
            lines.append("| " + " | ".join([str(k)] + [fmt.format(c[i]) for c in cols]) + " |")
        return "\n".join(lines)

    # ------------------------------------------------------------------ IO (no pickle)
    def to_json(self, path=None) -> str:
        """JSON text (non-finite floats as null / "inf"); written to ``path`` if given."""
        rows = ",\n".join(json_text(_clean_dict(r), "feature-quality sweep record", separators=(",", ":"))
                           for r in self.records)
        text = f'{{"format": "{_FORMAT}", "records": [\n{rows}\n]}}\n'  # one run per line
        if path is not None:
            atomic_write(path, text, "feature-quality sweep")
        return text

    def to_csv(self, path=None) -> str:
        """CSV text (list columns as JSON strings); written to ``path`` if given."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self._stored_columns(), lineterminator="\n")
        w.writeheader()
        for r in self.records:
            w.writerow({k: json.dumps(_clean(v)) if isinstance(v, list) else v for k, v in r.items()})
        if path is not None:
            atomic_write(path, buf.getvalue(), "feature-quality sweep")
        return buf.getvalue()

    def save(self, path) -> Path:
        """Save as ``.json`` or ``.csv`` (by suffix)."""
        path = Path(path)
        if path.suffix == ".json":
            self.to_json(path)
        elif path.suffix == ".csv":
            self.to_csv(path)
        else:
            raise ValueError(f"path must end in .json or .csv, got {path.name!r}")
        return path

    @classmethod
    def load(cls, path) -> SweepResult:
        """Load a ``.json`` or ``.csv`` file written by :meth:`save` (plain parsing, no code)."""
        if not isinstance(path, (str, os.PathLike)):
            raise ValueError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        path = Path(path)
        if path.suffix not in (".json", ".csv"):
            raise ValueError(f"path must end in .json or .csv, got {path.name!r}")
        raw = read_bytes(path, "feature-quality sweep")
        where = f"feature-quality sweep file {str(path)!r}"
        if path.suffix == ".json":
            data = parse_json(raw, where)
            if not isinstance(data, dict) or data.get("format") != _FORMAT:
                raise ValueError(f"{where} is not a feature-quality sweep (format {_FORMAT})")
            records = data.get("records")
            if not isinstance(records, list):
                raise ValueError(f"{where}: 'records' must be a list of objects, got {type(records).__name__}")
            for i, r in enumerate(records):
                check_mapping(r, f"{where}: records[{i}]")
            return cls([{k: _unclean(v) for k, v in r.items()} for r in records])
        try:
            text = raw.decode("utf-8")
            rows = list(csv.DictReader(io.StringIO(text, newline="")))
        except (UnicodeDecodeError, csv.Error) as exc:
            raise ValueError(f"{where} is not a CSV table: {exc}") from None
        try:
            return cls([{k: _parse_cell(v) for k, v in row.items()} for row in rows])
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise ValueError(f"{where}: a cell is malformed ({type(exc).__name__}: {exc})") from None

    def records_as(self) -> list[FQRecord]:
        """The rows as :class:`FQRecord` objects."""
        return [FQRecord.from_dict(r) for r in self.records]


def _clean_dict(r: dict) -> dict:
    return {k: _clean(v) for k, v in r.items()}

