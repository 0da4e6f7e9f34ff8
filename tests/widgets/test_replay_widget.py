"""TrainingReplay headless: the frames sent to the browser are the state's, drawn once, sized to the page."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("ipywidgets")
pytest.importorskip("anywidget")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps"))
from test_replay_state import skew_tent_replay  # noqa: E402

from rnnexplore.apps.replay import ReplayState  # noqa: E402
from rnnexplore.dynamics.training.replay import Landscape, analyse_replay  # noqa: E402
from rnnexplore.widgets.replay import TrainingReplay  # noqa: E402


@pytest.fixture(scope="module")
def view():
    rep, _ = skew_tent_replay()
    res = analyse_replay(rep, 2, seed=0)
    xs, ys = np.linspace(0.1, 0.3, 4), np.linspace(-1.6, -0.8, 5)
    land = Landscape("A[0]", "W[0,0]", xs, ys, np.ones((5, 4)), np.ones((5, 4)), {"alpha": 0.0})
    return TrainingReplay(rep, analysis=res, landscape=land)


def test_controls_and_status(view):
    for w, cls in ((view.play, "rnx-replay-play"), (view.slider, "rnx-replay-slider"),
                   (view.status, "rnx-replay-status"), (view.widget, "rnx-replay"),
                   (view.player, "rnx-replay-figure")):
        assert cls in w._dom_classes
    view.slider.value = 0
    assert "checkpoint 0/20" in view.status.value
    view.slider.value = 12  # as the browser would, while playing or scrubbing
    assert view.state.index == 12 and "epoch 12" in view.status.value
    assert view.player.index == 0  # the kernel never writes back what the browser links
    assert view.player.interval == 66 and not view.player.playing and view.play.value is False


def test_frames_are_the_states_objects_orbits_and_path(view):
    st = view.state
    rep = st.replay
    for i in (0, 3, 12, 20):
        f = view.frame(i)
        assert f["cursor_loss"] == f["cursor_grad"] == rep.epochs[i]
        np.testing.assert_allclose(f["path"][:, 0], rep.param_series("A[0]")[: i + 1])
        np.testing.assert_allclose(f["path"][:, 1], rep.param_series("W[0,0]")[: i + 1])
        t = st.trajectory_at(i)[:, 0]
        np.testing.assert_allclose(f["orbit"], np.column_stack([t[:-1], t[1:]]))  # the return map (M = 1)
        objs = st.analysis.cycle_sets[i]
        assert len(f["objects"]) == sum(c.order for c in objs)
        assert sorted(f["stability"].tolist()) == sorted(
            {"stable": 0, "saddle": 1, "unstable": 2}[c.stability] for c in objs for _ in range(c.order))
    # before the flip: fixed point and 2-cycle (3 points), after: the fixed point only
    assert len(view.frame(3)["objects"]) == 3 and len(view.frame(12)["objects"]) == 1


def test_layers_point_inside_the_picture(view):
    spec = json.loads(view.player.layers)
    w, h = view.player.size
    assert view.player.background[:8] == b"\x89PNG\r\n\x1a\n"
    for a in spec["axes"].values():
        x0, y0, aw, ah = a["bbox"]
        assert 0 <= x0 and x0 + aw <= w and 0 <= y0 and y0 + ah <= h
    assert spec["axes"]["loss"]["ylog"] and not spec["axes"]["land"]["xlog"]
    assert len(view.player.data) == 8 * len(view._buffer)


def test_figure_follows_the_page_width_and_is_not_a_pyplot_figure(view):
    import matplotlib.pyplot as plt

    assert view.fig not in [plt.figure(n) for n in plt.get_fignums()]  # never shown again by a later cell
    view.player.width = 640
    assert view.player.size[0] == 640
    view.player.width = 1100
    assert view.player.size[0] == 1100


def test_objects_searched_in_the_background_stream_in():
    rep, a_r = skew_tent_replay(9)
    v = TrainingReplay(ReplayState(rep, max_order=2))
    assert v.job is not None
    assert v.job.wait(120).state == "done"
    for i in range(9):
        assert len(v.frame(i)["objects"]) == (3 if a_r[i] < -1 else 1)
    assert "checkpoint 0/8" in v.status.value
