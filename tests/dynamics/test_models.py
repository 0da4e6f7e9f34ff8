"""Models: affine pieces agree with the map, validation, parameter names, JSON I/O."""

import json

import numpy as np
import pytest

from rnnexplore.dynamics.models import (
    ALRNN,
    PLRNN,
    ClippedShallowPLRNN,
    ShallowPLRNN,
    border_collision_normal_form,
    load_model_json,
    model_from_dict,
    paper_gt16,
    random_plrnn,
    save_model_json,
    skew_tent,
)


def _models(seed=0):
    rng = np.random.default_rng(seed)
    M, H = 3, 4
    return [
        PLRNN(rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M)),
        PLRNN(rng.normal(size=(M, M)), rng.normal(size=(M, M)), rng.normal(size=M)),
        ShallowPLRNN(rng.normal(size=M), rng.normal(size=(M, H)), rng.normal(size=(H, M)), rng.normal(size=M), rng.normal(size=H)),
        ClippedShallowPLRNN(rng.normal(size=M), rng.normal(size=(M, H)), rng.normal(size=(H, M)), rng.normal(size=M), rng.normal(size=H)),
        ALRNN(rng.normal(size=M), rng.normal(size=(M, M)), rng.normal(size=M), n_relu=2),
    ]


def _explicit_step(m, z):
    """The defining formulas, written independently of the classes."""
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    if isinstance(m, ALRNN):
        phi = z.copy()
        phi[m.M - m.n_relu :] = relu(z[m.M - m.n_relu :])
        return m.A @ z + m.W @ phi + m.h
    if isinstance(m, PLRNN):
        return m.A @ z + m.W @ relu(z) + m.h
    if isinstance(m, ClippedShallowPLRNN):
        return m.a * z + m.W1 @ (relu(m.W2 @ z + m.h2) - relu(m.W2 @ z)) + m.h1
    return m.a * z + m.W1 @ relu(m.W2 @ z + m.h2) + m.h1


@pytest.mark.parametrize("idx", range(5))
def test_step_matches_formula_and_affine_piece(idx):
    m = _models()[idx]
    rng = np.random.default_rng(1)
    Z = rng.normal(scale=2.0, size=(50, m.M))
    batched = m.step(Z)
    for z, zb in zip(Z, batched):
        want = _explicit_step(m, z)
        np.testing.assert_allclose(m.step(z), want, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(zb, want, rtol=1e-12, atol=1e-12)
        d = m.region(z)
        np.testing.assert_allclose(m.jacobian(d) @ z + m.offset(d), want, rtol=1e-10, atol=1e-10)
        np.testing.assert_array_equal(d, m.switching(z) > 0)
    # batched helpers agree with single ones
    D = m.region(Z[:7])
    np.testing.assert_allclose(m.jacobians(D)[3], m.jacobian(D[3]))
    np.testing.assert_allclose(m.offsets(D)[3], m.offset(D[3]))


def test_jacobian_is_derivative():
    m = _models()[2]
    z = np.array([0.3, -0.7, 1.1])
    eps = 1e-6
    num = np.stack([(m.step(z + eps * e) - m.step(z - eps * e)) / (2 * eps) for e in np.eye(3)], axis=1)
    np.testing.assert_allclose(m.jacobian(m.region(z)), num, atol=1e-6)


def test_region_is_strict():
    assert skew_tent(0.2, -1.5, 1.0).region([0.0]).tolist() == [False]
    assert skew_tent(0.2, -1.5, 1.0).step([0.0]).tolist() == [1.0]


def test_simulate_shapes_and_values():
    m = paper_gt16()
    traj = m.simulate([0.1, 0.2], 5)
    assert traj.shape == (6, 2)
    np.testing.assert_allclose(traj[3], m.step(m.step(m.step([0.1, 0.2]))))
    assert m.simulate(np.zeros((4, 2)), 3).shape == (4, 4, 2)


def test_diagonal_A_vector_is_stored_as_matrix():
    m = PLRNN([0.5, 0.7], np.zeros((2, 2)), [0, 0])
    np.testing.assert_array_equal(m.A, np.diag([0.5, 0.7]))
    assert m.A.dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(A=[0.5], W=[[1.0, 0.0]], h=[0.0]), "W"),
        (dict(A=[0.5, 0.1], W=[[1.0]], h=[0.0]), "A"),
        (dict(A=[0.5], W=[[1.0]], h=[np.nan]), "h"),
        (dict(A=[np.inf], W=[[1.0]], h=[0.0]), "A"),
        (dict(A=[], W=[[1.0]], h=[]), "h"),
        (dict(A=[0.5], W=[[1.0]], h=[[0.0]]), "h"),
        (dict(A=[0.5], W="x", h=[0.0]), "W"),
    ],
)
def test_plrnn_validation(kwargs, name):
    with pytest.raises(ValueError, match=name):
        PLRNN(**kwargs)


