"""The cycle engine against independent brute force, closed forms and invariants."""

import functools
import itertools

import numpy as np
import pytest

from rnnexplore.dynamics.cycles import (
    Cycle,
    attractor_period,
    CycleSet,
    SearchBudget,
    brute_force_cycles,
    find_cycles,
)
from rnnexplore.dynamics.models import (
    ALRNN,
    PLRNN,
    ClippedShallowPLRNN,
    ShallowPLRNN,
    border_collision_normal_form,
    paper_gt16,
    random_plrnn,
    skew_tent,
)

HEURISTIC = {"exhaustive_limit": 0}  # force the SCYFI chains (no enumeration shortcut)


# --------------------------------------------------------------------------- helpers
def naive_cycles(model, k):
    """Independent oracle: loop over every region sequence with plain numpy, no engine code.

    Returns a list of (k, M) orbits of minimal period k, one per cycle.
    """
    M = model.M
    found = []
    for seq in itertools.product(range(2**model.n_bits), repeat=k):
        regs = [np.array([(s >> b) & 1 for b in range(model.n_bits)], dtype=bool) for s in seq]
        P, r = np.eye(M), np.zeros(M)
        for d in regs:
            J, c = model.jacobian(d), model.offset(d)
            P, r = J @ P, J @ r + c
        IP = np.eye(M) - P
        if np.linalg.cond(IP) > 1e12:
            continue
        z = np.linalg.solve(IP, r)
        orbit = [z]
        for _ in range(k - 1):
            orbit.append(model.step(orbit[-1]))
        if not all(np.array_equal(model.region(p), d) for p, d in zip(orbit, regs)):
            continue
        orbit = np.array(orbit)
        if any(np.allclose(orbit[d], orbit[0], atol=1e-9) for d in range(1, k) if k % d == 0):
            continue  # not of minimal period k
        if not any(_same_orbit(orbit, o) for o in found):
            found.append(orbit)
    return found


def _same_orbit(a, b, tol=1e-7):
    return len(a) == len(b) and any(np.allclose(a, np.roll(b, -s, axis=0), atol=tol) for s in range(len(b)))


def _keys(cycles):
    return {c.key for c in cycles}


