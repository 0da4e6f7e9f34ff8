"""Unit tests of rnnexplore.featurequality: tasks, kernels, KRR, measures (closed forms / brute force)."""

import itertools
import subprocess
import sys

import numpy as np
import pytest

import rnnexplore.featurequality as fq


# ----------------------------------------------------------------------------- tasks
def test_classic_staircase_values_and_variance_by_enumeration():
    task = fq.classic_staircase(3, d=4)
    X = np.array(list(itertools.product([-1.0, 1.0], repeat=4)))
    y = task(X)
    x0, x1, x2 = X[:, 0], X[:, 1], X[:, 2]
    np.testing.assert_allclose(y, x0 + x0 * x1 + x0 * x1 * x2)
    assert np.isclose(y.mean(), 0.0)
    assert np.isclose(y.var(), task.variance) and task.variance == 3.0


def test_paper_staircase_shape_and_variance_by_enumeration():
    task = fq.paper_staircase()
    assert (task.d, task.n_terms, len(task.support)) == (30, 8, 8)
    assert sorted({len(t) for t in task.terms}) == [1, 2, 3, 4, 5, 6, 7]
    assert fq.is_merged_staircase(task.terms)
    sub = fq.staircase(8, task.terms)  # same function on its 8 relevant coordinates
    X = np.array(list(itertools.product([-1.0, 1.0], repeat=8)))
    assert np.isclose(sub(X).var(), 8.0)


def test_sampling_is_seeded_uniform_and_nested():
    task = fq.classic_staircase(4, 20)
    X1, y1 = task.sample(50, seed=3)
    X2, y2 = task.sample(50, seed=3)
    X3, _ = task.sample(80, seed=3)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    np.testing.assert_array_equal(X3[:50], X1)
    assert set(np.unique(X1)) == {-1.0, 1.0}
    Xb, yb = task.sample(20000, seed=0)
    assert abs(Xb.mean()) < 0.01 and abs(yb.var() - 4.0) < 0.15
    assert not np.array_equal(task.sample(50, seed=4)[0], X1)


def test_staircase_check_rejects_non_staircase():
    with pytest.raises(ValueError, match="not a merged staircase"):
        fq.staircase(10, [(0,), (1, 2)])
    with pytest.raises(ValueError, match="terms\\[1\\]"):
        fq.staircase(10, [(0,), (0, 2, 3)])
    task = fq.staircase(10, [(0,), (1, 2)], check=False)
    assert task.variance == 2.0
    assert fq.staircase(10, [(0,), (0, 1), (1, 2), (2, 3)]).n_terms == 4  # merged, not nested
    assert not fq.is_merged_staircase([(0, 1)])


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fq.staircase(3, [(0,), (0, 1), (0, 1, 2), (0, 1, 2, 3)]), "d = 3 is too small"),
        (lambda: fq.classic_staircase(5, 4), "d = 4 is too small"),
        (lambda: fq.staircase(5, []), "terms must not be empty"),
        (lambda: fq.staircase(5, [()]), "terms\\[0\\] is empty"),
        (lambda: fq.staircase(5, [(0, 0)]), "repeats an index"),
        (lambda: fq.staircase(5, [(0,), (0,)]), "same monomial twice"),
        (lambda: fq.staircase(5, [(-1,)]), "negative index"),
        (lambda: fq.staircase(5, [(0.5,)]), "must be integers"),
        (lambda: fq.staircase(0, [(0,)]), "d must be >= 1"),
        (lambda: fq.classic_staircase(0, 4), "k must be >= 1"),
        (lambda: fq.classic_staircase(2, 4).sample(0), "n must be >= 1"),
        (lambda: fq.classic_staircase(2, 4)(np.full((2, 4), np.nan)), "NaN or inf"),
        (lambda: fq.classic_staircase(2, 4)(np.ones((2, 3))), "shape"),
        (lambda: fq.shuffle_labels(np.array([1.0, np.inf])), "NaN or inf"),
        (lambda: fq.analytic_ntk(np.array([[np.nan, 1.0]]), depth=1, width=4), "X must be finite"),
        (lambda: fq.analytic_ntk(np.ones((2, 2)), depth=0, width=4), "depth"),
        (lambda: fq.analytic_ntk(np.ones((2, 2)), depth=1, width=4, gamma=0), "gamma"),
        (lambda: fq.KernelRidge().fit(np.eye(2), np.array([1.0, np.nan])), "NaN or inf"),
        (lambda: fq.KernelRidge(ridge=-1.0), "ridge"),
        (lambda: fq.cka(np.eye(3), np.eye(2)), "same shape"),
    ],
)
def test_bad_inputs_raise_clear_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_shuffle_labels_permutes():
    y = np.arange(10.0)
    s = fq.shuffle_labels(y, seed=0)
    assert sorted(s) == list(y) and not np.array_equal(s, y)
    np.testing.assert_array_equal(s, fq.shuffle_labels(y, seed=0))


