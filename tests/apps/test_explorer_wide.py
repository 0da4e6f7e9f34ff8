"""The explorer on a wide network (more than WIDE_BITS region bits: no single-bit flips)."""

from __future__ import annotations

import functools
from pathlib import Path

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


@functools.lru_cache(maxsize=1)
def _m64():
    """The benchmark M = 64 flip-flop net: (torch RNN, model, input weights, oracle). The oracle
    is objects_from_states from the task's own trajectories (tests/dynamics/test_flipflop.py)."""
    import torch

    from rnnexplore.dynamics.continuation import objects_from_states
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

    return rnn, model, rnn.weight_ih_l0.detach().numpy().astype(float), oracle


@pytest.mark.slow
def test_explorer_on_the_m64_flipflop_net_finds_the_cube():
    """The M = 64 net (2^64 regions): the explorer's cold search finds the 27 fixed points
    (8 attractors, 12 + 6 + 1 saddles) of the oracle, and a slider step follows them."""
    from rnnexplore.dynamics.models import from_torch_rnn

    rnn, model, W_ih, oracle = _m64()
    ref = oracle(model)
    assert len(ref) == 27
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


def _balance(log, step):
    """Objects gained minus lost by the log entries of one step (a pair entry counts 2)."""
    return sum(len(e.keys) * {"birth": 1, "death": -1}.get(e.side, 0) for e in log if e.step == step)


def test_a_drag_is_completed_step_by_step_when_the_slider_rests(monkeypatch):
    """The 24-unit sweep as one drag (the completion cannot start until the slider rests): every
    step's object set and its events then agree with brute force - each step's births minus deaths
    equal the change of the brute-force count - including the births on the way back that fast
    steps miss."""
    monkeypatch.setattr(explorer, "YIELD_SECONDS", 30.0)  # no rest during the drag, however slow
    model, _ = _wide(-0.5)
    st = ExplorerState(model, max_order=1, params=["h[0]"], ranges={"h[0]": (-1.0, 1.0, 0.05)})
    values = np.r_[np.linspace(-0.45, 0.3, 16), np.linspace(0.25, -0.5, 16)]
    first = st.n_computes + 1
    for h0 in values:
        assert st.set_param("h[0]", float(h0))
    assert len(st._drag) == len(values)
    monkeypatch.setattr(explorer, "YIELD_SECONDS", 0.0)
    st._complete()  # the rest (re-armed with the patched delay)
    assert st.wait(120)
    counts = [len(brute_force_cycles(_wide(float(h))[1], 1)) for h in np.r_[-0.5, values]]
    for i in range(len(values)):
        assert _balance(st.log, first + i) == counts[i + 1] - counts[i], (i, values[i])
    assert {c.key[:3] for c in st.cycles} == {c.key for c in brute_force_cycles(_wide(-0.5)[1], 1)}
    assert not st._drag


def test_complete_drag_keeps_each_steps_objects_and_adds_the_missed():
    """complete_drag on a drag whose fast sets were emptied: each step gets back the brute-force
    objects (continued from the objects seen before the drag), and nothing that is not real there."""
    from rnnexplore.dynamics.continuation import continuation_step

    steps, before, m_before = [], None, None
    values = [-0.45, -0.4, -0.35]
    m_before = _wide(-0.5)[0]
    before = continuation_step(m_before, None, 1, seed=0)
    prev_m, prev_c = m_before, before
    for i, h in enumerate(values):
        m = _wide(h)[0]
        empty = continuation_step(m, [], 1, seed=0, budget=False)
        steps.append(explorer._FastStep(i + 1, prev_m, prev_c, np.zeros(0), m, empty, {"h[0]": (0, h)}, True))
        prev_m, prev_c = m, empty
    sets = explorer.complete_drag(steps, 1, lambda m: [], seed=0)
    for h, got in zip(values, sets):
        assert {c.key[:3] for c in got} == {c.key for c in brute_force_cycles(_wide(h)[1], 1)}, h
        assert all(np.max(np.abs(_wide(h)[0].step(c.points[0]) - c.points[0])) < 1e-9 for c in got)


@pytest.mark.slow
def test_a_drag_on_the_m64_flipflop_net_logs_what_the_oracle_shows(monkeypatch):
    """A drag of u[0] over 0.0025, 0.005, 1/60, 0.02 without rest: the fast steps miss a saddle at
    0.005 (two bits from its predecessor) and one at 1/60 (a false "gone" and "born" in the log).
    Once the slider rests, every step's births minus deaths equal the change of the oracle's
    count (27, 27, 27, 19, 9), and the final set contains the oracle's."""
    from rnnexplore.dynamics.models import from_torch_rnn

    rnn, model, W_ih, oracle = _m64()
    st = ExplorerState(model, max_order=1, inputs=W_ih, params=["u[0]", "u[1]", "u[2]"])
    monkeypatch.setattr(explorer, "YIELD_SECONDS", 30.0)
    values = [0.0025, 0.005, 1 / 60, 0.02]
    first = st.n_computes + 1
    for u0 in values:
        assert st.set_param("u[0]", u0)
    monkeypatch.setattr(explorer, "YIELD_SECONDS", 0.0)
    st._complete()
    assert st.wait(300)
    refs = [oracle(from_torch_rnn(rnn, u=[u0, 0.0, 0.0])) for u0 in [0.0, *values]]
    assert [len(r) for r in refs] == [27, 27, 27, 19, 9]
    for i in range(len(values)):
        assert _balance(st.log, first + i) == len(refs[i + 1]) - len(refs[i]), values[i]
    assert refs[-1] <= {c.key for c in st.cycles}
