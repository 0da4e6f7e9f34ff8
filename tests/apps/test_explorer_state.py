"""ExplorerState (the scriptable state behind CycleExplorer), checked against closed forms."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rnnexplore.apps.explorer as explorer_mod
from rnnexplore.apps.explorer import PRESETS, ExplorerState, default_ranges
from rnnexplore.dynamics.projection import Projection
from rnnexplore.dynamics.models import PLRNN, border_collision_normal_form, random_plrnn, skew_tent


def _orders(st):
    return [(c.order, c.stability) for c in st.cycles]


def _snapshot(st):
    return (st.model.to_dict(), st.max_order, [c.key for c in st.cycles],
            [t.copy() for t in st.trajectories], st.n_computes)


def _same(a, b):
    assert a[0] == b[0] and a[1] == b[1] and a[2] == b[2] and a[4] == b[4]
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a[3], b[3]))


# ---------------------------------------------------------------- closed forms
@pytest.mark.parametrize("a_r", [-1.5, -1.2, 0.5])
def test_skew_tent_objects_follow_the_slider(a_r):
    a_l, mu = 0.2, 1.0
    st = ExplorerState(skew_tent(a_l, -1.5, mu), max_order=4)
    assert st.set_param("W[0,0]", a_r - a_l)
    fixed = [c for c in st.cycles if c.order == 1]
    assert len(fixed) == 1
    assert fixed[0].points[0, 0] == pytest.approx(mu / (1 - a_r))
    assert abs(fixed[0].eigenvalues[0]) == pytest.approx(abs(a_r))
    two = [c for c in st.cycles if c.order == 2]
    if a_r < -1:
        assert len(two) == 1
        want = sorted([mu * (1 + a_r) / (1 - a_l * a_r), mu * (1 + a_l) / (1 - a_l * a_r)])
        np.testing.assert_allclose(sorted(two[0].points[:, 0]), want, rtol=1e-10)
        assert two[0].eigenvalues[0].real == pytest.approx(a_l * a_r)
    else:
        assert two == []
    if a_r != -1.5:
        assert st.changed == {"W[0,0]": (pytest.approx(-1.7), pytest.approx(a_r - a_l))}


def test_border_collision_normal_form_objects():
    st = ExplorerState.from_preset("border_collision")
    fp = [c for c in st.cycles if c.order == 1]
    assert len(fp) == 1 and fp[0].stability == "saddle"
    np.testing.assert_allclose(fp[0].points[0], [0.107, 0.066875], atol=1e-12)
    two = [c for c in st.cycles if c.order == 2][0]
    want = np.array([[0.3967, 0.1501], [-0.261, 0.2284]])
    got = two.points[np.argsort(-two.points[:, 0])]
    np.testing.assert_allclose(got, want, atol=2e-4)
    # a_l is A[0,0]; W[0,0] = -1.5 - a_l keeps M_R fixed: the fixed point stays put
    assert st.set_params({"A[0,0]": 0.3, "W[0,0]": -1.8})
    assert st.model == border_collision_normal_form(0.3)
    fp = [c for c in st.cycles if c.order == 1]
    np.testing.assert_allclose(fp[0].points[0], [0.107, 0.066875], atol=1e-12)


def test_stable_object_attracts_the_trajectories():
    st = ExplorerState.from_preset("random_stable")
    stable = [c for c in st.cycles if c.stability == "stable"]
    assert len(stable) == 1 and stable[0].order == 1
    for t in st.trajectories:
        np.testing.assert_allclose(t[-1], stable[0].points[0], atol=1e-6)


def test_trajectories_are_model_simulations():
    m = random_plrnn(3, seed=4)
    ics = np.array([[0.1, -0.2, 0.3], [1.0, 1.0, -1.0]])
    st = ExplorerState(m, max_order=2, initial_conditions=ics, n_steps=50)
    for t, z0 in zip(st.trajectories, ics):
        np.testing.assert_allclose(t, m.simulate(z0, 50))


def test_every_preset_loads_and_counts_add_up():
    st = ExplorerState.from_preset("skew_tent")
    for name in PRESETS:
        assert st.load_preset(name)
        assert st.preset == name and st.max_order == PRESETS[name].max_order
        c = st.counts()
        assert sum(c.values()) == len(st.cycles) > 0
        assert f"{len(st.cycles)} object" in st.status and "ms" in st.status
    assert st.load_preset("nope") is False and "preset must be one of" in st.status


def test_gt16_preset_has_the_stable_16_cycle():
    st = ExplorerState.from_preset("paper_gt16")
    assert [c.order for c in st.cycles if c.stability == "stable"] == [16]


# ---------------------------------------------------------------- refusals keep the state
@pytest.mark.parametrize("action, message", [
    (lambda st: st.set_param("A[0]", float("nan")), "finite"),
    (lambda st: st.set_param("A[0]", float("inf")), "finite"),
    (lambda st: st.set_param("Q[0]", 1.0), "unknown parameter"),
    (lambda st: st.set_params({"A[0]": "abc"}), "must be a number such as"),
    (lambda st: st.set_params({"A[0]": "3,5"}), "use a point, not a comma"),
    (lambda st: st.set_max_order("3.5"), "max order must be a whole number, got 3.5"),
    (lambda st: st.set_max_order("1e308"), "max order must be at most 30, got 1e+308"),
    (lambda st: st.set_array("W", [[0.0, 1.0]]), "W must have shape (2, 2)"),
    (lambda st: st.set_array("W", [[np.nan, 0.0], [0.0, 0.0]]), "NaN"),
    (lambda st: st.set_array("A", np.zeros((3, 3))), "A must have shape"),
    (lambda st: st.set_array("Z", [1.0]), "field must be one of"),
    (lambda st: st.set_max_order(0), "max_order must be >= 1"),
    (lambda st: st.set_max_order(31), "max_order must be <= 30"),
    (lambda st: st.set_max_order(2.5), "max_order must be an integer"),
    (lambda st: st.load_json("{not json"), "not valid JSON"),
    (lambda st: st.load_json('{"model": {"type": "PLRNN", "A": [NaN], "W": [[0]], "h": [1]}}'), "NaN"),
    (lambda st: st.load_json('{"model": {"type": "PLRNN", "A": [1, 2], "W": [[0]], "h": [1]}}'), "shape"),
    (lambda st: st.load_json('{"model": {"type": "PLRNN", "A": [0.5], "W": [[0]], "h": [1]}, "max_order": 0}'),
     "max_order"),
    (lambda st: st.load_json('{"model": {"type": "PLRNN", "A": [0.5], "W": [[0]], "h": [1]}, "evil": 1}'),
     "unknown key"),
    (lambda st: st.add_trajectory([np.nan, 0.0]), "NaN"),
    (lambda st: st.add_trajectory([1.0, 2.0, 3.0]), "shape"),
    (lambda st: st.set_projection((0, 0)), "two different indices"),
])
def test_bad_input_is_refused_and_the_previous_state_stays(action, message):
    st = ExplorerState.from_preset("paper_gt16", max_order=8)
    before = _snapshot(st)
    seen = []
    st.listeners.append(lambda s: seen.append(s.status))
    assert action(st) is False
    assert st.level == "error" and st.status.startswith("refused")
    assert message in st.status, st.status
    assert "keeping the previous state" in st.status and "1 object up to order 8" in st.status
    assert seen and seen[-1] == st.status  # the view is told
    _same(before, _snapshot(st))


def test_set_array_accepts_a_valid_matrix():
    st = ExplorerState.from_preset("paper_gt16", max_order=4)
    W = [[0.0, -0.5], [0.5, 0.0]]
    assert st.set_array("W", W)
    np.testing.assert_array_equal(st.model.W, W)
    assert set(st.changed) == {"W[0,1]", "W[1,0]"}


def test_max_order_and_reset():
    st = ExplorerState.from_preset("skew_tent")
    assert st.set_max_order(1) and _orders(st) == [(1, "unstable")]
    assert st.set_param("h[0]", 2.0) and st.set_max_order(3)
    assert st.model.get_param("h[0]") == 2.0
    assert st.reset()
    assert st.model == skew_tent(0.2, -1.5, 1.0) and st.max_order == 8
    assert _orders(st) == [(1, "unstable"), (2, "stable")]


def test_one_search_per_event_and_warm_start_is_used(monkeypatch):
    import rnnexplore.dynamics.cycles as cycles

    calls = []
    real = cycles.find_cycles

    def spy(model, max_order, **kw):
        calls.append(kw)
        return real(model, max_order, **kw)

    monkeypatch.setattr(cycles, "find_cycles", spy)
    st = ExplorerState.from_preset("paper_gt16", max_order=8)
    n = st.n_computes
    assert st.set_params({"A[0]": 0.8, "h[1]": -0.9})
    assert st.n_computes == n + 1 and len(calls) == 2
    assert calls[-1]["warm_start"] is not None and calls[-1]["budget"] == "interactive"
    assert st.set_param("A[0]", 0.8)  # unchanged value: nothing to do
    assert len(calls) == 2


def test_engine_failure_is_refused_not_raised(monkeypatch):
    import rnnexplore.dynamics.cycles as cycles

    st = ExplorerState.from_preset("skew_tent")
    before = _snapshot(st)

    def boom(*a, **k):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(cycles, "find_cycles", boom)
    assert st.set_param("A[0]", 0.1) is False
    assert "engine exploded" in st.status
    _same(before, _snapshot(st))


# ---------------------------------------------------------------- diverging / degenerate
def test_diverging_setting_is_reported():
    st = ExplorerState(skew_tent(0.2, -1.5, 1.0), max_order=3)
    assert st.set_param("W[0,0]", 1.0)  # a_r = 1.2 > 1, mu > 0: every orbit escapes
    assert st.level == "warning"
    assert "diverging" in st.status
    assert all(np.isnan(t[-1]).all() for t in st.trajectories)


def test_degenerate_setting_is_reported():
    st = ExplorerState(PLRNN([0.5, 0.5], [[0.0, 0.0], [0.0, 0.0]], [0.0, 0.0]), max_order=2)
    assert st.set_param("A[0]", 1.0)  # identity in z0: a line of fixed points
    assert "degenerate" in st.status and st.level == "warning"


# ---------------------------------------------------------------- trajectories / projection
def test_add_trajectory_and_click_lift():
    st = ExplorerState.from_preset("random_stable", initial_conditions=np.zeros((0, 3)))
    assert st.trajectories == []
    assert st.add_trajectory_at(0.3, -0.4)
    z0 = st.trajectories[0][0]
    np.testing.assert_allclose(z0[:2], [0.3, -0.4])
    assert st.set_projection((1, 2)) and st.add_trajectory_at(0.5, 0.6)
    np.testing.assert_allclose(st.trajectories[1][0][1:], [0.5, 0.6])
    for _ in range(20):
        st.add_trajectory([0.0, 0.0, 0.0])
    assert len(st.trajectories) == st.max_trajectories
    assert st.clear_trajectories() and st.trajectories == []


def test_projection_units_and_return_map():
    p = Projection.units(4, 3, 1, origin=[1.0, 2.0, 3.0, 4.0])
    z = np.arange(8.0).reshape(2, 4)
    np.testing.assert_array_equal(p.orbit(z), [[3.0, 1.0], [7.0, 5.0]])
    np.testing.assert_array_equal(p.lift([9.0, 8.0]), [1.0, 8.0, 3.0, 9.0])
    r = Projection.default(1)
    np.testing.assert_array_equal(r.orbit([[1.0], [2.0], [3.0]]), [[1.0, 2.0], [2.0, 3.0]])
    np.testing.assert_array_equal(r.orbit([[1.0], [2.0]], closed=True), [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="M = 1"):
        Projection("return", 2)


def test_pca_projection_recovers_a_plane():
    rng = np.random.default_rng(0)
    basis = np.linalg.qr(rng.normal(size=(5, 2)))[0].T  # orthonormal rows
    coef = rng.normal(size=(200, 2)) * [3.0, 1.0]
    pts = 2.0 + coef @ basis
    p = Projection.pca(pts)
    # the fitted plane spans the same space, and lift(project(z)) == z for points in it
    np.testing.assert_allclose(p.lift(p.orbit(pts)), pts, atol=1e-10)
    np.testing.assert_allclose(p.basis.T @ p.basis, basis.T @ basis, atol=1e-10)  # same plane


def test_pca_projection_of_a_large_network():
    st = ExplorerState(random_plrnn(10, seed=0), max_order=4, projection="pca")
    assert st.projection.kind == "pca" and st.projection.basis.shape == (2, 10)
    assert len(st.params) == 20  # A diagonal + h by default for large M
    assert st.set_param("h[3]", st.model.get_param("h[3]") + 0.05)


# ---------------------------------------------------------------- share
def test_share_string_round_trip():
    st = ExplorerState.from_preset("random_stable", max_order=5, seed=3)
    st.set_param("W[0,1]", 0.25)
    st.set_projection((0, 2))
    st.add_trajectory([0.1, 0.2, 0.3])
    s = st.to_json()
    assert len(s) < 700 and "\n" not in s
    json.loads(s)
    other = ExplorerState.from_preset("skew_tent")
    assert other.load_json(s)
    assert other.model == st.model and other.max_order == 5 and other.seed == 3
    assert other.projection.units_ == (0, 2)
    np.testing.assert_allclose(other.initial_conditions, np.round(st.initial_conditions, 4))
    assert [c.key for c in other.cycles] == [c.key for c in st.cycles]
    assert other.reset() and other.model == st.model  # the imported model is the new baseline
    assert ExplorerState.from_json(s).to_json() == s


def test_default_ranges_contain_the_values():
    m = random_plrnn(3, seed=2)
    r = default_ranges(m, m.param_names())
    for name, (lo, hi, step) in r.items():
        v = m.get_param(name)
        assert lo < v < hi and hi - lo >= 2.0 and 0 < step <= (hi - lo) / 100


# ---------------------------------------------------------------- events (rnnexplore.dynamics.bifurcation)
def test_events_since_previous_value_skew_tent_flip():
    pytest.importorskip("rnnexplore.dynamics.bifurcation")
    st = ExplorerState(skew_tent(0.2, -1.1, 1.0), max_order=4)
    assert [c.order for c in st.cycles] == [1, 2]
    assert st.set_param("W[0,0]", -0.9 - 0.2)  # a_r: -1.1 -> -0.9, eigenvalue crosses -1
    kinds = {getattr(e, "kind", None) for e in st.events}
    assert kinds & {"death", "degenerate_flip", "stability_change", "pair_annihilation"}, kinds
    assert st.event_lines()
    assert st.set_param("W[0,0]", -0.95 - 0.2)  # nothing happens between -0.9 and -0.95
    assert st.events == []


def test_events_are_skipped_for_huge_object_sets(monkeypatch):
    pytest.importorskip("rnnexplore.dynamics.bifurcation")
    monkeypatch.setattr(explorer_mod, "EVENT_LIMIT", 2)
    st = ExplorerState(skew_tent(0.2, -1.5, 1.0), max_order=4)
    assert st.set_param("W[0,0]", -1.0)
    assert st.events == [] and "events not classified (3 objects" in st.status and st.level == "warning"


def test_set_model_and_failed_import_keep_the_seed():
    st = ExplorerState.from_preset("skew_tent", seed=5)
    assert st.load_json('{"model": {"type": "PLRNN", "A": [0.5], "W": [[0]], "h": [1]}, "seed": 9, "ics": [[NaN]]}') \
        is False
    assert st.seed == 5 and st.model == skew_tent(0.2, -1.5, 1.0)
    m = random_plrnn(2, seed=7)
    assert st.set_model(m, max_order=3)
    assert st.model == m and st.max_order == 3 and st.preset is None
    assert set(st.params) == set(m.param_names()) and len(st.initial_conditions) == 3
    assert st.set_model("not a model") is False and st.model == m


# ---------------------------------------------------------------- events located by bisection
def _admissibility_crossing(model, name, cycle, lo, hi):
    """Oracle: where the cycle's region sequence stops being admissible (brentq on the closed form)."""
    from scipy.optimize import brentq

    R = cycle.regions

    def margin(v):
        m = model.with_params({name: v})
        J, h = m.jacobians(R), m.offsets(R)
        P, q = np.eye(m.M), np.zeros(m.M)
        for j in range(len(R)):
            P, q = J[j] @ P, J[j] @ q + h[j]
        z = np.linalg.solve(np.eye(m.M) - P, q)
        worst = np.inf
        for j in range(len(R)):
            worst = min(worst, float(np.min(np.where(R[j], 1, -1) * m.switching(z))))
            z = J[j] @ z + h[j]
        return worst

    return brentq(margin, lo, hi, xtol=1e-14)