def test_task_roundtrip_dict():
    task = fq.paper_staircase(12)
    assert fq.Staircase.from_dict(task.to_dict()) == task


# ----------------------------------------------------------------------------- kernels
def _mc_nngp(X, depth, n_samples, seed):
    """Monte-Carlo infinite-width NNGP: E[relu(u) relu(v)] recursion sampled with Gaussians."""
    rng = np.random.default_rng(seed)
    d = X.shape[1]
    W = rng.standard_normal((n_samples, d)) / np.sqrt(d)
    H = X @ W.T  # (n, S): each column one first-layer unit
    for _ in range(depth - 1):
        A = np.maximum(H, 0)
        C = A @ A.T / n_samples
        L = np.linalg.cholesky(C + 1e-12 * np.eye(len(C)))
        H = L @ rng.standard_normal((len(C), n_samples))
    A = np.maximum(H, 0)
    return A @ A.T / n_samples


def test_analytic_nngp_matches_monte_carlo():
    X, _ = fq.classic_staircase(3, 6).sample(6, seed=1)
    K = fq.analytic_nngp(X, depth=2)
    K_mc = _mc_nngp(X, 2, 400_000, seed=0)
    np.testing.assert_allclose(K, K_mc, rtol=0.03, atol=2e-3)


def test_analytic_ntk_one_hidden_layer_closed_form():
    # L = 1: Theta = (n q2 + 1)/g^2 + p1 (x.x' + 1)/g^2 with the arc-cosine kernels of order 1 and 0.
    X = np.array([[1.0, 1.0, -1.0], [1.0, -1.0, -1.0], [-1.0, 1.0, 1.0]])
    n, g, d = 50, 0.5, 3
    G = X @ X.T / d
    th = np.arccos(np.clip(G, -1, 1))
    q2 = (np.sin(th) + (np.pi - th) * np.cos(th)) / (2 * np.pi)
    p1 = (np.pi - th) / (2 * np.pi)
    expected = ((n * q2 + 1) + p1 * (X @ X.T + 1)) / g**2
    np.testing.assert_allclose(fq.analytic_ntk(X, depth=1, width=n, gamma=g), expected, rtol=1e-12)


def test_analytic_ntk_cross_blocks_consistent():
    X, _ = fq.classic_staircase(2, 5).sample(7, seed=0)
    full = fq.analytic_ntk(X, depth=3, width=32)
    np.testing.assert_allclose(fq.analytic_ntk(X[:3], X[3:], depth=3, width=32), full[:3, 3:], rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(full) > -1e-9)


def test_cube_lookup_path_equals_generic_recursion():
    from rnnexplore.featurequality import kernels

    X, _ = fq.classic_staircase(3, 9).sample(30, seed=4)
    Y, _ = fq.classic_staircase(3, 9).sample(7, seed=5)
    G, nx, ny = X @ Y.T / 9, np.full(30, 1.0), np.full(7, 1.0)
    generic = kernels._ntk_of_gram(G, nx, ny, 9, 3, 40, 0.8)
    np.testing.assert_allclose(fq.analytic_ntk(X, Y, depth=3, width=40, gamma=0.8), generic, rtol=1e-13)
    nngp = kernels._recursion_gram(G, nx, ny, 2)[0][-1]
    np.testing.assert_allclose(fq.analytic_nngp(X, Y, depth=2), nngp, rtol=1e-13)
    # non-cube inputs take the generic path
    Z = X * 0.5 + 0.1
    d = fq.analytic_ntk(Z, depth=2, width=8)
    nz = np.einsum("ij,ij->i", Z, Z) / 9
    np.testing.assert_allclose(d, kernels._ntk_of_gram(Z @ Z.T / 9, nz, nz, 9, 2, 8, 1.0), rtol=1e-13)


def test_analytic_ntk_equals_mean_of_wide_empirical_ntk():
    torch = pytest.importorskip("torch")
    from rnnexplore.featurequality.mlp import ReLUMLP, empirical_ntk

    torch.set_num_threads(min(2, torch.get_num_threads()))
    X, _ = fq.classic_staircase(4, 10).sample(10, seed=0)
    for depth, gamma in [(1, 1.0), (3, 0.7)]:
        width = 2048
        Ke = np.mean([empirical_ntk(ReLUMLP(10, depth, width, gamma=gamma, seed=s), X) for s in range(8)], axis=0)
        Ka = fq.analytic_ntk(X, depth=depth, width=width, gamma=gamma)
        rel = np.linalg.norm(Ke - Ka) / np.linalg.norm(Ka)
        assert rel < 0.04, (depth, rel)
        assert abs(np.trace(Ke) / np.trace(Ka) - 1) < 0.03


