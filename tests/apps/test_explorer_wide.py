"""The explorer on a wide network (more than WIDE_BITS region bits: no single-bit flips)."""

from __future__ import annotations

import numpy as np

import rnnexplore.apps.explorer as explorer
from rnnexplore.apps.explorer import WIDE_BITS, ExplorerState
from rnnexplore.dynamics.cycles import brute_force_cycles
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
    for i, (h0, keys) in enumerate(zip(np.r_[-0.5, values], got)):
        ref = {c.key for c in brute_force_cycles(_wide(float(h0))[1], 1)}
        assert all(k[3:] == "0" * 21 for k in keys)
        short = {k[:3] for k in keys}
        assert short <= ref, h0  # every object is real (the exact check)
        if i <= len(up):  # deaths and moves across borders: nothing missed
            assert short == ref, h0
    # the same sets as with single-bit flips (births on the way back depend on the search only)
    monkeypatch.setattr(explorer, "WIDE_BITS", 10**6)
    assert _sweep(values) == got
