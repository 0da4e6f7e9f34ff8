"""compare() / sweep() / SweepResult on tiny configurations (fast)."""

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

pytest.importorskip("torch")

import rnnexplore.featurequality as fq
from rnnexplore.featurequality import FQRecord, SweepResult, compare, sweep

TINY = dict(depth=2, width=32, steps=150, n_test=128, batch_size=16)


@pytest.fixture(scope="module")
def task():
    return fq.classic_staircase(2, 6)


def test_compare_record_is_consistent(task):
    rec = compare(task, 48, seed=1, **TINY)
    assert isinstance(rec, FQRecord)
    assert rec.n_train == 48 and rec.seed == 1 and not rec.shuffled and rec.var_f == 2.0
    errs = rec.errors()
    assert set(errs) == {"net", "ntk", "nngp", "k0", "kT", "ckT"}
    assert all(np.isfinite(v) and v >= 0 for v in errs.values())
    assert rec.fq == pytest.approx(rec.err_ntk / rec.err_net)
    assert rec.log10_fq == pytest.approx(math.log10(rec.fq))
    assert rec.k0_over_kT == pytest.approx(rec.err_k0 / rec.err_kT)
    assert rec.one_minus_cka == pytest.approx(1 - rec.cka)
    assert 0 <= rec.cka <= 1 and 0 <= rec.rel_frob <= 2
    assert len(rec.weight_change) == 3 and all(w > 0 for w in rec.weight_change)
    assert len(rec.pi_star_T) == 32 and np.all(np.diff(rec.pi_star_T) >= -1e-12) and rec.pi_star_T[-1] <= 1 + 1e-12
    assert json.loads(json.dumps(rec.to_dict()))["n_train"] == 48
    assert FQRecord.from_dict(rec.to_dict()) == rec


def test_compare_is_deterministic_given_seed(task):
    a = compare(task, 32, seed=3, **TINY).to_dict()
    b = compare(task, 32, seed=3, **TINY).to_dict()
    c = compare(task, 32, seed=4, **TINY).to_dict()
    for k in ("seconds",):
        a.pop(k), b.pop(k), c.pop(k)
    assert json.dumps(a) == json.dumps(b)  # NaN-safe equality
    assert a["err_net"] != c["err_net"]


def test_shuffled_labels_change_training_not_test_target(task):
    rec = compare(task, 32, seed=0, shuffle_labels=True, **TINY)
    assert rec.shuffled
    # the kernels see the shuffled labels too: analytic NTK error differs from the clean run
    clean = compare(task, 32, seed=0, **TINY)
    assert rec.err_ntk != clean.err_ntk


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_train=0), "n_train must be >= 1"),
        (dict(n_train=10, width=0), "width must be >= 1"),
        (dict(n_train=10, lr=float("nan")), "lr must be finite"),
        (dict(n_train=10, gamma=-1.0), "gamma must be > 0"),
        (dict(n_train=10, learning_rate=1.0), "unknown key"),
        (dict(n_train=10, seed=-1), "seed"),
    ],
)
def test_compare_bad_inputs(task, kwargs, match):
    with pytest.raises(ValueError, match=match):
        compare(task, **kwargs)


def test_compare_rejects_non_task():
    with pytest.raises(ValueError, match="task must be a Staircase"):
        compare("S4", 10)


def test_sweep_table_roundtrip_and_executor_independence(task, tmp_path):
    res = sweep(task, [16, 32], seeds=[0, 1], shuffled=[16], **TINY)
    assert len(res) == 6
    assert res.column("shuffled").tolist() == [False] * 4 + [True] * 2
    ns, med = res.median("fq", shuffled=False)
    assert ns.tolist() == [16, 32]
    expected = np.median(res.column("fq", n_train=16, shuffled=False))
    assert med[0] == pytest.approx(expected)
    for name in ("s.json", "s.csv"):
        back = SweepResult.load(res.save(tmp_path / name))
        assert back.columns == res.columns
        for r0, r1 in zip(res.records, back.records):
            for k, v in r0.items():
                if isinstance(v, float) and math.isnan(v):
                    assert math.isnan(r1[k])
                elif isinstance(v, list):
                    np.testing.assert_allclose(r1[k], v, rtol=1e-15)
                else:
                    assert r1[k] == v, k
    assert "| n_train | fq |" in res.table(["fq"], shuffled=False)
    with ThreadPoolExecutor(2) as ex:
        par = sweep(task, [16, 32], seeds=[0, 1], shuffled=[16], executor=ex, **TINY)
    strip = lambda r: {k: v for k, v in r.items() if k != "seconds"}  # noqa: E731
    assert json.dumps([strip(r) for r in par.records]) == json.dumps([strip(r) for r in res.records])


def test_sweep_load_rejects_foreign_files(tmp_path):
    p = tmp_path / "x.json"
    p.write_text(json.dumps({"records": []}))
    with pytest.raises(ValueError, match="not a feature-quality sweep"):
        SweepResult.load(p)
    with pytest.raises(ValueError, match=".json or .csv"):
        SweepResult.load(tmp_path / "x.pkl")
    with pytest.raises(ValueError, match="n_trains"):
        sweep(fq.classic_staircase(2, 6), [0], seeds=[0])
