"""Singular and near-singular cycle equations: continua flagged, badly conditioned isolated
objects kept (residual check, no condition-number cut), marginal never stable."""

import numpy as np
import pytest

from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import PLRNN
from rnnexplore.dynamics.solve import solve_region_sequences


def test_identity_map_is_a_continuum_in_every_region():
    m = PLRNN([1.0, 1.0], np.zeros((2, 2)), [0.0, 0.0])  # z' = z: every point is fixed
    regions = np.array([[[a, b]] for a in (False, True) for b in (False, True)])
    sol = solve_region_sequences(m, regions)
    assert not sol.solvable.any() and sol.continuum.all()


def test_singular_inconsistent_system_is_neither():
    m = PLRNN([1.0, 0.5], np.zeros((2, 2)), [1.0, 0.0])  # z1' = z1 + 1: no fixed point at all
    sol = solve_region_sequences(m, np.array([[[True, True]]]))
    assert not sol.solvable[0] and not sol.continuum[0] and not sol.real[0]


@pytest.mark.parametrize("gap", [1e-13, 1e-14])
def test_badly_conditioned_isolated_fixed_point_is_found(gap):
    # cond(I - P) = 0.5 / gap > 1e12; the fixed point h1 / (1 - A11), 1 is isolated
    m = PLRNN([1.0 - gap, 0.5], np.zeros((2, 2)), [gap, 0.5])
    a11 = m.A[0, 0]
    expect = np.array([m.h[0] / (1.0 - a11), 1.0])  # closed form in the model's own floats
    assert np.linalg.cond(np.eye(2) - m.jacobian([True, True])) > 1e12
    sol = solve_region_sequences(m, np.array([[[True, True]]]))
    assert sol.solvable[0] and sol.real[0] and not sol.continuum[0]
    np.testing.assert_allclose(sol.points[0, 0], expect, rtol=1e-9)
    (fp,) = find_cycles(m, 1, seed=0)
    np.testing.assert_allclose(fp.points[0], expect, rtol=1e-9)
    assert np.allclose(m.step(fp.points[0]), fp.points[0], rtol=0, atol=1e-12)


def test_eigenvalue_just_below_one_is_marginal_not_stable():
    m = PLRNN([1.0 - 1e-11, 0.5], np.zeros((2, 2)), [1e-11, 0.5])
    (fp,) = find_cycles(m, 1, seed=0)
    assert fp.marginal and fp.stability != "stable" and fp.n_stable == 1
    # a clearly contracting fixed point is still stable
    (fp2,) = find_cycles(PLRNN([0.5, 0.5], np.zeros((2, 2)), [0.5, 0.5]), 1, seed=0)
    assert fp2.stability == "stable" and not fp2.marginal and fp2.n_stable == 2


def test_regions_must_be_boolean():
    m = PLRNN([0.5], [[0.0]], [1.0])
    with pytest.raises(ValueError, match="regions"):
        solve_region_sequences(m, np.array([[[np.nan]]]))
    with pytest.raises(ValueError, match="regions"):
        solve_region_sequences(m, np.array([[[2]]]))
    sol = solve_region_sequences(m, np.array([[[1]]]))
    assert sol.real[0]
