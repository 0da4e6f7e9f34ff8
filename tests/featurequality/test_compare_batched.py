"""compare_many / sweep batching, the new tasks through compare, and the analytic-only mode."""

import json
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rnnexplore.featurequality as fq
from rnnexplore.featurequality import compare, compare_many, split_runs, sweep
from rnnexplore.featurequality.compare import _kernel_cost, _validate_config

TINY = dict(depth=2, width=32, steps=300, n_test=128, batch_size=16)
TRAINED = ("train_loss", "err_net", "err_kT", "err_ckT", "fq", "cka", "cka_debiased", "rel_frob", "kta_T",
           "erank_T", "support_mass_T", "max_angle")
ANALYTIC = ("err_ntk", "err_nngp", "err_k0", "kta_0", "erank_0", "support_mass_0")


def _close(a, b, keys, rtol):
    for k in keys:
        if isinstance(a[k], float) and math.isnan(a[k]):
            assert math.isnan(b[k]), k
        else:
            assert b[k] == pytest.approx(a[k], rel=rtol, abs=1e-12), k


def test_batched_runs_equal_runs_alone():
    task = fq.classic_staircase(2, 6)
    runs = [(32, 0, False), (32, 0, True), (48, 1, False)]
    many = compare_many(task, runs, **TINY)
    assert [r.batched_with for r in many] == [3, 3, 3]
    for rec, (n, s, sh) in zip(many, runs):
        alone = compare(task, n, seed=s, shuffle_labels=sh, **TINY).to_dict()
        b = rec.to_dict()
        assert (b["n_train"], b["seed"], b["shuffled"]) == (n, s, sh)
        _close(alone, b, ANALYTIC, 1e-9)  # no training involved: float64 throughout
        _close(alone, b, TRAINED, 1e-3)  # float32 training: batched products round differently
    # the clean run and its control share inputs and K0, but not labels
    assert many[0].err_k0 != many[1].err_k0 and many[0].kta_0 != many[1].kta_0


def test_sweep_results_do_not_depend_on_batching():
    task = fq.classic_staircase(2, 6)
    a = sweep(task, [16, 32], seeds=[0, 1], shuffled=[16], batches=1, **TINY)
    b = sweep(task, [16, 32], seeds=[0, 1], shuffled=[16], batches=6, **TINY)
    assert [(r["n_train"], r["seed"], r["shuffled"]) for r in a.records] == \
        [(r["n_train"], r["seed"], r["shuffled"]) for r in b.records]
    assert set(a.column("batched_with").tolist()) == {6} and set(b.column("batched_with").tolist()) == {1}
    for ra, rb in zip(a.records, b.records):
        _close(ra, rb, ANALYTIC, 1e-9)
        _close(ra, rb, TRAINED, 1e-3)


def test_split_runs_keeps_pairs_and_balances():
    runs = [(n, s, False) for n in (250, 500, 1000, 2000, 4000) for s in (0, 1, 2)]
    runs += [(n, s, True) for n, s, _ in runs]
    for cost in (None, _kernel_cost(_validate_config({}), True)):
        parts = split_runs(runs, 2, cost=cost)
        assert sorted(r for p in parts for r in p) == sorted(runs)
        assert sorted(len(p) for p in parts) == [15, 15]  # the cheapest pair split to even the counts
        apart = [(n, s) for n, s, _ in runs if not any(all((n, s, sh) in p for sh in (False, True)) for p in parts)]
        assert sorted(set(apart)) == [(250, 2)]  # every other clean run shares its batch with its control
        big = [sum(r[0] == 4000 for r in p) for p in parts]
        assert sorted(big) == [2, 4]
    assert split_runs(runs[:1], 5) == [runs[:1]]
    with pytest.raises(ValueError, match="batches"):
        split_runs(runs, 0)


def test_analytic_only_mode_skips_empirical_kernels():
    rec = compare(fq.classic_staircase(2, 6), 32, empirical_kernels=False, **TINY)
    assert all(math.isnan(getattr(rec, k)) for k in ("err_k0", "err_kT", "err_ckT", "cka", "cka_debiased", "rel_frob"))
    assert np.isfinite(rec.fq) and rec.fq == pytest.approx(rec.err_ntk / rec.err_net)