def _system(i):
    """200 seeded random systems, M = 1..4; half of them chaotic and rich in cycles."""
    M = 1 + i % 4
    rich = (i // 4) % 2 == 1
    return random_plrnn(M, seed=1000 + i, rich=rich), min(4, 12 // M)


def check_invariants(model, cyc: Cycle):
    k = cyc.order
    Z = cyc.points
    assert Z.shape == (k, model.M) and np.all(np.isfinite(Z))
    assert cyc.regions.shape == (k, model.n_bits)
    # F^k(z) = z and consecutive points follow the map
    scale = 1 + np.max(np.abs(Z))
    for i in range(k):
        np.testing.assert_allclose(model.step(Z[i]), Z[(i + 1) % k], atol=1e-7 * scale)
    np.testing.assert_array_equal(model.region(Z), cyc.regions)
    # minimal period
    for d in range(1, k):
        if k % d == 0:
            assert np.max(np.abs(np.roll(Z, -d, axis=0) - Z)) > 1e-9 * scale
    # eigenvalues from every phase agree
    for s in range(k):
        P = np.eye(model.M)
        for i in range(k):
            P = model.jacobian(cyc.regions[(s + i) % k]) @ P
        ev = np.linalg.eigvals(P)
        np.testing.assert_allclose(np.sort(np.abs(ev)), np.sort(np.abs(cyc.eigenvalues)), atol=1e-8 * (1 + np.max(np.abs(ev))))
    # stability label
    mod = np.abs(cyc.eigenvalues)
    want = "stable" if np.all(mod < 1) else "unstable" if np.all(mod > 1) else "saddle"
    assert cyc.stability == want and cyc.n_stable == int(np.sum(mod < 1))
    # a stable object attracts nearby simulations
    if cyc.stability == "stable" and cyc.max_abs_eigenvalue < 0.99:
        rng = np.random.default_rng(0)
        z0 = Z[0] + 1e-6 * scale * rng.normal(size=model.M)
        n = k * int(np.ceil(60 / max(1e-3, -np.log(cyc.max_abs_eigenvalue))))
        traj = model.simulate(z0, min(n, 20000))
        assert np.linalg.norm(traj[-1 - ((len(traj) - 1) % k)] - Z[0]) < 1e-7 * scale


# --------------------------------------------------------------------------- oracles
@pytest.mark.parametrize("i", range(0, 200, 9))
def test_brute_force_matches_naive_oracle(i):
    model, K = _system(i)
    for k in range(1, K + 1):
        if model.n_bits * k > 8:
            break
        naive = naive_cycles(model, k)
        bf = brute_force_cycles(model, k)
        assert len(bf) == len(naive)
        for c in bf:
            assert any(_same_orbit(c.points, o) for o in naive)


@functools.lru_cache(maxsize=None)
def _brute_force_system(i):
    model, K = _system(i)
    return model, K, [c for k in range(1, K + 1) for c in brute_force_cycles(model, k)]


@pytest.mark.slow
@pytest.mark.parametrize("i", range(200))
def test_find_cycles_equals_brute_force_on_200_systems(i):
    model, K, bf = _brute_force_system(i)
    cs = find_cycles(model, K, seed=i)
    assert _keys(cs) == _keys(bf)
    by_key = {c.key: c for c in bf}
    for c in cs:
        np.testing.assert_allclose(c.points, by_key[c.key].points, atol=1e-9)


@pytest.mark.slow
def test_the_200_systems_are_rich():
    assert sum(len(_brute_force_system(i)[2]) for i in range(200)) > 3000


@pytest.mark.parametrize("i", range(0, 200, 2))
def test_heuristic_search_equals_brute_force(i):
    """The SCYFI chains alone (no enumeration) on 100 non-chaotic systems."""
    model = random_plrnn(1 + i % 4, seed=2000 + i)
    K = min(4, 12 // model.M)
    bf = [c for k in range(1, K + 1) for c in brute_force_cycles(model, k)]
    cs = find_cycles(model, K, seed=i, budget=HEURISTIC)
    assert _keys(cs) == _keys(bf)


def test_heuristic_search_equals_brute_force_on_gt16():
    g = paper_gt16()
    bf = [c for k in range(1, 11) for c in brute_force_cycles(g, k)]
    assert _keys(find_cycles(g, 10, seed=0, budget=HEURISTIC)) == _keys(bf)


def test_heuristic_on_chaotic_systems_finds_most_and_nothing_false():
    """SCYFI is a heuristic: on chaotic systems (hundreds of unstable cycles) the chains miss
    some; the default mode therefore enumerates small orders. Found objects are never false."""
    found = total = 0
    for i in range(6):
        model = random_plrnn(2, seed=3000 + i, rich=True)
        bf = _keys([c for k in range(1, 7) for c in brute_force_cycles(model, k)])
        cs = _keys(find_cycles(model, 6, seed=i, budget={"exhaustive_limit": 0, "restart_scale": 4.0}))
        assert cs <= bf
        found, total = found + len(cs), total + len(bf)
    assert found >= 0.8 * total


@pytest.mark.parametrize("i", range(12))
def test_reference_mode_equals_brute_force_on_small_systems(i):
    model = random_plrnn(1 + i % 2, seed=4000 + i)
    bf = [c for k in range(1, 5) for c in brute_force_cycles(model, k)]
    cs = find_cycles(model, 4, seed=i, mode="reference")
    assert _keys(cs) == _keys(bf)
    assert cs.stats["mode"] == "reference"


def test_fast_equals_reference_on_gt16_low_orders():
    g = paper_gt16()
    ref = find_cycles(g, 7, seed=1, mode="reference")
    fast = find_cycles(g, 7, seed=1, budget=HEURISTIC)
    assert _keys(ref) == _keys(fast)


# --------------------------------------------------------------------------- closed forms
def test_skew_tent_closed_forms():
    a_l, a_r, mu = 0.2, -1.5, 1.0
    cs = find_cycles(skew_tent(a_l, a_r, mu), 2, seed=0)
    (fp,) = cs.by_order(1)
    assert fp.points[0, 0] == pytest.approx(mu / (1 - a_r)) == pytest.approx(0.4)
    assert fp.eigenvalues[0] == pytest.approx(a_r) and fp.stability == "unstable"
    (c2,) = cs.by_order(2)
    want = sorted([mu * (1 + a_r) / (1 - a_l * a_r), mu * (1 + a_l) / (1 - a_l * a_r)])
    assert sorted(c2.points[:, 0]) == pytest.approx(want)
    assert want == pytest.approx([-0.3846, 0.9231], abs=1e-4)
    assert c2.eigenvalues[0] == pytest.approx(a_l * a_r) == pytest.approx(-0.3)
    assert c2.stability == "stable"
    # no 2-cycle for a_r > -1, no fixed point for a_r >= 1
    assert find_cycles(skew_tent(0.2, -0.5, 1.0), 2, seed=0).by_order(2) == []
    assert find_cycles(skew_tent(0.2, 1.2, 1.0), 1, seed=0).by_order(1) == []


@pytest.mark.parametrize("a_l", [-0.48, -0.2, 0.0, 0.25, 0.5])
def test_border_collision_normal_form(a_l):
    cs = find_cycles(border_collision_normal_form(a_l), 2, seed=0)
    (fp,) = cs.by_order(1)
    np.testing.assert_allclose(fp.points[0], [0.107, 0.066875], atol=1e-12)
    assert fp.stability == "saddle" and fp.n_stable == 1
    assert len(cs.by_order(2)) == 1
    if a_l == 0.0:
        pts = cs.by_order(2)[0].points
        want = np.array([[0.3967, 0.1501], [-0.261, 0.2284]])
        assert _same_orbit(np.round(pts, 4), want, tol=2e-4)


# --------------------------------------------------------------------------- invariants
def test_invariants_on_gt16_and_rich_systems():
    g = paper_gt16()
    cs = find_cycles(g, 16, seed=0)
    assert any(c.order == 16 and c.stability == "stable" for c in cs)
    for c in cs:
        check_invariants(g, c)
    for i in range(3):
        m = random_plrnn(2 + i, seed=i, rich=True)
        for c in find_cycles(m, 3, seed=0):
            check_invariants(m, c)


def test_stable_cycle_is_the_attractor_of_gt16():
    g = paper_gt16()
    (stable,) = [c for c in find_cycles(g, 16, seed=0) if c.stability == "stable"]
    traj = g.simulate([0.5, 0.5], 3000)[-16:]
    assert _same_orbit(traj, stable.points, tol=1e-8)


def test_points_start_at_canonical_phase_and_key_is_rotation_invariant():
    cs = find_cycles(paper_gt16(), 16, seed=0)
    for c in cs:
        rows = c.key.split("|")
        assert ["".join("1" if b else "0" for b in r) for r in c.regions] == rows
        rotations = ["|".join(rows[s:] + rows[:s]) for s in range(c.order)]
        assert c.key == min(rotations)


@pytest.mark.parametrize("i", range(4))
def test_plrnn_and_equivalent_shallow_plrnn_agree(i):
    p = random_plrnn(2, seed=5000 + i, rich=i % 2 == 1)
    s = ShallowPLRNN(np.diag(p.A), p.W, np.eye(2), p.h, np.zeros(2))
    cp, cs = find_cycles(p, 4, seed=0), find_cycles(s, 4, seed=0)
    assert _keys(cp) == _keys(cs)
    for a, b in zip(cp, cs):
        np.testing.assert_allclose(a.points, b.points, atol=1e-10)
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, atol=1e-10)


def test_other_model_classes_against_naive_oracle():
    rng = np.random.default_rng(7)
    models = [
        ShallowPLRNN(rng.uniform(-0.5, 0.9, 2), 1.5 * rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=3)),
        ClippedShallowPLRNN(rng.uniform(0.2, 0.9, 2), 2 * rng.normal(size=(2, 2)), rng.normal(size=(2, 2)), rng.normal(size=2), rng.normal(size=2)),
        ALRNN(rng.uniform(-0.9, 0.9, 3), 1.5 * rng.normal(size=(3, 3)), rng.normal(size=3), n_relu=2),
    ]
    for m in models:
        for k in (1, 2):
            naive = naive_cycles(m, k)
            found = find_cycles(m, k, min_order=k, seed=0, budget="thorough")
            assert len(found) == len(naive)
            assert len(brute_force_cycles(m, k)) == len(naive)
            for c in found:
                check_invariants(m, c)
                assert any(_same_orbit(c.points, o) for o in naive)


# --------------------------------------------------------------------------- warm start, determinism
def test_warm_start_gives_same_set_as_cold():
    g = paper_gt16()
    prev = find_cycles(g, 16, seed=0)  # A[0] = 0.8377689: a slider step away
    g2 = g.with_params({"A[0]": 0.84})
    cold = find_cycles(g2, 16, seed=0)
    assert len(cold) == len(prev) == 3
    for warm in (prev, list(prev), [c.regions for c in prev]):
        assert _keys(find_cycles(g2, 16, seed=3, warm_start=warm)) == _keys(cold)
    interactive = find_cycles(g2, 16, seed=0, warm_start=prev, budget="interactive")
    assert _keys(interactive) == _keys(cold)
    assert interactive.stats["total_solves"] < cold.stats["total_solves"]


def test_same_seed_same_result():
    m = random_plrnn(3, seed=1, rich=True)
    a = find_cycles(m, 5, seed=11, budget=HEURISTIC)
    b = find_cycles(m, 5, seed=11, budget=HEURISTIC)
    assert [c.key for c in a] == [c.key for c in b]
    assert a.stats["solves"] == b.stats["solves"]
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.points, y.points)


