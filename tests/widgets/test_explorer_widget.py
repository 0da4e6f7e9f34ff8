"""CycleExplorer (client-side canvas) and PhasePortrait driven headless: set widget values,
check the state and what was sent to the canvas."""

from __future__ import annotations

import asyncio

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnnexplore.dynamics.models import random_plrnn  # noqa: E402
from rnnexplore.dynamics.projection import Projection  # noqa: E402
from rnnexplore.widgets.explorer import CycleExplorer, param_css_class  # noqa: E402
from rnnexplore.widgets.portrait import PhasePortrait, region_colour_index  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def _assert_artists_match_state(app):
    """The canvas was sent exactly the state's objects and trajectories, in its projection."""
    st = app.state
    data = app.portrait.artist_data()
    objs = data["scene"]["objects"]
    assert [(o["stability"], o["order"], o["key"]) for o in objs] == \
        [(c.stability, c.order, c.key) for c in st.cycles]
    for o, c in zip(objs, st.cycles):
        np.testing.assert_allclose(o["xy"], st.projection.orbit(c.points, closed=True), atol=1e-8)
    lens = data["scene"]["traj_lengths"]
    assert len(lens) == len(st.trajectories)
    if st.projection.kind != "return" and lens:
        first = data["trajectories"][: lens[0]]
        want = st.projection.orbit(st.trajectories[0].reshape(len(st.trajectories[0]), -1))
        ok = np.isfinite(want).all(axis=1)
        np.testing.assert_allclose(first[ok], want[ok].astype(np.float32), rtol=1e-6, atol=1e-6)
    (x0, x1), (y0, y1) = st.view
    assert data["scene"]["xlim"] == [x0, x1] or tuple(data["scene"]["xlim"]) == (x0, x1)


def test_every_control_has_a_stable_css_class():
    app = CycleExplorer(preset="paper_gt16", max_order=8)
    for attr, cls in [("order", "order"), ("preset", "preset"), ("reset", "reset"), ("status", "status"),
                      ("table", "table"), ("events", "events"), ("share", "share"), ("fit", "fit"),
                      ("basins", "basins"), ("manifolds", "manifolds"), ("clear_log", "clear-log"),
                      ("export_button", "export"), ("import_button", "import"), ("projection", "projection"),
                      ("vector_field", "field"), ("clear", "clear"), ("canvas", "figure")]:
        assert f"rnx-explorer-{cls}" in getattr(app, attr)._dom_classes, attr
    assert "rnx-explorer" in app.widget._dom_classes
    assert set(app.sliders) == set(app.state.model.param_names()) == set(app.values)
    for name, s in app.sliders.items():
        assert {"rnx-explorer-slider", param_css_class(name)} <= set(s._dom_classes)
        assert {"rnx-explorer-value", param_css_class(name)} <= set(app.values[name]._dom_classes)
        assert s.min < app.state.model.get_param(name) < s.max


def _on_grid(s, v):
    k = (v - s.min) / s.step
    return s.min <= v <= s.max and abs(k - round(k)) < 1e-6


def test_slider_grids_contain_the_model_value_also_after_typed_values():
    app = CycleExplorer(preset="paper_gt16")
    s = app.sliders["A[0]"]
    assert _on_grid(s, 0.8377689) and s.value == 0.8377689
    app.values["A[0]"].value = "0.845"                      # typed: exactly this value
    assert app.state.model.get_param("A[0]") == 0.845
    assert s.value == 0.845 and _on_grid(s, 0.845)          # the browser will not snap it away
    app.state.set_param("A[0]", 0.8412345)                  # scripted: the widget follows, no event back
    assert s.value == 0.8412345 and _on_grid(s, 0.8412345)
    assert app.values["A[0]"].value == "0.841234"
    assert app.timings["requests"] == 0                     # nobody moved the slider


@pytest.mark.parametrize("text, ok, reason", [
    ("1e-3", True, None), ("3.5", True, None), ("-2", True, None), (" 0.5 ", True, None),
    ("abc", False, "must be a number such as"), ("3,5", False, "use a point"), ("1e999", False, "too large"),
])
def test_number_entry_accepts_what_a_person_types(text, ok, reason):
    app = CycleExplorer(preset="skew_tent")
    before = app.state.model.get_param("h[0]")
    app.values["h[0]"].value = text
    if ok:
        assert app.state.model.get_param("h[0]") == float(text)
    else:
        assert app.state.model.get_param("h[0]") == before
        assert reason in app.status.value and "refused" in app.status.value
        assert app.values["h[0]"].value == f"{before:.6g}"   # the box shows the state again


@pytest.mark.parametrize("text, ok, reason", [
    ("1e308", False, "at most 30, got 1e+308"), ("3.5", False, "whole number, got 3.5"),
    ("12", True, None), ("1e1", True, None), ("zero", False, "whole number such as 8"),
])
def test_max_order_entry(text, ok, reason):
    app = CycleExplorer(preset="skew_tent")
    app.order.value = text
    if ok:
        assert app.state.max_order == int(float(text)) and app.order.value == str(int(float(text)))
    else:
        assert app.state.max_order == 8 and reason in app.status.value and app.order.value == "8"


