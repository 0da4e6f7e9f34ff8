"""Fixed-point index sums (events.index_sums) against the degree theorem: a map that contracts at
infinity has deg(I - F^k) = 1 on a large ball, so the indices of ALL fixed points of F^k (every
d-cycle, d | k, from brute force over every region sequence) sum to 1 at every k."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.certify import relu_form
from rnnexplore.dynamics.cycles import brute_force_cycles
from rnnexplore.dynamics.enumeration import _contraction_bound
from rnnexplore.dynamics.events import index_sums
from rnnexplore.dynamics.models import PLRNN


def _contracting(M: int, seed: int) -> PLRNN:
    """Inhibition-dominated ReLU RNNs z' = A z + W relu(z) + h, kept only when the sufficient
    contraction-at-infinity condition holds (then every fixed point of F^k lies in a ball)."""
    rng = np.random.default_rng(seed)
    while True:
        W = rng.uniform(1.0, 4.0) * rng.normal(size=(M, M)) / np.sqrt(M)
        Wp = np.maximum(W, 0.0)
        r = np.max(np.abs(np.linalg.eigvals(Wp)))
        W = (Wp * (0.6 / r) if r > 0 else Wp) + np.minimum(W, 0.0)
        m = PLRNN(rng.uniform(-0.3, 0.3, M), W, np.abs(rng.normal(size=M)))
        if _contraction_bound(*relu_form(m)) is not None:
            return m


CASES = [(M, s, K) for M, K in ((1, 6), (2, 6), (3, 4), (4, 3)) for s in range(4)]


@pytest.mark.parametrize("M,seed,K", CASES)
def test_complete_sets_have_index_sum_one_at_every_order(M, seed, K):
    m = _contracting(M, seed)
    cycles = [c for k in range(1, K + 1) for c in brute_force_cycles(m, k)]
    sums = index_sums(cycles, K)
    assert all(v == 1 for v in sums.values() if v is not None), sums
    assert sum(v is not None for v in sums.values()) >= K - 1  # degenerate cycles are rare


def test_a_missing_object_changes_the_sum():
    # a net with several fixed points: leaving any one out breaks the sum at order 1 (and at
    # every multiple of its order)
    for seed in range(40):
        m = _contracting(3, seed)
        fps = brute_force_cycles(m, 1)
        if len(fps) >= 3:
            break
    assert len(fps) >= 3
    assert index_sums(fps + brute_force_cycles(m, 2), 2) == {1: 1, 2: 1}
    for i in range(len(fps)):
        rest = fps[:i] + fps[i + 1:]
        assert index_sums(rest, 1)[1] != 1


def test_degenerate_fixed_point_has_no_index():
    # z' = z + 0 on z > 0 (slope 1): every point of z > 0 is fixed - eigenvalue 1
    from rnnexplore.dynamics.cycles import Cycle

    c = Cycle(order=1, points=np.array([[1.0]]), eigenvalues=np.array([1.0 + 0j]), regions=np.array([[True]]), key="1")
    assert index_sums([c], 2) == {1: None, 2: None}
    with pytest.raises(ValueError, match="max_order"):
        index_sums([c], 0)