def test_stats_and_serialisation(tmp_path):
    cs = find_cycles(paper_gt16(), 8, seed=0)
    st = cs.stats
    assert st["total_solves"] == sum(st["solves"].values()) > 0
    assert set(st["stop"]) == set(range(1, 9)) and st["wall_time"] > 0
    # 4 letters: every order up to 8 has at most L(4, 8) = 8160 Lyndon words, all enumerated
    assert st["stop"][1] == "complete" and st["complete"] is True
    assert cs.proven == {k: "enumerated" for k in range(1, 9)}
    cs.save(tmp_path / "c.json")
    back = CycleSet.load(tmp_path / "c.json")
    assert back.proven == cs.proven
    assert [c.key for c in back] == [c.key for c in cs]
    for a, b in zip(back, cs):
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.eigenvalues, b.eigenvalues)
        np.testing.assert_array_equal(a.regions, b.regions)


# --------------------------------------------------------------------------- robustness
def test_overflow_and_singular_cases_never_raise_or_return_nan():
    wild = [
        (skew_tent(3.0, -3.0, 1.0), 10),  # a chaotic repeller: every sequence is a real cycle
        (PLRNN([1e10, 1e10], np.zeros((2, 2)), [1.0, 1.0]), 40),  # P overflows float64
        (PLRNN([1.0, 1.0], np.zeros((2, 2)), [0.0, 0.0]), 40),  # I - P singular everywhere
        (PLRNN([0.0], [[1.0]], [0.0]), 40),  # z' = relu(z): a continuum of fixed points
        (random_plrnn(2, seed=0, rich=True, scale=30.0), 40),
    ]
    for m, K in wild:
        for mode, budget in (("fast", None), ("fast", HEURISTIC), ("reference", {"restarts": 2, "chain_length": 30})):
            cs = find_cycles(m, K if mode == "fast" else 8, seed=0, mode=mode, budget=budget, allow_long=True)
            for c in cs:
                assert np.all(np.isfinite(c.points)) and np.all(np.isfinite(c.eigenvalues))
    # the tent map with slope 3 has (2^k - 2)/k cycles of order k (k prime)
    assert len(find_cycles(skew_tent(3.0, -3.0, 1.0), 7, min_order=7, seed=0)) == (2**7 - 2) // 7


