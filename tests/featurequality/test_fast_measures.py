"""The sweep's cheap forms of its measures against the textbook computations written out here.

CKA / HSIC / kernel-target alignment are computed from row and column sums instead of centred
n x n copies, and the trained last-layer kernel's ridge regression in feature space; each is
checked against the explicit form (centring matrix H, outer products, the n x n solve). The
empirical NTK's test-train product is applied through its layer factors (checked against the
torch.func Jacobian contraction), and the two analytic kernels come from one recursion.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from rnnexplore.featurequality import (
    KernelRidge,
    SweepResult,
    cka,
    effective_rank,
    kernel_target_alignment,
    linear_kernel_ridge,
    spectral_quality,
)
from rnnexplore.featurequality.measures import (
    _centred_inner,
    _hsic_unbiased,
    _spectral_summary,
)


def _psd(rng, n, p, shift=0.0):
    F = rng.standard_normal((n, p)) + shift
    return F @ F.T


def _H(n):
    return np.eye(n) - np.ones((n, n)) / n


@pytest.mark.parametrize("symmetric", [True, False])
def test_centred_inner_equals_explicit_centring(symmetric):
    rng = np.random.default_rng(0)
    n = 37
    K, L = (_psd(rng, n, 5, 2.0), _psd(rng, n, 8)) if symmetric else rng.standard_normal((2, n, n)) + 3.0
    H = _H(n)
    assert _centred_inner(K, L) == pytest.approx(np.sum((H @ K @ H) * (H @ L @ H)), rel=1e-11)


def test_biased_cka_and_alignment_equal_explicit_formulas():
    rng = np.random.default_rng(1)
    n = 50
    K, L = _psd(rng, n, 6, 1.5), _psd(rng, n, 30, 0.5)  # large constant parts, as NTKs have
    y = rng.standard_normal(n) + 0.7
    H = _H(n)
    A, B, Y = H @ K @ H, H @ L @ H, H @ np.outer(y, y) @ H
    assert cka(K, L) == pytest.approx(np.sum(A * B) / (np.linalg.norm(A) * np.linalg.norm(B)), rel=1e-11)
    assert kernel_target_alignment(K, y) == pytest.approx(np.sum(A * Y) / (np.linalg.norm(A) * np.linalg.norm(Y)),
                                                          rel=1e-11)
    with pytest.raises(ValueError, match="centred kernel is zero"):
        kernel_target_alignment(K, np.ones(n))


def test_unbiased_hsic_equals_zero_diagonal_formula():
    rng = np.random.default_rng(2)
    n = 23
    K, L = _psd(rng, n, 4, 1.0), _psd(rng, n, 9)
    Kt, Lt = K - np.diag(np.diag(K)), L - np.diag(np.diag(L))
    one = np.ones(n)
    ref = (np.trace(Kt @ Lt) + (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
           - 2.0 / (n - 2) * one @ Kt @ Lt @ one) / (n * (n - 3))
    assert _hsic_unbiased(K, L) == pytest.approx(ref, rel=1e-11)


@pytest.mark.parametrize("ridge", [None, 1e-3, 0.0])
def test_linear_kernel_ridge_equals_krr_on_the_gram_matrix(ridge):
    rng = np.random.default_rng(3)
    n, m, p = 120, 40, 15
    F, G = rng.standard_normal((n, p)), rng.standard_normal((m, p))
    F = np.hstack([np.maximum(F, 0), np.ones((n, 1))])  # relu features and the bias column, as in compare
    G = np.hstack([np.maximum(G, 0), np.ones((m, 1))])
    Y = rng.standard_normal((n, 2))
    if ridge == 0.0:  # n > p: the n x n Gram is singular, compare with the minimum-norm fit instead
        ref = G @ np.linalg.lstsq(F, Y, rcond=None)[0]
    else:
        ref = KernelRidge(ridge=ridge).fit(F @ F.T, Y).predict(G @ F.T)
    got = linear_kernel_ridge(F, G, Y, ridge=ridge)
    assert got.shape == (m, 2)
    # both solves are backward stable: they agree to about eps x cond(K + r I) (1e8 here with the
    # default relative ridge 1e-6; the last digits depend on the BLAS kernel of the machine)
    r = ridge if ridge is not None else 1e-6 * np.trace(F @ F.T) / n
    lam = np.linalg.eigvalsh(F @ F.T)
    cond = (lam[-1] + r) / max(lam[0] + r, lam[-1] * 1e-16) if ridge != 0.0 else np.linalg.cond(F) ** 2
    assert np.allclose(got, ref, rtol=1e-7, atol=10 * np.finfo(float).eps * cond * np.abs(ref).max())
    assert np.allclose(linear_kernel_ridge(F, G, Y[:, 0], ridge=ridge), got[:, 0])


def test_linear_kernel_ridge_bad_inputs():
    F = np.ones((4, 2))
    with pytest.raises(ValueError, match="F_test"):
        linear_kernel_ridge(F, np.ones((3, 3)), np.ones(4))
    with pytest.raises(ValueError, match="y must have shape"):
        linear_kernel_ridge(F, F, np.ones(5))
    with pytest.raises(ValueError, match="ridge"):
        linear_kernel_ridge(F, F, np.ones(4), ridge=-1.0)


def test_one_svd_gives_spectral_quality_and_effective_rank():
    rng = np.random.default_rng(4)
    F, y = rng.standard_normal((60, 12)), rng.standard_normal(60)
    pi, er = _spectral_summary(F, y)
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    assert np.allclose(pi, np.cumsum((U.T @ y) ** 2) / (y @ y))
    p = s / s.sum()
    assert er == pytest.approx(math.exp(-np.sum(p * np.log(p))))
    assert np.array_equal(pi, spectral_quality(F, y)) and er == pytest.approx(effective_rank(F), rel=1e-12)


def test_log10_fq_is_derived_not_stored(tmp_path):
    old = [dict(n_train=10, fq=100.0, log10_fq=99.0, shuffled=False), dict(n_train=20, fq=0.0, shuffled=False)]
    res = SweepResult(old)  # a stale stored value is dropped: fq is the one source of truth
    assert "log10_fq" not in res.records[0] and res.columns == ["n_train", "fq", "log10_fq", "shuffled"]
    assert res.column("log10_fq").tolist() == [2.0, -math.inf]
    path = tmp_path / "old.json"  # a file written before the change still loads
    path.write_text(json.dumps({"format": "rnnexplore.featurequality.sweep/1", "records": old}))
    assert SweepResult.load(path).column("log10_fq").tolist() == [2.0, -math.inf]
    csv_path = res.save(tmp_path / "r.csv")
    assert "log10_fq" not in csv_path.read_text().splitlines()[0]
    assert SweepResult.load(csv_path).median("log10_fq")[1].tolist() == [2.0, -math.inf]


@pytest.mark.parametrize("cols", [None, 2])
def test_ntk_apply_equals_the_jacobian_kernel_times_a_vector(cols):
    """``K(X, Y) @ V`` through the factors, never forming K, against torch.func's ``J_X J_Y^T @ V``."""
    pytest.importorskip("torch")
    from rnnexplore.featurequality.mlp import (ReLUMLP, _ntk_apply, empirical_ntk_torchfunc, ntk_factors,
                                              ntk_from_factors)

    rng = np.random.default_rng(3)
    model = ReLUMLP(5, 3, 11, gamma=0.7, seed=4)
    X, Y = rng.standard_normal((13, 5)), np.sign(rng.standard_normal((17, 5)))
    V = rng.standard_normal((17,) if cols is None else (17, cols))
    got = _ntk_apply(ntk_factors(model, X), ntk_factors(model, Y), V)
    want = empirical_ntk_torchfunc(model, X, Y) @ V
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-12 * np.abs(want).max())
    # and against the formed kernel (the one the ridge fits use), to float64 rounding
    np.testing.assert_allclose(got, ntk_from_factors(ntk_factors(model, X), ntk_factors(model, Y)) @ V,
                               rtol=1e-12, atol=1e-13 * np.abs(want).max())