def test_pair_event_is_located_within_1e_6_and_listed_once():
    st = ExplorerState.from_preset("paper_gt16")
    stable16 = [c for c in st.cycles if c.stability == "stable"][0]
    truth = _admissibility_crossing(st.model, "A[0]", stable16, 0.8377689, 0.85)
    assert st.set_param("A[0]", 0.8577689)  # two slider steps at once, across the annihilation
    assert st.wait()
    assert len(st.log) == 1 and st.log[0].kind == "pair_annihilation" and st.log[0].located
    assert abs(st.log[0].values["A[0]"] - truth) < 1e-6
    lo, hi = st.log[0].interval["A[0]"]
    assert lo <= truth <= hi and hi - lo <= 1e-6
    assert st.log[0].objects == ["stable 16-cycle", "saddle 16-cycle"]
    assert st.event_lines() == [f"A[0] = {st.log[0].values['A[0]']:.6g}: pair annihilated - stable 16-cycle and saddle 16-cycle"]


def test_two_parameters_moved_together_are_bisected_along_the_segment():
    st = ExplorerState.from_preset("skew_tent")  # a_r = a_l + W = -1.3: stable 2-cycle
    # the 2-cycle disappears where a_r = -1, i.e. W = -1.2 at a_l = 0.2 (closed form)
    assert st.set_params({"W[0,0]": -1.0, "h[0]": 1.5})
    assert st.wait()
    flips = [e for e in st.log if e.order in (1, 2)]
    assert flips and all(e.located for e in flips)
    w = flips[0].values["W[0,0]"]
    assert abs(w - (-1.2)) < 1e-6
    t = (w - (-1.7)) / (-1.0 - (-1.7))
    assert abs(flips[0].values["h[0]"] - (1.0 + t * 0.5)) < 1e-6  # on the straight path