def test_slider_recomputes_and_the_canvas_gets_the_new_state():
    app = CycleExplorer(preset="paper_gt16")
    frames = app.timings["frames"]
    app.sliders["A[0]"].value = 0.8477689
    assert [c.order for c in app.state.cycles] == [1]
    assert app.timings["frames"] == frames + 1
    _assert_artists_match_state(app)
    assert app.portrait.artist_data()["scene"]["values"].startswith("A[0]=0.847769")
    assert app.state.wait()
    assert "pair annihilated - stable 16-cycle and saddle 16-cycle" in app.events.value
    assert "0.844987" in app.events.value


def test_event_log_accumulates_over_a_drag_one_line_per_pair():
    app = CycleExplorer(preset="paper_gt16")
    for v in np.arange(0.8377689, 0.86, 0.004):  # a drag across the annihilation, then back
        app.sliders["A[0]"].value = float(v)
    for v in np.arange(0.86, 0.838, -0.004):  # (the pair dies again below 0.8364)
        app.sliders["A[0]"].value = float(v)
    assert app.state.wait()
    lines = app.state.event_lines()
    assert [x.split(": ")[1].split(" - ")[0] for x in lines] == ["pair annihilated", "pair created"], lines
    for e in app.state.log:
        assert e.located and abs(e.values["A[0]"] - 0.844987043643374) < 1e-6
    assert app.events.value.count("<li") == 2
    app.clear_log.click()
    assert app.state.log == [] and "<li" not in app.events.value


def test_basins_and_manifolds_toggles_reach_the_canvas():
    app = CycleExplorer(preset="paper_gt16")
    app.basins.value = True
    assert app.state.wait()
    data = app.portrait.artist_data()
    assert data["scene"].get("basins") and len(data["basins"]) == data["scene"]["basins"]["n"] ** 2
    assert "regions" not in data["scene"]
    labels = np.frombuffer(app.canvas.basins, np.uint8)
    assert set(np.unique(labels)) <= {0, 1, 2}  # the 16-cycle, diverges, other
    app.manifolds.value = True
    assert app.state.wait()
    data = app.portrait.artist_data()
    n = data["scene"]["manifolds"]
    assert n["unstable"] > 0 and n["stable"] > 0 and len(data["manifolds"]) == n["unstable"] + n["stable"]
    assert data["scene"].get("basins")  # toggling manifolds kept the basins
    app.basins.value = False
    assert "basins" not in app.portrait.artist_data()["scene"]
    assert app.manifolds.disabled is False
    app.preset.value = "random_stable"
    assert app.manifolds.disabled is True  # M = 3


def test_fit_attractors_zooms_to_the_stable_cycle():
    app = CycleExplorer(preset="paper_gt16")
    app.state.add_trajectory([30.0, -30.0])  # a far start widens the view
    wide = app.state.view
    app.fit.click()
    (x0, x1), (y0, y1) = app.state.view
    assert x1 - x0 < wide[0][1] - wide[0][0]
    pts = app.state.projection.orbit(app.state.cycles[1].points)
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1 and y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1
    _assert_artists_match_state(app)


def test_click_on_the_canvas_adds_a_trajectory():
    app = CycleExplorer(preset="border_collision")
    n = len(app.state.trajectories)
    app.portrait._on_msg(app.canvas, {"type": "click", "x": 0.3, "y": -0.2}, [])
    assert len(app.state.trajectories) == n + 1
    np.testing.assert_allclose(app.state.trajectories[-1][0], [0.3, -0.2])
    _assert_artists_match_state(app)


def test_canvas_regions_are_the_model_regions():
    m = random_plrnn(3, seed=5)
    from rnnexplore.widgets.portrait import CanvasPortrait

    cp = CanvasPortrait(grid=40)
    proj = Projection.units(3, 0, 2, origin=[0.0, 0.3, 0.0])
    cp.update(model=m, cycles=[], trajectories=[], projection=proj, view=((-1, 2), (-3, 1)))
    img = cp.artist_data()["regions"].reshape(40, 40)
    X, Y = np.meshgrid(np.linspace(-1, 2, 40), np.linspace(-3, 1, 40))
    z = np.stack([X, np.full_like(X, 0.3), Y], axis=-1)
    np.testing.assert_array_equal(img, region_colour_index(z > 0))


def test_large_network_with_a_subset_of_sliders():
    app = CycleExplorer(random_plrnn(20, seed=2), max_order=2, projection="pca")
    assert len(app.sliders) == 40  # diagonal of A and h
    app.sliders["h[3]"].value = app.sliders["h[3]"].value + 0.1
    assert app.last_error is None
    _assert_artists_match_state(app)


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


@pytest.mark.parametrize("preset", ["paper_gt16", "border_collision", "skew_tent", "random_stable"])
def test_random_slider_jumps_to_range_ends_never_break_the_app(preset):
    rng = np.random.default_rng(0)
    app = CycleExplorer(preset=preset, max_order=6)
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


def test_presets_reset_and_slider_rebuild():
    app = CycleExplorer(preset="paper_gt16", max_order=4)
    app.preset.value = "skew_tent"
    assert set(app.sliders) == {"A[0]", "W[0,0]", "h[0]"}
    assert app.projection.options == (("return map", "return"),)
    _assert_artists_match_state(app)
    app.preset.value = "random_stable"
    assert len(app.sliders) == 15 and app.state.model.M == 3
    app.sliders["h[0]"].value = 0.3
    assert app.state.model.get_param("h[0]") == 0.3
    app.reset.click()
    assert app.state.model.get_param("h[0]") != 0.3
    assert app.sliders["h[0]"].value == pytest.approx(app.state.model.get_param("h[0]"))
    assert app.preset.value == "random_stable"
