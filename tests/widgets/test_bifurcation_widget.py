"""BifurcationExplorer headless: controls, panels sized to the width, colour keys, background zooms."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

pytest.importorskip("ipywidgets")

from rnnexplore.apps.bifurcation import signature_words  # noqa: E402
from rnnexplore.dynamics.bifurcation import sweep  # noqa: E402
from rnnexplore.dynamics.models import skew_tent  # noqa: E402
from rnnexplore.plotting import plot_map  # noqa: E402
from rnnexplore.widgets.bifurcation import BifurcationExplorer, panel_sizes  # noqa: E402


def _tent_map():
    return sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": np.linspace(-0.85, 0.85, 10),
                                            "W[0,0]": np.linspace(-2.97, 1.93, 15)}, 2, seed=0)


@pytest.fixture
def app():
    a = BifurcationExplorer(_tent_map(), line_points=21, zoom_shape=(5, 5))
    yield a
    a.state.close()


def test_bifurcation_explorer_headless(app):
    for w in (app.colour, app.show_curves, app.line_axis, app.line_button, app.coord, app.resolution,
              app.back_button, app.open_button, app.status, app.info, app.canvas, app.explorer_out,
              app.progress, app.cancel_button, app.confirm_box, app.key):
        assert any(c.startswith("rnx-bif-") for c in w._dom_classes)
    assert "rnx-bif" in app.widget._dom_classes
    # curves drawn in place equal the map's curves
    drawn = {k: len(lc.get_segments()) for k, lc in app.curve_lines.items() if lc.get_segments()}
    assert drawn == {k: len(v) for k, v in app.state.curves().items()}
    app.show_curves.value = False
    assert all(not lc.get_segments() for lc in app.curve_lines.values())
    # click -> portrait of that parameter setting
    app.click(0.2, -1.6)
    assert app.last_error is None, app.last_error
    data = app.portrait.artist_data()
    assert len(data["stable"]) == 2 and len(data["unstable"]) == 1  # the 2-cycle and the fixed point
    assert "2 object(s)" in app.ax_phase.get_title()
    # the 1-D panel along the vertical line through the selection (a background job)
    app.line_axis.value = 1
    app.line_button.click()
    app.wait()
    assert app.last_error is None, app.last_error
    assert len(app.line_objects["stable"].get_xdata()) > 0 and len(app.orbit_points.get_xdata()) > 0
    assert app.ax_line.get_title().startswith("1-D diagram at A[0] = ")
    # drag a rectangle (through the selector's callback) -> recomputed at the zoom resolution
    app.resolution.value = 6
    ev = lambda x, y: type("E", (), {"xdata": x, "ydata": y})()  # noqa: E731
    app._on_rectangle(ev(-0.5, -2.5), ev(0.5, -0.5))
    app.wait()
    assert app.state.result.shape == (6, 6) and app.map_image.get_array().shape == (6, 6)
    assert "6 x 6 points" in app.ax_map.get_title()  # the title names the new map
    assert app.progress.layout.display == "none" and app.cancel_button.layout.display == "none"
    app.back_button.click()
    assert app.state.result.shape == (10, 15) and "10 x 15 points" in app.ax_map.get_title()
    # errors go to the status line, never into the notebook
    app.state.selected = None
    app.line_button.click()
    assert "select a point" in app.status.value
    app._on_rectangle(ev(0.1, 0.1), ev(0.1, 0.5))
    assert "rnx-status-error" in app.status.value
    app.click(0.0, -1.0)
    app.open_button.click()
    assert app.last_error is None, app.last_error
    assert app.explorer is not None and app.explorer.state.model.get_param("A[0]") == app.state.params["A[0]"]


def test_colour_keys_integer_counts_and_signatures_in_words(app):
    # counts: one colour per integer, integer ticks
    img = app.map_image.get_array()
    hi = int(img.max())
    assert app.map_image.get_cmap().N == hi + 1
    assert [int(t) for t in app.colorbar.get_ticks()] == list(range(hi + 1))
    # signatures: the colour bar is hidden, the key names every signature in words
    app.colour.value = "signature"
    _, texts = app.state.result.signatures()
    assert not app.colorbar.ax.get_visible()
    for t in texts:
        assert signature_words(t) in app.key.value
    assert "stable 2-cycle" in app.key.value
    assert app.ax_map.get_title().startswith("stability signature")


def test_long_zoom_is_stated_and_waits_for_confirmation(app):
    app.state.confirm_above = 0.0
    app.resolution.value = 12
    app.drag(-0.5, -2.5, 0.5, -0.5)
    app.wait()
    assert app.confirm_box.layout.display == ""
    assert "about" in app.confirm_text.value and "on this machine" in app.confirm_text.value
    assert app.state.result.shape == (10, 15)
    app.confirm_button.click()
    app.wait()
    assert app.state.result.shape == (12, 12) and app.confirm_box.layout.display == "none"


def test_cancel_button_keeps_the_map(app):
    import time

    app.resolution.value = 80
    app.drag(-0.5, -2.5, 0.5, -0.5, confirmed=True)
    assert app.progress.layout.display == "" and app.cancel_button.layout.display == ""
    time.sleep(0.3)
    app.cancel_button.click()
    assert app.state.job.state == "cancelled"
    assert app.state.result.shape == (10, 15) and not app.partial_image.get_visible()
    assert "cancelled" in app.status.value


@pytest.mark.parametrize("width", [500, 860, 1000, 1400])
def test_panels_fit_the_width(app, width):
    cols, pw, ph = panel_sizes(width)
    assert cols * (pw + 6) <= width  # panels and their margins fit side by side: nothing clipped or wrapped
    app._on_width({"new": width})
    for fig in (app.fig_map, app.fig_phase, app.fig_line):
        assert round(fig.get_figwidth() * fig.dpi) == pw


@pytest.mark.parametrize("mode", ["signature", "count", "stable"])
def test_live_map_colours_match_the_static_map(app, mode):
    """One map drawing: every cell of the live image has the colour of the same cell in plot_map."""
    import matplotlib.pyplot as plt

    app.colour.value = mode
    live = app.map_image.to_rgba(app.map_image.get_array())            # (n1, n0, 4), rows = y
    fig, ax = plt.subplots()
    mesh = plot_map(app.state.result, ax, colour=mode, curves=False).collections[0]
    static = mesh.to_rgba(mesh.get_array()).reshape(live.shape[1], live.shape[0], 4)   # (n0, n1, 4)
    np.testing.assert_allclose(live, static.transpose(1, 0, 2))
    plt.close(fig)


def test_ipympl_initial_image_gets_the_data_scheme():
    """ipympl keeps bare base64 as the initial image until the browser's view is up; the panel
    makes it a data URL (the browser test checks no request for it is made)."""
    from types import SimpleNamespace

    from rnnexplore.widgets.bifurcation import _repair_data_url

    early = SimpleNamespace(syncing_data_url=True, _data_url="iVBORw0KGgo=")
    _repair_data_url(early)
    assert early._data_url == "data:image/png;base64,iVBORw0KGgo="
    _repair_data_url(early)                                 # already a data URL: unchanged
    assert early._data_url == "data:image/png;base64,iVBORw0KGgo="
    live = SimpleNamespace(syncing_data_url=False, _data_url="iVBORw0KGgo=")  # view up: ipympl's business
    _repair_data_url(live)
    assert live._data_url == "iVBORw0KGgo="


def test_proven_layer_hatches_exactly_the_proven_cells():
    """The 'proven' toggle hatches one polygon per cell the map proved complete, over that
    cell's grid point; the static plot_map draws the same polygons."""
    import matplotlib.pyplot as plt

    bm = sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": np.linspace(-0.8, 0.8, 5), "W[0,0]": np.linspace(-2.9, 1.9, 7)},
               3, seed=0, prove=2)                      # orders 1-2 proven, 3 not: only some cells complete
    app = BifurcationExplorer(bm)
    assert len(app.proven_layer.get_paths()) == 0       # off by default
    app.show_proven.value = True
    got = app.proven_layer.get_paths()
    want = [(bm.values0[i], bm.values1[j]) for i, j in zip(*np.nonzero(bm.cell_proven))]
    assert len(got) == len(want)
    for path, (x, y) in zip(got, want):                 # each polygon is the cell around its point
        assert path.contains_point((x, y))
        hx, hy = 0.5 * (bm.values0[1] - bm.values0[0]), 0.5 * (bm.values1[1] - bm.values1[0])
        np.testing.assert_allclose(path.get_extents().bounds, (x - hx, y - hy, 2 * hx, 2 * hy), atol=1e-9)
    fig, ax = plt.subplots()
    plot_map(bm, ax, proven=True)
    hatch = [c for c in ax.collections if c.get_gid() == "rnx-proven"][0]
    assert len(hatch.get_paths()) == len(want) and hatch.get_hatch() == "///"
    plt.close(fig)
    app.show_proven.value = False
    assert len(app.proven_layer.get_paths()) == 0
