"""The rules of classify_events one at a time, on hand-made objects (closed-form expectations)."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.dynamics.cycles import Cycle
from rnnexplore.dynamics import events as ev


def _fp(x, lam, key):
    """A 1-D fixed point at ``x`` with eigenvalue ``lam``."""
    return Cycle(1, np.array([[float(x)]]), np.array([complex(lam)]), np.array([[x > 0]]), key)


def test_match_by_key():
    b = [_fp(0.1, 0.5, "a"), _fp(0.2, 0.5, "b")]
    a = [_fp(0.1, 0.5, "b"), _fp(0.3, 0.5, "c")]
    same, lost, new = ev._match_by_key(b, a)
    assert [(x.key, y.key) for x, y in same] == [("b", "b")]
    assert [c.key for c in lost] == ["a"] and [c.key for c in new] == ["c"]


def test_border_collisions_pair_the_closest_within_tol():
    lost = [_fp(1.0, 0.5, "L1"), _fp(5.0, 0.5, "L2")]
    new = [_fp(1.04, 2.0, "N1"), _fp(1.01, 0.5, "N2")]
    # distances relative to 1 + max|x|: N2 is 0.005 from L1, N1 0.02; L2 is far from both
    events, left_lost, left_new = ev._border_collisions(lost, new, tol=0.05)
    assert [(e.key_before, e.key_after) for e in events] == [("L1", "N2")]
    assert [c.key for c in left_lost] == ["L2"] and [c.key for c in left_new] == ["N1"]
    assert ev._border_collisions(lost, new, tol=0.001)[0] == []


def test_stability_changes_name_the_crossing_and_collect_flips():
    same = [(_fp(1, -0.9, "f"), _fp(1, -1.1, "f")),   # real eigenvalue through -1
            (_fp(1, 0.9, "t"), _fp(1, 1.1, "t")),     # through +1
            (_fp(1, 0.5, "s"), _fp(1, 0.6, "s"))]     # no change
    events, flips = ev._stability_changes(same)
    assert [(e.key_before, e.kind) for e in events] == [("f", "degenerate_flip"), ("t", "degenerate_transcritical")]
    assert flips == {1}


def test_pair_partners_need_neighbouring_signatures_and_proximity():
    objs = [_fp(1.0, 0.5, "s"), _fp(1.1, 2.0, "u"), _fp(1.05, 0.4, "s2"), _fp(9.0, 2.0, "far")]
    # s-u (0.048), s2-u (0.024): s2 and u pair first; s has no partner left; far is too far
    assert ev._pair_partners(objs, tol=0.05) == {2: 1, 1: 2}
    assert ev._pair_partners(objs, tol=0.001) == {}


@pytest.mark.parametrize("order, kind, flips, want", [
    (2, "birth", {1}, True), (2, "border_collision", {1}, True), (2, "degenerate_transcritical", {1}, False),
    (2, "pair_creation", {1}, False), (3, "birth", {1}, False), (4, "death", {1}, False), (4, "death", {2}, True),
])
def test_flip_partner_rule(order, kind, flips, want):
    c = Cycle(order, np.ones((order, 1)), np.array([0.5 + 0j]), np.ones((order, 1), bool), "k")
    assert ev._is_flip_partner(c, kind, "pair_creation", flips) is want


def test_classify_events_many_equals_classify_events_pair_by_pair():
    """The batched rule-4 solves give the events of the one-pair function, on a 1-D family with
    births, deaths, border collisions and flips between neighbours (and pairs that never meet)."""
    from rnnexplore.dynamics.cycles import find_cycles
    from rnnexplore.dynamics.events import classify_events, classify_events_many
    from rnnexplore.dynamics.models import border_collision_normal_form
    from rnnexplore.dynamics.solve import ModelStack

    values = np.linspace(-1.2, 1.4, 14)
    models = [border_collision_normal_form(a) for a in values]
    sets = [find_cycles(m, 6, seed=0) for m in models]
    rng = np.random.default_rng(0)
    idx = [(i, i + 1) for i in range(len(values) - 1)] + [tuple(rng.choice(len(values), 2, replace=False))
                                                         for _ in range(6)]
    many = classify_events_many([(sets[i], sets[j]) for i, j in idx], ModelStack.from_models(models), idx)
    n = 0
    for (i, j), got in zip(idx, many):
        want = classify_events(sets[i], sets[j], models=(models[i], models[j]))
        assert got == want
        n += len(want)
    assert n > 10
    assert classify_events_many([], ModelStack.from_models(models), []) == []
    with pytest.raises(ValueError, match="points"):
        classify_events_many([(sets[0], sets[1])], ModelStack.from_models(models), [[0, 99]])
    with pytest.raises(ValueError, match="stack"):
        classify_events_many([(sets[0], sets[1])], models[0], [[0, 1]])


@pytest.mark.parametrize("w00, want", [(0.7, "degenerate_transcritical"), (0.35, "")])
def test_model_kinds_on_a_large_net_with_inactive_units(w00, want):
    """Rule 4 on M = 30 (the reduced eigenvalue path: 28 inactive units): the kind is the one the
    full spectra computed with ``np.linalg.eigvals`` give, and the closed form of the 2 x 2 block."""
    from rnnexplore.dynamics.models import PLRNN
    from rnnexplore.dynamics.solve import solve_region_sequences

    M = 30
    h = np.full(M, -1.0)
    h[:2] = [0.0, 0.2]

    def net(w):
        W = np.zeros((M, M))
        W[:2, :2] = [[w, 0.2], [0.1, 0.2]]
        return PLRNN(np.full(M, 0.5), W, h)

    before, after = net(0.3), net(w00)
    d = np.zeros(M, bool)
    d[:2] = True
    z = np.linalg.solve(np.eye(M) - before.jacobian(d), h)
    np.testing.assert_allclose(z[:2], [1.0, 1.0])
    lam = np.linalg.eigvals(before.jacobian(d))
    fp = Cycle(1, z[None, :], lam[np.argsort(-np.abs(lam))], d[None, :], "fp")
    got = ev._model_kinds([fp], after)
    P = solve_region_sequences(after, d[None, None, :]).P
    kind = ev._crossing_kind(fp.eigenvalues, np.linalg.eigvals(np.where(np.isfinite(P), P, 0.0))[0])
    if kind not in ("degenerate_transcritical", "degenerate_flip"):
        kind = ""  # still real on the other side (the 2 x 2 block keeps z > 0 for w00 = 0.35)
    assert got == [kind] == [want]


def test_eigenvalues_non_finite_entries():
    """``solve.eigenvalues`` (used by rule 4 and Continuation.prove) raises on NaN / inf in an
    active unit's column, in its full and reduced paths, as ``np.linalg.eigvals`` does. Only in
    the reduced path (M >= 24) a non-finite entry in an inactive unit's row (which cannot change
    the block-triangular spectrum) is ignored where numpy refuses; rule 4 zeroes non-finite
    entries before, and prove only sees real solutions (finite products), so both sites agree."""
    from rnnexplore.dynamics.solve import eigenvalues

    for M in (3, 30):
        for bad in (np.nan, np.inf):
            for where in ((0, 0), (0, 1)):
                P = np.zeros((2, M, M))
                P[:, 0, 0] = 0.5
                P[1][where] = bad
                with pytest.raises(np.linalg.LinAlgError):
                    np.linalg.eigvals(P)
                if M == 30 and where == (0, 1):  # unit 0 inactive (column 0 = 0.5 e_0), the bad entry in its row
                    with np.errstate(invalid="ignore"):
                        got = np.sort_complex(eigenvalues(P)[1])
                    np.testing.assert_array_equal(got, np.sort_complex(np.r_[0.5, np.zeros(M - 1)].astype(complex)))
                    continue
                with pytest.raises(np.linalg.LinAlgError), np.errstate(invalid="ignore"):
                    eigenvalues(P)