def test_marginal_cycle_is_not_called_stable():
    # z' = -z + 1 on the positive side: the fixed point 0.5 has eigenvalue -1 exactly
    m = skew_tent(0.5, -1.0, 1.0)
    (fp,) = find_cycles(m, 1, seed=0)
    assert fp.marginal and fp.stability != "stable"


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", True, None, np.float64(2.0)])
def test_bad_orders(bad):
    with pytest.raises(ValueError, match="max_order"):
        find_cycles(paper_gt16(), bad)
    with pytest.raises(ValueError, match="order"):
        brute_force_cycles(paper_gt16(), bad)


def test_bad_arguments():
    g = paper_gt16()
    with pytest.raises(ValueError, match="model"):
        find_cycles("not a model", 2)
    with pytest.raises(ValueError, match="model"):
        brute_force_cycles(None, 2)
    with pytest.raises(ValueError, match="mode"):
        find_cycles(g, 2, mode="slow")
    with pytest.raises(ValueError, match="seed"):
        find_cycles(g, 2, seed=1.5)
    with pytest.raises(ValueError, match="budget"):
        find_cycles(g, 2, budget="huge")
    with pytest.raises(ValueError, match="warm_start"):
        find_cycles(g, 2, warm_start=[np.zeros((2, 3), bool)])
    with pytest.raises(ValueError, match="warm_start"):
        find_cycles(g, 2, warm_start=5)
    with pytest.raises(ValueError, match="min_order"):
        find_cycles(g, 2, min_order=3)
    with pytest.raises(ValueError, match="brute force"):
        brute_force_cycles(g, 14)
    with pytest.raises(ValueError, match="brute force"):
        brute_force_cycles(random_plrnn(10, seed=0), 3)


