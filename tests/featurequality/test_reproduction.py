"""Reproduction of the feature-quality claims of Göring et al. (2025) at CPU scale.

The CPU-scale configuration (S4 on d = 20, MLP 3 x 256, Adam 2e-3 cosine, batch 64 with
replacement, 8000 steps, n_test = 2000) for n_train in {250, 2000, 4000} x seeds {0, 1, 2}
plus shuffled-label controls at n = 500: 12 runs on a 2-process pool (about 2.5 min on two
free cores). Fewer steps do not reproduce the strength claim: at 2000-4000 steps the kernel
at n = 250 has not moved as far (CKA ~0.55-0.65 instead of ~0.35), so 8000 steps
are kept. Medians over the 3 seeds; the thresholds restate the paper's claims (FQ grows by
orders of magnitude with n while CKA and relative Frobenius barely move; shuffled labels give
FQ < 1 with a moving kernel) at the magnitudes a CPU-scale run reaches.
"""

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

pytest.importorskip("torch")

from rnnexplore.featurequality import classic_staircase, sweep

pytestmark = pytest.mark.slow

SEEDS = [0, 1, 2]


@pytest.fixture(scope="module")
def result():
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        return sweep(classic_staircase(4, 20), [250, 2000, 4000], seeds=SEEDS, shuffled=[500], executor=ex)


def med(result, column, n, shuffled=False):
    vals = result.column(column, n_train=n, shuffled=shuffled).astype(float)
    assert len(vals) == len(SEEDS)
    return float(np.median(vals))


def test_feature_quality_grows_with_n(result):
    assert med(result, "fq", 250) < 2
    assert med(result, "fq", 2000) >= 30
    assert med(result, "fq", 4000) / med(result, "fq", 250) > 50
    # the analytic NTK stays far from the network
    assert med(result, "err_ntk", 4000) > 0.5


def test_after_kernel_matches_network(result):
    for n in (250, 2000, 4000):
        ratio = med(result, "err_kT", n) / med(result, "err_net", n)
        assert 1 / 1.5 <= ratio <= 1.5, (n, ratio)
    assert med(result, "k0_over_kT", 4000) > 30


def test_strength_barely_moves_while_quality_grows(result):
    for col in ("cka", "rel_frob"):
        diff = abs(med(result, col, 250) - med(result, col, 4000))
        assert diff < 0.15, (col, diff)
    assert med(result, "fq", 4000) / med(result, "fq", 250) > 50


def test_shuffled_labels_no_generalisation_but_kernel_moves(result):
    var_f = 4.0
    assert med(result, "err_net", 500, shuffled=True) >= 0.95 * var_f
    assert med(result, "fq", 500, shuffled=True) < 1
    assert med(result, "one_minus_cka", 500, shuffled=True) >= 0.2
