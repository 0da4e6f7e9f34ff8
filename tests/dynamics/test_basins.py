"""Basins of attraction against simulation of random initial conditions, one by one."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.basins import basin_grid, basin_labels
from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.models import PLRNN, paper_gt16
from rnnexplore.dynamics.projection import Projection


def _simulate_label(model, attractors, z0, n=3000):
    """Reference: iterate one start in plain Python and name the attractor it ends on."""
    z = np.array(z0, float)
    for _ in range(n):
        z = model.step(z)
        if not np.all(np.isfinite(z)) or np.max(np.abs(z)) > 1e6:
            return "diverges"
    for i, c in enumerate(attractors):
        if np.min(np.max(np.abs(np.asarray(c.points) - z), axis=1)) < 1e-6 * (1 + np.max(np.abs(z))):
            return i
    return "other"


def _saddle_escape():
    # z0 contracts to -0.8 while off; z1 grows by 1.2 per step: everything off z1 = 0 diverges
    return PLRNN([0.5, 1.2], [[1.2, 0.0], [0.0, 0.0]], [-0.4, 0.0])


def _two_attractors():
    # z' = 0.5 z + 2 relu(z) - 1 ... per unit: stable -2 (off) and, for z > 0, slope 2.5: unstable
    # fixed point 2/3; unit 1 copies it: basins split at z0 = 2/3 (below: -2, above: diverges)
    return PLRNN([0.5, 0.5], [[2.0, 0.0], [0.0, 0.0]], [-1.0, 0.0])


@pytest.mark.parametrize("make, order", [(paper_gt16, 16), (_saddle_escape, 2), (_two_attractors, 2)])
def test_basins_equal_the_simulated_fate_of_random_starts(make, order):
    m = make()
    cycles = find_cycles(m, order, seed=0)
    attractors = [c for c in cycles if c.stability == "stable"]
    rng = np.random.default_rng(7)
    starts = rng.uniform(-2.0, 2.0, size=(60, m.M))
    b = basin_labels(m, cycles, starts, max_steps=3000)
    n_att = len(attractors)
    wrong = []
    for z0, lab in zip(starts, b.labels):
        want = _simulate_label(m, attractors, z0)
        got = int(lab) if lab < n_att else ("diverges" if lab == n_att else "other")
        if want != got:
            wrong.append((z0.tolist(), want, got))
    assert wrong == []
    assert b.names[-2:] == ["diverges", "other"]


def test_grid_basin_border_is_the_unstable_fixed_point():
    m = _two_attractors()
    cycles = find_cycles(m, 2, seed=0)
    b = basin_grid(m, cycles, Projection.default(2), (-2, 2), (-1, 1), n=40)
    assert b.labels.shape == (40, 40) and b.names[0] == "stable fixed point"
    xs = -2 + (np.arange(40) + 0.5) * 0.1
    want = np.where(xs < 2 / 3, 0, 1)  # closed form: left of z0 = 2/3 -> the fixed point, right -> diverges
    assert (b.labels == want[None, :]).all()
    assert sum(b.fractions().values()) == pytest.approx(1.0)


def test_bad_arguments_are_refused():
    m = paper_gt16()
    with pytest.raises(ValueError, match="starts must have shape"):
        basin_labels(m, [], np.zeros((3, 3)))
    with pytest.raises(ValueError, match="max_steps"):
        basin_labels(m, [], np.zeros((3, 2)), max_steps=0)
    with pytest.raises(ValueError, match="xlim and ylim"):
        basin_grid(m, [], Projection.default(2), (1, 0), (0, 1))