def test_input_parameters_move_the_bias_along_the_input_matrix():
    from rnnexplore.dynamics.models import PLRNN

    m = PLRNN([0.5, 0.2], [[0.0, 0.1], [0.3, 0.0]], [1.0, -1.0])
    B = np.array([[1.0, 0.0], [2.0, -1.0]])
    st = ExplorerState(m, max_order=2, inputs=B, input_values=[0.5, 0.0])
    assert st.params[:2] == ["u[0]", "u[1]"] and st.get_param("u[0]") == 0.5
    assert st.set_params({"u[0]": 1.5, "u[1]": "2"})
    np.testing.assert_allclose(st.model.h, np.array([1.0, -1.0]) + B @ np.array([1.0, 2.0]))
    assert st.reset() and st.get_param("u[0]") == 0.5 and st.model == m
    assert st.set_param("u[2]", 1.0) is False and "unknown parameter" in st.status
    with pytest.raises(ValueError, match="inputs must have shape"):
        ExplorerState(m, inputs=np.zeros((3, 1)))
    with pytest.raises(ValueError, match="PLRNN or ALRNN"):
        from rnnexplore.dynamics.models import ShallowPLRNN
        ExplorerState(ShallowPLRNN([0.5], [[1.0]], [[1.0]], [0.0], [0.0]), inputs=[[1.0]])


def test_a_jump_over_a_short_lived_pair_still_lists_its_creation_and_annihilation():
    """Coalesced drags jump: the 16-cycle pair lives on [0.83639, 0.84499] only, inside the jump."""
    st = ExplorerState.from_preset("paper_gt16")
    assert st.set_param("A[0]", 0.8577689) and st.wait()
    st.clear_log()
    assert st.set_param("A[0]", 0.7577689) and st.wait()  # ten slider steps at once
    kinds = [(e.kind, round(e.values["A[0]"], 5)) for e in st.log]
    assert ("pair_creation", 0.84499) in kinds and ("pair_annihilation", 0.83639) in kinds, kinds
    assert sum(k == "pair_creation" for k, _ in kinds) == 1