def test_record_has_debiased_cka_and_feature_view():
    task = fq.classic_staircase(2, 6)
    rec = compare(task, 48, seed=2, **TINY)
    assert -0.2 < rec.cka_debiased <= 1.0 + 1e-12
    assert len(rec.weight_mass) == 6 and sum(rec.weight_mass) == pytest.approx(1.0)
    assert len(rec.angles) == 2 and 0 <= rec.angles[0] <= rec.angles[1] == rec.max_angle <= 90
    assert 0 < rec.support_mass_0 < 1 and 0 < rec.support_mass_T < 1
    assert json.loads(json.dumps(rec.to_dict()))["angles"] == rec.angles


def test_multi_index_task_through_compare_with_shuffled_control():
    task = fq.multi_index(d=8, terms=[(1, 0), (1, 1)], seed=0)
    clean = compare(task, 64, seed=0, **TINY)
    ctrl = compare(task, 64, seed=0, shuffle_labels=True, **TINY)
    assert clean.task == "multi-index" and clean.var_f == 2.0
    assert ctrl.shuffled and ctrl.err_ntk != clean.err_ntk
    assert len(clean.angles) == 2 and np.isfinite(clean.max_angle)
    # test targets are the clean f in both runs: a memorising control cannot beat predicting 0 by much
    assert ctrl.err_net > 0.5 * task.variance


def test_array_task_uses_held_out_rows_only():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    y = X[:, 0] * X[:, 1] + 0.1 * rng.standard_normal(300)
    task = fq.ArrayTask(X, y, test_fraction=0.2, name="mine")
    rec = compare(task, 100, **dict(TINY, n_test=1000))
    assert rec.task == "mine" and rec.n_test == 60  # the held-out split, not 1000
    assert math.isnan(rec.support_mass_T) and rec.angles == []
    ctrl = compare(task, 100, shuffle_labels=True, **dict(TINY, n_test=1000))
    assert ctrl.err_net > rec.err_net
    with pytest.raises(ValueError, match="exceeds the 240 rows"):
        compare(task, 241, **TINY)


def test_compare_rejects_unknown_task_and_bad_runs():
    with pytest.raises(ValueError, match="task must be a Staircase, MultiIndex or ArrayTask"):
        compare("S4", 10)
    with pytest.raises(ValueError, match="runs must not be empty"):
        compare_many(fq.classic_staircase(2, 6), [], **TINY)
    with pytest.raises(ValueError, match="seed"):
        compare_many(fq.classic_staircase(2, 6), [(10, -1, False)], **TINY)


def test_split_runs_balances_the_estimated_cost_by_brute_force():
    """Against every assignment of the pairs to two batches (the cheapest pair may be split)."""
    import itertools

    runs = [(n, s, sh) for n in (100, 200, 300, 400, 900) for s in (0, 1) for sh in (False, True)]
    cost = lambda n: (0.1 * n, float(n) ** 2 / 100)  # noqa: E731
    parts = split_runs(runs, 2, cost=cost)

    def total(batch):
        return sum(cost(n)[0] for n, _, _ in batch) + sum(cost(n)[1] for n, _ in {r[:2] for r in batch})

    pairs = sorted({r[:2] for r in runs})
    best = min(max(total([r for r in runs if (r[:2] in chosen) == side]) for side in (False, True))
               for k in range(len(pairs) + 1) for chosen in map(set, itertools.combinations(pairs, k))
               if sum(1 for r in runs if r[:2] in chosen) == len(runs) // 2)
    assert sorted(len(p) for p in parts) == [10, 10]
    assert max(total(p) for p in parts) <= best * 1.05  # heuristics: within 5% of the optimum


def test_blas_limits_cover_scipys_own_blas_in_a_fresh_process():
    """scipy ships its own OpenBLAS; in a fresh worker it must be limited too (it was loaded lazily
    inside the limits before, so every Cholesky of a sweep ran two threads per worker)."""
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = (
        "import sys\n"
        "from rnnexplore.featurequality.compare import _blas_threads\n"
        "assert 'scipy.linalg' not in sys.modules\n"
        "with _blas_threads(1):\n"
        "    from threadpoolctl import threadpool_info\n"
        "    import scipy.linalg\n"
        "    libs = [(i['filepath'], i['num_threads']) for i in threadpool_info() if i['user_api'] == 'blas']\n"
        "print(len(libs), all(t == 1 for _, t in libs), libs)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True).stdout
    count, limited = out.split()[:2]
    assert int(count) >= 1 and limited == "True", out