def test_empirical_ntk_formula_equals_torch_func():
    torch = pytest.importorskip("torch")
    from rnnexplore.featurequality.mlp import ReLUMLP, empirical_ntk, empirical_ntk_torchfunc

    X, _ = fq.classic_staircase(3, 7).sample(9, seed=2)
    Y, _ = fq.classic_staircase(3, 7).sample(4, seed=5)
    for depth in (1, 2, 4):
        model = ReLUMLP(7, depth, 24, gamma=0.5, seed=depth)
        with torch.no_grad():  # non-zero biases, as after training
            for lin in model.layers:
                lin.bias.normal_(0, 0.3)
        for A, B in [(X, None), (X, Y)]:
            K = empirical_ntk(model, A, B)
            R = empirical_ntk_torchfunc(model, A, B)
            assert np.linalg.norm(K - R) / np.linalg.norm(R) < 1e-6
            np.testing.assert_allclose(K, R, rtol=1e-6, atol=1e-9 * np.abs(R).max())


def test_krr_interpolates_at_tiny_ridge_and_default_ridge_documented():
    X, y = fq.classic_staircase(3, 8).sample(40, seed=0)
    K = fq.analytic_ntk(X, depth=2, width=64)
    krr = fq.KernelRidge(ridge=1e-10).fit(K, y)
    np.testing.assert_allclose(krr.predict(K), y, atol=1e-6)
    d = fq.KernelRidge().fit(K, y)
    assert np.isclose(d.ridge_, 1e-6 * np.trace(K) / len(K))
    # scale invariance with the relative default ridge
    X2, _ = fq.classic_staircase(3, 8).sample(5, seed=9)
    Ks = fq.analytic_ntk(X2, X, depth=2, width=64)
    np.testing.assert_allclose(fq.KernelRidge().fit(7 * K, y).predict(7 * Ks), d.predict(Ks), rtol=1e-8)


def test_krr_matches_closed_form_solution():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((6, 3))
    K = F @ F.T  # rank 3: singular without a ridge
    y = rng.standard_normal(6)
    lam = 0.1
    alpha = np.linalg.solve(K + lam * np.eye(6), y)
    np.testing.assert_allclose(fq.KernelRidge(ridge=lam).fit(K, y).alpha_, alpha, rtol=1e-10)


# ----------------------------------------------------------------------------- measures
def test_cka_and_kta_identities():
    rng = np.random.default_rng(1)
    F = rng.standard_normal((12, 5))
    K = F @ F.T
    assert np.isclose(fq.cka(K, K), 1.0)
    assert np.isclose(fq.cka(K, 3.7 * K), 1.0)
    y = rng.standard_normal(12)
    assert np.isclose(fq.kernel_target_alignment(np.outer(y, y), y), 1.0)
    # brute force with explicit centring matrix
    H = np.eye(12) - np.ones((12, 12)) / 12
    K2 = np.exp(-np.square(F[:, None] - F[None]).sum(-1))
    A, B = H @ K @ H, H @ K2 @ H
    assert np.isclose(fq.cka(K, K2), np.sum(A * B) / np.linalg.norm(A) / np.linalg.norm(B))
    assert 0 <= fq.cka(K, K2) <= 1


def test_relative_frobenius_change():
    K = np.diag([3.0, 4.0])
    assert fq.relative_frobenius_change(K, K) == 0.0
    assert np.isclose(fq.relative_frobenius_change(K, np.zeros((2, 2)) + 0 * K + np.diag([0.0, 0.0])), 1.0)


def test_spectral_quality_and_k95():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((30, 6))
    U, s, _ = np.linalg.svd(F, full_matrices=False)
    y = 2 * U[:, 0] + 1 * U[:, 3]
    pi = fq.spectral_quality(F, y)
    np.testing.assert_allclose(pi, [0.8, 0.8, 0.8, 1.0, 1.0, 1.0], atol=1e-12)
    assert fq.k95(pi) == 4.0
    assert np.isnan(fq.k95([0.1, 0.5]))
    # target in the span of the features: Pi*(p) = 1
    assert np.isclose(fq.spectral_quality(F, F @ rng.standard_normal(6))[-1], 1.0)


def test_effective_rank_and_weight_change():
    assert np.isclose(fq.effective_rank(np.diag([1.0, 1.0, 1.0])), 3.0)
    assert np.isclose(fq.effective_rank(np.diag([1.0, 0.0, 0.0])), 1.0)
    W0 = [np.eye(2), np.ones((1, 2))]
    assert fq.relative_weight_change(W0, [np.eye(2) * 1.5, np.ones((1, 2))]) == [pytest.approx(0.5), 0.0]


def test_feature_quality_ratio():
    assert fq.feature_quality(1.2, 0.004) == pytest.approx(300.0)
    assert fq.feature_quality(1.0, 0.0) == float("inf")
    with pytest.raises(ValueError):
        fq.feature_quality(float("nan"), 1.0)


def test_importing_package_does_not_import_torch():
    code = "import sys, rnnexplore, rnnexplore.featurequality; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
