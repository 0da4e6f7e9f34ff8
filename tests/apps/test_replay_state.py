"""ReplayState: navigation, objects from the analysis or searched on demand, orbits per checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.apps.replay import ReplayState
from rnnexplore.dynamics.cycles import find_cycles
from rnnexplore.dynamics.training.replay import Replay, analyse_replay


def skew_tent_replay(C=21):
    """a_r crosses -1 at checkpoint 10 (the 2-cycle dies there); the loss jumps there too."""
    a_l = 0.2
    a_r = np.linspace(-1.3, -0.7, C)
    a_r[C // 2] = -0.995
    loss = np.linspace(1.0, 0.5, C)
    loss[C // 2 :] *= 50.0
    rep = Replay("plrnn", np.arange(C), {"A": np.full((C, 1), a_l), "W": (a_r - a_l)[:, None, None],
                                         "h": np.ones((C, 1))}, loss, loss, np.ones(C), np.zeros(C))
    return rep, a_r


def test_summary_events_and_jumps():
    rep, _ = skew_tent_replay()
    res = analyse_replay(rep, 2, seed=0)
    st = ReplayState(rep, analysis=res)
    assert "checkpoint 0/20" in st.summary()
    assert "degenerate_flip" in st.set_index(10).summary() and "LOSS JUMP" in st.summary()


def test_objects_on_demand_match_a_fresh_search():
    rep, a_r = skew_tent_replay(5)
    st = ReplayState(rep, max_order=2)
    assert st.path_params == ("W[0,0]", "A[0]")  # the varying one first
    # closed form: the 2-cycle exists for a_r < -1
    assert [len(st.objects_at(i)) for i in range(5)] == [2 if a < -1 else 1 for a in a_r]
    assert all(st.known_objects(i) is not None for i in range(5))
    for i in range(5):
        fresh = find_cycles(rep.model_at(i), 2, seed=100 + i)
        assert {c.key for c in st.objects_at(i)} == {c.key for c in fresh}
    assert ReplayState(rep).objects() is None
    with pytest.raises(ValueError, match="out of range"):
        st.set_index(7)


def test_trajectory_at_is_the_model_orbit():
    rep, a_r = skew_tent_replay(5)
    st = ReplayState(rep, n_steps=50)
    t = st.trajectory_at(3)
    z = 0.1
    for k in range(5):  # the skew tent map by hand
        z = 0.2 * z + (a_r[3] - 0.2) * max(z, 0.0) + 1.0
    assert t.shape == (51, 1) and np.isclose(t[5, 0], z)
    np.testing.assert_array_equal(st.set_index(3).trajectory(), t)
