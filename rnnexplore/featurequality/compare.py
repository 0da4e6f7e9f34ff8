"""One network-vs-kernels comparison (:func:`compare`) and sweeps of them (:func:`sweep`).

Every run trains one ReLU MLP on a staircase task and fits kernel ridge regression
with five kernels on the same training set:

``ntk``    analytic NTK of the architecture (:func:`~rnnexplore.featurequality.analytic_ntk`)
``nngp``   analytic NNGP of the output (:func:`~rnnexplore.featurequality.analytic_nngp`)
``k0``     empirical NTK at initialisation
``kT``     empirical NTK after training (the "after kernel", Long 2021)
``ckT``    last-hidden-layer kernel after training, ``<a_L(x), a_L(x')> + 1``

**Reported generalisation error**: the mean squared error against the *clean* target
``f(x)`` on a fresh test set of ``n_test`` points, at the *end* of training (not the best
over checkpoints, which would be optimistic). With shuffled training labels the test
target is still the clean ``f``.

Seeds: the training set, test set, label shuffle, initialisation and minibatch order
all derive from ``seed`` alone (training sets of one seed are nested in ``n_train``), so
a run is reproducible for a given seed and torch thread count, whatever executor runs it.

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
from .kernels import DEFAULT_RELATIVE_RIDGE, KernelRidge, analytic_nngp, analytic_ntk
from .measures import (
    cka,
    effective_rank,
    feature_quality,
    k95,
    kernel_target_alignment,
    mse,
    relative_frobenius_change,
    relative_weight_change,
    spectral_quality,
)
from .._validation import (
    check_bool,
    check_int,
    check_mapping,
    check_memory,
    check_real,
    check_seed,
)
from ..files import atomic_write, json_text, parse_json, read_bytes
from .tasks import Staircase, shuffle_labels

__all__ = ["FQRecord", "compare", "sweep", "SweepResult", "DEFAULT_CONFIG"]

#: Defaults of :func:`compare`: a CPU-scale version of the setup of Göring et al. (2025) (S4, MLP 3 x 256).
DEFAULT_CONFIG = dict(depth=3, width=256, gamma=1.0, steps=8000, lr=2e-3, batch_size=64, n_test=2000)

KERNELS = ("ntk", "nngp", "k0", "kT", "ckT")


@dataclass
class FQRecord:
    """All errors and measures of one run (see :func:`compare`). Lists are per layer or per k.

    Attributes
    ----------
    err_net, err_ntk, err_nngp, err_k0, err_kT, err_ckT : float
        Test MSE (clean target, end of training) of the network and of KRR with each kernel.
    fq : float
        ``err_ntk / err_net``; ``log10_fq`` its logarithm.
    k0_over_kT, kT_over_net : float
        ``err_k0 / err_kT`` and ``err_kT / err_net``.
    pi_star_0, pi_star_T : list of float
        Spectral quality ``Pi*(k)`` of the last hidden layer on test inputs, init / trained.
    k95_0, k95_T : float
        Smallest k with ``Pi*(k) >= 0.95`` (NaN if never).
    cka : float
        Centred CKA of ``K_0`` and ``K_T`` on the training inputs (``one_minus_cka`` = distance).
    rel_frob : float
        ``||K_T - K_0|| / max(||K_0||, ||K_T||)`` on the training inputs.
    kta_0, kta_T : float
        Centred kernel-target alignment with the training labels.
    weight_change : list of float
        ``||W_T - W_0|| / ||W_0||`` per layer (input layer first).
    erank_0, erank_T : float
        Effective rank of the last hidden layer's test features.
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
    log10_fq: float
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
    seconds: float = float("nan")

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


def _validate_config(cfg: dict) -> dict:
    out = dict(DEFAULT_CONFIG)
    out.update(check_mapping(cfg, "options", optional=sorted(out)))
    for name, hi in (("depth", 100), ("width", 2**16), ("steps", 10**7), ("batch_size", 2**20), ("n_test", 2**20)):
        out[name] = check_int(out[name], name, minimum=1, maximum=hi)
    check_memory((out["depth"], out["width"], out["width"]), "depth * width^2 (weights)")
    for name in ("gamma", "lr"):
        out[name] = check_real(out[name], name, minimum=0.0, exclusive_minimum=True)
    return out


def _seeds(seed: int) -> dict[str, int]:
    states = np.random.SeedSequence([int(seed), 0x5EED]).generate_state(5)
    return dict(zip(("train", "test", "shuffle", "init", "batches"), (int(s) for s in states)))


def _krr_error(K_tt, K_st, y_train, y_test, ridge, relative_ridge) -> float:
    krr = KernelRidge(ridge=ridge, relative_ridge=relative_ridge).fit(K_tt, y_train)
    return mse(krr.predict(K_st), y_test)


