"""Biased and debiased CKA against independent oracles (brute-force U-statistic, closed forms)."""

import itertools

import numpy as np
import pytest

from rnnexplore.featurequality import cka


def _hsic_u_brute(K, L):
    """Unbiased HSIC as the U-statistic over ordered 4-tuples of distinct indices (Song et al. 2012).

    h(i, j, q, r) = K_ij L_ij + K_ij L_qr - 2 K_ij L_iq, averaged over all ordered distinct tuples
    (the average over orderings is the symmetrised kernel of the U-statistic).
    """
    n = len(K)
    total, count = 0.0, 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        total += K[i, j] * L[i, j] + K[i, j] * L[q, r] - 2 * K[i, j] * L[i, q]
        count += 1
    return total / count


def test_debiased_cka_equals_brute_force_u_statistic():
    rng = np.random.default_rng(0)
    F, G = rng.standard_normal((7, 3)), rng.standard_normal((7, 5))
    K = F @ F.T
    L = np.exp(-np.square(G[:, None] - G[None]).sum(-1) / 4)
    expected = _hsic_u_brute(K, L) / np.sqrt(_hsic_u_brute(K, K) * _hsic_u_brute(L, L))
    assert cka(K, L, debiased=True) == pytest.approx(expected, rel=1e-12)


def test_identical_kernels_give_one_and_scale_invariance():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((30, 4))
    K = F @ F.T + 1.0
    for debiased in (False, True):
        assert cka(K, K, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
        assert cka(K, 5.0 * K, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    # centring: adding a constant to a kernel changes neither form
    L = np.tanh(F @ F.T)
    for debiased in (False, True):
        assert cka(K, L + 3.0, debiased=debiased) == pytest.approx(cka(K, L, debiased=debiased), rel=1e-10)


@pytest.mark.parametrize("n, p, q", [(200, 200, 50), (400, 100, 100)])
def test_independent_random_features_debiased_near_zero(n, p, q):
    """Linear kernels of independent N(0, I) features of widths p and q on n points.

    Oracles derived in the test (centring is an O(1/n) correction in both):
    - biased CKA -> sqrt(pq) / sqrt((p + n)(q + n)): the numerator <K, L> is dominated by its
      diagonal, n p q, and ||K||^2 ~ n p^2 + n^2 p;
    - debiased CKA ~ T / sqrt(pq) with T = sum_{i != j} (x_i.x_j)(y_i.y_j) / (n(n-1)): mean 0, and
      only identical unordered pairs correlate, so Var T = 2 n(n-1) p q / (n(n-1))^2 and the
      debiased CKA has standard deviation sqrt(2 / (n(n-1))) ~ sqrt(2)/n. Bound: 5 standard
      deviations over the 20 draws (two-sided Gaussian tail 6e-7 each).
    """
    rng = np.random.default_rng(n + p + q)
    sd = np.sqrt(2.0 / (n * (n - 1)))
    biased_expected = np.sqrt(p * q) / np.sqrt((p + n) * (q + n))
    deb, bia = [], []
    for _ in range(20):
        X, Y = rng.standard_normal((n, p)), rng.standard_normal((n, q))
        K, L = X @ X.T, Y @ Y.T
        deb.append(cka(K, L, debiased=True))
        bia.append(cka(K, L))
    deb, bia = np.array(deb), np.array(bia)
    assert np.all(np.abs(deb) < 5 * sd), (np.abs(deb).max(), sd)
    assert abs(deb.mean()) < 5 * sd / np.sqrt(len(deb))
    # the spread is the derived one (chi-square on 20 draws: ratio within [0.5, 1.6] at > 99.9%)
    assert 0.5 < deb.std() / sd < 1.6, deb.std() / sd
    np.testing.assert_allclose(bia.mean(), biased_expected, rtol=0.1)
    assert bia.min() > 10 * np.abs(deb).max()  # biased CKA is far from 0 for independent features


def test_dependent_features_debiased_recovers_population_cka():
    """Y = first q columns of X: population linear CKA = tr(Sxy Syx)/sqrt(tr Sxx^2 tr Syy^2) = sqrt(q/p).

    The biased estimate adds the diagonal terms: (n^2 q + n p q) / sqrt((n^2 p + n p^2)(n^2 q + n q^2))
    = sqrt(q/p) sqrt((n + p)/(n + q)).
    """
    rng = np.random.default_rng(5)
    n, p, q = 600, 300, 20
    X = rng.standard_normal((n, p))
    Y = X[:, :q]
    expected = q / np.sqrt(p * q)
    assert cka(X @ X.T, Y @ Y.T, debiased=True) == pytest.approx(expected, abs=0.03)
    biased = expected * np.sqrt((n + p) / (n + q))
    assert cka(X @ X.T, Y @ Y.T) == pytest.approx(biased, abs=0.02)
    assert biased > expected + 0.04


def test_debiased_cka_needs_four_points():
    with pytest.raises(ValueError, match="at least 4 points"):
        cka(np.eye(3), np.eye(3), debiased=True)
