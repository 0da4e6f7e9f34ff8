"""Feature-view measures on constructed cases (planted subspaces, known angles)."""

import numpy as np
import pytest

import rnnexplore.featurequality as fq


def _rotation(d, seed):
    return np.linalg.qr(np.random.default_rng(seed).standard_normal((d, d)))[0]


def test_weights_planted_in_subspace_give_zero_angles_and_full_mass():
    d, k = 12, 3
    U = _rotation(d, 0)[:, :k]
    W = np.random.default_rng(1).standard_normal((64, k)) @ U.T
    np.testing.assert_allclose(fq.principal_angles(fq.learned_subspace(W, k), U), 0.0, atol=1e-6)
    assert fq.subspace_mass(W, U) == pytest.approx(1.0, abs=1e-12)
    # an orthogonal complement direction: 90 degrees
    V = _rotation(d, 0)[:, k : k + 1]
    assert fq.principal_angles(V, U)[0] == pytest.approx(90.0, abs=1e-9)


def test_known_angle_between_planes():
    # span(e0, e1) vs span(e0, cos t e1 + sin t e2): angles 0 and t
    e = np.eye(5)
    for t in (10.0, 45.0, 80.0):
        r = np.radians(t)
        B = np.c_[e[:, 0], np.cos(r) * e[:, 1] + np.sin(r) * e[:, 2]]
        np.testing.assert_allclose(fq.principal_angles(e[:, :2], B), [0.0, t], atol=1e-9)
    # basis-independence: any basis of the same span gives the same angles
    B2 = B @ np.array([[2.0, 1.0], [0.0, 3.0]])
    np.testing.assert_allclose(fq.principal_angles(e[:, :2], B2), [0.0, 80.0], atol=1e-5)


def test_weight_mass_by_hand_and_isotropic_baselines():
    W = np.array([[1.0, 2.0, 0.0], [0.0, 2.0, 1.0]])
    np.testing.assert_allclose(fq.weight_mass(W), np.array([1.0, 8.0, 1.0]) / 10)
    rng = np.random.default_rng(2)
    W = rng.standard_normal((20000, 10))
    np.testing.assert_allclose(fq.weight_mass(W), 0.1, atol=0.003)
    U = _rotation(10, 3)[:, :4]
    assert fq.subspace_mass(W, U) == pytest.approx(0.4, abs=0.005)  # k/d for isotropic weights


def test_feature_view_uses_the_change_of_the_first_layer():
    rng = np.random.default_rng(4)
    d, k = 10, 2
    U = _rotation(d, 5)[:, :k]
    W0 = rng.standard_normal((256, d))
    WT = W0 + 0.5 * rng.standard_normal((256, k)) @ U.T  # small planted change
    v = fq.feature_view(W0, WT, U)
    assert v["max_angle"] < 1e-6 and len(v["angles"]) == k
    # the top-k of W_T alone is still dominated by the isotropic initialisation
    top = fq.principal_angles(fq.learned_subspace(WT, k), U)
    assert top.max() > 20
    assert v["support_mass_T"] > v["support_mass_0"]
    unknown = fq.feature_view(W0, WT, None)
    assert np.isnan(unknown["max_angle"]) and unknown["angles"] == [] and len(unknown["weight_mass"]) == d


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: fq.weight_mass(np.zeros((2, 2))), "W is zero"),
        (lambda: fq.weight_mass(np.ones(3)), "W must have 2 dimension"),
        (lambda: fq.subspace_mass(np.ones((2, 3)), np.ones((4, 1))), "U must have shape \\(3, k\\)"),
        (lambda: fq.learned_subspace(np.ones((2, 3)), 3), "k must be"),
        (lambda: fq.principal_angles(np.ones((3, 1)), np.full((3, 1), np.nan)), "NaN"),
        (lambda: fq.feature_view(np.ones((2, 3)), np.ones((3, 3)), None), "same shape"),
    ],
)
def test_feature_measures_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