def test_attractor_period():
    assert attractor_period(skew_tent(0.2, -1.5, 1.0), [0.1]) == 2
    assert attractor_period(paper_gt16(), [0.5, 0.5]) == 16
    assert attractor_period(skew_tent(0.2, 1.5, 1.0), [0.1]) is None  # diverges
    # a slowly converging 17-cycle first looks 34-periodic at 1e-9; the minimal period is returned
    g = paper_gt16()
    m = PLRNN(np.diag(g.A), g.W * 1.149056603773585, g.h)
    p = attractor_period(m, [0.5, 0.5], max_period=50)
    assert p == 17
    (stable,) = [c for c in find_cycles(m, p, min_order=p, seed=0) if c.stability == "stable"]
    assert stable.order == 17
    with pytest.raises(ValueError, match="max_period"):
        attractor_period(m, [0.5, 0.5], max_period=0)


def test_cycles_are_immutable():
    (c,) = find_cycles(skew_tent(0.2, -1.5, 1.0), 1, seed=0)
    with pytest.raises(ValueError):
        c.points[0, 0] = 1.0


def test_budget_forms():
    g = paper_gt16()
    want = _keys(find_cycles(g, 16, seed=0))
    for budget in (SearchBudget(restarts=64), 64, {"restarts": 64, "batch": 4}, "thorough"):
        assert _keys(find_cycles(g, 16, seed=0, budget=budget)) == want
    assert SearchBudget.coerce("interactive").restarts == 4
    with pytest.raises(ValueError, match="budget"):
        find_cycles(g, 2, budget={"unknown_knob": 1})
    with pytest.raises(ValueError, match="budget"):
        find_cycles(g, 2, budget=0)
    capped = find_cycles(g, 16, seed=0, budget={"max_solves": 50, "exhaustive_limit": 0})
    assert capped.stats["budget_exhausted"] and "max_solves" in capped.stats["stop"].values()


def test_solve_region_sequences_public_step_and_errors():
    from rnnexplore.dynamics.solve import solve_region_sequences
    from rnnexplore.dynamics.models import skew_tent

    m = skew_tent(0.2, -1.5, 1.0)
    # the 2-cycle of the skew tent lives in regions (off, on): closed form (skew tent map, Eisenmann et al. 2023, supplement)
    sol = solve_region_sequences(m, np.array([[[False], [True]]]))
    real, pts, P = sol.real, sol.points, sol.P
    assert real[0] and sol.solvable[0]
    assert np.allclose(sorted(pts[0, :, 0]), [1.0 * (1 - 1.5) / (1 + 0.3), 1.0 * 1.2 / 1.3])
    assert np.isclose(P[0, 0, 0], 0.2 * -1.5)
    with pytest.raises(ValueError, match="regions must have shape"):
        solve_region_sequences(m, np.zeros((1, 2, 3), dtype=bool))


def test_brute_force_refuses_what_would_not_finish_in_about_a_minute(monkeypatch):
    from rnnexplore.dynamics import cycles as cycles_mod
    from rnnexplore.dynamics.models import random_plrnn

    big = random_plrnn(10, seed=0)
    with monkeypatch.context() as mp:  # refused up front, not after trying
        mp.setattr(cycles_mod, "_enumerate_order", lambda *a: pytest.fail("enumeration started"))
        with pytest.raises(ValueError, match=r"2\^\(10\*6\).*find_cycles"):
            brute_force_cycles(big, 6)
    assert len(brute_force_cycles(paper_gt16(), 1)) == 1  # small cases still run
