"""Static figures draw exactly the data of the objects they show; importing them is free."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from rnnexplore.apps.bifurcation import signature_words  # noqa: E402
from rnnexplore.dynamics.bifurcation import sweep  # noqa: E402
from rnnexplore.dynamics.cycles import find_cycles  # noqa: E402
from rnnexplore.dynamics.models import paper_gt16, skew_tent  # noqa: E402
from rnnexplore.plotting import plot_curves, plot_diagram, plot_map, plot_objects  # noqa: E402
from rnnexplore.widgets.base import EVENT_COLOURS  # noqa: E402


@pytest.fixture(scope="module")
def tent_map():
    return sweep(skew_tent(0.2, 0.0, 1.0), {"A[0]": np.linspace(-0.8, 0.8, 9), "W[0,0]": np.linspace(-2.9, 1.9, 13)},
                 2, seed=0)


def test_import_pulls_no_matplotlib():
    code = "import sys, rnnexplore.plotting; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_curves_are_the_segments_of_the_map(tent_map):
    fig, ax = plt.subplots()
    plot_curves(tent_map, ax, transform=lambda a, w: (a, a + w))
    want = tent_map.curves()
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    assert set(lines) == {k.replace("_", " ") for k in want}
    for kind, segs in want.items():
        ln = lines[kind.replace("_", " ")]
        xy = ln.get_xydata().reshape(-1, 3, 2)[:, :2]        # segment, NaN separator
        np.testing.assert_allclose(xy[..., 0], segs[..., 0])
        np.testing.assert_allclose(xy[..., 1], segs[..., 0] + segs[..., 1])
        assert matplotlib.colors.same_color(ln.get_color(), EVENT_COLOURS[kind])
    plt.close(fig)


@pytest.mark.parametrize("colour", ["signature", "count", "stable"])
def test_map_background_is_one_value_per_grid_point(tent_map, colour):
    fig, ax = plt.subplots()
    plot_map(tent_map, ax, colour=colour, curves=False, transform=lambda a, w: (a, a + w))
    mesh = ax.collections[0]
    # oracle: count the object records of every grid point directly
    want = np.zeros(tent_map.shape, dtype=int)
    for (i, j), stab in zip(tent_map.obj_index, tent_map.obj_stability):
        want[i, j] += colour != "stable" or stab == "stable"
    got = np.asarray(mesh.get_array()).reshape(want.shape)
    if colour == "signature":
        ids, texts = tent_map.signatures()
        assert [signature_words(texts[k]) for k in range(len(texts))] == [
            t.get_text() for t in ax.get_legend().get_texts()]
        want = ids
        assert len(set(map(tuple, mesh.to_rgba(np.arange(len(texts)))))) == len(texts)   # one colour each
    else:
        cbar = fig.axes[-1]
        assert [float(t) for t in cbar.get_yticks()] == [float(v) for v in range(int(want.max()) + 1)]
    np.testing.assert_array_equal(got, want)
    assert ax.get_xlabel() == "A[0]" and ax.get_ylabel() == "W[0,0]"
    corners = mesh.get_coordinates()                       # the shear moved every cell corner
    w = tent_map.values1
    h = 0.5 * (w[1] - w[0])                                # an even grid: edges half a step around values
    np.testing.assert_allclose(corners[..., 1] - corners[..., 0], np.broadcast_to(np.linspace(w[0] - h, w[-1] + h, len(w) + 1), corners.shape[:2]))
    with pytest.raises(ValueError, match="colour"):
        plot_map(tent_map, ax, colour="rainbow")
    plt.close(fig)


def test_signature_legend_lists_curves_too(tent_map):
    fig, ax = plt.subplots()
    plot_map(tent_map, ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert {k.replace("_", " ") for k in tent_map.curves()} <= set(texts)
    plt.close(fig)


def test_diagram_points_are_the_objects_of_the_sweep():
    a_r = np.linspace(-2.05, 0.85, 30)   # never exactly at a_r = -1
    tent = sweep(skew_tent(0.2, 0.0, 1.0), {"W[0,0]": a_r - 0.2}, 2, seed=0)
    fig, ax = plt.subplots()
    plot_diagram(tent, ax, orbit=True, transform=lambda w: w + 0.2)
    lines = {ln.get_label(): ln.get_xydata() for ln in ax.get_lines() if not ln.get_label().startswith("_")}
    # closed forms: fixed point mu / (1 - a_r) (stable iff |a_r| < 1), 2-cycle for a_r < -1 (stable)
    fp_stable = lines["stable"][np.isclose(lines["stable"][:, 1], 1 / (1 - lines["stable"][:, 0]))]
    assert np.all(np.abs(fp_stable[:, 0]) < 1)
    unstable = lines["unstable"]
    np.testing.assert_allclose(unstable[:, 1], 1 / (1 - unstable[:, 0]))
    assert set(np.round(unstable[:, 0], 9)) == set(np.round(a_r[a_r < -1], 9))
    assert len(lines["stable"]) == (a_r >= -1).sum() + 2 * (a_r < -1).sum()
    plt.close(fig)


def test_objects_are_closed_orbits():
    g = paper_gt16()
    cyc = find_cycles(g, 16, seed=0)
    fig, ax = plt.subplots()
    plot_objects(cyc, ax, trajectories=[g.simulate([1.0, 0.0], 50)])
    drawn = [ln.get_xydata() for ln in ax.get_lines()][1:]
    for c, xy in zip(cyc, drawn):
        np.testing.assert_allclose(xy[:-1], c.points)
        np.testing.assert_allclose(xy[-1], c.points[0])
    plt.close(fig)