@pytest.mark.parametrize("cube", [True, False])
def test_analytic_kernels_from_one_recursion_equal_the_public_ones(cube):
    from rnnexplore.featurequality import analytic_nngp, analytic_ntk
    from rnnexplore.featurequality.kernels import _analytic_kernels

    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((9, 6)), rng.standard_normal((7, 6))
    if cube:  # the lookup-table path
        X, Y = np.sign(X), np.sign(Y)
    for args in ((X,), (Y, X)):
        ntk, nngp = _analytic_kernels(*args, depth=3, width=40, gamma=0.5)
        np.testing.assert_array_equal(ntk, analytic_ntk(*args, depth=3, width=40, gamma=0.5))
        np.testing.assert_array_equal(nngp, analytic_nngp(*args, depth=3, gamma=0.5))
        assert ntk.shape == (len(args[0]), len(X))


def test_kernel_change_equals_the_public_measures():
    """The sweep's one-pass strength measures of K_0 -> K_T against cka / alignment / Frobenius change."""
    from rnnexplore.featurequality import relative_frobenius_change
    from rnnexplore.featurequality.measures import _kernel_change, _KernelStats

    rng = np.random.default_rng(6)
    K0, KT = _psd(rng, 30, 5, shift=0.5), _psd(rng, 30, 8)
    y = rng.standard_normal(30)
    for stats0 in (None, _KernelStats.of(K0)):
        got = _kernel_change(K0, KT, y, stats0)
        want = dict(cka=cka(K0, KT), cka_debiased=cka(K0, KT, debiased=True), rel_frob=relative_frobenius_change(K0, KT),
                    kta_0=kernel_target_alignment(K0, y), kta_T=kernel_target_alignment(KT, y))
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k], rel=1e-12), k
    assert "cka_debiased" not in _kernel_change(K0[:3, :3], KT[:3, :3], y[:3])
    with pytest.raises(ValueError, match="same shape"):
        _kernel_change(K0, KT[:5, :5], y)