def test_other_model_validation():
    with pytest.raises(ValueError, match="W2"):
        ShallowPLRNN([0.5], [[1.0, 2.0]], [[1.0]], [0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="h2"):
        ShallowPLRNN([0.5], [[1.0]], [[1.0]], [0.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="n_relu"):
        ALRNN([0.5], [[1.0]], [0.0], n_relu=2)
    with pytest.raises(ValueError, match="n_relu"):
        ALRNN([0.5], [[1.0]], [0.0], n_relu=0.5)
    with pytest.raises(ValueError, match="z"):
        paper_gt16().step([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="n_steps"):
        paper_gt16().simulate([1.0, 2.0], -1)
    with pytest.raises(ValueError, match="region"):
        paper_gt16().jacobian([True])


def test_param_names_get_and_with_params():
    m = paper_gt16()
    names = m.param_names()
    assert names[:2] == ["A[0]", "A[1]"] and "W[1,0]" in names and names[-1] == "h[1]"
    assert m.get_param("A[1]") == m.get_param("A[1,1]") == m.A[1, 1]
    m2 = m.with_params({"A[0]": 0.5, "W[1,0]": -0.2, "A[0,1]": 0.1})
    assert m2 is not m and m.get_param("A[0]") == m.A[0, 0] != 0.5
    assert m2.A[0, 0] == 0.5 and m2.W[1, 0] == -0.2 and m2.A[0, 1] == 0.1
    assert "A[0,1]" in m2.param_names()  # no longer diagonal
    for bad in ["B[0]", "A[2]", "W[0]", "W[0,5]", "h", 3]:
        with pytest.raises(ValueError, match="valid names|parameter name"):
            m.get_param(bad)
    with pytest.raises(ValueError, match="finite"):
        m.with_params({"h[0]": np.nan})
    s = _models()[2]
    assert "W1[0,3]" in s.param_names() and "h2[3]" in s.param_names()
    assert s.with_params({"a[1]": 0.25}).a[1] == 0.25


def test_arrays_are_read_only():
    m = paper_gt16()
    with pytest.raises(ValueError):
        m.W[0, 0] = 1.0


@pytest.mark.parametrize("idx", range(5))
def test_dict_and_json_roundtrip(idx, tmp_path):
    m = _models()[idx]
    d = json.loads(json.dumps(m.to_dict()))
    m2 = model_from_dict(d)
    assert type(m2) is type(m) and m2 == m
    save_model_json(m, tmp_path / "m.json")
    assert load_model_json(tmp_path / "m.json") == m


def test_malformed_model_files(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_model_json(p)
    p.write_text(json.dumps({"type": "Mystery", "A": [1]}))
    with pytest.raises(ValueError, match="type"):
        load_model_json(p)
    p.write_text(json.dumps({"type": "PLRNN", "A": [1.0], "W": [[1.0]]}))
    with pytest.raises(ValueError, match="missing"):
        load_model_json(p)
    p.write_text(json.dumps({"type": "PLRNN", "A": [1.0], "W": [[1.0]], "h": [0.0], "extra": 1}))
    with pytest.raises(ValueError, match="unknown key"):
        load_model_json(p)
    p.write_text(json.dumps([1, 2]))
    with pytest.raises(ValueError, match="JSON object"):
        load_model_json(p)
    with pytest.raises(ValueError, match="does not exist"):
        load_model_json(tmp_path / "missing.json")
    # the "type" key is optional for a PLRNN; metadata keys are allowed
    p.write_text(json.dumps({"A": [0.2], "W": [[-1.7]], "h": [1.0], "description": "tent"}))
    assert load_model_json(p) == skew_tent(0.2, -1.5, 1.0)


def test_known_systems():
    m = border_collision_normal_form(0.3)
    np.testing.assert_allclose(m.jacobian([False, False]), [[0.3, 0.8], [-0.4, 0.2]])
    np.testing.assert_allclose(m.jacobian([True, True]), [[-1.5, 0.8], [0.5, 0.2]])
    t = skew_tent(0.2, -1.5, 1.0)
    assert t.step([-1.0]).item() == pytest.approx(0.8) and t.step([1.0]).item() == pytest.approx(-0.5)
    assert random_plrnn(4, seed=3) == random_plrnn(4, seed=3)
    assert random_plrnn(4, seed=3) != random_plrnn(4, seed=4)
    rich = random_plrnn(3, seed=0, rich=True)
    assert np.all(np.isfinite(rich.simulate(np.ones(3), 2000)))  # bounded chaotic system


def test_shallow_region_pool_is_the_set_of_sampled_patterns():
    from rnnexplore.dynamics.models import ShallowPLRNN

    rng = np.random.default_rng(3)
    M, H = 2, 12
    m = ShallowPLRNN(rng.uniform(0.3, 0.8, M), rng.normal(0, 0.3, (M, H)), rng.normal(0, 1, (H, M)),
                     rng.normal(0, 0.1, M), rng.normal(0, 1, H))
    pool = m.region_pool()
    # brute force: the distinct patterns of the same sampled points, as a set
    pts = np.random.default_rng(0).uniform(-10.0, 10.0, size=(m._pool_size, M))
    seen = {tuple(r) for r in m.region(pts)}
    got = {tuple(r) for r in pool}
    assert len(got) == len(pool) and seen <= got
    assert np.array_equal(m.region(pts[:1])[0], pool[0])  # first-seen order
