"""BifurcationState: scripted use, background zooms (streamed tiles, cancel, confirmation), words."""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from rnnexplore.apps.bifurcation import BifurcationState, NeedsConfirmation, signature_words
from rnnexplore.dynamics.bifurcation import sweep
from rnnexplore.dynamics.models import paper_gt16, skew_tent


def _tent_map():
    return sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": np.linspace(-0.85, 0.85, 10),
                                            "W[0,0]": np.linspace(-2.97, 1.93, 15)}, 2, seed=0)


@pytest.fixture
def state():
    st = BifurcationState(_tent_map(), line_points=21)
    yield st
    st.close()


def test_bifurcation_state_scripted(state):
    st = state
    img, labels = st.image("signature")
    assert img.shape == (15, 10) and len(labels) == img.max() + 1
    st.select(0.2, -1.6)  # a_r ~ -1.4: unstable fixed point and stable 2-cycle
    assert sorted((c.order, c.stability) for c in st.cycles) == [(1, "unstable"), (2, "stable")]
    lm = st.compute_line(1)  # vary W[0,0] at a_l ~ 0.2
    assert lm.ndim == 1 and str(lm.names[0]) == "W[0,0]"
    a_l = st.params["A[0]"]
    flips = lm.bifurcation_values(orders=1)["degenerate_flip"] + a_l
    assert np.all(np.abs(flips + 1) <= lm.values0[1] - lm.values0[0])
    st.zoom(-0.5, 0.5, -2.0, -1.0, shape=(4, 5))
    assert st.result.shape == (4, 5) and st.selected is None and len(st.history) == 1
    assert "4 x 5 points" in st.title("count") and "A[0] in [-0.5, 0.5]" in st.title("count")
    st.back()
    assert st.result.shape == (10, 15)
    with pytest.raises(ValueError, match="positive width"):
        st.zoom(0.1, 0.1, 0.0, 1.0)
    with pytest.raises(ValueError, match="2-D"):
        BifurcationState(sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": [0.1, 0.2]}, 1))
    with pytest.raises(ValueError, match="confirm_above"):
        BifurcationState(_tent_map(), confirm_above=-1.0)


def test_signature_words_read_every_object():
    assert signature_words("16d 16s") == "stable 16-cycle + saddle 16-cycle"
    assert signature_words("1u 2s") == "unstable fixed point + stable 2-cycle"
    assert signature_words("2s 2s 3u") == "2 stable 2-cycles + unstable 3-cycle"
    assert signature_words("") == "no object"
    # the labels of the signature image are these words, one per signature text of the map
    st = BifurcationState(_tent_map())
    _, texts = st.result.signatures()
    _, labels = st.image("signature")
    assert labels == [signature_words(t) for t in texts]


def test_background_zoom_equals_the_blocking_one_and_streams_tiles(state):
    st = state
    seen = []
    rect = (-0.5, 0.5, -2.5, -0.5)

    def progress(f, msg):
        if st.partial is not None:
            seen.append(np.isfinite(st.partial["counts"]).sum())

    job = st.start_zoom(*rect, shape=(20, 20), confirmed=True, on_progress=progress)
    assert job.wait(300).state == "done", job.traceback
    # an independent oracle: the same sweep, in-process
    ref = sweep(st.history[0].model, st.zoom_grid(*rect, (20, 20)), 2,
                continuation=st.stream_options(True, (20, 20)))
    assert st.result.shape == (20, 20) and len(st.history) == 1
    assert np.array_equal(st.result.obj_key, ref.obj_key) and np.array_equal(st.result.solves, ref.solves)
    # tiles arrived one after another (several partial states, growing), and are gone at the end
    assert len(set(seen)) >= 2 and max(seen) == 400 and st.partial is None


def test_cancel_stops_the_worker_and_leaves_the_map_alone():
    gt = paper_gt16()
    a, b = gt.get_param("A[0]"), gt.get_param("A[1]")
    d = np.linspace(-1, 1, 6)
    st = BifurcationState(sweep(gt, {"A[0]": a + d, "A[1]": b + d}, 16))
    before = st.result
    try:
        job = st.start_zoom(a - 0.5, a + 0.5, b - 0.5, b + 0.5, shape=(60, 60), confirmed=True)
        deadline = time.time() + 120
        while (st.partial is None or not np.isfinite(st.partial["counts"]).any()) and time.time() < deadline:
            time.sleep(0.05)
        assert st.partial is not None and np.isfinite(st.partial["counts"]).any()  # some tiles came in
        workers = list(st.pool._pool._pool)  # the pool's worker processes, busy with a tile
        assert workers and all(w.is_alive() for w in workers)
        st.cancel()
        assert job.state == "cancelled" and job.result is None
        assert not st.pool.alive
        # the worker was ended by a signal (SIGTERM), not left to finish its tile and exit
        assert all(not w.is_alive() and w.exitcode == -signal.SIGTERM for w in workers)
        assert st.result is before and st.history == [] and st.partial is None  # nothing leaked
        # and the state still works: a new (small) zoom completes
        job2 = st.start_zoom(a - 0.1, a + 0.1, b - 0.1, b + 0.1, shape=(5, 5), confirmed=True)
        assert job2.wait(300).state == "done" and st.result.shape == (5, 5) and st.history == [before]
    finally:
        st.close()


def test_a_long_zoom_asks_first(state):
    st = state
    st.confirm_above = 0.0  # everything is "long"
    job = st.start_zoom(-0.5, 0.5, -2.5, -0.5, shape=(30, 30))
    assert job.wait(300).state == "done"
    res = job.result
    assert isinstance(res, NeedsConfirmation) and res.shape == (30, 30)
    assert res.message().startswith("this zoom would take 30 x 30 points: about ")
    assert "on this machine" in res.message()
    assert st.result.shape == (10, 15) and st.history == []  # nothing computed yet
    job = st.start_zoom(*res.rect, shape=res.shape, confirmed=True)
    assert job.wait(300).state == "done" and st.result.shape == (30, 30)


def test_background_line(state):
    st = state
    st.select(0.2, -1.6)
    job = st.start_line(1)
    assert job.wait(300).state == "done"
    ref = sweep(*st.line_grid(1), 2)
    assert np.array_equal(st.line_map.obj_key, ref.obj_key)
    with pytest.raises(ValueError, match="axis"):
        st.start_line(2)


def test_bifurcation_state_reports_proven_cells():
    """The skew tent has one effective bit: enumeration to order 2 is cheap, so prove=2 proves
    every cell; without it only the coarse full searches prove theirs."""
    grid = {"A[0]": np.linspace(-0.85, 0.85, 6), "W[0,0]": np.linspace(-2.97, 1.93, 5)}
    st = BifurcationState(sweep(skew_tent(0.2, 0.0, 1.0), grid, 2, seed=0, prove=2), line_points=5)
    try:
        assert "30 of 30 points proven complete to order 2" in st.summary()
        st.select_index(1, 2)
        assert st.summary().endswith("object(s), proven complete")
        assert st.proven_image().shape == (5, 6) and (st.proven_image() == 2).all()
    finally:
        st.close()
    plain = sweep(skew_tent(0.2, 0.0, 1.0), grid, 2, seed=0, continuation={"coarse": 5})
    st = BifurcationState(plain, line_points=5)
    try:
        n = int(plain.cell_proven.sum())
        assert 0 < n < 30 and n == int(plain.full_search.sum())
        assert f"{n} of 30 points proven complete to order 2" in st.summary()
        i, j = np.argwhere(~plain.cell_proven)[0]
        st.select_index(int(i), int(j))
        assert st.summary().endswith("not proven complete")
    finally:
        st.close()


def test_a_job_that_returns_after_cancel_is_cancelled_and_commits_nothing(state, monkeypatch):
    """Cancelled after the work's last ``report``: the work returns a map, the job drops it and
    the state's cancel hook runs anyway (partial cleared, the caller's ``on_cancel`` once)."""
    import threading

    st = state
    before, gate, calls = st.result, threading.Event(), []

    def sweep_then_wait(report, grid, model, t0, stream):
        st.partial = {"counts": np.zeros((2, 2))}
        report(0.5, "last report")
        gate.wait(30)  # cancel() happens here; no report follows
        return before

    monkeypatch.setattr(st, "_sweep_in_background", sweep_then_wait)
    job = st.start_zoom(-0.5, 0.5, -2.0, -1.0, shape=(4, 5), confirmed=True,
                        on_done=lambda r: calls.append("done"), on_cancel=lambda: calls.append("cancel"))
    while job.progress[1] != "last report":
        time.sleep(0.01)
    job.cancel()
    gate.set()
    assert job.wait(30).state == "cancelled" and job.result is None
    assert calls == ["cancel"] and st.partial is None
    assert st.result is before and st.history == []
