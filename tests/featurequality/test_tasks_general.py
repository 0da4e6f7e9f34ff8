"""Multi-index and array tasks: values by hand, orthonormality by Monte Carlo, the split."""

import math

import numpy as np
import pytest

import rnnexplore.featurequality as fq


def test_multi_index_values_match_hand_written_hermite():
    task = fq.multi_index(d=5, terms=[(1, 0, 0), (1, 1, 0), (0, 2, 0), (0, 0, 3)], seed=1)
    X, y = task.sample(50, seed=0)
    Z = X @ task.relevant_basis()
    z1, z2, z3 = Z.T
    expected = z1 + z1 * z2 + (z2**2 - 1) / math.sqrt(2) + (z3**3 - 3 * z3) / math.sqrt(6)
    np.testing.assert_allclose(y, expected, rtol=1e-12)
    U = task.relevant_basis()
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)


def test_multi_index_terms_orthonormal_by_monte_carlo():
    task = fq.multi_index(d=20, seed=3)  # z1 + z1 z2 + z1 z2 z3
    X, y = task.sample(400_000, seed=1)
    assert abs(y.mean()) < 5 * math.sqrt(3 / 400_000)
    assert y.var() == pytest.approx(task.variance, rel=0.02)
    assert task.variance == 3.0 and X.shape == (400_000, 20)
    assert abs(X.std() - 1) < 0.01


def test_multi_index_given_basis_and_validation():
    B = np.c_[np.eye(4)[:, 0] * 3, np.eye(4)[:, 1] + np.eye(4)[:, 0]]
    task = fq.multi_index(4, [(1, 0), (0, 1)], basis=B)
    np.testing.assert_allclose(task.relevant_basis(), np.eye(4)[:, :2], atol=1e-12)
    assert fq.task_from_dict(task.to_dict()) == task
    for kwargs, match in [
        (dict(d=4, terms=[(1, 0), (1,)]), "terms\\[1\\] has 1 degrees"),
        (dict(d=4, terms=[(1, -1)]), "degrees must be integers >= 0"),
        (dict(d=4, terms=[(1, 0), (1, 0)]), "same term twice"),
        (dict(d=2, terms=[(1, 0, 0)]), "need d >= 3"),
        (dict(d=4, terms=[(1, 1)], basis=np.ones((4, 2))), "linearly dependent"),
        (dict(d=4, terms=[(1, 1)], basis=np.ones((3, 2))), "basis must be a finite \\(4, 2\\)"),
    ]:
        with pytest.raises(ValueError, match=match):
            fq.multi_index(**kwargs)


def test_array_task_split_is_fixed_disjoint_and_nested():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 3))
    X[:, 2] = np.arange(100)  # row id, to check disjointness
    y = X[:, 0]
    task = fq.ArrayTask(X, y, test_fraction=0.3, split_seed=4)
    assert (task.n_pool, task.n_held_out) == (70, 30)
    ids_test = set(task.test_set(1000)[0][:, 2])
    assert len(ids_test) == 30
    a, _ = task.train_set(40, seed=1)
    b, _ = task.train_set(70, seed=1)
    assert not ids_test & set(b[:, 2]) and len(set(b[:, 2])) == 70
    np.testing.assert_array_equal(a, b[:40])  # nested in n
    assert task.variance == pytest.approx(np.var(task.test_set(30)[1]))
    assert task.relevant_basis() is None
    t2 = fq.ArrayTask(X, y, relevant_basis=np.eye(3)[:, :1])
    np.testing.assert_allclose(np.abs(t2.relevant_basis()), np.eye(3)[:, :1])
    for kwargs, match in [
        (dict(X=X[:, 0], y=y), "X must be 2-d"),
        (dict(X=X, y=y[:5]), "y must have shape"),
        (dict(X=X, y=y, test_fraction=1.0), "test_fraction"),
        (dict(X=X * np.nan, y=y), "NaN"),
    ]:
        with pytest.raises(ValueError, match=match):
            fq.ArrayTask(**kwargs)
