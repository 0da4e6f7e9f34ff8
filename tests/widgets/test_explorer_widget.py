"""CycleExplorer and PhasePortrait driven headless: set widget values, check state and artists."""

from __future__ import annotations

import asyncio

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnexplore.apps.explorer import ExplorerState  # noqa: E402
from rnnexplore.dynamics.projection import Projection  # noqa: E402
from rnnexplore.dynamics.models import random_plrnn  # noqa: E402
from rnnexplore.widgets.explorer import CycleExplorer, param_css_class  # noqa: E402
from rnnexplore.widgets.portrait import PhasePortrait, region_colour_index  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _drawn_points(app):
    data = app.portrait.artist_data()
    return {s: data[s] for s in ("stable", "saddle", "unstable")}


def _expected_points(st):
    out = {"stable": [], "saddle": [], "unstable": []}
    for c in st.cycles:
        out[c.stability].append(st.projection.orbit(c.points, closed=True))
    return {s: np.vstack(v) if v else np.zeros((0, 2)) for s, v in out.items()}


def _assert_artists_match_state(app):
    got, want = _drawn_points(app), _expected_points(app.state)
    for s in want:
        np.testing.assert_allclose(got[s], want[s])
    cyc = [c for c in app.state.cycles if c.order >= 2]
    segs = app.portrait.artist_data()["cycles"]
    assert len(segs) == len(cyc)
    for seg, c in zip(segs, cyc):
        np.testing.assert_allclose(seg[:-1], app.state.projection.orbit(c.points, closed=True))
        np.testing.assert_allclose(seg[-1], seg[0])  # closed polygon


def test_every_control_has_a_stable_css_class():
    app = CycleExplorer(preset="paper_gt16", max_order=8)
    for attr, cls in [("order", "order"), ("preset", "preset"), ("reset", "reset"), ("status", "status"),
                      ("table", "table"), ("events", "events"), ("share", "share"),
                      ("export_button", "export"), ("import_button", "import"), ("projection", "projection"),
                      ("vector_field", "field"), ("clear", "clear"), ("canvas", "figure")]:
        assert f"rnx-explorer-{cls}" in getattr(app, attr)._dom_classes, attr
    assert "rnx-explorer" in app.widget._dom_classes
    assert set(app.sliders) == set(app.state.model.param_names())
    for name, s in app.sliders.items():
        assert {"rnx-explorer-slider", param_css_class(name)} <= set(s._dom_classes)
        assert s.min < app.state.model.get_param(name) < s.max
    assert "rnx-param-A-0" in app.sliders["A[0]"]._dom_classes
    assert "rnx-param-W-1-0" in app.sliders["W[1,0]"]._dom_classes


def test_slider_recomputes_and_updates_artists_in_place():
    app = CycleExplorer(preset="skew_tent")
    lines_before = list(app.ax.lines)
    colls_before = list(app.ax.collections)
    _assert_artists_match_state(app)
    assert len(_drawn_points(app)["stable"]) == 2  # the stable 2-cycle on the return map
    app.sliders["W[0,0]"].value = -1.0  # a_r = -0.8
    assert app.state.model.get_param("W[0,0]") == -1.0
    fp = app.state.cycles[0]
    assert [c.order for c in app.state.cycles] == [1]
    assert fp.points[0, 0] == pytest.approx(1.0 / 1.8)
    _assert_artists_match_state(app)
    np.testing.assert_allclose(_drawn_points(app)["stable"], [[1 / 1.8, 1 / 1.8]])  # on the diagonal
    assert list(app.ax.lines) == lines_before and list(app.ax.collections) == colls_before  # same artists
    assert "W[0,0] = -1" in app.status.value and "1 object up to order 8" in app.status.value
    assert app.table.value.count("<tr>") == 1 + len(app.state.cycles)
    assert "degenerate_flip" in app.events.value
    assert app.timings["requests"] == app.timings["computes"] == 1


def test_return_map_graph_is_the_model():
    app = CycleExplorer(preset="skew_tent")
    g = app.portrait.artist_data()["graph"]
    np.testing.assert_allclose(g[:, 1], app.state.model.step(g[:, :1])[:, 0])
    assert app.portrait.artist_data()["borders"][0][:, 0].tolist() == [0.0, 0.0]  # z = 0


def test_bad_values_are_refused_and_the_screen_keeps_the_previous_state():
    app = CycleExplorer(preset="paper_gt16", max_order=8)
    before = {k: v.copy() for k, v in _drawn_points(app).items()}
    for bad in (0, -3, 99):
        app.order.value = bad
        assert app.order.value == 8
        assert "refused" in app.status.value and "max_order" in app.status.value
        assert "rnx-status-error" in app.status.value
    app.state.set_param("A[0]", float("nan"))
    assert "refused" in app.status.value and "finite" in app.status.value
    app.state.set_array("W", np.zeros((3, 3)))
    assert "W must have shape (2, 2)" in app.status.value
    app.share.value = '{"model": {"type": "PLRNN", "A": [NaN, 1], "W": [[0, 0], [0, 0]], "h": [0, 0]}}'
    app.import_button.click()
    assert "cannot import" in app.status.value
    after = _drawn_points(app)
    for s in before:
        np.testing.assert_array_equal(after[s], before[s])
    assert app.sliders["A[0]"].value == pytest.approx(app.state.model.get_param("A[0]"))
    assert app.state.max_order == 8


