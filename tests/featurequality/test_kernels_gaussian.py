"""Analytic NTK / NNGP on general (Gaussian) inputs against Monte-Carlo means of finite networks."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import rnnexplore.featurequality as fq
from rnnexplore.featurequality.mlp import ReLUMLP, empirical_ntk


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _z_scores(samples, expected):
    """Per-entry (mean - expected) / standard error over the independent draws (upper triangle)."""
    S = np.asarray(samples)
    mean, se = S.mean(axis=0), S.std(axis=0, ddof=1) / np.sqrt(len(S))
    iu = np.triu_indices(S.shape[1])
    return ((mean - expected) / se)[iu]


@pytest.mark.parametrize("depth, width, draws, gamma", [(1, 256, 300, 1.0), (3, 256, 150, 0.7)])
def test_mean_empirical_ntk_on_gaussian_inputs_within_sampling_error(depth, width, draws, gamma):
    """Gaussian inputs have varying norms, so the recursion runs on the generic (non-cube) path.

    Depth 1: the first layer's pre-activations are exactly Gaussian, so the analytic kernel *is*
    the mean at any width. Depth 3: the finite-width bias is O(1/width) relative, below the
    standard error of the mean at these draws (about 0.3% here), so both pass a 4.5-sigma test
    on every entry (36 entries: a false alarm has probability < 3e-4).
    """
    X = np.random.default_rng(0).standard_normal((8, 20)) * np.linspace(0.5, 2.0, 8)[:, None]
    K = fq.analytic_ntk(X, depth=depth, width=width, gamma=gamma)
    samples = [empirical_ntk(ReLUMLP(20, depth, width, gamma=gamma, seed=s), X) for s in range(draws)]
    z = _z_scores(samples, K)
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    # the test has power: a 5% error in the kernel is detected
    assert np.abs(_z_scores(samples, 1.05 * K)).max() > 4.5


def test_mean_nngp_of_last_layer_on_gaussian_inputs():
    """E[f(x) f(x')] at init = analytic NNGP. Averaging over the output layer exactly (it is
    N(0, 1/width), biases zero) leaves <a_L(x), a_L(x')> / width, averaged over draws."""
    X = np.random.default_rng(1).standard_normal((6, 20)) * np.linspace(0.7, 1.5, 6)[:, None]
    K = fq.analytic_nngp(X, depth=2)
    Xt = torch.as_tensor(X, dtype=torch.float64)
    samples = []
    for s in range(60):
        with torch.no_grad():
            A = ReLUMLP(20, 2, 1024, seed=s, dtype=torch.float64).hidden(Xt).numpy()
        samples.append(A @ A.T / 1024)
    z = _z_scores(samples, K)
    assert np.abs(z).max() < 4.5, np.abs(z).max()
    assert np.abs(_z_scores(samples, 1.05 * K)).max() > 4.5
