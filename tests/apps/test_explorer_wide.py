"""The explorer on a wide network (more than WIDE_BITS region bits: no single-bit flips)."""

from __future__ import annotations

import numpy as np
import pytest

import rnnexplore.apps.explorer as explorer
from rnnexplore.apps.explorer import WIDE_BITS, ExplorerState
from rnnexplore.dynamics.cycles import brute_force_cycles
from rnnexplore.dynamics.events import index_sums
from rnnexplore.dynamics.models import PLRNN


def _wide(h0: float):
    # 3 coupled units (brute force over their 2^3 regions is the oracle) + 21 units that stay
    # inactive at every fixed point: the fixed points are the 3-unit ones, padded with "0" bits
    rng = np.random.default_rng(4)
    Ws = 2.0 * np.eye(3) + 0.3 * rng.normal(size=(3, 3))
    M = 24
    W = np.zeros((M, M))
    W[:3, :3] = Ws
    W[3:, 3:] = 0.5 * np.eye(M - 3)
    W[3:, :3] = rng.normal(size=(M - 3, 3))
    hs = np.array([h0, -0.5, -0.5])
    return PLRNN(np.zeros(M), W, np.r_[hs, -11.0 * np.ones(M - 3)]), PLRNN(np.zeros(3), Ws, hs)


def _sweep(values):
    model, _ = _wide(-0.5)
    st = ExplorerState(model, max_order=1, params=["h[0]"], ranges={"h[0]": (-1.0, 1.0, 0.05)})
    out = [{c.key for c in st.cycles}]
    for h0 in values:
        assert st.set_param("h[0]", float(h0))
        st.wait()
        out.append({c.key for c in st.cycles})
    return out


def test_wide_network_slider_steps_match_brute_force(monkeypatch):
    assert _wide(0.0)[0].n_bits > WIDE_BITS
    up, down = np.linspace(-0.45, 0.3, 16), np.linspace(0.25, -0.5, 16)  # 6 -> 0 objects, and back
    values = np.r_[up, down]
    got = _sweep(values)
    for h0, keys in zip(np.r_[-0.5, values], got):
        ref = {c.key for c in brute_force_cycles(_wide(float(h0))[1], 1)}
        assert all(k[3:] == "0" * 21 for k in keys)
        # deaths, moves across borders and the births on the way back: nothing missed (a fast
        # step that misses a birth changes an index sum; the background completion finds it)
        assert {k[:3] for k in keys} == ref, h0
    # with single-bit flips (not wide) the steps find a subset: the births at h0 = -0.4 .. -0.5
    # on the way back depend on that search
    monkeypatch.setattr(explorer, "WIDE_BITS", 10**6)
    assert all(f <= g for f, g in zip(_sweep(values), got))


def _trained(path):
    from pathlib import Path

    from rnnexplore.dynamics.models import from_torch_rnn
    from rnnexplore.dynamics.training.flipflop import load_flipflop

    return from_torch_rnn(load_flipflop(Path(__file__).resolve().parents[2] / "benchmarks" / "data" / path)[0])


def test_cold_search_of_a_trained_net_starts_from_its_trajectories(monkeypatch):
    """A trained flip-flop net (M = 16: brute force over its 2^16 regions is the oracle, 27 fixed
    points) treated as wide: with the capped search cut to 100 solves, the trajectory-seeded cold
    search still finds every fixed point; without the seeding the same budget misses some."""
    model = _trained("certify_flipflop_M16.npz")
    ref = {c.key for c in brute_force_cycles(model, 1)}
    assert len(ref) == 27
    monkeypatch.setattr(explorer, "COLD_BUDGET", {"max_solves": 100})
    monkeypatch.setattr(explorer, "WIDE_BITS", model.n_bits - 1)
    st = ExplorerState(model, max_order=1)
    assert {c.key for c in st.cycles} == ref
    assert ExplorerState(model, max_order=1, seed=5).cycles.keys() == st.cycles.keys()  # not one lucky seed
    monkeypatch.setattr(explorer, "WIDE_BITS", model.n_bits)  # not wide: the capped search alone
    plain = {c.key for c in ExplorerState(model, max_order=1).cycles}
    assert plain < ref


@pytest.mark.slow
def test_explorer_on_the_m64_flipflop_net_finds_the_cube():
    """The benchmark M = 64 net (2^64 regions): the explorer's cold search finds the 27 fixed points
    (8 attractors, 12 + 6 + 1 saddles) that objects_from_states finds from the task's own
    trajectories (tests/dynamics/test_flipflop.py), and a slider step follows them."""
    import torch

    from pathlib import Path

    from rnnexplore.dynamics.continuation import objects_from_states
    from rnnexplore.dynamics.models import from_torch_rnn
    from rnnexplore.dynamics.training.flipflop import flipflop_batch, load_flipflop

    rnn, _ = load_flipflop(Path(__file__).resolve().parents[2] / "benchmarks" / "data" / "flipflop_M64.npz")
    model = _trained("flipflop_M64.npz")
    u, _ = flipflop_batch(16, 100, seed=1, start_pulse=True)
    with torch.no_grad():
        x = rnn(torch.tensor(u, dtype=torch.float32))[0].numpy().astype(np.float64).reshape(-1, 64)
    rng = np.random.default_rng(2)
    init = x[rng.choice(len(x), 512, replace=False)] + 0.5 * rng.standard_normal((512, 64))

    def oracle(m):
        return {c.key for c in objects_from_states(m, (init @ m.W.T + m.h)[None], 1, relax=30)}

    ref = oracle(model)
    assert len(ref) == 27
    W_ih = rnn.weight_ih_l0.detach().numpy().astype(float)
    st = ExplorerState(model, max_order=1, inputs=W_ih, params=["u[0]", "u[1]", "u[2]"])
    assert model.n_bits > WIDE_BITS and {c.key for c in st.cycles} == ref
    n_unstable = sorted(int(np.sum(np.abs(c.eigenvalues) > 1)) for c in st.cycles)
    assert [n_unstable.count(k) for k in range(4)] == [8, 12, 6, 1]
    # slider steps: once its background work is done the explorer shows every object of the
    # oracle, each real, with the index sum of the cold start (1). The fast flip-less steps miss
    # objects at 0.005 (26 of 27) and 1/60 (18 of 19) (also at 25/60 of the benchmark's sweep,
    # and after jumps); each changes the index sum, and the background completion finds the rest.
    for u0 in (0.005, 1 / 60, 0.005):
        assert st.set_param("u[0]", u0)
        st.wait()
        assert oracle(from_torch_rnn(rnn, u=[u0, 0.0, 0.0])) <= {c.key for c in st.cycles}, u0
        assert all(np.max(np.abs(st.model.step(c.points[0]) - c.points[0])) < 1e-9 for c in st.cycles)
        assert index_sums(st.cycles, 1) == {1: 1} and "may be missing" not in st.status, u0
    assert len(st.cycles) == 27 and st.completed_steps >= 2  # back at 0.005: the cube again