def test_presets_reset_and_slider_rebuild():
    app = CycleExplorer(preset="paper_gt16", max_order=4)
    app.preset.value = "skew_tent"
    assert set(app.sliders) == {"A[0]", "W[0,0]", "h[0]"}
    assert app.projection.options == (("return map (z_t, z_t+1)", "return"),)
    _assert_artists_match_state(app)
    app.preset.value = "random_stable"
    assert len(app.sliders) == 15 and app.state.model.M == 3
    app.sliders["h[0]"].value = 0.3
    assert app.state.model.get_param("h[0]") == 0.3
    app.reset.click()
    assert app.state.model.get_param("h[0]") != 0.3
    assert app.sliders["h[0]"].value == pytest.approx(app.state.model.get_param("h[0]"))
    assert app.preset.value == "random_stable"


def test_projection_dropdown_and_pca():
    app = CycleExplorer(random_plrnn(4, seed=1), max_order=3)
    values = [v for _, v in app.projection.options]
    assert "0,1" in values and "2,3" in values and "pca" in values
    app.projection.value = "1,3"
    assert app.state.projection.units_ == (1, 3)
    assert app.ax.get_xlabel() == "z1" and app.ax.get_ylabel() == "z3"
    _assert_artists_match_state(app)
    app.projection.value = "pca"
    assert app.state.projection.kind == "pca" and app.ax.get_xlabel() == "PC1"
    _assert_artists_match_state(app)


def test_click_on_the_plane_adds_a_trajectory():
    from matplotlib.backend_bases import MouseEvent

    app = CycleExplorer(preset="border_collision", initial_conditions=np.zeros((0, 2)))
    assert app.portrait.artist_data()["trajectories"] == []
    target = (np.mean(app.ax.get_xlim()), np.mean(app.ax.get_ylim()))
    x, y = app.ax.transData.transform(target)
    ev = MouseEvent("button_press_event", app.fig.canvas, x, y, button=1)
    app.fig.canvas.callbacks.process("button_press_event", ev)
    trajs = app.portrait.artist_data()["trajectories"]
    assert len(trajs) == 1
    np.testing.assert_allclose(trajs[0][0], target, atol=1e-9)
    np.testing.assert_allclose(trajs[0], app.state.model.simulate([trajs[0][0, 0], trajs[0][0, 1]],
                                                                  app.state.n_steps), atol=1e-9)
    # clicks outside the axes are ignored
    ev = MouseEvent("button_press_event", app.fig.canvas, 1, 1, button=1)
    app.fig.canvas.callbacks.process("button_press_event", ev)
    assert len(app.state.trajectories) == 1
    app.clear.click()
    assert app.portrait.artist_data()["trajectories"] == []


def test_vector_field_toggle_points_along_the_map():
    app = CycleExplorer(preset="random_stable")
    assert not app.portrait.field.get_visible()
    app.vector_field.value = True
    q = app.portrait.field
    assert q.get_visible()
    xy = np.asarray(q.get_offsets())
    z = app.state.projection.lift(xy)
    d = app.state.projection.orbit(app.state.model.step(z)) - app.state.projection.orbit(z)
    uv = np.column_stack([q.U, q.V])
    cos = np.sum(uv * d, axis=1) / (np.linalg.norm(uv, axis=1) * np.linalg.norm(d, axis=1))
    assert np.all(cos > 0.999)


def test_share_export_import_through_the_widgets():
    app = CycleExplorer(preset="random_stable", max_order=4)
    app.sliders["W[0,1]"].value = 0.4
    app.export_button.click()
    text = app.share.value
    other = CycleExplorer(preset="skew_tent")
    other.share.value = text
    other.import_button.click()
    assert other.state.model == app.state.model and other.state.max_order == 4
    assert other.sliders["W[0,1]"].value == pytest.approx(0.4)
    _assert_artists_match_state(other)


def test_stale_slider_events_are_coalesced_when_a_loop_runs():
    app = CycleExplorer(preset="paper_gt16", max_order=6, coalesce=True)

    async def drag():
        for i in range(10):
            app.sliders["A[0]"].value = 0.80 + 0.002 * i  # ten events before the loop runs
        await asyncio.sleep(0.01)

    asyncio.run(drag())
    assert app.timings["requests"] == app.timings["deferred"] == 10 and app.timings["computes"] == 1
    assert app.state.model.get_param("A[0]") == pytest.approx(0.818)
    assert app.sliders["A[0]"].value == pytest.approx(0.818)
    _assert_artists_match_state(app)


