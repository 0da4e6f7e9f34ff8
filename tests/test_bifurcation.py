"""Tests of rnnexplore.bifurcation: event classification, sweeps, continuation, curves."""

from __future__ import annotations

import numpy as np
import pytest

from rnnexplore.bifurcation import EVENT_KINDS, BifurcationEvent, classify_events
from rnnexplore.cycles import find_cycles
from rnnexplore.models import border_collision_normal_form, skew_tent


def _events(m0, m1, *, models=True, max_order=4):
    c0 = find_cycles(m0, max_order, seed=0)
    c1 = find_cycles(m1, max_order, seed=0)
    return [(e.order, e.kind) for e in classify_events(c0, c1, models=(m0, m1) if models else None)]


# --------------------------------------------------------------------------- classify_events
@pytest.mark.parametrize("models", [True, False])
def test_skew_tent_dtb_at_ar_one(models):
    # fixed point mu/(1 - a_r) escapes to +inf as a_r -> 1 (eigenvalue a_r through +1)
    assert _events(skew_tent(0.2, 0.95, 1.0), skew_tent(0.2, 1.05, 1.0), models=models) == [
        (1, "degenerate_transcritical")
    ]
    assert _events(skew_tent(0.2, 1.05, 1.0), skew_tent(0.2, 0.95, 1.0), models=models) == [
        (1, "degenerate_transcritical")
    ]


@pytest.mark.parametrize("models", [True, False])
def test_skew_tent_flip_at_ar_minus_one(models):
    # a_r through -1: the fixed point (eigenvalue a_r) changes stability, the 2-cycle
    # (exists for a_r < -1 with a_l a_r < 1) appears / disappears
    fwd = classify_events(
        find_cycles(skew_tent(0.2, -0.95, 1.0), 2, seed=0),
        find_cycles(skew_tent(0.2, -1.05, 1.0), 2, seed=0),
        models=(skew_tent(0.2, -0.95, 1.0), skew_tent(0.2, -1.05, 1.0)) if models else None,
    )
    assert [(e.order, e.kind) for e in fwd] == [(1, "degenerate_flip"), (2, "degenerate_flip")]
    fp, cyc = fwd
    assert (fp.stability_before, fp.stability_after) == ("stable", "unstable")
    assert fp.key_before == fp.key_after == "1"
    assert cyc.key_before is None and cyc.key_after == "0|1" and cyc.stability_after == "stable"
    back = _events(skew_tent(0.2, -1.05, 1.0), skew_tent(0.2, -0.95, 1.0), models=models)
    assert back == [(1, "degenerate_flip"), (2, "degenerate_flip")]


@pytest.mark.parametrize("models", [True, False])
def test_normal_form_two_cycle_dtb_and_flip(models):
    # the normal form's 2-cycle has eigenvalue ~0.997 at a_l = -0.48 and ~-0.94 at a_l = 0.5
    assert _events(border_collision_normal_form(-0.47), border_collision_normal_form(-0.52), models=models) == [
        (2, "degenerate_transcritical")
    ]
    ev = _events(border_collision_normal_form(0.5), border_collision_normal_form(0.6), models=models)
    assert (2, "degenerate_flip") in ev
    # the saddle fixed point (0.107, 0.066875) does not change
    assert all(order != 1 for order, _ in ev)


@pytest.mark.parametrize("models", [True, False])
def test_border_collision_persistence(models):
    # a_l = a_r = 0.5: the fixed point mu/0.5 moves continuously through the border z = 0
    ev = classify_events(
        find_cycles(skew_tent(0.5, 0.5, 0.01), 1, seed=0),
        find_cycles(skew_tent(0.5, 0.5, -0.01), 1, seed=0),
        models=(skew_tent(0.5, 0.5, 0.01), skew_tent(0.5, 0.5, -0.01)) if models else None,
    )
    assert len(ev) == 1
    assert (ev[0].kind, ev[0].key_before, ev[0].key_after) == ("border_collision", "1", "0")


@pytest.mark.parametrize("models", [True, False])
def test_pair_creation_and_annihilation(models):
    # a_l = 0.5, a_r = 2: for mu < 0 a stable fixed point 2 mu (left) and an unstable one -mu
    # (right) exist; both meet at the border as mu -> 0 and vanish for mu > 0
    m_neg, m_pos = skew_tent(0.5, 2.0, -0.01), skew_tent(0.5, 2.0, 0.01)
    assert _events(m_pos, m_neg, models=models) == [(1, "pair_creation")] * 2
    assert _events(m_neg, m_pos, models=models) == [(1, "pair_annihilation")] * 2


def test_no_change_no_events():
    c = find_cycles(border_collision_normal_form(0.0), 4, seed=0)
    assert classify_events(c, find_cycles(border_collision_normal_form(0.01), 4, seed=1)) == []
    assert classify_events([], []) == []


def test_event_roundtrip_and_validation():
    e = BifurcationEvent("death", 1, "1", None, "x", "stable", None)
    assert BifurcationEvent.from_dict(e.to_dict()) == e
    with pytest.raises(ValueError, match="kind"):
        BifurcationEvent("explosion", 1, None, None, "")
    with pytest.raises(ValueError, match="before"):
        classify_events([1, 2], [])
    with pytest.raises(ValueError, match="tol"):
        classify_events([], [], tol=-1)
    with pytest.raises(ValueError, match="models"):
        classify_events([], [], models=(1,))
    assert set(EVENT_KINDS) >= {"birth", "neimark_sacker"}


def test_neimark_sacker_complex_pair():
    from rnnexplore.models import PLRNN

    def rot(r, th=1.0):  # linear part r * rotation: a complex pair of modulus r
        A = r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
        return PLRNN(A, np.zeros((2, 2)), [1.0, 0.2])

    m0, m1 = rot(0.95), rot(1.05)
    c0, c1 = find_cycles(m0, 1, seed=0), find_cycles(m1, 1, seed=0)
    assert c0.keys() == c1.keys()  # the same fixed point on both sides
    ev = classify_events(c0, c1, models=(m0, m1))
    assert [(e.order, e.kind, e.stability_before, e.stability_after) for e in ev] == [
        (1, "neimark_sacker", "stable", "unstable")
    ]