def compare(
    task: Staircase,
    n_train: int,
    *,
    seed: int = 0,
    shuffle_labels: bool = False,
    ridge: float | None = None,
    relative_ridge: float = DEFAULT_RELATIVE_RIDGE,
    threads: int = 1,
    progress=False,
    **config,
) -> FQRecord:
    """Train one network and the kernel learners on ``n_train`` samples; return every measure.

    Parameters
    ----------
    task : Staircase
        Target function (e.g. ``classic_staircase(4, 20)``).
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
        torch intra-op threads. Minibatch steps of this size are overhead-bound: one
        thread is fastest (on a busy 2-core machine 2 threads made a step ~10x slower)
        and leaves the other core to a second run of a sweep.
    progress : bool, str or callable
        tqdm bar over training steps, or ``progress(step, steps)`` (see ``train_mlp``).
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
    import torch

    from .mlp import ReLUMLP, ntk_factors, ntk_from_factors, set_torch_threads, train_mlp

    if not isinstance(task, Staircase):
        raise ValueError(f"task must be a Staircase, got {type(task).__name__}")
    n_train = check_int(n_train, "n_train", minimum=1)
    seed = check_seed(seed, allow_none=False)
    shuffle_labels = check_bool(shuffle_labels, "shuffle_labels")
    ridge = check_real(ridge, "ridge", minimum=0.0, allow_none=True)
    relative_ridge = check_real(relative_ridge, "relative_ridge", minimum=0.0)
    threads = check_int(threads, "threads", minimum=1, maximum=os.cpu_count() or 1)
    cfg = _validate_config(config)
    check_memory((max(n_train, cfg["n_test"]), max(n_train, cfg["n_test"])), "n_train / n_test (kernel matrices)")
    set_torch_threads(threads)
    t0 = time.perf_counter()
    s = _seeds(seed)
    X_tr, f_tr = task.sample(n_train, seed=s["train"])
    X_te, y_te = task.sample(cfg["n_test"], seed=s["test"])
    y_tr = shuffle_labels_fn(f_tr, seed=s["shuffle"]) if shuffle_labels else f_tr

    model = ReLUMLP(task.d, cfg["depth"], cfg["width"], gamma=cfg["gamma"], seed=s["init"])
    W0 = model.weights()

    def hidden(Z):
        with torch.no_grad():
            return model.hidden(torch.as_tensor(Z, dtype=torch.float32)).double().numpy()

    def kernels_now():
        Ftr, Fte = ntk_factors(model, X_tr), ntk_factors(model, X_te)
        return ntk_from_factors(Ftr), ntk_from_factors(Fte, Ftr)

    def err(K_tt, K_st):
        return _krr_error(K_tt, K_st, y_tr, y_te, ridge, relative_ridge)

    K0_tt, K0_st = kernels_now()
    err_k0 = err(K0_tt, K0_st)
    H0_te = hidden(X_te)
    del K0_st

    train_mlp(model, X_tr, y_tr, steps=cfg["steps"], lr=cfg["lr"], batch_size=cfg["batch_size"],
              seed=s["batches"], progress=progress)
    with torch.no_grad():
        pred_te = model(torch.as_tensor(X_te, dtype=torch.float32)).double().numpy()
        pred_tr = model(torch.as_tensor(X_tr, dtype=torch.float32)).double().numpy()
    err_net = mse(pred_te, y_te)

    KT_tt, KT_st = kernels_now()
    err_kT = err(KT_tt, KT_st)
    del KT_st
    strength = dict(
        cka=cka(K0_tt, KT_tt) if n_train > 1 else float("nan"),
        rel_frob=relative_frobenius_change(K0_tt, KT_tt) if n_train > 1 else float("nan"),
        kta_0=kernel_target_alignment(K0_tt, y_tr) if n_train > 1 else float("nan"),
        kta_T=kernel_target_alignment(KT_tt, y_tr) if n_train > 1 else float("nan"),
    )
    del K0_tt, KT_tt
    HT_tr, HT_te = hidden(X_tr), hidden(X_te)
    err_ckT = err(HT_tr @ HT_tr.T + 1.0, HT_te @ HT_tr.T + 1.0)
    arch = dict(depth=cfg["depth"], width=cfg["width"], gamma=cfg["gamma"])
    err_ntk = err(analytic_ntk(X_tr, **arch), analytic_ntk(X_te, X_tr, **arch))
    nn_arch = dict(depth=cfg["depth"], gamma=cfg["gamma"])
    err_nngp = err(analytic_nngp(X_tr, **nn_arch), analytic_nngp(X_te, X_tr, **nn_arch))

    pi0, piT = spectral_quality(H0_te, y_te), spectral_quality(HT_te, y_te)
    fq = feature_quality(err_ntk, err_net)
    return FQRecord(
        task=task.name, d=task.d, n_train=n_train, seed=int(seed), shuffled=bool(shuffle_labels),
        depth=cfg["depth"], width=cfg["width"], gamma=cfg["gamma"], steps=cfg["steps"], lr=cfg["lr"],
        batch_size=cfg["batch_size"], n_test=cfg["n_test"], var_f=task.variance,
        train_loss=mse(pred_tr, y_tr),
        err_net=err_net, err_ntk=err_ntk, err_nngp=err_nngp, err_k0=err_k0, err_kT=err_kT, err_ckT=err_ckT,
        fq=fq, log10_fq=float(np.log10(fq)) if fq > 0 else float("-inf"),
        k0_over_kT=feature_quality(err_k0, err_kT), kT_over_net=feature_quality(err_kT, err_net),
        k95_0=k95(pi0), k95_T=k95(piT),
        one_minus_cka=1.0 - strength["cka"], **strength,
        erank_0=effective_rank(H0_te), erank_T=effective_rank(HT_te),
        weight_change=relative_weight_change(W0, model.weights()),
        pi_star_0=[float(v) for v in pi0], pi_star_T=[float(v) for v in piT],
        seconds=time.perf_counter() - t0,
    )


shuffle_labels_fn = shuffle_labels  # the keyword argument of compare() shadows the function


def _run_item(item: dict) -> dict:
    """Top-level work function of :func:`sweep`: plain dict in, plain dict out."""
    task = Staircase.from_dict(item["task"])
    rec = compare(task, item["n_train"], seed=item["seed"], shuffle_labels=item["shuffled"],
                  threads=item.get("threads", 1), ridge=item.get("ridge"),
                  relative_ridge=item.get("relative_ridge", DEFAULT_RELATIVE_RIDGE), **item["config"])
    return rec.to_dict()


def sweep(
    task: Staircase,
    n_trains: Iterable[int],
    seeds: Iterable[int] = (0, 1, 2),
    *,
    shuffled: bool | Iterable[int] = False,
    executor: Executor | None = None,
    threads: int = 1,
    ridge: float | None = None,
    relative_ridge: float = DEFAULT_RELATIVE_RIDGE,
    progress: bool | str = False,
    **config,
) -> SweepResult:
    """Run :func:`compare` over ``n_trains x seeds`` (and shuffled-label controls).

    Parameters
    ----------
    task : Staircase
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
    threads : int, default 1
        torch threads per run (see :func:`compare`).
    ridge, relative_ridge, **config
        As in :func:`compare`.
    progress : bool or str
        tqdm bar over runs.

    Returns
    -------
    SweepResult

    Examples
    --------
    >>> from rnnexplore.featurequality import classic_staircase
    >>> res = sweep(classic_staircase(2, 6), [16, 32], seeds=[0], shuffled=[16],
    ...             width=16, steps=50, n_test=32)
    >>> len(res), res.column("n_train").tolist(), res.column("shuffled").tolist()
    (3, [16, 32, 16], [False, False, True])
    """
    if not isinstance(task, Staircase):
        raise ValueError(f"task must be a Staircase, got {type(task).__name__}")
    n_trains = [check_int(n, "n_trains entry", minimum=1) for n in n_trains]
    seeds = [int(s) for s in seeds]
    if not n_trains or not seeds:
        raise ValueError("n_trains and seeds must not be empty")
    if shuffled is True:
        shuffled_ns = list(n_trains)
    elif shuffled is False or shuffled is None:
        shuffled_ns = []
    else:
        shuffled_ns = [check_int(n, "shuffled entry", minimum=1) for n in shuffled]
    cfg = _validate_config(config)
    base = dict(task=task.to_dict(), config=cfg, threads=threads, ridge=ridge, relative_ridge=relative_ridge)
    items = [dict(base, n_train=n, seed=s, shuffled=False) for n in n_trains for s in seeds]
    items += [dict(base, n_train=n, seed=s, shuffled=True) for n in shuffled_ns for s in seeds]
    records = parallel_map(_run_item, items, executor=executor, chunksize=1 if executor else None,
                           progress="sweep" if progress is True else progress)
    return SweepResult(records)


_FORMAT = "rnnexplore.featurequality.sweep/1"


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
        self.records = [check_mapping(r, f"records[{i}]") for i, r in enumerate(records)]

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        return f"SweepResult({len(self)} runs)"

    @property
    def columns(self) -> list[str]:
        """Column names, in first-seen order."""
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
        return np.asarray([r[name] for r in self.filter(**where).records])

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
        w = csv.DictWriter(buf, fieldnames=self.columns, lineterminator="\n")
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