def test_the_widget_never_raises_into_the_notebook(monkeypatch):
    app = CycleExplorer(preset="skew_tent")

    def boom(*a, **k):
        raise RuntimeError("kaputt")

    monkeypatch.setattr(app.state, "set_params", boom)
    app.sliders["A[0]"].value = 0.3  # must not raise
    assert "internal error" in app.status.value and "kaputt" in app.status.value
    assert "RuntimeError" in app.last_error


def test_large_network_with_a_subset_of_sliders():
    m = random_plrnn(10, seed=0)
    app = CycleExplorer(m, max_order=4, projection="pca")
    assert len(app.sliders) == 20 and app.state.projection.kind == "pca"
    app.sliders["A[3]"].value = round(app.sliders["A[3]"].value + 0.05, 2)
    assert app.state.n_computes == 2
    _assert_artists_match_state(app)
    sub = CycleExplorer(m, max_order=2, params=["W[0,1]", "h[2]"])
    assert set(sub.sliders) == {"W[0,1]", "h[2]"}


def test_portrait_regions_and_borders_match_the_model():
    from matplotlib.figure import Figure

    m = random_plrnn(3, seed=5)
    ax = Figure().add_subplot()
    proj = Projection.units(3, 0, 2, origin=[0.0, 0.3, 0.0])
    pp = PhasePortrait(ax, proj, grid=40)
    pp.update(model=m, cycles=[], trajectories=[m.simulate([1.0, -1.0, 0.5], 30)])
    img = pp.artist_data()["regions"]
    xs, ys = np.linspace(*ax.get_xlim(), 40), np.linspace(*ax.get_ylim(), 40)
    X, Y = np.meshgrid(xs, ys)
    z = np.stack([X, np.full_like(X, 0.3), Y], axis=-1)
    np.testing.assert_array_equal(img, region_colour_index(z > 0))
    borders = pp.artist_data()["borders"]
    # units 0 and 2 are visible borders (x = 0, y = 0); unit 1 is fixed at 0.3 (no border)
    assert len(borders) == 2
    assert sorted(tuple(np.ptp(b, axis=0) == 0) for b in borders) == [(False, True), (True, False)]


def test_lazy_widget_exports():
    import rnnexplore.widgets as w

    assert w.CycleExplorer is CycleExplorer
    assert w.PhasePortrait is PhasePortrait
    with pytest.raises(AttributeError):
        w.NoSuchWidget  # noqa: B018
    assert {"CycleExplorer", "BifurcationExplorer", "TrainingReplay", "FeatureQualityExplorer"} <= set(dir(w))


def test_blitted_frames_equal_full_redraws():
    app = CycleExplorer(preset="paper_gt16", max_order=8, blit=True, coalesce=False)
    app.fig.canvas.draw()
    modes = []
    for v in (0.84, 0.842, 0.845, 0.83):
        app.sliders["A[0]"].value = v
        modes.append(app.timings["last_draw_mode"])
        blitted = np.asarray(app.fig.canvas.buffer_rgba()).copy()
        app.fig.canvas.draw()  # a full redraw of the same state
        full = np.asarray(app.fig.canvas.buffer_rgba())
        np.testing.assert_array_equal(blitted, full)
    assert "blit" in modes  # the background was reused at least once
    _assert_artists_match_state(app)


def test_import_of_a_same_shaped_model_rebuilds_the_slider_ranges():
    app = CycleExplorer(preset="paper_gt16", max_order=4)
    other = ExplorerState(random_plrnn(2, seed=3), max_order=4)
    other.set_param("h[0]", 7.5)  # far outside the GT16 slider range
    app.share.value = other.to_json()
    app.import_button.click()
    s = app.sliders["h[0]"]
    assert s.value == pytest.approx(7.5) and s.min < 7.5 < s.max
    assert (s.min, s.max, s.step) == pytest.approx(app.state.ranges["h[0]"])


@pytest.mark.parametrize("preset", ["paper_gt16", "border_collision", "skew_tent", "random_stable"])
def test_random_slider_jumps_to_range_ends_never_break_the_app(preset):
    rng = np.random.default_rng(0)
    app = CycleExplorer(preset=preset, max_order=6, blit=True)
    names = list(app.sliders)
    for _ in range(8):
        s = app.sliders[names[rng.integers(len(names))]]
        s.value = float(rng.choice([s.min, s.max, rng.uniform(s.min, s.max)]))
        assert "internal error" not in app.status.value, app.last_error
        assert app.last_error is None
        _assert_artists_match_state(app)


def test_auto_coalescing_only_inside_a_kernel():
    """A loop running outside a Jupyter kernel (e.g. Playwright's) does not defer updates."""
    app = CycleExplorer(preset="skew_tent")

    async def move():
        app.sliders["W[0,0]"].value = -1.0

    asyncio.run(move())
    assert app.timings["deferred"] == 0 and app.state.model.get_param("W[0,0]") == -1.0
